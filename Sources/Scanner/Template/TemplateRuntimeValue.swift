// The interpreter's value model: Python objects as Jinja sees them.

/// Why a value is undefined (for error messages), and whether it is the sandbox's "unsafe" kind.
struct UndefinedInfo {
  /// The message Jinja gives when the undefined value is used (`'x' is undefined`, ...).
  var message: String
  /// Set for sandbox-blocked attributes: using the value raises a SecurityError.
  var unsafe: Bool = false
}

final class NamespaceBox {
  var entries: [(String, Value)]
  init(_ entries: [(String, Value)]) { self.entries = entries }
  func get(_ name: String) -> Value? { entries.last(where: { $0.0 == name })?.1 }
  func set(_ name: String, _ value: Value) {
    if let i = entries.firstIndex(where: { $0.0 == name }) { entries[i].1 = value } else { entries.append((name, value)) }
  }
}

/// A one-shot Python iterator (generator, reversed(...)): consumed by iteration.
final class IteratorBox {
  let items: [Value]
  var position = 0
  let typeName: String
  init(_ items: [Value], typeName: String) {
    self.items = items
    self.typeName = typeName
  }
  func drain() -> [Value] {
    let rest = Array(items[position...])
    position = items.count
    return rest
  }
  func next() -> Value? {
    guard position < items.count else { return nil }
    defer { position += 1 }
    return items[position]
  }
}

final class MacroBox {
  let name: String
  let parameters: [TemplateParameter]
  let body: [TemplateNode]
  let closure: Scope
  /// For `caller` of a call block: the body's own parameters are those of the block.
  init(name: String, parameters: [TemplateParameter], body: [TemplateNode], closure: Scope) {
    self.name = name
    self.parameters = parameters
    self.body = body
    self.closure = closure
  }
}

final class LoopBox {
  let items: [Value]
  var index0 = 0
  var lastChanged: [Value]? = nil
  init(items: [Value]) { self.items = items }
}

/// Callable globals.
enum BuiltinFunction: String {
  case range, namespace, dict, raiseException = "raise_exception", strftimeNow = "strftime_now"
  case lipsum, cycler, joiner
}

/// Ordered Python dict with arbitrary hashable keys (strings in practice).
struct DictValue {
  var keys: [Value] = []
  var values: [Value] = []

  var count: Int { keys.count }

  func index(of key: Value) -> Int? {
    if case .string(let s) = key.plain {
      // Fast path for the common case of string keys.
      for (i, k) in keys.enumerated() {
        if case .string(let t) = k, t.utf8.elementsEqual(s.utf8) { return i }
      }
      return nil
    }
    return keys.firstIndex(where: { pyEquals($0, key) })
  }

  subscript(key: Value) -> Value? {
    guard let i = index(of: key) else { return nil }
    return values[i]
  }

  mutating func set(_ key: Value, _ value: Value) {
    if let i = index(of: key) { values[i] = value } else {
      keys.append(key)
      values.append(value)
    }
  }

  subscript(string key: String) -> Value? { self[.string(key)] }
}

/// A runtime value.
indirect enum Value {
  case undefined(UndefinedInfo)
  case none
  case bool(Bool)
  case int(Int)
  case float(Double)
  case string(String)
  /// markupsafe's `Markup` (from `|safe`/`|escape`): a str whose `+` escapes plain-str operands.
  case markup(String)
  case list([Value])
  case tuple([Value])
  case dict(DictValue)
  case namespace(NamespaceBox)
  case iterator(IteratorBox)
  /// `dict.items()`/`keys()`/`values()`: re-iterable, sized, not indexable, prints as `dict_items([...])`.
  case view(String, [Value])
  case macro(MacroBox)
  case builtin(BuiltinFunction)
  /// `receiver.name` where `name` is a method of the receiver's Python type (called later).
  case method(Value, String)
  case loop(LoopBox)

  static func undefined(_ message: String) -> Value { .undefined(UndefinedInfo(message: message)) }

  init(_ v: TemplateValue) {
    switch v {
    case .none: self = .none
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .int(i)
    case .float(let d): self = .float(d)
    case .string(let s): self = .string(s)
    case .array(let a): self = .list(a.map(Value.init))
    case .object(let entries):
      var d = DictValue()
      for (k, v) in entries { d.set(.string(k), Value(v)) }
      self = .dict(d)
    }
  }

  /// Markup demoted to a plain string (most operations treat Markup as its text).
  var plain: Value {
    if case .markup(let s) = self { return .string(s) }
    return self
  }

  var isUndefined: Bool {
    if case .undefined = self { return true }
    return false
  }

  /// Python's type name, as used in Jinja's error messages.
  var typeName: String {
    switch self {
    case .undefined: return "Undefined"
    case .none: return "NoneType"
    case .bool: return "bool"
    case .int: return "int"
    case .float: return "float"
    case .string: return "str"
    case .markup: return "Markup"
    case .list: return "list"
    case .tuple: return "tuple"
    case .dict: return "dict"
    case .namespace: return "Namespace"
    case .iterator(let b): return b.typeName
    case .view(let name, _): return name
    case .macro: return "Macro"
    case .builtin: return "function"
    case .method: return "builtin_function_or_method"
    case .loop: return "LoopContext"
    }
  }

  /// Python truthiness.
  var truthy: Bool {
    switch self {
    case .undefined: return false
    case .none: return false
    case .bool(let b): return b
    case .int(let i): return i != 0
    case .float(let d): return d != 0
    case .string(let s), .markup(let s): return !s.isEmpty
    case .list(let a), .tuple(let a): return !a.isEmpty
    case .dict(let d): return d.count > 0
    case .view(_, let items): return !items.isEmpty
    default: return true
    }
  }
}

/// Python `==`.
func pyEquals(_ a: Value, _ b: Value) -> Bool {
  switch (a.plain, b.plain) {
  case (.undefined, .undefined): return true
  case (.none, .none): return true
  case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
  case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
    return x.count == y.count && zip(x, y).allSatisfy { pyEquals($0, $1) }
  case (.dict(let x), .dict(let y)):
    guard x.count == y.count else { return false }
    for (k, v) in zip(x.keys, x.values) {
      guard let w = y[k], pyEquals(v, w) else { return false }
    }
    return true
  case (.namespace(let x), .namespace(let y)): return x === y
  case (.macro(let x), .macro(let y)): return x === y
  case (.iterator(let x), .iterator(let y)): return x === y
  case (.loop(let x), .loop(let y)): return x === y
  case (.builtin(let x), .builtin(let y)): return x == y
  default:
    if let x = numeric(a), let y = numeric(b) {
      switch (x, y) {
      case (.int(let i), .int(let j)): return i == j
      default: return x.double == y.double
      }
    }
    return false
  }
}

enum Numeric {
  case int(Int)
  case float(Double)
  var double: Double {
    switch self {
    case .int(let i): return Double(i)
    case .float(let d): return d
    }
  }
}

/// The numeric view of int, float and bool (bool is an int subclass in Python).
func numeric(_ v: Value) -> Numeric? {
  switch v {
  case .int(let i): return .int(i)
  case .float(let d): return .float(d)
  case .bool(let b): return .int(b ? 1 : 0)
  default: return nil
  }
}
