/// One member of a ZIP archive, as its central-directory record declares it (ZIP64 fields resolved) and
/// as its local header was found. Offsets are absolute positions in the archive's buffer.
public struct ZipEntry: Sendable, Equatable {
  /// Position of the member in the central directory (0-based).
  public let index: Int
  /// The name as stored (not normalised), decoded as UTF-8 (or CP437-as-Latin-1 if the bytes are not
  /// valid UTF-8 and flag bit 11 is clear; invalid bytes are then an anomaly).
  public let name: String
  /// The raw name bytes.
  public let nameBytes: [UInt8]
  /// Byte offset of the central-directory record.
  public let centralHeaderOffset: Int
  /// Byte offset of the local file header (after any prepended-data shift).
  public let localHeaderOffset: Int
  /// Absolute byte offset of the member's (compressed) data, or nil if the local header is unreadable.
  public let dataOffset: Int?
  /// Compression method (0 stored, 8 deflate, others named by `ZipEntry.methodName`).
  public let method: UInt16
  /// General-purpose bit flags.
  public let flags: UInt16
  /// Declared CRC-32 of the uncompressed bytes.
  public let crc32: UInt32
  /// Declared compressed size in bytes.
  public let compressedSize: UInt64
  /// Declared uncompressed size in bytes (attacker-controlled: never allocate by it).
  public let uncompressedSize: UInt64
  /// `version made by` (high byte: host system, 3 = Unix).
  public let versionMadeBy: UInt16
  /// External attributes (for Unix hosts the high 16 bits are `st_mode`).
  public let externalAttributes: UInt32
  /// True if sizes or the offset came from a ZIP64 extra field.
  public let usesZip64: Bool

  /// Flag bit 0: the member is encrypted.
  public var isEncrypted: Bool { flags & 0x0001 != 0 }
  /// Flag bit 3: sizes and CRC follow the data in a data descriptor.
  public var hasDataDescriptor: Bool { flags & 0x0008 != 0 }
  /// The name ends with `/` (a directory entry).
  public var isDirectory: Bool { nameBytes.last == 0x2F }
  /// The member is a symbolic link (Unix mode S_IFLNK in the external attributes).
  public var isSymbolicLink: Bool { versionMadeBy >> 8 == 3 && (externalAttributes >> 16) & 0o170000 == 0o120000 }
  /// Human name of the compression method.
  public var methodName: String { Self.methodName(method) }

  /// Human name of a ZIP compression method id (APPNOTE 4.4.5).
  public static func methodName(_ method: UInt16) -> String {
    switch method {
    case 0: "stored"
    case 1: "shrunk"
    case 2, 3, 4, 5: "reduced"
    case 6: "imploded"
    case 8: "deflate"
    case 9: "deflate64"
    case 12: "bzip2"
    case 14: "lzma"
    case 93: "zstd"
    case 95: "xz"
    case 98: "ppmd"
    case 99: "aes"
    default: "unknown"
    }
  }
}

/// Something odd but readable in a ZIP archive. Formats only reports it; detectors judge it.
public struct ZipAnomaly: Sendable, Equatable, CustomStringConvertible {
  /// What kind of oddity.
  public enum Kind: String, Sendable, Equatable, CaseIterable {
    /// Two members' byte ranges overlap (the construction of non-recursive zip bombs).
    case overlappingMembers
    /// A member overlaps the central directory.
    case memberOverlapsCentralDirectory
    /// A name contains a `..` path component.
    case pathTraversal
    /// A name starts with `/`, `\` or a drive letter.
    case absolutePath
    /// A name contains a NUL byte.
    case nulInName
    /// A name contains a backslash (a path separator on Windows).
    case backslashInName
    /// A name is not valid UTF-8.
    case invalidName
    /// Two members share a name (readers disagree on which one wins).
    case duplicateName
    /// A member is a symbolic link.
    case symbolicLink
    /// Bytes precede the first member (polyglot or self-extractor).
    case dataBeforeFirstMember
    /// Bytes between members that no member claims.
    case gapBetweenMembers
    /// Bytes between the last member and the central directory.
    case dataBeforeCentralDirectory
    /// Bytes between the end of the central directory and its end record (a polyglot's hiding place).
    case dataAfterCentralDirectory
    /// Bytes after the end-of-central-directory record and its comment.
    case dataAfterEndOfCentralDirectory
    /// The comment length field disagrees with the bytes that follow the record.
    case commentLengthMismatch
    /// The central directory's declared size differs from the records it holds.
    case centralDirectorySizeMismatch
    /// The EOCD's entry counts disagree with each other or with ZIP64.
    case entryCountMismatch
    /// Declared offsets are shifted by prepended data (Python's zipfile compensates; others do not).
    case offsetsShifted
    /// A multi-disk (spanned) archive.
    case multiDisk
    /// The local header disagrees with the central directory (name, method, sizes, CRC, flags).
    case localHeaderMismatch
    /// The local header is missing or out of bounds: the member cannot be extracted.
    case localHeaderUnreadable
    /// A member's data runs past the end of the buffer or into the central directory.
    case memberOutOfBounds
    /// A member is encrypted.
    case encryptedMember
    /// A member uses a compression method we cannot inflate.
    case unsupportedMethod
    /// An extra field is malformed (length past its end, bad ZIP64 field).
    case malformedExtraField
  }

  public let kind: Kind
  /// Absolute byte offset the oddity was found at.
  public let byteOffset: Int
  /// The member concerned, when there is one.
  public let member: String?
  /// Specifics: the values found.
  public let detail: String

  public init(_ kind: Kind, byteOffset: Int, member: String? = nil, detail: String) {
    self.kind = kind
    self.byteOffset = byteOffset
    self.member = member
    self.detail = detail
  }

  /// A stable machine-readable code in the style of `Anomaly.Code` (`"zip.overlappingMembers"`).
  public var code: String { "zip.\(kind.rawValue)" }

  public var description: String {
    "\(kind.rawValue) at byte \(byteOffset)\(member.map { " ('\($0)')" } ?? ""): \(detail)"
  }
}
