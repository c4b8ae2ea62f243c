/// A strict RFC 8259 JSON parser over raw bytes that reports every duplicate object key.
///
/// Strict means: UTF-8 validated, no comments, no trailing commas, no NaN/Infinity, no leading zeros,
/// control characters must be escaped, lone surrogates rejected, nesting capped. It never traps on input.
public struct JSONParser {
  /// Result of a parse: the value and every duplicate key found.
  public struct Document: Sendable {
    public let value: JSONValue
    public let duplicateKeys: [JSONDuplicateKey]
  }

  /// Maximum nesting of arrays and objects.
  public static let maxDepth = 128

  /// Parses exactly one JSON value (surrounded by optional whitespace) from `bytes`.
  /// - Throws: ``JSONError`` with the byte offset (relative to `bytes`) of the first violation.
  /// - Complexity: O(n) in the byte count.
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> Document {
    var p = JSONParser(bytes: bytes)
    p.skipWhitespace()
    let v = try p.parseValue(depth: 0)
    p.skipWhitespace()
    guard p.i == bytes.count else { throw .trailingData(offset: p.i) }
    return Document(value: v, duplicateKeys: p.duplicates)
  }

  /// Parses a Swift array of bytes (convenience for tests and small files).
  public static func parse(_ bytes: [UInt8]) throws(JSONError) -> Document {
    let r = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw) } }
    return try r.get()
  }

  private let bytes: UnsafeRawBufferPointer
  private var i = 0
  private var duplicates: [JSONDuplicateKey] = []
  /// Keys of the objects being parsed, outermost first; joined only when a duplicate is reported.
  private var keyStack: [String] = []

  private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  private mutating func skipWhitespace() {
    while i < bytes.count {
      let c = bytes[i]
      if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i &+= 1 } else { break }
    }
  }

  private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

  private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
    let n = literal.utf8CodeUnitCount
    guard bytes.count - i >= n else { throw .unexpectedEnd(offset: bytes.count) }
    let ok = literal.withUTF8Buffer { lit in
      for k in 0..<n where bytes[i &+ k] != lit[k] { return false }
      return true
    }
    guard ok else { throw .unexpectedCharacter(offset: i, found: bytes[i]) }
    i &+= n
  }

  private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
    guard let c = peek() else { throw .unexpectedEnd(offset: i) }
    switch c {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try expectLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw .unexpectedCharacter(offset: i, found: c)
    }
  }

  private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
    guard depth <= Self.maxDepth else { throw .tooDeep(offset: i, limit: Self.maxDepth) }
    i &+= 1  // '{'
    var members: [JSONMember] = []
    // Duplicates are byte-identical keys, as Python and serde see them (see ExactName). `seen` is used once the
    // object grows past a few members; small ones scan linearly.
    var seen: [ExactName: Int] = [:]
    skipWhitespace()
    if peek() == UInt8(ascii: "}") { i &+= 1; return .object(members) }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else {
        if let c = peek() { throw .unexpectedCharacter(offset: i, found: c) }
        throw .unexpectedEnd(offset: i)
      }
      let keyOffset = i
      let key = try parseString()
      skipWhitespace()
      guard peek() == UInt8(ascii: ":") else {
        if let c = peek() { throw .unexpectedCharacter(offset: i, found: c) }
        throw .unexpectedEnd(offset: i)
      }
      i &+= 1
      skipWhitespace()
      keyStack.append(key)
      let value = try parseValue(depth: depth)
      keyStack.removeLast()
      let first: Int?
      if members.count < 8 {
        first = members.first(where: { $0.key.hasSameBytes(as: key) })?.keyByteOffset
      } else {
        if seen.isEmpty { for m in members where seen[ExactName(m.key)] == nil { seen[ExactName(m.key)] = m.keyByteOffset } }
        first = seen[ExactName(key)]
        if first == nil { seen[ExactName(key)] = keyOffset }
      }
      if let first {
        duplicates.append(.init(objectPath: keyStack.joined(separator: "."), key: key, firstByteOffset: first, duplicateByteOffset: keyOffset))
      }
      members.append(JSONMember(key: key, value: value, keyByteOffset: keyOffset))
      skipWhitespace()
      guard let c = peek() else { throw .unexpectedEnd(offset: i) }
      i &+= 1
      if c == UInt8(ascii: ",") { continue }
      if c == UInt8(ascii: "}") { return .object(members) }
      throw .unexpectedCharacter(offset: i &- 1, found: c)
    }
  }

  private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
    guard depth <= Self.maxDepth else { throw .tooDeep(offset: i, limit: Self.maxDepth) }
    i &+= 1  // '['
    var elements: [JSONValue] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "]") { i &+= 1; return .array(elements) }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth))
      skipWhitespace()
      guard let c = peek() else { throw .unexpectedEnd(offset: i) }
      i &+= 1
      if c == UInt8(ascii: ",") { continue }
      if c == UInt8(ascii: "]") { return .array(elements) }
      throw .unexpectedCharacter(offset: i &- 1, found: c)
    }
  }

  private mutating func parseNumber() throws(JSONError) -> JSONNumber {
    let start = i
    var isInteger = true
    var negative = false
    if peek() == UInt8(ascii: "-") { negative = true; i &+= 1 }
    guard let first = peek() else { throw .unexpectedEnd(offset: i) }
    // Accumulate the integer part as we go (negatively, so Int.min fits); nil once it overflows.
    var acc: Int? = 0
    if first == UInt8(ascii: "0") {
      i &+= 1
      if let d = peek(), d >= 0x30 && d <= 0x39 { throw .invalidNumber(offset: start) }
    } else if first >= 0x31 && first <= 0x39 {
      while let d = peek(), d >= 0x30 && d <= 0x39 {
        if let a = acc {
          let (m, o1) = a.multipliedReportingOverflow(by: 10)
          let (v, o2) = m.subtractingReportingOverflow(Int(d &- 0x30))
          acc = (o1 || o2) ? nil : v
        }
        i &+= 1
      }
    } else {
      throw .invalidNumber(offset: start)
    }
    if peek() == UInt8(ascii: ".") {
      isInteger = false
      i &+= 1
      guard let d = peek(), d >= 0x30 && d <= 0x39 else { throw .invalidNumber(offset: start) }
      while let d = peek(), d >= 0x30 && d <= 0x39 { i &+= 1 }
    }
    if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      isInteger = false
      i &+= 1
      if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i &+= 1 }
      guard let d = peek(), d >= 0x30 && d <= 0x39 else { throw .invalidNumber(offset: start) }
      while let d = peek(), d >= 0x30 && d <= 0x39 { i &+= 1 }
    }
    var int: Int? = nil
    if isInteger, let a = acc {
      if negative { int = a } else if a != Int.min { int = -a }
    }
    if int != nil { return JSONNumber(text: nil, int: int, isInteger: true) }
    // can't fail: only ASCII digits, '-', '+', '.', 'e' were consumed
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    return JSONNumber(text: text, int: nil, isInteger: isInteger)
  }

  private mutating func hexDigit(at offset: Int) throws(JSONError) -> UInt32 {
    guard offset < bytes.count else { throw .unexpectedEnd(offset: offset) }
    let c = bytes[offset]
    switch c {
    case 0x30...0x39: return UInt32(c &- 0x30)
    case 0x41...0x46: return UInt32(c &- 0x41 &+ 10)
    case 0x61...0x66: return UInt32(c &- 0x61 &+ 10)
    default: throw .invalidEscape(offset: offset)
    }
  }

  private mutating func parseHex4() throws(JSONError) -> UInt32 {
    var v: UInt32 = 0
    for k in 0..<4 { v = (v << 4) | (try hexDigit(at: i &+ k)) }
    i &+= 4
    return v
  }

  private mutating func parseString() throws(JSONError) -> String {
    let start = i
    i &+= 1  // opening quote
    // Fast path: no escapes. Find the closing quote, checking for control characters.
    var j = i
    var hasEscape = false
    while j < bytes.count {
      let c = bytes[j]
      if c == UInt8(ascii: "\"") { break }
      if c == UInt8(ascii: "\\") { hasEscape = true; break }
      if c < 0x20 { throw .controlCharacterInString(offset: j) }
      j &+= 1
    }
    guard j < bytes.count else { throw .unexpectedEnd(offset: j) }
    if !hasEscape {
      let slice = UnsafeRawBufferPointer(rebasing: bytes[i..<j])
      guard let s = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(offset: firstInvalidUTF8(from: i, to: j)) }
      i = j &+ 1
      return s
    }
    // Slow path with escapes: accumulate bytes, validate UTF-8 at the end.
    var out: [UInt8] = []
    out.reserveCapacity(j &- i &+ 16)
    while true {
      guard i < bytes.count else { throw .unexpectedEnd(offset: i) }
      let c = bytes[i]
      if c == UInt8(ascii: "\"") { i &+= 1; break }
      if c < 0x20 { throw .controlCharacterInString(offset: i) }
      if c != UInt8(ascii: "\\") { out.append(c); i &+= 1; continue }
      let escOffset = i
      i &+= 1
      guard i < bytes.count else { throw .unexpectedEnd(offset: i) }
      let e = bytes[i]
      i &+= 1
      switch e {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try parseHex4()
        if scalar >= 0xD800 && scalar <= 0xDBFF {
          // A high surrogate must be followed by an escaped low surrogate.
          guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i &+ 1] == UInt8(ascii: "u") else {
            throw .loneSurrogate(offset: escOffset)
          }
          i &+= 2
          let low = try parseHex4()
          guard low >= 0xDC00 && low <= 0xDFFF else { throw .loneSurrogate(offset: escOffset) }
          scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
        } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
          throw .loneSurrogate(offset: escOffset)
        }
        guard let u = Unicode.Scalar(scalar) else { throw .loneSurrogate(offset: escOffset) }
        out.append(contentsOf: Array(String(Character(u)).utf8))
      default:
        throw .invalidEscape(offset: escOffset)
      }
    }
    guard let s = String(validating: out, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
    return s
  }

  private func firstInvalidUTF8(from: Int, to: Int) -> Int {
    // Narrow down the first offending byte by validating growing prefixes at scalar boundaries.
    var k = from
    while k < to {
      let c = bytes[k]
      let len: Int
      if c < 0x80 { len = 1 } else if c >= 0xC2 && c <= 0xDF { len = 2 } else if c >= 0xE0 && c <= 0xEF { len = 3 } else if c >= 0xF0 && c <= 0xF4 { len = 4 } else { return k }
      guard to - k >= len else { return k }
      if String(validating: UnsafeRawBufferPointer(rebasing: bytes[k..<(k &+ len)]), as: UTF8.self) == nil { return k }
      k &+= len
    }
    return from
  }
}

