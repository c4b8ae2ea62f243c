// Jinja's builtin filters and tests (jinja2/filters.py, jinja2/tests.py semantics) and
// transformers' own `tojson`.

enum TemplateBuiltins {
  /// Filters implemented here.
  static let filters: Set<String> = [
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "forceescape", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum",
    "title", "tojson", "trim", "unique", "upper", "wordcount",
  ]
  /// Jinja builtin filters this interpreter refuses to run.
  static let unsupportedFilters: Set<String> = [
    "filesizeformat", "format", "groupby", "pprint", "random", "slice", "striptags", "truncate",
    "urlencode", "urlize", "wordwrap", "xmlattr",
  ]
  /// Tests implemented here.
  static let tests: Set<String> = [
    "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "filter",
    "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt", "lessthan",
    "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined",
    "upper",
  ]
}

enum TemplateMethods {
  /// Python `str` methods; calling one outside the supported set is an unsupported construct.
  static let stringMethods: Set<String> = [
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format", "format_map",
    "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
    "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "maketrans", "partition",
    "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "translate", "upper", "zfill",
  ]
  /// `dict` attributes: true = safe method, false = blocked by the immutable sandbox.
  static let dictMethods: [String: Bool] = [
    "items": true, "keys": true, "values": true, "get": true, "copy": true, "fromkeys": true,
    "clear": false, "pop": false, "popitem": false, "setdefault": false, "update": false,
  ]
  /// `list` attributes: true = safe method, false = blocked by the immutable sandbox.
  static let listMethods: [String: Bool] = [
    "index": true, "count": true, "copy": true,
    "append": false, "extend": false, "insert": false, "pop": false, "remove": false, "reverse": false,
    "sort": false, "clear": false,
  ]
  static let numberAttributes: Set<String> = [
    "real", "imag", "conjugate", "bit_length", "bit_count", "to_bytes", "from_bytes", "as_integer_ratio",
    "is_integer", "hex", "numerator", "denominator",
  ]
}

extension TemplateInterpreter {
  // MARK: - Filters

