/// Key and tensor names compared as the reference readers compare them: byte for byte (C `strcmp` in ggml,
/// code points in Python, bytes in serde), not by Swift's canonical equivalence, under which "K" equals the Kelvin
/// sign U+212A and a composed "é" equals "e" + U+0301. Swift `String` keys would merge names those readers keep
/// apart, so a file could mean one thing to us and another to the loader.
struct ExactName: Hashable, Sendable {
  let text: String

  init(_ text: String) { self.text = text }

  static func == (a: ExactName, b: ExactName) -> Bool { a.text.hasSameBytes(as: b.text) }

  func hash(into hasher: inout Hasher) {
    let done: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    if done == nil { for byte in text.utf8 { hasher.combine(byte) } }
  }
}

extension String {
  /// Whether the two strings have the same UTF-8 bytes (not merely canonically equivalent).
  func hasSameBytes(as other: String) -> Bool { utf8.elementsEqual(other.utf8) }

  /// The text with every non-ASCII or control scalar written as \u{...}, so that look-alike names can be told
  /// apart in a message.
  var nonASCIIEscaped: String {
    unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16, uppercase: true))}" }
      .joined()
  }
}