// MARK: - Pieces of a document, for SafetensorsHeaderScanner

extension JSONParser {
  /// Parses the one value that starts exactly at `byteOffset` of `bytes`, as if it sat `depth` levels deep in a whole
  /// document under the member keys `keyPath` (outermost first): nesting limits, error offsets and duplicate-key
  /// paths come out as ``parse(_:)`` would give them for the enclosing document.
  /// - Returns: the value, the offset just past it, and the duplicate keys found inside it.
  /// - Throws: ``JSONError`` with an offset relative to `bytes`.
  static func parseValue(
    in bytes: UnsafeRawBufferPointer, at byteOffset: Int, depth: Int, keyPath: [String]
  ) throws(JSONError) -> (value: JSONValue, endByteOffset: Int, duplicateKeys: [JSONDuplicateKey]) {
    var p = JSONParser(bytes: bytes)
    p.i = byteOffset
    p.keyStack = keyPath
    let v = try p.parseValue(depth: depth)
    return (v, p.i, p.duplicates)
  }

  /// Parses the string whose opening quote is at `byteOffset` of `bytes` (the caller checked the quote),
  /// escapes decoded and UTF-8 validated.
  /// - Returns: the string and the offset just past its closing quote.
  /// - Throws: ``JSONError`` with an offset relative to `bytes`.
  static func parseString(in bytes: UnsafeRawBufferPointer, at byteOffset: Int) throws(JSONError) -> (
    value: String, endByteOffset: Int
  ) {
    var p = JSONParser(bytes: bytes)
    p.i = byteOffset
    let s = try p.parseString()
    return (s, p.i)
  }
}

