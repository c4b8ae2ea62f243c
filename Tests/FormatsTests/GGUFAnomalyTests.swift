import Testing
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// What the spec allows but llama.cpp refuses, and what is odd but readable, is parsed and reported
/// as an anomaly with its offset instead of being rejected or ignored.
@Suite struct GGUFAnomalyTests {
  func parse(_ b: GGUFBuilder) throws -> GGUFLayout {
    let bytes = b.build()
    return try bytes.withUnsafeBytes { try GGUFParser.parse($0) }
  }

  /// A byte-swapped (big-endian) v3 file is read with correct values and named as big-endian.
  @Test func bigEndianFileIsReadAndFlagged() throws {
    var b = GGUFBuilder(bigEndian: true)
    b.kv("general.architecture", string: "llama")
    b.kv("llama.block_count", u32: 30)
    b.tensor("w", dims: [4, 2], offset: 0)
    b.data = [UInt8](repeating: 0, count: 32)
    let g = try parse(b)
    #expect(g.byteOrder == .big)
    #expect(g.version == 3)
    #expect(g["llama.block_count"]?.int == 30)
    #expect(g.tensors.first?.dimensions == [4, 2])
    #expect(g.anomalies.contains { $0.code == .ggufBigEndian && $0.byteOffset == 4 })
  }

  /// GGUF v1 (32-bit counts and lengths), refused by today's readers, is read.
  @Test func version1IsRead() throws {
    var b = GGUFBuilder(version: 1)
    b.kv("general.architecture", string: "llama")
    b.kv("tokenizer.ggml.token_type", u32Array: [1, 2, 3])
    b.tensor("w", dims: [8], offset: 0)
    b.data = [UInt8](repeating: 0, count: 32)
    let g = try parse(b)
    #expect(g.version == 1)
    #expect(g["tokenizer.ggml.token_type"]?.ints == [1, 2, 3])
    #expect(g.tensors.first?.byteCount == 32)
    #expect(g.anomalies.contains { $0.code == .ggufLegacyVersion })
  }

  @Test func nestedArrayIsAnAnomaly() throws {
    var b = GGUFBuilder()
    let inner = b.int(UInt32(4)) + b.count(1) + b.int(UInt32(7))
    b.kv("x.nested", rawType: 9, payload: b.int(UInt32(9)) + b.count(2) + inner + inner)
    let g = try parse(b)
    #expect(g["x.nested"]?.array?.count == 2)
    #expect(g.anomalies.contains { $0.code == .ggufNestedArray && $0.subject == "x.nested" })
  }

  /// Offsets that are aligned but not contiguous load in gguf-py, not in llama.cpp: anomaly, plus the
  /// unexplained gap they leave.
  @Test func nonContiguousOffsetsAreAnAnomaly() throws {
    var b = GGUFBuilder()
    b.tensor("a", dims: [8], offset: 64)
    b.tensor("b", dims: [8], offset: 0)
    b.data = [UInt8](repeating: 0, count: 96)
    let g = try parse(b)
    #expect(g.anomalies.contains { $0.code == .ggufNonContiguousOffset && $0.subject == "a" })
    #expect(g.anomalies.contains { $0.code == .ggufGapBetweenTensors })
  }

  @Test func longNamesAndManyDimensionsAreAnomalies() throws {
    var b = GGUFBuilder()
    let long = String(repeating: "n", count: 70)
    b.tensor(long, dims: [2, 1, 1, 1, 2], offset: 0)
    b.data = [UInt8](repeating: 0, count: 32)
    let g = try parse(b)
    #expect(g.anomalies.contains { $0.code == .ggufLongTensorName && $0.subject == long })
    #expect(g.anomalies.contains { $0.code == .ggufTooManyDimensions })
  }

  /// Bytes after the last tensor (a polyglot's hiding place) and invalid BOOL bytes are reported.
  @Test func trailingBytesAndInvalidBoolAreAnomalies() throws {
    var b = GGUFBuilder()
    b.kv("general.flag", rawType: 7, payload: [2])
    b.tensor("a", dims: [8], offset: 0)
    b.data = [UInt8](repeating: 0, count: 32) + [UInt8](repeating: 0x41, count: 100)
    let g = try parse(b)
    #expect(g.anomalies.contains { $0.code == .ggufTrailingBytes })
    #expect(g.anomalies.contains { $0.code == .ggufInvalidBool && $0.subject == "general.flag" })
  }

  /// A clean file has no anomalies at all (no false alarms from the structure checks).
  @Test func cleanFileHasNoAnomalies() throws {
    var b = GGUFBuilder()
    b.kv("general.architecture", string: "llama")
    b.tensor("a", dims: [8], offset: 0)
    b.tensor("b", dims: [32], type: 8, offset: 32)
    b.data = [UInt8](repeating: 0, count: 32) + [UInt8](repeating: 0, count: 34) + [UInt8](repeating: 0, count: 30)
    let g = try parse(b)
    #expect(g.anomalies.isEmpty, "\(g.anomalies)")
  }

  /// A split set `-0000i-of-0000N.gguf` is gathered and read as one model; contradicting split keys are an error.
  @Test func splitSetIsReadAsOneModel() throws {
    let dir = "/tmp/scan-split-\(getpid())"
    mkdir(dir, 0o755)
    defer { _ = system("rm -rf \(dir)") }
    for i in 0..<2 {
      var b = GGUFBuilder()
      b.kv("split.no", rawType: 2, payload: b.int(UInt16(i)))
      b.kv("split.count", rawType: 2, payload: b.int(UInt16(2)))
      b.kv("split.tensors.count", rawType: 5, payload: b.int(Int32(2)))
      b.tensor("t\(i)", dims: [8], offset: 0)
      b.data = [UInt8](repeating: 0, count: 32)
      try write(b.build(), to: "\(dir)/m-0000\(i + 1)-of-00002.gguf")
    }
    let set = try GGUFSplitSet.open(anyShardPath: "\(dir)/m-00002-of-00002.gguf")
    #expect(set.shards.map { $0.tensors[0].name } == ["t0", "t1"])
    #expect(GGUFSplitSet.splitName("\(dir)/m-00002-of-00002.gguf")?.count == 2)
    _ = unlink("\(dir)/m-00002-of-00002.gguf")
    #expect(throws: FormatError.self) { try GGUFSplitSet.open(anyShardPath: "\(dir)/m-00001-of-00002.gguf") }
  }

  func write(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    try #require(fd >= 0)
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    try #require(n == bytes.count)
  }
}
