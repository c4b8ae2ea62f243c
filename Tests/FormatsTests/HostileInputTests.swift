import Testing
import Formats

/// Parsers never trap on hostile bytes: every prefix of a valid file is rejected with a typed error,
/// and seeded random corruptions either parse to a well-formed result or throw.
@Suite struct HostileInputTests {
  static let validGGUF: [UInt8] = (try? readBytes(TestPaths.samples + "/malformed/valid-small.gguf")) ?? []
  static let validSafetensors: [UInt8] = {
    let header = Array(#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#.utf8)
    var h = header
    while h.count % 8 != 0 { h.append(0x20) }
    var out = withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init)
    out += h
    out += [UInt8](repeating: 7, count: 16)
    return out
  }()

  @Test func validFixturesParse() throws {
    let g = try Self.validGGUF.withUnsafeBytes { try GGUFParser.parse($0) }
    #expect(g.tensors.map(\.name) == ["a.weight", "b.weight"])
    #expect(g.anomalies.isEmpty, "\(g.anomalies)")
    let s = try Self.validSafetensors.withUnsafeBytes { try SafetensorsParser.parse($0) }
    #expect(s.tensors.count == 2)
    #expect(s.metadata == ["format": "pt"])
  }

  /// Every prefix of a valid GGUF file that cuts into its header or tensor data is rejected. (Cutting only the
  /// zero padding after the last tensor leaves a complete file, which llama.cpp's mmap loader also accepts.)
  @Test func everyPrefixOfValidGGUFIsRejected() throws {
    let bytes = Self.validGGUF
    let layout = try bytes.withUnsafeBytes { try GGUFParser.parse($0) }
    let end = layout.tensors.map { $0.absoluteOffset + $0.byteCount }.max() ?? 0
    #expect(end > 100)
    for n in 0..<end {
      let prefix = Array(bytes[0..<n])
      let result = prefix.withUnsafeBytes { raw in Result { () throws(GGUFError) in try GGUFParser.parse(raw) } }
      if case .success = result { Issue.record("prefix of \(n) bytes parsed") }
    }
  }

  /// Every strict prefix of a valid safetensors file is rejected.
  @Test func everyPrefixOfValidSafetensorsIsRejected() {
    let bytes = Self.validSafetensors
    for n in 0..<bytes.count {
      let prefix = Array(bytes[0..<n])
      let result = prefix.withUnsafeBytes { raw in Result { () throws(SafetensorsError) in try SafetensorsParser.parse(raw) } }
      if case .success = result { Issue.record("prefix of \(n) bytes parsed") }
    }
  }

