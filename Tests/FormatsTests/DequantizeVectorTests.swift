import Testing
@testable import Formats

/// Bit-exact agreement with the reference vectors of Tests/Fixtures/dequant (gguf-py 0.19, ml_dtypes 0.6,
/// numpy, and numpy ports of ggml for the types gguf-py lacks). NaNs are compared by bits too.
@Suite struct DequantizeVectorTests {
  /// The committed vectors exist and cover every supported GGUF type and every safetensors dtype.
  @Test func vectorsCoverEverySupportedType() {
    let vectors = DequantFixtures.lines("vector")
    let gguf = Set(vectors.filter { $0.fields[1] == "gguf" }.map { $0.fields[2] })
    let st = Set(vectors.filter { $0.fields[1] == "st" }.map { $0.fields[2] })
    for type in GGMLType.allCases where Dequantize.isSupported(type) {
      #expect(gguf.contains(type.name), "no vector for \(type.name)")
    }
    for dtype in SafetensorsDType.allCases { #expect(st.contains(dtype.rawValue), "no vector for \(dtype.rawValue)") }
  }

  /// Random blocks (with finite, NaN, Inf, subnormal and zero scales) decode to the reference's exact bits.
  @Test(arguments: DequantFixtures.lines("vector"))
  func randomBlocksMatchReferenceBitForBit(_ line: DequantFixtures.Line) throws {
    let family = line.fields[1], typeName = line.fields[2], case_ = line.fields[4]
    let count = try #require(Int(line.fields[3]))
    let input = try DequantFixtures.readBytes(DequantFixtures.directory + case_ + ".in")
    let expected = try DequantFixtures.readFloats(DequantFixtures.directory + case_ + ".f32")
    var output = [Float](repeating: -1, count: expected.count)
    try input.withUnsafeBytes { src in
      try output.withUnsafeMutableBufferPointer { dst in
        if family == "gguf" {
          let type = try #require(DequantFixtures.ggmlType(named: typeName))
          try Dequantize.decode(type, from: src, elementCount: count, into: dst)
        } else {
          let dtype = try #require(SafetensorsDType(rawValue: typeName))
          try Dequantize.decode(dtype, from: src, elementCount: count, into: dst)
        }
      }
    }
    let mismatch = DequantFixtures.firstBitMismatch(output, expected)
    #expect(mismatch == nil, "\(typeName) element \(mismatch ?? -1): got \(mismatch.map { String(output[$0].bitPattern, radix: 16) } ?? "") expected \(mismatch.map { String(expected[$0].bitPattern, radix: 16) } ?? "")")
  }

  /// Every code of F4 (E2M1) and the two F6 formats maps to ml_dtypes' value.
  @Test(arguments: DequantFixtures.lines("table"))
  func subByteFloatCodesMatchMLDtypes(_ line: DequantFixtures.Line) throws {
    let table: [Float] =
      switch line.fields[2] {
      case "F4": Dequantize.f4E2M1Table
      case "F6_E2M3": Dequantize.f6E2M3Table
      case "F6_E3M2": Dequantize.f6E3M2Table
      default: []
      }
    let expected = try DequantFixtures.readFloats(DequantFixtures.directory + line.fields[4] + ".f32")
    #expect(table.count == Int(line.fields[3]))
    #expect(DequantFixtures.firstBitMismatch(table, expected) == nil)
  }

  /// All 65,536 binary16 codes convert as numpy does (exact values, NaN payloads kept), checked by checksum.
  @Test func everyHalfCodeMatchesNumpy() throws {
    let line = try #require(DequantFixtures.lines("checksum").first { $0.fields[2] == "F16" })
    let expected = try #require(UInt64(line.fields[4], radix: 16))
    let codes = (0...0xFFFF).map { UInt16($0) }
    var output = [Float](repeating: 0, count: codes.count)
    try codes.withUnsafeBytes { src in
      try output.withUnsafeMutableBufferPointer { dst in
        try Dequantize.decode(GGMLType.f16, from: src, elementCount: codes.count, into: dst)
      }
    }
    #expect(output.withUnsafeBufferPointer { DequantFixtures.checksum($0) } == expected)
    // The scalar path (used for scales and tails) agrees with the SIMD path on every code.
    for (code, value) in zip(codes, output) { #expect(Dequantize.halfToFloat(code).bitPattern == value.bitPattern) }
  }
}
