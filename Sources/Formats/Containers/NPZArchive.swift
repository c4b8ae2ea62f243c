/// One array of a NumPy `.npz` archive.
public struct NPZArray: Sendable, Equatable {
  /// The array's name (the member name without `.npy`).
  public let name: String
  /// The ZIP member.
  public let entry: ZipEntry
  /// The parsed `.npy` header, or nil if it could not be read (see `error`).
  public let header: NPYHeader?
  /// Why the header could not be read.
  public let error: ContainerError?
}

/// A NumPy `.npz` archive: a ZIP of `.npy` members (`numpy.savez` / `savez_compressed`).
public struct NPZArchive: Sendable {
  /// The underlying ZIP listing (with its anomalies).
  public let zip: ZipArchive
  /// The `.npy` members, in directory order, with their headers.
  public let arrays: [NPZArray]
  /// Members that are not `.npy` files (NumPy ignores them).
  public let otherMembers: [ZipEntry]

  /// Lists an `.npz` held in `bytes`, reading each member's header from its first bytes only.
  /// - Parameter maxHeaderBytes: the most bytes inflated per member to read its header.
  /// - Throws: the ZIP listing's errors (`ZipArchive.init(bytes:limits:)`); per-member header errors
  ///   are kept in `NPZArray.error`.
  public init(bytes: UnsafeRawBufferPointer, limits: ZipLimits = ZipLimits(), maxHeaderBytes: Int = 1 << 16) throws(ContainerError) {
    let zip = try ZipArchive(bytes: bytes, limits: limits)
    var arrays: [NPZArray] = []
    var others: [ZipEntry] = []
    for e in zip.entries {
      guard e.name.hasSuffix(".npy") else { others.append(e); continue }
      let name = String(e.name.dropLast(4))
      do {
        let prefix = try zip.extractPrefix(e, from: bytes, byteCount: maxHeaderBytes)
        let header = try prefix.withUnsafeBytes { (p) -> Result<NPYHeader, ContainerError> in
          Result { () throws(ContainerError) in
            try NPYHeader.parse(p, totalByteCount: e.uncompressedSize, maxHeaderBytes: maxHeaderBytes)
          }
        }.get()
        arrays.append(NPZArray(name: name, entry: e, header: header, error: nil))
      } catch {
        arrays.append(NPZArray(name: name, entry: e, header: nil, error: error))
      }
    }
    self.zip = zip
    self.arrays = arrays
    self.otherMembers = others
  }

  /// Lists the `.npz` file `file`.
  public static func open(_ file: MappedFile, limits: ZipLimits = ZipLimits()) throws(ContainerError) -> NPZArchive {
    try file.withBytes { (b) throws(ContainerError) in try NPZArchive(bytes: b, limits: limits) }
  }
}
