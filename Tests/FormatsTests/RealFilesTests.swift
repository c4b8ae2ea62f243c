import Testing
import Formats

/// Every file in ../shared/realfiles is read and compared with what the reference readers
/// (gguf-py 0.19.0, safetensors 0.8.0) recorded in EXPECTED.json.
@Suite struct RealFilesTests {
  static let expected: [JSONMember] = {
    (try? readJSON(TestPaths.realfiles + "/EXPECTED.json"))?.members ?? []
  }()

  /// Files we deliberately judge differently from gguf-py, with the reason.
  static let differences: [String: String] = [
    // gguf-py refuses v1 ("we cannot handle"); the issue asks us to read v1's 32-bit counts.
    "gguf/llama-vocab-history/ggml-vocab-llama-2023-10-24.gguf": "we read GGUF v1",
  ]

  static var localEntries: [JSONMember] { expected.filter { !$0.key.hasPrefix("pypi:") } }

  @Test func corpusIsPresent() {
    #expect(Self.localEntries.count >= 40)
  }

  /// Accepted GGUF files agree on version, counts, alignment, keys, and tensor names/types/shapes/offsets;
  /// rejected ones are rejected (except where `differences` explains why).
  @Test(arguments: RealFilesTests.localEntries.filter { $0.key.hasPrefix("gguf/") }.map(\.key))
  func ggufAgreesWithReference(_ relPath: String) throws {
    let exp = try #require(Self.expected.last { $0.key == relPath }?.value)
    let path = TestPaths.realfiles + "/" + relPath
    let accepted = exp["accepted"]?.bool ?? false
    if !accepted && Self.differences[relPath] == nil {
      #expect(throws: FormatError.self, "reference rejected: \(exp["error"]?.string ?? "")") { try GGUFFile.open(path: path) }
      return
    }
    let g = try GGUFFile.open(path: path)
    if !accepted {
      #expect(g.version == 1)
      return
    }
    try compare(g, exp)
  }

  /// Accepted safetensors files agree on tensor count, names, dtypes, shapes, offsets and metadata.
  @Test(arguments: RealFilesTests.localEntries.filter { $0.key.hasPrefix("safetensors/") }.map(\.key))
  func safetensorsAgreesWithReference(_ relPath: String) throws {
    let exp = try #require(Self.expected.last { $0.key == relPath }?.value)
    let s = try SafetensorsFile.open(path: TestPaths.realfiles + "/" + relPath)
    #expect(s.tensors.count == exp["tensor_count"]?.int)
    #expect(s.headerByteCount == exp["header_len"]?.int)
    #expect(s.layout.headerPaddingByteCount == exp["header_trailing_spaces"]?.int)
    let dataBytes = s.tensors.reduce(0) { $0 + $1.byteCount }
    #expect(dataBytes == exp["data_bytes"]?.int)
    if let meta = exp["metadata"]?.members {
      #expect(s.metadata == Dictionary(uniqueKeysWithValues: meta.map { ($0.key, $0.value.string ?? "") }))
    } else {
      #expect(s.metadata == nil)
    }
    for t in exp["tensors_first"]?.array ?? [] {
      let name = try #require(t["name"]?.string)
      let mine = try #require(s.tensor(named: name), "missing \(name)")
      #expect(mine.dtype.rawValue == t["dtype"]?.string)
      #expect(mine.shape == t["shape"]?.array?.compactMap(\.int))
      let offs = t["data_offsets"]?.array?.compactMap(\.int) ?? []
      #expect([mine.dataOffsets.lowerBound, mine.dataOffsets.upperBound] == offs)
    }
  }

  func compare(_ g: GGUFFile, _ exp: JSONValue) throws {
    #expect(Int(g.version) == exp["version"]?.int)
    #expect(g.tensors.count == exp["tensor_count"]?.int)
    #expect(g.metadata.count == exp["kv_count"]?.int)
    #expect(g.alignment == exp["alignment"]?.int)
    #expect(g.byteOrder.rawValue == exp["endianess"]?.string)
    if !g.tensors.isEmpty { #expect(g.dataOffset == exp["data_offset"]?.int) }
    #expect(g.layout.tensorDataByteCount == exp["data_bytes_sum"]?.int)
    let keys = exp["keys"]?.array ?? []
    #expect(keys.count == g.metadata.count)
    for (k, e) in zip(keys, g.metadata) {
      #expect(e.key == k["key"]?.string)
      #expect(e.value.type.name == k["type"]?.string, "\(e.key)")
      if let count = k["count"]?.int { #expect(e.value.array?.count == count, "\(e.key)") }
      if let et = k["elem_type"]?.string { #expect(e.value.array?.elementType.name == et, "\(e.key)") }
    }
    for sv in exp["selected_values"]?.members ?? [] {
      let mine = try #require(g[sv.key], "missing \(sv.key)")
      switch sv.value {
      case .string(let s): #expect(mine.string == s)
      case .number(let n): #expect(mine.double == n.double)
      case .bool(let b): #expect(mine.bool == b)
      default: break
      }
    }
    for t in (exp["tensors_first"]?.array ?? []) + (exp["tensors_last"]?.array ?? []) {
      let name = try #require(t["name"]?.string)
      let mine = try #require(g.tensor(named: name), "missing \(name)")
      #expect(mine.type.name == t["type"]?.string)
      #expect(Int(mine.type.rawValue) == t["type_id"]?.int)
      #expect(mine.dimensions == t["shape"]?.array?.compactMap(\.int))
      #expect(mine.absoluteOffset == t["offset_abs"]?.int)
      #expect(mine.byteCount == t["n_bytes"]?.int)
      #expect(mine.elementCount == t["n_elements"]?.int)
    }
    if let types = exp["tensor_types"]?.members {
      for tt in types {
        #expect(g.tensors.filter { $0.type.name == tt.key }.count == tt.value.int, "\(tt.key)")
      }
    }
  }
}
