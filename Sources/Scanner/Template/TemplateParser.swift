// A recursive-descent parser for the Jinja2 grammar (jinja2/parser.py's precedence and statement
// forms), producing the public AST in TemplateAST.swift.

struct TemplateParser {
  static let maxDepth = 200

  private let tokens: [TemplateToken]
  private var index = 0
  private var depth = 0

  init(tokens: [TemplateToken]) { self.tokens = tokens }

  static func parse(_ tokens: [TemplateToken]) throws(TemplateError) -> [TemplateNode] {
    var parser = TemplateParser(tokens: tokens)
    let (body, end) = try parser.subparse(until: [])
    if let end { throw .syntax(message: "Encountered unknown tag '\(end.name)'.", location: end.location) }
    return body
  }

  // MARK: - Token helpers

  private var current: TemplateToken { tokens[min(index, tokens.count - 1)] }
  private var peekNext: TemplateToken { tokens[min(index + 1, tokens.count - 1)] }

  private mutating func advance() -> TemplateToken {
    let t = current
    if index < tokens.count - 1 { index += 1 }
    return t
  }

  private func isOp(_ op: String) -> Bool { current.kind == .op(op) }
  private func isName(_ name: String) -> Bool { current.kind == .name(name) }

  private mutating func skipOp(_ op: String) -> Bool {
    if isOp(op) { _ = advance(); return true }
    return false
  }

  private mutating func skipName(_ name: String) -> Bool {
    if isName(name) { _ = advance(); return true }
    return false
  }

  private func describe(_ t: TemplateToken) -> String {
    switch t.kind {
    case .text: return "template data"
    case .comment: return "comment"
    case .blockBegin: return "begin of statement block"
    case .blockEnd: return "end of statement block"
    case .variableBegin: return "begin of print statement"
    case .variableEnd: return "end of print statement"
    case .name(let n): return "'\(n)'"
    case .string: return "string"
    case .integer: return "integer"
    case .float: return "float"
    case .op(let o): return "'\(o)'"
    case .eof: return "end of template"
    }
  }

  private mutating func expectOp(_ op: String) throws(TemplateError) {
    guard skipOp(op) else {
      throw .syntax(message: "expected '\(op)', got \(describe(current))", location: current.location)
    }
  }

  private mutating func expectName() throws(TemplateError) -> String {
    guard case .name(let n) = current.kind else {
      throw .syntax(message: "expected name, got \(describe(current))", location: current.location)
    }
    _ = advance()
    return n
  }

  private mutating func expectBlockEnd() throws(TemplateError) {
    guard current.kind == .blockEnd else {
      throw .syntax(message: "expected end of statement block, got \(describe(current))", location: current.location)
    }
    _ = advance()
  }

  private mutating func enter(_ loc: SourceLocation) throws(TemplateError) {
    depth += 1
    if depth > Self.maxDepth { throw .limitExceeded(what: "template nesting depth", limit: Self.maxDepth, location: loc) }
  }

  // MARK: - Statements

  struct EndTag {
    let name: String
    let location: SourceLocation
  }

  /// Parses nodes until a block tag whose keyword is in `ends`; consumes `{% keyword` and returns it.
  private mutating func subparse(until ends: Set<String>) throws(TemplateError) -> ([TemplateNode], EndTag?) {
    var body: [TemplateNode] = []
    while true {
      let t = current
      switch t.kind {
      case .eof:
        return (body, nil)
      case .text(let s):
        _ = advance()
        body.append(TemplateNode(.text(s), at: t.location))
      case .comment(let s):
        _ = advance()
        body.append(TemplateNode(.comment(s), at: t.location))
      case .variableBegin:
        _ = advance()
        let e = try parseTuple()
        guard current.kind == .variableEnd else {
          throw .syntax(message: "expected end of print statement, got \(describe(current))", location: current.location)
        }
        _ = advance()
        body.append(TemplateNode(.output(e), at: t.location))
      case .blockBegin:
        _ = advance()
        guard case .name(let keyword) = current.kind else {
          throw .syntax(message: "tag name expected", location: current.location)
        }
        if ends.contains(keyword) {
          let loc = current.location
          _ = advance()
          return (body, EndTag(name: keyword, location: loc))
        }
        body.append(try parseStatement(keyword: keyword, start: t.location))
      default:
        throw .syntax(message: "unexpected \(describe(t))", location: t.location)
      }
    }
  }

