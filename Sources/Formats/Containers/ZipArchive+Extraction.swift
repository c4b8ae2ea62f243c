import CZlib

/// Bounds for inflating one ZIP member.
public struct ZipExtractionLimits: Sendable, Equatable {
  /// Most bytes a member may inflate to; a larger declared or actual size is a `.zipBomb` error.
  public var maxOutputBytes: Int
  /// Largest output/input ratio tolerated once the output passes `ratioThresholdBytes`.
  public var maxRatio: Int
  /// Output size below which the ratio is not checked (small, very compressible files are normal).
  public var ratioThresholdBytes: Int

  public init(maxOutputBytes: Int, maxRatio: Int = 1000, ratioThresholdBytes: Int = 1 << 20) {
    self.maxOutputBytes = max(0, maxOutputBytes)
    self.maxRatio = max(1, maxRatio)
    self.ratioThresholdBytes = max(0, ratioThresholdBytes)
  }
}

extension ZipArchive {
  /// Extracts a member into memory, never allocating more than `maxOutputBytes`.
  /// - Parameters:
  ///   - entry: a member of this archive.
  ///   - bytes: the same buffer the archive was read from.
  ///   - maxOutputBytes: the bound on the inflated size.
  /// - Throws: see `extract(_:from:limits:)`.
  public func extract(_ entry: ZipEntry, from bytes: UnsafeRawBufferPointer, maxOutputBytes: Int) throws(ContainerError) -> [UInt8] {
    try extract(entry, from: bytes, limits: ZipExtractionLimits(maxOutputBytes: maxOutputBytes))
  }

  /// Extracts a member of the archive in `file` (the file the archive was opened from).
  public func extract(_ entry: ZipEntry, from file: MappedFile, limits: ZipExtractionLimits) throws(ContainerError) -> [UInt8] {
    try file.withBytes { (bytes) throws(ContainerError) in try extract(entry, from: bytes, limits: limits) }
  }

  /// Extracts a stored (0) or deflated (8) member, checking sizes and CRC-32, with bounded memory.
  ///
  /// Memory never exceeds `limits.maxOutputBytes` plus a 64 KiB working chunk, whatever the member
  /// declares: the declared size is checked first, then inflation stops as soon as the output passes
  /// the limit, the declared size, or `maxRatio` times the input consumed (deflate's own maximum is
  /// about 1032:1, so real files stay below 1000:1 only when they are not pathological).
  /// - Throws: `.zipEncryptedMember`; `.zipUnsupportedMethod` (naming the method);
  ///   `.zipMemberUnreadable` if the local header or data is out of bounds; `.zipBomb` (with the
  ///   reason and the limit); `.zipSizeMismatch`; `.zipInflateFailed`; `.zipCRCMismatch`.
  /// - Complexity: O(uncompressed size).
  public func extract(_ entry: ZipEntry, from bytes: UnsafeRawBufferPointer, limits: ZipExtractionLimits) throws(ContainerError) -> [UInt8] {
    let data = try memberData(entry, in: bytes)
    if entry.uncompressedSize > UInt64(limits.maxOutputBytes) {
      throw .zipBomb(member: entry.name, offset: entry.centralHeaderOffset &+ 24,
                     reason: .declaredSizeExceedsLimit(declared: entry.uncompressedSize), limit: limits.maxOutputBytes)
    }
    // can't trap: uncompressedSize <= maxOutputBytes (an Int) was just checked
    let declared = Int(entry.uncompressedSize)
    let output: [UInt8]
    switch entry.method {
    case 0:
      guard declared == data.count else {
        throw .zipSizeMismatch(member: entry.name, offset: entry.centralHeaderOffset &+ 24,
                               declared: entry.uncompressedSize, actual: UInt64(data.count))
      }
      output = Array(data)
    case 8:
      if declared > limits.ratioThresholdBytes, declared / max(data.count, 1) > limits.maxRatio {
        throw .zipBomb(member: entry.name, offset: entry.centralHeaderOffset &+ 24,
                       reason: .ratioExceeded(outputBytes: declared, inputBytes: data.count, maxRatio: limits.maxRatio),
                       limit: limits.maxOutputBytes)
      }
      let result = try Inflater.inflate(
        data, member: entry.name, dataOffset: entry.dataOffset ?? 0, declaredSize: declared,
        outputLimit: limits.maxOutputBytes, maxRatio: limits.maxRatio, ratioThreshold: limits.ratioThresholdBytes,
        prefixOnly: false)
      guard result.count == declared else {
        throw .zipSizeMismatch(member: entry.name, offset: entry.centralHeaderOffset &+ 24,
                               declared: entry.uncompressedSize, actual: UInt64(result.count))
      }
      output = result
    default:
      throw .zipUnsupportedMethod(member: entry.name, offset: entry.centralHeaderOffset &+ 10,
                                  method: entry.method, methodName: entry.methodName)
    }
    let crc = ZipArchive.crc32(output)
    guard crc == entry.crc32 else {
      throw .zipCRCMismatch(member: entry.name, offset: entry.centralHeaderOffset &+ 16, declared: entry.crc32, actual: crc)
    }
    return output
  }

