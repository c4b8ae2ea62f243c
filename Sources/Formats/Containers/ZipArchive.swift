/// Bounds on what a ZIP listing may allocate.
public struct ZipLimits: Sendable, Equatable {
  /// Most central-directory records read before the archive is refused.
  public var maxEntries: Int
  /// Most anomalies kept; the rest are only counted (`ZipArchive.droppedAnomalyCount`).
  public var maxAnomalies: Int

  public init(maxEntries: Int = 1_000_000, maxAnomalies: Int = 1_000) {
    self.maxEntries = maxEntries
    self.maxAnomalies = maxAnomalies
  }
}

/// A ZIP archive's listing, read strictly from a borrowed buffer (a mapped file or an inflated member).
///
/// Follows PKWARE APPNOTE 6.3.x: the end-of-central-directory record (EOCD) is searched in the last
/// 64 KiB + 22 bytes, a ZIP64 locator and record are honoured, the central directory is read record by
/// record *until its declared size is consumed* (as Python's `zipfile` does; the EOCD entry count is
/// cross-checked), and every member's local header is validated against its central record. Oddities a
/// reader can live with (overlaps, polyglot prefixes, path traversal, duplicate names...) are
/// `anomalies`; only an archive whose directory cannot be read throws. The archive stores no pointer:
/// pass the same buffer again to `extract`.
public struct ZipArchive: Sendable {
  /// Size of the buffer the archive was read from.
  public let byteCount: Int
  /// Members in central-directory order.
  public let entries: [ZipEntry]
  /// Absolute offset of the end-of-central-directory record.
  public let endOfCentralDirectoryOffset: Int
  /// Absolute offset of the ZIP64 end-of-central-directory record, if the archive has one.
  public let zip64EndOfCentralDirectoryOffset: Int?
  /// Absolute offset of the central directory (after any prepended-data shift).
  public let centralDirectoryOffset: Int
  /// Size of the central directory in bytes, as declared.
  public let centralDirectoryByteCount: Int
  /// Bytes by which declared offsets were shifted to account for prepended data (0 normally).
  public let prependedByteCount: Int
  /// The archive comment bytes.
  public let comment: [UInt8]
  /// Readable oddities, in the order found (capped by `ZipLimits.maxAnomalies`).
  public let anomalies: [ZipAnomaly]
  /// Anomalies found beyond the cap.
  public let droppedAnomalyCount: Int

  /// Members whose name equals `name` exactly (more than one means a duplicate-name anomaly).
  public func entries(named name: String) -> [ZipEntry] { entries.filter { $0.name == name } }

  /// The last member named `name` (the one Python's `zipfile` returns), or nil.
  public func entry(named name: String) -> ZipEntry? { entries.last { $0.name == name } }

  /// Reads the listing of the ZIP archive in `file`.
  /// - Throws: see `init(bytes:limits:)`.
  public static func open(_ file: MappedFile, limits: ZipLimits = ZipLimits()) throws(ContainerError) -> ZipArchive {
    try file.withBytes { (bytes) throws(ContainerError) in try ZipArchive(bytes: bytes, limits: limits) }
  }

  /// Reads the listing of the ZIP archive held in `bytes`.
  /// - Throws: `.zipEndOfCentralDirectoryNotFound`; `.zipBadSignature` for a ZIP64 record or central
  ///   record without its signature; `.truncated` / `.lengthTooLarge` when the directory leaves the
  ///   buffer or holds more than `limits.maxEntries` records; `.zipMalformed` for a negative
  ///   prepended-data shift (directory overlapping its end record).
  /// - Complexity: O(n log n) in the number of members plus O(64 KiB) for the EOCD search.
  public init(bytes: UnsafeRawBufferPointer, limits: ZipLimits = ZipLimits()) throws(ContainerError) {
    var builder = Builder(bytes: bytes, limits: limits)
    try builder.parse()
    byteCount = bytes.count
    entries = builder.entries
    endOfCentralDirectoryOffset = builder.eocdOffset
    zip64EndOfCentralDirectoryOffset = builder.zip64RecordOffset
    centralDirectoryOffset = builder.cdOffset
    centralDirectoryByteCount = builder.cdSize
    prependedByteCount = builder.shift
    comment = builder.comment
    anomalies = builder.anomalies
    droppedAnomalyCount = builder.droppedAnomalies
  }
}

