// A Jinja2 lexer with the behaviour of jinja2/lexer.py under transformers' settings:
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, default delimiters.
// Written from the Jinja documentation and observed behaviour, not from its code.

/// A lexical token of a template.
struct TemplateToken: Sendable {
  enum Kind: Sendable, Equatable {
    case text(String)
    case comment(String)
    case blockBegin
    case blockEnd
    case variableBegin
    case variableEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
    case eof
  }
  let kind: Kind
  let location: SourceLocation
}

/// The template source after Jinja's newline normalisation, with a map back to original offsets.
struct TemplateSource {
  /// UTF-8 bytes with `\r\n` and `\r` turned into `\n` and one trailing `\n` dropped.
  let bytes: [UInt8]
  /// `originalOffsets[i]` is the original byte offset of `bytes[i]` (nil when nothing changed).
  private let originalOffsets: [Int]?
  /// Normalised byte index of the first byte of each line.
  private let lineStarts: [Int]
  /// `scalarStarts[i]`: how many scalars begin before byte `i` (makes columns O(1)).
  private let scalarStarts: [UInt32]

  init(_ source: String) {
    var out: [UInt8] = []
    out.reserveCapacity(source.utf8.count)
    var map: [Int]? = nil
    let utf8 = Array(source.utf8)
    var i = 0
    while i < utf8.count {
      let b = utf8[i]
      if b == 0x0D {
        if map == nil { map = Array(0..<out.count) }
        out.append(0x0A)
        map?.append(i)
        // can't overflow: i < utf8.count
        if i + 1 < utf8.count && utf8[i + 1] == 0x0A { i += 2 } else { i += 1 }
        continue
      }
      out.append(b)
      map?.append(i)
      i += 1
    }
    // Jinja's keep_trailing_newline=False: one trailing newline is not part of the template.
    if out.last == 0x0A {
      out.removeLast()
      map?.removeLast()
    }
    map?.append(utf8.count)  // location of the end of input
    bytes = out
    originalOffsets = map
    var starts = [0]
    var counts = [UInt32](repeating: 0, count: out.count + 1)
    var running: UInt32 = 0
    for (j, b) in out.enumerated() {
      counts[j] = running
      if b & 0xC0 != 0x80 { running &+= 1 }  // can't overflow: sources are capped far below 2^32 bytes
      if b == 0x0A { starts.append(j + 1) }
    }
    counts[out.count] = running
    lineStarts = starts
    scalarStarts = counts
  }

  /// The location of normalised byte index `index` (clamped to the end).
  func location(_ index: Int) -> SourceLocation {
    let at = min(max(index, 0), bytes.count)
    // Binary search for the last line start <= at.
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if lineStarts[mid] <= at { lo = mid } else { hi = mid - 1 }
    }
    let column = Int(scalarStarts[at] - scalarStarts[lineStarts[lo]]) + 1
    let original: Int
    if let map = originalOffsets { original = at < map.count ? map[at] : (map.last ?? at) } else { original = at }
    return SourceLocation(line: lo + 1, column: column, byteOffset: original)
  }

  /// Decodes the Unicode scalar starting at `index` (which must be a scalar boundary).
  func scalar(at index: Int) -> (Unicode.Scalar, Int)? {
    guard index < bytes.count else { return nil }
    let b0 = bytes[index]
    if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
    var length = 0
    var value: UInt32 = 0
    if b0 & 0xE0 == 0xC0 { length = 2; value = UInt32(b0 & 0x1F) }
    else if b0 & 0xF0 == 0xE0 { length = 3; value = UInt32(b0 & 0x0F) }
    else if b0 & 0xF8 == 0xF0 { length = 4; value = UInt32(b0 & 0x07) }
    else { return nil }
    guard index + length <= bytes.count else { return nil }
    for k in 1..<length { value = (value << 6) | UInt32(bytes[index + k] & 0x3F) }
    guard let s = Unicode.Scalar(value) else { return nil }
    return (s, length)
  }

  func string(_ range: Range<Int>) -> String {
    String(decoding: bytes[range], as: UTF8.self)  // bytes came from a valid String
  }
}