/// Why a JSON text was rejected. Offsets are relative to the start of the parsed bytes.
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
  case unexpectedEnd(offset: Int)
  case unexpectedCharacter(offset: Int, found: UInt8)
  case invalidNumber(offset: Int)
  case invalidEscape(offset: Int)
  case loneSurrogate(offset: Int)
  case controlCharacterInString(offset: Int)
  case invalidUTF8(offset: Int)
  case tooDeep(offset: Int, limit: Int)
  case trailingData(offset: Int)

  /// Offset of the violation relative to the parsed bytes.
  public var offset: Int {
    switch self {
    case .unexpectedEnd(let o), .unexpectedCharacter(let o, _), .invalidNumber(let o), .invalidEscape(let o),
      .loneSurrogate(let o), .controlCharacterInString(let o), .invalidUTF8(let o), .tooDeep(let o, _),
      .trailingData(let o):
      o
    }
  }

  public var description: String {
    switch self {
    case .unexpectedEnd: "JSON ends early"
    case .unexpectedCharacter(_, let c): "unexpected character 0x\(String(c, radix: 16))"
    case .invalidNumber: "invalid number"
    case .invalidEscape: "invalid escape sequence"
    case .loneSurrogate: "unpaired UTF-16 surrogate escape"
    case .controlCharacterInString: "unescaped control character in string"
    case .invalidUTF8: "invalid UTF-8"
    case .tooDeep(_, let l): "nesting deeper than \(l)"
    case .trailingData: "data after the JSON value"
    }
  }
}