  private mutating func parseBody(
    until ends: Set<String>, opener: String, start: SourceLocation
  ) throws(TemplateError) -> ([TemplateNode], EndTag) {
    let (body, end) = try subparse(until: ends)
    guard let end else {
      let expected = ends.sorted().map { "'\($0)'" }.joined(separator: " or ")
      throw .syntax(
        message: "Unexpected end of template. Jinja was looking for the following tags: \(expected). The innermost block that needs to be closed is '\(opener)'.",
        location: start)
    }
    return (body, end)
  }

  private mutating func parseStatement(keyword: String, start: SourceLocation) throws(TemplateError) -> TemplateNode {
    try enter(start)
    defer { depth -= 1 }
    let keywordLocation = current.location
    _ = advance()
    switch keyword {
    case "if": return try parseIf(start)
    case "for": return try parseFor(start)
    case "set": return try parseSet(start)
    case "macro": return try parseMacro(start)
    case "call": return try parseCallBlock(start)
    case "filter": return try parseFilterBlock(start)
    case "break", "continue":
      try expectBlockEnd()
      return TemplateNode(keyword == "break" ? .breakLoop : .continueLoop, at: start)
    case "generation":
      try expectBlockEnd()
      let (body, _) = try parseBody(until: ["endgeneration"], opener: "generation", start: start)
      try expectBlockEnd()
      return TemplateNode(.generation(body: body), at: start)
    case "print":
      let e = try parseTuple()
      try expectBlockEnd()
      return TemplateNode(.output(e), at: start)
    case "block", "extends", "include", "import", "from", "with", "autoescape", "do":
      throw .unsupported(construct: "{% \(keyword) %} statement", location: keywordLocation)
    default:
      throw .syntax(message: "Encountered unknown tag '\(keyword)'.", location: keywordLocation)
    }
  }

  private mutating func parseIf(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    var branches: [TemplateBranch] = []
    var condition = try parseTuple(withCondexpr: true)
    try expectBlockEnd()
    while true {
      let (body, end) = try parseBody(until: ["elif", "else", "endif"], opener: "if", start: start)
      branches.append(TemplateBranch(condition: condition, body: body))
      switch end.name {
      case "elif":
        condition = try parseTuple(withCondexpr: true)
        try expectBlockEnd()
      case "else":
        try expectBlockEnd()
        let (otherwise, _) = try parseBody(until: ["endif"], opener: "if", start: start)
        try expectBlockEnd()
        return TemplateNode(.conditional(branches: branches, otherwise: otherwise), at: start)
      default:
        try expectBlockEnd()
        return TemplateNode(.conditional(branches: branches, otherwise: nil), at: start)
      }
    }
  }

  private mutating func parseAssignTarget(allowAttribute: Bool) throws(TemplateError) -> TemplateAssignTarget {
    let loc = current.location
    if allowAttribute, case .name(let object) = current.kind, peekNext.kind == .op(".") {
      _ = advance()
      _ = advance()
      let attr = try expectName()
      return .attribute(object: object, name: attr)
    }
    var names: [String] = []
    var parenthesised = false
    if skipOp("(") { parenthesised = true }
    repeat {
      if parenthesised && isOp(")") { break }
      let n = try expectName()
      if ["true", "false", "none", "True", "False", "None"].contains(n) {
        throw .syntax(message: "can't assign to '\(n)'", location: loc)
      }
      names.append(n)
    } while skipOp(",")
    if parenthesised { try expectOp(")") }
    if names.count == 1 && !parenthesised && !(tokens[index - 1].kind == .op(",")) { return .name(names[0]) }
    return .tuple(names)
  }

  private mutating func parseFor(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    let target = try parseAssignTarget(allowAttribute: false)
    guard skipName("in") else {
      throw .syntax(message: "expected 'in', got \(describe(current))", location: current.location)
    }
    let iterable = try parseTuple(withCondexpr: false, extraEnds: ["recursive"])
    var condition: TemplateExpression? = nil
    if skipName("if") { condition = try parseExpression() }
    let recursive = skipName("recursive")
    try expectBlockEnd()
    let (body, end) = try parseBody(until: ["endfor", "else"], opener: "for", start: start)
    var otherwise: [TemplateNode]? = nil
    if end.name == "else" {
      try expectBlockEnd()
      (otherwise, _) = try parseBody(until: ["endfor"], opener: "for", start: start)
    }
    try expectBlockEnd()
    return TemplateNode(
      .forLoop(TemplateForLoop(target: target, iterable: iterable, condition: condition, body: body,
        otherwise: otherwise, recursive: recursive)), at: start)
  }

