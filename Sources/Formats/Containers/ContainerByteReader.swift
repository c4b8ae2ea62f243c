/// A bounds-checked cursor over a borrowed buffer, shared by the container readers.
///
/// Every read checks `remaining` before it loads; values are read unaligned and little-endian unless the
/// method says otherwise. The buffer must not outlive the `withBytes` closure that lent it.
struct ContainerByteReader {
  let bytes: UnsafeRawBufferPointer
  /// Added to every reported offset, so errors name absolute positions in the enclosing file.
  let baseOffset: Int
  private(set) var offset: Int

  init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, baseOffset: Int = 0) {
    self.bytes = bytes
    self.offset = min(max(offset, 0), bytes.count)
    self.baseOffset = baseOffset
  }

  var remaining: Int { bytes.count &- offset }  // can't overflow: 0 <= offset <= count
  var isAtEnd: Bool { offset >= bytes.count }
  /// The absolute position of the cursor (for error messages).
  var absoluteOffset: Int { baseOffset &+ offset }

  mutating func seek(to newOffset: Int) throws(ContainerError) {
    guard newOffset >= 0, newOffset <= bytes.count else {
      throw .truncated(offset: baseOffset &+ min(max(newOffset, 0), bytes.count), needed: 1, available: 0)
    }
    offset = newOffset
  }

  mutating func skip(_ n: Int) throws(ContainerError) {
    guard n >= 0, n <= remaining else {
      throw .truncated(offset: absoluteOffset, needed: max(n, 0), available: remaining)
    }
    offset &+= n  // can't overflow: n <= remaining
  }

  mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(ContainerError) -> T {
    let size = MemoryLayout<T>.size
    guard size <= remaining else { throw .truncated(offset: absoluteOffset, needed: size, available: remaining) }
    defer { offset &+= size }  // can't overflow: size <= remaining
    return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
  }

  mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws(ContainerError) -> T {
    let size = MemoryLayout<T>.size
    guard size <= remaining else { throw .truncated(offset: absoluteOffset, needed: size, available: remaining) }
    defer { offset &+= size }  // can't overflow: size <= remaining
    return T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
  }

  /// Returns the next `n` bytes as a slice of the borrowed buffer (no copy) and advances past them.
  mutating func readSlice(_ n: Int) throws(ContainerError) -> UnsafeRawBufferPointer {
    guard n >= 0, n <= remaining else {
      throw .truncated(offset: absoluteOffset, needed: max(n, 0), available: remaining)
    }
    defer { offset &+= n }  // can't overflow: n <= remaining
    return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ n)])
  }

  /// Reads up to and including the next `\n`; returns the bytes before it. Throws `.truncated` if none.
  mutating func readLine(maxBytes: Int) throws(ContainerError) -> UnsafeRawBufferPointer {
    let start = offset
    // Scan at most maxBytes + 1 bytes (the line plus its newline); +1 can't overflow: maxBytes < remaining.
    let limit = maxBytes < remaining ? maxBytes &+ 1 : remaining
    var i = 0
    while i < limit {
      if bytes[start &+ i] == 0x0A {
        offset = start &+ i &+ 1  // can't overflow: i < remaining
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start &+ i)])
      }
      i &+= 1
    }
    if limit < remaining {
      throw .lengthTooLarge(offset: absoluteOffset, field: "line", value: UInt64(limit), limit: maxBytes)
    }
    throw .truncated(offset: absoluteOffset, needed: remaining &+ 1, available: remaining)
  }

  func peek(at relative: Int) -> UInt8? {
    guard relative >= 0, relative < remaining else { return nil }
    return bytes[offset &+ relative]
  }
}

extension UnsafeRawBufferPointer {
  /// True if the buffer holds `pattern` at `byteOffset` (bounds-checked).
  func hasBytes(_ pattern: [UInt8], at byteOffset: Int) -> Bool {
    guard byteOffset >= 0, byteOffset <= count, pattern.count <= count &- byteOffset else { return false }
    for (i, b) in pattern.enumerated() where self[byteOffset &+ i] != b { return false }
    return true
  }

  /// An unaligned little-endian load, or nil if the bytes are not there.
  func loadLittleEndian<T: FixedWidthInteger>(at byteOffset: Int, as: T.Type = T.self) -> T? {
    guard byteOffset >= 0, byteOffset <= count, MemoryLayout<T>.size <= count &- byteOffset else { return nil }
    return T(littleEndian: loadUnaligned(fromByteOffset: byteOffset, as: T.self))
  }
}
