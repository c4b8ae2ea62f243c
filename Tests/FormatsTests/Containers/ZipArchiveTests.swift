import Testing
@testable import Formats

@Suite struct ZipArchiveTests {
  static func open(_ name: String) throws -> (ZipArchive, [UInt8]) {
    let bytes = try ContainerFixtures.bytes(name)
    let zip = try withRaw(bytes) { (p) throws(ContainerError) in try ZipArchive(bytes: p) }
    return (zip, bytes)
  }

  static func extract(_ zip: ZipArchive, _ bytes: [UInt8], _ entry: ZipEntry, limits: ZipExtractionLimits) throws(ContainerError) -> [UInt8] {
    try withRaw(bytes) { (p) throws(ContainerError) in try zip.extract(entry, from: p, limits: limits) }
  }

  /// A torch-style checkpoint lists its members in order, with stored data that extracts CRC-checked.
  @Test func torchCheckpointListsAndExtracts() throws {
    let (zip, bytes) = try Self.open("torch_checkpoint.pt")
    #expect(zip.entries.map(\.name) == ["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"])
    #expect(zip.anomalies.isEmpty, "\(zip.anomalies)")
    let byteorder = try #require(zip.entry(named: "archive/byteorder"))
    #expect(try Self.extract(zip, bytes, byteorder, limits: .init(maxOutputBytes: 100)) == Array("little".utf8))
  }

  /// A deflated member inflates (zlib raw deflate) to the declared bytes and CRC.
  @Test func deflatedMemberInflates() throws {
    let (zip, bytes) = try Self.open("torch_malicious_deflated.pt")
    let entry = try #require(zip.entry(named: "archive/data.pkl"))
    #expect(entry.method == 8)
    let out = try Self.extract(zip, bytes, entry, limits: .init(maxOutputBytes: 1 << 20))
    #expect(out == (try ContainerFixtures.bytes("malicious_os_system_p4.pkl")))
  }

