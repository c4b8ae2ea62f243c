/// The word-splitting rules a byte-level BPE vocabulary applies before merging, as llama.cpp selects
/// them from GGUF `tokenizer.ggml.pre` (llama-vocab.cpp `llm_tokenizer_bpe`).
///
/// Each family is a list of regex passes in llama.cpp; every pass splits each piece left by the
/// previous pass into its matches and the text between them. The passes here are hand-written
/// scanners over Unicode scalars that reproduce those matches exactly (see ``PreTokenizerPass``).
public enum PreTokenizer: String, Sendable, CaseIterable {
  /// No `tokenizer.ggml.pre` or `"default"`: punctuation runs, GPT-2 words, digit runs, ASCII digit triples.
  case `default`
  /// GPT-2 (`gpt-2`, `mpt`, `olmo`, `jais`, `phi-2`, ...): `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
  case gpt2
  /// Llama 3 (`llama-bpe`, `llama3`, `dbrx`, `smaug-bpe`, `chatglm-bpe`, ...): case-insensitive contractions, `\p{N}{1,3}`.
  case llama3
  /// Qwen2 (`qwen2`, `stablelm2`, `deepseek-r1-qwen`, `megrez`, `hunyuan`): Llama 3 rules with single digits.
  case qwen2
  /// StarCoder family (`starcoder`, `smollm`, `refact`, `command-r`, `codeshell`, `exaone`, `minerva-7b`):
  /// every digit alone, then GPT-2 rules.
  case starcoder
  /// DeepSeek LLM (`deepseek-llm`).
  case deepseekLLM
  /// DeepSeek Coder (`deepseek-coder`).
  case deepseekCoder
  /// Falcon (`falcon`): punctuation runs, GPT-2 rules, ASCII digit triples.
  case falcon
  /// GPT-4o / Llama 4 (`gpt-4o`, `llama4`, `minimax-m2`): case-split letter runs with attached contractions.
  case gpt4o
  /// Mistral Tekken (`tekken`): GPT-4o rules without contractions, single digits.
  case tekken

  /// The regex passes of this family, in application order.
  var passes: [PreTokenizerPass] {
    switch self {
    case .default:
      [.run(.defaultPunctuation), .gpt2, .run(.number), .triple(.asciiDigit)]
    case .gpt2: [.gpt2]
    case .llama3: [.llama3(maxDigits: 3)]
    case .qwen2: [.llama3(maxDigits: 1)]
    case .starcoder: [.single(.number), .gpt2]
    case .deepseekLLM:
      [
        .single(.newline), .optionalSpaceRun(.deepseekLetter), .optionalSpaceRun(.deepseekPunctuation),
        .trailingWhitespace, .run(.deepseekCJK), .run(.number),
      ]
    case .deepseekCoder:
      [.single(.newline), .optionalSpaceRun(.letter), .optionalSpaceRun(.punctuation), .run(.deepseekCJK), .single(.number)]
    case .falcon: [.run(.falconPunctuation), .gpt2, .triple(.asciiDigit)]
    case .gpt4o: [.gpt4o(contractions: true, maxDigits: 3)]
    case .tekken: [.gpt4o(contractions: false, maxDigits: 1)]
    }
  }

  /// What llama.cpp's vocabulary loader derives from one `tokenizer.ggml.pre` value.
  struct Selection: Sendable {
    var family: PreTokenizer
    /// A whole pre-token that is itself a vocabulary entry is emitted without merging.
    var ignoreMerges = false
    /// The BOS default before `tokenizer.ggml.add_bos_token` overrides it.
    var addBOSDefault = false
    /// `clean_up_tokenization_spaces` for `detokenize`.
    var cleanSpaces = true
    /// The family has no BOS token (`chatglm-bpe`, `glm4`).
    var clearsBOS = false
  }

