// Python `str` semantics the templates rely on: code-point (not grapheme) indexing, byte-exact
// comparison (no canonical equivalence), `repr`, float `repr`, `json.dumps`.

enum PythonText {
  // MARK: - Searching (UTF-8 byte equality == code point equality for valid strings)

  static func find(_ hay: [UInt8], _ needle: [UInt8], from start: Int = 0) -> Int? {
    if needle.isEmpty { return start <= hay.count ? start : nil }
    guard hay.count >= needle.count else { return nil }
    var i = start
    let last = hay.count - needle.count
    while i <= last {
      if hay[i] == needle[0] {
        var k = 1
        while k < needle.count && hay[i + k] == needle[k] { k += 1 }
        if k == needle.count { return i }
      }
      i += 1
    }
    return nil
  }

  static func contains(_ hay: String, _ needle: String) -> Bool {
    find(Array(hay.utf8), Array(needle.utf8)) != nil
  }

  static func hasPrefix(_ s: String, _ p: String) -> Bool { s.utf8.starts(with: p.utf8) }

  static func hasSuffix(_ s: String, _ p: String) -> Bool {
    s.utf8.count >= p.utf8.count && s.utf8.reversed().starts(with: p.utf8.reversed())
  }

  static func count(_ s: String, _ sub: String) -> Int {
    let hay = Array(s.utf8)
    let needle = Array(sub.utf8)
    if needle.isEmpty { return s.unicodeScalars.count + 1 }
    var n = 0
    var i = 0
    while let j = find(hay, needle, from: i) {
      n += 1
      i = j + needle.count
    }
    return n
  }