/// Python's `str.isspace()` / the `\s` class of `re` for `str` patterns.
func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
  switch s.value {
  case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
    return true
  default:
    return false
  }
}

struct TemplateLexer {
  static let maxSourceBytes = 4 << 20

  let source: TemplateSource
  private(set) var tokens: [TemplateToken] = []
  private var pos = 0
  private var lineStarting = true

  init(source: TemplateSource) { self.source = source }

  private var bytes: [UInt8] { source.bytes }

  static func tokenize(_ source: TemplateSource) throws(TemplateError) -> [TemplateToken] {
    guard source.bytes.count <= maxSourceBytes else {
      throw .limitExceeded(what: "template source bytes", limit: maxSourceBytes, location: source.location(0))
    }
    var lexer = TemplateLexer(source: source)
    try lexer.run()
    return lexer.tokens
  }

  // MARK: - Root state

  private mutating func run() throws(TemplateError) {
    let n = bytes.count
    while pos < n {
      guard let (tagStart, kind) = nextTagStart(from: pos) else {
        emitText(pos..<n)
        pos = n
        break
      }
      var textEnd = tagStart
      var afterBegin = tagStart + 2
      var sign: UInt8 = 0
      if afterBegin < n, bytes[afterBegin] == UInt8(ascii: "-") || bytes[afterBegin] == UInt8(ascii: "+") {
        sign = bytes[afterBegin]
        afterBegin += 1
      }
      // Whitespace control of the text before the tag.
      if sign == UInt8(ascii: "-") {
        textEnd = rstripEnd(pos, tagStart)
      } else if sign != UInt8(ascii: "+") && kind != UInt8(ascii: "{") {
        // lstrip_blocks: drop spaces between the line start and a block/comment tag.
        var lineStart = tagStart
        while lineStart > pos && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
        if lineStart > pos || lineStarting {
          if lineStart < tagStart && isAllWhitespace(lineStart, tagStart) { textEnd = lineStart }
        }
      }
      emitText(pos..<textEnd)
      lineStarting = false
      switch kind {
      case UInt8(ascii: "#"):
        try lexComment(tagStart: tagStart, bodyStart: afterBegin)
      case UInt8(ascii: "%"):
        if let rawEnd = try lexRaw(tagStart: tagStart, afterBegin: afterBegin) {
          pos = rawEnd
        } else {
          tokens.append(TemplateToken(kind: .blockBegin, location: source.location(tagStart)))
          pos = afterBegin
          try lexTagContents(isBlock: true, tagStart: tagStart)
        }
      default:
        tokens.append(TemplateToken(kind: .variableBegin, location: source.location(tagStart)))
        pos = afterBegin
        try lexTagContents(isBlock: false, tagStart: tagStart)
      }
    }
    tokens.append(TemplateToken(kind: .eof, location: source.location(n)))
  }

