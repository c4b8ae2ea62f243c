/// The fast path of ``SafetensorsParser/parse(_:)``: one pass over the header bytes that reads tensor entries
/// straight into ``SafetensorsTensorInfo`` values, without building a ``JSONValue`` tree.
///
/// It accepts exactly the files the reference path (``SafetensorsParser/parseReference(_:)``) accepts and returns the
/// same layout, anomalies and their order included. So that this holds without a second copy of every rule:
/// - an entry written the way writers write it (a key without escapes, `dtype`, `shape` and `data_offsets` once
///   each, unsigned integers without fraction or exponent) is decoded here, and checked here against the same
///   rules (known dtype, product and byte size without overflow, offsets inside the data, size = elements × bits);
/// - anything else in an entry (escapes, unknown or repeated fields, other value types, `-0`, a broken rule), and
///   every `__metadata__` value, goes through ``JSONParser`` from the same byte offset at the same depth and key path
///   and is judged by the reference path's own entry rules;
/// - root keys are ordinary JSON strings (escapes decoded by ``JSONParser``), compared and hashed as Swift strings
///   like the reference path does, so duplicates are found and the last one wins in the same cases;
/// - anything the reference path would reject makes ``scan(_:)`` return `nil`, and the caller runs the reference
///   path, which throws the error with its offset. A rejected file is parsed twice (both linear); an accepted one once.
struct SafetensorsHeaderScanner {
  /// The header JSON (`8 ..< 8 + N` of the file); offsets inside the scanner are relative to it, as in ``JSONParser``.
  private let header: UnsafeRawBufferPointer
  private let dataOffset: Int
  private let dataSize: Int
  private var i = 0
  /// Tensor entries decoded by ``plainEntry(name:keyByteOffset:)``.
  private var plainEntryCount = 0

  /// One member of the root object, in header order. Tensors themselves go straight into `tensors`.
  private struct Member {
    enum Kind {
      /// `tensors[slot]`.
      case tensor(slot: Int)
      /// `__metadata__`, its value in `metadataValues[slot]`; judged only if this member wins.
      case metadata(slot: Int)
      /// An entry that breaks a rule: fatal only if this member wins.
      case invalid
    }
    let keyByteOffset: Int
    let kind: Kind
    /// A later member has the same key (the last one wins, as in the reference readers).
    var isSuperseded = false
  }

  /// The layout of `bytes` (a whole safetensors file), or `nil` when the reference path must decide.
  /// - Complexity: O(n) in the header length.
  static func scan(_ bytes: UnsafeRawBufferPointer) -> SafetensorsLayout? { scanCountingPlainEntries(bytes).layout }

  /// ``scan(_:)``, also telling how many tensor entries the scanner decoded itself (the rest went through
  /// ``JSONParser``), so tests can see that the usual form really takes the fast path.
  static func scanCountingPlainEntries(_ bytes: UnsafeRawBufferPointer) -> (layout: SafetensorsLayout?, plainEntries: Int) {
    guard let (header, leadingAnomalies) = try? SafetensorsParser.prelude(bytes) else { return (nil, 0) }
    // can't overflow: prelude checked 8 + header.count <= bytes.count
    var scanner = SafetensorsHeaderScanner(header: header, dataOffset: 8 &+ header.count,
      dataSize: bytes.count &- 8 &- header.count)
    let layout = scanner.run(fileSize: bytes.count, leadingAnomalies: leadingAnomalies)
    return (layout, scanner.plainEntryCount)
  }

  private init(header: UnsafeRawBufferPointer, dataOffset: Int, dataSize: Int) {
    self.header = header
    self.dataOffset = dataOffset
    self.dataSize = dataSize
  }

  // MARK: - Root object

