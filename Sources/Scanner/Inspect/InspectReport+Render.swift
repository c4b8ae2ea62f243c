import Formats

extension InspectReport {
  /// The JSON form (`scan inspect --format json`). Stable keys: `format`, `version`, `metadata`, `tensors`,
  /// `tensor_count`, `metadata_count`, `sha256`, ...
  public var json: JSONNode {
    var o: [(String, JSONNode)] = [
      ("path", .string(path)),
      ("format", .string(format)),
      ("version", version.map { .int($0) } ?? .null),
      ("byte_order", byteOrder.map { .string($0) } ?? .null),
      ("file_size", .int(totalFileBytes)),
      ("sha256", files.count == 1 ? .string(files[0].sha256) : .null),
      ("files", .array(files.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes)), ("sha256", .string($0.sha256))]) })),
      ("alignment", alignment.map { .int($0) } ?? .null),
      ("data_offset", dataOffset.map { .int($0) } ?? .null),
      ("metadata_count", .int(metadata.count)),
      ("tensor_count", .int(tensors.count)),
      ("parameter_count", .int(parameterCount)),
      ("tensor_bytes", .int(tensorBytes)),
    ]
    o.append(("metadata", .object(metadata.map { ($0.key, $0.value) })))
    o.append(("metadata_types", .object(metadata.map { ($0.key, .string($0.type)) })))
    o.append(("tensors", .array(tensors.map { t in
      var f: [(String, JSONNode)] = [("name", .string(t.name)), ("type", .string(t.type)),
        ("shape", .array(t.shape.map { .int($0) })), ("offset", .int(t.offset)), ("bytes", .int(t.bytes))]
      if let file = t.file { f.append(("file", .string(file))) }
      return .object(f)
    })))
    o.append(("anomalies", .array(anomalies.map { a in
      .object([("code", .string(a.code.rawValue)), ("offset", .int(a.byteOffset)),
               ("subject", a.subject.map { .string($0) } ?? .null), ("message", .string(a.message))])
    })))
    return .object(o)
  }

  /// The human-readable form, like `gguf-dump` with totals and anomalies.
  public func text(maxStringLength: Int = 120) -> String {
    var out = ""
    out += "\(path)\n"
    out += "  format      \(format)\(version.map { " v\($0)" } ?? "")\(byteOrder == "BIG" ? " (big-endian)" : "")\n"
    for f in files {
      out += "  file        \(f.path)  \(f.bytes) bytes\(f.sha256.isEmpty ? "" : "  sha256 \(f.sha256)")\n"
    }
    if let a = alignment { out += "  alignment   \(a)\n" }
    if let d = dataOffset { out += "  data offset \(d)\n" }
    out += "  tensors     \(tensors.count)   parameters \(parameterCount)   tensor bytes \(tensorBytes)\n"
    out += "\n  metadata (\(metadata.count)):\n"
    let keyWidth = min(44, metadata.map(\.key.count).max() ?? 0)
    for m in metadata {
      let value = Self.short(m.value.serialized(), maxStringLength)
      out += "    " + Self.pad(m.key, keyWidth) + "  " + Self.pad(m.type, 16) + "  " + value + "\n"
    }
    out += "\n  tensors (\(tensors.count)):\n"
    let nameWidth = min(48, tensors.map(\.name.count).max() ?? 0)
    for t in tensors {
      out += "    " + Self.pad(t.name, nameWidth) + "  " + Self.pad(t.type, 8) + "  "
        + Self.pad("[" + t.shape.map(String.init).joined(separator: ", ") + "]", 18)
        + "  @" + String(t.offset) + "  " + String(t.bytes) + " B\n"
    }
    if !anomalies.isEmpty {
      out += "\n  anomalies (\(anomalies.count)):\n"
      for a in anomalies { out += "    [\(a.code.rawValue)] offset \(a.byteOffset): \(a.message)\n" }
    }
    // Keys, names and values are the file's own text: no terminal escapes or bidi overrides reach the screen.
    return TerminalText.safe(out)
  }

  static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

  static func short(_ s: String, _ n: Int) -> String {
    guard s.count > n else { return s }
    return String(s.prefix(n)) + "… (\(s.count) chars)"
  }
}
