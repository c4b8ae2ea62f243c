/// Something odd but readable in a NumPy `.npy` header.
public struct NPYAnomaly: Sendable, Equatable, CustomStringConvertible {
  public let byteOffset: Int
  public let detail: String
  public var description: String { "byte \(byteOffset): \(detail)" }
}

/// The header of a NumPy `.npy` array (format versions 1.0, 2.0, 3.0; NEP 1 / `numpy.lib.format`).
///
/// Layout: `\x93NUMPY`, major and minor version bytes, a header length (u16 LE for 1.0, u32 LE for
/// 2.0/3.0), then a Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`
/// (Latin-1, UTF-8 for 3.0) padded with spaces and a newline; the array data follows. The literal is
/// parsed by our own bounded parser (never evaluated).
public struct NPYHeader: Sendable, Equatable {
  public let majorVersion: UInt8
  public let minorVersion: UInt8
  /// Bytes of the dict literal (including padding and newline).
  public let headerByteCount: Int
  /// Absolute offset where the array data starts.
  public let dataOffset: Int
  /// `descr` as written: a type string such as `"<f4"`, or the literal text of a structured dtype.
  public let descr: String
  /// True if `descr` is a structured dtype (a list of fields).
  public let isStructured: Bool
  /// `fortran_order`.
  public let fortranOrder: Bool
  /// `shape` (row-major, outer first, unless `fortranOrder`).
  public let shape: [Int]
  /// Product of `shape` (1 for a scalar), or nil if it overflows Int.
  public let elementCount: Int?
  /// Bytes per element, when the dtype has a fixed size we know.
  public let itemByteCount: Int?
  /// `elementCount * itemByteCount`, when both are known and it does not overflow.
  public let dataByteCount: Int?
  /// The dtype holds Python objects (`O`): the data is a *pickle* (`numpy.load(allow_pickle=True)`).
  public let containsObjects: Bool
  /// Readable oddities: header over NumPy's 10,000-byte default limit, missing newline, misalignment,
  /// data shorter or longer than the shape says.
  public let anomalies: [NPYAnomaly]

  /// NumPy's default `max_header_size`: `np.load` refuses larger headers unless told otherwise.
  public static let numpyDefaultMaxHeaderBytes = 10_000

  /// Parses the header at the start of `bytes`.
  /// - Parameters:
  ///   - bytes: the `.npy` bytes (the whole file, or at least its header).
  ///   - totalByteCount: the size of the whole `.npy` (for the data-size check); defaults to `bytes.count`.
  ///   - maxHeaderBytes: refuse longer dict literals (default 1 MiB).
  /// - Throws: `.npyBadMagic`, `.npyUnsupportedVersion`, `.truncated`, `.lengthTooLarge`, `.npyMalformedHeader`.
  public static func parse(
    _ bytes: UnsafeRawBufferPointer, totalByteCount: UInt64? = nil, maxHeaderBytes: Int = 1 << 20
  ) throws(ContainerError) -> NPYHeader {
    var r = ContainerByteReader(bytes)
    guard bytes.hasBytes([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59], at: 0) else {
      if bytes.count < 6 { throw .truncated(offset: 0, needed: 6, available: bytes.count) }
      throw .npyBadMagic(offset: 0)
    }
    try r.skip(6)
    let major: UInt8 = try r.read()
    let minor: UInt8 = try r.read()
    guard minor == 0, (1...3).contains(major) else { throw .npyUnsupportedVersion(offset: 6, major: major, minor: minor) }
    let length: Int = major == 1 ? Int(try r.read(UInt16.self)) : Int(try r.read(UInt32.self))
    guard length <= maxHeaderBytes else {
      throw .lengthTooLarge(offset: 8, field: "header length", value: UInt64(length), limit: maxHeaderBytes)
    }
    let headerStart = r.offset
    let text = try r.readSlice(length)
    let dataOffset = r.offset
    var anomalies: [NPYAnomaly] = []
    if length > numpyDefaultMaxHeaderBytes {
      anomalies.append(NPYAnomaly(byteOffset: 8, detail: "header of \(length) bytes exceeds NumPy's default max_header_size \(numpyDefaultMaxHeaderBytes): np.load refuses it"))
    }
    if dataOffset % 16 != 0 {
      anomalies.append(NPYAnomaly(byteOffset: 8, detail: "data offset \(dataOffset) is not a multiple of 16 (NumPy pads to 64)"))
    }
    if text.last != 0x0A {
      anomalies.append(NPYAnomaly(byteOffset: dataOffset &- 1, detail: "header does not end with a newline"))
    }
    // 1.0/2.0 headers are Latin-1; 3.0 headers UTF-8.
    let chars: [Unicode.Scalar]
    if major == 3 {
      guard let s = String(validating: text, as: UTF8.self) else {
        throw .npyMalformedHeader(offset: headerStart, detail: "version 3.0 header is not valid UTF-8")
      }
      chars = Array(s.unicodeScalars)
    } else {
      chars = text.map { Unicode.Scalar($0) }
    }
    var parser = PythonLiteralParser(chars: chars, baseOffset: headerStart)
    let literal = try parser.parseTopLevel()
    guard case .dict(let items) = literal else {
      throw .npyMalformedHeader(offset: headerStart, detail: "header is not a dict")
    }
    var descrValue: PythonLiteral?
    var fortran: Bool?
    var shapeValue: [Int]?
    var keys: [String] = []
    for (k, v) in items {
      guard case .string(let key) = k else { throw .npyMalformedHeader(offset: headerStart, detail: "a key is not a string") }
      keys.append(key)
      switch key {
      case "descr": descrValue = v
      case "fortran_order":
        guard case .bool(let b) = v else { throw .npyMalformedHeader(offset: headerStart, detail: "fortran_order is not a bool") }
        fortran = b
      case "shape":
        guard case .tuple(let dims) = v else { throw .npyMalformedHeader(offset: headerStart, detail: "shape is not a tuple") }
        var out: [Int] = []
        for d in dims {
          guard case .int(let n) = d, n >= 0 else {
            throw .npyMalformedHeader(offset: headerStart, detail: "shape holds a value that is not a non-negative int")
          }
          out.append(n)
        }
        shapeValue = out
      default: break
      }
    }
    guard Set(keys) == ["descr", "fortran_order", "shape"], keys.count == 3 else {
      throw .npyMalformedHeader(offset: headerStart, detail: "keys are \(keys.sorted()), not descr, fortran_order, shape")
    }
    guard let descrValue, let fortran, let shape = shapeValue else {
      throw .npyMalformedHeader(offset: headerStart, detail: "missing key")
    }
    let dtype = try NPYDType.interpret(descrValue, offset: headerStart)
    var count: Int? = 1
    for d in shape {
      if let c = count {
        let (p, o) = c.multipliedReportingOverflow(by: d)
        count = o ? nil : p
      }
    }
    var dataBytes: Int?
    if let count, let item = dtype.itemByteCount {
      let (p, o) = count.multipliedReportingOverflow(by: item)
      dataBytes = o ? nil : p
    }
    if !dtype.containsObjects {
      let total = totalByteCount ?? UInt64(bytes.count)
      let available = total >= UInt64(dataOffset) ? total &- UInt64(dataOffset) : 0
      if let dataBytes, UInt64(dataBytes) != available {
        anomalies.append(NPYAnomaly(byteOffset: dataOffset,
                                    detail: "shape and dtype need \(dataBytes) data bytes, \(available) follow the header"))
      } else if dataBytes == nil {
        anomalies.append(NPYAnomaly(byteOffset: headerStart, detail: "data size unknown or overflows"))
      }
    }
    return NPYHeader(
      majorVersion: major, minorVersion: minor, headerByteCount: length, dataOffset: dataOffset, descr: dtype.text,
      isStructured: dtype.isStructured, fortranOrder: fortran, shape: shape, elementCount: count,
      itemByteCount: dtype.itemByteCount, dataByteCount: dataBytes, containsObjects: dtype.containsObjects,
      anomalies: anomalies)
  }

