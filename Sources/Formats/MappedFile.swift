#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file: the only owner of mapped model bytes.
///
/// Opening maps the file (`mmap(PROT_READ, MAP_PRIVATE)`) without reading it, so a many-GB file opens in
/// microseconds. Bytes are lent out only inside `withBytes`; views into the file are stored as
/// `(byteOffset, byteCount)` pairs, never as pointers.
public final class MappedFile: @unchecked Sendable {
  // @unchecked: the mapping is read-only and immutable for the object's lifetime.
  /// The path the file was opened from, as given.
  public let path: String
  /// Size of the file in bytes.
  public let count: Int
  private let base: UnsafeRawPointer?

  /// Maps the file at `path`.
  /// - Throws: `FileError.open` / `.stat` / `.map` with the system error, `.notRegularFile` for directories and devices.
  public init(path: String) throws(FileError) {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .open(path: path, errno: errno) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .stat(path: path, errno: errno) }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile(path: path) }
    guard let size = Int(exactly: info.st_size), size >= 0 else { throw .notRegularFile(path: path) }
    count = size
    if size == 0 {
      base = nil
      return
    }
    let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let p, p != MAP_FAILED else { throw .map(path: path, errno: errno) }
    base = UnsafeRawPointer(p)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
  }

  /// Lends the whole mapping to `body`. The buffer must not escape the closure.
  @inlinable
  public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try body(_buffer)
  }

  /// Lends `count` bytes starting at `byteOffset`, or throws `.outOfBounds` if the range leaves the file.
  public func withBytes<R, E: Error>(
    byteOffset: Int, count byteCount: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R? {
    guard byteOffset >= 0, byteCount >= 0, byteOffset <= count, byteCount <= count - byteOffset else { return nil }
    return try body(UnsafeRawBufferPointer(rebasing: _buffer[byteOffset..<(byteOffset + byteCount)]))
  }

  @usableFromInline
  var _buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count) }

  /// Advises the kernel that the file will be read sequentially (before a full pass).
  public func adviseSequential() {
    if let base { _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_SEQUENTIAL) }
  }
}

/// Why a file could not be opened or mapped.
public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
  case open(path: String, errno: Int32)
  case stat(path: String, errno: Int32)
  case map(path: String, errno: Int32)
  case notRegularFile(path: String)

  public var description: String {
    switch self {
    case .open(let p, let e): "\(p): cannot open: \(String(cString: strerror(e)))"
    case .stat(let p, let e): "\(p): cannot stat: \(String(cString: strerror(e)))"
    case .map(let p, let e): "\(p): cannot map: \(String(cString: strerror(e)))"
    case .notRegularFile(let p): "\(p): not a regular file"
    }
  }
}
