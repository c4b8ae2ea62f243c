import Testing
@testable import Formats

/// The fast safetensors header scanner and the reference path (``JSONParser`` + rules) agree on every input:
/// the scanner accepts exactly what the reference accepts, with an identical layout (tensors, names byte for byte,
/// metadata, anomalies in order, index), and `SafetensorsParser.parse` throws exactly the reference's error.
@Suite struct SafetensorsFastPathTests {
  /// Both paths on one input; records an issue (with the header text) when they disagree.
  /// - Returns: whether the reference accepted the input.
  @discardableResult
  static func checkAgreement(_ bytes: [UInt8], _ label: @autoclosure () -> String = "") -> Bool {
    bytes.withUnsafeBytes { raw in
      let fast = SafetensorsHeaderScanner.scan(raw)
      let reference = Result { () throws(SafetensorsError) in try SafetensorsParser.parseReference(raw) }
      let public_ = Result { () throws(SafetensorsError) in try SafetensorsParser.parse(raw) }
      let context = "\(label()) header: \(headerText(bytes))"
      switch reference {
      case .success(let ref):
        guard let fast else {
          Issue.record("fast path refused a file the reference accepts; \(context)")
          return true
        }
        if fast != ref { Issue.record("layouts differ:\nfast \(fast)\nref  \(ref)\n\(context)") }
        let sameNames = fast.tensors.count == ref.tensors.count
          && zip(fast.tensors, ref.tensors).allSatisfy { $0.name.utf8.elementsEqual($1.name.utf8) }
        if !sameNames { Issue.record("tensor names differ in their bytes; \(context)") }
        if case .success(let p) = public_, p == ref {} else { Issue.record("parse(_:) differs from the reference; \(context)") }
        return true
      case .failure(let error):
        if let fast { Issue.record("fast path accepted a file the reference rejects (\(error)): \(fast); \(context)") }
        if case .failure(let e) = public_, e == error {} else {
          Issue.record("parse(_:) gives \(public_), the reference \(error); \(context)")
        }
        return false
      }
    }
  }