  /// Maps a GGUF `tokenizer.ggml.pre` value to its family and loader flags; `nil` when unsupported.
  /// - Parameter name: the value, or `nil`/empty when the key is absent (llama.cpp falls back to `default`).
  static func select(ggufName name: String?) -> Selection? {
    guard let name, !name.isEmpty else { return Selection(family: .default) }
    switch name {
    case "default": return Selection(family: .default)
    case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
      return Selection(family: .llama3, ignoreMerges: true, addBOSDefault: true)
    case "dbrx", "smaug-bpe": return Selection(family: .llama3)
    case "chatglm-bpe": return Selection(family: .llama3, clearsBOS: true)
    case "glm4", "glm5": return Selection(family: .llama3, ignoreMerges: true, clearsBOS: true)
    case "deepseek-llm": return Selection(family: .deepseekLLM, cleanSpaces: false)
    case "deepseek-coder": return Selection(family: .deepseekCoder, cleanSpaces: false)
    case "falcon": return Selection(family: .falcon)
    case "mpt", "olmo", "jais", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
      "a.x-4.0", "mellum", "modern-bert", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe":
      return Selection(family: .gpt2)
    case "trillion", "granite-docling": return Selection(family: .gpt2, cleanSpaces: false)
    case "starcoder", "refact", "codeshell", "exaone", "minerva-7b": return Selection(family: .starcoder)
    case "command-r", "smollm": return Selection(family: .starcoder, cleanSpaces: false)
    case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open":
      return Selection(family: .qwen2, cleanSpaces: false)
    case "stablelm2", "megrez": return Selection(family: .qwen2)
    case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2": return Selection(family: .gpt4o, cleanSpaces: false)
    case "tekken": return Selection(family: .tekken, ignoreMerges: true, addBOSDefault: true, cleanSpaces: false)
    default: return nil
    }
  }

  /// Every `tokenizer.ggml.pre` value ``select(ggufName:)`` accepts, for error messages.
  static let supportedGGUFNames: [String] = [
    "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
    "jina-v5-nano", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "glm5", "deepseek-llm", "deepseek-coder", "falcon",
    "mpt", "olmo", "jais", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
    "mellum", "modern-bert", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe", "trillion", "granite-docling",
    "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "command-r", "smollm", "qwen2", "deepseek-r1-qwen",
    "kormo", "f2llmv2", "hunyuan", "solar-open", "stablelm2", "megrez", "gpt-4o", "llama4", "kanana2", "talkie",
    "minimax-m2", "tekken",
  ]
}

/// One llama.cpp pre-tokenizer regex, as a scanner.
///
/// The first three reproduce llama.cpp's hand-written splitters in unicode.cpp (`gpt2`, `llama3`, `qwen2`);
/// the others reproduce what `std::regex` (ECMAScript, leftmost match, ordered alternation, greedy with
/// backtracking) finds on llama.cpp's "collapsed" text, where a non-ASCII scalar is reduced to its
/// category and non-ASCII whitespace to `\v`.
enum PreTokenizerPass: Sendable {
  /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (plus llama.cpp's `\s+` fallback).
  case gpt2
  /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
  case llama3(maxDigits: Int)
  /// `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+C?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*C?|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
  /// where `C` is the contraction group when `contractions` is true.
  case gpt4o(contractions: Bool, maxDigits: Int)
  /// `[class]+`
  case run(PreTokenizerCharacterClass)
  /// `[class]`
  case single(PreTokenizerCharacterClass)
  /// `[class][class][class]`
  case triple(PreTokenizerCharacterClass)
  /// `\s?[class]+`
  case optionalSpaceRun(PreTokenizerCharacterClass)
  /// `\s+$`
  case trailingWhitespace
}

/// The bracket expressions the passes use.
enum PreTokenizerCharacterClass: Sendable {
  case letter, number, punctuation
  /// `[\p{P}\$\+<=>\^~\|]` (llama.cpp default pre-tokenizer)
  case defaultPunctuation
  /// `[\p{P}\$\+<=>\^~\|`]` (Falcon)
  case falconPunctuation
  /// `[0-9]`
  case asciiDigit
  /// `[\r\n]`
  case newline
  /// `[一-龥ࠀ-一가-퟿]` (DeepSeek)
  case deepseekCJK
  /// DeepSeek LLM's explicit cased-letter ranges.
  case deepseekLetter
  /// `[!-/:-~！-／：-～‘-‟　-。]` (DeepSeek LLM)
  case deepseekPunctuation

