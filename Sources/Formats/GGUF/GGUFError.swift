/// Why a GGUF file was rejected. Offsets are absolute byte positions in the file.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file ended `needed` bytes into a read that started at `offset`.
  case truncated(offset: Int, needed: Int, available: Int)
  /// The first four bytes are not `GGUF`.
  case badMagic(found: UInt32)
  /// The version field is not 1, 2 or 3 (in either byte order).
  case unsupportedVersion(offset: Int, version: UInt32)
  /// A length or count field exceeds its cap or the bytes left in the file.
  case lengthTooLarge(offset: Int, field: String, value: UInt64, limit: Int)
  /// A key, string value or tensor name is not valid UTF-8.
  case invalidUTF8(offset: Int, field: String)
  /// A metadata key is empty.
  case emptyKey(offset: Int)
  /// A metadata key appears twice (ggml and gguf-py both refuse this).
  case duplicateKey(offset: Int, key: String, firstOffset: Int)
  /// Two metadata keys with different bytes that Unicode calls canonically equivalent (ggml compares bytes and
  /// sees two keys, a normalising reader sees one: readers would disagree on which value a key has).
  case equivalentKeys(offset: Int, key: String, firstKey: String, firstOffset: Int)
  /// A metadata value type id outside 0...12.
  case unknownValueType(offset: Int, key: String, type: UInt32)
  /// Arrays nested deeper than the cap.
  case arrayNestingTooDeep(offset: Int, key: String, limit: Int)
  /// `general.alignment` is not a UINT32, or is not a non-zero power of two.
  case invalidAlignment(offset: Int, detail: String)
  /// A tensor has more dimensions than the cap.
  case tooManyDimensions(offset: Int, tensor: String, count: UInt32, limit: Int)
  /// A dimension is negative when read as int64 (ggml's rule).
  case invalidDimension(offset: Int, tensor: String, index: Int, value: UInt64)
  /// The product of dimensions or the byte size overflows Int64.
  case sizeOverflow(offset: Int, tensor: String)
  /// A tensor type id outside the known range.
  case unknownTensorType(offset: Int, tensor: String, type: UInt32)
  /// A tensor type id that ggml removed (Q4_2, Q4_0_4_4, ...).
  case removedTensorType(offset: Int, tensor: String, type: UInt32, name: String)
  /// The row length (ne[0]) is not a multiple of the type's block size.
  case partialBlock(offset: Int, tensor: String, rowLength: Int, blockSize: Int)
  /// A tensor name appears twice.
  case duplicateTensorName(offset: Int, tensor: String, firstOffset: Int)
  /// Two tensor names with different bytes that Unicode calls canonically equivalent (see `equivalentKeys`).
  case equivalentTensorNames(offset: Int, tensor: String, firstTensor: String, firstOffset: Int)
  /// A tensor's data offset is not a multiple of the alignment.
  case misalignedTensor(offset: Int, tensor: String, dataOffset: UInt64, alignment: Int)
  /// A tensor's data lies (partly) beyond the end of the file.
  case tensorOutOfBounds(offset: Int, tensor: String, start: UInt64, end: UInt64, fileSize: Int)
  /// Two tensors' data ranges overlap.
  case overlappingTensors(offset: Int, tensor: String, other: String)

  /// The absolute byte offset the error points at.
  public var offset: Int {
    switch self {
    case .truncated(let o, _, _), .unsupportedVersion(let o, _), .lengthTooLarge(let o, _, _, _),
      .invalidUTF8(let o, _), .emptyKey(let o), .duplicateKey(let o, _, _), .unknownValueType(let o, _, _),
      .equivalentKeys(let o, _, _, _), .equivalentTensorNames(let o, _, _, _),
      .arrayNestingTooDeep(let o, _, _), .invalidAlignment(let o, _), .tooManyDimensions(let o, _, _, _),
      .invalidDimension(let o, _, _, _), .sizeOverflow(let o, _), .unknownTensorType(let o, _, _),
      .removedTensorType(let o, _, _, _), .partialBlock(let o, _, _, _), .duplicateTensorName(let o, _, _),
      .misalignedTensor(let o, _, _, _), .tensorOutOfBounds(let o, _, _, _, _), .overlappingTensors(let o, _, _):
      o
    case .badMagic: 0
    }
  }

  /// A short stable identifier of the rule broken (used for rule ids and tests).
  public var rule: String {
    switch self {
    case .truncated: "truncated"
    case .badMagic: "bad-magic"
    case .unsupportedVersion: "unsupported-version"
    case .lengthTooLarge: "length-too-large"
    case .invalidUTF8: "invalid-utf8"
    case .emptyKey: "empty-key"
    case .duplicateKey: "duplicate-key"
    case .equivalentKeys: "equivalent-keys"
    case .equivalentTensorNames: "equivalent-tensor-names"
    case .unknownValueType: "unknown-value-type"
    case .arrayNestingTooDeep: "array-nesting-too-deep"
    case .invalidAlignment: "invalid-alignment"
    case .tooManyDimensions: "too-many-dimensions"
    case .invalidDimension: "invalid-dimension"
    case .sizeOverflow: "size-overflow"
    case .unknownTensorType: "unknown-tensor-type"
    case .removedTensorType: "removed-tensor-type"
    case .partialBlock: "partial-block"
    case .duplicateTensorName: "duplicate-tensor-name"
    case .misalignedTensor: "misaligned-tensor"
    case .tensorOutOfBounds: "tensor-out-of-bounds"
    case .overlappingTensors: "overlapping-tensors"
    }
  }

  public var description: String {
    switch self {
    case .truncated(let o, let n, let a):
      "file truncated: read of \(n) bytes at offset \(o) but only \(a) remain"
    case .badMagic(let m):
      "not a GGUF file: magic is 0x\(String(m, radix: 16, uppercase: true)) (expected 'GGUF')"
    case .unsupportedVersion(_, let v): "unsupported GGUF version \(v) (0x\(String(v, radix: 16)))"
    case .lengthTooLarge(_, let f, let v, let l): "\(f) is \(v), more than the limit of \(l)"
    case .invalidUTF8(_, let f): "\(f) is not valid UTF-8"
    case .emptyKey: "metadata key is empty"
    case .duplicateKey(_, let k, let f): "duplicate metadata key '\(k)' (first at offset \(f))"
    case .equivalentKeys(_, let k, let f, let o):
      "metadata key '\(k.nonASCIIEscaped)' differs in bytes from key '\(f.nonASCIIEscaped)' (offset \(o)) but is the same Unicode text: ggml reads two keys, a normalising reader one"
    case .equivalentTensorNames(_, let t, let f, let o):
      "tensor name '\(t.nonASCIIEscaped)' differs in bytes from tensor '\(f.nonASCIIEscaped)' (offset \(o)) but is the same Unicode text: readers would disagree on which tensor a name means"
    case .unknownValueType(_, let k, let t): "metadata key '\(k)' has unknown value type \(t)"
    case .arrayNestingTooDeep(_, let k, let l): "metadata key '\(k)' nests arrays deeper than \(l)"
    case .invalidAlignment(_, let d): "general.alignment \(d)"
    case .tooManyDimensions(_, let t, let c, let l): "tensor '\(t)' has \(c) dimensions (limit \(l))"
    case .invalidDimension(_, let t, let i, let v): "tensor '\(t)' dimension \(i) is \(v) (negative as int64)"
    case .sizeOverflow(_, let t): "tensor '\(t)' element count or byte size overflows 64 bits"
    case .unknownTensorType(_, let t, let ty): "tensor '\(t)' has unknown ggml type id \(ty)"
    case .removedTensorType(_, let t, let ty, let n): "tensor '\(t)' uses removed ggml type \(n) (id \(ty))"
    case .partialBlock(_, let t, let r, let b):
      "tensor '\(t)' row length \(r) is not a multiple of its block size \(b)"
    case .duplicateTensorName(_, let t, let f): "duplicate tensor name '\(t)' (first at offset \(f))"
    case .misalignedTensor(_, let t, let d, let a): "tensor '\(t)' data offset \(d) is not a multiple of alignment \(a)"
    case .tensorOutOfBounds(_, let t, let s, let e, let f):
      "tensor '\(t)' data [\(s), \(e)) lies beyond the end of the file (\(f) bytes)"
    case .overlappingTensors(_, let t, let o): "tensor '\(t)' data overlaps tensor '\(o)'"
    }
  }
}
