#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Python operator semantics: arithmetic with int/float promotion and overflow checks,
// comparisons, membership, str()/repr() conversion and iteration.

extension TemplateInterpreter {
  // MARK: - Conversion

  /// Python `str(value)` as Jinja prints it (autoescape off).
  func str(_ v: Value, _ loc: SourceLocation) throws(TemplateError) -> String {
    switch v {
    case .undefined: return ""
    case .string(let s), .markup(let s): return s
    case .none, .bool, .int, .float, .list, .tuple, .dict: return try repr(v, loc)
    case .namespace, .iterator, .view, .macro, .builtin, .method, .loop:
      throw .unsupported(construct: "printing a \(v.typeName) object (Python prints its memory address)", location: loc)
    }
  }

  func repr(_ v: Value) -> String {
    (try? repr(v, SourceLocation(line: 0, column: 0, byteOffset: 0))) ?? "<\(v.typeName)>"
  }

  /// Python `repr(value)`.
  func repr(_ v: Value, _ loc: SourceLocation) throws(TemplateError) -> String {
    switch v {
    case .undefined: return "Undefined"
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .float(let d): return PythonText.floatRepr(d)
    case .string(let s): return PythonText.repr(s)
    case .markup(let s): return "Markup(" + PythonText.repr(s) + ")"
    case .list(let items):
      var parts: [String] = []
      for i in items { parts.append(try repr(i, loc)) }
      return "[" + parts.joined(separator: ", ") + "]"
    case .tuple(let items):
      var parts: [String] = []
      for i in items { parts.append(try repr(i, loc)) }
      return items.count == 1 ? "(" + parts[0] + ",)" : "(" + parts.joined(separator: ", ") + ")"
    case .dict(let d):
      var parts: [String] = []
      for (k, value) in zip(d.keys, d.values) { parts.append(try repr(k, loc) + ": " + repr(value, loc)) }
      return "{" + parts.joined(separator: ", ") + "}"
    default:
      return try str(v, loc)
    }
  }

  // MARK: - Iteration

  /// `iter(value)` materialised (iterators are consumed).
  func iterate(_ v: Value, _ loc: SourceLocation) throws(TemplateError) -> [Value] {
    switch v.plain {
    case .undefined(let info):
      if info.unsafe { throw .runtime(message: info.message, location: loc) }
      return []
    case .list(let items), .tuple(let items): return items
    case .dict(let d): return d.keys
    case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
    case .iterator(let box): return box.drain()
    case .view(_, let items): return items
    default:
      throw .runtime(message: "'\(v.typeName)' object is not iterable", location: loc)
    }
  }

  // MARK: - Arithmetic

  func overflow(_ loc: SourceLocation) -> TemplateError {
    .unsupported(construct: "integer arithmetic beyond 64 bits", location: loc)
  }

  func negate(_ v: Value, _ loc: SourceLocation) throws(TemplateError) -> Value {
    guard let n = numeric(v) else { throw typeError("bad operand type for unary -: '\(v.typeName)'", v, loc) }
    switch n {
    case .int(let i):
      let (r, o) = (0).subtractingReportingOverflow(i)
      if o { throw overflow(loc) }
      return .int(r)
    case .float(let d): return .float(-d)
    }
  }

