extension ContainerKind {
  /// Sniffs the kind of the file `file` from its bytes.
  public static func sniff(file: MappedFile) -> ContainerSniff {
    file.withBytes { sniff($0) }
  }

  /// Sniffs the kind of `bytes` (a whole file) from magic numbers and validated structure.
  ///
  /// Checks run from the most specific to the least: GGUF; safetensors (before pickle and gzip, whose
  /// 2-byte magics a header length can spell); NumPy; ZIP (classified by its listing as PyTorch,
  /// `.npz` or plain); compressors, tar, HDF5 (superblock at 0, 512, 1024, ...); executables; TFLite;
  /// the legacy `torch.save` magic pickle; pickles, validated by disassembling up to STOP; ONNX; JSON;
  /// text. ONNX has no magic: we walk top-level protobuf fields and require `ModelProto` field 1
  /// (`ir_version`, tag 0x08, value 1-63) first, only `ModelProto` field numbers with their wire types,
  /// lengths inside the file, and a `graph` (7) or `opset_import` (8) field.
  /// - Complexity: O(1) apart from bounded walks (ZIP directory, 100,000 pickle opcodes, 4,096
  ///   protobuf fields, 64 KiB of text).
  public static func sniff(_ b: UnsafeRawBufferPointer) -> ContainerSniff {
    let primary = sniffPrimary(b)
    switch primary.kind {
    case .zip, .pytorchZip, .numpyNPZ, .empty: return primary
    default: break
    }
    // A ZIP appended to another format is readable by ZIP tools (Python's zipfile accepts it).
    if let zip = try? ZipArchive(bytes: b, limits: ZipLimits(maxEntries: 100_000)), !zip.entries.isEmpty {
      return ContainerSniff(kind: primary.kind, confidence: primary.confidence, evidenceByteOffset: primary.evidenceByteOffset,
                            evidence: primary.evidence, appendedZipEndRecordOffset: zip.endOfCentralDirectoryOffset)
    }
    return primary
  }

