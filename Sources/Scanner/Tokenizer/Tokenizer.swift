/// A text tokenizer that encodes and decodes exactly as llama.cpp does (llama-vocab.cpp) for
/// SentencePiece-style (`tokenizer.ggml.model = "llama"`: Llama 2, Gemma, Mistral v1, Phi-3) and
/// byte-level BPE (`"gpt2"`: GPT-2, Llama 3, Qwen2, SmolLM, StarCoder, DeepSeek, Falcon, GPT-4o) vocabularies.
///
/// The core takes plain values (``Vocabulary``) so it is independent of file formats; adapters build
/// it from GGUF metadata and Hugging Face `tokenizer.json`.
///
/// Raw-prompt behaviour follows `llama_tokenize(..., add_special, parse_special)`: special, control
/// and user-defined token texts written in the text become those tokens (longest text first), then
/// each remaining text fragment is pre-tokenized and merged; BOS/EOS are added as the vocabulary asks.
public struct Tokenizer: Sendable {
  /// The merge algorithm.
  public enum Kind: String, Sendable {
    /// Score-ordered merging of UTF-8 characters with `<0xHH>` byte fallback (`tokenizer.ggml.model = "llama"`).
    case sentencePiece
    /// Rank-ordered merging over GPT-2 byte-to-unicode characters (`tokenizer.ggml.model = "gpt2"`).
    case bytePairEncoding
  }