  func binary(_ op: TemplateBinaryOperator, _ a: Value, _ b: Value, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let unsupportedOperands = "unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'"
    if op == .concat {
      return .string(try str(a, loc) + str(b, loc))
    }
    // markupsafe: Markup + str escapes the str; str + Markup likewise (Markup.__radd__).
    if case .markup = a, op == .add || op == .multiply || op == .modulo {
      return try markupBinary(op, a, b, loc)
    }
    if case .markup = b, op == .add || op == .multiply || op == .modulo {
      return try markupBinary(op, a, b, loc)
    }
    let a = a.plain
    let b = b.plain
    // str % anything is str.__mod__ first, even for Undefined (treated as a mapping).
    if op == .modulo, case .string(let format) = a { return .string(try printf(format, b, loc)) }
    if case .undefined(let info) = a { throw undefinedError(info, loc) }
    if case .undefined(let info) = b { throw undefinedError(info, loc) }
    switch (op, a, b) {
    case (.add, .string(let x), .string(let y)): return .string(x + y)
    case (.add, .list(let x), .list(let y)): return .list(x + y)
    case (.add, .tuple(let x), .tuple(let y)): return .tuple(x + y)
    case (.multiply, .string(let s), _), (.multiply, _, .string(let s)):
      let countValue: Value
      if case .string = a { countValue = b } else { countValue = a }
      guard let n = intIndex(countValue) else { throw .runtime(message: "can't multiply sequence by non-int of type '\(countValue.typeName)'", location: loc) }
      guard n <= 0 || !s.utf8.count.multipliedReportingOverflow(by: n).overflow
          && s.utf8.count.multipliedReportingOverflow(by: n).partialValue <= maxOutputBytes
      else {
        throw .limitExceeded(what: "string repetition bytes", limit: maxOutputBytes, location: loc)
      }
      return .string(n <= 0 ? "" : String(repeating: s, count: n))
    case (.multiply, .list(let items), _), (.multiply, _, .list(let items)),
      (.multiply, .tuple(let items), _), (.multiply, _, .tuple(let items)):
      var isTuple = false
      if case .tuple = a { isTuple = true }
      if case .tuple = b { isTuple = true }
      let countValue: Value
      switch a {
      case .list, .tuple: countValue = b
      default: countValue = a
      }
      guard let n = intIndex(countValue) else { throw .runtime(message: "can't multiply sequence by non-int of type '\(countValue.typeName)'", location: loc) }
      guard n <= 0 || (!items.count.multipliedReportingOverflow(by: n).overflow
          && items.count.multipliedReportingOverflow(by: n).partialValue <= Self.maxRange) else {
        throw .limitExceeded(what: "list repetition length", limit: Self.maxRange, location: loc)
      }
      var out: [Value] = []
      if n > 0 { for _ in 0..<n { out += items } }
      return isTuple ? .tuple(out) : .list(out)
    case (.modulo, .string(let format), _):
      return .string(try printf(format, b, loc))
    default:
      break
    }
    guard let x = numeric(a), let y = numeric(b) else { throw .runtime(message: unsupportedOperands, location: loc) }
    switch (x, y) {
    case (.int(let i), .int(let j)):
      switch op {
      case .add:
        let (r, o) = i.addingReportingOverflow(j)
        if o { throw overflow(loc) }
        return .int(r)
      case .subtract:
        let (r, o) = i.subtractingReportingOverflow(j)
        if o { throw overflow(loc) }
        return .int(r)
      case .multiply:
        let (r, o) = i.multipliedReportingOverflow(by: j)
        if o { throw overflow(loc) }
        return .int(r)
      case .divide:
        if j == 0 { throw .runtime(message: "division by zero", location: loc) }
        return .float(Double(i) / Double(j))
      case .floorDivide:
        if j == 0 { throw .runtime(message: "integer division or modulo by zero", location: loc) }
        if i == Int.min && j == -1 { throw overflow(loc) }
        var q = i / j
        if (i % j != 0) && ((i < 0) != (j < 0)) { q -= 1 }
        return .int(q)
      case .modulo:
        if j == 0 { throw .runtime(message: "integer division or modulo by zero", location: loc) }
        if j == -1 { return .int(0) }
        var r = i % j
        if r != 0 && ((r < 0) != (j < 0)) { r += j }
        return .int(r)
      case .power:
        if i == 0 && j < 0 { throw .runtime(message: "0.0 cannot be raised to a negative power", location: loc) }
        if j < 0 { return .float(pow(Double(i), Double(j))) }
        var result = 1
        var base = i
        var e = j
        while e > 0 {
          if e & 1 == 1 {
            let (r, o) = result.multipliedReportingOverflow(by: base)
            if o { throw overflow(loc) }
            result = r
          }
          e >>= 1
          if e > 0 {
            let (bb, o) = base.multipliedReportingOverflow(by: base)
            if o { throw overflow(loc) }
            base = bb
          }
        }
        return .int(result)
      default:
        throw .runtime(message: unsupportedOperands, location: loc)
      }
    default:
      let p = x.double
      let q = y.double
      switch op {
      case .add: return .float(p + q)
      case .subtract: return .float(p - q)
      case .multiply: return .float(p * q)
      case .divide:
        if q == 0 { throw .runtime(message: "float division by zero", location: loc) }
        return .float(p / q)
      case .floorDivide:
        if q == 0 { throw .runtime(message: "float floor division by zero", location: loc) }
        return .float(pyFloatMod(p, q).div)
      case .modulo:
        if q == 0 { throw .runtime(message: "float modulo", location: loc) }
        return .float(pyFloatMod(p, q).mod)
      case .power:
        if p == 0 && q < 0 { throw .runtime(message: "0.0 cannot be raised to a negative power", location: loc) }
        if p < 0 && q != q.rounded() { throw .unsupported(construct: "complex result of **", location: loc) }
        let r = pow(p, q)
        if r.isInfinite && p.isFinite && q.isFinite {
          throw .runtime(message: "(34, 'Numerical result out of range')", location: loc)  // Python OverflowError
        }
        return .float(r)
      default:
        throw .runtime(message: unsupportedOperands, location: loc)
      }
    }
  }