// MARK: - Parsing

extension ZipArchive {
  static let eocdSignature: UInt32 = 0x0605_4B50
  static let zip64LocatorSignature: UInt32 = 0x0706_4B50
  static let zip64RecordSignature: UInt32 = 0x0606_4B50
  static let centralSignature: UInt32 = 0x0201_4B50
  static let localSignature: UInt32 = 0x0403_4B50
  static let descriptorSignature: UInt32 = 0x0807_4B50
  static let eocdSize = 22
  static let zip64LocatorSize = 20
  static let zip64RecordMinSize = 56
  static let centralFixedSize = 46
  static let localFixedSize = 30

  fileprivate struct Builder {
    let bytes: UnsafeRawBufferPointer
    let limits: ZipLimits
    var entries: [ZipEntry] = []
    var eocdOffset = 0
    var zip64RecordOffset: Int?
    var cdOffset = 0
    var cdSize = 0
    var shift = 0
    var comment: [UInt8] = []
    var anomalies: [ZipAnomaly] = []
    var droppedAnomalies = 0

    init(bytes: UnsafeRawBufferPointer, limits: ZipLimits) {
      self.bytes = bytes
      self.limits = limits
    }

    mutating func note(_ kind: ZipAnomaly.Kind, _ offset: Int, _ member: String? = nil, _ detail: String) {
      if anomalies.count < limits.maxAnomalies {
        anomalies.append(ZipAnomaly(kind, byteOffset: offset, member: member, detail: detail))
      } else {
        droppedAnomalies &+= 1  // can't overflow in practice: bounded by work done
      }
    }

    mutating func parse() throws(ContainerError) {
      try findEndRecord()
      var r = ContainerByteReader(bytes, offset: eocdOffset)
      try r.skip(4)
      let disk: UInt16 = try r.read()
      let cdDisk: UInt16 = try r.read()
      let entriesOnDisk: UInt16 = try r.read()
      let totalEntries16: UInt16 = try r.read()
      let cdSize32: UInt32 = try r.read()
      let cdOffset32: UInt32 = try r.read()
      if disk != 0 || cdDisk != 0 {
        note(.multiDisk, eocdOffset &+ 4, nil, "disk \(disk), central directory on disk \(cdDisk)")
      }
      if entriesOnDisk != totalEntries16 {
        note(.entryCountMismatch, eocdOffset &+ 8, nil, "\(entriesOnDisk) entries on this disk, \(totalEntries16) in total")
      }
      var declaredCount = UInt64(totalEntries16)
      var declaredSize = UInt64(cdSize32)
      var declaredOffset = UInt64(cdOffset32)
      var directoryEnd = eocdOffset  // where the central directory should end
      try readZip64(count: &declaredCount, size: &declaredSize, offset: &declaredOffset, directoryEnd: &directoryEnd)

      guard let size = Int(exactly: declaredSize), size <= directoryEnd else {
        throw .lengthTooLarge(offset: eocdOffset &+ 12, field: "central directory size", value: declaredSize, limit: directoryEnd)
      }
      guard let declaredStart = Int(exactly: declaredOffset), declaredStart <= bytes.count else {
        throw .lengthTooLarge(offset: eocdOffset &+ 16, field: "central directory offset", value: declaredOffset, limit: bytes.count)
      }
      cdSize = size
      // Python's zipfile: concat = (end record position) - size - offset; a positive value is data
      // prepended to the archive, and every offset is shifted by it. A negative one is an overlap.
      let expectedStart = directoryEnd &- size  // can't overflow: size <= directoryEnd
      if expectedStart < declaredStart {
        throw .zipMalformed(
          offset: eocdOffset &+ 16, field: "central directory offset",
          detail: "directory at \(declaredStart) of \(size) bytes runs past its end record at \(directoryEnd)")
      }
      let concat = expectedStart &- declaredStart
      if concat > 0 {
        let declaredHasDirectory = size == 0 || bytes.loadLittleEndian(at: declaredStart, as: UInt32.self) == ZipArchive.centralSignature
        if !declaredHasDirectory, bytes.loadLittleEndian(at: expectedStart, as: UInt32.self) == ZipArchive.centralSignature {
          shift = concat
          note(.offsetsShifted, declaredStart, nil,
               "declared offsets are \(concat) bytes short: data prepended (Python's zipfile shifts, other readers fail)")
        }
      }
      cdOffset = declaredStart &+ shift  // can't overflow: <= expectedStart
      try readCentralDirectory(declaredCount: declaredCount)
      checkNames()
      checkLayout(directoryEnd: directoryEnd)
    }

    /// Finds the EOCD: the last signature in the final 64 KiB + 22 bytes whose comment ends exactly at
    /// the end of the buffer, else the last one that fits.
    mutating func findEndRecord() throws(ContainerError) {
      let n = bytes.count
      let searchStart = max(0, n &- ZipArchive.eocdSize &- 0xFFFF)
      guard n >= ZipArchive.eocdSize else { throw .zipEndOfCentralDirectoryNotFound(searchedFrom: 0) }
      var exact: Int?
      var fitting: Int?
      var nearest: Int?
      var p = n &- ZipArchive.eocdSize
      while p >= searchStart {
        if bytes.loadLittleEndian(at: p, as: UInt32.self) == ZipArchive.eocdSignature {
          if nearest == nil { nearest = p }
          let commentLength = Int(bytes.loadLittleEndian(at: p &+ 20, as: UInt16.self) ?? 0)
          let end = p &+ ZipArchive.eocdSize &+ commentLength  // can't overflow: small values
          if end == n { exact = p; break }
          if end <= n, fitting == nil { fitting = p }
        }
        p &-= 1
      }
      guard let found = exact ?? fitting ?? nearest else { throw .zipEndOfCentralDirectoryNotFound(searchedFrom: searchStart) }
      eocdOffset = found
      if let nearest, nearest != found {
        note(.commentLengthMismatch, nearest, nil,
             "another end-of-central-directory signature at \(nearest); readers that take the last one disagree")
      }
      let commentLength = Int(bytes.loadLittleEndian(at: found &+ 20, as: UInt16.self) ?? 0)
      let commentStart = found &+ ZipArchive.eocdSize
      let available = n &- commentStart
      if commentLength > available {
        note(.commentLengthMismatch, found &+ 20, nil, "comment length \(commentLength), \(available) bytes follow")
      }
      let kept = min(commentLength, available)
      comment = Array(bytes[commentStart..<(commentStart &+ kept)])
      if available > commentLength {
        note(.dataAfterEndOfCentralDirectory, commentStart &+ commentLength, nil,
             "\(available &- commentLength) bytes after the end record and its comment")
      }
    }

    mutating func readZip64(count: inout UInt64, size: inout UInt64, offset: inout UInt64, directoryEnd: inout Int) throws(ContainerError) {
      let locator = eocdOffset &- ZipArchive.zip64LocatorSize
      guard locator >= 0, bytes.loadLittleEndian(at: locator, as: UInt32.self) == ZipArchive.zip64LocatorSignature else {
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
          note(.entryCountMismatch, eocdOffset, nil, "end record holds ZIP64 placeholders but no ZIP64 locator precedes it")
        }
        return
      }
      var r = ContainerByteReader(bytes, offset: locator &+ 4)
      let recordDisk: UInt32 = try r.read()
      let recordOffset64: UInt64 = try r.read()
      let diskCount: UInt32 = try r.read()
      if recordDisk != 0 || diskCount > 1 {
        note(.multiDisk, locator, nil, "ZIP64 locator: record on disk \(recordDisk), \(diskCount) disks")
      }
      // The record normally sits right before the locator; Python reads it there regardless of the
      // declared offset, so accept it at either place and note a disagreement.
      var recordAt: Int? = nil
      if let o = Int(exactly: recordOffset64), bytes.loadLittleEndian(at: o, as: UInt32.self) == ZipArchive.zip64RecordSignature {
        recordAt = o
      }
      let adjacent = locator &- ZipArchive.zip64RecordMinSize
      if recordAt == nil, adjacent >= 0, bytes.loadLittleEndian(at: adjacent, as: UInt32.self) == ZipArchive.zip64RecordSignature {
        recordAt = adjacent
        note(.offsetsShifted, locator &+ 8, nil, "ZIP64 locator points at \(recordOffset64); record found at \(adjacent)")
      }
      guard let at = recordAt else {
        let found = Int(exactly: recordOffset64).flatMap { bytes.loadLittleEndian(at: $0, as: UInt32.self) } ?? 0
        throw .zipBadSignature(offset: Int(exactly: recordOffset64) ?? locator &+ 8, structure: "ZIP64 end of central directory", found: found)
      }
      guard at < locator else {
        throw .zipMalformed(offset: locator &+ 8, field: "ZIP64 record offset", detail: "record at \(at) is not before its locator at \(locator)")
      }
      var z = ContainerByteReader(bytes, offset: at &+ 4)
      _ = try z.read(UInt64.self)  // size of the rest of the record
      try z.skip(4)  // versions
      let disk: UInt32 = try z.read()
      let cdDisk: UInt32 = try z.read()
      let onDisk: UInt64 = try z.read()
      let total: UInt64 = try z.read()
      let size64: UInt64 = try z.read()
      let offset64: UInt64 = try z.read()
      if disk != 0 || cdDisk != 0 { note(.multiDisk, at &+ 16, nil, "ZIP64: disk \(disk), central directory on disk \(cdDisk)") }
      if onDisk != total { note(.entryCountMismatch, at &+ 24, nil, "ZIP64: \(onDisk) entries on disk, \(total) total") }
      if count != 0xFFFF, count != total {
        note(.entryCountMismatch, eocdOffset &+ 10, nil, "end record says \(count) entries, ZIP64 record \(total)")
      }
      count = total
      size = size64
      offset = offset64
      zip64RecordOffset = at
      directoryEnd = at
    }