  /// `str.replace(old, new, count)`.
  static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    if old.isEmpty {
      var out = ""
      var n = 0
      for scalar in s.unicodeScalars {
        if count < 0 || n < count {
          out += new
          n += 1
        }
        out.unicodeScalars.append(scalar)
      }
      if count < 0 || n < count { out += new }
      return out
    }
    let hay = Array(s.utf8)
    let needle = Array(old.utf8)
    var out: [UInt8] = []
    var i = 0
    var n = 0
    while count < 0 || n < count, let j = find(hay, needle, from: i) {
      out.append(contentsOf: hay[i..<j])
      out.append(contentsOf: new.utf8)
      i = j + needle.count
      n += 1
    }
    out.append(contentsOf: hay[i...])
    return String(decoding: out, as: UTF8.self)
  }

  /// `str.split(sep, maxsplit)` with an explicit separator.
  static func split(_ s: String, _ sep: String, maxSplit: Int = -1) -> [String] {
    let hay = Array(s.utf8)
    let needle = Array(sep.utf8)
    var parts: [String] = []
    var i = 0
    var n = 0
    while maxSplit < 0 || n < maxSplit, let j = find(hay, needle, from: i) {
      parts.append(String(decoding: hay[i..<j], as: UTF8.self))
      i = j + needle.count
      n += 1
    }
    parts.append(String(decoding: hay[i...], as: UTF8.self))
    return parts
  }

  /// `str.rsplit(sep, maxsplit)` with an explicit separator.
  static func rsplit(_ s: String, _ sep: String, maxSplit: Int = -1) -> [String] {
    if maxSplit < 0 { return split(s, sep) }
    let hay = Array(s.utf8)
    let needle = Array(sep.utf8)
    var positions: [Int] = []
    var i = 0
    while let j = find(hay, needle, from: i) {
      positions.append(j)
      i = j + needle.count
    }
    // Python's rsplit scans from the right; for non-overlapping separators the rightmost
    // `maxSplit` matches of a left scan differ only for self-overlapping separators.
    let used = Array(positions.suffix(maxSplit))
    var parts: [String] = []
    var start = 0
    for p in used {
      parts.append(String(decoding: hay[start..<p], as: UTF8.self))
      start = p + needle.count
    }
    parts.append(String(decoding: hay[start...], as: UTF8.self))
    return parts
  }

  /// `str.split()` (runs of whitespace, no empty parts).
  static func splitWhitespace(_ s: String, maxSplit: Int = -1) -> [String] {
    var parts: [String] = []
    var currentPart = String.UnicodeScalarView()
    var inWord = false
    var scalars = Array(s.unicodeScalars)[...]
    while let c = scalars.first {
      if isPythonWhitespace(c) {
        if inWord {
          parts.append(String(currentPart))
          currentPart = String.UnicodeScalarView()
          inWord = false
          if maxSplit >= 0 && parts.count == maxSplit {
            // The rest, left-stripped, is the last part.
            let rest = scalars.drop(while: { isPythonWhitespace($0) })
            if !rest.isEmpty { parts.append(String(String.UnicodeScalarView(rest))) }
            return parts
          }
        }
      } else {
        currentPart.append(c)
        inWord = true
      }
      scalars = scalars.dropFirst()
    }
    if inWord { parts.append(String(currentPart)) }
    return parts
  }

  /// `str.strip/lstrip/rstrip(chars)`; `chars` nil strips whitespace.
  static func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
    let set = chars.map { Set($0.unicodeScalars) }
    func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPythonWhitespace(c) }
    var scalars = Array(s.unicodeScalars)[...]
    if left { scalars = scalars.drop(while: strippable) }
    if right {
      while let last = scalars.last, strippable(last) { scalars = scalars.dropLast() }
    }
    return String(String.UnicodeScalarView(scalars))
  }

  /// `str.splitlines()` line boundaries.
  static func isLineBoundary(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
  }

  /// `str.splitlines(keepends=False)`.
  static func splitLines(_ s: String) -> [String] {
    var lines: [String] = []
    var line = String.UnicodeScalarView()
    let scalars = Array(s.unicodeScalars)
    var i = 0
    while i < scalars.count {
      let c = scalars[i]
      if isLineBoundary(c) {
        lines.append(String(line))
        line = String.UnicodeScalarView()
        if c == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
      } else {
        line.append(c)
      }
      i += 1
    }
    if !line.isEmpty { lines.append(String(line)) }
    return lines
  }

  // MARK: - Case

  static func upper(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars { out += c.properties.uppercaseMapping }
    return out
  }

  static func lower(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars { out += c.properties.lowercaseMapping }
    return out
  }

  static func isCased(_ c: Unicode.Scalar) -> Bool {
    c.properties.isUppercase || c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter
  }

  /// Python `str.title()`.
  static func title(_ s: String) -> String {
    var out = ""
    var previousCased = false
    for c in s.unicodeScalars {
      if previousCased { out += c.properties.lowercaseMapping } else { out += c.properties.titlecaseMapping }
      previousCased = isCased(c)
    }
    return out
  }

  /// Python `str.capitalize()` (3.8+: first character titlecased).
  static func capitalize(_ s: String) -> String {
    var out = ""
    for (i, c) in s.unicodeScalars.enumerated() {
      out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
    }
    return out
  }

  // MARK: - repr

  static func isPrintable(_ c: Unicode.Scalar) -> Bool {
    if c == " " { return true }
    switch c.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
      return false
    default:
      return true
    }
  }

  static func hex(_ v: UInt32, width: Int) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
  }

  /// Python `repr(str)`.
  static func repr(_ s: String) -> String {
    let hasSingle = s.utf8.contains(UInt8(ascii: "'"))
    let hasDouble = s.utf8.contains(UInt8(ascii: "\""))
    let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
    var out = String.UnicodeScalarView()
    out.append(quote)
    for c in s.unicodeScalars {
      switch c {
      case quote, "\\":
        out.append("\\")
        out.append(c)
      case "\t": out.append(contentsOf: "\\t".unicodeScalars)
      case "\n": out.append(contentsOf: "\\n".unicodeScalars)
      case "\r": out.append(contentsOf: "\\r".unicodeScalars)
      default:
        if c.value < 0x20 || c.value == 0x7F {
          out.append(contentsOf: ("\\x" + hex(c.value, width: 2)).unicodeScalars)
        } else if c.value < 0x7F || isPrintable(c) {
          out.append(c)
        } else if c.value <= 0xFF {
          out.append(contentsOf: ("\\x" + hex(c.value, width: 2)).unicodeScalars)
        } else if c.value <= 0xFFFF {
          out.append(contentsOf: ("\\u" + hex(c.value, width: 4)).unicodeScalars)
        } else {
          out.append(contentsOf: ("\\U" + hex(c.value, width: 8)).unicodeScalars)
        }
      }
    }
    out.append(quote)
    return String(out)
  }

  /// Python `repr(float)` (shortest round-trip digits, Python's switch to exponent form).
  static func floatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description gives the shortest round-trip digits; re-layout them as Python does.
    var text = d.magnitude.description
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(text[text.index(after: e)...]) ?? 0
      text = String(text[..<e])
    }
    var intPart = text
    var fracPart = ""
    if let dot = text.firstIndex(of: ".") {
      intPart = String(text[..<dot])
      fracPart = String(text[text.index(after: dot)...])
    }
    var digits = intPart + fracPart
    var decpt = intPart.count + exponent
    while digits.first == "0" {
      digits.removeFirst()
      decpt -= 1
    }
    while digits.last == "0" { digits.removeLast() }
    if digits.isEmpty { return d.sign == .minus ? "-0.0" : "0.0" }
    let sign = d.sign == .minus ? "-" : ""
    if decpt > 16 || decpt < -3 {
      let e = decpt - 1
      var mantissa = String(digits.first!)
      if digits.count > 1 { mantissa += "." + digits.dropFirst() }
      let expDigits = String(abs(e))
      return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (expDigits.count < 2 ? "0" + expDigits : expDigits)
    }
    if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + digits }
    if decpt >= digits.count { return sign + digits + String(repeating: "0", count: decpt - digits.count) + ".0" }
    let idx = digits.index(digits.startIndex, offsetBy: decpt)
    return sign + String(digits[..<idx]) + "." + String(digits[idx...])
  }

  // MARK: - JSON (Python json.dumps, ensure_ascii=False by default in transformers' tojson)

  static func jsonString(_ s: String, ensureASCII: Bool) -> String {
    var out = String.UnicodeScalarView()
    out.append("\"")
    for c in s.unicodeScalars {
      switch c {
      case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
      case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
      case "\n": out.append(contentsOf: "\\n".unicodeScalars)
      case "\r": out.append(contentsOf: "\\r".unicodeScalars)
      case "\t": out.append(contentsOf: "\\t".unicodeScalars)
      case "\u{08}": out.append(contentsOf: "\\b".unicodeScalars)
      case "\u{0C}": out.append(contentsOf: "\\f".unicodeScalars)
      default:
        if c.value < 0x20 {
          out.append(contentsOf: ("\\u" + hex(c.value, width: 4)).unicodeScalars)
        } else if ensureASCII && c.value > 0x7E {
          if c.value > 0xFFFF {
            let v = c.value - 0x10000
            out.append(contentsOf: ("\\u" + hex(0xD800 | (v >> 10), width: 4)).unicodeScalars)
            out.append(contentsOf: ("\\u" + hex(0xDC00 | (v & 0x3FF), width: 4)).unicodeScalars)
          } else {
            out.append(contentsOf: ("\\u" + hex(c.value, width: 4)).unicodeScalars)
          }
        } else {
          out.append(c)
        }
      }
    }
    out.append("\"")
    return String(out)
  }
}