  private mutating func run(fileSize: Int, leadingAnomalies: [Anomaly]) -> SafetensorsLayout? {
    skipWhitespace()
    guard next(is: "{") else { return nil }
    var members: [Member] = []
    var tensors: [SafetensorsTensorInfo] = []
    var metadataValues: [JSONValue] = []
    /// Root key → its first and last member. Swift `String` equality and hashing: canonically equivalent keys with
    /// different bytes meet here, and are handed to the reference path (which refuses them, see ExactName).
    var keyMembers: [String: (first: Int, last: Int)] = [:]
    // A guess from the header size (real entries take 60-200 bytes); capped so a huge header cannot reserve much.
    let guess = min(header.count / 64, 1 << 16)
    members.reserveCapacity(guess)
    tensors.reserveCapacity(guess)
    keyMembers.reserveCapacity(guess)
    var duplicates: [JSONDuplicateKey] = []
    var memberAnomalies: [(member: Int, anomaly: Anomaly)] = []
    var hasDuplicateKeys = false

    skipWhitespace()
    if !next(is: "}") {
      while true {
        skipWhitespace()
        guard peek(is: "\"") else { return nil }
        let keyByteOffset = i
        guard let (key, isPlain, isMetadata) = readKey() else { return nil }
        skipWhitespace()
        guard next(is: ":") else { return nil }
        skipWhitespace()
        let member = members.count
        let kind: Member.Kind
        if isMetadata {
          // JSONParser pushes the member's key before parsing its value, so nested duplicates carry it in their path
          guard let parsed = try? JSONParser.parseValue(in: header, at: i, depth: 1, keyPath: [key]) else { return nil }
          i = parsed.endByteOffset
          duplicates += parsed.duplicateKeys
          kind = .metadata(slot: metadataValues.count)
          metadataValues.append(parsed.value)
        } else if let tensor = plainEntry(name: key, keyByteOffset: keyByteOffset) {
          kind = .tensor(slot: tensors.count)
          tensors.append(tensor)
          if !isPlain, let odd = SafetensorsParser.oddNameAnomaly(key, at: 8 &+ keyByteOffset) {
            memberAnomalies.append((member, odd))
          }
        } else {
          guard let parsed = try? JSONParser.parseValue(in: header, at: i, depth: 1, keyPath: [key]) else { return nil }
          i = parsed.endByteOffset
          duplicates += parsed.duplicateKeys
          var anomalies: [Anomaly] = []
          if let tensor = try? SafetensorsParser.tensorInfo(name: key, keyByteOffset: keyByteOffset, value: parsed.value,
            dataOffset: dataOffset, dataSize: dataSize, anomalies: &anomalies)
          {
            kind = .tensor(slot: tensors.count)
            tensors.append(tensor)
            for a in anomalies { memberAnomalies.append((member, a)) }
          } else {
            kind = .invalid
          }
        }
        members.append(Member(keyByteOffset: keyByteOffset, kind: kind))
        // After the value, as JSONParser does, so duplicates inside the value come first. One hash lookup.
        if let first = Self.record(member, in: &keyMembers[key, default: (-1, -1)], superseding: &members) {
          // The table keeps the first spelling: a different one is an equivalent, not a duplicate.
          guard let slot = keyMembers.index(forKey: key), keyMembers[slot].key.hasSameBytes(as: key) else { return nil }
          hasDuplicateKeys = true
          duplicates.append(JSONDuplicateKey(objectPath: "", key: key,
            firstByteOffset: members[first].keyByteOffset, duplicateByteOffset: keyByteOffset))
        }
        skipWhitespace()
        if next(is: ",") { continue }
        if next(is: "}") { break }
        return nil
      }
    }
    skipWhitespace()
    guard i == header.count else { return nil }  // trailing data

    // Assemble as the reference path does: duplicates, then for each winning member in order its anomalies.
    var anomalies = leadingAnomalies
    for d in duplicates { anomalies.append(SafetensorsParser.duplicateKeyAnomaly(d)) }
    var metadata: [String: String]? = nil
    var nextAnomaly = 0
    for (m, member) in members.enumerated() where !member.isSuperseded {
      switch member.kind {
      case .tensor: break
      case .metadata(let slot):
        let value = metadataValues[slot]
        if value == .null { break }  // serde's Option accepts null
        guard let map = try? SafetensorsParser.metadataMap(value, keyByteOffset: member.keyByteOffset) else { return nil }
        metadata = map
      case .invalid: return nil
      }
      // memberAnomalies is in member order; skip those of superseded members
      while nextAnomaly < memberAnomalies.count, memberAnomalies[nextAnomaly].member < m { nextAnomaly &+= 1 }
      while nextAnomaly < memberAnomalies.count, memberAnomalies[nextAnomaly].member == m {
        anomalies.append(memberAnomalies[nextAnomaly].anomaly)
        nextAnomaly &+= 1
      }
    }
    var index: [String: Int]? = nil
    if hasDuplicateKeys {
      var winners: [SafetensorsTensorInfo] = []
      winners.reserveCapacity(tensors.count)
      for member in members where !member.isSuperseded {
        if case .tensor(let slot) = member.kind { winners.append(tensors[slot]) }
      }
      tensors = winners
    } else {
      // Every key is a tensor name but at most one `__metadata__`: reuse this table as the name index (mapValues
      // keeps the buckets, so no name is hashed again).
      keyMembers.removeValue(forKey: "__metadata__")
      index = keyMembers.mapValues { entry in
        if case .tensor(let slot) = members[entry.last].kind { slot } else { -1 }  // can't be -1: checked above
      }
    }
    return try? SafetensorsParser.finish(fileSize: fileSize, header: header, tensors: tensors, metadata: metadata,
      anomalies: anomalies, tensorIndex: index)
  }

