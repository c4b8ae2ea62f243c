/// Why a container (ZIP, pickle, NumPy) could not be read. Offsets are absolute byte positions in the
/// buffer that was handed to the reader (for a member of a ZIP: positions in the inflated member).
public enum ContainerError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The data ended `needed` bytes into a read that started at `offset`; only `available` were left.
  case truncated(offset: Int, needed: Int, available: Int)
  /// A length or count field exceeds its cap or the bytes left.
  case lengthTooLarge(offset: Int, field: String, value: UInt64, limit: Int)

  // MARK: ZIP
  /// No end-of-central-directory record in the last 64 KiB + 22 bytes.
  case zipEndOfCentralDirectoryNotFound(searchedFrom: Int)
  /// A ZIP structure at `offset` does not hold the signature it must (`found` as read, little-endian).
  case zipBadSignature(offset: Int, structure: String, found: UInt32)
  /// A ZIP field breaks a rule that makes the archive unreadable.
  case zipMalformed(offset: Int, field: String, detail: String)
  /// A member cannot be extracted: its local header or data is missing or out of bounds.
  case zipMemberUnreadable(member: String, offset: Int, detail: String)
  /// A member is encrypted (general-purpose flag bit 0); its bytes cannot be inspected.
  case zipEncryptedMember(member: String, offset: Int)
  /// A member uses a compression method other than stored (0) or deflate (8).
  case zipUnsupportedMethod(member: String, offset: Int, method: UInt16, methodName: String)
  /// Inflating a member would exceed the caller's bound (declared size, actual size, or an absurd ratio).
  case zipBomb(member: String, offset: Int, reason: ZipBombReason, limit: Int)
  /// The member's bytes are not what the central directory declares.
  case zipSizeMismatch(member: String, offset: Int, declared: UInt64, actual: UInt64)
  /// The CRC-32 of the extracted bytes differs from the declared one.
  case zipCRCMismatch(member: String, offset: Int, declared: UInt32, actual: UInt32)
  /// zlib refused the deflate stream (`code` is zlib's return code, `message` its `msg`).
  case zipInflateFailed(member: String, offset: Int, code: Int32, message: String)

  // MARK: Pickle
  /// A byte that is not a pickle opcode (protocols 0-5).
  case pickleUnknownOpcode(offset: Int, byte: UInt8)
  /// An opcode's argument is malformed (bad quoting, bad escape, invalid UTF-8, negative length...).
  case pickleMalformedArgument(offset: Int, opcode: String, detail: String)
  /// An opcode needs more stack items (above the topmost MARK) than there are, or a MARK that is missing.
  case pickleStackUnderflow(offset: Int, opcode: String, needed: Int, available: Int)
  /// A GET refers to a memo key that was never stored.
  case pickleMemoKeyMissing(offset: Int, opcode: String, key: Int)
  /// A bound of the disassembler was reached (instructions, stack depth, memo entries).
  case pickleLimitExceeded(offset: Int, limit: String, value: Int)
  /// PROTO names a protocol above 5.
  case pickleUnsupportedProtocol(offset: Int, version: Int)
  /// The bytes ended before a STOP opcode.
  case pickleMissingStop(offset: Int)

  // MARK: NumPy
  /// The file does not start with `\x93NUMPY`.
  case npyBadMagic(offset: Int)
  /// The format version is not 1.0, 2.0 or 3.0.
  case npyUnsupportedVersion(offset: Int, major: UInt8, minor: UInt8)
  /// The header dictionary is not the literal NumPy writes (`detail` says what was wrong).
  case npyMalformedHeader(offset: Int, detail: String)

  public var description: String {
    switch self {
    case .truncated(let o, let n, let a): "truncated at byte \(o): needed \(n) bytes, \(a) available"
    case .lengthTooLarge(let o, let f, let v, let l): "\(f) at byte \(o) is \(v), above the limit \(l)"
    case .zipEndOfCentralDirectoryNotFound(let s): "no ZIP end-of-central-directory record (searched from byte \(s))"
    case .zipBadSignature(let o, let s, let f):
      "no \(s) signature at byte \(o) (found 0x\(String(f, radix: 16)))"
    case .zipMalformed(let o, let f, let d): "ZIP \(f) at byte \(o): \(d)"
    case .zipMemberUnreadable(let m, let o, let d): "ZIP member '\(m)' (byte \(o)) unreadable: \(d)"
    case .zipEncryptedMember(let m, let o): "ZIP member '\(m)' (byte \(o)) is encrypted"
    case .zipUnsupportedMethod(let m, let o, let me, let n):
      "ZIP member '\(m)' (byte \(o)) uses unsupported compression method \(me) (\(n))"
    case .zipBomb(let m, let o, let r, let l): "ZIP member '\(m)' (byte \(o)) refused as a zip bomb: \(r) (limit \(l))"
    case .zipSizeMismatch(let m, let o, let d, let a):
      "ZIP member '\(m)' (byte \(o)) declares \(d) bytes but holds \(a)"
    case .zipCRCMismatch(let m, let o, let d, let a):
      "ZIP member '\(m)' (byte \(o)) CRC-32 0x\(String(a, radix: 16)) != declared 0x\(String(d, radix: 16))"
    case .zipInflateFailed(let m, let o, let c, let msg): "ZIP member '\(m)' (byte \(o)) inflate failed (zlib \(c)): \(msg)"
    case .pickleUnknownOpcode(let o, let b): "unknown pickle opcode 0x\(String(b, radix: 16)) at byte \(o)"
    case .pickleMalformedArgument(let o, let op, let d): "pickle \(op) at byte \(o): \(d)"
    case .pickleStackUnderflow(let o, let op, let n, let a):
      "pickle \(op) at byte \(o) needs \(n) stack items, \(a) available"
    case .pickleMemoKeyMissing(let o, let op, let k): "pickle \(op) at byte \(o) reads memo key \(k) that was never stored"
    case .pickleLimitExceeded(let o, let l, let v): "pickle at byte \(o): \(l) limit \(v) reached"
    case .pickleUnsupportedProtocol(let o, let v): "pickle PROTO at byte \(o) names unsupported protocol \(v)"
    case .pickleMissingStop(let o): "pickle ended at byte \(o) without STOP"
    case .npyBadMagic(let o): "no \\x93NUMPY magic at byte \(o)"
    case .npyUnsupportedVersion(let o, let ma, let mi): "unsupported .npy version \(ma).\(mi) at byte \(o)"
    case .npyMalformedHeader(let o, let d): ".npy header at byte \(o): \(d)"
    }
  }
}

/// Why a ZIP member was refused as a decompression bomb.
public enum ZipBombReason: Equatable, Sendable, CustomStringConvertible {
  /// The central directory declares an uncompressed size above the caller's limit.
  case declaredSizeExceedsLimit(declared: UInt64)
  /// Inflation produced more than the limit (the declared size lied, or was within bounds but false).
  case inflatedSizeExceedsLimit(producedAtLeast: Int)
  /// Output over the ratio threshold was more than `maxRatio` times the compressed input consumed.
  case ratioExceeded(outputBytes: Int, inputBytes: Int, maxRatio: Int)
  /// Inflation produced more bytes than the declared uncompressed size.
  case inflatedPastDeclaredSize(declared: UInt64)

  public var description: String {
    switch self {
    case .declaredSizeExceedsLimit(let d): "declared uncompressed size \(d)"
    case .inflatedSizeExceedsLimit(let p): "inflated to at least \(p) bytes"
    case .ratioExceeded(let o, let i, let r): "\(o) bytes out of \(i) compressed (ratio above \(r):1)"
    case .inflatedPastDeclaredSize(let d): "inflates past its declared size \(d)"
    }
  }
}
