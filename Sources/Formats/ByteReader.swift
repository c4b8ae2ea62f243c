/// A bounds-checked cursor over file bytes. Every read checks `remaining` before loading;
/// errors carry absolute file offsets.
struct ByteReader {
  let bytes: UnsafeRawBufferPointer
  private(set) var offset: Int
  /// Whether multi-byte values are stored big-endian (a byte-swapped GGUF).
  var bigEndian = false

  init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
    self.bytes = bytes
    self.offset = offset
  }

  var remaining: Int { bytes.count &- offset }  // can't overflow: 0 <= offset <= count

  /// Reads a fixed-width integer, little-endian (or big-endian when `bigEndian`).
  @inline(__always)
  mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(GGUFError) -> T {
    let size = MemoryLayout<T>.size
    guard size <= remaining else { throw .truncated(offset: offset, needed: size, available: remaining) }
    defer { offset &+= size }  // can't overflow: size <= remaining
    let raw = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
  }

  /// Advances by `count` bytes after checking they exist.
  mutating func skip(_ count: Int) throws(GGUFError) {
    guard count >= 0, count <= remaining else { throw .truncated(offset: offset, needed: count, available: remaining) }
    offset &+= count
  }

  /// The next `count` bytes as a slice, after checking they exist.
  mutating func slice(_ count: Int) throws(GGUFError) -> UnsafeRawBufferPointer {
    guard count >= 0, count <= remaining else { throw .truncated(offset: offset, needed: count, available: remaining) }
    defer { offset &+= count }
    return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ count)])
  }

  mutating func seek(to newOffset: Int) { offset = min(max(0, newOffset), bytes.count) }
}
