/// Parses and validates safetensors as the reference crate does (`SafeTensors::read_metadata`,
/// `Metadata::validate`), plus what it forgets: duplicate keys, the leading `{`, unknown fields.
///
/// Two paths give one result. ``parse(_:)`` first runs ``SafetensorsHeaderScanner``, which reads the header bytes
/// straight into tensor entries; whenever it does not accept a file it hands the file to ``parseReference(_:)``
/// (``JSONParser`` builds a ``JSONValue`` tree, then the rules below judge it), which throws the error. Both accept
/// exactly the same files with the same layout and anomalies; `SafetensorsFastPathTests` and the fuzz harness check it.
public enum SafetensorsParser {
  /// The crate's MAX_HEADER_SIZE.
  public static let maxHeaderLength = 100_000_000

  /// Parses `bytes` as a complete safetensors file.
  /// - Returns: the validated layout, tensors in header order.
  /// - Throws: ``SafetensorsError`` with an absolute offset (always the reference path's error).
  /// - Complexity: O(n) in the header length, plus O(t log t) in the tensor count when the data offsets are not
  ///   in header order.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> SafetensorsLayout {
    if let layout = SafetensorsHeaderScanner.scan(bytes) { return layout }
    return try parseReference(bytes)
  }

  /// The reference path: the whole header through ``JSONParser``, then the rules over the value tree.
  static func parseReference(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> SafetensorsLayout {
    let (header, leadingAnomalies) = try prelude(bytes)
    var anomalies = leadingAnomalies
    let doc: JSONParser.Document
    do { doc = try JSONParser.parse(header) } catch {
      throw .invalidJSON(offset: 8 &+ error.offset, detail: error.description)
    }
    for d in doc.duplicateKeys { anomalies.append(duplicateKeyAnomaly(d)) }
    // can't fail: prelude checked that the first non-space byte is '{', and the parse consumed one whole value
    guard let members = doc.value.members else { throw .headerNotObject(offset: 8, found: header.first ?? 0) }

    // Last occurrence wins, as in the reference readers; occurrence = the same bytes (see ExactName).
    var lastIndex: [ExactName: Int] = [:]
    for (i, m) in members.enumerated() { lastIndex[ExactName(m.key)] = i }

    var metadata: [String: String]? = nil
    var tensors: [SafetensorsTensorInfo] = []
    tensors.reserveCapacity(members.count)
    let dataOffset = 8 &+ header.count
    let dataSize = bytes.count &- dataOffset
    for (i, m) in members.enumerated() where lastIndex[ExactName(m.key)] == i {
      if m.key == "__metadata__" {
        if m.value == .null { continue }  // serde's Option accepts null
        metadata = try metadataMap(m.value, keyByteOffset: m.keyByteOffset)
        continue
      }
      tensors.append(try tensorInfo(name: m.key, keyByteOffset: m.keyByteOffset, value: m.value,
        dataOffset: dataOffset, dataSize: dataSize, anomalies: &anomalies))
    }
    return try finish(fileSize: bytes.count, header: header, tensors: tensors, metadata: metadata,
      anomalies: anomalies, tensorIndex: nil)
  }

  // MARK: - Rules shared by both paths

  /// The 8-byte length, its cap, and the leading `{` rule.
  /// - Returns: the header bytes (`8 ..< 8 + N`) and the leading-whitespace anomaly, if any.
  static func prelude(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> (
    header: UnsafeRawBufferPointer, anomalies: [Anomaly]
  ) {
    guard bytes.count >= 8 else { throw .tooSmall(size: bytes.count) }
    let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    guard declared <= UInt64(maxHeaderLength) else { throw .headerTooLarge(declared: declared, limit: maxHeaderLength) }
    let n = Int(declared)  // can't trap: <= 100_000_000
    guard n <= bytes.count &- 8 else { throw .headerPastEnd(declared: declared, fileSize: bytes.count) }
    let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 &+ n)])
    guard let first = header.first else { throw .headerNotObject(offset: 8, found: 0) }
    guard first != UInt8(ascii: "{") else { return (header, []) }
    // The spec says the header MUST begin with '{'; serde tolerates leading whitespace, so a reader differential.
    func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    guard isSpace(first), let k = header.firstIndex(where: { !isSpace($0) }), header[k] == UInt8(ascii: "{") else {
      throw .headerNotObject(offset: 8, found: first)
    }
    return (header, [Anomaly(.safetensorsLeadingWhitespace, at: 8,
      "header starts with \(k) whitespace bytes before '{' (the spec requires '{' first; the crate accepts it)")])
  }

  /// The anomaly for one duplicate JSON key (offsets in `d` are relative to the header).
  static func duplicateKeyAnomaly(_ d: JSONDuplicateKey) -> Anomaly {
    let where_ = d.objectPath.isEmpty ? "the header" : "'\(d.objectPath)'"
    return Anomaly(.safetensorsDuplicateKey, at: 8 &+ d.duplicateByteOffset, subject: d.key,
      "key '\(d.key)' appears twice in \(where_) (first at offset \(8 &+ d.firstByteOffset)): Python and Rust keep the last, Foundation's JSONDecoder the first")
  }

  /// `__metadata__` (not null) as a string map; the last of byte-identical duplicate keys wins (each duplicate is
  /// already an anomaly). Two keys that differ in bytes but are canonically equivalent Unicode are refused: Python
  /// and the crate keep both, a `String`-keyed map (ours, a normalising reader's) would keep one.
  static func metadataMap(_ value: JSONValue, keyByteOffset: Int) throws(SafetensorsError) -> [String: String] {
    guard let entries = value.members else {
      throw .invalidEntry(offset: 8 &+ keyByteOffset, name: "__metadata__", detail: "must be an object of strings")
    }
    var map: [String: String] = [:]
    var firstSpelling: [String: (key: String, offset: Int)] = [:]
    for e in entries {
      guard let s = e.value.string else {
        throw .invalidEntry(offset: 8 &+ e.keyByteOffset, name: "__metadata__.\(e.key)", detail: "value must be a string")
      }
      if let first = firstSpelling[e.key] {
        guard first.key.hasSameBytes(as: e.key) else {
          throw .equivalentMetadataKeys(offset: 8 &+ e.keyByteOffset, key: e.key, other: first.key,
            otherOffset: 8 &+ first.offset)
        }
      } else {
        firstSpelling[e.key] = (e.key, e.keyByteOffset)
      }
      map[e.key] = s
    }
    return map
  }

  /// One tensor entry judged from its JSON value: fields, dtype, shape, offsets and byte size.
  /// - Parameter anomalies: receives the entry's unknown fields, then an odd-name anomaly.
  static func tensorInfo(
    name: String, keyByteOffset: Int, value: JSONValue, dataOffset: Int, dataSize: Int, anomalies: inout [Anomaly]
  ) throws(SafetensorsError) -> SafetensorsTensorInfo {
    let at = 8 &+ keyByteOffset
    guard let fields = value.members else {
      throw .invalidEntry(offset: at, name: name, detail: "must be an object with dtype, shape and data_offsets")
    }
    for f in fields where f.key != "dtype" && f.key != "shape" && f.key != "data_offsets" {
      anomalies.append(Anomaly(.safetensorsUnknownField, at: 8 &+ f.keyByteOffset, subject: name,
        "tensor entry has unknown field '\(f.key)' (ignored by the reference readers)"))
    }
    guard let dtypeName = value["dtype"]?.string else {
      throw .invalidEntry(offset: at, name: name, detail: "missing or non-string 'dtype'")
    }
    guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
      throw .unknownDType(offset: at, name: name, dtype: dtypeName)
    }
    guard let shapeValues = value["shape"]?.array else {
      throw .invalidEntry(offset: at, name: name, detail: "missing or non-array 'shape'")
    }
    var shape: [Int] = []
    shape.reserveCapacity(shapeValues.count)
    var elements = 1
    var overflow = false
    for v in shapeValues {
      guard case .number(let num) = v, num.isInteger, !(num.int.map { $0 < 0 } ?? num.text.hasPrefix("-")) else {
        throw .invalidEntry(offset: at, name: name, detail: "shape entries must be non-negative integers")
      }
      guard let d = num.int else { throw .sizeOverflow(offset: at, name: name) }
      shape.append(d)
      let (p, o) = elements.multipliedReportingOverflow(by: d)
      elements = p
      overflow = overflow || o
    }
    guard !overflow else { throw .sizeOverflow(offset: at, name: name) }
    guard let offs = value["data_offsets"]?.array, offs.count == 2 else {
      throw .invalidEntry(offset: at, name: name, detail: "'data_offsets' must be an array of two integers")
    }
    var pair: [Int] = []
    for v in offs {
      guard case .number(let num) = v, num.isInteger, !(num.int.map { $0 < 0 } ?? num.text.hasPrefix("-")) else {
        throw .invalidEntry(offset: at, name: name, detail: "'data_offsets' must be non-negative integers")
      }
      guard let x = num.int, x <= dataSize else {
        throw .invalidOffsets(offset: at, name: name, detail: "[\(offs.map { $0.double ?? 0 })] point past the end of the data (\(dataSize) bytes)")
      }
      pair.append(x)
    }
    guard pair[0] <= pair[1] else {
      throw .invalidOffsets(offset: at, name: name, detail: "[\(pair[0]), \(pair[1])] end before begin")
    }
    let actual = pair[1] &- pair[0]
    let (bits, o) = elements.multipliedReportingOverflow(by: dtype.bitCount)
    guard !o else { throw .sizeOverflow(offset: at, name: name) }
    let expected = bits % 8 == 0 ? bits / 8 : nil
    guard expected == actual else { throw .sizeMismatch(offset: at, name: name, expected: expected, actual: actual) }
    if let odd = oddNameAnomaly(name, at: at) { anomalies.append(odd) }
    // can't overflow: pair[0] <= dataSize and dataOffset + dataSize is the file size
    return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, elementCount: elements,
      dataOffsets: pair[0]..<pair[1], absoluteOffset: dataOffset &+ pair[0], headerByteOffset: at)
  }

  /// The anomaly for a tensor name that is empty or holds control, bidi or invisible characters.
  static func oddNameAnomaly(_ name: String, at: Int) -> Anomaly? {
    guard name.isEmpty
      || !name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && name.unicodeScalars.contains(where: {
        $0.value < 0x20 || $0.properties.isBidiControl || $0.properties.isDefaultIgnorableCodePoint
      })
    else { return nil }
    return Anomaly(.safetensorsOddName, at: at, subject: name,
      "tensor name is empty or contains control, bidi or invisible characters")
  }

  /// Whole-file rules once every entry is known: sorted by offsets the data starts at 0, is contiguous, and ends
  /// exactly at EOF; then the padding anomaly and the name index.
  /// - Parameter tensorIndex: name → position in `tensors`, when the caller already has it; built here otherwise.
  static func finish(
    fileSize: Int, header: UnsafeRawBufferPointer, tensors: [SafetensorsTensorInfo], metadata: [String: String]?,
    anomalies: [Anomaly], tensorIndex: [String: Int]?
  ) throws(SafetensorsError) -> SafetensorsLayout {
    let n = header.count
    let dataOffset = 8 &+ n
    let dataSize = fileSize &- dataOffset
    // The name index first: two names that `String` equality merges are refused before anything else. The caller
    // removed byte-identical duplicates, so a collision here is two byte-different, canonically equivalent names.
    let index: [String: Int]
    if let tensorIndex { index = tensorIndex } else {
      var built: [String: Int] = [:]
      built.reserveCapacity(tensors.count)
      for (i, t) in tensors.enumerated() {
        if let j = built[t.name] {
          throw .equivalentNames(offset: t.headerByteOffset, name: t.name, other: tensors[j].name,
            otherOffset: tensors[j].headerByteOffset)
        }
        built[t.name] = i
      }
      index = built
    }
    // Writers store the data in header order, so try that order first; the sort decides (and names the error)
    // only when it fails. A contiguous chain in header order is also one in sorted order: equal begins occur
    // only after zero-size tensors, which sort first.
    var cursor = 0
    for t in tensors {
      guard t.dataOffsets.lowerBound == cursor else { cursor = -1; break }
      cursor = t.dataOffsets.upperBound
    }
    if cursor < 0 {
      let order = tensors.indices.sorted {
        (tensors[$0].dataOffsets.lowerBound, tensors[$0].dataOffsets.upperBound)
          < (tensors[$1].dataOffsets.lowerBound, tensors[$1].dataOffsets.upperBound)
      }
      cursor = 0
      for i in order {
        let t = tensors[i]
        guard t.dataOffsets.lowerBound == cursor else {
          let what = t.dataOffsets.lowerBound < cursor ? "overlap the previous tensor" : "leave a hole of \(t.dataOffsets.lowerBound - cursor) bytes"
          throw .invalidOffsets(offset: t.headerByteOffset, name: t.name,
            detail: "[\(t.dataOffsets.lowerBound), \(t.dataOffsets.upperBound)] \(what) (expected begin \(cursor))")
        }
        cursor = t.dataOffsets.upperBound
      }
    }
    guard cursor == dataSize else { throw .dataSizeMismatch(offset: dataOffset &+ cursor, covered: cursor, available: dataSize) }
    var anomalies = anomalies
    if n % 8 != 0 {
      anomalies.append(Anomaly(.safetensorsHeaderNotPadded, at: 8,
        "header length \(n) is not a multiple of 8: data is not 8-byte aligned (older writers did this)"))
    }
    var padding = 0
    var k = n
    while k > 0, header[k &- 1] == 0x20 { k &-= 1; padding &+= 1 }
    return SafetensorsLayout(headerByteCount: n, dataOffset: dataOffset, tensors: tensors, metadata: metadata,
      headerPaddingByteCount: padding, fileSize: fileSize, anomalies: anomalies, tensorIndex: index)
  }
}