  func applyFilter(_ name: String, _ original: Value, _ args: CallArgs, _ scope: Scope, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let value = original.plain
    var isMarkup: Bool {
      if case .markup = original { return true }
      return false
    }
    func keep(_ s: String) -> Value { isMarkup ? .markup(s) : .string(s) }
    func b(_ names: [String]) throws(TemplateError) -> [Value?] { try bind(args, names, name, loc) }
    func requireString(_ v: Value) throws(TemplateError) -> String {
      guard case .string(let s) = v else { throw typeError("expected a string, got '\(v.typeName)'", v, loc) }
      return s
    }
    switch name {
    case "safe":
      _ = try b([])
      return .markup(try str(value, loc))
    case "e", "escape", "forceescape":
      _ = try b([])
      if isMarkup && name != "forceescape" { return original }
      return .markup(htmlEscape(try str(value, loc)))
    case "string":
      _ = try b([])
      return keep(try str(value, loc))
    case "upper":
      _ = try b([])
      return keep(PythonText.upper(try str(value, loc)))
    case "lower":
      _ = try b([])
      return keep(PythonText.lower(try str(value, loc)))
    case "capitalize":
      _ = try b([])
      return keep(PythonText.capitalize(try str(value, loc)))
    case "title":
      _ = try b([])
      return keep(jinjaTitle(try str(value, loc)))
    case "trim":
      let a = try b(["chars"])
      var chars: String? = nil
      if let c = a[0], !(c.isNone) { chars = try requireString(c) }
      return keep(PythonText.strip(try str(value, loc), chars, left: true, right: true))
    case "length", "count":
      _ = try b([])
      return .int(try length(value, loc))
    case "wordcount":
      _ = try b([])
      return .int(wordCount(try str(value, loc)))
    case "d", "default":
      let a = try b(["default_value", "boolean"])
      let boolean = a[1]?.truthy ?? false
      if value.isUndefined || (boolean && !value.truthy) { return a[0] ?? .string("") }
      return original
    case "first":
      _ = try b([])
      if case .iterator(let box) = value {
        return box.next() ?? .undefined("No first item, sequence was empty.")
      }
      return try iterate(value, loc).first ?? .undefined("No first item, sequence was empty.")
    case "last":
      _ = try b([])
      if case .iterator = value { throw .runtime(message: "'\(value.typeName)' object is not reversible", location: loc) }
      if case .undefined(let info) = value, info.unsafe { throw undefinedError(info, loc) }
      return try iterate(value, loc).last ?? .undefined("No last item, sequence was empty.")
    case "list":
      _ = try b([])
      return .list(try iterate(value, loc))
    case "join":
      let a = try b(["d", "attribute"])
      let separator = try a[0].map { (v) throws(TemplateError) in try str(v, loc) } ?? ""
      var parts: [String] = []
      for item in try iterate(value, loc) {
        var v = item
        if let attr = a[1], !attr.isNone { v = try attrGetter(item, attr, nil, loc) }
        parts.append(try str(v, loc))
      }
      return .string(parts.joined(separator: separator))
    case "replace":
      let a = try b(["old", "new", "count"])
      guard let old = a[0], let new = a[1] else { throw .runtime(message: "replace() missing arguments", location: loc) }
      var count = -1
      if let c = a[2], !c.isNone {
        guard let n = intIndex(c) else { throw typeError("count must be an integer", c, loc) }
        count = n
      }
      return .string(PythonText.replace(try str(value, loc), try str(old, loc), try str(new, loc), count: count))
    case "int":
      let a = try b(["default", "base"])
      return try toInt(value, a[0] ?? .int(0), a[1], loc)
    case "float":
      let a = try b(["default"])
      return try toFloat(value, a[0] ?? .float(0), loc)
    case "abs":
      _ = try b([])
      guard let n = numeric(value) else { throw typeError("bad operand type for abs(): '\(value.typeName)'", value, loc) }
      switch n {
      case .int(let i):
        if i == Int.min { throw overflow(loc) }
        return .int(abs(i))
      case .float(let d): return .float(abs(d))
      }
    case "round":
      let a = try b(["precision", "method"])
      return try round(value, a[0], a[1], loc)
    case "tojson":
      let a = try b(["ensure_ascii", "indent", "separators", "sort_keys"])
      return .string(try toJSON(value, ensureASCII: a[0]?.truthy ?? false, indent: a[1], separators: a[2], sortKeys: a[3]?.truthy ?? false, loc))
    case "items":
      _ = try b([])
      if case .undefined = value { return .iterator(IteratorBox([], typeName: "generator")) }
      guard case .dict(let d) = value else { throw .runtime(message: "Can only get item pairs from a mapping.", location: loc) }
      return .iterator(IteratorBox(zip(d.keys, d.values).map { .tuple([$0, $1]) }, typeName: "generator"))
    case "dictsort":
      let a = try b(["case_sensitive", "by", "reverse"])
      guard case .dict(let d) = value else { throw .runtime(message: "dictsort filter requires a mapping", location: loc) }
      let caseSensitive = a[0]?.truthy ?? false
      var byValue = false
      if let by = a[1] {
        let s = try str(by, loc)
        if s == "value" { byValue = true } else if s != "key" { throw .runtime(message: "You can only sort by either \"key\" or \"value\"", location: loc) }
      }
      let pairs = zip(d.keys, d.values).map { Value.tuple([$0, $1]) }
      var keys: [Value] = []
      for p in pairs {
        guard case .tuple(let kv) = p else { continue }
        keys.append(caseSensitive ? kv[byValue ? 1 : 0] : ignoreCase(kv[byValue ? 1 : 0]))
      }
      return .list(try stableSorted(pairs, keys: keys, reverse: a[2]?.truthy ?? false, loc))
    case "sort":
      let a = try b(["reverse", "case_sensitive", "attribute"])
      let items = try iterate(value, loc)
      let caseSensitive = a[1]?.truthy ?? false
      var keys: [Value] = []
      for item in items {
        var k = item
        if let attr = a[2], !attr.isNone { k = try attrGetter(item, attr, nil, loc) }
        keys.append(caseSensitive ? k : ignoreCase(k))
      }
      return .list(try stableSorted(items, keys: keys, reverse: a[0]?.truthy ?? false, loc))
    case "reverse":
      _ = try b([])
      switch value {
      case .string(let s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
      case .list(let items): return .iterator(IteratorBox(items.reversed(), typeName: "list_reverseiterator"))
      case .tuple(let items): return .iterator(IteratorBox(items.reversed(), typeName: "reversed"))
      case .dict(let d): return .iterator(IteratorBox(d.keys.reversed(), typeName: "dict_reversekeyiterator"))
      default: return .list(try iterate(value, loc).reversed())
      }
    case "unique":
      let a = try b(["case_sensitive", "attribute"])
      let caseSensitive = a[0]?.truthy ?? false
      var seen: [Value] = []
      var out: [Value] = []
      for item in try iterate(value, loc) {
        var k = item
        if let attr = a[1], !attr.isNone { k = try attrGetter(item, attr, nil, loc) }
        if !caseSensitive { k = ignoreCase(k) }
        try requireHashable(k, loc)
        if !seen.contains(where: { pyEquals($0, k) }) {
          seen.append(k)
          out.append(item)
        }
      }
      return .iterator(IteratorBox(out, typeName: "generator"))
    case "min", "max":
      let a = try b(["case_sensitive", "attribute"])
      let items = try iterate(value, loc)
      guard !items.isEmpty else { return .undefined("No aggregated item, sequence was empty.") }
      let caseSensitive = a[0]?.truthy ?? false
      var best = items[0]
      func key(_ v: Value) throws(TemplateError) -> Value {
        var k = v
        if let attr = a[1], !attr.isNone { k = try attrGetter(v, attr, nil, loc) }
        return caseSensitive ? k : ignoreCase(k)
      }
      var bestKey = try key(best)
      for item in items.dropFirst() {
        let k = try key(item)
        let better = name == "min" ? try less(k, bestKey, loc) : try less(bestKey, k, loc)
        if better {
          best = item
          bestKey = k
        }
      }
      return best
    case "sum":
      let a = try b(["attribute", "start"])
      var total = a[1] ?? .int(0)
      for item in try iterate(value, loc) {
        var v = item
        if let attr = a[0], !attr.isNone { v = try attrGetter(item, attr, nil, loc) }
        total = try binary(.add, total, v, loc)
      }
      return total
    case "batch":
      let a = try b(["linecount", "fill_with"])
      guard let countValue = a[0], let count = intIndex(countValue), count > 0 else {
        throw .runtime(message: "batch size must be a positive integer", location: loc)
      }
      var rows: [Value] = []
      var row: [Value] = []
      for item in try iterate(value, loc) {
        row.append(item)
        if row.count == count {
          rows.append(.list(row))
          row = []
        }
      }
      if !row.isEmpty {
        if let fill = a[1], !fill.isNone { while row.count < count { row.append(fill) } }
        rows.append(.list(row))
      }
      return .iterator(IteratorBox(rows, typeName: "generator"))
    case "center":
      let a = try b(["width"])
      let width = try a[0].map { (w) throws(TemplateError) -> Int in
        guard let n = intIndex(w) else { throw typeError("integer argument expected", w, loc) }
        return n
      } ?? 80
      let s = try str(value, loc)
      let length = s.unicodeScalars.count
      guard width > length else { return keep(s) }
      guard width <= maxOutputBytes else { throw .limitExceeded(what: "center width", limit: maxOutputBytes, location: loc) }
      let margin = width - length
      let left = margin / 2 + (margin & width & 1)  // CPython's pad split
      return keep(String(repeating: " ", count: left) + s + String(repeating: " ", count: margin - left))
    case "indent":
      guard case .string = value else {
        if case .undefined(let info) = value { throw undefinedError(info, loc) }
        throw .runtime(message: "indent filter needs a string, got '\(value.typeName)'", location: loc)
      }
      let a = try b(["width", "first", "blank"])
      var indentation = "    "
      if let w = a[0] {
        if case .string(let s) = w { indentation = s } else if let n = intIndex(w) {
          indentation = String(repeating: " ", count: max(0, min(n, 10_000)))
        } else { throw typeError("indent width must be int or str", w, loc) }
      }
      return .string(indent(try str(value, loc), indentation, first: a[1]?.truthy ?? false, blank: a[2]?.truthy ?? false))
    case "attr":
      let a = try b(["name"])
      guard case .string(let attr)? = a[0] else { throw .runtime(message: "attr() requires a string name", location: loc) }
      return try getAttribute(value, attr, loc)
    case "map":
      // Jinja's map/select/reject family yields nothing for a falsy input (even None).
      if !value.truthy { return .iterator(IteratorBox([], typeName: "generator")) }
      return try mapFilter(value, args, scope, loc)
    case "select", "reject":
      if !value.truthy { return .iterator(IteratorBox([], typeName: "generator")) }
      let items = try iterate(value, loc)
      var out: [Value] = []
      var testArgs = args
      var testName: String? = nil
      if !testArgs.positional.isEmpty {
        testName = try str(testArgs.positional.removeFirst(), loc)
      }
      for item in items {
        let ok = try testName.map { (t) throws(TemplateError) in try applyTest(t, item, testArgs, loc) } ?? item.truthy
        if ok == (name == "select") { out.append(item) }
      }
      return .iterator(IteratorBox(out, typeName: "generator"))
    case "selectattr", "rejectattr":
      if !value.truthy { return .iterator(IteratorBox([], typeName: "generator")) }
      let items = try iterate(value, loc)
      var testArgs = args
      guard !testArgs.positional.isEmpty else { throw .runtime(message: "Missing parameter for attribute name", location: loc) }
      let attr = testArgs.positional.removeFirst()
      var testName: String? = nil
      if !testArgs.positional.isEmpty { testName = try str(testArgs.positional.removeFirst(), loc) }
      var out: [Value] = []
      for item in items {
        let v = try attrGetter(item, attr, nil, loc)
        let ok = try testName.map { (t) throws(TemplateError) in try applyTest(t, v, testArgs, loc) } ?? v.truthy
        if ok == (name == "selectattr") { out.append(item) }
      }
      return .iterator(IteratorBox(out, typeName: "generator"))
    default:
      if TemplateBuiltins.unsupportedFilters.contains(name) {
        throw .unsupported(construct: "filter '\(name)'", location: loc)
      }
      throw .syntax(message: "No filter named '\(name)'.", location: loc)
    }
  }

  func mapFilter(_ value: Value, _ args: CallArgs, _ scope: Scope, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let items = try iterate(value, loc)
    var out: [Value] = []
    if args.positional.isEmpty {
      var attribute: Value? = nil
      var defaultValue: Value? = nil
      for (k, v) in args.keyword {
        switch k {
        case "attribute": attribute = v
        case "default": defaultValue = v
        default: throw .runtime(message: "Unexpected keyword argument '\(k)'", location: loc)
        }
      }
      guard let attribute else { throw .runtime(message: "map requires a filter argument", location: loc) }
      for item in items { out.append(try attrGetter(item, attribute, defaultValue, loc)) }
    } else {
      var rest = args
      let filterName = try str(rest.positional.removeFirst(), loc)
      for item in items { out.append(try applyFilter(filterName, item, rest, scope, loc)) }
    }
    return .iterator(IteratorBox(out, typeName: "generator"))
  }

  /// Jinja's `make_attrgetter`: dotted path, integer parts index, each step via getitem.
  func attrGetter(_ item: Value, _ attribute: Value, _ defaultValue: Value?, _ loc: SourceLocation) throws(TemplateError) -> Value {
    var parts: [Value] = []
    switch attribute {
    case .string(let s):
      for p in PythonText.split(s, ".") {
        if let i = Int(p), p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { parts.append(.int(i)) } else { parts.append(.string(p)) }
      }
    case .int: parts = [attribute]
    default: parts = [attribute]
    }
    var v = item
    for p in parts { v = try getItem(v, p, loc) }
    if let defaultValue, v.isUndefined { return defaultValue }
    return v
  }

  func ignoreCase(_ v: Value) -> Value {
    if case .string(let s) = v { return .string(PythonText.lower(s)) }
    return v
  }

  /// Python's stable `sorted(items, key=..., reverse=...)`.
  func stableSorted(_ items: [Value], keys: [Value], reverse: Bool, _ loc: SourceLocation) throws(TemplateError) -> [Value] {
    var order = Array(items.indices)
    // Insertion sort: stable, and every comparison can throw like Python's TypeError.
    var i = 1
    while i < order.count {
      let current = order[i]
      var j = i - 1
      while j >= 0 {
        let before = reverse ? try less(keys[order[j]], keys[current], loc) : try less(keys[current], keys[order[j]], loc)
        if !before { break }
        order[j + 1] = order[j]
        j -= 1
      }
      order[j + 1] = current
      i += 1
    }
    return order.map { items[$0] }
  }

  func length(_ v: Value, _ loc: SourceLocation) throws(TemplateError) -> Int {
    switch v.plain {
    case .undefined: return 0
    case .string(let s): return s.unicodeScalars.count
    case .list(let items), .tuple(let items), .view(_, let items): return items.count
    case .dict(let d): return d.count
    case .namespace(let ns): return ns.entries.count
    default: throw .runtime(message: "object of type '\(v.typeName)' has no len()", location: loc)
    }
  }

  func htmlEscape(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&#34;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// Jinja's `title` filter: split at runs of `-`, whitespace, `(`, `{`, `[`, `<`; upper first, lower rest.
  func jinjaTitle(_ s: String) -> String {
    func isSeparator(_ c: Unicode.Scalar) -> Bool { isPythonWhitespace(c) || "-({[<".unicodeScalars.contains(c) }
    var out = ""
    var atWordStart = true
    for c in s.unicodeScalars {
      if isSeparator(c) {
        out.unicodeScalars.append(c)
        atWordStart = true
      } else if atWordStart {
        out += c.properties.uppercaseMapping
        atWordStart = false
      } else {
        out += c.properties.lowercaseMapping
      }
    }
    return out
  }

  func wordCount(_ s: String) -> Int {
    var count = 0
    var inWord = false
    for c in s.unicodeScalars {
      let word: Bool
      switch c.properties.generalCategory {
      case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
        .decimalNumber, .letterNumber, .otherNumber:
        word = true
      default:
        word = c == "_"
      }
      if word && !inWord { count += 1 }
      inWord = word
    }
    return count
  }

  func indent(_ text: String, _ indentation: String, first: Bool, blank: Bool) -> String {
    let s = text + "\n"
    var rv: String
    let lines = PythonText.splitLines(s)
    if blank {
      rv = lines.joined(separator: "\n" + indentation)
    } else {
      var rest = lines[...]
      rv = rest.popFirst() ?? ""
      if !rest.isEmpty {
        rv += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
      }
    }
    if first { rv = indentation + rv }
    return rv
  }

  func parseIntLiteral(_ raw: String, base: Int) -> Int? {
    var s = PythonText.strip(raw, nil, left: true, right: true)
    var negative = false
    if s.hasPrefix("+") || s.hasPrefix("-") {
      negative = s.hasPrefix("-")
      s.removeFirst()
    }
    guard !s.isEmpty, !s.hasPrefix("_"), !s.hasSuffix("_"), !s.contains("__") else { return nil }
    let digits = s.replacingUnderscores()
    guard let v = Int(digits, radix: base) else { return nil }
    return negative ? -v : v
  }

  func parseFloatLiteral(_ raw: String) -> Double? {
    let s = PythonText.strip(raw, nil, left: true, right: true)
    let lower = PythonText.lower(s)
    switch lower {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan", "+nan", "-nan": return .nan
    default: break
    }
    guard !s.isEmpty, s.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 101 || $0 == 69 || $0 == 43 || $0 == 45 || $0 == 95 }) else {
      return nil
    }
    return Double(s.replacingUnderscores())
  }