  private mutating func parseSet(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    let target = try parseAssignTarget(allowAttribute: true)
    if skipOp("=") {
      let value = try parseTuple()
      try expectBlockEnd()
      return TemplateNode(.set(target: target, value: value), at: start)
    }
    var filters: [TemplateFilterCall] = []
    while isOp("|") {
      _ = advance()
      filters.append(try parseFilterCall())
    }
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endset"], opener: "set", start: start)
    try expectBlockEnd()
    return TemplateNode(.setBlock(target: target, filters: filters, body: body), at: start)
  }

  private mutating func parseParameters() throws(TemplateError) -> [TemplateParameter] {
    var params: [TemplateParameter] = []
    try expectOp("(")
    while !isOp(")") {
      if !params.isEmpty { try expectOp(",") }
      if isOp(")") { break }
      let name = try expectName()
      var def: TemplateExpression? = nil
      if skipOp("=") { def = try parseExpression() }
      params.append(TemplateParameter(name: name, defaultValue: def))
    }
    try expectOp(")")
    return params
  }

  private mutating func parseMacro(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    let name = try expectName()
    let params = try parseParameters()
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endmacro"], opener: "macro", start: start)
    try expectBlockEnd()
    return TemplateNode(.macro(name: name, parameters: params, body: body), at: start)
  }

  private mutating func parseCallBlock(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    var params: [TemplateParameter] = []
    if isOp("(") { params = try parseParameters() }
    let callLoc = current.location
    let call = try parseExpression()
    guard case .call = call.kind else { throw .syntax(message: "expected call", location: callLoc) }
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endcall"], opener: "call", start: start)
    try expectBlockEnd()
    return TemplateNode(.callBlock(call: call, parameters: params, body: body), at: start)
  }

  private mutating func parseFilterBlock(_ start: SourceLocation) throws(TemplateError) -> TemplateNode {
    var filters = [try parseFilterCall()]
    while skipOp("|") { filters.append(try parseFilterCall()) }
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endfilter"], opener: "filter", start: start)
    try expectBlockEnd()
    return TemplateNode(.filterBlock(filters: filters, body: body), at: start)
  }

  private mutating func parseFilterCall() throws(TemplateError) -> TemplateFilterCall {
    let loc = current.location
    var name = try expectName()
    while isOp("."), case .name = peekNext.kind {
      _ = advance()
      name += "." + (try expectName())
    }
    var args: [TemplateArgument] = []
    if isOp("(") { args = try parseCallArguments() }
    return TemplateFilterCall(name: name, arguments: args, location: loc)
  }

  // MARK: - Expressions

