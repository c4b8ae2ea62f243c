import Crypto

extension MappedFile {
  /// SHA-256 of the whole file as lowercase hex, hashed straight from the mapping.
  /// - Complexity: O(file size); reads every page once.
  public func sha256Hex() -> String {
    adviseSequential()
    var hasher = SHA256()
    withBytes { hasher.update(bufferPointer: $0) }
    let digest = hasher.finalize()
    return digest.map { byte in
      let s = String(byte, radix: 16)
      return byte < 16 ? "0" + s : s
    }.joined()
  }
}
