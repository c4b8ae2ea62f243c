/// One tensor entry of a safetensors header, validated against the file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
  public let name: String
  public let dtype: SafetensorsDType
  /// Shape in PyTorch order (outermost first, row-major).
  public let shape: [Int]
  public let elementCount: Int
  /// `data_offsets` as stored: relative to the start of the byte buffer, end exclusive.
  public let dataOffsets: Range<Int>
  /// Absolute offset of the data in the file.
  public let absoluteOffset: Int
  /// Absolute offset of the entry's key inside the header.
  public let headerByteOffset: Int
  public var byteCount: Int { dataOffsets.count }
}

/// The parsed, validated structure of a safetensors file.
public struct SafetensorsLayout: Sendable {
  /// Declared header length N (bytes of JSON after the 8-byte length).
  public let headerByteCount: Int
  /// Absolute start of the byte buffer (8 + N).
  public let dataOffset: Int
  /// Tensors in header order.
  public let tensors: [SafetensorsTensorInfo]
  /// `__metadata__`, when present.
  public let metadata: [String: String]?
  /// Trailing space bytes padding the header (the writer pads to a multiple of 8).
  public let headerPaddingByteCount: Int
  public let fileSize: Int
  public let anomalies: [Anomaly]
  let tensorIndex: [String: Int]

  /// The tensor named `name`.
  public func tensor(named name: String) -> SafetensorsTensorInfo? { tensorIndex[name].map { tensors[$0] } }
  /// Sum of element counts.
  public var parameterCount: Int { tensors.reduce(0) { $0 &+ $1.elementCount } }
}

/// A memory-mapped, fully validated safetensors file.
public struct SafetensorsFile: Sendable {
  public let file: MappedFile
  public let layout: SafetensorsLayout

  /// Maps and validates the file at `path`.
  /// - Throws: ``FormatError`` naming the file, the byte offset and the rule broken.
  public static func open(path: String) throws(FormatError) -> SafetensorsFile {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw FormatError(path: path, kind: .file(error)) }
    return try open(file)
  }

  /// Validates an already mapped file.
  public static func open(_ file: MappedFile) throws(FormatError) -> SafetensorsFile {
    do {
      let layout = try file.withBytes { (b) throws(SafetensorsError) in try SafetensorsParser.parse(b) }
      return SafetensorsFile(file: file, layout: layout)
    } catch {
      throw FormatError(path: file.path, kind: .safetensors(error))
    }
  }

  public var tensors: [SafetensorsTensorInfo] { layout.tensors }
  public var metadata: [String: String]? { layout.metadata }
  public var anomalies: [Anomaly] { layout.anomalies }
  public var headerByteCount: Int { layout.headerByteCount }
  public var dataOffset: Int { layout.dataOffset }
  public func tensor(named name: String) -> SafetensorsTensorInfo? { layout.tensor(named: name) }

  /// Lends the bytes of `tensor`'s data to `body`.
  public func withTensorBytes<R, E: Error>(
    _ tensor: SafetensorsTensorInfo, _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    // can't fail: the parser checked that the data section covers the file exactly
    try file.withBytes { (all) throws(E) -> R in
      try body(UnsafeRawBufferPointer(rebasing: all[tensor.absoluteOffset..<(tensor.absoluteOffset + tensor.byteCount)]))
    }
  }
}

/// Parses and validates safetensors as the reference crate does (`SafeTensors::read_metadata`,
/// `Metadata::validate`), plus what it forgets: duplicate keys, the leading `{`, unknown fields.
public enum SafetensorsParser {
  /// The crate's MAX_HEADER_SIZE.
  public static let maxHeaderLength = 100_000_000

