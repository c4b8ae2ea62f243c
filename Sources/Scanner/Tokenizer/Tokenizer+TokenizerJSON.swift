import Formats

extension Tokenizer {
  /// Builds a tokenizer from a Hugging Face `tokenizer.json` (and optionally `tokenizer_config.json`),
  /// mapped onto the vocabulary llama.cpp's `convert_hf_to_gguf.py` would write, so encoding matches
  /// llama.cpp on the converted GGUF.
  ///
  /// Supported: `model.type == "BPE"` SentencePiece-style (byte fallback, "▁" for spaces: Llama 2, Gemma; see
  /// ``sentencePieceSpaceStyle(_:model:)``), or with a byte-level pre-tokenizer: plain `ByteLevel` (GPT-2),
  /// `Sequence[Digits(individual_digits), ByteLevel]` (StarCoder/SmolLM), `Sequence[Split(regex), ByteLevel]`
  /// with the Llama 3, Qwen2 or GPT-4o regex. `added_tokens` become CONTROL (special or special-looking)
  /// or USER_DEFINED tokens; id gaps become unused `[PADn]` tokens. Normalizers are ignored, as llama.cpp
  /// ignores them. BOS/EOS come from the config (`bos_token`, `eos_token`, `add_bos_token`,
  /// `add_eos_token`), else from a `TemplateProcessing` post-processor that starts with a special token.
  ///
  /// - Parameters:
  ///   - tokenizerJSON: the bytes of `tokenizer.json`.
  ///   - tokenizerConfig: the bytes of `tokenizer_config.json`, if present.
  /// - Throws: ``TokenizerError/unsupportedTokenizerJSON(path:detail:)`` for unparseable JSON or a
  ///   construct outside the list above, ``TokenizerError/wrongType(key:expected:)`` for malformed
  ///   members, and everything ``init(_:)`` throws.
  public init(tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]? = nil) throws(TokenizerError) {
    try self.init(try Self.vocabulary(tokenizerJSON: tokenizerJSON, tokenizerConfig: tokenizerConfig))
  }

  static let llama3Regex =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  static let qwen2Regex =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  static let gpt4oRegex =
    #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

  /// The plain values ``init(tokenizerJSON:tokenizerConfig:)`` uses.
  public static func vocabulary(tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]? = nil) throws(TokenizerError)
    -> Vocabulary
  {
    let root: JSONValue
    do { root = try JSONParser.parse(tokenizerJSON).value } catch {
      throw .unsupportedTokenizerJSON(path: "", detail: "not valid JSON: \(error)")
    }
    var config: JSONValue?
    if let tokenizerConfig {
      do { config = try JSONParser.parse(tokenizerConfig).value } catch {
        throw .unsupportedTokenizerJSON(path: "tokenizer_config.json", detail: "not valid JSON: \(error)")
      }
    }
    guard let model = root["model"] else { throw .missingKey("model") }
    guard model["type"]?.string == "BPE" else {
      throw .unsupportedTokenizerJSON(path: "model.type", detail: "\(model["type"]?.string ?? "absent"); only BPE")
    }
    if let spaceStyle = try Self.sentencePieceSpaceStyle(root, model: model) {
      var vocabulary = try Self.sentencePieceVocabulary(
        root, model: model, config: config, addSpacePrefix: spaceStyle.addSpacePrefix)
      vocabulary.metaspacePrefix = spaceStyle.metaspace
      return vocabulary
    }
    let pre = try Self.preTokenizerName(root["pre_tokenizer"], config: config)

    // Vocabulary: model.vocab plus added_tokens, by id.
    let (byID, addedType, maxID, _) = try Self.vocabularyTable(root, model: model) { content, special in
      special || Self.looksSpecial(content) ? 3 : 4
    }
    var tokens: [String] = []
    var types: [Int32] = []
    tokens.reserveCapacity(maxID + 1)
    types.reserveCapacity(maxID + 1)
    for id in 0...maxID {
      if let text = byID[id] {
        tokens.append(text)
        types.append(addedType[id] ?? 1)
      } else {
        tokens.append("[PAD\(id)]")  // convert_hf_to_gguf fills holes like this
        types.append(5)
      }
    }

    // Merges: "a b" strings or ["a", "b"] pairs.
    var merges: [String] = []
    for (index, merge) in (model["merges"]?.array ?? []).enumerated() {
      if let s = merge.string {
        merges.append(s)
      } else if let pair = merge.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
        merges.append(a + " " + b)
      } else {
        throw .wrongType(key: "model.merges[\(index)]", expected: "\"a b\" or [a, b]")
      }
    }

    // Special tokens and flags.
    func tokenName(_ value: JSONValue?) -> String? { value?.string ?? value?["content"]?.string }
    func idOf(_ text: String?) -> Int? {
      guard let text else { return nil }
      return tokens.lastIndex(of: text)
    }
    var bos = idOf(tokenName(config?["bos_token"]))
    let eos = idOf(tokenName(config?["eos_token"]))
    var addBOS = config?["add_bos_token"]?.bool
    let addEOS = config?["add_eos_token"]?.bool
    if addBOS == nil, let single = root["post_processor"]?["single"]?.array ?? root["post_processor"]?["processors"]?
      .array?.first(where: { $0["type"]?.string == "TemplateProcessing" })?["single"]?.array,
      let first = single.first?["SpecialToken"]?["id"]?.string
    {
      bos = bos ?? idOf(first)
      addBOS = true
    }
    return Vocabulary(
      model: "gpt2", pre: pre, tokens: tokens, tokenTypes: types, scores: nil, merges: merges,
      specialIDs: SpecialTokenIDs(bos: bos, eos: eos), addBOS: addBOS ?? false, addEOS: addEOS ?? false,
      addSpacePrefix: nil, modelName: nil, keyPrefix: "tokenizer.json:")
  }

  /// Whether `tokenizer.json` is SentencePiece-style BPE (`byte_fallback`, spaces written as "▁"), and if so
  /// whether a "▁" is prepended to the text (Llama 2: yes; Gemma: no) and by which rule (Metaspace's, or llama.cpp's
  /// for a Prepend normalizer, which `tokenizers` applies to every section as llama.cpp does). Two spellings exist: a normalizer that
  /// replaces " " with "▁" (optionally after `Prepend("▁")`), with no pre-tokenizer or a `Split` on " " (a no-op
  /// once no space is left), or a `Metaspace` pre-tokenizer. `nil`: not SentencePiece-style.
  /// - Throws: `unsupportedTokenizerJSON` for a byte-fallback model whose normalizer or pre-tokenizer is neither.
  static func sentencePieceSpaceStyle(_ root: JSONValue, model: JSONValue) throws(TokenizerError)
    -> (addSpacePrefix: Bool, metaspace: MetaspacePrefix?)?
  {
    let meta = "\u{2581}"
    let normalizer = root["normalizer"] ?? .null
    let pre = root["pre_tokenizer"] ?? .null
    func isSpaceReplace(_ v: JSONValue) -> Bool {
      v["type"]?.string == "Replace" && v["pattern"]?["String"]?.string == " " && v["content"]?.string == meta
    }
    func isPrepend(_ v: JSONValue) -> Bool { v["type"]?.string == "Prepend" && v["prepend"]?.string == meta }
    var normalized: Bool?  // nil: no space normalizer; else whether it prepends
    if isSpaceReplace(normalizer) {
      normalized = false
    } else if normalizer["type"]?.string == "Sequence", let parts = normalizer["normalizers"]?.array,
      parts.contains(where: isSpaceReplace), parts.allSatisfy({ isSpaceReplace($0) || isPrepend($0) })
    {
      // Prepend must come before Replace to prepend "▁" (Llama 2's order); either way one "▁" leads.
      normalized = parts.contains(where: isPrepend)
    }
    if let normalized {
      let noOpSplit = pre["type"]?.string == "Split" && pre["pattern"]?["String"]?.string == " "
        && (pre["invert"]?.bool ?? false) == false
      guard pre == .null || noOpSplit else {
        throw .unsupportedTokenizerJSON(path: "pre_tokenizer", detail: "\(pre["type"]?.string ?? "?") after a \"▁\" normalizer")
      }
      return (normalized, nil)
    }
    if pre["type"]?.string == "Metaspace", pre["replacement"]?.string ?? meta == meta, normalizer == .null {
      guard pre["split"]?.bool != true else {
        throw .unsupportedTokenizerJSON(path: "pre_tokenizer.split", detail: "a splitting Metaspace is not SentencePiece's behaviour")
      }
      switch pre["prepend_scheme"]?.string {
      case "never"?: return (false, nil)
      case "first"?: return (true, .first)
      case "always"?: return (true, .always)
      case nil: return (pre["add_prefix_space"]?.bool ?? true, .always)  // tokenizers before prepend_scheme
      case let other?: throw .unsupportedTokenizerJSON(path: "pre_tokenizer.prepend_scheme", detail: other)
      }
    }
    guard model["byte_fallback"]?.bool != true else {
      throw .unsupportedTokenizerJSON(path: "normalizer", detail: "byte-fallback BPE without a \"▁\" space normalizer or Metaspace pre-tokenizer")
    }
    return nil
  }

  /// A SentencePiece-style `tokenizer.json` as the `"llama"` vocabulary llama.cpp runs: token types from the vocab
  /// (`<0xHH>` byte tokens, the unknown token, added tokens) and merge priorities as scores. SentencePiece merges the
  /// adjacent pair whose merged token scores highest; `tokenizers` applies the lowest-ranked merge, so each merged
  /// token scores minus the rank of the first merge producing it. Tokens no merge produces keep the lowest score.
  static func sentencePieceVocabulary(_ root: JSONValue, model: JSONValue, config: JSONValue?, addSpacePrefix: Bool)
    throws(TokenizerError) -> Vocabulary
  {
    let (byID, addedType, maxID, idOfText) = try Self.vocabularyTable(root, model: model) { _, special in special ? 3 : 4 }
    let unknownText = model["unk_token"]?.string
    var tokens: [String] = []
    var types: [Int32] = []
    tokens.reserveCapacity(maxID + 1)
    types.reserveCapacity(maxID + 1)
    for id in 0...maxID {
      guard let text = byID[id] else {
        tokens.append("[PAD\(id)]")
        types.append(5)
        continue
      }
      tokens.append(text)
      if let t = addedType[id] {
        types.append(text == unknownText ? 2 : t)
      } else if text == unknownText {
        types.append(2)
      } else if Self.parseByteToken(text) != nil, text.hasPrefix("<0x") {
        types.append(6)
      } else {
        types.append(1)
      }
    }
    let merges = model["merges"]?.array ?? []
    var scores = [Float](repeating: -Float(merges.count + 1), count: tokens.count)
    for (rank, merge) in merges.enumerated().reversed() {
      let merged: String
      if let s = merge.string, let space = s.firstIndex(of: " ") {
        merged = String(s[..<space]) + String(s[s.index(after: space)...])
      } else if let pair = merge.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
        merged = a + b
      } else {
        throw .wrongType(key: "model.merges[\(rank)]", expected: "\"a b\" or [a, b]")
      }
      if let id = idOfText[merged] { scores[id] = -Float(rank) }  // reversed: the first (best) merge is written last
    }
    func tokenName(_ value: JSONValue?) -> String? { value?.string ?? value?["content"]?.string }
    func idOf(_ text: String?) -> Int? { text.flatMap { t in tokens.lastIndex(of: t) } }
    var bos = idOf(tokenName(config?["bos_token"]))
    var addBOS = config?["add_bos_token"]?.bool
    if addBOS == nil, let single = root["post_processor"]?["single"]?.array ?? root["post_processor"]?["processors"]?
      .array?.first(where: { $0["type"]?.string == "TemplateProcessing" })?["single"]?.array
    {
      let first = single.first?["SpecialToken"]?["id"]?.string
      bos = bos ?? idOf(first)
      addBOS = first != nil
    }
    return Vocabulary(
      model: "llama", tokens: tokens, tokenTypes: types, scores: scores,
      specialIDs: SpecialTokenIDs(bos: bos, eos: idOf(tokenName(config?["eos_token"])), unknown: idOf(unknownText),
        padding: idOf(tokenName(config?["pad_token"]))),
      addBOS: addBOS ?? true, addEOS: config?["add_eos_token"]?.bool ?? false, addSpacePrefix: addSpacePrefix,
      modelName: nil, keyPrefix: "tokenizer.json:")
  }

  /// `model.vocab` plus `added_tokens`, by id: the texts, each added token's GGUF type (`addedType(content, special)`),
  /// the largest id, and the id of each `model.vocab` text.
  /// - Throws: `wrongType` for an id outside 0..<2^31 or a malformed added token, `emptyVocabulary` for no tokens.
  static func vocabularyTable(_ root: JSONValue, model: JSONValue, addedType typeOf: (String, Bool) -> Int32)
    throws(TokenizerError) -> (byID: [Int: String], addedType: [Int: Int32], maxID: Int, idOfText: [String: Int])
  {
    guard let vocabMembers = model["vocab"]?.members else { throw .wrongType(key: "model.vocab", expected: "object") }
    var byID: [Int: String] = [:]
    var idOfText: [String: Int] = [:]
    var maxID = -1
    for member in vocabMembers {
      guard let id = member.value.int, id >= 0, id < Int(Int32.max) else {
        throw .wrongType(key: "model.vocab[\(member.key.debugDescription)]", expected: "id in 0..<2^31")
      }
      byID[id] = member.key
      idOfText[member.key] = id
      maxID = max(maxID, id)
    }
    var addedType: [Int: Int32] = [:]
    for (index, added) in (root["added_tokens"]?.array ?? []).enumerated() {
      guard let id = added["id"]?.int, id >= 0, id < Int(Int32.max), let content = added["content"]?.string else {
        throw .wrongType(key: "added_tokens[\(index)]", expected: "{id, content}")
      }
      byID[id] = content
      maxID = max(maxID, id)
      addedType[id] = typeOf(content, added["special"]?.bool ?? false)
    }
    guard maxID >= 0 else { throw .emptyVocabulary(key: "model.vocab") }
    return (byID, addedType, maxID, idOfText)
  }

  /// convert_hf_to_gguf.py `does_token_look_special`.
  static func looksSpecial(_ text: String) -> Bool {
    ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text)
      || (text.hasPrefix("<|") && text.hasSuffix("|>")) || (text.hasPrefix("<｜") && text.hasSuffix("｜>"))
      || (text.hasPrefix("<unused") && text.hasSuffix(">"))
  }

  /// Maps a byte-level `pre_tokenizer` to the GGUF `tokenizer.ggml.pre` name llama.cpp would use.
  static func preTokenizerName(_ pre: JSONValue?, config: JSONValue?) throws(TokenizerError) -> String {
    func isByteLevel(_ v: JSONValue, useRegex: Bool) -> Bool {
      v["type"]?.string == "ByteLevel" && (v["add_prefix_space"]?.bool ?? false) == false
        && (v["use_regex"]?.bool ?? true) == useRegex
    }
    guard let pre else { throw .unsupportedTokenizerJSON(path: "pre_tokenizer", detail: "absent (not byte-level)") }
    if isByteLevel(pre, useRegex: true) { return "gpt-2" }
    if pre["type"]?.string == "Sequence", let parts = pre["pretokenizers"]?.array, parts.count == 2 {
      if parts[0]["type"]?.string == "Digits", parts[0]["individual_digits"]?.bool == true,
        isByteLevel(parts[1], useRegex: true)
      {
        return config?["clean_up_tokenization_spaces"]?.bool == false ? "smollm" : "starcoder"
      }
      if parts[0]["type"]?.string == "Split", parts[0]["behavior"]?.string == "Isolated",
        (parts[0]["invert"]?.bool ?? false) == false, let regex = parts[0]["pattern"]?["Regex"]?.string,
        isByteLevel(parts[1], useRegex: false)
      {
        switch regex {
        case llama3Regex: return "llama-bpe"
        case qwen2Regex: return "qwen2"
        case gpt4oRegex: return "gpt-4o"
        default: throw .unsupportedTokenizerJSON(path: "pre_tokenizer.pretokenizers[0].pattern.Regex", detail: regex)
        }
      }
    }
    throw .unsupportedTokenizerJSON(path: "pre_tokenizer", detail: "type \(pre["type"]?.string ?? "?") not recognised")
  }
}