  /// `parse_tuple`: an expression or an implicit tuple `a, b`.
  private mutating func parseTuple(
    withCondexpr: Bool = true, extraEnds: Set<String> = [], explicitParens: Bool = false
  ) throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var items: [TemplateExpression] = []
    var sawComma = false
    while true {
      if !items.isEmpty {
        if !skipOp(",") { break }
        sawComma = true
      }
      if isTupleEnd(extraEnds) || (explicitParens && isOp(")")) { break }
      items.append(withCondexpr ? try parseExpression() : try parseOr())
    }
    if !sawComma {
      if let only = items.first { return only }
      if !explicitParens {
        throw .syntax(message: "Expected an expression, got \(describe(current))", location: current.location)
      }
    }
    return TemplateExpression(.tuple(items), at: loc)
  }

  private func isTupleEnd(_ extra: Set<String>) -> Bool {
    switch current.kind {
    case .variableEnd, .blockEnd, .eof: return true
    case .op(let o): return o == ")" || o == "]" || o == "}" || o == "=" || o == ":"
    case .name(let n): return extra.contains(n) || n == "if" && false
    default: return false
    }
  }

  mutating func parseExpression() throws(TemplateError) -> TemplateExpression {
    try enter(current.location)
    defer { depth -= 1 }
    return try parseCondexpr()
  }

  private mutating func parseCondexpr() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var expr = try parseOr()
    while skipName("if") {
      let condition = try parseOr()
      var otherwise: TemplateExpression? = nil
      if skipName("else") { otherwise = try parseCondexpr() }
      expr = TemplateExpression(.conditional(then: expr, condition: condition, otherwise: otherwise), at: loc)
    }
    return expr
  }

  private mutating func parseOr() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parseAnd()
    while skipName("or") {
      let right = try parseAnd()
      left = TemplateExpression(.binary(.or, left, right), at: loc)
    }
    return left
  }

  private mutating func parseAnd() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parseNot()
    while skipName("and") {
      let right = try parseNot()
      left = TemplateExpression(.binary(.and, left, right), at: loc)
    }
    return left
  }

  private mutating func parseNot() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    if skipName("not") {
      try enter(loc)
      defer { depth -= 1 }
      return TemplateExpression(.unary(.not, try parseNot()), at: loc)
    }
    return try parseCompare()
  }

  private mutating func parseCompare() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    let first = try parseMath1()
    var ops: [TemplateComparison] = []
    while true {
      var op: TemplateComparisonOperator? = nil
      switch current.kind {
      case .op("=="): op = .equal
      case .op("!="): op = .notEqual
      case .op("<"): op = .less
      case .op("<="): op = .lessOrEqual
      case .op(">"): op = .greater
      case .op(">="): op = .greaterOrEqual
      case .name("in"): op = .in
      case .name("not") where peekNext.kind == .name("in"):
        _ = advance()
        op = .notIn
      default: break
      }
      guard let op else { break }
      _ = advance()
      ops.append(TemplateComparison(op: op, operand: try parseMath1()))
    }
    if ops.isEmpty { return first }
    return TemplateExpression(.compare(first, ops), at: loc)
  }

  private mutating func parseMath1() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parseConcat()
    while true {
      let op: TemplateBinaryOperator
      if isOp("+") { op = .add } else if isOp("-") { op = .subtract } else { break }
      _ = advance()
      left = TemplateExpression(.binary(op, left, try parseConcat()), at: loc)
    }
    return left
  }

  private mutating func parseConcat() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parseMath2()
    while skipOp("~") {
      left = TemplateExpression(.binary(.concat, left, try parseMath2()), at: loc)
    }
    return left
  }

  private mutating func parseMath2() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parsePow()
    while true {
      let op: TemplateBinaryOperator
      if isOp("*") { op = .multiply } else if isOp("/") { op = .divide }
      else if isOp("//") { op = .floorDivide } else if isOp("%") { op = .modulo } else { break }
      _ = advance()
      left = TemplateExpression(.binary(op, left, try parsePow()), at: loc)
    }
    return left
  }

  private mutating func parsePow() throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    var left = try parseUnary(withFilter: true)
    while skipOp("**") {
      left = TemplateExpression(.binary(.power, left, try parseUnary(withFilter: true)), at: loc)
    }
    return left
  }

  private mutating func parseUnary(withFilter: Bool) throws(TemplateError) -> TemplateExpression {
    let loc = current.location
    try enter(loc)
    defer { depth -= 1 }
    var node: TemplateExpression
    if skipOp("-") {
      node = TemplateExpression(.unary(.negate, try parseUnary(withFilter: false)), at: loc)
    } else if skipOp("+") {
      node = TemplateExpression(.unary(.plus, try parseUnary(withFilter: false)), at: loc)
    } else {
      node = try parsePrimary()
    }
    node = try parsePostfix(node)
    if withFilter { node = try parseFilterExpression(node) }
    return node
  }

  private mutating func parsePrimary() throws(TemplateError) -> TemplateExpression {
    let t = current
    switch t.kind {
    case .name(let n):
      _ = advance()
      switch n {
      case "true", "True": return TemplateExpression(.boolean(true), at: t.location)
      case "false", "False": return TemplateExpression(.boolean(false), at: t.location)
      case "none", "None": return TemplateExpression(.none, at: t.location)
      default: return TemplateExpression(.name(n), at: t.location)
      }
    case .string(var s):
      _ = advance()
      while case .string(let more) = current.kind {
        s += more
        _ = advance()
      }
      return TemplateExpression(.string(s), at: t.location)
    case .integer(let v):
      _ = advance()
      return TemplateExpression(.integer(v), at: t.location)
    case .float(let v):
      _ = advance()
      return TemplateExpression(.float(v), at: t.location)
    case .op("("):
      _ = advance()
      let e = try parseTuple(explicitParens: true)
      try expectOp(")")
      return e
    case .op("["):
      _ = advance()
      var items: [TemplateExpression] = []
      while !isOp("]") {
        if !items.isEmpty { try expectOp(",") }
        if isOp("]") { break }
        items.append(try parseExpression())
      }
      try expectOp("]")
      return TemplateExpression(.list(items), at: t.location)
    case .op("{"):
      _ = advance()
      var entries: [TemplateDictEntry] = []
      while !isOp("}") {
        if !entries.isEmpty { try expectOp(",") }
        if isOp("}") { break }
        let key = try parseExpression()
        try expectOp(":")
        entries.append(TemplateDictEntry(key: key, value: try parseExpression()))
      }
      try expectOp("}")
      return TemplateExpression(.dict(entries), at: t.location)
    default:
      throw .syntax(message: "unexpected \(describe(t))", location: t.location)
    }
  }

  /// Postfix and filter chains are located at the start of their leftmost operand.
  private mutating func parsePostfix(_ start: TemplateExpression) throws(TemplateError) -> TemplateExpression {
    var node = start
    let loc = start.location
    while true {
      if isOp(".") {
        _ = advance()
        switch current.kind {
        case .name(let n):
          _ = advance()
          node = TemplateExpression(.attribute(node, name: n), at: loc)
        case .integer(let v):
          _ = advance()
          node = TemplateExpression(.item(node, index: TemplateExpression(.integer(v), at: loc)), at: loc)
        default:
          throw .syntax(message: "expected name or number", location: current.location)
        }
      } else if isOp("[") {
        _ = advance()
        node = try parseSubscript(node, loc)
      } else if isOp("(") {
        node = TemplateExpression(.call(node, arguments: try parseCallArguments()), at: loc)
      } else {
        return node
      }
    }
  }

  private mutating func parseSubscript(_ object: TemplateExpression, _ loc: SourceLocation) throws(TemplateError) -> TemplateExpression {
    var parts: [TemplateExpression?] = []
    var isSlice = false
    var current: TemplateExpression? = nil
    if !isOp(":") { current = try parseExpression() }
    while isOp(":") {
      isSlice = true
      _ = advance()
      parts.append(current)
      current = nil
      if !isOp(":") && !isOp("]") { current = try parseExpression() }
    }
    parts.append(current)
    if isOp(",") {
      throw .unsupported(construct: "tuple subscript", location: self.current.location)
    }
    try expectOp("]")
    if !isSlice {
      guard let index = parts.first ?? nil else { throw .syntax(message: "expected subscript", location: loc) }
      return TemplateExpression(.item(object, index: index), at: loc)
    }
    guard parts.count <= 3 else { throw .syntax(message: "invalid slice", location: loc) }
    let start = parts[0]
    let stop = parts.count > 1 ? parts[1] : nil
    let step = parts.count > 2 ? parts[2] : nil
    return TemplateExpression(.slice(object, start: start, stop: stop, step: step), at: loc)
  }

  private mutating func parseCallArguments() throws(TemplateError) -> [TemplateArgument] {
    try expectOp("(")
    var args: [TemplateArgument] = []
    var sawKeyword = false
    while !isOp(")") {
      if !args.isEmpty { try expectOp(",") }
      if isOp(")") { break }
      if isOp("*") || isOp("**") {
        throw .unsupported(construct: "*args/**kwargs in call", location: current.location)
      }
      if case .name(let n) = current.kind, peekNext.kind == .op("=") {
        _ = advance()
        _ = advance()
        args.append(TemplateArgument(name: n, value: try parseExpression()))
        sawKeyword = true
      } else {
        if sawKeyword {
          throw .syntax(message: "positional argument follows keyword argument", location: current.location)
        }
        args.append(TemplateArgument(name: nil, value: try parseExpression()))
      }
    }
    try expectOp(")")
    return args
  }

  private mutating func parseFilterExpression(_ start: TemplateExpression) throws(TemplateError) -> TemplateExpression {
    var node = start
    let loc = start.location
    while true {
      if isOp("|") {
        _ = advance()
        let call = try parseFilterCall()
        node = TemplateExpression(.filter(node, name: call.name, arguments: call.arguments), at: loc)
      } else if isName("is") {
        _ = advance()
        let negated = skipName("not")
        var name = try expectName()
        while isOp("."), case .name = peekNext.kind {
          _ = advance()
          name += "." + (try expectName())
        }
        var args: [TemplateArgument] = []
        if isOp("(") {
          args = try parseCallArguments()
        } else if startsBareTestArgument() {
          var arg = try parsePrimary()
          arg = try parsePostfix(arg)
          args = [TemplateArgument(name: nil, value: arg)]
        }
        node = TemplateExpression(.test(node, name: name, arguments: args, negated: negated), at: loc)
      } else if isOp("(") {
        node = TemplateExpression(.call(node, arguments: try parseCallArguments()), at: loc)
      } else {
        return node
      }
    }
  }

  private func startsBareTestArgument() -> Bool {
    switch current.kind {
    case .name(let n): return !["else", "or", "and", "is", "if", "in", "not"].contains(n)
    case .string, .integer, .float: return true
    case .op(let o): return o == "[" || o == "{"
    default: return false
    }
  }
}