  /// Random byte flips and length fields set to 0 / Int64.max / UInt64.max never trap, and whatever parses
  /// keeps every tensor inside the file.
  @Test func corruptedGGUFNeverTraps() {
    var rng = SplitMix64(seed: 0x5CA9)
    let base = Self.validGGUF
    for _ in 0..<20_000 {
      var b = base
      let flips = 1 + Int(rng.next() % 4)
      for _ in 0..<flips {
        let i = Int(rng.next() % UInt64(b.count))
        switch rng.next() % 4 {
        case 0: b[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
        case 1: b[i] = 0
        case 2: b[i] = 0xFF
        default:
          let at = min(i, b.count - 8)
          let v: UInt64 = [0, UInt64(Int64.max), UInt64.max, 1 << 40][Int(rng.next() % 4)]
          withUnsafeBytes(of: v.littleEndian) { for k in 0..<8 { b[at + k] = $0[k] } }
        }
      }
      b.withUnsafeBytes { raw in
        if let layout = try? GGUFParser.parse(raw) {
          for t in layout.tensors { #expect(t.absoluteOffset + t.byteCount <= raw.count) }
        }
      }
    }
  }

  @Test func corruptedSafetensorsNeverTraps() {
    var rng = SplitMix64(seed: 0x5AFE)
    let base = Self.validSafetensors
    for _ in 0..<20_000 {
      var b = base
      for _ in 0..<(1 + Int(rng.next() % 3)) {
        let i = Int(rng.next() % UInt64(b.count))
        b[i] = UInt8(truncatingIfNeeded: rng.next())
      }
      b.withUnsafeBytes { raw in
        if let layout = try? SafetensorsParser.parse(raw) {
          for t in layout.tensors { #expect(t.absoluteOffset + t.byteCount <= raw.count) }
        }
      }
    }
  }

  /// Duplicate JSON keys in a safetensors header are reported with both offsets, and the last one wins
  /// (as in Python and Rust), so the scanner sees what PyTorch loads.
  @Test func duplicateSafetensorsKeysAreReportedAndLastWins() throws {
    let header = Array(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
    var b = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
    b += [0, 0, 0, 0]
    let layout = try b.withUnsafeBytes { try SafetensorsParser.parse($0) }
    #expect(layout.tensors.count == 1)
    #expect(layout.tensors.first?.dtype == .i32)
    let dup = try #require(layout.anomalies.first { $0.code == .safetensorsDuplicateKey })
    #expect(dup.byteOffset == 8 + 54)
    #expect(dup.message.contains("first at offset 9"))
  }

  /// JSON object keys are told apart by their bytes, as Python's `json` and serde do, not by Swift's canonical
  /// equivalence: "K" and the Kelvin sign, or composed and decomposed accents, are two members, not a duplicate,
  /// and a lookup finds only the byte-identical key. (A tokenizer.json vocabulary may hold both spellings.)
  @Test func jsonKeysAreComparedByBytes() throws {
    var members: [String] = ["\"K\":1", "\"\u{212A}\":2", "\"\u{E9}\":3", "\"e\u{301}\":4"]
    for filler in 0..<10 { members.append("\"f\(filler)\":0") }  // past the linear-scan size, into the hash table
    members += ["\"e\u{301}\":5", "\"\u{212A}\":6"]
    for count in [4, members.count] {  // small object (linear scan) and large (hash table)
      let doc = try JSONParser.parse(Array(("{" + members.prefix(count).joined(separator: ",") + "}").utf8))
      #expect(doc.value.members?.count == count)
      #expect(doc.value["K"]?.int == 1)
      #expect(doc.value["\u{E9}"]?.int == 3)
      #expect(doc.value["e\u{301}"]?.int == (count == 4 ? 4 : 5))
      #expect(doc.value["\u{212A}"]?.int == (count == 4 ? 2 : 6))
      // Only the byte-identical repeats (in the large object) are duplicates.
      #expect(doc.duplicateKeys.map(\.key).sorted() == (count == 4 ? [] : ["e\u{301}", "\u{212A}"].sorted()))
    }
  }

  /// A GGUF lookup matches keys and tensor names byte for byte, as ggml does: a file whose only key is spelled
  /// with the Kelvin sign has no key "general.K" (Swift's `String ==` alone would say it has).
  @Test func ggufLookupsAreByteExact() throws {
    func string(_ s: String) -> [UInt8] { withUnsafeBytes(of: UInt64(s.utf8.count).littleEndian, Array.init) + Array(s.utf8) }
    var b: [UInt8] = Array("GGUF".utf8) + withUnsafeBytes(of: UInt32(3).littleEndian, Array.init)
    b += withUnsafeBytes(of: UInt64(0).littleEndian, Array.init) + withUnsafeBytes(of: UInt64(1).littleEndian, Array.init)
    b += string("general.\u{212A}") + withUnsafeBytes(of: UInt32(8).littleEndian, Array.init) + string("v")
    let layout = try b.withUnsafeBytes { try GGUFParser.parse($0) }
    #expect(layout.metadata.count == 1)
    #expect(layout["general.K"] == nil)
    #expect(layout["general.\u{212A}"] != nil)
  }
}

/// A small deterministic PRNG for reproducible fuzz-style tests.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
