// Renders a parsed template the way jinja2's ImmutableSandboxedEnvironment does under
// transformers' settings. Statements and expressions here; filters, tests, methods and
// conversions live in the TemplateInterpreter+*.swift files.

final class Scope {
  var vars: [String: Value] = [:]
  let parent: Scope?
  init(parent: Scope?) { self.parent = parent }

  func lookup(_ name: String) -> Value? {
    var s: Scope? = self
    while let current = s {
      if let v = current.vars[name] { return v }
      s = current.parent
    }
    return nil
  }
}

enum Flow {
  case normal
  case breakLoop
  case continueLoop
}

struct CallArgs {
  var positional: [Value] = []
  var keyword: [(String, Value)] = []
}

final class TemplateInterpreter {
  /// Python's sandbox caps `range()` at this many items (jinja2.sandbox.MAX_RANGE).
  static let maxRange = 100_000

  let now: TemplateDate
  let limits: TemplateLimits
  var steps = 0
  var macroDepth = 0
  var outputBytes = 0

  init(now: TemplateDate, limits: TemplateLimits) {
    self.now = now
    self.limits = limits
  }

  var maxOutputBytes: Int { limits.maxOutputBytes }

  func tick(_ loc: SourceLocation) throws(TemplateError) {
    steps += 1
    if steps > limits.maxSteps { throw .limitExceeded(what: "evaluation steps", limit: limits.maxSteps, location: loc) }
  }

  func emit(_ s: String, into out: inout String, _ loc: SourceLocation) throws(TemplateError) {
    outputBytes += s.utf8.count
    if outputBytes > limits.maxOutputBytes {
      throw .limitExceeded(what: "rendered output bytes", limit: limits.maxOutputBytes, location: loc)
    }
    out += s
  }

  // MARK: - Statements

  func render(_ nodes: [TemplateNode], _ scope: Scope, into out: inout String) throws(TemplateError) -> Flow {
    for node in nodes {
      try tick(node.location)
      switch node.kind {
      case .text(let s):
        try emit(s, into: &out, node.location)
      case .comment:
        break
      case .output(let e):
        let v = try eval(e, scope)
        try emit(try str(v, e.location), into: &out, node.location)
      case .conditional(let branches, let otherwise):
        var taken = false
        for branch in branches where try eval(branch.condition, scope).truthy {
          taken = true
          let flow = try render(branch.body, scope, into: &out)
          if case .normal = flow {} else { return flow }
          break
        }
        if !taken, let otherwise {
          let flow = try render(otherwise, scope, into: &out)
          if case .normal = flow {} else { return flow }
        }
      case .forLoop(let loop):
        try renderFor(loop, scope, into: &out, node.location)
      case .set(let target, let valueExpr):
        let value = try eval(valueExpr, scope)
        try assign(target, value, scope, node.location)
      case .setBlock(let target, let filters, let body):
        var captured = ""
        _ = try render(body, scope, into: &captured)
        var value = Value.string(captured)
        for f in filters {
          value = try applyFilter(f.name, value, try evalArgs(f.arguments, scope), scope, f.location)
        }
        try assign(target, value, scope, node.location)
      case .macro(let name, let parameters, let body):
        scope.vars[name] = .macro(MacroBox(name: name, parameters: parameters, body: body, closure: scope))
      case .callBlock(let call, let parameters, let body):
        guard case .call(let calleeExpr, let arguments) = call.kind else {
          throw .syntax(message: "expected call", location: call.location)
        }
        let caller = MacroBox(name: "caller", parameters: parameters, body: body, closure: scope)
        let callee = try eval(calleeExpr, scope)
        guard case .macro(let m) = callee else {
          throw .unsupported(construct: "{% call %} of a non-macro", location: call.location)
        }
        let result = try callMacro(m, try evalArgs(arguments, scope), caller: caller, call.location)
        try emit(result, into: &out, node.location)
      case .filterBlock(let filters, let body):
        var captured = ""
        _ = try render(body, scope, into: &captured)
        var value = Value.string(captured)
        for f in filters {
          value = try applyFilter(f.name, value, try evalArgs(f.arguments, scope), scope, f.location)
        }
        try emit(try str(value, node.location), into: &out, node.location)
      case .breakLoop:
        return .breakLoop
      case .continueLoop:
        return .continueLoop
      case .generation(let body):
        let flow = try render(body, scope, into: &out)
        if case .normal = flow {} else { return flow }
      }
    }
    return .normal
  }

