import Testing
@testable import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole real tensors (SmolLM2-135M Q4_1/Q8_0, Gemma-3-270M Q4_K/Q5_0/Q6_K/Q8_0) decode to gguf-py's bits.
///
/// Gated: run with `SCAN_REAL_MODELS=1` (models from scripts/fetch-real-models.sh in
/// `samples/.cache/real`, or the folder named by `SCAN_REAL_MODELS_DIR`). Offsets and expected checksums
/// were recorded by Tests/Fixtures/dequant/make_dequant_vectors.py from the same files.
@Suite(.enabled(if: DequantFixtures.flag("SCAN_REAL_MODELS"), "set SCAN_REAL_MODELS=1"))
struct DequantizeRealModelTests {
  static let modelDirectory: String = {
    if let dir = getenv("SCAN_REAL_MODELS_DIR") { return String(cString: dir) + "/" }
    return DequantFixtures.directory + "../../../samples/.cache/real/"
  }()

  static let models = Array(Set(DequantFixtures.lines("real").map { $0.fields[1] })).sorted()

  /// Every tensor of a supported type in the model decodes to the checksum of gguf-py's output.
  @Test(arguments: models)
  func everyTensorMatchesGGUFPyChecksum(_ model: String) throws {
    let file = try MappedFile(path: Self.modelDirectory + model)
    let lines = DequantFixtures.lines("real").filter { $0.fields[1] == model }
    #expect(!lines.isEmpty)
    var buffer = [Float]()
    var failures = [String]()
    for line in lines {
      let type = try #require(DequantFixtures.ggmlType(named: line.fields[2]))
      let offset = try #require(Int(line.fields[4])), count = try #require(Int(line.fields[5]))
      let expected = try #require(UInt64(line.fields[6], radix: 16))
      let byteCount = try #require(type.byteCount(elements: count))
      try #require(offset >= 0 && offset + byteCount <= file.count)
      if buffer.count < count { buffer = [Float](repeating: 0, count: count) }
      let sum = try file.withBytes { (bytes) throws(DequantizeError) -> UInt64 in
        let src = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + byteCount)])
        return try buffer.withUnsafeMutableBufferPointer { (dst) throws(DequantizeError) -> UInt64 in
          try Dequantize.decode(type, from: src, elementCount: count, into: dst)
          return DequantFixtures.checksum(UnsafeBufferPointer(rebasing: dst[0..<count]))
        }
      }
      if sum != expected { failures.append(line.fields[3]) }
    }
    #expect(failures.isEmpty, "tensors differing from gguf-py: \(failures)")
  }

  /// Sampled blocks (4 from the start and 4 from the end of one tensor per type) equal the committed floats.
  @Test(arguments: DequantFixtures.lines("sample"))
  func sampledBlocksMatchCommittedFloats(_ line: DequantFixtures.Line) throws {
    let file = try MappedFile(path: Self.modelDirectory + line.fields[1])
    let type = try #require(DequantFixtures.ggmlType(named: line.fields[2]))
    let offset = try #require(Int(line.fields[4])), count = try #require(Int(line.fields[5]))
    let expected = try DequantFixtures.readFloats(DequantFixtures.directory + line.fields[6] + ".f32")
    let byteCount = try #require(type.byteCount(elements: count))
    try #require(offset >= 0 && offset + byteCount <= file.count)
    var out = [Float](repeating: 0, count: count)
    try file.withBytes { (bytes) throws(DequantizeError) in
      let src = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + byteCount)])
      try out.withUnsafeMutableBufferPointer { (dst) throws(DequantizeError) in
        try Dequantize.decode(type, from: src, elementCount: count, into: dst)
      }
    }
    #expect(DequantFixtures.firstBitMismatch(out, expected) == nil)
  }
}
