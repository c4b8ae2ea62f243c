/// Text from a scanned file (metadata keys and values, tensor names, token texts, template excerpts, generated
/// answers, error messages quoting them) made safe to print on a terminal.
///
/// A hostile file can carry escape sequences that clear the screen, move the cursor, conceal the following lines
/// (`ESC[8m`) or recolour a verdict, and bidirectional overrides that display text in an order other than the bytes'
/// (Trojan Source). A security report must not let the scanned file rewrite it: every C0 control except newline
/// and tab, DEL, every C1 control (U+0080...U+009F, which some terminals take as 8-bit CSI), and the invisible and
/// bidirectional format characters the template audit treats as hidden are written as `\u{...}`.
public enum TerminalText {
  /// `s` with every unsafe scalar written as `\u{hex}`; unchanged (no copy) when there is none.
  public static func safe(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: isUnsafe) else { return s }
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
      if isUnsafe(u) {
        out.append(contentsOf: "\\u{\(String(u.value, radix: 16))}".unicodeScalars)
      } else {
        out.append(u)
      }
    }
    return String(out)
  }

  static func isUnsafe(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x0A, 0x09: false
    case 0x00...0x1F, 0x7F...0x9F: true
    default: ChatTemplateAudit.isHidden(u)
    }
  }
}
