/// GPT-2's reversible byte-to-character alphabet (`bytes_to_unicode` in OpenAI's encoder.py, llama.cpp
/// `unicode_byte_to_utf8_map`): printable Latin-1 bytes `!`...`~`, `¡`...`¬`, `®`...`ÿ` map to
/// themselves, the other 68 bytes to U+0100, U+0101, ... in byte order.
enum ByteLevel {
  /// The code point each byte maps to.
  static let scalarOfByte: [UInt32] = {
    var map = [UInt32](repeating: 0, count: 256)
    var assigned = [Bool](repeating: false, count: 256)
    for range in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] {
      for b in range {
        map[b] = UInt32(b)
        assigned[b] = true
      }
    }
    var next: UInt32 = 256
    for b in 0..<256 where !assigned[b] {
      map[b] = next
      next += 1
    }
    return map
  }()

  /// The UTF-8 bytes of each byte's character (one or two bytes).
  static let encoded: [[UInt8]] = scalarOfByte.map { value in
    // can't fail: every mapped value is a valid scalar below U+0144
    Array(String(Character(Unicode.Scalar(value) ?? "?")).utf8)
  }

  /// The byte for each code point below U+0144, or -1 when the code point is not in the alphabet.
  static let byteOfScalar: [Int16] = {
    var table = [Int16](repeating: -1, count: 0x144)
    for (b, value) in scalarOfByte.enumerated() { table[Int(value)] = Int16(b) }
    return table
  }()
}