  /// Per-token attributes, bit-compatible with llama.cpp's `llama_token_attr`.
  public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    public static let control = TokenAttributes(rawValue: 1 << 3)
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)
    /// Whitespace before this special token is dropped when it is matched in raw text.
    public static let leftStrip = TokenAttributes(rawValue: 1 << 7)
    /// Whitespace after this special token is dropped when it is matched in raw text.
    public static let rightStrip = TokenAttributes(rawValue: 1 << 8)

    /// Maps a GGUF `tokenizer.ggml.token_type` code (`LLAMA_TOKEN_TYPE_*`, 0...6) to attributes;
    /// `nil` for any other code.
    public init?(ggufTokenType code: Int32) {
      switch code {
      case 0: self = []  // UNDEFINED
      case 1: self = .normal
      case 2: self = .unknown
      case 3: self = .control
      case 4: self = .userDefined
      case 5: self = .unused
      case 6: self = .byte
      default: return nil
      }
    }
  }

  /// Token ids with a special role. `Int` so that out-of-range values read from a file can be
  /// represented and rejected with their key.
  public struct SpecialTokenIDs: Sendable, Equatable {
    public var bos: Int?
    public var eos: Int?
    public var endOfTurn: Int?
    public var endOfMessage: Int?
    public var unknown: Int?
    public var separator: Int?
    public var padding: Int?
    public var mask: Int?
    public var fimPrefix: Int?
    public var fimSuffix: Int?
    public var fimMiddle: Int?
    public var fimPad: Int?
    public var fimRepo: Int?
    public var fimSeparator: Int?
    public init(
      bos: Int? = nil, eos: Int? = nil, endOfTurn: Int? = nil, endOfMessage: Int? = nil, unknown: Int? = nil,
      separator: Int? = nil, padding: Int? = nil, mask: Int? = nil, fimPrefix: Int? = nil, fimSuffix: Int? = nil,
      fimMiddle: Int? = nil, fimPad: Int? = nil, fimRepo: Int? = nil, fimSeparator: Int? = nil
    ) {
      self.bos = bos
      self.eos = eos
      self.endOfTurn = endOfTurn
      self.endOfMessage = endOfMessage
      self.unknown = unknown
      self.separator = separator
      self.padding = padding
      self.mask = mask
      self.fimPrefix = fimPrefix
      self.fimSuffix = fimSuffix
      self.fimMiddle = fimMiddle
      self.fimPad = fimPad
      self.fimRepo = fimRepo
      self.fimSeparator = fimSeparator
    }
  }

  /// Everything a tokenizer is built from, as plain values named after the GGUF keys.
  public struct Vocabulary: Sendable {
    /// `tokenizer.ggml.model`: `"llama"` (SentencePiece) or `"gpt2"` (byte-level BPE).
    public var model: String
    /// `tokenizer.ggml.pre` (BPE only); `nil` or empty selects llama.cpp's `default` splitter.
    public var pre: String?
    /// `tokenizer.ggml.tokens`, indexed by id.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type` (GGUF `LLAMA_TOKEN_TYPE_*` codes); `nil` = all NORMAL.
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.scores` (SentencePiece merge priorities); `nil` = all 0.
    public var scores: [Float]?
    /// `tokenizer.ggml.merges` (BPE, `"left right"`, highest priority first).
    public var merges: [String]?
    /// `tokenizer.ggml.*_token_id`; absent ids take llama.cpp's defaults for the model.
    public var specialIDs: SpecialTokenIDs
    /// `tokenizer.ggml.add_bos_token`, `add_eos_token`, `add_space_prefix`; `nil` = llama.cpp default.
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?
    /// When the space prefix follows `tokenizers`' `Metaspace` rule instead of llama.cpp's (tokenizer.json files
    /// with a Metaspace pre-tokenizer); `nil` = llama.cpp's rule.
    public var metaspacePrefix: MetaspacePrefix?
    /// `general.name` (llama.cpp keys a Phi-3 whitespace quirk on it).
    public var modelName: String?
    /// Names used in errors for the arrays (GGUF key names by default).
    public var keyPrefix: String

    public init(
      model: String, pre: String? = nil, tokens: [String], tokenTypes: [Int32]? = nil, scores: [Float]? = nil,
      merges: [String]? = nil, specialIDs: SpecialTokenIDs = SpecialTokenIDs(), addBOS: Bool? = nil,
      addEOS: Bool? = nil, addSpacePrefix: Bool? = nil, modelName: String? = nil,
      keyPrefix: String = "tokenizer.ggml."
    ) {
      self.model = model
      self.pre = pre
      self.tokens = tokens
      self.tokenTypes = tokenTypes
      self.scores = scores
      self.merges = merges
      self.specialIDs = specialIDs
      self.addBOS = addBOS
      self.addEOS = addEOS
      self.addSpacePrefix = addSpacePrefix
      self.metaspacePrefix = nil
      self.modelName = modelName
      self.keyPrefix = keyPrefix
    }
  }

  /// `tokenizers`' Metaspace prepend schemes: "▁" is prepended to a text section that does not already start with a
  /// space, either only to the section at the start of the input (`first`) or to every section between special
  /// tokens (`always`). llama.cpp prepends at the start and after every special token, space or not.
  public enum MetaspacePrefix: Sendable, Equatable {
    case first
    case always
  }

  // MARK: - Public state

  /// The merge algorithm.
  public let kind: Kind
  /// The BPE pre-tokenizer family (`nil` for SentencePiece).
  public let preTokenizer: PreTokenizer?
  /// Number of tokens; valid ids are `0..<vocabularySize`.
  public let vocabularySize: Int
  /// Resolved special ids (`nil` = none).
  public let bos: Int32?
  public let eos: Int32?
  public let endOfTurn: Int32?
  public let endOfMessage: Int32?
  public let unknown: Int32?
  public let padding: Int32?
  /// Tokens that end generation (llama.cpp `special_eog_ids`).
  public let endOfGeneration: Set<Int32>
  /// Whether `encode(addSpecial: true)` prepends BOS / appends EOS.
  public let addBOS: Bool
  public let addEOS: Bool
  /// SentencePiece: a space is prepended to the text at the start and after each special token.
  public let addSpacePrefix: Bool
  /// `tokenizers`' rule for that prefix when the vocabulary came from a Metaspace tokenizer.json (`nil`: llama.cpp's).
  public let metaspacePrefix: MetaspacePrefix?
  /// `clean_up_tokenization_spaces` used by ``detokenize(_:removeSpecial:unparseSpecial:)``.
  public let cleanSpaces: Bool
  /// Per-token attributes after llama.cpp's load-time adjustments.
  public let attributes: [TokenAttributes]

  // MARK: - Internal state

  /// Token texts by id, back to back (`table.string(of:)`), and the text-to-id map. No `[String]` of the texts is
  /// kept beside it: 49,152 strings are ~0.8 MB more resident for a whole `scan generate` (issue 4's peak memory).
  let table: TokenTable
  let scores: [Float]
  /// Special token ids in matching order (longest text first, then lowest id).
  let specialMatcher: SpecialTokenMatcher
  /// SentencePiece byte fallback: token for each byte (`<0xHH>`, else the 1-byte text), or -1.
  let byteFallback: [Int32]
  /// Byte value of each BYTE-typed token, or -1.
  let byteValue: [Int16]
  /// BPE: rank and result id for a pair of token ids (`left << 32 | right`).
  let merges: [UInt64: MergeRule]
  /// BPE: the token of each byte's GPT-2 character, or -1.
  let byteSymbol: [Int32]
  let ignoreMerges: Bool

  struct MergeRule: Sendable {
    var rank: Int32
    var result: Int32
  }

  // MARK: - Construction

  /// Builds a tokenizer from plain vocabulary values, validating every entry.
  ///
  /// - Parameter vocabulary: the token list and settings.
  /// - Throws: ``TokenizerError`` naming the key and index of the first bad entry: unsupported
  ///   model/pre-tokenizer, array length mismatches, unknown token type codes, malformed byte tokens,
  ///   malformed merges or merges naming absent tokens, special ids out of range.
  /// - Complexity: O(total token bytes + merges).
  public init(_ vocabulary: Vocabulary) throws(TokenizerError) {
    let key = vocabulary.keyPrefix
    let kind: Kind
    switch vocabulary.model {
    case "llama": kind = .sentencePiece
    case "gpt2": kind = .bytePairEncoding
    default: throw .unsupportedModel(vocabulary.model, supported: ["llama", "gpt2"])
    }
    var selection: PreTokenizer.Selection?
    if kind == .bytePairEncoding {
      guard let s = PreTokenizer.select(ggufName: vocabulary.pre) else {
        throw .unsupportedPreTokenizer(vocabulary.pre ?? "", supported: PreTokenizer.supportedGGUFNames)
      }
      selection = s
    }

    let count = vocabulary.tokens.count
    guard count > 0 else { throw .emptyVocabulary(key: key + "tokens") }
    guard count <= Int(Int32.max) else {
      throw .vocabularyTooLarge(key: key + "tokens", count: count, limit: Int(Int32.max))
    }
    if let scores = vocabulary.scores, scores.count != count {
      throw .lengthMismatch(key: key + "scores", count: scores.count, expected: count)
    }
    if let types = vocabulary.tokenTypes, types.count != count {
      throw .lengthMismatch(key: key + "token_type", count: types.count, expected: count)
    }

    // Token texts ("[EMPTY_i]" for empty ones, as llama.cpp) and attributes.
    var texts = vocabulary.tokens
    var attributes = [TokenAttributes](repeating: .normal, count: count)
    var byteValue = [Int16](repeating: -1, count: count)
    for i in 0..<count {
      if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
      if let types = vocabulary.tokenTypes {
        guard let a = TokenAttributes(ggufTokenType: types[i]) else {
          throw .invalidTokenType(key: key + "token_type", index: i, value: types[i])
        }
        attributes[i] = a
        if a.contains(.byte) {
          guard let value = Self.parseByteToken(texts[i]) else {
            throw .malformedByteToken(key: key + "tokens", index: i, text: texts[i])
          }
          byteValue[i] = Int16(value)
        }
      }
    }
    let textBytes = texts.map { Array($0.utf8) }
    let total = textBytes.reduce(0) { $0 &+ $1.count }  // can't overflow: bytes already in memory
    guard total < Int(Int32.max) else { throw .vocabularyTextTooLarge(key: key + "tokens", byteCount: total) }
    let table = TokenTable(texts: textBytes)

    // Special ids: llama.cpp defaults (dropped when out of range), then metadata (must be in range).
    func resolve(_ value: Int?, _ name: String, default fallback: Int?) throws(TokenizerError) -> Int32? {
      if let value {
        guard value >= 0, value < count else {
          throw .tokenIDOutOfRange(key: key + name, id: value, vocabularySize: count)
        }
        return Int32(value)
      }
      guard let fallback, fallback >= 0, fallback < count else { return nil }
      return Int32(fallback)
    }
    let ids = vocabulary.specialIDs
    let isSPM = kind == .sentencePiece
    var bos = try resolve(ids.bos, "bos_token_id", default: isSPM ? 1 : 11)
    let eos = try resolve(ids.eos, "eos_token_id", default: isSPM ? 2 : 11)
    let unknown = try resolve(ids.unknown, "unknown_token_id", default: isSPM ? 0 : nil)
    _ = try resolve(ids.separator, "seperator_token_id", default: nil)
    let padding = try resolve(ids.padding, "padding_token_id", default: nil)
    _ = try resolve(ids.mask, "mask_token_id", default: nil)
    var endOfTurn = try resolve(ids.endOfTurn, "eot_token_id", default: nil)
    var endOfMessage = try resolve(ids.endOfMessage, "eom_token_id", default: nil)
    var fim: [Int32?] = [
      try resolve(ids.fimPrefix, "fim_pre_token_id", default: nil),
      try resolve(ids.fimSuffix, "fim_suf_token_id", default: nil),
      try resolve(ids.fimMiddle, "fim_mid_token_id", default: nil),
      try resolve(ids.fimPad, "fim_pad_token_id", default: nil),
      try resolve(ids.fimRepo, "fim_rep_token_id", default: nil),
      try resolve(ids.fimSeparator, "fim_sep_token_id", default: nil),
    ]
    if selection?.clearsBOS == true { bos = nil }

    // Load-time attribute fix-ups by token text (llama_vocab::impl::load).
    func id(_ text: String) -> Int32? { table.lookup(text) }
    func markControl(_ t: Int32) { attributes[Int(t)].insert(.control) }
    if endOfTurn == nil, let t = Self.endOfTurnTexts.lazy.compactMap(id).first {
      endOfTurn = t
      markControl(t)
    }
    if endOfMessage == nil, let t = id("<|eom_id|>") {
      endOfMessage = t
      markControl(t)
    }
    for (slot, candidates) in Self.fimTexts.enumerated() where fim[slot] == nil {
      if let t = candidates.lazy.compactMap(id).first {
        fim[slot] = t
        markControl(t)
      }
    }
    var endOfGeneration = Set<Int32>()
    for slot in 3...5 { if let t = fim[slot] { endOfGeneration.insert(t) } }  // FIM pad, repo, sep
    for text in Self.endOfGenerationTexts {
      if let t = id(text) {
        endOfGeneration.insert(t)
        markControl(t)
      }
    }
    for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
      if let t = id(text) { attributes[Int(t)] = .userDefined }
    }
    for t in [eos, endOfTurn, endOfMessage] { if let t { endOfGeneration.insert(t) } }
    if let end = id("<|end|>"), endOfGeneration.contains(end) {
      let has = { (text: String) in id(text).map { endOfGeneration.contains($0) } ?? false }
      if (has("<|return|>") && (has("<|call|>") || has("<|calls|>")))
        || ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>"))
      {
        endOfGeneration.remove(end)
        attributes[Int(end)] = .userDefined
      }
    }
    if let s = id("</s>"), endOfGeneration.contains(s) {
      let marker = ["<|tool_response>", "<|plamo:eos|>"].contains { id($0).map(endOfGeneration.contains) ?? false }
      if marker {
        endOfGeneration.remove(s)
        attributes[Int(s)] = .normal
      }
    }

    // Special-token matching order: control, user-defined and unknown tokens, longest text first.
    var special: [Int32] = []
    for i in 0..<count where !attributes[i].isDisjoint(with: [.control, .userDefined, .unknown]) {
      special.append(Int32(i))
    }
    special.sort { a, b in
      let la = textBytes[Int(a)].count
      let lb = textBytes[Int(b)].count
      return la != lb ? la > lb : a < b
    }
    // Per-model strip flags, set after the cache like llama.cpp.
    let lowerName = (vocabulary.modelName ?? "").lowercased()
    let pre = vocabulary.pre ?? ""
    if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { pre.contains($0) }), let m = id("<mask>") {
      attributes[Int(m)].insert(.leftStrip)
    } else if lowerName.contains("phi-3") || lowerName.contains("phi3") {
      for t in special { attributes[Int(t)].insert(.rightStrip) }
      if let t = id("</s>") { attributes[Int(t)].insert(.rightStrip) }
      for text in ["<unk>", "<s>", "<|endoftext|>"] {
        if let t = id(text) { attributes[Int(t)].remove(.rightStrip) }
      }
    }

    // Byte fallback (SentencePiece): "<0xHH>" (uppercase hex, as llama.cpp formats it), else the byte itself.
    var byteFallback = [Int32](repeating: -1, count: 256)
    let hex = Array("0123456789ABCDEF".utf8)
    for b in 0..<256 {
      let spelled: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]
      if let t = table.lookup(spelled) {
        byteFallback[b] = t
      } else if let t = table.lookup([UInt8(b)]) {
        byteFallback[b] = t
      }
    }

    // BPE merges and the byte-level alphabet.
    var mergeTable: [UInt64: MergeRule] = [:]
    var byteSymbol = [Int32](repeating: -1, count: 256)
    if kind == .bytePairEncoding {
      guard let merges = vocabulary.merges else { throw .missingKey(key + "merges") }
      guard merges.count <= Int(Int32.max) else {
        throw .vocabularyTooLarge(key: key + "merges", count: merges.count, limit: Int(Int32.max))
      }
      mergeTable.reserveCapacity(merges.count)
      for (rank, merge) in merges.enumerated() {
        let bytes = Array(merge.utf8)
        // llama.cpp: word.find(' ', 1)
        guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20), space + 1 < bytes.count else {
          throw .malformedMerge(key: key + "merges", index: rank, text: merge)
        }
        let left = Array(bytes[..<space])
        let right = Array(bytes[(space + 1)...])
        guard let l = table.lookup(left) else {
          throw .mergeNamesMissingToken(key: key + "merges", index: rank, token: String(decoding: left, as: UTF8.self))
        }
        guard let r = table.lookup(right) else {
          throw .mergeNamesMissingToken(key: key + "merges", index: rank, token: String(decoding: right, as: UTF8.self))
        }
        guard let result = table.lookup(left + right) else {
          throw .mergeNamesMissingToken(
            key: key + "merges", index: rank, token: String(decoding: left + right, as: UTF8.self))
        }
        let pair = UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
        if mergeTable[pair] == nil {  // first rank wins (std::map::emplace)
          mergeTable[pair] = MergeRule(rank: Int32(rank), result: result)
        }
      }
      for b in 0..<256 {
        if let t = table.lookup(ByteLevel.encoded[b]) { byteSymbol[b] = t }
      }
    }

    self.kind = kind
    self.preTokenizer = selection?.family
    self.vocabularySize = count
    self.bos = bos
    self.eos = eos
    self.endOfTurn = endOfTurn
    self.endOfMessage = endOfMessage
    self.unknown = unknown
    self.padding = padding
    self.endOfGeneration = endOfGeneration
    self.addBOS = vocabulary.addBOS ?? (isSPM ? true : selection?.addBOSDefault ?? false)
    self.addEOS = vocabulary.addEOS ?? false
    self.addSpacePrefix = vocabulary.addSpacePrefix ?? isSPM
    self.metaspacePrefix = vocabulary.metaspacePrefix
    self.cleanSpaces = isSPM ? false : selection?.cleanSpaces ?? true
    self.attributes = attributes
    self.table = table
    self.scores = vocabulary.scores ?? [Float](repeating: 0, count: count)
    self.specialMatcher = SpecialTokenMatcher(order: special, texts: textBytes)
    self.byteFallback = byteFallback
    self.byteValue = byteValue
    self.merges = mergeTable
    self.byteSymbol = byteSymbol
    self.ignoreMerges = selection?.ignoreMerges ?? false
  }

  /// `<0xHH>` with two hex digits (either case, as `strtol` reads them) -> the byte; anything else `nil`.
  static func parseByteToken(_ text: String) -> UInt8? {
    let b = Array(text.utf8)
    guard b.count == 6, b[0] == 0x3C, b[1] == 0x30, b[2] == 0x78, b[5] == 0x3E,
      let hi = hexValue(b[3]), let lo = hexValue(b[4])
    else { return nil }
    return hi << 4 | lo
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
  }

  static let endOfTurnTexts = [
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
    "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
  ]
  static let fimTexts: [[String]] = [
    ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"],
    ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"],
    ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"],
    ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
    ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
    ["<|file_sep|>"],
  ]
  static let endOfGenerationTexts = [
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
  ]

  // MARK: - Lookup

  /// The stored text of token `id`, or `nil` when out of range.
  public func tokenText(_ id: Int32) -> String? {
    id >= 0 && Int(id) < vocabularySize ? table.string(of: Int(id)) : nil
  }

  /// The id whose text is exactly `text` (the last one, if the vocabulary repeats a text).
  public func tokenID(_ text: String) -> Int32? { table.lookup(text) }
}