  func toInt(_ value: Value, _ defaultValue: Value, _ baseValue: Value?, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let base = baseValue.flatMap { intIndex($0) } ?? 10
    switch value {
    case .undefined(let info): throw undefinedError(info, loc)
    case .int(let i): return .int(i)
    case .bool(let b): return .int(b ? 1 : 0)
    case .float(let d):
      guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { return defaultValue }
      return .int(i)
    case .string(let s):
      if let i = parseIntLiteral(s, base: base) { return .int(i) }
      if let d = parseFloatLiteral(s), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
      return defaultValue
    default:
      return defaultValue
    }
  }

  func toFloat(_ value: Value, _ defaultValue: Value, _ loc: SourceLocation) throws(TemplateError) -> Value {
    switch value {
    case .undefined(let info): throw undefinedError(info, loc)
    case .int(let i): return .float(Double(i))
    case .bool(let b): return .float(b ? 1 : 0)
    case .float: return value
    case .string(let s): return parseFloatLiteral(s).map { .float($0) } ?? defaultValue
    default: return defaultValue
    }
  }

  func round(_ value: Value, _ precisionValue: Value?, _ methodValue: Value?, _ loc: SourceLocation) throws(TemplateError) -> Value {
    let precision = precisionValue.flatMap { intIndex($0) } ?? 0
    let method = try methodValue.map { (v) throws(TemplateError) in try str(v, loc) } ?? "common"
    guard ["common", "ceil", "floor"].contains(method) else {
      throw .runtime(message: "method must be common, ceil or floor", location: loc)
    }
    guard let n = numeric(value) else { throw typeError("type \(value.typeName) doesn't define __round__ method", value, loc) }
    if method == "common" {
      if case .int(let i) = n, precision >= 0 { return .int(i) }
      if precision != 0 { throw .unsupported(construct: "round with a non-zero precision", location: loc) }
      return .float(n.double.rounded(.toNearestOrEven))
    }
    if precision != 0 { throw .unsupported(construct: "round with a non-zero precision", location: loc) }
    return .float(method == "ceil" ? n.double.rounded(.up) : n.double.rounded(.down))
  }

