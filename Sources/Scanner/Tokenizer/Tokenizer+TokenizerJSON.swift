import Formats

extension Tokenizer {
  /// Builds a tokenizer from a Hugging Face `tokenizer.json` (and optionally `tokenizer_config.json`),
  /// mapped onto the vocabulary llama.cpp's `convert_hf_to_gguf.py` would write, so encoding matches
  /// llama.cpp on the converted GGUF.
  ///
  /// Supported: `model.type == "BPE"` with a byte-level pre-tokenizer: plain `ByteLevel` (GPT-2),
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
    let pre = try Self.preTokenizerName(root["pre_tokenizer"], config: config)

    // Vocabulary: model.vocab plus added_tokens, by id.
    guard let vocabMembers = model["vocab"]?.members else { throw .wrongType(key: "model.vocab", expected: "object") }
    var byID: [Int: String] = [:]
    var maxID = -1
    for member in vocabMembers {
      guard let id = member.value.int, id >= 0, id < Int(Int32.max) else {
        throw .wrongType(key: "model.vocab[\(member.key.debugDescription)]", expected: "id in 0..<2^31")
      }
      byID[id] = member.key
      maxID = max(maxID, id)
    }
    var addedType: [Int: Int32] = [:]
    for (index, added) in (root["added_tokens"]?.array ?? []).enumerated() {
      guard let id = added["id"]?.int, id >= 0, id < Int(Int32.max), let content = added["content"]?.string else {
        throw .wrongType(key: "added_tokens[\(index)]", expected: "{id, content}")
      }
      byID[id] = content
      maxID = max(maxID, id)
      let special = added["special"]?.bool ?? false
      addedType[id] = special || Self.looksSpecial(content) ? 3 : 4
    }
    guard maxID >= 0 else { throw .emptyVocabulary(key: "model.vocab") }
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