    mutating func readCentralDirectory(declaredCount: UInt64) throws(ContainerError) {
      let end = cdOffset &+ cdSize  // can't overflow: both <= bytes.count checked in parse
      guard end <= bytes.count else {
        throw .truncated(offset: cdOffset, needed: cdSize, available: bytes.count &- cdOffset)
      }
      // Each record needs 46 bytes: never reserve by the declared count beyond what the bytes can hold.
      let capacity = min(cdSize / ZipArchive.centralFixedSize, limits.maxEntries)
      if let c = Int(exactly: declaredCount) { entries.reserveCapacity(min(c, capacity)) }
      var r = ContainerByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<end]), offset: cdOffset)
      while !r.isAtEnd {
        guard entries.count < limits.maxEntries else {
          throw .lengthTooLarge(offset: r.absoluteOffset, field: "central directory entries", value: UInt64(entries.count) &+ 1, limit: limits.maxEntries)
        }
        let recordOffset = r.offset
        let signature: UInt32 = try r.read()
        guard signature == ZipArchive.centralSignature else {
          throw .zipBadSignature(offset: recordOffset, structure: "central directory record", found: signature)
        }
        let madeBy: UInt16 = try r.read()
        _ = try r.read(UInt16.self)  // version needed
        let flags: UInt16 = try r.read()
        let method: UInt16 = try r.read()
        try r.skip(4)  // time, date
        let crc: UInt32 = try r.read()
        let csize32: UInt32 = try r.read()
        let usize32: UInt32 = try r.read()
        let nameLength = Int(try r.read(UInt16.self))
        let extraLength = Int(try r.read(UInt16.self))
        let commentLength = Int(try r.read(UInt16.self))
        let diskStart16: UInt16 = try r.read()
        try r.skip(2)  // internal attributes
        let external: UInt32 = try r.read()
        let lho32: UInt32 = try r.read()
        let nameBytes = Array(try r.readSlice(nameLength))
        let extraOffset = r.offset
        let extra = try r.readSlice(extraLength)
        try r.skip(commentLength)

        let name = Self.decodeName(nameBytes, utf8Flag: flags & 0x0800 != 0)
        if name.invalid {
          note(.invalidName, recordOffset &+ 46, name.text, "name is not valid UTF-8 (flag bit 11 set)")
        }
        var usize = UInt64(usize32)
        var csize = UInt64(csize32)
        var lho = UInt64(lho32)
        var diskStart = UInt32(diskStart16)
        var zip64 = false
        if usize32 == 0xFFFF_FFFF || csize32 == 0xFFFF_FFFF || lho32 == 0xFFFF_FFFF || diskStart16 == 0xFFFF {
          if let z = Self.zip64Extra(extra) {
            var zr = ContainerByteReader(z)
            do {
              if usize32 == 0xFFFF_FFFF { usize = try zr.read(); zip64 = true }
              if csize32 == 0xFFFF_FFFF { csize = try zr.read(); zip64 = true }
              if lho32 == 0xFFFF_FFFF { lho = try zr.read(); zip64 = true }
              if diskStart16 == 0xFFFF { diskStart = try zr.read() }
            } catch {
              note(.malformedExtraField, extraOffset, name.text, "ZIP64 extra field too short for the saturated fields")
            }
          } else {
            note(.malformedExtraField, extraOffset, name.text, "saturated size/offset fields without a ZIP64 extra field")
          }
        }
        if !Self.extraFieldsWellFormed(extra) {
          note(.malformedExtraField, extraOffset, name.text, "extra field records run past the \(extraLength)-byte extra area")
        }
        if diskStart != 0 { note(.multiDisk, recordOffset &+ 34, name.text, "member starts on disk \(diskStart)") }

        let (shifted, overflow) = lho.addingReportingOverflow(UInt64(shift))
        let localOffset = overflow ? Int.max : Int(exactly: shifted) ?? Int.max
        var entry = ZipEntry(
          index: entries.count, name: name.text, nameBytes: nameBytes, centralHeaderOffset: recordOffset,
          localHeaderOffset: localOffset, dataOffset: nil, method: method, flags: flags, crc32: crc,
          compressedSize: csize, uncompressedSize: usize, versionMadeBy: madeBy, externalAttributes: external,
          usesZip64: zip64)
        entry = validateLocalHeader(entry)
        if entry.isEncrypted { note(.encryptedMember, recordOffset &+ 8, entry.name, "flag bit 0 set") }
        if method != 0, method != 8 {
          note(.unsupportedMethod, recordOffset &+ 10, entry.name, "method \(method) (\(entry.methodName))")
        }
        if entry.isSymbolicLink { note(.symbolicLink, recordOffset &+ 38, entry.name, "Unix mode S_IFLNK") }
        entries.append(entry)
      }
      if let c = Int(exactly: declaredCount), c == entries.count {} else {
        note(.entryCountMismatch, eocdOffset &+ 10, nil,
             "end record declares \(declaredCount) entries; the central directory's \(cdSize) bytes hold \(entries.count)")
      }
    }

    /// Checks the local header against the central record; returns the entry with `dataOffset` set when
    /// the member's data lies inside the buffer.
    mutating func validateLocalHeader(_ entry: ZipEntry) -> ZipEntry {
      let at = entry.localHeaderOffset
      guard at >= 0, at <= bytes.count, ZipArchive.localFixedSize <= bytes.count &- at else {
        note(.localHeaderUnreadable, entry.centralHeaderOffset &+ 42, entry.name,
             "local header offset \(at) leaves the \(bytes.count)-byte archive")
        return entry
      }
      var r = ContainerByteReader(bytes, offset: at)
      // All reads below stay inside the 30 fixed bytes checked above, or are checked by readSlice.
      let signature = (try? r.read(UInt32.self)) ?? 0
      guard signature == ZipArchive.localSignature else {
        note(.localHeaderUnreadable, at, entry.name, "no local header signature (found 0x\(String(signature, radix: 16)))")
        return entry
      }
      _ = try? r.read(UInt16.self)
      let flags = (try? r.read(UInt16.self)) ?? 0
      let method = (try? r.read(UInt16.self)) ?? 0
      _ = try? r.skip(4)
      let crc = (try? r.read(UInt32.self)) ?? 0
      let csize32 = (try? r.read(UInt32.self)) ?? 0
      let usize32 = (try? r.read(UInt32.self)) ?? 0
      let nameLength = Int((try? r.read(UInt16.self)) ?? 0)
      let extraLength = Int((try? r.read(UInt16.self)) ?? 0)
      guard let nameSlice = try? r.readSlice(nameLength), let extra = try? r.readSlice(extraLength) else {
        note(.localHeaderUnreadable, at &+ 26, entry.name, "local name/extra (\(nameLength)+\(extraLength) bytes) run past the end")
        return entry
      }
      if !nameSlice.elementsEqual(entry.nameBytes) {
        let local = Self.decodeName(Array(nameSlice), utf8Flag: flags & 0x0800 != 0).text
        note(.localHeaderMismatch, at &+ 30, entry.name, "local header names the member '\(local)'")
      }
      if method != entry.method {
        note(.localHeaderMismatch, at &+ 8, entry.name, "local method \(method), central \(entry.method)")
      }
      if (flags ^ entry.flags) & 0x0009 != 0 {
        note(.localHeaderMismatch, at &+ 6, entry.name, "local flags 0x\(String(flags, radix: 16)), central 0x\(String(entry.flags, radix: 16))")
      }
      if flags & 0x0008 == 0 {
        var lcsize = UInt64(csize32)
        var lusize = UInt64(usize32)
        if usize32 == 0xFFFF_FFFF || csize32 == 0xFFFF_FFFF, let z = Self.zip64Extra(extra) {
          // Local ZIP64 extra: both sizes, uncompressed first (APPNOTE 4.5.3).
          var zr = ContainerByteReader(z)
          if let u = try? zr.read(UInt64.self) { lusize = u }
          if let c = try? zr.read(UInt64.self) { lcsize = c }
        }
        if crc != entry.crc32 {
          note(.localHeaderMismatch, at &+ 14, entry.name, "local CRC 0x\(String(crc, radix: 16)), central 0x\(String(entry.crc32, radix: 16))")
        }
        if lcsize != entry.compressedSize {
          note(.localHeaderMismatch, at &+ 18, entry.name, "local compressed size \(lcsize), central \(entry.compressedSize)")
        }
        if lusize != entry.uncompressedSize {
          note(.localHeaderMismatch, at &+ 22, entry.name, "local uncompressed size \(lusize), central \(entry.uncompressedSize)")
        }
      }
      let dataStart = r.offset
      guard let csize = Int(exactly: entry.compressedSize), csize <= bytes.count &- dataStart else {
        note(.memberOutOfBounds, dataStart, entry.name,
             "\(entry.compressedSize) compressed bytes from \(dataStart) leave the \(bytes.count)-byte archive")
        return entry
      }
      return ZipEntry(
        index: entry.index, name: entry.name, nameBytes: entry.nameBytes, centralHeaderOffset: entry.centralHeaderOffset,
        localHeaderOffset: at, dataOffset: dataStart, method: entry.method, flags: entry.flags, crc32: entry.crc32,
        compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize, versionMadeBy: entry.versionMadeBy,
        externalAttributes: entry.externalAttributes, usesZip64: entry.usesZip64)
    }

    mutating func checkNames() {
      var seen: [[UInt8]: Int] = [:]
      for e in entries {
        let b = e.nameBytes
        if b.contains(0) { note(.nulInName, e.centralHeaderOffset &+ 46, e.name, "name contains NUL") }
        let isAbsolute = b.first == 0x2F || b.first == 0x5C
          || (b.count >= 2 && b[1] == 0x3A && ((b[0] | 0x20) >= 0x61 && (b[0] | 0x20) <= 0x7A))
        if isAbsolute { note(.absolutePath, e.centralHeaderOffset &+ 46, e.name, "absolute path") }
        if b.contains(0x5C) { note(.backslashInName, e.centralHeaderOffset &+ 46, e.name, "name contains a backslash") }
        let components = b.split(omittingEmptySubsequences: false) { $0 == 0x2F || $0 == 0x5C }
        if components.contains(where: { $0.elementsEqual([0x2E, 0x2E]) }) {
          note(.pathTraversal, e.centralHeaderOffset &+ 46, e.name, "name has a '..' component")
        }
        if let first = seen[b] {
          note(.duplicateName, e.centralHeaderOffset, e.name, "same name as member #\(first)")
        } else {
          seen[b] = e.index
        }
      }
    }

    /// Overlaps, gaps, and bytes outside members and directory.
    mutating func checkLayout(directoryEnd: Int) {
      struct Span { let start: Int; let end: Int; let name: String }
      var spans: [Span] = []
      spans.reserveCapacity(entries.count)
      for e in entries {
        guard let data = e.dataOffset, let csize = Int(exactly: e.compressedSize) else { continue }
        let dataEnd = data &+ csize  // can't overflow: checked <= bytes.count in validateLocalHeader
        var end = dataEnd
        if e.hasDataDescriptor {
          let sizes = e.usesZip64 ? 16 : 8
          let hasSig = bytes.loadLittleEndian(at: dataEnd, as: UInt32.self) == ZipArchive.descriptorSignature
          end = min(bytes.count, dataEnd &+ (hasSig ? 8 : 4) &+ sizes)  // can't overflow: small additions
        }
        spans.append(Span(start: e.localHeaderOffset, end: end, name: e.name))
        if dataEnd > cdOffset, e.localHeaderOffset < directoryEnd {
          note(.memberOverlapsCentralDirectory, data, e.name, "data ends at \(dataEnd), central directory starts at \(cdOffset)")
        }
      }
      spans.sort { ($0.start, $0.end) < ($1.start, $1.end) }
      var coveredEnd = 0
      var coveredBy: String?
      for (i, s) in spans.enumerated() {
        if i == 0 {
          if s.start > 0 { note(.dataBeforeFirstMember, 0, s.name, "\(s.start) bytes before the first local header") }
        } else if s.start < coveredEnd {
          note(.overlappingMembers, s.start, s.name, "starts at \(s.start), inside '\(coveredBy ?? "?")' which ends at \(coveredEnd)")
        } else if s.start > coveredEnd {
          note(.gapBetweenMembers, coveredEnd, s.name, "\(s.start &- coveredEnd) unclaimed bytes before this member")
        }
        if s.end > coveredEnd { coveredEnd = s.end; coveredBy = s.name }
      }
      if spans.isEmpty {
        if cdOffset > 0 { note(.dataBeforeFirstMember, 0, nil, "\(cdOffset) bytes before the central directory and no members") }
      } else if cdOffset > coveredEnd {
        note(.dataBeforeCentralDirectory, coveredEnd, nil, "\(cdOffset &- coveredEnd) bytes between the last member and the central directory")
      }
      let cdEnd = cdOffset &+ cdSize  // can't overflow: checked against bytes.count
      if directoryEnd > cdEnd {
        note(.dataAfterCentralDirectory, cdEnd, nil, "\(directoryEnd &- cdEnd) bytes between the central directory and its end record")
      }
    }

    static func decodeName(_ bytes: [UInt8], utf8Flag: Bool) -> (text: String, invalid: Bool) {
      if let s = String(validating: bytes, as: UTF8.self) { return (s, false) }
      // Not UTF-8: show each byte as the code point of the same value (Latin-1), which keeps the
      // name distinguishable without guessing the code page. Invalid only if the UTF-8 flag promised UTF-8.
      var s = ""
      s.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
      return (s, utf8Flag)
    }

    static func zip64Extra(_ extra: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
      var r = ContainerByteReader(extra)
      while r.remaining >= 4 {
        guard let id = try? r.read(UInt16.self), let size = try? r.read(UInt16.self),
              let data = try? r.readSlice(Int(size)) else { return nil }
        if id == 0x0001 { return data }
      }
      return nil
    }

    static func extraFieldsWellFormed(_ extra: UnsafeRawBufferPointer) -> Bool {
      var r = ContainerByteReader(extra)
      while r.remaining >= 4 {
        guard (try? r.read(UInt16.self)) != nil, let size = try? r.read(UInt16.self),
              (try? r.skip(Int(size))) != nil else { return false }
      }
      return true  // a 1-3 byte tail is tolerated by every reader (Android padding)
    }
  }
}