  static func hex(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> String {
    guard at >= 0, at < b.count else { return "" }
    let end = min(b.count, at &+ n)
    return b[at..<end].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
  }

  static func sniffPrimary(_ b: UnsafeRawBufferPointer) -> ContainerSniff {
    let n = b.count
    if n == 0 { return ContainerSniff(kind: .empty, confidence: .certain, evidenceByteOffset: 0, evidence: "zero bytes") }

    // GGUF: "GGUF" then a u32 version.
    if b.hasBytes(Array("GGUF".utf8), at: 0) {
      if let v = b.loadLittleEndian(at: 4, as: UInt32.self) {
        if (1...3).contains(v) {
          return ContainerSniff(kind: .gguf, confidence: .certain, evidenceByteOffset: 0, evidence: "bytes 0-3 'GGUF', version \(v) little-endian")
        }
        if (1...3).contains(v.byteSwapped) {
          return ContainerSniff(kind: .ggufBigEndian, confidence: .certain, evidenceByteOffset: 0,
                                evidence: "bytes 0-3 'GGUF', version field \(hex(b, 4, 4)) = \(v.byteSwapped) only when read big-endian")
        }
      }
      return ContainerSniff(kind: .gguf, confidence: .medium, evidenceByteOffset: 0, evidence: "bytes 0-3 'GGUF', unknown version bytes \(hex(b, 4, 4))")
    }
    if b.hasBytes(Array("FUGG".utf8), at: 0), let v = b.loadLittleEndian(at: 4, as: UInt32.self), (1...3).contains(v.byteSwapped) {
      // gguf-py keeps the magic little-endian; a writer that swapped it too produces "FUGG".
      return ContainerSniff(kind: .ggufBigEndian, confidence: .high, evidenceByteOffset: 0,
                            evidence: "bytes 0-3 'FUGG' (GGUF magic byte-swapped), version \(v.byteSwapped) big-endian")
    }
    for (magic, name) in [("lmgg", "ggml"), ("fmgg", "ggmf"), ("tjgg", "ggjt"), ("algg", "ggla")] where b.hasBytes(Array(magic.utf8), at: 0) {
      return ContainerSniff(kind: .ggmlLegacy, confidence: .high, evidenceByteOffset: 0, evidence: "bytes 0-3 '\(magic)' (legacy '\(name)' magic, little-endian)")
    }
    if let s = sniffSafetensors(b) { return s }
    if b.hasBytes([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59], at: 0) {
      let version = n >= 8 ? "\(b[6]).\(b[7])" : "?"
      return ContainerSniff(kind: .numpyNPY, confidence: (n >= 8 && (1...3).contains(b[6])) ? .certain : .high,
                            evidenceByteOffset: 0, evidence: "bytes 0-5 '\\x93NUMPY', version \(version)")
    }
    if b.hasBytes([0x50, 0x4B, 0x03, 0x04], at: 0) || b.hasBytes([0x50, 0x4B, 0x05, 0x06], at: 0) || b.hasBytes([0x50, 0x4B, 0x07, 0x08], at: 0) {
      return sniffZip(b, magic: "bytes 0-3 \(hex(b, 0, 4)) ('PK' ZIP signature)")
    }
    if b.hasBytes([0x1F, 0x8B], at: 0) {
      let deflate = n > 2 && b[2] == 8
      return ContainerSniff(kind: .gzip, confidence: deflate ? .high : .medium, evidenceByteOffset: 0,
                            evidence: "bytes 0-2 \(hex(b, 0, 3)) (gzip magic\(deflate ? ", method deflate" : ""))")
    }
    if b.hasBytes([0x42, 0x5A, 0x68], at: 0), n > 3, (0x31...0x39).contains(b[3]) {
      return ContainerSniff(kind: .bzip2, confidence: .high, evidenceByteOffset: 0, evidence: "bytes 0-3 'BZh\(Character(Unicode.Scalar(b[3])))'")
    }
    if b.hasBytes([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], at: 0) {
      return ContainerSniff(kind: .xz, confidence: .certain, evidenceByteOffset: 0, evidence: "bytes 0-5 \(hex(b, 0, 6)) (xz magic)")
    }
    if b.hasBytes([0x28, 0xB5, 0x2F, 0xFD], at: 0) {
      return ContainerSniff(kind: .zstd, confidence: .high, evidenceByteOffset: 0, evidence: "bytes 0-3 \(hex(b, 0, 4)) (zstd magic)")
    }
    if b.hasBytes([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], at: 0) {
      return ContainerSniff(kind: .sevenZip, confidence: .certain, evidenceByteOffset: 0, evidence: "bytes 0-5 \(hex(b, 0, 6)) (7z magic)")
    }
    // HDF5 superblock: at 0, 512, 1024, 2048, ... (HDF5 spec, "Format Signature").
    let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    var at = 0
    while at <= n &- 8 {
      if b.hasBytes(hdf5, at: at) {
        return ContainerSniff(kind: .hdf5, confidence: .certain, evidenceByteOffset: at, evidence: "bytes \(at)-\(at &+ 7) '\\x89HDF\\r\\n\\x1a\\n' (HDF5 superblock)")
      }
      at = at == 0 ? 512 : at.multipliedReportingOverflow(by: 2).overflow ? n : at &* 2
    }
    if b.hasBytes(Array("ustar".utf8), at: 257) {
      return ContainerSniff(kind: .tar, confidence: .high, evidenceByteOffset: 257, evidence: "bytes 257-261 'ustar' (POSIX tar)")
    }
    if b.hasBytes([0x7F, 0x45, 0x4C, 0x46], at: 0) {
      return ContainerSniff(kind: .elf, confidence: .high, evidenceByteOffset: 0, evidence: "bytes 0-3 '\\x7fELF'")
    }
    if b.hasBytes([0x4D, 0x5A], at: 0) {
      if let pe = b.loadLittleEndian(at: 0x3C, as: UInt32.self).flatMap({ Int(exactly: $0) }), b.hasBytes([0x50, 0x45, 0, 0], at: pe) {
        return ContainerSniff(kind: .portableExecutable, confidence: .high, evidenceByteOffset: pe, evidence: "'MZ' at 0 and 'PE\\0\\0' at \(pe)")
      }
    }
    for m: [UInt8] in [[0xFE, 0xED, 0xFA, 0xCE], [0xFE, 0xED, 0xFA, 0xCF], [0xCE, 0xFA, 0xED, 0xFE], [0xCF, 0xFA, 0xED, 0xFE]] where b.hasBytes(m, at: 0) {
      return ContainerSniff(kind: .machO, confidence: .high, evidenceByteOffset: 0, evidence: "bytes 0-3 \(hex(b, 0, 4)) (Mach-O magic)")
    }
    if b.hasBytes(Array("TFL3".utf8), at: 4) {
      return ContainerSniff(kind: .tflite, confidence: .high, evidenceByteOffset: 4, evidence: "bytes 4-7 'TFL3' (TFLite flatbuffer identifier)")
    }
    // Legacy torch.save: protocol-2 pickle of LONG1 0x1950a86a20f9469cfc6c (torch/serialization.py MAGIC_NUMBER).
    let torchMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    if b.hasBytes(torchMagic, at: 0) {
      return ContainerSniff(kind: .pytorchLegacy, confidence: .certain, evidenceByteOffset: 0,
                            evidence: "bytes 0-13 \(hex(b, 0, 14)): pickle of torch's magic number 0x1950a86a20f9469cfc6c")
    }
    if let s = sniffPickle(b) { return s }
    if let s = sniffONNX(b) { return s }
    if let s = sniffText(b) { return s }
    return ContainerSniff(kind: .unknown, confidence: .low, evidenceByteOffset: 0, evidence: "first bytes \(hex(b, 0, 16))")
  }

  static func sniffSafetensors(_ b: UnsafeRawBufferPointer) -> ContainerSniff? {
    guard let raw = b.loadLittleEndian(at: 0, as: UInt64.self), raw >= 2, raw <= 100_000_000,
          let len = Int(exactly: raw), len <= b.count &- 8, b[8] == 0x7B else { return nil }
    // The crate pads the header with spaces; its last non-space byte closes the object.
    var end = 8 &+ len &- 1
    while end > 8, b[end] == 0x20 { end &-= 1 }
    guard b[end] == 0x7D else {
      return ContainerSniff(kind: .safetensors, confidence: .low, evidenceByteOffset: 0,
                            evidence: "header length \(len) (bytes 0-7) and '{' at byte 8, but the header does not end with '}'")
    }
    let quoted = b.count > 9 && (b[9] == 0x22 || b[9] == 0x7D || b[9] == 0x20 || b[9] == 0x0A)
    return ContainerSniff(kind: .safetensors, confidence: quoted ? .high : .medium, evidenceByteOffset: 0,
                          evidence: "bytes 0-7 header length \(len) (LE), '{' at byte 8, '}' at byte \(end)")
  }

  static func sniffZip(_ b: UnsafeRawBufferPointer, magic: String) -> ContainerSniff {
    let zip: ZipArchive
    do {
      zip = try ZipArchive(bytes: b, limits: ZipLimits(maxEntries: 1_000_000))
    } catch {
      return ContainerSniff(kind: .zip, confidence: .medium, evidenceByteOffset: 0, evidence: "\(magic); directory unreadable: \(error)")
    }
    let where_ = "\(magic); end record at \(zip.endOfCentralDirectoryOffset), \(zip.entries.count) members"
    if let pkl = zip.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) {
      let scripted = zip.entries.contains { $0.name.hasSuffix("/constants.pkl") }
      return ContainerSniff(kind: .pytorchZip, confidence: .certain, evidenceByteOffset: pkl.centralHeaderOffset,
                            evidence: "\(where_); member '\(pkl.name)'\(scripted ? " and constants.pkl (TorchScript)" : "")")
    }
    let files = zip.entries.filter { !$0.isDirectory }
    if !files.isEmpty, files.allSatisfy({ $0.name.hasSuffix(".npy") }) {
      return ContainerSniff(kind: .numpyNPZ, confidence: .high, evidenceByteOffset: 0, evidence: "\(where_), all '.npy'")
    }
    return ContainerSniff(kind: .zip, confidence: .certain, evidenceByteOffset: 0, evidence: where_)
  }

