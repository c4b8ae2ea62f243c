import Formats

extension Tokenizer {
  /// Builds the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata, as llama.cpp's
  /// `llama_vocab::load` reads it.
  ///
  /// - Parameter gguf: a parsed file (its strings are already validated UTF-8).
  /// - Throws: ``TokenizerError/missingKey(_:)`` for an absent `tokenizer.ggml.model` or `tokens`,
  ///   ``TokenizerError/wrongType(key:expected:)`` for a key of the wrong GGUF type, and everything
  ///   ``init(_:)`` throws for the values themselves.
  public init(gguf: GGUFFile) throws(TokenizerError) {
    try self.init(try Self.vocabulary(gguf: gguf))
  }

  /// The plain values `init(gguf:)` uses, for callers that want to inspect or alter them.
  public static func vocabulary(gguf: GGUFFile) throws(TokenizerError) -> Vocabulary {
    let p = "tokenizer.ggml."
    func string(_ key: String) throws(TokenizerError) -> String? {
      guard let v = gguf[key] else { return nil }
      guard let s = v.string else { throw .wrongType(key: key, expected: "STRING") }
      return s
    }
    func bool(_ key: String) throws(TokenizerError) -> Bool? {
      guard let v = gguf[key] else { return nil }
      guard let b = v.bool else { throw .wrongType(key: key, expected: "BOOL") }
      return b
    }
    func id(_ name: String) throws(TokenizerError) -> Int? {
      guard let v = gguf[p + name] else { return nil }
      guard let i = v.int else { throw .wrongType(key: p + name, expected: "UINT32") }
      return i
    }
    guard let model = try string(p + "model") else { throw .missingKey(p + "model") }
    guard let tokenValue = gguf[p + "tokens"] else { throw .missingKey(p + "tokens") }
    guard let tokens = tokenValue.strings else { throw .wrongType(key: p + "tokens", expected: "ARRAY of STRING") }

    var tokenTypes: [Int32]?
    if let v = gguf[p + "token_type"] {
      guard let ints = v.ints else { throw .wrongType(key: p + "token_type", expected: "ARRAY of INT32") }
      var types: [Int32] = []
      types.reserveCapacity(ints.count)
      for (i, raw) in ints.enumerated() {
        guard let t = Int32(exactly: raw) else {
          throw .invalidTokenType(key: p + "token_type", index: i, value: raw < 0 ? Int32.min : Int32.max)
        }
        types.append(t)
      }
      tokenTypes = types
    }
    var scores: [Float]?
    if let v = gguf[p + "scores"] {
      if let f = v.floats {
        scores = f
      } else if case .array(.int32(let ints)) = v {
        scores = ints.map { Float($0) }  // llama.cpp accepts INT32 scores
      } else {
        throw .wrongType(key: p + "scores", expected: "ARRAY of FLOAT32")
      }
    }
    var merges: [String]?
    if let v = gguf[p + "merges"] {
      guard let m = v.strings else { throw .wrongType(key: p + "merges", expected: "ARRAY of STRING") }
      merges = m
    }
    // llama.cpp reads the deprecated FIM keys after the new ones, so they win when both are present.
    let oldPrefix = try id("prefix_token_id")
    let oldSuffix = try id("suffix_token_id")
    let oldMiddle = try id("middle_token_id")
    let newPrefix = try id("fim_pre_token_id")
    let newSuffix = try id("fim_suf_token_id")
    let newMiddle = try id("fim_mid_token_id")
    let ids = SpecialTokenIDs(
      bos: try id("bos_token_id"), eos: try id("eos_token_id"), endOfTurn: try id("eot_token_id"),
      endOfMessage: try id("eom_token_id"), unknown: try id("unknown_token_id"),
      separator: try id("seperator_token_id"), padding: try id("padding_token_id"), mask: try id("mask_token_id"),
      fimPrefix: oldPrefix ?? newPrefix,
      fimSuffix: oldSuffix ?? newSuffix,
      fimMiddle: oldMiddle ?? newMiddle, fimPad: try id("fim_pad_token_id"),
      fimRepo: try id("fim_rep_token_id"), fimSeparator: try id("fim_sep_token_id"))
    return Vocabulary(
      model: model, pre: try string(p + "pre"), tokens: tokens, tokenTypes: tokenTypes, scores: scores,
      merges: merges, specialIDs: ids, addBOS: try bool(p + "add_bos_token"), addEOS: try bool(p + "add_eos_token"),
      addSpacePrefix: try bool(p + "add_space_prefix"), modelName: try string("general.name"))
  }
}
