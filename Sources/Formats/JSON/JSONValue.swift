/// A JSON value as parsed by ``JSONParser``: objects keep their members in file order, duplicates included,
/// so a caller can see exactly what different readers would see.
public enum JSONValue: Sendable, Equatable {  // not indirect: arrays already box, so no per-value allocation
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONValue])
  case object([JSONMember])

  /// The value of the *last* member named `key` (Python's `json` and serde's maps keep the last duplicate); names
  /// match byte for byte, as in those readers, not by Unicode canonical equivalence.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last(where: { $0.key.hasSameBytes(as: key) })?.value
  }

  /// The string payload, if this is a string.
  public var string: String? { if case .string(let s) = self { s } else { nil } }
  /// The integer payload, if this is a number written as an integer that fits in `Int`.
  public var int: Int? { if case .number(let n) = self { n.int } else { nil } }
  /// The numeric payload as a `Double`, if this is a number.
  public var double: Double? { if case .number(let n) = self { n.double } else { nil } }
  /// The boolean payload, if this is a boolean.
  public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
  /// The elements, if this is an array.
  public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
  /// The members in file order, if this is an object.
  public var members: [JSONMember]? { if case .object(let m) = self { m } else { nil } }
}

/// One `"key": value` pair of a JSON object, with the byte offset of its key (relative to the parsed buffer).
public struct JSONMember: Sendable, Equatable {
  public let key: String
  public let value: JSONValue
  public let keyByteOffset: Int
}

/// A JSON number, kept as written so integers are exact and nothing is lost to `Double`.
public struct JSONNumber: Sendable, Equatable {
  /// The value when the text is an integer (no fraction, no exponent) that fits in `Int`.
  public let int: Int?
  /// Whether the text is an integer literal (no `.`, `e` or `E`), whatever its size.
  public let isInteger: Bool
  /// The text, kept only when it is not a plain `Int` (fractions, exponents, huge integers): integers
  /// are the common case in model headers and need no allocation.
  let storedText: String?

  init(text: String?, int: Int?, isInteger: Bool) {
    self.storedText = int == nil ? text : nil
    self.int = int
    self.isInteger = isInteger
  }

  /// The number's text exactly as it appears in the file (integers re-spelled, which is exact).
  public var text: String { storedText ?? int.map(String.init) ?? "" }
  /// The value as a `Double` (rounded for big integers).
  public var double: Double { Double(text) ?? .nan }
}

/// A duplicate key inside one JSON object: the reference readers keep the last occurrence,
/// Foundation's `JSONDecoder` the first.
public struct JSONDuplicateKey: Sendable, Equatable {
  /// Path of the object holding the key, e.g. `""` for the root, `"weight"` for a member of the root.
  public let objectPath: String
  public let key: String
  public let firstByteOffset: Int
  public let duplicateByteOffset: Int
}