  /// The first `byteCount` bytes of a member (fewer if it is shorter), without size or CRC checks:
  /// for sniffing a member's kind or reading a header without inflating the whole member.
  /// - Throws: `.zipEncryptedMember`, `.zipUnsupportedMethod`, `.zipMemberUnreadable`, `.zipInflateFailed`.
  public func extractPrefix(_ entry: ZipEntry, from bytes: UnsafeRawBufferPointer, byteCount: Int) throws(ContainerError) -> [UInt8] {
    let data = try memberData(entry, in: bytes)
    let wanted = max(0, byteCount)
    switch entry.method {
    case 0:
      return Array(data.prefix(wanted))
    case 8:
      return try Inflater.inflate(
        data, member: entry.name, dataOffset: entry.dataOffset ?? 0, declaredSize: nil, outputLimit: wanted,
        maxRatio: Int.max, ratioThreshold: Int.max, prefixOnly: true)
    default:
      throw .zipUnsupportedMethod(member: entry.name, offset: entry.centralHeaderOffset &+ 10,
                                  method: entry.method, methodName: entry.methodName)
    }
  }

  /// CRC-32 (ISO 3309, as ZIP uses) of `bytes`, computed by zlib.
  public static func crc32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32(raw: $0) }
  }

  static func crc32(raw: UnsafeRawBufferPointer) -> UInt32 {
    var crc: uLong = CZlib.crc32(0, nil, 0)
    guard let base = raw.baseAddress else { return UInt32(truncatingIfNeeded: crc) }
    var done = 0
    while done < raw.count {
      let n = min(raw.count &- done, 1 << 30)
      // Binding raw bytes to UInt8 is always valid (alignment 1).
      crc = CZlib.crc32(crc, base.advanced(by: done).assumingMemoryBound(to: Bytef.self), uInt(n))
      done &+= n  // can't overflow: n <= count - done
    }
    return UInt32(truncatingIfNeeded: crc)
  }

  private func memberData(_ entry: ZipEntry, in bytes: UnsafeRawBufferPointer) throws(ContainerError) -> UnsafeRawBufferPointer {
    guard bytes.count == byteCount else {
      throw .zipMemberUnreadable(member: entry.name, offset: entry.centralHeaderOffset,
                                 detail: "buffer of \(bytes.count) bytes is not the \(byteCount)-byte archive this entry came from")
    }
    if entry.isEncrypted { throw .zipEncryptedMember(member: entry.name, offset: entry.centralHeaderOffset &+ 8) }
    if entry.method != 0, entry.method != 8 {
      throw .zipUnsupportedMethod(member: entry.name, offset: entry.centralHeaderOffset &+ 10,
                                  method: entry.method, methodName: entry.methodName)
    }
    guard let start = entry.dataOffset, let csize = Int(exactly: entry.compressedSize),
          start >= 0, start <= bytes.count, csize <= bytes.count &- start else {
      throw .zipMemberUnreadable(member: entry.name, offset: entry.localHeaderOffset,
                                 detail: "local header or data out of bounds (see the archive's anomalies)")
    }
    return UnsafeRawBufferPointer(rebasing: bytes[start..<(start &+ csize)])
  }
}

/// Raw-deflate (RFC 1951, zlib windowBits -15) inflation into a bounded array.
enum Inflater {
  static let chunkSize = 1 << 16