  /// The same 10 MiB-of-zeros member: refused by the declared size over the limit, by the ratio
  /// (~1000:1 over 1 MiB), and when the declared size lies (small) the inflation stops at it.
  @Test func zipBombsAreRefusedWithTheBound() throws {
    let (honest, hb) = try Self.open("bomb_honest.zip")
    let e = try #require(honest.entries.first)
    #expect(throws: ContainerError.zipBomb(member: "zeros.bin", offset: e.centralHeaderOffset + 24,
                                           reason: .declaredSizeExceedsLimit(declared: 10 << 20), limit: 1 << 20)) {
      try Self.extract(honest, hb, e, limits: .init(maxOutputBytes: 1 << 20))
    }
    do {
      _ = try Self.extract(honest, hb, e, limits: .init(maxOutputBytes: 1 << 30))
      Issue.record("a 1000:1 member was inflated")
    } catch {
      guard case .zipBomb(_, _, .ratioExceeded(let out, let input, 1000), _) = error else { Issue.record("\(error)"); return }
      #expect(out > 1000 * input)
    }
    // With a generous ratio the honest member does inflate, exactly and CRC-checked.
    let all = try Self.extract(honest, hb, e, limits: .init(maxOutputBytes: 1 << 30, maxRatio: 5000))
    #expect(all.count == 10 << 20 && all.allSatisfy { $0 == 0 })

    let (huge, hgb) = try Self.open("bomb_declared_huge.zip")
    #expect(throws: ContainerError.zipBomb(member: "zeros.bin", offset: huge.entries[0].centralHeaderOffset + 24,
                                           reason: .declaredSizeExceedsLimit(declared: 0xFFFF_FFFE), limit: 64 << 20)) {
      try Self.extract(huge, hgb, huge.entries[0], limits: .init(maxOutputBytes: 64 << 20))
    }
    let (lying, lb) = try Self.open("bomb_lying_small.zip")
    #expect(lying.anomalies.isEmpty)  // patched consistently in both headers
    do {
      _ = try Self.extract(lying, lb, lying.entries[0], limits: .init(maxOutputBytes: 64 << 20, maxRatio: 1 << 30))
      Issue.record("a lying member was inflated")
    } catch {
      guard case .zipBomb(_, _, .inflatedPastDeclaredSize(declared: 1000), _) = error else { Issue.record("\(error)"); return }
    }
    // A lying member under a small limit stops at the limit, never allocating beyond it + one chunk.
    var big = lying.entries[0]
    big = ZipEntry(index: 0, name: big.name, nameBytes: big.nameBytes, centralHeaderOffset: big.centralHeaderOffset,
                   localHeaderOffset: big.localHeaderOffset, dataOffset: big.dataOffset, method: 8, flags: 0, crc32: big.crc32,
                   compressedSize: big.compressedSize, uncompressedSize: 100, versionMadeBy: 0, externalAttributes: 0, usesZip64: false)
    do {
      _ = try Self.extract(lying, lb, big, limits: .init(maxOutputBytes: 200, maxRatio: 1 << 30))
      Issue.record("inflated past the limit")
    } catch {
      guard case .zipBomb(_, _, .inflatedSizeExceedsLimit(let produced), 200) = error else { Issue.record("\(error)"); return }
      #expect(produced <= 200 + Inflater.chunkSize)
    }
  }

  /// Member A's data contains member B's local header: the overlap is an anomaly; both still extract.
  @Test func overlappingMembersAreDetected() throws {
    let (zip, bytes) = try Self.open("overlapping.zip")
    #expect(zip.anomalies.map(\.kind) == [.overlappingMembers])
    #expect(zip.anomalies.first?.member == "b.txt")
    let b = try Self.extract(zip, bytes, zip.entries[1], limits: .init(maxOutputBytes: 100))
    #expect(b == Array("payload-of-b".utf8))
  }

  /// Path traversal, absolute paths, NUL in names and duplicate names are reported with the member.
  @Test func dangerousNamesAreReported() throws {
    let (zip, _) = try Self.open("bad_names.zip")
    let kinds = zip.anomalies.map { "\($0.kind.rawValue):\($0.member ?? "")" }
    #expect(kinds.contains("pathTraversal:../evil.txt"))
    #expect(kinds.contains("absolutePath:/etc/passwd"))
    #expect(kinds.contains("nulInName:a\u{0}b"))
    #expect(kinds.contains("duplicateName:dup"))
    #expect(zip.entries(named: "dup").count == 2)
    #expect(zip.entry(named: "dup")?.index == 4)  // the last wins, as in Python's zipfile
  }

  /// Bytes before the archive shift offsets (as Python's zipfile accepts); bytes hidden between the
  /// central directory and the end record are reported.
  @Test func polyglotBytesAreReported() throws {
    let (prefixed, pb) = try Self.open("prefixed.zip")
    #expect(prefixed.prependedByteCount == 12)
    #expect(prefixed.anomalies.map(\.kind) == [.offsetsShifted, .dataBeforeFirstMember])
    #expect(try Self.extract(prefixed, pb, prefixed.entries[0], limits: .init(maxOutputBytes: 10)) == Array("hello".utf8))
    let (hidden, _) = try Self.open("hidden_after_cd.zip")
    #expect(hidden.anomalies.map(\.kind) == [.dataAfterCentralDirectory])
    #expect(hidden.anomalies.first?.detail.hasPrefix("6 bytes") == true)
  }

  /// ZIP64 end record, locator and extra fields are honoured.
  @Test func zip64IsRead() throws {
    let (zip, bytes) = try Self.open("zip64.zip")
    #expect(zip.zip64EndOfCentralDirectoryOffset != nil)
    #expect(zip.entries.count == 1 && zip.entries[0].usesZip64)
    #expect(zip.anomalies.isEmpty, "\(zip.anomalies)")
    #expect(try Self.extract(zip, bytes, zip.entries[0], limits: .init(maxOutputBytes: 100)) == Array("zip64-member".utf8))
  }

  /// Unknown methods and encryption are typed errors naming the member and method.
  @Test func unsupportedMethodAndEncryptionAreTyped() throws {
    let (m, mb) = try Self.open("method_bzip2.zip")
    #expect(m.anomalies.map(\.kind) == [.unsupportedMethod])
    #expect(throws: ContainerError.zipUnsupportedMethod(member: "m.bin", offset: m.entries[0].centralHeaderOffset + 10, method: 12, methodName: "bzip2")) {
      try Self.extract(m, mb, m.entries[0], limits: .init(maxOutputBytes: 100))
    }
    let (e, eb) = try Self.open("encrypted.zip")
    #expect(throws: ContainerError.zipEncryptedMember(member: "e.bin", offset: e.entries[0].centralHeaderOffset + 8)) {
      try Self.extract(e, eb, e.entries[0], limits: .init(maxOutputBytes: 100))
    }
  }

  /// A flipped data byte is a CRC mismatch; an empty archive lists nothing.
  @Test func crcMismatchAndEmptyArchive() throws {
    var (zip, bytes) = try Self.open("torch_checkpoint.pt")
    let entry = try #require(zip.entry(named: "archive/version"))
    bytes[try #require(entry.dataOffset)] ^= 0x01
    zip = try withRaw(bytes) { (p) throws(ContainerError) in try ZipArchive(bytes: p) }
    #expect(throws: ContainerError.zipCRCMismatch(member: "archive/version", offset: entry.centralHeaderOffset + 16,
                                                  declared: entry.crc32, actual: ZipArchive.crc32(Array("2\n".utf8)))) {
      try Self.extract(zip, bytes, entry, limits: .init(maxOutputBytes: 100))
    }
    let (empty, _) = try Self.open("empty.zip")
    #expect(empty.entries.isEmpty && empty.anomalies.isEmpty)
  }

  /// No end record, and a central directory offset past the end, are typed errors.
  @Test func unreadableDirectoriesThrow() throws {
    #expect(throws: ContainerError.zipEndOfCentralDirectoryNotFound(searchedFrom: 0)) {
      try withRaw([UInt8](repeating: 0, count: 100)) { (p) throws(ContainerError) in _ = try ZipArchive(bytes: p) }
    }
    var eocd: [UInt8] = [0x50, 0x4B, 5, 6, 0, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0]
    #expect(throws: ContainerError.lengthTooLarge(offset: 12, field: "central directory size", value: 46, limit: 0)) {
      try withRaw(eocd) { (p) throws(ContainerError) in _ = try ZipArchive(bytes: p) }
    }
    eocd[12] = 0
    #expect(throws: ContainerError.lengthTooLarge(offset: 16, field: "central directory offset", value: 0xFFFF, limit: 22)) {
      try withRaw(eocd) { (p) throws(ContainerError) in _ = try ZipArchive(bytes: p) }
    }
  }

  /// extractPrefix inflates only what it is asked for.
  @Test func prefixExtractionIsBounded() throws {
    let (zip, bytes) = try Self.open("bomb_declared_huge.zip")
    let head = try withRaw(bytes) { (p) throws(ContainerError) in try zip.extractPrefix(zip.entries[0], from: p, byteCount: 1000) }
    #expect(head.count == 1000 && head.allSatisfy { $0 == 0 })
  }
}