  // MARK: - tojson (transformers: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys))

  func toJSON(_ value: Value, ensureASCII: Bool, indent: Value?, separators: Value?, sortKeys: Bool, _ loc: SourceLocation) throws(TemplateError) -> String {
    var indentString: String? = nil
    if let indent, !indent.isNone {
      if case .string(let s) = indent { indentString = s } else if let n = intIndex(indent) {
        indentString = String(repeating: " ", count: max(0, min(n, 10_000)))
      } else { throw typeError("indent must be int or str", indent, loc) }
    }
    var itemSeparator = indentString == nil ? ", " : ","
    var keySeparator = ": "
    if let separators, !separators.isNone {
      let parts = try iterate(separators, loc)
      guard parts.count == 2, case .string(let i) = parts[0], case .string(let k) = parts[1] else {
        throw .runtime(message: "separators must be a pair of strings", location: loc)
      }
      itemSeparator = i
      keySeparator = k
    }
    var out = ""
    try encodeJSON(value, level: 0, indent: indentString, itemSeparator: itemSeparator, keySeparator: keySeparator,
      sortKeys: sortKeys, ensureASCII: ensureASCII, into: &out, loc)
    return out
  }

  private func encodeJSON(
    _ v: Value, level: Int, indent: String?, itemSeparator: String, keySeparator: String, sortKeys: Bool,
    ensureASCII: Bool, into out: inout String, _ loc: SourceLocation
  ) throws(TemplateError) {
    try tick(loc)
    let v = v.plain
    if level > 512 { throw .limitExceeded(what: "tojson nesting depth", limit: 512, location: loc) }
    func newline(_ l: Int) -> String {
      guard let indent else { return "" }
      return "\n" + String(repeating: indent, count: l)
    }
    switch v {
    case .none: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .float(let d):
      if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else {
        out += PythonText.floatRepr(d)
      }
    case .string(let s): out += PythonText.jsonString(s, ensureASCII: ensureASCII)
    case .list(let items), .tuple(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "[" + newline(level + 1)
      for (i, item) in items.enumerated() {
        if i > 0 { out += itemSeparator + newline(level + 1) }
        try encodeJSON(item, level: level + 1, indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator,
          sortKeys: sortKeys, ensureASCII: ensureASCII, into: &out, loc)
      }
      out += newline(level) + "]"
    case .dict(let d):
      if d.count == 0 {
        out += "{}"
        return
      }
      var pairs: [(String, Value)] = []
      for (k, value) in zip(d.keys, d.values) {
        let key: String
        switch k {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        case .float(let f): key = f.isNaN ? "NaN" : f.isInfinite ? (f < 0 ? "-Infinity" : "Infinity") : PythonText.floatRepr(f)
        case .bool(let b): key = b ? "true" : "false"
        case .none: key = "null"
        default: throw .runtime(message: "keys must be str, int, float, bool or None, not \(k.typeName)", location: loc)
        }
        pairs.append((key, value))
      }
      if sortKeys {
        // Python sorts the original keys; with all-string keys this is code point order.
        for (k, _) in zip(d.keys, d.values) {
          guard case .string = k else { throw .unsupported(construct: "tojson(sort_keys=true) with non-string keys", location: loc) }
        }
        pairs = pairs.enumerated().sorted { lhs, rhs in
          if lhs.element.0.unicodeScalars.elementsEqual(rhs.element.0.unicodeScalars) { return lhs.offset < rhs.offset }
          return lhs.element.0.unicodeScalars.lexicographicallyPrecedes(rhs.element.0.unicodeScalars)
        }.map { $0.element }
      }
      out += "{" + newline(level + 1)
      for (i, (k, value)) in pairs.enumerated() {
        if i > 0 { out += itemSeparator + newline(level + 1) }
        out += PythonText.jsonString(k, ensureASCII: ensureASCII) + keySeparator
        try encodeJSON(value, level: level + 1, indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator,
          sortKeys: sortKeys, ensureASCII: ensureASCII, into: &out, loc)
      }
      out += newline(level) + "}"
    case .undefined(let info):
      if info.unsafe { throw .runtime(message: info.message, location: loc) }
      throw .runtime(message: "Object of type Undefined is not JSON serializable", location: loc)
    default:
      throw .runtime(message: "Object of type \(v.typeName) is not JSON serializable", location: loc)
    }
  }

  // MARK: - Tests

  func applyTest(_ name: String, _ original: Value, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> Bool {
    let value = original.plain
    func arg() throws(TemplateError) -> Value {
      guard let v = args.positional.first ?? args.keyword.first?.1 else {
        throw .runtime(message: "test '\(name)' requires an argument", location: loc)
      }
      return v
    }
    switch name {
    case "defined": return !value.isUndefined
    case "undefined": return value.isUndefined
    case "none": return value.isNone
    case "boolean":
      if case .bool = value { return true }
      return false
    case "true":
      if case .bool(true) = value { return true }
      return false
    case "false":
      if case .bool(false) = value { return true }
      return false
    case "integer":
      if case .int = value { return true }
      return false
    case "float":
      if case .float = value { return true }
      return false
    case "number": return numeric(value) != nil
    case "string":
      if case .string = value { return true }
      return false
    case "mapping":
      if case .dict = value { return true }
      return false
    case "iterable":
      switch value {
      case .undefined, .string, .list, .tuple, .dict, .iterator, .view: return true
      default: return false
      }
    case "sequence":
      switch value {
      case .undefined, .string, .list, .tuple, .dict: return true
      default: return false
      }
    case "callable":
      switch value {
      case .macro, .builtin, .method, .loop, .undefined: return true
      default: return false
      }
    case "escaped":
      if case .markup = original { return true }
      return false
    case "odd", "even":
      guard let n = numeric(value) else { throw typeError("unsupported operand type(s) for %", value, loc) }
      let r = try binary(.modulo, n.value, .int(2), loc)
      return name == "odd" ? pyEquals(r, .int(1)) : pyEquals(r, .int(0))
    case "divisibleby":
      let d = try arg()
      return pyEquals(try binary(.modulo, value, d, loc), .int(0))
    case "lower", "upper":
      let s = try str(value, loc)
      var cased = false
      for c in s.unicodeScalars {
        if name == "lower" ? c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter : c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
        if PythonText.isCased(c) { cased = true }
      }
      return cased
    case "eq", "equalto", "==": return pyEquals(value, try arg())
    case "ne", "!=": return !pyEquals(value, try arg())
    case "lt", "lessthan", "<": return try less(value, try arg(), loc)
    case "le", "<=":
      let o = try arg()
      return try less(value, o, loc) || pyEquals(value, o)
    case "gt", "greaterthan", ">": return try less(try arg(), value, loc)
    case "ge", ">=":
      let o = try arg()
      return try less(o, value, loc) || pyEquals(value, o)
    case "in": return try contains(try arg(), value, loc)
    case "sameas":
      let o = try arg()
      switch (value, o) {
      case (.none, .none): return true
      case (.bool(let x), .bool(let y)): return x == y
      case (.none, _), (_, .none), (.bool, _), (_, .bool): return false
      case (.int(let x), .int(let y)) where (-5...256).contains(x) && (-5...256).contains(y): return x == y
      case (.namespace(let x), .namespace(let y)): return x === y
      default: throw .unsupported(construct: "'sameas' test on values whose identity Python does not define", location: loc)
      }
    case "filter":
      let n = try str(try arg(), loc)
      return TemplateBuiltins.filters.contains(n) || TemplateBuiltins.unsupportedFilters.contains(n)
    case "test":
      return TemplateBuiltins.tests.contains(try str(try arg(), loc))
    default:
      throw .syntax(message: "No test named '\(name)'.", location: loc)
    }
  }
}

extension Value {
  var isNone: Bool {
    if case .none = self { return true }
    return false
  }
}

extension Numeric {
  var value: Value {
    switch self {
    case .int(let i): return .int(i)
    case .float(let d): return .float(d)
    }
  }
}

extension String {
  func replacingUnderscores() -> String { String(self.unicodeScalars.filter { $0 != "_" }.map(Character.init)) }
}
