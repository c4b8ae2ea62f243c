/// The Unicode facts the pre-tokenizer patterns test, packed in one byte per scalar.
///
/// `\p{L}`, `\p{N}`, `\p{P}`, `\p{S}`, `\p{M}` are general-category groups (Swift's
/// `Unicode.Scalar.Properties.generalCategory`); `\s` is the Unicode `White_Space` property, the same
/// set llama.cpp's `unicode_set_whitespace` lists. A whitespace scalar is never also in a category
/// group here: llama.cpp's collapsed-regex path maps every non-ASCII whitespace scalar to `\v`, so it
/// only ever matches `\s`.
struct ScalarClass: OptionSet, Sendable {
  let rawValue: UInt8
  init(rawValue: UInt8) { self.rawValue = rawValue }
  static let letter = ScalarClass(rawValue: 1 << 0)
  static let number = ScalarClass(rawValue: 1 << 1)
  static let punctuation = ScalarClass(rawValue: 1 << 2)
  static let symbol = ScalarClass(rawValue: 1 << 3)
  static let mark = ScalarClass(rawValue: 1 << 4)
  static let whitespace = ScalarClass(rawValue: 1 << 5)
  /// Set for every scalar inside the piece being scanned; a lookup past either end returns `[]`
  /// (llama.cpp's "flags of OUT_OF_RANGE are 0" convention).
  static let present = ScalarClass(rawValue: 1 << 7)

  static let letterNumberWhitespace: ScalarClass = [.letter, .number, .whitespace]

  /// Classifies one scalar value; values that are not scalars (surrogates, > 0x10FFFF) are treated
  /// as unassigned, like U+FFFD replacements.
  init(scalarValue value: UInt32) {
    if value < 0x80 {
      self = ScalarClass.asciiTable[Int(value)]
      return
    }
    guard let scalar = Unicode.Scalar(value) else {
      self = .present
      return
    }
    let properties = scalar.properties
    if properties.isWhitespace {
      self = [.present, .whitespace]
      return
    }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      self = [.present, .letter]
    case .decimalNumber, .letterNumber, .otherNumber:
      self = [.present, .number]
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      self = [.present, .punctuation]
    case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
      self = [.present, .symbol]
    case .nonspacingMark, .spacingMark, .enclosingMark:
      self = [.present, .mark]
    default:
      self = .present
    }
  }

  private static func classify(ascii value: UInt8) -> ScalarClass {
    guard let scalar = Unicode.Scalar(UInt32(value)) else { return .present }
    if scalar.properties.isWhitespace { return [.present, .whitespace] }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter: return [.present, .letter]
    case .decimalNumber: return [.present, .number]
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .otherPunctuation:
      return [.present, .punctuation]
    case .mathSymbol, .currencySymbol, .modifierSymbol: return [.present, .symbol]
    default: return .present
    }
  }

  private static let asciiTable: [ScalarClass] = (0..<128).map { classify(ascii: UInt8($0)) }
}