  /// Whether the scalar (with its class) belongs to the bracket expression.
  ///
  /// Classes written with `\p{...}` see llama.cpp's collapsed text; classes written as literal ranges
  /// run through `std::wregex` on text where every non-ASCII whitespace scalar became U+000B, so such
  /// a scalar never matches a range (U+3000 in `　-。` included).
  func contains(_ value: UInt32, _ cls: ScalarClass) -> Bool {
    switch self {
    case .letter: return cls.contains(.letter)
    case .number: return cls.contains(.number)
    case .punctuation: return cls.contains(.punctuation)
    case .defaultPunctuation:
      return cls.contains(.punctuation) || value == 0x24 || value == 0x2B || (0x3C...0x3E).contains(value)
        || value == 0x5E || value == 0x7E || value == 0x7C
    case .falconPunctuation:
      return cls.contains(.punctuation) || value == 0x24 || value == 0x2B || (0x3C...0x3E).contains(value)
        || value == 0x5E || value == 0x7E || value == 0x7C || value == 0x60
    case .asciiDigit: return (0x30...0x39).contains(value)
    case .newline: return value == 0x0A || value == 0x0D
    case .deepseekCJK:
      if value >= 0x80 && cls.contains(.whitespace) { return false }
      return (0x800...0x9FA5).contains(value) || (0xAC00...0xD7FF).contains(value)
    case .deepseekPunctuation:
      if value >= 0x80 && cls.contains(.whitespace) { return false }
      return (0x21...0x2F).contains(value) || (0x3A...0x7E).contains(value) || (0xFF01...0xFF0F).contains(value)
        || (0xFF1A...0xFF5E).contains(value) || (0x2018...0x201F).contains(value) || (0x3000...0x3002).contains(value)
    case .deepseekLetter:
      if value >= 0x80 && cls.contains(.whitespace) { return false }
      return Self.rangesContain(Self.deepseekLetterRanges, value)
    }
  }

  private static func rangesContain(_ ranges: [(UInt32, UInt32)], _ value: UInt32) -> Bool {
    var low = 0
    var high = ranges.count
    while low < high {
      let mid = (low + high) / 2
      if ranges[mid].1 < value { low = mid + 1 } else { high = mid }
    }
    return low < ranges.count && ranges[low].0 <= value
  }