  /// Inflates `input`. With `prefixOnly`, stops quietly after `outputLimit` bytes; otherwise exceeding
  /// `outputLimit` or `declaredSize`, or the ratio, throws `.zipBomb`, and an unfinished stream throws.
  static func inflate(
    _ input: UnsafeRawBufferPointer, member: String, dataOffset: Int, declaredSize: Int?, outputLimit: Int,
    maxRatio: Int, ratioThreshold: Int, prefixOnly: Bool
  ) throws(ContainerError) -> [UInt8] {
    var stream = z_stream()
    let initCode = inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard initCode == Z_OK else {
      throw .zipInflateFailed(member: member, offset: dataOffset, code: initCode, message: "inflateInit2 failed")
    }
    defer { inflateEnd(&stream) }
    let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
    defer { chunk.deallocate() }

    var output: [UInt8] = []
    // Reserve no more than deflate could possibly produce from this input (~1032:1) or the limit.
    let (maxPossible, o) = input.count.multipliedReportingOverflow(by: 1032)
    output.reserveCapacity(min(declaredSize ?? outputLimit, outputLimit, o ? outputLimit : maxPossible &+ 64, 1 << 26))
    var fed = 0
    while true {
      if stream.avail_in == 0, fed < input.count, let base = input.baseAddress {
        let n = min(input.count &- fed, 1 << 30)
        // zlib never writes through next_in; the cast only satisfies its non-const C signature.
        stream.next_in = UnsafeMutablePointer(mutating: base.advanced(by: fed).assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(n)
        fed &+= n  // can't overflow: n <= count - fed
      }
      stream.next_out = chunk.assumingMemoryBound(to: Bytef.self)
      stream.avail_out = uInt(chunkSize)
      let code = CZlib.inflate(&stream, Z_NO_FLUSH)
      let produced = chunkSize &- Int(stream.avail_out)
      let consumed = fed &- Int(stream.avail_in)
      if produced > 0 {
        let total = output.count &+ produced  // can't overflow: both bounded by outputLimit + 64 KiB
        if prefixOnly, total >= outputLimit {
          output.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: outputLimit &- output.count))
          return output
        }
        if total > outputLimit {
          throw .zipBomb(member: member, offset: dataOffset, reason: .inflatedSizeExceedsLimit(producedAtLeast: total), limit: outputLimit)
        }
        if let declaredSize, total > declaredSize {
          throw .zipBomb(member: member, offset: dataOffset, reason: .inflatedPastDeclaredSize(declared: UInt64(declaredSize)), limit: outputLimit)
        }
        if total > ratioThreshold, total / max(consumed, 1) > maxRatio {
          throw .zipBomb(member: member, offset: dataOffset,
                         reason: .ratioExceeded(outputBytes: total, inputBytes: consumed, maxRatio: maxRatio), limit: outputLimit)
        }
        output.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: produced))
      }
      switch code {
      case Z_STREAM_END:
        return output
      case Z_OK:
        continue
      case Z_BUF_ERROR where stream.avail_in == 0 && fed >= input.count:
        if prefixOnly { return output }
        throw .zipInflateFailed(member: member, offset: dataOffset &+ consumed, code: code,
                                message: "deflate stream ends before its final block")
      case Z_BUF_ERROR:
        continue
      default:
        let message = stream.msg.map { String(cString: $0) } ?? "error"
        throw .zipInflateFailed(member: member, offset: dataOffset &+ consumed, code: code, message: message)
      }
    }
  }
}

// MARK: - Array conveniences (nested archives, extracted members)

extension ZipArchive {
  /// Reads the listing of a ZIP held in an array (e.g. a ZIP member of another ZIP).
  public init(bytes: [UInt8], limits: ZipLimits = ZipLimits()) throws(ContainerError) {
    self = try bytes.withUnsafeBytes { (p) -> Result<ZipArchive, ContainerError> in
      Result { () throws(ContainerError) in try ZipArchive(bytes: p, limits: limits) }
    }.get()
  }

  /// Extracts a member of an archive read from the array `bytes`.
  public func extract(_ entry: ZipEntry, from bytes: [UInt8], limits: ZipExtractionLimits) throws(ContainerError) -> [UInt8] {
    try bytes.withUnsafeBytes { (p) -> Result<[UInt8], ContainerError> in
      Result { () throws(ContainerError) in try extract(entry, from: p, limits: limits) }
    }.get()
  }
}