  /// Parses the header of the `.npy` file `file`.
  public static func open(_ file: MappedFile) throws(ContainerError) -> NPYHeader {
    try file.withBytes { (b) throws(ContainerError) in try parse(b) }
  }
}

/// What a `descr` literal means for sizes.
struct NPYDType {
  var text: String
  var isStructured: Bool
  var itemByteCount: Int?
  var containsObjects: Bool

  static func interpret(_ v: PythonLiteral, offset: Int) throws(ContainerError) -> NPYDType {
    switch v {
    case .string(let s):
      return NPYDType(text: s, isStructured: false, itemByteCount: typeStringSize(s), containsObjects: s.contains("O"))
    case .list(let fields):
      var size: Int? = 0
      var objects = false
      for f in fields {
        guard case .tuple(let parts) = f, parts.count >= 2 else {
          throw .npyMalformedHeader(offset: offset, detail: "structured descr field is not a (name, type[, shape]) tuple")
        }
        let inner = try interpret(parts[1], offset: offset)
        objects = objects || inner.containsObjects
        var fieldSize = inner.itemByteCount
        if parts.count >= 3, case .tuple(let dims) = parts[2] {
          for d in dims {
            guard case .int(let n) = d, n >= 0, let fs = fieldSize else { fieldSize = nil; break }
            let (p, o) = fs.multipliedReportingOverflow(by: n)
            fieldSize = o ? nil : p
          }
        }
        if let s = size, let fs = fieldSize {
          let (t, o) = s.addingReportingOverflow(fs)
          size = o ? nil : t
        } else {
          size = nil
        }
      }
      return NPYDType(text: v.literalText, isStructured: true, itemByteCount: size, containsObjects: objects)
    default:
      throw .npyMalformedHeader(offset: offset, detail: "descr is neither a type string nor a list of fields")
    }
  }

  /// Item size of a NumPy type string (`<f4` 4, `<U10` 40, `|O` 8, `<M8[ns]` 8), or nil if unknown.
  static func typeStringSize(_ s: String) -> Int? {
    var scalars = Substring(s)
    if let f = scalars.first, "<>|=".contains(f) { scalars.removeFirst() }
    guard let kind = scalars.first else { return nil }
    scalars.removeFirst()
    if let bracket = scalars.firstIndex(of: "[") { scalars = scalars[..<bracket] }
    guard let n = Int(scalars), n >= 0 else { return kind == "O" ? 8 : nil }
    switch kind {
    case "b", "i", "u", "f", "c", "S", "a", "V", "M", "m", "O", "?": return n
    case "U": return n.multipliedReportingOverflow(by: 4).overflow ? nil : n &* 4
    default: return nil
    }
  }
}

extension NPYHeader {
  /// `parse(_:totalByteCount:maxHeaderBytes:)` over an array (e.g. an extracted `.npz` member).
  public static func parse(_ bytes: [UInt8], totalByteCount: UInt64? = nil, maxHeaderBytes: Int = 1 << 20) throws(ContainerError) -> NPYHeader {
    try bytes.withUnsafeBytes { (p) -> Result<NPYHeader, ContainerError> in
      Result { () throws(ContainerError) in try parse(p, totalByteCount: totalByteCount, maxHeaderBytes: maxHeaderBytes) }
    }.get()
  }
}
