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
public struct SafetensorsLayout: Sendable, Equatable {
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
