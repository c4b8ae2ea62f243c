/// A Python literal of the subset NumPy headers use.
indirect enum PythonLiteral: Equatable {
  case dict([(PythonLiteral, PythonLiteral)])
  case list([PythonLiteral])
  case tuple([PythonLiteral])
  case string(String)
  case int(Int)
  case bool(Bool)
  case none

  static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
    switch (a, b) {
    case (.dict(let x), .dict(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.int(let x), .int(let y)): x == y
    case (.bool(let x), .bool(let y)): x == y
    case (.none, .none): true
    default: false
    }
  }

  /// Python-like source text (for structured dtypes).
  var literalText: String {
    switch self {
    case .dict(let items): "{" + items.map { "\($0.0.literalText): \($0.1.literalText)" }.joined(separator: ", ") + "}"
    case .list(let xs): "[" + xs.map(\.literalText).joined(separator: ", ") + "]"
    case .tuple(let xs): "(" + xs.map(\.literalText).joined(separator: ", ") + (xs.count == 1 ? ",)" : ")")
    case .string(let s): "'" + s + "'"
    case .int(let n): String(n)
    case .bool(let b): b ? "True" : "False"
    case .none: "None"
    }
  }
}

/// A bounded recursive-descent parser for `ast.literal_eval`'s subset that `.npy` headers use: dicts,
/// lists, tuples, quoted strings, ints (Python 2's `L` suffix tolerated), True/False/None.
struct PythonLiteralParser {
  let chars: [Unicode.Scalar]
  let baseOffset: Int
  var i = 0
  static let maxDepth = 32

  init(chars: [Unicode.Scalar], baseOffset: Int) {
    self.chars = chars
    self.baseOffset = baseOffset
  }

  func fail(_ detail: String) -> ContainerError {
    .npyMalformedHeader(offset: baseOffset &+ i, detail: detail)  // offset in characters == bytes for Latin-1
  }

  mutating func skipSpace() {
    while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "\n" || chars[i] == "\r" { i &+= 1 }
  }

  mutating func parseTopLevel() throws(ContainerError) -> PythonLiteral {
    let v = try parseValue(depth: 0)
    skipSpace()
    guard i == chars.count else { throw fail("unexpected '\(chars[i])' after the literal") }
    return v
  }

  mutating func parseValue(depth: Int) throws(ContainerError) -> PythonLiteral {
    guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
    skipSpace()
    guard i < chars.count else { throw fail("literal ends early") }
    let c = chars[i]
    switch c {
    case "{":
      i &+= 1
      var items: [(PythonLiteral, PythonLiteral)] = []
      while true {
        skipSpace()
        if i < chars.count, chars[i] == "}" { i &+= 1; return .dict(items) }
        let k = try parseValue(depth: depth &+ 1)
        skipSpace()
        guard i < chars.count, chars[i] == ":" else { throw fail("expected ':'") }
        i &+= 1
        let v = try parseValue(depth: depth &+ 1)
        items.append((k, v))
        skipSpace()
        guard i < chars.count else { throw fail("dict not closed") }
        if chars[i] == "," { i &+= 1; continue }
        guard chars[i] == "}" else { throw fail("expected ',' or '}'") }
      }
    case "(", "[":
      let close: Unicode.Scalar = c == "(" ? ")" : "]"
      i &+= 1
      var xs: [PythonLiteral] = []
      var sawComma = false
      while true {
        skipSpace()
        if i < chars.count, chars[i] == close {
          i &+= 1
          if c == "[" { return .list(xs) }
          // (x) is x, (x,) a tuple, () the empty tuple
          if xs.count == 1, !sawComma { return xs[0] }
          return .tuple(xs)
        }
        xs.append(try parseValue(depth: depth &+ 1))
        skipSpace()
        guard i < chars.count else { throw fail("sequence not closed") }
        if chars[i] == "," { i &+= 1; sawComma = true; continue }
        guard chars[i] == close else { throw fail("expected ',' or '\(close)'") }
      }
    case "'", "\"":
      i &+= 1
      var s = String.UnicodeScalarView()
      while true {
        guard i < chars.count else { throw fail("string not closed") }
        let ch = chars[i]
        i &+= 1
        if ch == c { return .string(String(s)) }
        if ch == "\n" { throw fail("newline in string") }
        if ch == "\\" {
          guard i < chars.count else { throw fail("string not closed") }
          let e = chars[i]
          i &+= 1
          switch e {
          case "n": s.append("\n")
          case "t": s.append("\t")
          case "\\", "'", "\"": s.append(e)
          default: s.append("\\"); s.append(e)
          }
        } else {
          s.append(ch)
        }
      }
    case "-", "0"..."9":
      var negative = false
      if c == "-" { negative = true; i &+= 1 }
      var v = 0
      var digits = 0
      while i < chars.count, chars[i].value >= 0x30, chars[i].value <= 0x39 {
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(chars[i].value &- 0x30))
        guard !o1, !o2 else { throw fail("integer overflows") }
        v = a
        i &+= 1
        digits &+= 1
      }
      guard digits > 0 else { throw fail("expected digits") }
      if i < chars.count, chars[i] == "L" || chars[i] == "l" { i &+= 1 }  // Python 2 long suffix
      return .int(negative ? 0 &- v : v)  // can't overflow: v >= 0
    default:
      for (word, value) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
        let w = Array(word.unicodeScalars)
        if w.count <= chars.count &- i, Array(chars[i..<(i &+ w.count)]) == w {
          i &+= w.count
          return value
        }
      }
      throw fail("unexpected '\(c)'")
    }
  }
}