  /// Notes that `member` has the key whose `entry` (first and last member, `-1` when new) is given, marking the
  /// previous last member superseded.
  /// - Returns: the key's first member when `member` repeats it.
  private static func record(_ member: Int, in entry: inout (first: Int, last: Int), superseding members: inout [Member])
    -> Int?
  {
    guard entry.first >= 0 else {
      entry = (member, member)
      return nil
    }
    members[entry.last].isSuperseded = true
    entry.last = member
    return entry.first
  }

  /// Reads the JSON string at `i` (its opening quote). `isPlain`: non-empty printable ASCII without escapes, so it
  /// cannot be an odd tensor name. `isMetadata`: the string is `__metadata__`.
  private mutating func readKey() -> (key: String, isPlain: Bool, isMetadata: Bool)? {
    let start = i &+ 1
    var j = start
    var printable = true
    while j < header.count {
      let c = header[j]
      if c == UInt8(ascii: "\"") { break }
      if c == UInt8(ascii: "\\") {
        guard let (s, end) = try? JSONParser.parseString(in: header, at: i) else { return nil }
        i = end
        return (s, false, s == "__metadata__")
      }
      if c < 0x20 { return nil }
      if c >= 0x7F { printable = false }
      j &+= 1
    }
    guard j < header.count else { return nil }
    let raw = UnsafeRawBufferPointer(rebasing: header[start..<j])
    let s: String
    if printable {
      // can't replace anything: every byte is printable ASCII, which is valid UTF-8 as it stands (and this spares
      // the generic validating initialiser, which is most of the cost of a short key)
      s = String(decoding: raw, as: UTF8.self)
    } else {
      guard let v = String(validating: raw, as: UTF8.self) else { return nil }
      s = v
    }
    i = j &+ 1
    return (s, printable && j > start, printable && Self.equals(raw, "__metadata__"))
  }