  static let sniffPickleLimits = PickleLimits(
    maxInstructions: 100_000, maxStackDepth: 100_000, maxMemoEntries: 100_000, recordInstructions: false)

  static func sniffPickle(_ b: UnsafeRawBufferPointer) -> ContainerSniff? {
    let first = b[0]
    if first == 0x80 {
      guard b.count > 1, (2...5).contains(b[1]) else { return nil }
      let d = PickleDisassembler.scan(b, limits: sniffPickleLimits)
      switch d.error {
      case nil:
        return ContainerSniff(kind: .pickle, confidence: .certain, evidenceByteOffset: 0,
                              evidence: "bytes 0-1 \(hex(b, 0, 2)) (PROTO \(b[1])); \(d.instructionCount) opcodes up to STOP at byte \(d.endOffset &- 1)")
      case .pickleLimitExceeded?:
        return ContainerSniff(kind: .pickle, confidence: .high, evidenceByteOffset: 0,
                              evidence: "bytes 0-1 \(hex(b, 0, 2)) (PROTO \(b[1])); first \(d.instructionCount) opcodes valid")
      case let e?:
        return ContainerSniff(kind: .pickle, confidence: d.instructionCount >= 4 ? .medium : .low, evidenceByteOffset: 0,
                              evidence: "bytes 0-1 \(hex(b, 0, 2)) (PROTO \(b[1])), then \(d.instructionCount) opcodes before: \(e)")
      }
    }
    // Protocols 0 and 1 have no header: accept only a stream that disassembles to STOP.
    guard Array("(}])cNILFSVJKMTUXGP".utf8).contains(first) else { return nil }
    let d = PickleDisassembler.scan(b, limits: sniffPickleLimits)
    if case .pickleLimitExceeded? = d.error, d.instructionCount >= 1000 {
      // A big protocol 0 pickle is ASCII: do not let it fall through to "text".
      return ContainerSniff(kind: .pickle, confidence: .medium, evidenceByteOffset: 0,
                            evidence: "byte 0 \(hex(b, 0, 1)); first \(d.instructionCount) protocol 0/1 opcodes valid (walk limit reached)")
    }
    guard d.error == nil, d.instructionCount >= 2 else { return nil }
    let atEnd = d.endOffset == b.count || (d.endOffset == b.count &- 1 && b[b.count &- 1] == 0x0A)
    let confidence: SniffConfidence = d.instructionCount >= 3 && atEnd ? .high : atEnd ? .medium : .low
    let opcode = PickleOpcode(rawValue: first)?.name ?? "?"
    return ContainerSniff(kind: .pickle, confidence: confidence, evidenceByteOffset: 0,
                          evidence: "byte 0 \(hex(b, 0, 1)) (\(opcode)); protocol 0/1 stream of \(d.instructionCount) opcodes up to STOP at byte \(d.endOffset &- 1)\(atEnd ? " (end of file)" : ", data follows")")
  }

