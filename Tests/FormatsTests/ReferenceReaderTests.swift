import Testing
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// Our parsers agree with the Python reference readers (gguf-py GGUFReader, safetensors) on real files:
/// the outputs in Tests/Fixtures/reference were produced by scripts/reference/*.py.
@Suite struct ReferenceReaderTests {
  static var realModelsEnabled: Bool { getenv("SCAN_REAL_MODELS").map { String(cString: $0) == "1" } ?? false }

  static let realModels: [(file: String, reference: String)] = [
    ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-q4_1.gguf.json"),
    ("gemma-3-270m-q4_k_m.gguf", "gemma3-270m-q4_k_m.gguf.json"),
  ]

  /// Every tensor's name, type, shape, absolute offset and size, and every key's type and offset, match gguf-py.
  @Test(.enabled(if: realModelsEnabled, "set SCAN_REAL_MODELS=1 after scripts/fetch-real-models.sh"),
        arguments: realModels.map(\.file))
  func realGGUFMatchesGGUFPy(_ file: String) throws {
    let ref = try readJSON(TestPaths.fixtures + "/reference/" + Self.realModels.first { $0.file == file }!.reference)
    let g = try GGUFFile.open(path: TestPaths.realModels + "/" + file)
    #expect(Int(g.version) == ref["version"]?.int)
    #expect(g.metadata.count == ref["kv_count"]?.int)
    #expect(g.tensors.count == ref["tensor_count"]?.int)
    #expect(g.alignment == ref["alignment"]?.int)
    #expect(g.dataOffset == ref["data_offset"]?.int)
    #expect(g.layout.tensorDataByteCount == ref["data_bytes_sum"]?.int)
    #expect(g.layout.parameterCount == ref["parameter_count"]?.int)
    #expect(g.anomalies.isEmpty, "\(g.anomalies)")
    let keys = ref["keys"]?.array ?? []
    #expect(keys.count == g.metadata.count)
    for (k, e) in zip(keys, g.metadata) {
      #expect(e.key == k["key"]?.string)
      #expect(e.value.type.name == k["type"]?.string, "\(e.key)")
      #expect(e.byteOffset == k["offset"]?.int, "\(e.key)")
    }
    let tensors = ref["tensors"]?.array ?? []
    #expect(tensors.count == g.tensors.count)
    for (r, t) in zip(tensors, g.tensors) {
      #expect(t.name == r["name"]?.string)
      #expect(t.type.name == r["type"]?.string, "\(t.name)")
      #expect(t.dimensions == r["shape"]?.array?.compactMap(\.int), "\(t.name)")
      #expect(t.absoluteOffset == r["offset_abs"]?.int, "\(t.name)")
      #expect(t.relativeOffset == r["offset_rel"]?.int, "\(t.name)")
      #expect(t.byteCount == r["n_bytes"]?.int, "\(t.name)")
      #expect(t.elementCount == r["n_elements"]?.int, "\(t.name)")
    }
  }

  /// A multi-dtype file written by the Python safetensors package parses identically.
  @Test func multiDTypeSafetensorsMatchesReference() throws {
    let dir = TestPaths.fixtures + "/reference/safetensors/"
    let ref = try readJSON(dir + "multi_dtype.safetensors.json")
    let s = try SafetensorsFile.open(path: dir + "multi_dtype.safetensors")
    #expect(s.headerByteCount == ref["header_len"]?.int)
    #expect(s.dataOffset == ref["data_offset"]?.int)
    #expect(s.tensors.count == ref["tensor_count"]?.int)
    #expect(s.metadata == Dictionary(uniqueKeysWithValues: (ref["metadata"]?.members ?? []).map { ($0.key, $0.value.string ?? "") }))
    for r in ref["tensors"]?.array ?? [] {
      let name = try #require(r["name"]?.string)
      let t = try #require(s.tensor(named: name), "missing \(name)")
      #expect(t.dtype.rawValue == r["dtype"]?.string, "\(name)")
      #expect(t.shape == r["shape"]?.array?.compactMap(\.int), "\(name)")
      #expect([t.dataOffsets.lowerBound, t.dataOffsets.upperBound] == r["data_offsets"]?.array?.compactMap(\.int), "\(name)")
      #expect(t.elementCount == r["n_elements"]?.int, "\(name)")
    }
  }

  /// A two-shard set opened through its index lists every tensor once, in the shard the index names.
  @Test func shardedSafetensorsSetMatchesIndex() throws {
    let dir = TestPaths.fixtures + "/reference/safetensors/sharded/"
    let set = try SafetensorsShardedSet.open(indexPath: dir + "model.safetensors.index.json")
    #expect(set.shards.count == 2)
    #expect(set.anomalies.isEmpty, "\(set.anomalies)")
    let total = set.shards.reduce(0) { $0 + $1.file.tensors.count }
    #expect(total == set.weightMap.count)
    #expect(set.declaredTotalSize == set.shards.reduce(0) { $0 + $1.file.tensors.reduce(0) { $0 + $1.byteCount } })
  }
}