  private func renderFor(
    _ loop: TemplateForLoop, _ scope: Scope, into out: inout String, _ loc: SourceLocation
  ) throws(TemplateError) {
    if loop.recursive { throw .unsupported(construct: "recursive for loop", location: loc) }
    var items = try iterate(try eval(loop.iterable, scope), loop.iterable.location)
    if let condition = loop.condition {
      var kept: [Value] = []
      for item in items {
        try tick(loc)
        let s = Scope(parent: scope)
        try bindLoopTarget(loop.target, item, s, loc)
        if try eval(condition, s).truthy { kept.append(item) }
      }
      items = kept
    }
    if items.isEmpty {
      if let otherwise = loop.otherwise { _ = try render(otherwise, scope, into: &out) }
      return
    }
    let box = LoopBox(items: items)
    for (i, item) in items.enumerated() {
      try tick(loc)
      box.index0 = i
      let s = Scope(parent: scope)
      try bindLoopTarget(loop.target, item, s, loc)
      s.vars["loop"] = .loop(box)
      let flow = try render(loop.body, s, into: &out)
      if case .breakLoop = flow { break }
    }
  }

  private func bindLoopTarget(_ target: TemplateAssignTarget, _ item: Value, _ scope: Scope, _ loc: SourceLocation) throws(TemplateError) {
    switch target {
    case .name(let n):
      scope.vars[n] = item
    case .tuple(let names):
      let parts = try unpack(item, names.count, loc)
      for (n, v) in zip(names, parts) { scope.vars[n] = v }
    case .attribute:
      throw .syntax(message: "can't assign to attribute in a for loop target", location: loc)
    }
  }

  private func unpack(_ value: Value, _ count: Int, _ loc: SourceLocation) throws(TemplateError) -> [Value] {
    let parts = try iterate(value, loc)
    guard parts.count == count else {
      if parts.count > count {
        throw .runtime(message: "too many values to unpack (expected \(count))", location: loc)
      }
      throw .runtime(message: "not enough values to unpack (expected \(count), got \(parts.count))", location: loc)
    }
    return parts
  }

  private func assign(_ target: TemplateAssignTarget, _ value: Value, _ scope: Scope, _ loc: SourceLocation) throws(TemplateError) {
    switch target {
    case .name(let n):
      scope.vars[n] = value
    case .tuple(let names):
      let parts = try unpack(value, names.count, loc)
      for (n, v) in zip(names, parts) { scope.vars[n] = v }
    case .attribute(let object, let name):
      guard case .namespace(let ns)? = scope.lookup(object) else {
        throw .runtime(message: "cannot assign attribute on non-namespace object", location: loc)
      }
      try checkNamespaceName(name, loc)
      ns.set(name, value)
    }
  }

  // MARK: - Macros

  func callMacro(_ m: MacroBox, _ args: CallArgs, caller: MacroBox?, _ loc: SourceLocation) throws(TemplateError) -> String {
    macroDepth += 1
    defer { macroDepth -= 1 }
    if macroDepth > limits.maxMacroDepth {
      throw .limitExceeded(what: "macro call depth", limit: limits.maxMacroDepth, location: loc)
    }
    let s = Scope(parent: m.closure)
    var extraPositional: [Value] = []
    for (i, v) in args.positional.enumerated() {
      if i < m.parameters.count { s.vars[m.parameters[i].name] = v } else { extraPositional.append(v) }
    }
    var extraKeyword = DictValue()
    for (k, v) in args.keyword {
      if let i = m.parameters.firstIndex(where: { $0.name == k }) {
        if i < args.positional.count {
          throw .runtime(message: "macro '\(m.name)' got multiple values for argument '\(k)'", location: loc)
        }
        s.vars[k] = v
      } else if k == "caller" && caller == nil {
        s.vars["caller"] = v
      } else {
        extraKeyword.set(.string(k), v)
      }
    }
    let mentions = TemplateNames.mentioned(in: m.body)
    if !extraPositional.isEmpty && !mentions.contains("varargs") {
      throw .runtime(message: "macro '\(m.name)' takes not more than \(m.parameters.count) argument(s)", location: loc)
    }
    if extraKeyword.count > 0 && !mentions.contains("kwargs") {
      let first: String
      if case .string(let k)? = extraKeyword.keys.first { first = k } else { first = "?" }
      throw .runtime(message: "macro '\(m.name)' takes no keyword argument '\(first)'", location: loc)
    }
    s.vars["varargs"] = .tuple(extraPositional)
    s.vars["kwargs"] = .dict(extraKeyword)
    for p in m.parameters where s.vars[p.name] == nil {
      if let d = p.defaultValue {
        s.vars[p.name] = try eval(d, s)
      } else {
        s.vars[p.name] = .undefined("parameter '\(p.name)' was not provided")
      }
    }
    if let caller { s.vars["caller"] = .macro(caller) }
    var out = ""
    _ = try render(m.body, s, into: &out)
    return out
  }