  private func markupBinary(_ op: TemplateBinaryOperator, _ a: Value, _ b: Value, _ loc: SourceLocation) throws(TemplateError) -> Value {
    if case .undefined(let info) = a { throw undefinedError(info, loc) }
    if case .undefined(let info) = b { throw undefinedError(info, loc) }
    func escaped(_ v: Value) -> String? {
      switch v {
      case .markup(let s): return s
      case .string(let s): return htmlEscape(s)
      default: return nil
      }
    }
    switch op {
    case .add:
      guard let x = escaped(a), let y = escaped(b) else {
        throw .runtime(message: "unsupported operand type(s) for +: '\(a.typeName)' and '\(b.typeName)'", location: loc)
      }
      return .markup(x + y)
    case .multiply:
      guard case .string(let s) = try binary(.multiply, a.plain, b.plain, loc) else {
        throw .runtime(message: "can't multiply Markup", location: loc)
      }
      return .markup(s)
    default:
      throw .unsupported(construct: "Markup % formatting", location: loc)
    }
  }

  /// Python `str % args` for `%s`, `%r`, `%d`/`%i`, `%%` and `%(name)s` without flags or widths.
  func printf(_ format: String, _ args: Value, _ loc: SourceLocation) throws(TemplateError) -> String {
    var positional: [Value]
    var mapping: DictValue? = nil
    // CPython treats any non-tuple, non-str argument with __getitem__ (dict, list, Undefined) as
    // a mapping: then unused arguments are not an error.
    var mappingLike = false
    switch args {
    case .tuple(let items): positional = items
    case .dict(let d):
      positional = [args]
      mapping = d
      mappingLike = true
    case .list, .undefined:
      positional = [args]
      mappingLike = true
    default: positional = [args]
    }
    var out = ""
    var scalars = Array(format.unicodeScalars)[...]
    var next = 0
    var usedMapping = false
    while let c = scalars.first {
      scalars = scalars.dropFirst()
      guard c == "%" else {
        out.unicodeScalars.append(c)
        continue
      }
      var key: String? = nil
      if scalars.first == "(" {
        scalars = scalars.dropFirst()
        var k = ""
        while let d = scalars.first, d != ")" {
          k.unicodeScalars.append(d)
          scalars = scalars.dropFirst()
        }
        guard scalars.first == ")" else { throw .runtime(message: "incomplete format key", location: loc) }
        scalars = scalars.dropFirst()
        key = k
      }
      guard let conversion = scalars.first else { throw .runtime(message: "incomplete format", location: loc) }
      scalars = scalars.dropFirst()
      if conversion == "%" && key == nil {
        out += "%"
        continue
      }
      guard "sdir".unicodeScalars.contains(conversion) else {
        throw .unsupported(construct: "printf-style directive %\(conversion)", location: loc)
      }
      let value: Value
      if let key {
        guard let m = mapping else { throw .runtime(message: "format requires a mapping", location: loc) }
        guard let v = m[.string(key)] else { throw .runtime(message: "KeyError: '\(key)'", location: loc) }
        value = v
        usedMapping = true
      } else {
        guard next < positional.count else { throw .runtime(message: "not enough arguments for format string", location: loc) }
        value = positional[next]
        next += 1
      }
      switch conversion {
      case "s": out += try str(value, loc)
      case "r": out += try repr(value, loc)
      default:
        guard let n = numeric(value) else {
          throw typeError("%\(conversion) format: a real number is required, not \(value.typeName)", value, loc)
        }
        switch n {
        case .int(let i): out += String(i)
        case .float(let d):
          guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else {
            throw .unsupported(construct: "%d of a float beyond 64 bits", location: loc)
          }
          out += String(i)
        }
      }
    }
    _ = usedMapping
    if !mappingLike && next < positional.count {
      throw .runtime(message: "not all arguments converted during string formatting", location: loc)
    }
    return out
  }