  private func nextTagStart(from start: Int) -> (Int, UInt8)? {
    var i = start
    let n = bytes.count
    while i + 1 < n {
      if bytes[i] == UInt8(ascii: "{") {
        let c = bytes[i + 1]
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "%") || c == UInt8(ascii: "#") { return (i, c) }
      }
      i += 1
    }
    return nil
  }

  private mutating func emitText(_ range: Range<Int>) {
    guard !range.isEmpty else { return }
    tokens.append(TemplateToken(kind: .text(source.string(range)), location: source.location(range.lowerBound)))
  }

  /// End index after removing trailing Python whitespace from `start..<end`.
  private func rstripEnd(_ start: Int, _ end: Int) -> Int {
    var e = end
    while e > start {
      // Step back to the start of the previous scalar.
      var s = e - 1
      while s > start && bytes[s] & 0xC0 == 0x80 { s -= 1 }
      guard let (scalar, _) = source.scalar(at: s), isPythonWhitespace(scalar) else { break }
      e = s
    }
    return e
  }

  private func isAllWhitespace(_ start: Int, _ end: Int) -> Bool {
    var i = start
    while i < end {
      guard let (scalar, len) = source.scalar(at: i), isPythonWhitespace(scalar) else { return false }
      i += len
    }
    return true
  }

  /// Index after all Python whitespace starting at `start`.
  private func skipWhitespace(_ start: Int) -> Int {
    var i = start
    while let (scalar, len) = source.scalar(at: i), isPythonWhitespace(scalar) { i += len }
    return i
  }

  private func matches(_ literal: String, at index: Int) -> Bool {
    var i = index
    for b in literal.utf8 {
      guard i < bytes.count, bytes[i] == b else { return false }
      i += 1
    }
    return true
  }

  // MARK: - Comments and raw blocks

  private mutating func lexComment(tagStart: Int, bodyStart: Int) throws(TemplateError) {
    var i = bodyStart
    let n = bytes.count
    while i + 1 < n {
      if bytes[i] == UInt8(ascii: "#") && bytes[i + 1] == UInt8(ascii: "}") { break }
      i += 1
    }
    guard i + 1 < n else {
      throw .syntax(message: "missing end of comment tag", location: source.location(tagStart))
    }
    var bodyEnd = i
    var after = i + 2
    if bodyEnd > bodyStart && bytes[bodyEnd - 1] == UInt8(ascii: "-") {
      bodyEnd -= 1
      after = skipWhitespace(after)
    } else if bodyEnd > bodyStart && bytes[bodyEnd - 1] == UInt8(ascii: "+") {
      bodyEnd -= 1
    } else if after < n && bytes[after] == 0x0A {
      after += 1  // trim_blocks
    }
    tokens.append(TemplateToken(kind: .comment(source.string(bodyStart..<bodyEnd)), location: source.location(tagStart)))
    lineStarting = after > 0 && bytes[after - 1] == 0x0A
    pos = after
  }

  /// Lexes `{% raw %}...{% endraw %}` if the block at `tagStart` is a raw block; returns the end.
  private mutating func lexRaw(tagStart: Int, afterBegin: Int) throws(TemplateError) -> Int? {
    var i = skipWhitespace(afterBegin)
    guard matches("raw", at: i) else { return nil }
    i += 3
    i = skipWhitespace(i)
    if matches("-%}", at: i) {
      i = skipWhitespace(i + 3)
    } else if matches("%}", at: i) {
      i += 2  // no trim_blocks after a raw begin tag (Jinja quirk)
    } else {
      return nil
    }
    // Find `{%[-+]? endraw [-+]?%}`.
    let bodyStart = i
    var j = i
    let n = bytes.count
    while j + 1 < n {
      if bytes[j] == UInt8(ascii: "{") && bytes[j + 1] == UInt8(ascii: "%") {
        var k = j + 2
        var sign: UInt8 = 0
        if k < n && (bytes[k] == UInt8(ascii: "-") || bytes[k] == UInt8(ascii: "+")) { sign = bytes[k]; k += 1 }
        k = skipWhitespace(k)
        if matches("endraw", at: k) {
          k = skipWhitespace(k + 6)
          var end: Int
          if matches("-%}", at: k) { end = skipWhitespace(k + 3) }
          else if matches("+%}", at: k) { end = k + 3 }
          else if matches("%}", at: k) {
            end = k + 2
            if end < n && bytes[end] == 0x0A { end += 1 }
          } else { j += 1; continue }
          var textEnd = j
          if sign == UInt8(ascii: "-") {
            textEnd = rstripEnd(bodyStart, j)
          } else if sign != UInt8(ascii: "+") {
            var lineStart = j
            while lineStart > bodyStart && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
            if lineStart > bodyStart, lineStart < j, isAllWhitespace(lineStart, j) { textEnd = lineStart }
          }
          emitText(bodyStart..<textEnd)
          lineStarting = end > 0 && bytes[end - 1] == 0x0A
          return end
        }
      }
      j += 1
    }
    throw .syntax(message: "missing end of raw directive", location: source.location(tagStart))
  }

  // MARK: - Inside {% %} and {{ }}

  private static let operators3: [String] = []
  private static let operators2: [String] = ["//", "**", "==", "!=", ">=", "<="]
  private static let operators1: Set<UInt8> = Set("+-/*%~[](){}><=.:|,;".utf8)

  private mutating func lexTagContents(isBlock: Bool, tagStart: Int) throws(TemplateError) {
    var balance: [UInt8] = []
    let n = bytes.count
    while true {
      pos = skipWhitespace(pos)
      guard pos < n else {
        throw .syntax(
          message: isBlock ? "unexpected end of template, expected end of block tag '%}'"
            : "unexpected end of template, expected end of print statement '}}'",
          location: source.location(tagStart))
      }
      let loc = source.location(pos)
      if balance.isEmpty {
        if isBlock {
          if matches("-%}", at: pos) {
            tokens.append(TemplateToken(kind: .blockEnd, location: loc))
            pos = skipWhitespace(pos + 3)
            lineStarting = pos > 0 && bytes[pos - 1] == 0x0A
            return
          }
          if matches("+%}", at: pos) {
            tokens.append(TemplateToken(kind: .blockEnd, location: loc))
            pos += 3
            lineStarting = false
            return
          }
          if matches("%}", at: pos) {
            tokens.append(TemplateToken(kind: .blockEnd, location: loc))
            pos += 2
            if pos < n && bytes[pos] == 0x0A { pos += 1 }  // trim_blocks
            lineStarting = pos > 0 && bytes[pos - 1] == 0x0A
            return
          }
        } else {
          if matches("-}}", at: pos) {
            tokens.append(TemplateToken(kind: .variableEnd, location: loc))
            pos = skipWhitespace(pos + 3)
            lineStarting = pos > 0 && bytes[pos - 1] == 0x0A
            return
          }
          if matches("}}", at: pos) {
            tokens.append(TemplateToken(kind: .variableEnd, location: loc))
            pos += 2
            lineStarting = false
            return
          }
        }
      }
      let b = bytes[pos]
      if isNameStart(b) {
        let start = pos
        while pos < n && isNameContinue(bytes[pos]) { pos += 1 }
        tokens.append(TemplateToken(kind: .name(source.string(start..<pos)), location: loc))
        continue
      }
      if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
        tokens.append(try lexNumber(loc))
        continue
      }
      if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
        tokens.append(try lexString(loc))
        continue
      }
      if pos + 1 < n, let op = Self.operators2.first(where: { matches($0, at: pos) }) {
        tokens.append(TemplateToken(kind: .op(op), location: loc))
        pos += 2
        continue
      }
      if Self.operators1.contains(b) {
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
          balance.append(b)
        case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
          let expected: UInt8 = b == UInt8(ascii: ")") ? UInt8(ascii: "(") : b == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
          guard let open = balance.popLast() else {
            throw .syntax(message: "unexpected '\(Character(Unicode.Scalar(b)))'", location: loc)
          }
          guard open == expected else {
            throw .syntax(message: "unexpected '\(Character(Unicode.Scalar(b)))'", location: loc)
          }
        default: break
        }
        tokens.append(TemplateToken(kind: .op(String(Character(Unicode.Scalar(b)))), location: loc))
        pos += 1
        continue
      }
      let shown = source.scalar(at: pos).map { String(Character($0.0)) } ?? "?"
      throw .syntax(message: "unexpected char '\(shown)'", location: loc)
    }
  }

  private func isNameStart(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
      || b == UInt8(ascii: "_")
  }

  private func isNameContinue(_ b: UInt8) -> Bool {
    isNameStart(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
  }

  private func isDigit(_ i: Int) -> Bool {
    i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")
  }

  /// Digits with single `_` separators; returns the digits without underscores.
  private mutating func digitRun() -> String {
    var out = ""
    while pos < bytes.count {
      if isDigit(pos) {
        out.append(Character(Unicode.Scalar(bytes[pos])))
        pos += 1
      } else if bytes[pos] == UInt8(ascii: "_") && isDigit(pos + 1) && !out.isEmpty {
        pos += 1
      } else {
        break
      }
    }
    return out
  }

  private mutating func lexNumber(_ loc: SourceLocation) throws(TemplateError) -> TemplateToken {
    if bytes[pos] == UInt8(ascii: "0"), pos + 1 < bytes.count,
      [UInt8(ascii: "x"), UInt8(ascii: "X"), UInt8(ascii: "o"), UInt8(ascii: "O"), UInt8(ascii: "b"), UInt8(ascii: "B")]
        .contains(bytes[pos + 1])
    {
      throw .unsupported(construct: "non-decimal integer literal", location: loc)
    }
    var text = digitRun()
    var isFloat = false
    if pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "."), isDigit(pos + 1) {
      pos += 1
      text += "." + digitRun()
      isFloat = true
    }
    if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
      var k = pos + 1
      var sign = ""
      if k < bytes.count, bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-") {
        sign = String(Character(Unicode.Scalar(bytes[k])))
        k += 1
      }
      if isDigit(k) {
        pos = k
        text += "e" + sign + digitRun()
        isFloat = true
      }
    }
    if isFloat {
      guard let v = Double(text) else { throw .syntax(message: "invalid float literal", location: loc) }
      return TemplateToken(kind: .float(v), location: loc)
    }
    guard let v = Int(text) else {
      throw .unsupported(construct: "integer literal larger than 64 bits", location: loc)
    }
    return TemplateToken(kind: .integer(v), location: loc)
  }

  private mutating func lexString(_ loc: SourceLocation) throws(TemplateError) -> TemplateToken {
    let quote = bytes[pos]
    var i = pos + 1
    let n = bytes.count
    while i < n && bytes[i] != quote {
      if bytes[i] == UInt8(ascii: "\\") { i += 1 }
      i += 1
    }
    guard i < n else { throw .syntax(message: "unexpected char '\(Character(Unicode.Scalar(quote)))'", location: loc) }
    let body = Array(source.bytes[(pos + 1)..<i])
    pos = i + 1
    return TemplateToken(kind: .string(try decodeStringEscapes(body, loc)), location: loc)
  }

  /// Python `unicode-escape` decoding as Jinja applies it to string literals.
  private func decodeStringEscapes(_ body: [UInt8], _ loc: SourceLocation) throws(TemplateError) -> String {
    guard body.contains(UInt8(ascii: "\\")) else { return String(decoding: body, as: UTF8.self) }
    var out: [UInt8] = []
    out.reserveCapacity(body.count)
    var i = 0
    func appendScalar(_ v: UInt32) throws(TemplateError) {
      guard let s = Unicode.Scalar(v) else {
        throw .syntax(message: "invalid unicode escape in string literal", location: loc)
      }
      out.append(contentsOf: Array(String(Character(s)).utf8))
    }
    func hex(_ count: Int) throws(TemplateError) -> UInt32 {
      guard i + count < body.count + 0 || i + count <= body.count else {
        throw .syntax(message: "truncated escape in string literal", location: loc)
      }
      var v: UInt32 = 0
      for k in 0..<count {
        guard i + k < body.count, let d = hexDigit(body[i + k]) else {
          throw .syntax(message: "truncated \\x/\\u escape in string literal", location: loc)
        }
        v = v * 16 + d
      }
      i += count
      return v
    }
    while i < body.count {
      let b = body[i]
      guard b == UInt8(ascii: "\\"), i + 1 < body.count else {
        out.append(b)
        i += 1
        continue
      }
      let e = body[i + 1]
      i += 2
      switch e {
      case 0x0A: break  // line continuation
      case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
      case UInt8(ascii: "'"): out.append(UInt8(ascii: "'"))
      case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
      case UInt8(ascii: "a"): out.append(0x07)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "v"): out.append(0x0B)
      case UInt8(ascii: "0")...UInt8(ascii: "7"):
        var v = UInt32(e - UInt8(ascii: "0"))
        var k = 0
        while k < 2, i < body.count, body[i] >= UInt8(ascii: "0"), body[i] <= UInt8(ascii: "7") {
          v = v * 8 + UInt32(body[i] - UInt8(ascii: "0"))
          i += 1
          k += 1
        }
        try appendScalar(v)
      case UInt8(ascii: "x"): try appendScalar(try hex(2))
      case UInt8(ascii: "u"): try appendScalar(try hex(4))
      case UInt8(ascii: "U"): try appendScalar(try hex(8))
      case UInt8(ascii: "N"):
        throw .unsupported(construct: "\\N{...} escape in string literal", location: loc)
      default:
        out.append(UInt8(ascii: "\\"))
        out.append(e)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private func hexDigit(_ b: UInt8) -> UInt32? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
    default: return nil
    }
  }
}