  // MARK: - Expressions

  func evalArgs(_ arguments: [TemplateArgument], _ scope: Scope) throws(TemplateError) -> CallArgs {
    var args = CallArgs()
    for a in arguments {
      let v = try eval(a.value, scope)
      if let n = a.name { args.keyword.append((n, v)) } else { args.positional.append(v) }
    }
    return args
  }

  func eval(_ e: TemplateExpression, _ scope: Scope) throws(TemplateError) -> Value {
    try tick(e.location)
    switch e.kind {
    case .string(let s): return .string(s)
    case .integer(let i): return .int(i)
    case .float(let d): return .float(d)
    case .boolean(let b): return .bool(b)
    case .none: return .none
    case .name(let n):
      if let v = scope.lookup(n) { return v }
      if let f = BuiltinFunction(rawValue: n) { return .builtin(f) }
      return .undefined("'\(n)' is undefined")
    case .list(let items):
      var out: [Value] = []
      for i in items { out.append(try eval(i, scope)) }
      return .list(out)
    case .tuple(let items):
      var out: [Value] = []
      for i in items { out.append(try eval(i, scope)) }
      return .tuple(out)
    case .dict(let entries):
      var d = DictValue()
      for entry in entries {
        let k = try eval(entry.key, scope)
        try requireHashable(k, entry.key.location)
        d.set(k, try eval(entry.value, scope))
      }
      return .dict(d)
    case .attribute(let objectExpr, let name):
      return try getAttribute(try eval(objectExpr, scope), name, e.location)
    case .item(let objectExpr, let indexExpr):
      let object = try eval(objectExpr, scope)
      return try getItem(object, try eval(indexExpr, scope), e.location)
    case .slice(let objectExpr, let startExpr, let stopExpr, let stepExpr):
      let object = try eval(objectExpr, scope)
      let start = try startExpr.map { (x) throws(TemplateError) in try eval(x, scope) }
      let stop = try stopExpr.map { (x) throws(TemplateError) in try eval(x, scope) }
      let step = try stepExpr.map { (x) throws(TemplateError) in try eval(x, scope) }
      return try slice(object, start, stop, step, e.location)
    case .call(let calleeExpr, let arguments):
      let callee = try eval(calleeExpr, scope)
      let args = try evalArgs(arguments, scope)
      return try call(callee, args, e.location)
    case .filter(let valueExpr, let name, let arguments):
      let value = try eval(valueExpr, scope)
      return try applyFilter(name, value, try evalArgs(arguments, scope), scope, e.location)
    case .test(let valueExpr, let name, let arguments, let negated):
      let value = try eval(valueExpr, scope)
      let result = try applyTest(name, value, try evalArgs(arguments, scope), e.location)
      return .bool(negated ? !result : result)
    case .unary(let op, let operandExpr):
      let v = try eval(operandExpr, scope)
      switch op {
      case .not: return .bool(!v.truthy)
      case .negate: return try negate(v, e.location)
      case .plus:
        guard let n = numeric(v) else { throw typeError("bad operand type for unary +: '\(v.typeName)'", v, e.location) }
        switch n {
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        }
      }
    case .binary(let op, let leftExpr, let rightExpr):
      let left = try eval(leftExpr, scope)
      switch op {
      case .and: return left.truthy ? try eval(rightExpr, scope) : left
      case .or: return left.truthy ? left : try eval(rightExpr, scope)
      default:
        let right = try eval(rightExpr, scope)
        return try binary(op, left, right, e.location)
      }
    case .compare(let firstExpr, let ops):
      var left = try eval(firstExpr, scope)
      for c in ops {
        let right = try eval(c.operand, scope)
        if !(try compare(c.op, left, right, c.operand.location)) { return .bool(false) }
        left = right
      }
      return .bool(true)
    case .conditional(let thenExpr, let condition, let otherwise):
      if try eval(condition, scope).truthy { return try eval(thenExpr, scope) }
      if let otherwise { return try eval(otherwise, scope) }
      return .undefined("the inline if-expression on line \(e.location.line) evaluated to false and no else section was defined.")
    }
  }

