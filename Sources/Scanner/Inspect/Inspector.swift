import Formats

/// Builds ``InspectReport``s: opens a model file, split set, sharded set or Hugging Face folder and lists everything.
public enum Inspector {
  /// Arrays longer than this are summarised in reports (count + first elements).
  public static let arrayPreviewCount = 8

  /// Inspects the model at `path`.
  /// - Parameter hash: whether to compute SHA-256 of every file (reads every byte).
  /// - Throws: ``ScanError`` when the input is malformed or not a model.
  public static func inspect(path: String, hash: Bool = true) throws(ScanError) -> InspectReport {
    let input: ModelInput
    do { input = try ModelInput.open(path: path) } catch { throw error }
    return report(for: input, hash: hash)
  }

  /// The report for an already opened input.
  public static func report(for input: ModelInput, hash: Bool = true) -> InspectReport {
    func fileEntry(_ f: MappedFile) -> (String, Int, String) { (f.path, f.count, hash ? f.sha256Hex() : "") }
    switch input {
    case .gguf(let set):
      let first = set.shards[0]
      var tensors: [InspectReport.Tensor] = []
      for s in set.shards {
        for t in s.tensors {
          tensors.append(.init(name: t.name, type: t.type.name, shape: t.dimensions, offset: t.absoluteOffset,
            bytes: t.byteCount, elements: t.elementCount, file: set.shards.count > 1 ? s.file.path : nil))
        }
      }
      let meta = first.metadata.map { e in
        InspectReport.MetadataItem(key: e.key, type: typeName(e.value), value: summary(e.value), byteOffset: e.byteOffset)
      }
      return InspectReport(path: input.path, format: set.shards.count > 1 ? "gguf-split" : "gguf",
        version: Int(first.version), byteOrder: first.byteOrder.rawValue, files: set.shards.map { fileEntry($0.file) },
        alignment: first.alignment, dataOffset: first.dataOffset, metadata: meta, tensors: tensors,
        anomalies: set.shards.flatMap(\.anomalies) + set.anomalies)
    case .safetensors(let files, let sharded, _):
      var tensors: [InspectReport.Tensor] = []
      var meta: [InspectReport.MetadataItem] = []
      for f in files {
        for t in f.tensors {
          tensors.append(.init(name: t.name, type: t.dtype.rawValue, shape: t.shape, offset: t.absoluteOffset,
            bytes: t.byteCount, elements: t.elementCount, file: files.count > 1 ? f.file.path : nil))
        }
      }
      if let m = files.first?.metadata {
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
          meta.append(.init(key: k, type: "STRING", value: .string(v), byteOffset: 8))
        }
      }
      return InspectReport(path: input.path, format: sharded != nil ? "safetensors-sharded" : "safetensors",
        version: nil, byteOrder: "LITTLE", files: files.map { fileEntry($0.file) }, alignment: nil,
        dataOffset: files.count == 1 ? files[0].dataOffset : nil, metadata: meta, tensors: tensors,
        anomalies: files.flatMap(\.anomalies) + (sharded?.anomalies ?? []))
    }
  }

  static func typeName(_ v: GGUFValue) -> String {
    if case .array(let a) = v { return "ARRAY[\(a.elementType.name)]" }
    return v.type.name
  }

  /// A JSON rendering of a metadata value, long arrays cut to their first elements plus a count.
  static func summary(_ v: GGUFValue) -> JSONNode {
    switch v {
    case .uint8(let x): .int(Int(x))
    case .int8(let x): .int(Int(x))
    case .uint16(let x): .int(Int(x))
    case .int16(let x): .int(Int(x))
    case .uint32(let x): .int(Int(x))
    case .int32(let x): .int(Int(x))
    case .uint64(let x): Int(exactly: x).map { .int($0) } ?? .string(String(x))
    case .int64(let x): .int(Int(x))
    case .float32(let x): x.isFinite ? .double(Double(String(x)) ?? Double(x)) : .string(String(describing: x))
    case .float64(let x): x.isFinite ? .double(x) : .string(String(describing: x))
    case .bool(let b): .bool(b)
    case .string(let s): .string(s)
    case .array(let a): arraySummary(a)
    }
  }

  static func arraySummary(_ a: GGUFArray) -> JSONNode {
    let n = a.count
    let k = min(n, arrayPreviewCount)
    let items: [JSONNode]
    switch a {
    case .string(let s): items = s.prefix(k).map { .string($0) }
    case .float32(let f): items = f.prefix(k).map { $0.isFinite ? .double(Double(String($0)) ?? Double($0)) : .string("\($0)") }
    case .float64(let f): items = f.prefix(k).map { $0.isFinite ? .double($0) : .string("\($0)") }
    case .bool(let b): items = b.prefix(k).map { .bool($0) }
    case .array(let inner): items = inner.prefix(k).map { arraySummary($0) }
    default: items = (a.ints ?? []).prefix(k).map { .int($0) }
    }
    if n <= arrayPreviewCount { return .array(items) }
    return .object([("count", .int(n)), ("element_type", .string(a.elementType.name)), ("first", .array(items))])
  }
}
