import Formats

extension TemplateValue {
  /// Converts parsed JSON into template data exactly as Python's `json.loads` would build it.
  ///
  /// Integers written without `.`/exponent stay ints and the rest become floats (so `tojson` prints
  /// `1` and `1.0` as the file did); for duplicate keys the *last* value wins at the position of the
  /// *first* occurrence, as in a Python dict.
  ///
  /// - Parameter json: A value from ``JSONParser``.
  /// - Returns: nil when an integer does not fit in 64 bits (Python would keep it exactly).
  /// - Complexity: O(n) in the number of JSON values, O(k²) per object of k keys.
  public init?(json: JSONValue) {
    switch json {
    case .null: self = .none
    case .bool(let b): self = .bool(b)
    case .string(let s): self = .string(s)
    case .number(let n):
      if n.isInteger {
        guard let i = n.int else { return nil }
        self = .int(i)
      } else {
        self = .float(n.double)
      }
    case .array(let items):
      var out: [TemplateValue] = []
      out.reserveCapacity(items.count)
      for item in items {
        guard let v = TemplateValue(json: item) else { return nil }
        out.append(v)
      }
      self = .array(out)
    case .object(let members):
      var out: [(key: String, value: TemplateValue)] = []
      for m in members {
        guard let v = TemplateValue(json: m.value) else { return nil }
        if let i = out.firstIndex(where: { $0.key.utf8.elementsEqual(m.key.utf8) }) {
          out[i].value = v
        } else {
          out.append((key: m.key, value: v))
        }
      }
      self = .object(out)
    }
  }
}