  func requireHashable(_ v: Value, _ loc: SourceLocation) throws(TemplateError) {
    switch v.plain {
    case .none, .bool, .int, .float, .string: return
    case .tuple(let items):
      for i in items { try requireHashable(i, loc) }
    default:
      throw .runtime(message: "unhashable type: '\(v.typeName)'", location: loc)
    }
  }

  /// The error Jinja raises when an undefined value is used, or a TypeError otherwise.
  func typeError(_ message: String, _ operand: Value, _ loc: SourceLocation) -> TemplateError {
    typeError(message, [operand], loc)
  }

  func typeError(_ message: String, _ operands: [Value], _ loc: SourceLocation) -> TemplateError {
    for o in operands {
      if case .undefined(let info) = o { return undefinedError(info, loc) }
    }
    return .runtime(message: message, location: loc)
  }

  func undefinedError(_ info: UndefinedInfo, _ loc: SourceLocation) -> TemplateError {
    .runtime(message: info.message, location: loc)
  }

  // MARK: - Attribute and item access (jinja2.sandbox getattr/getitem)

  func unsafe(_ object: Value, _ name: String) -> Value {
    .undefined(UndefinedInfo(message: "access to attribute '\(name)' of '\(object.typeName)' object is unsafe.", unsafe: true))
  }

  func getAttribute(_ object: Value, _ name: String, _ loc: SourceLocation) throws(TemplateError) -> Value {
    // Markup's str methods return Markup (with escaping rules we do not model): refuse when called.
    if case .markup = object, TemplateMethods.stringMethods.contains(name) { return .method(object, name) }
    let object = object.plain
    if case .undefined(let info) = object { throw undefinedError(info, loc) }
    // Every Python object has dunder attributes; the sandbox blocks all of them.
    if name.hasPrefix("__") && name.hasSuffix("__") && name.count > 4 { return unsafe(object, name) }
    switch object {
    case .dict(let d):
      if let kind = TemplateMethods.dictMethods[name] {
        return kind ? .method(object, name) : unsafe(object, name)
      }
      if let v = d[string: name] { return v }
    case .string:
      if TemplateMethods.stringMethods.contains(name) { return .method(object, name) }
    case .list:
      if let kind = TemplateMethods.listMethods[name] { return kind ? .method(object, name) : unsafe(object, name) }
    case .tuple:
      if name == "index" || name == "count" { return .method(object, name) }
    case .namespace(let ns):
      if let v = ns.get(name) { return v }
    case .loop(let box):
      if let v = loopAttribute(box, name) { return v }
    case .int, .bool, .float, .none:
      if TemplateMethods.numberAttributes.contains(name) {
        throw .unsupported(construct: "attribute '\(name)' of a number", location: loc)
      }
    default:
      break
    }
    return .undefined(missingAttributeMessage(object, name))
  }

  func missingAttributeMessage(_ object: Value, _ name: String) -> String {
    if case .none = object { return "'None' has no attribute '\(name)'" }
    return "'\(object.typeName) object' has no attribute '\(name)'"
  }