  static func headerText(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.dropFirst(8).prefix(600), as: UTF8.self)
  }

  /// A file around `header`: the 8-byte length, the header, `dataBytes` bytes.
  static func file(header: [UInt8], dataBytes: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
      + [UInt8](repeating: 0xA5, count: max(0, dataBytes))
  }

  // MARK: - Hand-written cases

  static let handWritten: [(label: String, header: String, dataBytes: Int, accepted: Bool)] = [
    ("plain", #"{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#, 8, true),
    ("empty header object", "{}", 0, true),
    ("empty object, data left", "{}", 4, false),
    ("pretty printed", "{\n  \"a\": {\n    \"dtype\": \"F32\",\n    \"shape\": [\n      1\n    ],\n    \"data_offsets\": [\n      0,\n      4\n    ]\n  }\n}", 4, true),
    ("leading whitespace", " \t" + #"{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}"#, 3, true),
    ("fields in other order", #"{"a":{"data_offsets":[0,2],"shape":[],"dtype":"BF16"}}"#, 2, true),
    ("escaped name", #"{"a\u002eb\"c":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("escaped field name", #"{"a":{"dt\u0079pe":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("escaped dtype", #"{"a":{"dtype":"F\u00316","shape":[1],"data_offsets":[0,2]}}"#, 2, true),
    ("unknown field", #"{"a":{"dtype":"I8","x":{"y":1,"y":[{"z":0,"z":0}]},"shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("repeated field, last wins", #"{"a":{"dtype":"F64","dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("repeated field, bad one superseded", #"{"a":{"shape":"no","dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("minus zero dims and offsets", #"{"a":{"dtype":"I8","shape":[-0,4],"data_offsets":[-0,0]}}"#, 0, true),
    ("zero dim with huge dim", #"{"a":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}"#, 0, true),
    ("Int.max offset", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[9223372036854775807,0]}}"#, 1, false),
    ("Int.max + 1 dim", #"{"a":{"dtype":"I8","shape":[9223372036854775808],"data_offsets":[0,1]}}"#, 1, false),
    ("shape overflow", #"{"a":{"dtype":"I8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}"#, 1, false),
    ("fraction", #"{"a":{"dtype":"I8","shape":[1.0],"data_offsets":[0,1]}}"#, 1, false),
    ("exponent", #"{"a":{"dtype":"I8","shape":[1e0],"data_offsets":[0,1]}}"#, 1, false),
    ("leading zero", #"{"a":{"dtype":"I8","shape":[01],"data_offsets":[0,1]}}"#, 1, false),
    ("negative", #"{"a":{"dtype":"I8","shape":[-1],"data_offsets":[0,1]}}"#, 1, false),
    ("three offsets", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1,1]}}"#, 1, false),
    ("end before begin", #"{"a":{"dtype":"I8","shape":[0],"data_offsets":[1,0]}}"#, 1, false),
    ("missing dtype", #"{"a":{"shape":[1],"data_offsets":[0,1]}}"#, 1, false),
    ("entry not an object", #"{"a":[1]}"#, 0, false),
    ("unknown dtype", #"{"a":{"dtype":"F17","shape":[1],"data_offsets":[0,2]}}"#, 2, false),
    ("F4 odd count", #"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, 2, false),
    ("F4 even count", #"{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#, 2, true),
    ("metadata", #"{"__metadata__":{"format":"pt","k":"v","k":"w"},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("metadata last", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"f":"pt"}}"#, 1, true),
    ("metadata null", #"{"__metadata__":null,"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("metadata superseded by null", #"{"__metadata__":{"f":"pt"},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"__metadata__":null}"#, 1, true),
    ("metadata not string", #"{"__metadata__":{"f":1},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, false),
    ("bad metadata superseded", #"{"__metadata__":3,"__metadata__":{"f":"x"}}"#, 0, true),
    ("escaped metadata key", #"{"__metadata\u005f_":{"f":"x"}}"#, 0, true),
    ("duplicate tensor, last wins", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, 4, true),
    ("bad entry superseded", #"{"w":{"dtype":"F99"},"v":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}}"#, 2, true),
    ("good entry superseded by bad", #"{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F99"}}"#, 1, false),
    // Names that differ in bytes but are canonically equivalent Unicode are refused by both paths (Python keeps
    // them apart: it accepts the first file as two tensors and rejects the second for overlapping data; a reader
    // that normalises would merge them). Byte-identical repeats stay duplicates, last wins.
    ("Kelvin sign and K", "{\"K\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"\u{212A}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, false),
    ("composed and decomposed", "{\"\u{E9}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"e\u{301}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, false),
    ("equivalent after a true duplicate", "{\"\u{E9}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"\u{E9}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"e\u{301}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, false),
    ("equivalent metadata keys", "{\"__metadata__\":{\"K\":\"a\",\"\u{212A}\":\"b\"},\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, false),
    ("true duplicate metadata key", "{\"__metadata__\":{\"\u{E9}\":\"a\",\"\u{E9}\":\"b\"},\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, true),
    ("true duplicate of a non-ASCII name", "{\"\u{E9}\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"\u{E9}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, true),
    ("odd names", "{\"\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\u{202E}b\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2]},\"x\\u0000\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[2,3]},\"\u{1F600}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[3,4]}}", 4, true),
    ("offsets out of header order", #"{"b":{"dtype":"I8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 2, true),
    ("zero-size tensors", #"{"b":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"I8","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"I8","shape":[0],"data_offsets":[1,1]}}"#, 1, true),
    ("overlap", #"{"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}}"#, 2, false),
    ("hole", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"I8","shape":[1],"data_offsets":[2,3]}}"#, 3, false),
    ("data too long", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 2, false),
    ("trailing comma", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},}"#, 1, false),
    ("trailing comma in shape", #"{"a":{"dtype":"I8","shape":[1,],"data_offsets":[0,1]}}"#, 1, false),
    ("trailing data", #"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}x"#, 1, false),
    ("trailing spaces and newline", "{\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}\n   ", 1, true),
    ("control character in name", "{\"a\u{1}\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, false),
    ("not an object", "[]", 0, false),
    ("lone surrogate escape", #"{"\ud800":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, false),
    ("surrogate pair escape", #"{"\ud83d\ude00":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("deep unknown field", #"{"a":{"dtype":"I8","x":"# + String(repeating: "[", count: 126) + String(repeating: "]", count: 126) + #","shape":[1],"data_offsets":[0,1]}}"#, 1, true),
    ("too deep unknown field", #"{"a":{"dtype":"I8","x":"# + String(repeating: "[", count: 127) + String(repeating: "]", count: 127) + #","shape":[1],"data_offsets":[0,1]}}"#, 1, false),
  ]

  /// Hand-written edge cases get the same answer from both paths, and the verdict written beside each.
  @Test func handWrittenEdgeCasesAgree() {
    for c in Self.handWritten {
      var h = Array(c.header.utf8)
      let accepted = Self.checkAgreement(Self.file(header: h, dataBytes: c.dataBytes), c.label)
      #expect(accepted == c.accepted, "\(c.label)")
      while h.count % 8 != 0 { h.append(0x20) }  // the same, space-padded
      let padded = Self.checkAgreement(Self.file(header: h, dataBytes: c.dataBytes), c.label + " (padded)")
      #expect(padded == c.accepted, "\(c.label) (padded)")
    }
  }

  /// Entries in the form writers produce (the Python package here, compact or pretty-printed) are decoded by the
  /// scanner itself, not handed to the generic JSON parser: the fast path is really taken.
  @Test func usualEntriesTakeTheFastPath() throws {
    let written = try readBytes(TestPaths.fixtures + "/reference/safetensors/multi_dtype.safetensors")
    let prettyCase = try #require(Self.handWritten.first { $0.label == "pretty printed" })
    let pretty = Self.file(header: Array(prettyCase.header.utf8), dataBytes: prettyCase.dataBytes)
    let odd = Self.file(header: Array(#"{"a":{"dtype":"I8","shape":[-0],"data_offsets":[0,0]},"b":{"dtype":"I8","x":1,"shape":[1],"data_offsets":[0,1]}}"#.utf8), dataBytes: 1)
    for (bytes, plain) in [(written, nil), (pretty, 1), (odd, 0)] as [([UInt8], Int?)] {
      let (layout, plainEntries) = bytes.withUnsafeBytes { SafetensorsHeaderScanner.scanCountingPlainEntries($0) }
      let tensors = try #require(layout).tensors.count
      #expect(tensors > 0)
      #expect(plainEntries == (plain ?? tensors))
    }
  }

  /// The invalid bytes in a name are rejected by both paths.
  @Test func invalidUTF8NamesAgree() {
    for bad: [UInt8] in [[0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
      let header = Array(#"{"a"#.utf8) + bad + Array(#"":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#.utf8)
      #expect(!Self.checkAgreement(Self.file(header: header, dataBytes: 1), "\(bad)"))
    }
  }

  /// Every committed safetensors file (malformed corpus, reference fixtures, realfiles) gets the same answer.
  @Test func committedFilesAgree() throws {
    var paths: [String] = []
    for dir in [TestPaths.samples + "/malformed/files", TestPaths.fixtures + "/reference/safetensors",
      TestPaths.fixtures + "/reference/safetensors/sharded"]
    {
      paths += (listDirectory(dir) ?? []).filter { $0.hasSuffix(".safetensors") }.map { dir + "/" + $0 }
    }
    let expected = (try? readJSON(TestPaths.realfiles + "/EXPECTED.json"))?.members ?? []
    paths += expected.map(\.key).filter { $0.hasPrefix("safetensors/") }.map { TestPaths.realfiles + "/" + $0 }
    #expect(paths.count >= 16)
    for path in paths {
      guard let bytes = try? readBytes(path) else { continue }
      Self.checkAgreement(bytes, path)
    }
  }

  /// Thousands of generated headers, valid and odd, get the same answer; most are accepted.
  @Test func generatedHeadersAgree() {
    var gen = HeaderGenerator(seed: 0x5AFE_7E45)
    var accepted = 0
    let count = 3_000
    for k in 0..<count {
      let bytes = gen.file()
      if Self.checkAgreement(bytes, "generated #\(k)") { accepted += 1 }
    }
    #expect(accepted > count / 3, "only \(accepted) of \(count) generated files were valid")
  }

  /// Generated files corrupted by byte flips, interesting bytes, insertions, deletions and truncations get the
  /// same answer (the length field is kept consistent half of the time, so the damage reaches the JSON rules).
  @Test func corruptedHeadersAgree() {
    var gen = HeaderGenerator(seed: 0xC0_44_7E)
    var rng = SplitMix64(seed: 0xBAD_5EED)
    let interesting: [UInt8] = Array(#""\,:{}[]-0e. 9"#.utf8) + [0x00, 0x0A, 0xFF, 0xC3, 0x80, 0x7F]
    var accepted = 0
    for k in 0..<12_000 {
      var bytes = gen.file()
      guard bytes.count > 9 else { continue }
      var headerLength = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
      for _ in 0..<(1 + Int(rng.next() % 3)) {
        let at = 8 + Int(rng.next() % UInt64(max(1, min(headerLength, bytes.count - 8))))
        guard at < bytes.count else { break }
        switch rng.next() % 6 {
        case 0: bytes[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
        case 1, 2: bytes[at] = interesting[Int(rng.next() % UInt64(interesting.count))]
        case 3:
          bytes.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
          if rng.next() % 2 == 0 { headerLength += 1 }
        case 4:
          bytes.remove(at: at)
          if rng.next() % 2 == 0 { headerLength -= 1 }
        default:
          bytes.removeLast(Int(rng.next() % UInt64(bytes.count - at)))
        }
      }
      withUnsafeBytes(of: UInt64(max(0, headerLength)).littleEndian) { for b in 0..<8 { bytes[b] = $0[b] } }
      if Self.checkAgreement(bytes, "corrupted #\(k)") { accepted += 1 }
    }
    // some corruptions land in values or whitespace and leave a valid file: both paths must then agree on it too
    #expect(accepted > 100, "only \(accepted) corrupted files stayed valid")
  }
}

/// Writes random safetensors headers: many tensors written the usual way, and now and then every oddity the
/// format allows or forbids (escapes, odd names, unknown and repeated fields, duplicates, metadata in any place,
/// whitespace, unusual numbers), with data offsets laid out so that most files are valid.
struct HeaderGenerator {
  var rng: SplitMix64
  init(seed: UInt64) { rng = SplitMix64(seed: seed) }

  mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
  mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }
  mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
  mutating func shuffle<T>(_ xs: inout [T]) {
    for k in xs.indices.dropFirst().reversed() { xs.swapAt(k, below(k + 1)) }
  }

  static let oddNames = ["", "K", "\u{212A}", "\u{E9}", "e\u{301}", "a\u{202E}b", "zero\u{200B}width", "tab\there",
    "line\nbreak", "quote\"d", "back\\slash", "\u{65E5}\u{672C}", "\u{1F600}", "__metadata", "dtype", "shape",
    "data_offsets", "\u{7F}", "nul\u{0}"]
  static let dtypes = SafetensorsDType.allCases.map(\.rawValue)

  /// Whitespace between tokens: usually none.
  mutating func ws() -> String {
    guard oneIn(8) else { return "" }
    return pick([" ", "\n", "\t", "\r\n  ", "  "])
  }

  /// `s` as a JSON string; sometimes escapes plain characters too.
  mutating func quoted(_ s: String) -> String {
    var out = "\""
    let escapeAll = oneIn(20)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += pick(["\\\"", "\\u0022"])
      case "\\": out += pick(["\\\\", "\\u005C", "\\u005c"])
      case "\n": out += pick(["\\n", "\\u000a"])
      case "\t": out += "\\t"
      case "/" where oneIn(2): out += "\\/"
      default:
        if scalar.value < 0x20 || (escapeAll && scalar.value < 0x80 && oneIn(2)) {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else if scalar.value > 0xFFFF && escapeAll {
          let v = scalar.value - 0x10000
          out += "\\u" + String(0xD800 + (v >> 10), radix: 16) + "\\u" + String(0xDC00 + (v & 0x3FF), radix: 16)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  /// A non-negative integer, almost always plainly written.
  mutating func count(_ v: Int) -> String {
    if v == 0, oneIn(40) { return "-0" }
    if oneIn(300) { return pick(["\(v).0", "\(v)e0", "-\(max(v, 1))", "0\(v)"]) }
    return String(v)
  }

  /// Some JSON value for an unknown field, possibly with duplicate keys inside.
  mutating func junk(_ depth: Int = 0) -> String {
    switch below(depth > 2 ? 4 : 6) {
    case 0: return quoted(pick(["x", "\u{E9}", "a\"b"]))
    case 1: return pick(["1", "-2.5e3", "0", "true", "false", "null"])
    case 2: return "[]"
    case 3: return "{}"
    case 4:
      let n = 1 + below(3)
      return "[" + (0..<n).map { _ in ws() + junk(depth + 1) + ws() }.joined(separator: ",") + "]"
    default:
      let keys = (0..<(1 + below(3))).map { _ in pick(["k", "k", "j", "\u{E9}"]) }
      return "{" + keys.map { ws() + quoted($0) + ws() + ":" + ws() + junk(depth + 1) }.joined(separator: ",") + "}"
    }
  }

  struct Tensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var byteCount: Int
  }

  /// A shape whose byte size under `dtype` is whole (else the file is simply invalid, which is fine now and then).
  mutating func tensor(_ k: Int) -> Tensor {
    let name = oneIn(12) ? pick(Self.oddNames) + (oneIn(2) ? "" : "\(k)") : "model.layers.\(k / 7).w\(k % 7).weight"
    var dtype = pick(Self.dtypes)
    if oneIn(150) { dtype = pick(["F17", "f16", "", "F16 "]) }
    let bits = SafetensorsDType(rawValue: dtype)?.bitCount ?? 8
    var shape = (0..<below(4)).map { _ in below(6) }
    if oneIn(60) { shape = [0, Int.max] }
    if oneIn(200) { shape = [1 << 32, 1 << 32] }
    var elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? 0 : $0 * $1 }
    if bits % 8 != 0, elements * bits % 8 != 0, !oneIn(10) {
      shape.append(8)
      elements *= 8
    }
    return Tensor(name: name, dtype: dtype, shape: shape, byteCount: elements * bits / 8)
  }

  /// One tensor entry; fields in any order, sometimes repeated or unknown ones mixed in.
  mutating func entry(_ t: Tensor, begin: Int) -> String {
    var fields = [
      ws() + quoted("dtype") + ws() + ":" + ws() + quoted(t.dtype),
      ws() + quoted("shape") + ws() + ":" + ws() + "[" + t.shape.map { ws() + count($0) + ws() }.joined(separator: ",") + "]",
      ws() + quoted("data_offsets") + ws() + ":" + ws() + "[" + ws() + count(begin) + ws() + "," + ws() + count(begin + t.byteCount) + ws() + "]",
    ]
    if oneIn(4) { shuffle(&fields) }
    if oneIn(15) { fields.insert(ws() + quoted(pick(["extra", "dtype", "shape", "data_offsets", "k"])) + ":" + junk(), at: below(fields.count + 1)) }
    if oneIn(50) { fields.remove(at: below(fields.count)) }
    return "{" + fields.joined(separator: ",") + ws() + "}"
  }

  mutating func metadata() -> String {
    switch below(12) {
    case 0: return "null"
    case 1: return pick(["3", "\"pt\"", "[]", #"{"k":1}"#])
    default:
      let keys = (0..<below(4)).map { _ in pick(["format", "format", "producer", "\u{E9}", "k\"q"]) }
      return "{" + keys.map { ws() + quoted($0) + ws() + ":" + ws() + quoted(pick(["pt", "", "x\u{E9}"])) }.joined(separator: ",") + ws() + "}"
    }
  }

  /// A whole file: header, padding, data.
  mutating func file() -> [UInt8] {
    let tensorCount = below(10) + (oneIn(10) ? 20 : 0)
    let tensors = (0..<tensorCount).map { tensor($0) }
    // Data in a random order now and then (valid: the rules sort by offsets).
    var order = Array(tensors.indices)
    if oneIn(5) { shuffle(&order) }
    var begins = [Int](repeating: 0, count: tensors.count)
    var cursor = 0
    for i in order {
      begins[i] = cursor
      cursor += tensors[i].byteCount
    }
    var members = tensors.indices.map { (quoted(tensors[$0].name), entry(tensors[$0], begin: begins[$0])) }
    if oneIn(10), !tensors.isEmpty {
      // A duplicate key: a decoy before the real entry (superseded) or after it (wins, usually breaking the data).
      let i = below(tensors.count)
      var decoy = tensors[i]
      decoy.dtype = pick(Self.dtypes)
      let at = oneIn(3) ? members.count : below(i + 1)
      members.insert((quoted(tensors[i].name), oneIn(3) ? junk() : entry(decoy, begin: begins[i])), at: at)
    }
    if !oneIn(3) { members.insert((quoted("__metadata__"), metadata()), at: below(members.count + 1)) }
    if oneIn(30) { members.insert((quoted("__metadata__"), metadata()), at: below(members.count + 1)) }
    var text = oneIn(15) ? pick([" ", "\n", "\t "]) : ""
    text += "{" + members.map { ws() + $0.0 + ws() + ":" + ws() + $0.1 + ws() }.joined(separator: ",") + "}"
    if oneIn(40) { text += pick(["x", ",", "}", "\n"]) }
    var header = Array(text.utf8)
    if !oneIn(4) { while header.count % 8 != 0 { header.append(0x20) } }
    var data = cursor
    if oneIn(40) { data += pick([-1, 1]) }
    return SafetensorsFastPathTests.file(header: header, dataBytes: data)
  }
}