  /// Python's float divmod.
  func pyFloatMod(_ x: Double, _ y: Double) -> (div: Double, mod: Double) {
    var mod = x.truncatingRemainder(dividingBy: y)
    var div = (x - mod) / y
    if mod != 0 {
      if (y < 0) != (mod < 0) {
        mod += y
        div -= 1
      }
    } else {
      mod = y < 0 ? -0.0 : 0.0
    }
    var floordiv: Double
    if div != 0 {
      floordiv = div.rounded(.down)
      if div - floordiv > 0.5 { floordiv += 1 }
    } else {
      floordiv = (x / y).sign == .minus ? -0.0 : 0.0  // CPython: copysign(0.0, x / y)
    }
    return (floordiv, mod)
  }

  func pow(_ x: Double, _ y: Double) -> Double {
    #if canImport(Glibc)
      return Glibc.pow(x, y)
    #elseif canImport(Darwin)
      return Darwin.pow(x, y)
    #else
      return .nan
    #endif
  }

  // MARK: - Comparison

  func compare(_ op: TemplateComparisonOperator, _ a: Value, _ b: Value, _ loc: SourceLocation) throws(TemplateError) -> Bool {
    switch op {
    case .equal: return pyEquals(a, b)
    case .notEqual: return !pyEquals(a, b)
    case .in: return try contains(b, a, loc)
    case .notIn: return !(try contains(b, a, loc))
    case .less: return try less(a, b, loc)
    case .greater: return try less(b, a, loc)
    case .lessOrEqual: return try less(a, b, loc) || pyEquals(a, b)
    case .greaterOrEqual: return try less(b, a, loc) || pyEquals(a, b)
    }
  }

  /// Python `a < b`.
  func less(_ a: Value, _ b: Value, _ loc: SourceLocation) throws(TemplateError) -> Bool {
    let a = a.plain
    let b = b.plain
    if case .undefined(let info) = a { throw undefinedError(info, loc) }
    if case .undefined(let info) = b { throw undefinedError(info, loc) }
    switch (a, b) {
    case (.string(let x), .string(let y)):
      return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
      for (p, q) in zip(x, y) where !pyEquals(p, q) { return try less(p, q, loc) }
      return x.count < y.count
    default:
      guard let x = numeric(a), let y = numeric(b) else {
        throw .runtime(message: "'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", location: loc)
      }
      if case .int(let i) = x, case .int(let j) = y { return i < j }
      return x.double < y.double
    }
  }

