import Testing
@testable import Formats

/// Size checks, typed errors, the row helper, and "never trap" on hostile bytes.
@Suite struct DequantizeAPITests {
  static let supportedGGML = GGMLType.allCases.filter { Dequantize.isSupported($0) }

  /// Types without a decoder (grid IQ types, removed ids) are refused by name, not decoded.
  @Test func unsupportedTypesThrowUnsupportedWithTheirName() {
    var out = [Float](repeating: 0, count: 256)
    let bytes = [UInt8](repeating: 0, count: 256)
    for type in [GGMLType.iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S, .iq2_S, .iq1_M, .q4_2Removed] {
      #expect(!Dequantize.isSupported(type))
      #expect(throws: DequantizeError.unsupported(type.name)) {
        try bytes.withUnsafeBytes { src in
          try out.withUnsafeMutableBufferPointer { try Dequantize.decode(type, from: src, elementCount: 256, into: $0) }
        }
      }
    }
  }

  /// A count that is not a whole number of blocks is refused with the count and block size.
  @Test func partialBlockIsRejected() {
    var out = [Float](repeating: 0, count: 64)
    let bytes = [UInt8](repeating: 0, count: 64)
    #expect(throws: DequantizeError.partialBlock(elementCount: 33, blockSize: 32)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q8_0, from: src, elementCount: 33, into: $0) }
      }
    }
    #expect(throws: DequantizeError.partialBlock(elementCount: 3, blockSize: 2)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(SafetensorsDType.f4, from: src, elementCount: 3, into: $0) }
      }
    }
    #expect(throws: DequantizeError.partialBlock(elementCount: 6, blockSize: 4)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(SafetensorsDType.f6_E2M3, from: src, elementCount: 6, into: $0) }
      }
    }
  }

  /// A source shorter than the requested blocks is refused with both byte counts.
  @Test func shortSourceIsRejectedWithNeededAndAvailable() {
    var out = [Float](repeating: 0, count: 512)
    let bytes = [UInt8](repeating: 0, count: 287)
    #expect(throws: DequantizeError.sourceTooShort(needed: 288, available: 287)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q4_K, from: src, elementCount: 512, into: $0) }
      }
    }
    #expect(throws: DequantizeError.sourceTooShort(needed: 3, available: 2)) {
      try [UInt8](repeating: 0, count: 2).withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(SafetensorsDType.f6_E3M2, from: src, elementCount: 4, into: $0) }
      }
    }
  }

  /// A destination with too few floats is refused; C64 needs two floats per element.
  @Test func shortDestinationIsRejected() {
    var out = [Float](repeating: 0, count: 31)
    let bytes = [UInt8](repeating: 0, count: 64)
    #expect(throws: DequantizeError.destinationTooShort(needed: 32, available: 31)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q4_0, from: src, elementCount: 32, into: $0) }
      }
    }
    #expect(throws: DequantizeError.destinationTooShort(needed: 8, available: 7)) {
      var seven = [Float](repeating: 0, count: 7)
      try bytes.withUnsafeBytes { src in
        try seven.withUnsafeMutableBufferPointer { try Dequantize.decode(SafetensorsDType.c64, from: src, elementCount: 4, into: $0) }
      }
    }
  }

  /// Negative counts and sizes that overflow Int are refused, never trapped on.
  @Test func negativeAndOverflowingCountsAreRejected() {
    var out = [Float](repeating: 0, count: 4)
    let bytes = [UInt8](repeating: 0, count: 4)
    #expect(throws: DequantizeError.invalidCount(field: "elementCount", value: -32)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q8_0, from: src, elementCount: -32, into: $0) }
      }
    }
    let huge = Int.max - Int.max % 256
    #expect(throws: DequantizeError.invalidCount(field: "elementCount", value: huge)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q8_K, from: src, elementCount: huge, into: $0) }
      }
    }
    #expect(throws: DequantizeError.invalidCount(field: "elementCount", value: Int.max / 2)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(SafetensorsDType.f64, from: src, elementCount: Int.max / 2, into: $0) }
      }
    }
    #expect(throws: DequantizeError.invalidCount(field: "rows.upperBound", value: Int.max / 2)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer {
          try Dequantize.decodeRows(GGMLType.q4_0, from: src, rowLength: 64, rows: 0..<(Int.max / 2), into: $0)
        }
      }
    }
  }

  /// Decoding rows [r0, r1) equals the same slice of a whole-tensor decode, for every supported type.
  @Test(arguments: supportedGGML)
  func rowRangeEqualsSliceOfWholeDecode(_ type: GGMLType) throws {
    let rowLength = type.blockSize * 3, rowCount = 5
    let bytes = randomBlocks(type, blockCount: rowCount * 3, seed: UInt64(type.rawValue))
    var whole = [Float](repeating: 0, count: rowLength * rowCount)
    var part = [Float](repeating: 0, count: rowLength * 2)
    try bytes.withUnsafeBytes { src in
      try whole.withUnsafeMutableBufferPointer {
        try Dequantize.decode(type, from: src, elementCount: rowLength * rowCount, into: $0)
      }
      try part.withUnsafeMutableBufferPointer {
        try Dequantize.decodeRows(type, from: src, rowLength: rowLength, rows: 2..<4, into: $0)
      }
    }
    #expect(DequantFixtures.firstBitMismatch(part, Array(whole[(2 * rowLength)..<(4 * rowLength)])) == nil)
  }

  /// A row range past the end of the tensor bytes is refused with the byte counts.
  @Test func rowsPastTheEndAreRejected() {
    var out = [Float](repeating: 0, count: 64)
    let bytes = [UInt8](repeating: 0, count: 34 * 2)
    #expect(throws: DequantizeError.sourceTooShort(needed: 102, available: 68)) {
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer {
          try Dequantize.decodeRows(GGMLType.q8_0, from: src, rowLength: 32, rows: 1..<3, into: $0)
        }
      }
    }
  }

  /// Safetensors rows: F4 rows are bytes of two elements, and the helper agrees with a whole decode.
  @Test func safetensorsRowsMatchWholeDecode() throws {
    let bytes = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    for dtype in [SafetensorsDType.f4, .f6_E2M3, .bf16, .c64, .u8] {
      let rowLength = 8
      guard let rowBytes = dtype.byteCount(elements: rowLength) else { continue }
      let rowCount = bytes.count / rowBytes
      let per = Dequantize.floatsPerElement(dtype)
      var whole = [Float](repeating: 0, count: rowCount * rowLength * per)
      var part = [Float](repeating: 0, count: rowLength * per)
      try bytes.withUnsafeBytes { src in
        try whole.withUnsafeMutableBufferPointer {
          try Dequantize.decode(dtype, from: src, elementCount: rowCount * rowLength, into: $0)
        }
        try part.withUnsafeMutableBufferPointer {
          try Dequantize.decodeRows(dtype, from: src, rowLength: rowLength, rows: 1..<2, into: $0)
        }
      }
      #expect(DequantFixtures.firstBitMismatch(part, Array(whole[(rowLength * per)..<(2 * rowLength * per)])) == nil)
    }
  }

  /// Any byte pattern (all zeros, all ones, random, from an unaligned start) decodes without trapping,
  /// and decoding never writes past the requested elements.
  @Test(arguments: supportedGGML)
  func hostileBytesNeverTrapNorWritePastTheEnd(_ type: GGMLType) throws {
    let blocks = 7
    let count = blocks * type.blockSize
    let size = blocks * type.typeSize
    for fill in [UInt8(0x00), 0xFF, 0x7C, 0x80] {
      let bytes = [UInt8](repeating: fill, count: size + 1)
      try decodeChecked(type, Array(bytes[1...]), count)
    }
    let random = randomBlocks(type, blockCount: blocks + 1, seed: 99)
    // Offset by 1 byte so every multi-byte load is misaligned.
    try decodeChecked(type, Array(random[1...size]), count)
  }

  /// Every safetensors dtype decodes arbitrary bytes without trapping.
  @Test(arguments: SafetensorsDType.allCases)
  func hostileSafetensorsBytesNeverTrap(_ dtype: SafetensorsDType) throws {
    let count = 96
    let bytesNeeded = try #require(dtype.byteCount(elements: count))
    let bytes = (0...bytesNeeded).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
    var out = [Float](repeating: .nan, count: count * Dequantize.floatsPerElement(dtype) + 1)
    let sentinel = out[out.count - 1].bitPattern
    try bytes.withUnsafeBytes { raw in
      let src = UnsafeRawBufferPointer(rebasing: raw[1...])
      try out.withUnsafeMutableBufferPointer { try Dequantize.decode(dtype, from: src, elementCount: count, into: $0) }
    }
    #expect(out[out.count - 1].bitPattern == sentinel)
  }

  /// Hand-checked values: F8_E4M3 0x38 = 1.0, 0x7E = 448 (max), F8_E8M0 0x7F = 1, 0x00 = 2^-127,
  /// E5M2 0x7C = +Inf, F4 byte 0x7F -> [6, -0]... low nibble first.
  @Test func handCheckedSmallFloats() throws {
    func one(_ dtype: SafetensorsDType, _ bytes: [UInt8], _ count: Int) throws -> [Float] {
      var out = [Float](repeating: 0, count: count)
      try bytes.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { try Dequantize.decode(dtype, from: src, elementCount: count, into: $0) }
      }
      return out
    }
    #expect(try one(.f8_E4M3, [0x38, 0x7E, 0xB8, 0x7F], 4)[0..<3] == [1.0, 448, -1.0])
    #expect(try one(.f8_E4M3, [0x7F], 1)[0].isNaN)
    #expect(try one(.f8_E8M0, [0x7F, 0x00, 0x80], 3) == [1.0, 0x1p-127, 2.0])
    #expect(try one(.f8_E5M2, [0x7C, 0x3C], 2) == [.infinity, 1.0])
    #expect(try one(.f8_E4M3FNUZ, [0x40, 0x80], 2)[0] == 1.0)
    #expect(try one(.f8_E5M2FNUZ, [0x40], 1) == [1.0])
    let f4 = try one(.f4, [0x27, 0xF0], 4)  // codes 7 (6.0), 2 (1.0), 0 (0), 15 (-6)
    #expect(f4 == [6.0, 1.0, 0.0, -6.0])
    // F6_E2M3 stream: e0 = 0b001000 (1.0), e1 = 0b011111 (7.5), e2 = 0b100000 (-0), e3 = 0b111111 (-7.5).
    let e: [UInt32] = [0b001000, 0b011111, 0b100000, 0b111111]
    let stream = e[0] | e[1] << 6 | e[2] << 12 | e[3] << 18
    let f6 = try one(.f6_E2M3, [UInt8(stream & 0xFF), UInt8((stream >> 8) & 0xFF), UInt8(stream >> 16)], 4)
    #expect(f6.map(\.bitPattern) == [Float(1.0), 7.5, -0.0, -7.5].map(\.bitPattern))
    #expect(try one(.bool, [0, 1, 2, 255], 4) == [0, 1, 1, 1])
  }

  /// Hand-checked GGUF blocks: Q8_0 with d = 0.5 and Q4_K with known scales.
  @Test func handCheckedQ8_0AndQ4_KBlocks() throws {
    var q8: [UInt8] = [0x00, 0x38]  // f16 0.5
    q8 += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
    var out = [Float](repeating: 0, count: 256)
    try q8.withUnsafeBytes { src in
      try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q8_0, from: src, elementCount: 32, into: $0) }
    }
    #expect(Array(out[0..<32]) == (0..<32).map { Float($0 - 16) * 0.5 })
    // Q4_K: d = 1, dmin = 0.5, scale/min pair j = (j + 1, j) for j < 4 only (6-bit fields), qs nibbles lo = 3, hi = 5.
    var q4k: [UInt8] = [0x00, 0x3C, 0x00, 0x38]
    q4k += [1, 2, 3, 4, 0, 1, 2, 3, 0, 0, 0, 0]
    q4k += [UInt8](repeating: 0x53, count: 128)
    try q4k.withUnsafeBytes { src in
      try out.withUnsafeMutableBufferPointer { try Dequantize.decode(GGMLType.q4_K, from: src, elementCount: 256, into: $0) }
    }
    // Chunk 0: pair 0 (sc 1, m 0) on low nibbles -> 3; pair 1 (sc 2, m 1) on high nibbles -> 2*5 - 0.5.
    #expect(out[0] == 3 && out[31] == 3 && out[32] == 9.5 && out[63] == 9.5)
    // Chunk 1: pair 2 (sc 3, m 2) -> 9 - 1 = 8; pair 3 (sc 4, m 3) -> 20 - 1.5.
    #expect(out[64] == 8 && out[96] == 18.5)
    // Chunk 2: pair 4 from bytes 8 and 0/4 high bits: all zero -> 0.
    #expect(out[128] == 0)
  }

  // MARK: - Helpers

  private func decodeChecked(_ type: GGMLType, _ bytes: [UInt8], _ count: Int) throws {
    var out = [Float](repeating: 0, count: count + 16)
    for i in count..<out.count { out[i] = Float(bitPattern: 0x7FC0_1234) }
    try bytes.withUnsafeBytes { src in
      try out.withUnsafeMutableBufferPointer { try Dequantize.decode(type, from: src, elementCount: count, into: $0) }
    }
    #expect(out[count...].allSatisfy { $0.bitPattern == 0x7FC0_1234 })
  }

  /// Deterministic pseudo-random blocks (splitmix64), raw bytes: scales may be anything.
  private func randomBlocks(_ type: GGMLType, blockCount: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<(blockCount * type.typeSize)).map { _ in
      state = state &+ 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
  }
}