  /// Parses `bytes` as a complete safetensors file.
  /// - Throws: ``SafetensorsError`` with an absolute offset.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> SafetensorsLayout {
    guard bytes.count >= 8 else { throw .tooSmall(size: bytes.count) }
    let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    guard declared <= UInt64(maxHeaderLength) else { throw .headerTooLarge(declared: declared, limit: maxHeaderLength) }
    let n = Int(declared)  // can't trap: <= 100_000_000
    guard n <= bytes.count &- 8 else { throw .headerPastEnd(declared: declared, fileSize: bytes.count) }
    let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 &+ n)])
    var anomalies: [Anomaly] = []
    guard let first = header.first else { throw .headerNotObject(offset: 8, found: 0) }
    if first != UInt8(ascii: "{") {
      // The spec says the header MUST begin with '{'; serde tolerates leading whitespace, so a reader differential.
      let ws: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
      guard ws.contains(first), let k = header.firstIndex(where: { !ws.contains($0) }), header[k] == UInt8(ascii: "{") else {
        throw .headerNotObject(offset: 8, found: first)
      }
      anomalies.append(Anomaly(.safetensorsLeadingWhitespace, at: 8,
        "header starts with \(k) whitespace bytes before '{' (the spec requires '{' first; the crate accepts it)"))
    }
    let doc: JSONParser.Document
    do { doc = try JSONParser.parse(header) } catch {
      throw .invalidJSON(offset: 8 &+ error.offset, detail: error.description)
    }
    var padding = 0
    var k = n
    while k > 0, header[k &- 1] == 0x20 { k &-= 1; padding &+= 1 }
    for d in doc.duplicateKeys {
      let where_ = d.objectPath.isEmpty ? "the header" : "'\(d.objectPath)'"
      anomalies.append(Anomaly(.safetensorsDuplicateKey, at: 8 &+ d.duplicateByteOffset, subject: d.key,
        "key '\(d.key)' appears twice in \(where_) (first at offset \(8 &+ d.firstByteOffset)): Python and Rust keep the last, Foundation's JSONDecoder the first"))
    }
    guard let members = doc.value.members else { throw .headerNotObject(offset: 8, found: first) }

    // Last occurrence wins, as in the reference readers.
    var lastIndex: [String: Int] = [:]
    for (i, m) in members.enumerated() { lastIndex[m.key] = i }

    var metadata: [String: String]? = nil
    var tensors: [SafetensorsTensorInfo] = []
    tensors.reserveCapacity(members.count)
    let dataOffset = 8 &+ n
    let dataSize = bytes.count &- dataOffset
    for (i, m) in members.enumerated() where lastIndex[m.key] == i {
      let at = 8 &+ m.keyByteOffset
      if m.key == "__metadata__" {
        if m.value == .null { continue }  // serde's Option accepts null
        guard let entries = m.value.members else {
          throw .invalidEntry(offset: at, name: m.key, detail: "must be an object of strings")
        }
        var map: [String: String] = [:]
        for e in entries {
          guard let s = e.value.string else {
            throw .invalidEntry(offset: 8 &+ e.keyByteOffset, name: "__metadata__.\(e.key)", detail: "value must be a string")
          }
          map[e.key] = s
        }
        metadata = map
        continue
      }
      guard let fields = m.value.members else {
        throw .invalidEntry(offset: at, name: m.key, detail: "must be an object with dtype, shape and data_offsets")
      }
      for f in fields where !["dtype", "shape", "data_offsets"].contains(f.key) {
        anomalies.append(Anomaly(.safetensorsUnknownField, at: 8 &+ f.keyByteOffset, subject: m.key,
          "tensor entry has unknown field '\(f.key)' (ignored by the reference readers)"))
      }
      guard let dtypeName = m.value["dtype"]?.string else {
        throw .invalidEntry(offset: at, name: m.key, detail: "missing or non-string 'dtype'")
      }
      guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
        throw .unknownDType(offset: at, name: m.key, dtype: dtypeName)
      }
      guard let shapeValues = m.value["shape"]?.array else {
        throw .invalidEntry(offset: at, name: m.key, detail: "missing or non-array 'shape'")
      }
      var shape: [Int] = []
      shape.reserveCapacity(shapeValues.count)
      var elements = 1
      var overflow = false
      for v in shapeValues {
        guard case .number(let num) = v, num.isInteger, !num.text.hasPrefix("-") else {
          throw .invalidEntry(offset: at, name: m.key, detail: "shape entries must be non-negative integers")
        }
        guard let d = num.int else { throw .sizeOverflow(offset: at, name: m.key) }
        shape.append(d)
        let (p, o) = elements.multipliedReportingOverflow(by: d)
        elements = p
        overflow = overflow || o
      }
      guard !overflow else { throw .sizeOverflow(offset: at, name: m.key) }
      guard let offs = m.value["data_offsets"]?.array, offs.count == 2 else {
        throw .invalidEntry(offset: at, name: m.key, detail: "'data_offsets' must be an array of two integers")
      }
      var pair: [Int] = []
      for v in offs {
        guard case .number(let num) = v, num.isInteger, !num.text.hasPrefix("-") else {
          throw .invalidEntry(offset: at, name: m.key, detail: "'data_offsets' must be non-negative integers")
        }
        guard let x = num.int, x <= dataSize else {
          throw .invalidOffsets(offset: at, name: m.key, detail: "[\(offs.map { $0.double ?? 0 })] point past the end of the data (\(dataSize) bytes)")
        }
        pair.append(x)
      }
      guard pair[0] <= pair[1] else {
        throw .invalidOffsets(offset: at, name: m.key, detail: "[\(pair[0]), \(pair[1])] end before begin")
      }
      let actual = pair[1] &- pair[0]
      let (bits, o) = elements.multipliedReportingOverflow(by: dtype.bitCount)
      guard !o else { throw .sizeOverflow(offset: at, name: m.key) }
      let expected = bits % 8 == 0 ? bits / 8 : nil
      guard expected == actual else { throw .sizeMismatch(offset: at, name: m.key, expected: expected, actual: actual) }
      if m.key.isEmpty || m.key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.properties.isBidiControl || $0.properties.isDefaultIgnorableCodePoint }) {
        anomalies.append(Anomaly(.safetensorsOddName, at: at, subject: m.key,
          "tensor name is empty or contains control, bidi or invisible characters"))
      }
      tensors.append(SafetensorsTensorInfo(name: m.key, dtype: dtype, shape: shape, elementCount: elements,
        dataOffsets: pair[0]..<pair[1], absoluteOffset: dataOffset &+ pair[0], headerByteOffset: at))
    }

    // Sorted by offsets the data must start at 0, be contiguous, and end exactly at EOF.
    let order = tensors.indices.sorted {
      (tensors[$0].dataOffsets.lowerBound, tensors[$0].dataOffsets.upperBound)
        < (tensors[$1].dataOffsets.lowerBound, tensors[$1].dataOffsets.upperBound)
    }
    var cursor = 0
    for i in order {
      let t = tensors[i]
      guard t.dataOffsets.lowerBound == cursor else {
        let what = t.dataOffsets.lowerBound < cursor ? "overlap the previous tensor" : "leave a hole of \(t.dataOffsets.lowerBound - cursor) bytes"
        throw .invalidOffsets(offset: t.headerByteOffset, name: t.name,
          detail: "[\(t.dataOffsets.lowerBound), \(t.dataOffsets.upperBound)] \(what) (expected begin \(cursor))")
      }
      cursor = t.dataOffsets.upperBound
    }
    guard cursor == dataSize else { throw .dataSizeMismatch(offset: dataOffset &+ cursor, covered: cursor, available: dataSize) }
    if n % 8 != 0 || (n > 0 && padding == 0 && n % 8 != 0) {
      anomalies.append(Anomaly(.safetensorsHeaderNotPadded, at: 8,
        "header length \(n) is not a multiple of 8: data is not 8-byte aligned (older writers did this)"))
    }
    var index: [String: Int] = [:]
    for (i, t) in tensors.enumerated() { index[t.name] = i }
    return SafetensorsLayout(headerByteCount: n, dataOffset: dataOffset, tensors: tensors, metadata: metadata,
      headerPaddingByteCount: padding, fileSize: bytes.count, anomalies: anomalies, tensorIndex: index)
  }
}