  /// Python `needle in container`.
  func contains(_ container: Value, _ needle: Value, _ loc: SourceLocation) throws(TemplateError) -> Bool {
    let container = container.plain
    let needle = needle.plain
    switch container {
    case .undefined(let info):
      if info.unsafe { throw .runtime(message: info.message, location: loc) }
      return false
    case .string(let s):
      guard case .string(let n) = needle else {
        if case .undefined(let info) = needle { throw undefinedError(info, loc) }
        throw .runtime(message: "'in <string>' requires string as left operand, not \(needle.typeName)", location: loc)
      }
      return PythonText.contains(s, n)
    case .list(let items), .tuple(let items), .view(_, let items):
      return items.contains { pyEquals($0, needle) }
    case .dict(let d):
      switch needle {
      case .list, .dict: throw .runtime(message: "unhashable type: '\(needle.typeName)'", location: loc)
      default: return d.index(of: needle) != nil
      }
    case .iterator(let box):
      while let v = box.next() { if pyEquals(v, needle) { return true } }
      return false
    default:
      throw .runtime(message: "argument of type '\(container.typeName)' is not iterable", location: loc)
    }
  }

  // MARK: - strftime (C locale, glibc flags)

  func strftime(_ format: String, _ d: TemplateDate, _ loc: SourceLocation) throws(TemplateError) -> String {
    let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    guard (1...12).contains(d.month), (1...31).contains(d.day) else {
      throw .runtime(message: "strftime: date out of range", location: loc)
    }
    // Day of week (0 = Sunday), Sakamoto's method; day of year.
    let t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
    let y = d.month < 3 ? d.year - 1 : d.year
    let weekday = ((y + y / 4 - y / 100 + y / 400 + t[d.month - 1] + d.day) % 7 + 7) % 7
    let leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    let yday = cumulative[d.month - 1] + d.day + (leap && d.month > 2 ? 1 : 0)
    func pad(_ v: Int, _ width: Int, _ noPad: Bool, _ fill: Character = "0") -> String {
      let s = String(v)
      if noPad { return s }
      return String(repeating: fill, count: max(0, width - s.count)) + s
    }
    var out = ""
    var chars = Array(format)[...]
    while let c = chars.first {
      chars = chars.dropFirst()
      guard c == "%" else {
        out.append(c)
        continue
      }
      var noPad = false
      if chars.first == "-" {
        noPad = true
        chars = chars.dropFirst()
      }
      guard let f = chars.first else {
        out.append("%")
        break
      }
      chars = chars.dropFirst()
      let hour12 = d.hour % 12 == 0 ? 12 : d.hour % 12
      switch f {
      case "a": out += String(days[weekday].prefix(3))
      case "A": out += days[weekday]
      case "b", "h": out += String(months[d.month - 1].prefix(3))
      case "B": out += months[d.month - 1]
      case "d": out += pad(d.day, 2, noPad)
      case "e": out += pad(d.day, 2, noPad, " ")
      case "m": out += pad(d.month, 2, noPad)
      case "y": out += pad(((d.year % 100) + 100) % 100, 2, noPad)
      case "Y": out += String(d.year)
      case "H": out += pad(d.hour, 2, noPad)
      case "I": out += pad(hour12, 2, noPad)
      case "M": out += pad(d.minute, 2, noPad)
      case "S": out += pad(d.second, 2, noPad)
      case "p": out += d.hour < 12 ? "AM" : "PM"
      case "j": out += pad(yday, 3, noPad)
      case "w": out += String(weekday)
      case "u": out += String(weekday == 0 ? 7 : weekday)
      case "F": out += String(d.year) + "-" + pad(d.month, 2, false) + "-" + pad(d.day, 2, false)
      case "D": out += pad(d.month, 2, false) + "/" + pad(d.day, 2, false) + "/" + pad(((d.year % 100) + 100) % 100, 2, false)
      case "T": out += pad(d.hour, 2, false) + ":" + pad(d.minute, 2, false) + ":" + pad(d.second, 2, false)
      case "R": out += pad(d.hour, 2, false) + ":" + pad(d.minute, 2, false)
      case "Z", "z": break  // naive datetime: empty
      case "%": out += "%"
      case "n": out += "\n"
      case "t": out += "\t"
      default:
        throw .unsupported(construct: "strftime directive %\(f)", location: loc)
      }
    }
    return out
  }
}