  func getItem(_ object: Value, _ key: Value, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let object = object.plain
    let key = key.plain
    if case .undefined(let info) = object { throw undefinedError(info, loc) }
    switch object {
    case .dict(let d):
      if case .list = key { throw .runtime(message: "unhashable type: 'list'", location: loc) }
      if case .dict = key { throw .runtime(message: "unhashable type: 'dict'", location: loc) }
      if let v = d[key] { return v }
    case .list(let items), .tuple(let items):
      if let i = intIndex(key) {
        let n = items.count
        let j = i < 0 ? i + n : i
        if j >= 0 && j < n { return items[j] }
        return .undefined("'\(object.typeName) object' has no element \(i)")
      }
    case .string(let s):
      if let i = intIndex(key) {
        let scalars = Array(s.unicodeScalars)
        let n = scalars.count
        let j = i < 0 ? i + n : i
        if j >= 0 && j < n { return .string(String(Character(scalars[j]))) }
        return .undefined("'str object' has no element \(i)")
      }
    case .loop, .namespace:
      break
    default:
      break
    }
    if case .string(let name) = key {
      // Jinja's fallback from item to attribute access.
      if case .dict = object {
        if name.hasPrefix("__") && name.hasSuffix("__") && name.count > 4 { return unsafe(object, name) }
        if let kind = TemplateMethods.dictMethods[name] { return kind ? .method(object, name) : unsafe(object, name) }
        return .undefined("'dict object' has no attribute '\(name)'")
      }
      return try getAttribute(object, name, loc)
    }
    return .undefined("'\(object.typeName) object' has no element \(repr(key))")
  }

