// A small order-preserving JSON reader for the template fixtures (key order matters: `tojson`
// prints objects in insertion order, as Python does).

import Scanner

enum FixtureJSONError: Error { case invalid(Int) }

struct FixtureJSON {
  private let bytes: [UInt8]
  private var i = 0

  static func parse(_ bytes: [UInt8]) throws -> TemplateValue {
    var p = FixtureJSON(bytes: bytes)
    let v = try p.value()
    p.skip()
    guard p.i == bytes.count else { throw FixtureJSONError.invalid(p.i) }
    return v
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private mutating func skip() {
    while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
  }

  private mutating func value() throws -> TemplateValue {
    skip()
    guard i < bytes.count else { throw FixtureJSONError.invalid(i) }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var entries: [(key: String, value: TemplateValue)] = []
      skip()
      if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(entries) }
      while true {
        skip()
        let k = try string()
        skip()
        guard bytes[i] == UInt8(ascii: ":") else { throw FixtureJSONError.invalid(i) }
        i += 1
        entries.append((key: k, value: try value()))
        skip()
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        guard bytes[i] == UInt8(ascii: "}") else { throw FixtureJSONError.invalid(i) }
        i += 1
        return .object(entries)
      }
    case UInt8(ascii: "["):
      i += 1
      var items: [TemplateValue] = []
      skip()
      if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
      while true {
        items.append(try value())
        skip()
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        guard bytes[i] == UInt8(ascii: "]") else { throw FixtureJSONError.invalid(i) }
        i += 1
        return .array(items)
      }
    case UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "t"):
      i += 4
      return .bool(true)
    case UInt8(ascii: "f"):
      i += 5
      return .bool(false)
    case UInt8(ascii: "n"):
      i += 4
      return .none
    default:
      let start = i
      var isFloat = false
      while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) {
        if "eE.".utf8.contains(bytes[i]) { isFloat = true }
        i += 1
      }
      let text = String(decoding: bytes[start..<i], as: UTF8.self)
      if !isFloat, let v = Int(text) { return .int(v) }
      guard let d = Double(text) else { throw FixtureJSONError.invalid(start) }
      return .float(d)
    }
  }

  private mutating func hex4() throws -> UInt32 {
    guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
      throw FixtureJSONError.invalid(i)
    }
    i += 4
    return v
  }

  private mutating func string() throws -> String {
    guard bytes[i] == UInt8(ascii: "\"") else { throw FixtureJSONError.invalid(i) }
    i += 1
    var out: [UInt8] = []
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "\"") {
        i += 1
        return String(decoding: out, as: UTF8.self)
      }
      if b == UInt8(ascii: "\\") {
        let e = bytes[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"):
          var v = try hex4()
          if (0xD800..<0xDC00).contains(v), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\") {
            i += 2
            let low = try hex4()
            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let s = Unicode.Scalar(v) else { throw FixtureJSONError.invalid(i) }
          out.append(contentsOf: Array(String(Character(s)).utf8))
        default: out.append(e)
        }
        continue
      }
      out.append(b)
      i += 1
    }
    throw FixtureJSONError.invalid(i)
  }
}
