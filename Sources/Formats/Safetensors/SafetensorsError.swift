/// Why a safetensors file was rejected. Offsets are absolute byte positions in the file.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file is shorter than the 8-byte header length (the crate's HeaderTooSmall).
  case tooSmall(size: Int)
  /// The header length exceeds the crate's 100,000,000-byte cap.
  case headerTooLarge(declared: UInt64, limit: Int)
  /// The header runs past the end of the file (InvalidHeaderLength).
  case headerPastEnd(declared: UInt64, fileSize: Int)
  /// The header does not begin with `{`.
  case headerNotObject(offset: Int, found: UInt8)
  /// The header is not valid JSON (or not valid UTF-8).
  case invalidJSON(offset: Int, detail: String)
  /// The header's structure is wrong: a tensor entry or `__metadata__` has the wrong shape.
  case invalidEntry(offset: Int, name: String, detail: String)
  /// A dtype string that is not a known safetensors dtype.
  case unknownDType(offset: Int, name: String, dtype: String)
  /// Shape product or byte size overflows.
  case sizeOverflow(offset: Int, name: String)
  /// Data length differs from shape × dtype size (TensorInvalidInfo), or sub-byte types that do not fill bytes.
  case sizeMismatch(offset: Int, name: String, expected: Int?, actual: Int)
  /// Data offsets are not contiguous from 0 (overlap or hole) or end < begin (InvalidOffset).
  case invalidOffsets(offset: Int, name: String, detail: String)
  /// The data does not end exactly at the end of the file (MetadataIncompleteBuffer).
  case dataSizeMismatch(offset: Int, covered: Int, available: Int)
  /// Two tensor names with different bytes that Unicode calls canonically equivalent ("K" and the Kelvin sign,
  /// composed and decomposed accents): Python and the crate see two tensors, a normalising reader one.
  case equivalentNames(offset: Int, name: String, other: String, otherOffset: Int)
  /// Two `__metadata__` keys with different bytes that Unicode calls canonically equivalent: Python and the crate
  /// keep two entries, a normalising reader one (and which value it keeps is up to it).
  case equivalentMetadataKeys(offset: Int, key: String, other: String, otherOffset: Int)

  /// Absolute byte offset of the problem.
  public var offset: Int {
    switch self {
    case .tooSmall, .headerTooLarge, .headerPastEnd: 0
    case .headerNotObject(let o, _), .invalidJSON(let o, _), .invalidEntry(let o, _, _), .unknownDType(let o, _, _),
      .sizeOverflow(let o, _), .sizeMismatch(let o, _, _, _), .invalidOffsets(let o, _, _), .dataSizeMismatch(let o, _, _),
      .equivalentNames(let o, _, _, _), .equivalentMetadataKeys(let o, _, _, _):
      o
    }
  }

  public var rule: String {
    switch self {
    case .tooSmall: "too-small"
    case .headerTooLarge: "header-too-large"
    case .headerPastEnd: "header-past-end"
    case .headerNotObject: "header-not-object"
    case .invalidJSON: "invalid-json"
    case .invalidEntry: "invalid-entry"
    case .unknownDType: "unknown-dtype"
    case .sizeOverflow: "size-overflow"
    case .sizeMismatch: "size-mismatch"
    case .invalidOffsets: "invalid-offsets"
    case .dataSizeMismatch: "data-size-mismatch"
    case .equivalentNames: "equivalent-names"
    case .equivalentMetadataKeys: "equivalent-metadata-keys"
    }
  }

  public var description: String {
    switch self {
    case .tooSmall(let s): "file is \(s) bytes, too small for the 8-byte header length"
    case .headerTooLarge(let d, let l): "header length \(d) exceeds the limit of \(l) bytes"
    case .headerPastEnd(let d, let f): "header length \(d) runs past the end of the file (\(f) bytes)"
    case .headerNotObject(_, let c): "header does not start with '{' (found 0x\(String(c, radix: 16)))"
    case .invalidJSON(_, let d): "header is not valid JSON: \(d)"
    case .invalidEntry(_, let n, let d): "header entry '\(n)': \(d)"
    case .unknownDType(_, let n, let d): "tensor '\(n)' has unknown dtype '\(d)'"
    case .sizeOverflow(_, let n): "tensor '\(n)' size overflows"
    case .sizeMismatch(_, let n, let e, let a):
      "tensor '\(n)' has \(a) data bytes but its shape and dtype need \(e.map(String.init) ?? "a non-whole number of bytes")"
    case .invalidOffsets(_, let n, let d): "tensor '\(n)' data_offsets \(d)"
    case .dataSizeMismatch(_, let c, let a): "tensors cover \(c) data bytes but the file holds \(a)"
    case .equivalentNames(_, let n, let o, let oo):
      "tensor name '\(n.nonASCIIEscaped)' differs in bytes from tensor '\(o.nonASCIIEscaped)' (offset \(oo)) but is the same Unicode text: readers would disagree on which tensor a name means"
    case .equivalentMetadataKeys(_, let k, let o, let oo):
      "__metadata__ key '\(k.nonASCIIEscaped)' differs in bytes from key '\(o.nonASCIIEscaped)' (offset \(oo)) but is the same Unicode text: readers would disagree on the metadata"
    }
  }
}
