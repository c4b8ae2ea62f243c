/// Decoding of pickle text arguments as CPython decodes them (never executing anything).
enum PickleText {
  /// Each byte as the code point of the same value (Latin-1): lossless for display.
  static func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var s = ""
    s.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return s
  }

  /// ASCII or nil.
  static func ascii(_ bytes: UnsafeRawBufferPointer) -> String? {
    bytes.allSatisfy { $0 < 0x80 } ? latin1(bytes) : nil
  }

  /// Python `int(text, 0)` for INT/LONG/PUT/GET lines: optional sign, 0x/0o/0b prefixes, underscores
  /// between digits, surrounding whitespace. Values beyond Int64 become `.bigInt`.
  static func parseInt(_ line: UnsafeRawBufferPointer, lineOffset: Int = 0) -> PickleArgument? {
    var chars = Array(line)
    while let f = chars.first, f == 0x20 || f == 0x09 || f == 0x0D { chars.removeFirst() }
    while let l = chars.last, l == 0x20 || l == 0x09 || l == 0x0D { chars.removeLast() }
    var negative = false
    if let f = chars.first, f == 0x2B || f == 0x2D {
      negative = f == 0x2D
      chars.removeFirst()
    }
    var radix = 10
    if chars.count > 2, chars[0] == 0x30 {
      switch chars[1] | 0x20 {
      case 0x78: radix = 16
      case 0x6F: radix = 8
      case 0x62: radix = 2
      default: break
      }
      if radix != 10 { chars.removeFirst(2) }
    }
    if chars.first == 0x5F || chars.last == 0x5F { return nil }
    chars.removeAll { $0 == 0x5F }
    guard !chars.isEmpty else { return nil }
    var value: Int64 = 0
    var overflow = false
    for c in chars {
      let d: Int
      switch c {
      case 0x30...0x39: d = Int(c &- 0x30)
      case 0x61...0x66: d = Int(c &- 0x61) &+ 10
      case 0x41...0x46: d = Int(c &- 0x41) &+ 10
      default: return nil
      }
      guard d < radix else { return nil }
      if !overflow {
        let (m, o1) = value.multipliedReportingOverflow(by: Int64(radix))
        let (a, o2) = m.addingReportingOverflow(Int64(d))
        if o1 || o2 { overflow = true } else { value = a }
      }
    }
    if overflow { return .bigInt(byteOffset: lineOffset, byteCount: line.count) }
    return .int(negative ? 0 &- value : value)  // can't overflow: value >= 0, so -value >= -Int64.max
  }

  /// Little-endian two's complement (LONG1/LONG4) as Int64, or nil if wider than 8 bytes.
  static func twosComplement(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    if bytes.isEmpty { return 0 }
    // Strip redundant sign-extension bytes so that a wide but small value still fits.
    var n = bytes.count
    let sign: UInt8 = bytes[n &- 1] & 0x80 != 0 ? 0xFF : 0x00
    while n > 1, bytes[n &- 1] == sign, (bytes[n &- 2] & 0x80) == (sign & 0x80) { n &-= 1 }
    guard n <= 8 else { return nil }
    var u: UInt64 = sign == 0xFF ? ~0 : 0
    for i in 0..<n {
      u &= ~(UInt64(0xFF) << (8 &* UInt64(i)))
      u |= UInt64(bytes[i]) << (8 &* UInt64(i))
    }
    return Int64(bitPattern: u)
  }

  /// CPython `codecs.escape_decode` (STRING's argument): nil on an invalid `\x` escape.
  static func escapeDecode(_ s: UnsafeRawBufferPointer) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(s.count)
    var i = 0
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: c &- 0x30
      case 0x61...0x66: c &- 0x61 &+ 10
      case 0x41...0x46: c &- 0x41 &+ 10
      default: nil
      }
    }
    while i < s.count {
      let c = s[i]
      i &+= 1
      guard c == 0x5C else { out.append(c); continue }
      guard i < s.count else { return nil }  // trailing backslash: "\\ at end of string"
      let e = s[i]
      i &+= 1
      switch e {
      case 0x0A: break  // line continuation
      case 0x5C, 0x27, 0x22: out.append(e)
      case 0x62: out.append(0x08)
      case 0x66: out.append(0x0C)
      case 0x74: out.append(0x09)
      case 0x6E: out.append(0x0A)
      case 0x72: out.append(0x0D)
      case 0x76: out.append(0x0B)
      case 0x61: out.append(0x07)
      case 0x30...0x37:
        var v = Int(e &- 0x30)
        var k = 0
        while k < 2, i < s.count, s[i] >= 0x30, s[i] <= 0x37 {
          v = v &* 8 &+ Int(s[i] &- 0x30)
          i &+= 1
          k &+= 1
        }
        out.append(UInt8(truncatingIfNeeded: v))
      case 0x78:
        guard i &+ 1 < s.count, let h = hex(s[i]), let l = hex(s[i &+ 1]) else { return nil }
        out.append(h &* 16 &+ l)
        i &+= 2
      default:
        out.append(0x5C)
        out.append(e)
      }
    }
    return out
  }

  /// CPython `raw_unicode_escape` decoding (UNICODE's argument): bytes are Latin-1 code points except
  /// `\uXXXX` / `\UXXXXXXXX` after an odd run of backslashes. Nil on a truncated or out-of-range escape.
  static func rawUnicodeEscapeDecode(_ s: UnsafeRawBufferPointer) -> String? {
    var out = String.UnicodeScalarView()
    var i = 0
    while i < s.count {
      let c = s[i]
      guard c == 0x5C else { out.append(Unicode.Scalar(c)); i &+= 1; continue }
      var run = 0
      while i < s.count, s[i] == 0x5C { out.append("\\"); run &+= 1; i &+= 1 }
      guard run % 2 == 1, i < s.count, s[i] == 0x75 || s[i] == 0x55 else { continue }
      out.removeLast()
      let digits = s[i] == 0x75 ? 4 : 8
      i &+= 1
      guard digits <= s.count &- i else { return nil }
      var v: UInt32 = 0
      for k in 0..<digits {
        let h = s[i &+ k]
        let d: UInt32
        switch h {
        case 0x30...0x39: d = UInt32(h &- 0x30)
        case 0x61...0x66: d = UInt32(h &- 0x61) &+ 10
        case 0x41...0x46: d = UInt32(h &- 0x41) &+ 10
        default: return nil
        }
        v = v << 4 | d
      }
      i &+= digits
      guard v <= 0x10FFFF else { return nil }
      // Lone surrogates are legal in Python str but not in Swift: show them as U+FFFD.
      out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
    }
    return String(out)
  }
}

extension String {
  func trimmingASCIIWhitespace() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
    return String(s)
  }
}