@Suite struct ZipRealLayoutTests {
  /// Members written with data descriptors (flag bit 3, sizes after the data) list with no gap
  /// anomalies and extract with their CRC checked.
  @Test func dataDescriptorsAreAccountedFor() throws {
    let (zip, bytes) = try ZipArchiveTests.open("data_descriptors.zip")
    #expect(zip.entries.map(\.name) == ["s.txt", "d.txt"])
    #expect(zip.entries.allSatisfy { $0.hasDataDescriptor })
    #expect(zip.anomalies.isEmpty, "\(zip.anomalies)")
    #expect(try ZipArchiveTests.extract(zip, bytes, zip.entries[0], limits: .init(maxOutputBytes: 100)) == Array("stored with descriptor".utf8))
    let d = try ZipArchiveTests.extract(zip, bytes, zip.entries[1], limits: .init(maxOutputBytes: 1000))
    #expect(d == Array(String(repeating: "deflated ", count: 50).utf8))
  }

  /// A file written by a real torch.save (descriptors, UTF-8 flag, 64-byte alignment padding) lists
  /// cleanly, every member extracts, and its data.pkl disassembles exactly as pickletools reads it.
  @Test func realTorchSaveFile() throws {
    let (zip, bytes) = try ZipArchiveTests.open("torch_real_save.pt")
    #expect(zip.anomalies.isEmpty, "\(zip.anomalies)")
    #expect(bytes.withUnsafeBytes { ContainerKind.sniff($0) }.kind == .pytorchZip)
    for e in zip.entries {
      _ = try ZipArchiveTests.extract(zip, bytes, e, limits: .init(maxOutputBytes: 1 << 20))
    }
    let member = try #require(ContainerFixtures.expected["torch_real_member"] as? String)
    let entry = try #require(zip.entry(named: member))
    let pkl = try ZipArchiveTests.extract(zip, bytes, entry, limits: .init(maxOutputBytes: 1 << 20))
    let expected = try #require(ContainerFixtures.section("pickles")["torch_real_save.pt:" + member] as? [String: Any])
    let d = try PickleDisassemblerTests.disassemble(pkl)
    PickleDisassemblerTests.check(d, against: expected, "real torch data.pkl")
    #expect(d.globals.contains { $0.qualifiedName == "torch._utils._rebuild_tensor_v2" })
    #expect(d.persistentLoadOffsets.count == 2)
  }

  /// Every anomaly has a stable `zip.` code.
  @Test func anomalyCodesAreStable() throws {
    let (zip, _) = try ZipArchiveTests.open("overlapping.zip")
    #expect(zip.anomalies.map(\.code) == ["zip.overlappingMembers"])
  }
}