  func intIndex(_ v: Value) -> Int? {
    switch v {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  func loopAttribute(_ box: LoopBox, _ name: String) -> Value? {
    let n = box.items.count
    let i = box.index0
    switch name {
    case "index": return .int(i + 1)
    case "index0": return .int(i)
    case "revindex": return .int(n - i)
    case "revindex0": return .int(n - i - 1)
    case "first": return .bool(i == 0)
    case "last": return .bool(i == n - 1)
    case "length": return .int(n)
    case "depth": return .int(1)
    case "depth0": return .int(0)
    case "previtem": return i > 0 ? box.items[i - 1] : .undefined("there is no previous item")
    case "nextitem": return i + 1 < n ? box.items[i + 1] : .undefined("there is no next item")
    case "cycle", "changed": return .method(.loop(box), name)
    default: return nil
    }
  }

  func slice(_ object: Value, _ start: Value?, _ stop: Value?, _ step: Value?, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let object = object.plain
    func bound(_ v: Value?) throws(TemplateError) -> Int? {
      guard let v else { return nil }
      if case .none = v { return nil }
      guard let i = intIndex(v) else {
        throw typeError("slice indices must be integers or None or have an __index__ method", v, loc)
      }
      return i
    }
    let stepValue = try bound(step) ?? 1
    if stepValue == 0 { throw .runtime(message: "slice step cannot be zero", location: loc) }
    let b = try bound(start)
    let e = try bound(stop)
    func indices(_ n: Int) -> [Int] {
      func clamp(_ x: Int?, _ def: Int) -> Int {
        guard var x else { return def }
        if x < 0 { x += n }
        if stepValue > 0 { return min(max(x, 0), n) }
        return min(max(x, -1), n - 1)
      }
      var out: [Int] = []
      if stepValue > 0 {
        var i = clamp(b, 0)
        let end = clamp(e, n)
        while i < end {
          out.append(i)
          i += stepValue
        }
      } else {
        var i = clamp(b, n - 1)
        let end = clamp(e, -1)
        while i > end {
          out.append(i)
          i += stepValue
        }
      }
      return out
    }
    switch object {
    case .list(let items): return .list(indices(items.count).map { items[$0] })
    case .tuple(let items): return .tuple(indices(items.count).map { items[$0] })
    case .string(let s):
      let scalars = Array(s.unicodeScalars)
      var view = String.UnicodeScalarView()
      for i in indices(scalars.count) { view.append(scalars[i]) }
      return .string(String(view))
    case .undefined(let info):
      throw undefinedError(info, loc)
    default:
      // Jinja's getitem fails with TypeError and returns undefined.
      return .undefined("'\(object.typeName) object' has no element slice")
    }
  }

  // MARK: - Calls

  func call(_ callee: Value, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> Value {
    switch callee {
    case .macro(let m):
      return .string(try callMacro(m, args, caller: nil, loc))
    case .builtin(let f):
      return try callBuiltin(f, args, loc)
    case .method(let receiver, let name):
      return try callMethod(receiver, name, args, loc)
    case .undefined(let info):
      throw undefinedError(info, loc)
    default:
      throw .runtime(message: "'\(callee.typeName)' object is not callable", location: loc)
    }
  }

  func callBuiltin(_ f: BuiltinFunction, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> Value {
    switch f {
    case .raiseException:
      let message = args.positional.first ?? args.keyword.first?.1 ?? .none
      throw .raised(message: try str(message, loc), location: loc)
    case .strftimeNow:
      let b = try bind(args, ["format"], "strftime_now", loc)
      guard case .string(let format)? = b[0] else {
        throw .runtime(message: "strftime_now() argument must be str", location: loc)
      }
      return .string(try strftime(format, now, loc))
    case .range:
      guard args.keyword.isEmpty, (1...3).contains(args.positional.count) else {
        throw .runtime(message: "range expected 1 to 3 integer arguments", location: loc)
      }
      var ints: [Int] = []
      for v in args.positional {
        guard let i = intIndex(v) else {
          throw typeError("'\(v.typeName)' object cannot be interpreted as an integer", v, loc)
        }
        ints.append(i)
      }
      let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
      if step == 0 { throw .runtime(message: "range() arg 3 must not be zero", location: loc) }
      var out: [Value] = []
      var i = start
      while step > 0 ? i < stop : i > stop {
        out.append(.int(i))
        if out.count > Self.maxRange {
          throw .runtime(message: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(Self.maxRange)).", location: loc)
        }
        let (next, overflow) = i.addingReportingOverflow(step)
        if overflow { break }
        i = next
      }
      return .list(out)
    case .namespace, .dict:
      var entries: [(String, Value)] = []
      if let first = args.positional.first {
        guard args.positional.count == 1 else { throw .runtime(message: "expected at most 1 positional argument", location: loc) }
        switch first {
        case .dict(let d):
          for (k, v) in zip(d.keys, d.values) {
            guard case .string(let ks) = k else {
              throw .unsupported(construct: "namespace/dict from a dict with non-string keys", location: loc)
            }
            entries.append((ks, v))
          }
        default:
          throw .unsupported(construct: "\(f.rawValue)() from a non-dict positional argument", location: loc)
        }
      }
      for (k, v) in args.keyword {
        if let i = entries.firstIndex(where: { $0.0 == k }) { entries[i].1 = v } else { entries.append((k, v)) }
      }
      if f == .namespace {
        for (k, _) in entries { try checkNamespaceName(k, loc) }
        return .namespace(NamespaceBox(entries))
      }
      var d = DictValue()
      for (k, v) in entries { d.set(.string(k), v) }
      return .dict(d)
    case .lipsum, .cycler, .joiner:
      throw .unsupported(construct: "global function \(f.rawValue)()", location: loc)
    }
  }

  /// transformers' TemplateNamespace refuses underscore-prefixed attribute names.
  func checkNamespaceName(_ name: String, _ loc: SourceLocation) throws(TemplateError) {
    if name.hasPrefix("_") {
      throw .runtime(
        message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(name)'. Please rename the attribute.",
        location: loc)
    }
  }

  /// Binds positional and keyword arguments to parameter names; unknown or duplicate ones throw.
  func bind(_ args: CallArgs, _ names: [String], _ what: String, _ loc: SourceLocation) throws(TemplateError) -> [Value?] {
    var out = [Value?](repeating: nil, count: names.count)
    guard args.positional.count <= names.count else {
      throw .runtime(message: "\(what)() takes at most \(names.count) arguments (\(args.positional.count) given)", location: loc)
    }
    for (i, v) in args.positional.enumerated() { out[i] = v }
    for (k, v) in args.keyword {
      guard let i = names.firstIndex(of: k) else {
        throw .runtime(message: "\(what)() got an unexpected keyword argument '\(k)'", location: loc)
      }
      guard out[i] == nil else {
        throw .runtime(message: "\(what)() got multiple values for argument '\(k)'", location: loc)
      }
      out[i] = v
    }
    return out
  }
}
