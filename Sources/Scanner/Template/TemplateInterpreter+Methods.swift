// Python methods templates call on str, dict, list and Jinja's loop object.

extension TemplateInterpreter {
  func callMethod(_ receiver: Value, _ name: String, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> Value {
    func b(_ names: [String]) throws(TemplateError) -> [Value?] { try bind(args, names, name, loc) }
    switch receiver {
    case .markup:
      throw .unsupported(construct: "method '\(name)' of a Markup (|safe/|escape) string", location: loc)
    case .string(let s):
      return try stringMethod(s, name, args, loc)
    case .dict(let d):
      switch name {
      case "items":
        _ = try b([])
        return .view("dict_items", zip(d.keys, d.values).map { .tuple([$0, $1]) })
      case "keys":
        _ = try b([])
        return .view("dict_keys", d.keys)
      case "values":
        _ = try b([])
        return .view("dict_values", d.values)
      case "get":
        let a = try b(["key", "default"])
        guard let key = a[0] else { throw .runtime(message: "get expected at least 1 argument, got 0", location: loc) }
        try requireHashable(key, loc)
        return d[key] ?? a[1] ?? .none
      case "copy":
        _ = try b([])
        return receiver
      default:
        throw .unsupported(construct: "dict method '\(name)'", location: loc)
      }
    case .list(let items), .tuple(let items):
      switch name {
      case "index":
        let a = try b(["value"])
        guard let v = a[0] else { throw .runtime(message: "index expected 1 argument", location: loc) }
        guard let i = items.firstIndex(where: { pyEquals($0, v) }) else {
          throw .runtime(message: "\(repr(v)) is not in list", location: loc)
        }
        return .int(i)
      case "count":
        let a = try b(["value"])
        guard let v = a[0] else { throw .runtime(message: "count expected 1 argument", location: loc) }
        return .int(items.filter { pyEquals($0, v) }.count)
      case "copy":
        _ = try b([])
        return receiver
      default:
        throw .unsupported(construct: "list method '\(name)'", location: loc)
      }
    case .loop(let box):
      switch name {
      case "cycle":
        guard !args.positional.isEmpty else { throw .runtime(message: "no items for cycling given", location: loc) }
        return args.positional[box.index0 % args.positional.count]
      case "changed":
        let now = args.positional
        defer { box.lastChanged = now }
        guard let previous = box.lastChanged else { return .bool(true) }
        return .bool(!pyEquals(.list(previous), .list(now)))
      default:
        throw .unsupported(construct: "loop method '\(name)'", location: loc)
      }
    default:
      throw .unsupported(construct: "method '\(name)' of \(receiver.typeName)", location: loc)
    }
  }

  private func stringArg(_ v: Value?, _ what: String, _ loc: SourceLocation) throws(TemplateError) -> String? {
    guard let v else { return nil }
    switch v {
    case .none: return nil
    case .string(let s): return s
    default: throw typeError("\(what) arg must be None or str", v, loc)
    }
  }

  func stringMethod(_ s: String, _ name: String, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> Value {
    func b(_ names: [String]) throws(TemplateError) -> [Value?] { try bind(args, names, name, loc) }
    switch name {
    case "startswith", "endswith":
      let a = try b(["prefix", "start", "end"])
      if a[1] != nil || a[2] != nil { throw .unsupported(construct: "\(name) with start/end", location: loc) }
      guard let p = a[0] else { throw .runtime(message: "\(name) takes at least 1 argument (0 given)", location: loc) }
      var candidates: [String] = []
      switch p {
      case .string(let x): candidates = [x]
      case .tuple(let items):
        for i in items {
          guard case .string(let x) = i else { throw typeError("tuple for \(name) must only contain str", i, loc) }
          candidates.append(x)
        }
      default:
        throw typeError("\(name) first arg must be str or a tuple of str, not \(p.typeName)", p, loc)
      }
      return .bool(candidates.contains { name == "startswith" ? PythonText.hasPrefix(s, $0) : PythonText.hasSuffix(s, $0) })
    case "strip", "lstrip", "rstrip":
      let a = try b(["chars"])
      let chars = try stringArg(a[0], name, loc)
      return .string(PythonText.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
    case "split", "rsplit":
      let a = try b(["sep", "maxsplit"])
      let sep = try stringArg(a[0], name, loc)
      var maxSplit = -1
      if let m = a[1] {
        guard let i = intIndex(m) else { throw typeError("maxsplit must be int", m, loc) }
        maxSplit = i
      }
      if let sep {
        if sep.isEmpty { throw .runtime(message: "empty separator", location: loc) }
        let parts = name == "split" ? PythonText.split(s, sep, maxSplit: maxSplit) : PythonText.rsplit(s, sep, maxSplit: maxSplit)
        return .list(parts.map { .string($0) })
      }
      if name == "rsplit" && maxSplit >= 0 { throw .unsupported(construct: "rsplit() on whitespace with maxsplit", location: loc) }
      return .list(PythonText.splitWhitespace(s, maxSplit: maxSplit).map { .string($0) })
    case "splitlines":
      let a = try b(["keepends"])
      if a[0]?.truthy ?? false { throw .unsupported(construct: "splitlines(keepends=True)", location: loc) }
      return .list(PythonText.splitLines(s).map { .string($0) })
    case "upper":
      _ = try b([])
      return .string(PythonText.upper(s))
    case "lower":
      _ = try b([])
      return .string(PythonText.lower(s))
    case "title":
      _ = try b([])
      return .string(PythonText.title(s))
    case "capitalize":
      _ = try b([])
      return .string(PythonText.capitalize(s))
    case "replace":
      let a = try b(["old", "new", "count"])
      guard case .string(let old)? = a[0], case .string(let new)? = a[1] else {
        throw .runtime(message: "replace() arguments must be str", location: loc)
      }
      var count = -1
      if let c = a[2] {
        guard let i = intIndex(c) else { throw typeError("count must be int", c, loc) }
        count = i
      }
      return .string(PythonText.replace(s, old, new, count: count))
    case "find", "rfind", "index", "rindex":
      let a = try b(["sub", "start", "end"])
      if a[1] != nil || a[2] != nil { throw .unsupported(construct: "\(name) with start/end", location: loc) }
      guard case .string(let sub)? = a[0] else { throw .runtime(message: "\(name)() argument must be str", location: loc) }
      let hay = Array(s.utf8)
      let needle = Array(sub.utf8)
      var found: Int? = nil
      if name.hasPrefix("r") {
        var from = 0
        while let j = PythonText.find(hay, needle, from: from) {
          found = j
          from = j + 1
          if from > hay.count { break }
        }
      } else {
        found = PythonText.find(hay, needle)
      }
      guard let byteIndex = found else {
        if name.hasSuffix("index") { throw .runtime(message: "substring not found", location: loc) }
        return .int(-1)
      }
      // Convert the byte offset into a code point index.
      return .int(hay[..<byteIndex].filter { $0 & 0xC0 != 0x80 }.count)
    case "count":
      let a = try b(["sub"])
      guard case .string(let sub)? = a[0] else { throw .runtime(message: "count() argument must be str", location: loc) }
      return .int(PythonText.count(s, sub))
    case "join":
      let a = try b(["iterable"])
      guard let v = a[0] else { throw .runtime(message: "join() takes exactly one argument", location: loc) }
      var parts: [String] = []
      for (i, item) in try iterate(v, loc).enumerated() {
        guard case .string(let x) = item else {
          throw .runtime(message: "sequence item \(i): expected str instance, \(item.typeName) found", location: loc)
        }
        parts.append(x)
      }
      return .string(parts.joined(separator: s))
    case "format":
      return .string(try pythonFormat(s, args, loc))
    case "isdigit", "isdecimal", "isnumeric":
      _ = try b([])
      return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil && (name == "isnumeric" || $0.properties.numericType != .numeric) && (name != "isdecimal" || $0.properties.numericType == .decimal) })
    case "isalpha":
      _ = try b([])
      return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { isLetter($0) })
    case "isalnum":
      _ = try b([])
      return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { isLetter($0) || $0.properties.numericType != nil })
    case "isspace":
      _ = try b([])
      return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPythonWhitespace))
    case "islower", "isupper":
      _ = try b([])
      return .bool(try applyTest(name == "islower" ? "lower" : "upper", .string(s), CallArgs(), loc))
    case "removeprefix":
      let a = try b(["prefix"])
      guard case .string(let p)? = a[0] else { throw .runtime(message: "removeprefix() argument must be str", location: loc) }
      return .string(PythonText.hasPrefix(s, p) ? String(decoding: Array(s.utf8).dropFirst(p.utf8.count), as: UTF8.self) : s)
    case "removesuffix":
      let a = try b(["suffix"])
      guard case .string(let p)? = a[0] else { throw .runtime(message: "removesuffix() argument must be str", location: loc) }
      return .string(PythonText.hasSuffix(s, p) && !p.isEmpty ? String(decoding: Array(s.utf8).dropLast(p.utf8.count), as: UTF8.self) : s)
    default:
      throw .unsupported(construct: "str method '\(name)'", location: loc)
    }
  }

  private func isLetter(_ c: Unicode.Scalar) -> Bool {
    switch c.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  /// `str.format` with `{}`, `{0}`, `{name}` fields and `{{`/`}}` escapes (no format specs).
  func pythonFormat(_ format: String, _ args: CallArgs, _ loc: SourceLocation) throws(TemplateError) -> String {
    var out = ""
    var scalars = Array(format.unicodeScalars)[...]
    var autoIndex = 0
    while let c = scalars.first {
      scalars = scalars.dropFirst()
      if c == "{" {
        if scalars.first == "{" {
          out += "{"
          scalars = scalars.dropFirst()
          continue
        }
        var field = ""
        while let d = scalars.first, d != "}" {
          field.unicodeScalars.append(d)
          scalars = scalars.dropFirst()
        }
        guard scalars.first == "}" else { throw .runtime(message: "Single '{' encountered in format string", location: loc) }
        scalars = scalars.dropFirst()
        if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
          throw .unsupported(construct: "str.format field '{\(field)}'", location: loc)
        }
        let value: Value
        if field.isEmpty {
          guard autoIndex < args.positional.count else { throw .runtime(message: "Replacement index \(autoIndex) out of range", location: loc) }
          value = args.positional[autoIndex]
          autoIndex += 1
        } else if let i = Int(field) {
          guard i >= 0 && i < args.positional.count else { throw .runtime(message: "Replacement index \(i) out of range", location: loc) }
          value = args.positional[i]
        } else {
          guard let v = args.keyword.last(where: { $0.0 == field })?.1 else { throw .runtime(message: "KeyError: '\(field)'", location: loc) }
          value = v
        }
        out += try str(value, loc)
      } else if c == "}" {
        guard scalars.first == "}" else { throw .runtime(message: "Single '}' encountered in format string", location: loc) }
        scalars = scalars.dropFirst()
        out += "}"
      } else {
        out.unicodeScalars.append(c)
      }
    }
    return out
  }
}