  /// Protobuf `ModelProto` walk (see `sniff`).
  static func sniffONNX(_ b: UnsafeRawBufferPointer) -> ContainerSniff? {
    guard b[0] == 0x08 else { return nil }
    // field number -> wire type (0 varint, 2 length-delimited), onnx.proto ModelProto
    let fields: [UInt64: UInt64] = [1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2]
    var r = ContainerByteReader(b)
    func varint(_ r: inout ContainerByteReader) -> UInt64? {
      var v: UInt64 = 0
      for i in 0..<10 {
        guard let byte = try? r.read(UInt8.self) else { return nil }
        v |= UInt64(byte & 0x7F) << (7 &* UInt64(i))
        if byte & 0x80 == 0 { return v }
      }
      return nil
    }
    var seen: Set<UInt64> = []
    var irVersion: UInt64 = 0
    var count = 0
    while !r.isAtEnd, count < 4096 {
      guard let key = varint(&r), let wire = fields[key >> 3], key & 7 == wire else { return nil }
      let field = key >> 3
      if count == 0, field != 1 { return nil }
      if wire == 0 {
        guard let v = varint(&r) else { return nil }
        if field == 1 { irVersion = v }
      } else {
        guard let len = varint(&r), let l = Int(exactly: len), l <= r.remaining else { return nil }
        try? r.skip(l)
      }
      seen.insert(field)
      count &+= 1
    }
    guard (1...63).contains(irVersion), seen.contains(7) || seen.contains(8) else { return nil }
    let complete = r.isAtEnd && seen.contains(7) && seen.contains(8)
    return ContainerSniff(kind: .onnx, confidence: complete ? .high : .medium, evidenceByteOffset: 0,
                          evidence: "protobuf ModelProto: ir_version \(irVersion) (tag 0x08 at byte 0), fields \(seen.sorted())\(complete ? ", walk ends at end of file" : "")")
  }

  static func sniffText(_ b: UnsafeRawBufferPointer) -> ContainerSniff? {
    let window = min(b.count, 1 << 16)
    var slice = Array(b[0..<window])
    // A multi-byte character cut by the window is not an error: drop up to 3 trailing bytes.
    if window < b.count {
      var k = 0
      while k < 3, let l = slice.last, l & 0xC0 == 0x80 || l >= 0xC0 { slice.removeLast(); k &+= 1; if l >= 0xC0 { break } }
    }
    guard let s = String(validating: slice, as: UTF8.self) else { return nil }
    var controls = 0
    for u in s.utf8 where u < 0x20 && u != 0x09 && u != 0x0A && u != 0x0D && u != 0x0C {
      if u == 0 { return nil }
      controls &+= 1
    }
    guard controls &* 100 <= slice.count else { return nil }
    let trimmed = s.drop { $0.isWhitespace }
    if let f = trimmed.first, f == "{" || f == "[" {
      var e = b.count &- 1
      while e > 0, [0x20, 0x09, 0x0A, 0x0D].contains(b[e]) { e &-= 1 }
      let closes = (f == "{" && b[e] == 0x7D) || (f == "[" && b[e] == 0x5D)
      return ContainerSniff(kind: .json, confidence: closes ? .high : .low, evidenceByteOffset: 0,
                            evidence: "UTF-8 text opening with '\(f)'\(closes ? " and closing with '\(f == "{" ? "}" : "]")' at byte \(e)" : "")")
    }
    return ContainerSniff(kind: .text, confidence: .medium, evidenceByteOffset: 0, evidence: "first \(slice.count) bytes are UTF-8 text without NUL")
  }
}