  /// The letter class of DeepSeek LLM's second regex (llama-vocab.cpp), as sorted inclusive ranges.
  private static let deepseekLetterRanges: [(UInt32, UInt32)] = [
    (0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA), (0x1BC, 0x1BF),
    (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377), (0x37B, 0x37D), (0x37F, 0x37F),
    (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481),
    (0x48A, 0x52F), (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA),
    (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D),
    (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D),
    (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC),
    (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102),
    (0x2107, 0x2107), (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126),
    (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
    (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3),
    (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF),
    (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3),
    (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
  ]
}

// MARK: - Splitting

/// Splits a scalar sequence into pre-tokens by running passes in order.
///
/// Pieces are kept as a list of end indices (each piece runs from the previous end), like llama.cpp's
/// `bpe_offsets`, so a pass allocates one array and never copies text.
struct PreTokenizerSplitter {
  let scalars: [UInt32]
  let classes: [ScalarClass]

  /// Returns the end index (exclusive, in scalars) of every piece, in order.
  /// - Complexity: O(n) per pass for all passes except `gpt4o`, which is O(n·k) for letter runs of length k
  ///   in the worst case of its backtracking (as the regex it mirrors).
  func split(_ passes: [PreTokenizerPass]) -> [Int] {
    guard !scalars.isEmpty else { return [] }
    var ends = [scalars.count]
    for pass in passes {
      var scanner = PieceScanner(scalars: scalars, classes: classes)
      scanner.ends.reserveCapacity(ends.count * 2)
      var start = 0
      for end in ends {
        scanner.scan(pass, start: start, end: end)
        start = end
      }
      ends = scanner.ends
    }
    return ends
  }
}

private struct PieceScanner {
  let scalars: [UInt32]
  let classes: [ScalarClass]
  var ends: [Int] = []
  private var start = 0
  private var end = 0
  private var previousEnd = 0

  init(scalars: [UInt32], classes: [ScalarClass]) {
    self.scalars = scalars
    self.classes = classes
  }

  private static let outOfRange = UInt32.max

  @inline(__always) private func cls(_ i: Int) -> ScalarClass { i >= start && i < end ? classes[i] : [] }
  @inline(__always) private func cp(_ i: Int) -> UInt32 { i >= start && i < end ? scalars[i] : Self.outOfRange }

  /// Closes the piece that ends at `e` (llama.cpp `_add_token`); empty pieces are dropped.
  @inline(__always) private mutating func emit(_ e: Int) {
    if e > previousEnd { ends.append(e) }
    previousEnd = e
  }

  /// Emits the unmatched gap before `s`, then the match `[s, e)`.
  @inline(__always) private mutating func emitMatch(_ s: Int, _ e: Int) {
    emit(s)
    emit(e)
  }

  mutating func scan(_ pass: PreTokenizerPass, start: Int, end: Int) {
    self.start = start
    self.end = end
    previousEnd = start
    switch pass {
    case .gpt2: scanGPT2()
    case .llama3(let maxDigits): scanLlama3(maxDigits: maxDigits)
    case .gpt4o(let contractions, let maxDigits): scanGPT4o(contractions: contractions, maxDigits: maxDigits)
    case .run(let c): scanRun(c)
    case .single(let c): scanSingle(c)
    case .triple(let c): scanTriple(c)
    case .optionalSpaceRun(let c): scanOptionalSpaceRun(c)
    case .trailingWhitespace: scanTrailingWhitespace()
    }
    emit(end)
  }

  /// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `pos` (0 if none); ASCII case folded when `foldCase`.
  @inline(__always) private func contractionLength(at pos: Int, foldCase: Bool) -> Int {
    guard cp(pos) == 0x27 else { return 0 }
    var next = cp(pos + 1)
    if next == Self.outOfRange { return 0 }
    if foldCase, (0x41...0x5A).contains(next) { next += 0x20 }
    if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
    var after = cp(pos + 2)
    if after == Self.outOfRange { return 0 }
    if foldCase, (0x41...0x5A).contains(after) { after += 0x20 }
    if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
      return 3  // re ve ll
    }
    return 0
  }

  /// Consumes `\s*[\r\n]+|\s+(?!\S)|\s+` at `pos` (the tail shared by the Llama 3 / Qwen2 / GPT-4o rules);
  /// returns the match end, or `nil` when `pos` is not whitespace.
  @inline(__always) private func whitespaceTail(at pos: Int) -> Int? {
    var count = 0
    var lastNewlineEnd = -1
    while cls(pos + count).contains(.whitespace) {
      let c = cp(pos + count)
      if c == 0x0D || c == 0x0A { lastNewlineEnd = pos + count + 1 }
      count += 1
    }
    if lastNewlineEnd >= 0 { return lastNewlineEnd }
    if count > 1 && cp(pos + count) != Self.outOfRange { return pos + count - 1 }
    if count > 0 { return pos + count }
    return nil
  }

  // port of llama.cpp unicode_regex_split_custom_gpt2
  private mutating func scanGPT2() {
    var pos = start
    while pos < end {
      let c = cp(pos)
      let contraction = contractionLength(at: pos, foldCase: false)
      if contraction > 0 {
        pos += contraction
        emit(pos)
        continue
      }
      let isSpace = c == 0x20
      var f2 = isSpace ? cls(pos + 1) : cls(pos)
      if f2.contains(.letter) {
        if isSpace { pos += 1 }
        while f2.contains(.letter) {
          pos += 1
          f2 = cls(pos)
        }
        emit(pos)
        continue
      }
      if f2.contains(.number) {
        if isSpace { pos += 1 }
        while f2.contains(.number) {
          pos += 1
          f2 = cls(pos)
        }
        emit(pos)
        continue
      }
      if f2.isDisjoint(with: .letterNumberWhitespace) && f2.contains(.present) {
        if isSpace { pos += 1 }
        while f2.isDisjoint(with: .letterNumberWhitespace) && f2.contains(.present) {
          pos += 1
          f2 = cls(pos)
        }
        emit(pos)
        continue
      }
      var count = 0
      while cls(pos + count).contains(.whitespace) { count += 1 }
      if count > 1 && cp(pos + count) != Self.outOfRange {
        pos += count - 1
        emit(pos)
        continue
      }
      if count > 0 {
        pos += count
        emit(pos)
        continue
      }
      pos += 1
      emit(pos)
    }
  }

  // port of llama.cpp unicode_regex_split_custom_llama3 (maxDigits 3) and _qwen2 (maxDigits 1)
  private mutating func scanLlama3(maxDigits: Int) {
    var pos = start
    while pos < end {
      let c = cp(pos)
      let f = cls(pos)
      let contraction = contractionLength(at: pos, foldCase: true)
      if contraction > 0 {
        pos += contraction
        emit(pos)
        continue
      }
      // [^\r\n\p{L}\p{N}]?\p{L}+
      if !(c == 0x0D || c == 0x0A || f.contains(.number)) {
        if f.contains(.letter) || cls(pos + 1).contains(.letter) {
          pos += 1
          while cls(pos).contains(.letter) { pos += 1 }
          emit(pos)
          continue
        }
      }
      // \p{N}{1,maxDigits}: a run is cut into groups of maxDigits from the left
      if f.contains(.number) {
        var groupStart = pos
        while cls(pos).contains(.number) {
          pos += 1
          if pos - groupStart >= maxDigits {
            emit(pos)
            groupStart = pos
          }
        }
        emit(pos)
        continue
      }
      // <space>?[^\s\p{L}\p{N}]+[\r\n]*
      let isSpace = c == 0x20
      var f2 = isSpace ? cls(pos + 1) : f
      if f2.isDisjoint(with: .letterNumberWhitespace) && f.contains(.present) {
        if isSpace { pos += 1 }
        while f2.isDisjoint(with: .letterNumberWhitespace) && f2.contains(.present) {
          pos += 1
          f2 = cls(pos)
        }
        while cp(pos) == 0x0D || cp(pos) == 0x0A { pos += 1 }
        emit(pos)
        continue
      }
      if let tail = whitespaceTail(at: pos) {
        pos = tail
        emit(pos)
        continue
      }
      pos += 1
      emit(pos)
    }
  }

  /// `(?=[\p{L}])([^a-z])`: a letter that is not ASCII lowercase (non-ASCII letters count, as in the collapsed text).
  @inline(__always) private func isUpperish(_ i: Int) -> Bool {
    cls(i).contains(.letter) && !(0x61...0x7A).contains(cp(i))
  }

  /// `(?=[\p{L}])([^A-Z])`: a letter that is not ASCII uppercase.
  @inline(__always) private func isLowerish(_ i: Int) -> Bool {
    cls(i).contains(.letter) && !(0x41...0x5A).contains(cp(i))
  }

  // std::regex semantics of llama.cpp's adapted GPT-4o / Tekken regex on collapsed text
  private mutating func scanGPT4o(contractions: Bool, maxDigits: Int) {
    var pos = start
    while pos < end {
      let c = cp(pos)
      let f = cls(pos)
      // [^\r\n\p{L}\p{N}]? : any present scalar except CR, LF, letters, numbers (whitespace included)
      let prefix = c != 0x0D && c != 0x0A && f.isDisjoint(with: [.letter, .number]) && f.contains(.present)
      let s = prefix ? pos + 1 : pos
      // alternative 1: U* L+ (greedy U*, backtracked until L+ can start); without the prefix it cannot
      // match either, because the prefix scalar is not a letter.
      var upperRun = 0
      while isUpperish(s + upperRun) { upperRun += 1 }
      var matchEnd = -1
      var k = upperRun
      while k >= 0 {
        if isLowerish(s + k) {
          var e = s + k + 1
          while isLowerish(e) { e += 1 }
          matchEnd = e
          break
        }
        k -= 1
      }
      // alternative 2: U+ L*
      if matchEnd < 0 && upperRun > 0 {
        var e = s + upperRun
        while isLowerish(e) { e += 1 }
        matchEnd = e
      }
      if matchEnd >= 0 {
        if contractions { matchEnd += contractionLength(at: matchEnd, foldCase: true) }
        emitMatch(pos, matchEnd)
        pos = matchEnd
        continue
      }
      // \p{N}{1,maxDigits}
      if f.contains(.number) {
        var e = pos + 1
        while e - pos < maxDigits && cls(e).contains(.number) { e += 1 }
        emitMatch(pos, e)
        pos = e
        continue
      }
      // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
      let s2 = c == 0x20 ? pos + 1 : pos
      if cls(s2).isDisjoint(with: .letterNumberWhitespace) && cls(s2).contains(.present) {
        var e = s2 + 1
        while cls(e).isDisjoint(with: .letterNumberWhitespace) && cls(e).contains(.present) { e += 1 }
        while cp(e) == 0x0D || cp(e) == 0x0A || cp(e) == 0x2F { e += 1 }
        emitMatch(pos, e)
        pos = e
        continue
      }
      if let tail = whitespaceTail(at: pos) {
        emitMatch(pos, tail)
        pos = tail
        continue
      }
      pos += 1  // unmatched: stays in the gap before the next match
    }
  }

  @inline(__always) private func matches(_ c: PreTokenizerCharacterClass, _ i: Int) -> Bool {
    i >= start && i < end && c.contains(scalars[i], classes[i])
  }

  private mutating func scanRun(_ c: PreTokenizerCharacterClass) {
    var pos = start
    while pos < end {
      if matches(c, pos) {
        var e = pos + 1
        while matches(c, e) { e += 1 }
        emitMatch(pos, e)
        pos = e
      } else {
        pos += 1
      }
    }
  }

  private mutating func scanSingle(_ c: PreTokenizerCharacterClass) {
    for pos in start..<end where matches(c, pos) {
      emitMatch(pos, pos + 1)
    }
  }

  private mutating func scanTriple(_ c: PreTokenizerCharacterClass) {
    var pos = start
    while pos < end {
      if matches(c, pos) && matches(c, pos + 1) && matches(c, pos + 2) {
        emitMatch(pos, pos + 3)
        pos += 3
      } else {
        pos += 1
      }
    }
  }

  private mutating func scanOptionalSpaceRun(_ c: PreTokenizerCharacterClass) {
    var pos = start
    while pos < end {
      var s = -1
      if cls(pos).contains(.whitespace) && matches(c, pos + 1) {
        s = pos + 1
      } else if matches(c, pos) {
        s = pos
      }
      if s >= 0 {
        var e = s + 1
        while matches(c, e) { e += 1 }
        emitMatch(pos, e)
        pos = e
      } else {
        pos += 1
      }
    }
  }

  private mutating func scanTrailingWhitespace() {
    var t = end
    while t > start && cls(t - 1).contains(.whitespace) { t -= 1 }
    if t < end { emitMatch(t, end) }
  }
}
