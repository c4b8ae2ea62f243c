/// One metadata key/value pair of a GGUF file, with where it sits in the file.
public struct GGUFMetadataEntry: Sendable, Equatable {
  public let key: String
  public let value: GGUFValue
  /// Absolute offset of the key's length field.
  public let byteOffset: Int
  /// Absolute offset of the value (after the type field).
  public let valueByteOffset: Int
}

/// A tensor-info record of a GGUF file, validated against the file.
public struct GGUFTensorInfo: Sendable, Equatable {
  public let name: String
  public let type: GGMLType
  /// Dimensions in GGUF order: `dimensions[0]` is ne[0], the row length (fastest varying); reverse of PyTorch.
  public let dimensions: [Int]
  /// Product of the dimensions.
  public let elementCount: Int
  /// Bytes of tensor data (whole blocks).
  public let byteCount: Int
  /// Offset of the data relative to the start of the data section, as stored.
  public let relativeOffset: Int
  /// Absolute offset of the data in the file.
  public let absoluteOffset: Int
  /// Absolute offset of this tensor-info record (its name length field).
  public let infoByteOffset: Int

  /// Row length (ne[0]) and row count (product of the other dimensions), for 2-D views.
  public var rowLength: Int { dimensions.first ?? 1 }
  public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
}

/// Byte order of a GGUF file.
public enum GGUFByteOrder: String, Sendable { case little = "LITTLE", big = "BIG" }

/// The parsed, validated structure of a GGUF file (everything but the mapping itself).
public struct GGUFLayout: Sendable {
  public let version: UInt32
  public let byteOrder: GGUFByteOrder
  public let metadata: [GGUFMetadataEntry]
  public let tensors: [GGUFTensorInfo]
  /// Data alignment (`general.alignment`, default 32).
  public let alignment: Int
  /// Absolute offset where the tensor data section starts (may equal or exceed the file size when there are no tensors).
  public let dataOffset: Int
  /// Absolute offset just past the last tensor-info record.
  public let headerEndOffset: Int
  /// Sum of the tensors' byte counts.
  public let tensorDataByteCount: Int
  public let fileSize: Int
  public let anomalies: [Anomaly]
  let keyIndex: [String: Int]
  let tensorIndex: [String: Int]
}

/// A memory-mapped, fully validated GGUF file.
///
/// Opening validates the header, every metadata value and every tensor-info record against the file
/// (see ``GGUFParser``); tensor data is not read, only bounds-checked. Use ``file`` to reach tensor bytes.
public struct GGUFFile: Sendable {
  /// The mapping the layout describes.
  public let file: MappedFile
  /// Everything parsed from the file.
  public let layout: GGUFLayout

  /// Maps and validates the file at `path`.
  /// - Throws: ``FormatError`` naming the file, the byte offset and the rule broken.
  /// - Complexity: O(header size); the tensor data is not touched.
  public static func open(path: String) throws(FormatError) -> GGUFFile {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw FormatError(path: path, kind: .file(error)) }
    return try open(file)
  }

  /// Validates an already mapped file.
  public static func open(_ file: MappedFile) throws(FormatError) -> GGUFFile {
    do {
      let layout = try file.withBytes { (b) throws(GGUFError) in try GGUFParser.parse(b) }
      return GGUFFile(file: file, layout: layout)
    } catch {
      throw FormatError(path: file.path, kind: .gguf(error))
    }
  }

  public var version: UInt32 { layout.version }
  public var byteOrder: GGUFByteOrder { layout.byteOrder }
  public var metadata: [GGUFMetadataEntry] { layout.metadata }
  public var tensors: [GGUFTensorInfo] { layout.tensors }
  public var alignment: Int { layout.alignment }
  public var dataOffset: Int { layout.dataOffset }
  public var anomalies: [Anomaly] { layout.anomalies }

  /// The value of metadata key `key`.
  public subscript(key: String) -> GGUFValue? { layout[key] }
  /// The metadata entry for `key`.
  public func entry(_ key: String) -> GGUFMetadataEntry? { layout.entry(key) }
  /// The tensor named `name`.
  public func tensor(named name: String) -> GGUFTensorInfo? { layout.tensor(named: name) }

  /// Lends the bytes of `tensor`'s data to `body`.
  public func withTensorBytes<R, E: Error>(
    _ tensor: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    // can't fail: the parser checked absoluteOffset + byteCount <= file size
    try file.withBytes { (all) throws(E) -> R in
      try body(UnsafeRawBufferPointer(rebasing: all[tensor.absoluteOffset..<(tensor.absoluteOffset + tensor.byteCount)]))
    }
  }
}

extension GGUFLayout {
  /// The value of metadata key `key` (matched byte for byte, as ggml does: the index is keyed by `String`, whose
  /// equality is canonical equivalence, so a hit is checked).
  public subscript(key: String) -> GGUFValue? { entry(key)?.value }
  /// The metadata entry for `key`.
  public func entry(_ key: String) -> GGUFMetadataEntry? {
    guard let i = keyIndex[key], metadata[i].key.hasSameBytes(as: key) else { return nil }
    return metadata[i]
  }
  /// The tensor named `name` (byte for byte).
  public func tensor(named name: String) -> GGUFTensorInfo? {
    guard let i = tensorIndex[name], tensors[i].name.hasSameBytes(as: name) else { return nil }
    return tensors[i]
  }
  /// Total parameter count (sum of element counts).
  public var parameterCount: Int { tensors.reduce(0) { $0 &+ $1.elementCount } }
}