  private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    literal.withUTF8Buffer { lit in
      guard lit.count == bytes.count else { return false }
      for k in 0..<lit.count where lit[k] != bytes[k] { return false }
      return true
    }
  }

  // MARK: - Tensor entries written the usual way

  /// A tensor entry in the usual form, decoded and checked; `nil`, with `i` left at the value, for anything else.
  private mutating func plainEntry(name: String, keyByteOffset: Int) -> SafetensorsTensorInfo? {
    let start = i
    guard let t = readPlainEntry(name: name, keyByteOffset: keyByteOffset) else {
      i = start
      return nil
    }
    plainEntryCount &+= 1  // can't overflow: at most one per header byte
    return t
  }

  private enum Field { case dtype, shape, dataOffsets }

  private mutating func readPlainEntry(name: String, keyByteOffset: Int) -> SafetensorsTensorInfo? {
    guard next(is: "{") else { return nil }
    var dtype: SafetensorsDType? = nil
    var shape: [Int]? = nil
    var begin = -1
    var end = -1
    while true {
      skipWhitespace()
      guard let field = readFieldName() else { return nil }
      skipWhitespace()
      guard next(is: ":") else { return nil }
      skipWhitespace()
      switch field {
      case .dtype:
        guard dtype == nil, let d = readDType() else { return nil }
        dtype = d
      case .shape:
        guard shape == nil, let s = readShape() else { return nil }
        shape = s
      case .dataOffsets:
        guard begin < 0, let (b, e) = readOffsetPair() else { return nil }
        begin = b
        end = e
      }
      skipWhitespace()
      if next(is: ",") { continue }
      if next(is: "}") { break }
      return nil
    }
    guard let dtype, let shape, begin >= 0 else { return nil }
    // The reference path's rules, on ints instead of JSON values; a broken one sends the entry there for its error.
    var elements = 1
    for d in shape {
      let (p, o) = elements.multipliedReportingOverflow(by: d)
      guard !o else { return nil }
      elements = p
    }
    guard begin <= dataSize, end <= dataSize, begin <= end else { return nil }
    let (bits, o) = elements.multipliedReportingOverflow(by: dtype.bitCount)
    guard !o, bits % 8 == 0, bits / 8 == end &- begin else { return nil }
    // can't overflow: begin <= dataSize and dataOffset + dataSize is the file size; keyByteOffset < header.count
    return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, elementCount: elements,
      dataOffsets: begin..<end, absoluteOffset: dataOffset &+ begin, headerByteOffset: 8 &+ keyByteOffset)
  }

  /// One of the three known field names, quoted, printable ASCII without escapes; `nil` for any other key.
  private mutating func readFieldName() -> Field? {
    guard next(is: "\""), let word = readPlainASCII() else { return nil }
    // Decoded keys are compared byte for byte: no other string is canonically equivalent to these ASCII names
    // (only U+212A, U+037E and U+1FEF decompose to ASCII, to 'K', ';' and '`').
    if word == Self.fieldDType { return .dtype }
    if word == Self.fieldShape { return .shape }
    if word == Self.fieldDataOffsets { return .dataOffsets }
    return nil
  }

  /// A quoted dtype name without escapes that is a known ``SafetensorsDType``.
  private mutating func readDType() -> SafetensorsDType? {
    guard next(is: "\""), let word = readPlainASCII() else { return nil }
    for entry in Self.dtypeWords where entry.word == word { return entry.dtype }
    return nil
  }

  /// The rest of a string after its opening quote when it is at most 16 printable ASCII bytes without escapes,
  /// packed; `nil` for anything else (the entry then goes to the reference path).
  private mutating func readPlainASCII() -> PackedASCII? {
    var j = i
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    while j < header.count {
      let c = header[j]
      if c == UInt8(ascii: "\"") { break }
      guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
      let k = j &- i  // can't overflow: j >= i
      guard k < 16 else { return nil }
      if k < 8 { lo |= UInt64(c) << (8 &* k) } else { hi |= UInt64(c) << (8 &* (k &- 8)) }
      j &+= 1
    }
    guard j < header.count else { return nil }
    let word = PackedASCII(lo: lo, hi: hi, length: j &- i)
    i = j &+ 1
    return word
  }

  /// Up to 16 ASCII bytes and their count: equal words mean equal strings.
  private struct PackedASCII: Equatable {
    var lo: UInt64
    var hi: UInt64
    var length: Int
  }

  private static func pack(_ s: String) -> PackedASCII {
    var w = PackedASCII(lo: 0, hi: 0, length: 0)
    for (k, c) in s.utf8.enumerated() where k < 16 {
      if k < 8 { w.lo |= UInt64(c) << (8 * k) } else { w.hi |= UInt64(c) << (8 * (k - 8)) }
    }
    w.length = s.utf8.count
    return w
  }

  private static let fieldDType = pack("dtype")
  private static let fieldShape = pack("shape")
  private static let fieldDataOffsets = pack("data_offsets")
  /// Every dtype with its spelling, packed from `rawValue` so the two can never disagree (all are <= 16 bytes).
  private static let dtypeWords: [(word: PackedASCII, dtype: SafetensorsDType)] = SafetensorsDType.allCases.map {
    (pack($0.rawValue), $0)
  }

  /// `[` counts `]`, possibly empty.
  private mutating func readShape() -> [Int]? {
    guard next(is: "[") else { return nil }
    var shape: [Int] = []
    shape.reserveCapacity(4)
    skipWhitespace()
    if next(is: "]") { return shape }
    while true {
      skipWhitespace()
      guard let d = readCount() else { return nil }
      shape.append(d)
      skipWhitespace()
      if next(is: ",") { continue }
      if next(is: "]") { return shape }
      return nil
    }
  }

  /// `[` count `,` count `]`.
  private mutating func readOffsetPair() -> (Int, Int)? {
    guard next(is: "[") else { return nil }
    skipWhitespace()
    guard let b = readCount() else { return nil }
    skipWhitespace()
    guard next(is: ",") else { return nil }
    skipWhitespace()
    guard let e = readCount() else { return nil }
    skipWhitespace()
    guard next(is: "]") else { return nil }
    return (b, e)
  }

  /// A JSON integer without sign, fraction or exponent that fits in `Int`; `nil` for any other number (or text),
  /// which the reference path then judges.
  private mutating func readCount() -> Int? {
    var j = i
    guard j < header.count else { return nil }
    let first = header[j]
    var value = 0
    if first == UInt8(ascii: "0") {
      j &+= 1
    } else {
      guard first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return nil }
      while j < header.count {
        let d = header[j] &- UInt8(ascii: "0")  // wraps for bytes below '0', which then fail the test
        guard d <= 9 else { break }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (v, o2) = m.addingReportingOverflow(Int(d))
        guard !o1, !o2 else { return nil }
        value = v
        j &+= 1
      }
    }
    // A digit after a leading zero, a fraction or an exponent: not ours to judge.
    if j < header.count {
      let c = header[j]
      if (c &- UInt8(ascii: "0")) <= 9 || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
        return nil
      }
    }
    i = j
    return value
  }

  // MARK: - Bytes

  private mutating func skipWhitespace() {
    while i < header.count {
      let c = header[i]
      guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
      i &+= 1
    }
  }

  private func peek(is c: Unicode.Scalar) -> Bool { i < header.count && header[i] == UInt8(ascii: c) }

  /// Consumes the byte `c` if it is next.
  private mutating func next(is c: Unicode.Scalar) -> Bool {
    guard i < header.count, header[i] == UInt8(ascii: c) else { return false }
    i &+= 1
    return true
  }
}
