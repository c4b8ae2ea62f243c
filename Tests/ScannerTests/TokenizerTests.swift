import Testing

@testable import Scanner

/// Pre-tokenizer scanners, merge engines and vocabulary validation on small hand-built inputs.
@Suite struct TokenizerTests {
  private func split(_ family: PreTokenizer, _ text: String) -> [String] {
    let scalars = text.unicodeScalars.map(\.value)
    let classes = scalars.map { ScalarClass(scalarValue: $0) }
    let ends = PreTokenizerSplitter(scalars: scalars, classes: classes).split(family.passes)
    var pieces: [String] = []
    var start = 0
    for end in ends {
      var s = String.UnicodeScalarView()
      for v in scalars[start..<end] { s.append(Unicode.Scalar(v)!) }
      pieces.append(String(s))
      start = end
    }
    return pieces
  }

  /// GPT-2 splits contractions, space-prefixed words and numbers, and leaves the last space of a run for the next word.
  @Test func gpt2SplitsLikeTheGPT2Regex() {
    #expect(split(.gpt2, "Hello world's 123  x") == ["Hello", " world", "'s", " 123", " ", " x"])
    #expect(split(.gpt2, "a\t\tb") == ["a", "\t", "\t", "b"])
    #expect(split(.gpt2, "x  ") == ["x", "  "])
    #expect(split(.gpt2, " ?!") == [" ?!"])
  }

  /// Llama 3 groups digits by three from the left, folds contraction case, and keeps newline runs whole.
  @Test func llama3SplitsDigitsInThreesAndFoldsContractions() {
    #expect(split(.llama3, "1234567") == ["123", "456", "7"])
    #expect(split(.llama3, "DON'T don't") == ["DON", "'T", " don", "'t"])
    #expect(split(.llama3, "Hello\n\nWorld") == ["Hello", "\n\n", "World"])
    #expect(split(.llama3, "a ?!\n\nb") == ["a", " ?!\n\n", "b"])
    #expect(split(.llama3, "  \n  x") == ["  \n", " ", " x"])
  }

  /// Qwen2 is Llama 3 with single digits.
  @Test func qwen2SplitsEveryDigit() {
    #expect(split(.qwen2, "x1234") == ["x", "1", "2", "3", "4"])
  }

  /// StarCoder/SmolLM isolates every digit before the GPT-2 rules run.
  @Test func starcoderIsolatesDigitsFirst() {
    #expect(split(.starcoder, "abc123 x") == ["abc", "1", "2", "3", " x"])
  }

  /// GPT-4o keeps an upper-case run with its lower-case tail and attaches contractions.
  @Test func gpt4oSplitsCaseRunsWithContractions() {
    #expect(split(.gpt4o, "HelloWorld") == ["Hello", "World"])
    #expect(split(.gpt4o, "HTTPServer don't") == ["HTTPServer", " don't"])
    #expect(split(.gpt4o, "ABC") == ["ABC"])
    #expect(split(.gpt4o, "12345") == ["123", "45"])
    #expect(split(.gpt4o, "a/b\n/") == ["a", "/b", "\n", "/"])
  }

  /// DeepSeek LLM runs its six passes, each splitting the pieces of the previous one.
  @Test func deepseekLLMAppliesPassesInOrder() {
    #expect(split(.deepseekLLM, "Hello 世界123") == ["Hello", " ", "世界", "123"])
  }

  /// The default splitter isolates punctuation runs, then digit triples.
  @Test func defaultSplitterIsolatesPunctuationAndDigitTriples() {
    #expect(split(.default, "a+=b 12345") == ["a", "+=", "b", " ", "123", "45"])
  }

  /// The GPT-2 byte alphabet is a bijection between bytes and 256 code points.
  @Test func byteLevelAlphabetRoundTrips() {
    for b in 0..<256 {
      let v = ByteLevel.scalarOfByte[b]
      #expect(ByteLevel.byteOfScalar[Int(v)] == Int16(b))
    }
    #expect(ByteLevel.scalarOfByte[0x20] == 0x120)  // "Ġ"
    #expect(ByteLevel.scalarOfByte[0x0A] == 0x10A)  // "Ċ"
  }

  // MARK: - Merging

  private func tinySPM() throws -> Tokenizer {
    let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab", "<0x63>", "<|x|>"]
    let types: [Int32] = [2, 3, 3, 1, 1, 1, 1, 1, 1, 6, 4]
    let scores: [Float] = [0, 0, 0, -1, -1, -1, -2, -3, -4, 0, 0]
    return try Tokenizer(.init(model: "llama", tokens: tokens, tokenTypes: types, scores: scores))
  }

  /// SentencePiece merges the best-scoring pair first, prefixes a space, and falls back to byte tokens.
  @Test func sentencePieceMergesByScoreWithByteFallback() throws {
    let t = try tinySPM()
    #expect(try t.encode("ab") == [1, 8])
    #expect(try t.encode("ab c", addSpecial: false) == [8, 3, 9])
    #expect(try t.encode("a<|x|>b", addSpecial: false) == [6, 10, 3, 5])
    #expect(try t.decode([1, 8, 3, 9]) == Array(" ab c".utf8))
    #expect(try t.detokenize([8, 3, 9]) == Array("ab c".utf8))
  }

  /// A SentencePiece byte the vocabulary cannot spell is a typed error, not a trap.
  @Test func sentencePieceMissingByteFallbackThrows() throws {
    let t = try tinySPM()
    #expect(throws: TokenizerError.missingByteToken(byte: 0x64)) { try t.encode("d", addSpecial: false) }
  }

  private func tinyBPE(pre: String = "gpt-2") throws -> Tokenizer {
    // byte-level alphabet for "a", "b", " " (Ġ) plus merged tokens
    let tokens = ["a", "b", "Ġ", "ab", "Ġab", "<|endoftext|>", "ba"]
    return try Tokenizer(
      .init(model: "gpt2", pre: pre, tokens: tokens, tokenTypes: [1, 1, 1, 1, 1, 3, 1], merges: ["a b", "Ġ ab", "b a"],
        specialIDs: .init(bos: 5, eos: 5)))
  }

  /// BPE applies merges by rank inside each pre-token and keeps special tokens whole.
  @Test func bytePairMergesByRank() throws {
    let t = try tinyBPE()
    #expect(try t.encode("ab ab", addSpecial: false) == [3, 4])
    #expect(try t.encode("bab", addSpecial: false) == [1, 3])  // "a b" (rank 0) beats "b a" (rank 2)
    #expect(try t.encode("ab<|endoftext|>ab") == [3, 5, 3])
    #expect(try t.encode("ab<|endoftext|>ab", parseSpecial: false) == [3, 3])  // control text is not matched
    #expect(try t.decode([3, 4, 5]) == Array("ab ab".utf8))
    #expect(try t.decode([3, 5], renderSpecial: true) == Array("ab<|endoftext|>".utf8))
  }

  // MARK: - Hostile vocabularies

  /// A BYTE token that is not `<0xHH>` (the PLaMo-2 `<0x-1>` class) is rejected with its index.
  @Test(arguments: ["<0x-1>", "<0xZZ>", "<0x1>", "<0x100>", "0x41"])
  func malformedByteTokenIsRejected(text: String) {
    #expect(throws: TokenizerError.malformedByteToken(key: "tokenizer.ggml.tokens", index: 1, text: text)) {
      try Tokenizer(.init(model: "llama", tokens: ["a", text], tokenTypes: [1, 6]))
    }
  }

  /// A merge whose result is not a token is rejected with the merge's index.
  @Test func mergeNamingMissingTokenIsRejected() {
    #expect(throws: TokenizerError.mergeNamesMissingToken(key: "tokenizer.ggml.merges", index: 1, token: "ab")) {
      try Tokenizer(.init(model: "gpt2", pre: "gpt-2", tokens: ["a", "b", "c", "ac"], merges: ["a c", "a b"]))
    }
    #expect(throws: TokenizerError.mergeNamesMissingToken(key: "tokenizer.ggml.merges", index: 0, token: "z")) {
      try Tokenizer(.init(model: "gpt2", pre: "gpt-2", tokens: ["a", "b"], merges: ["z b"]))
    }
  }

  /// A merge that is not two space-separated parts is rejected.
  @Test(arguments: ["ab", "a ", " a", ""])
  func malformedMergeIsRejected(merge: String) {
    #expect(throws: TokenizerError.malformedMerge(key: "tokenizer.ggml.merges", index: 0, text: merge)) {
      try Tokenizer(.init(model: "gpt2", pre: "gpt-2", tokens: ["a", "b"], merges: [merge]))
    }
  }

  /// Per-token arrays must have one entry per token.
  @Test func mismatchedArrayLengthsAreRejected() {
    #expect(throws: TokenizerError.lengthMismatch(key: "tokenizer.ggml.scores", count: 1, expected: 2)) {
      try Tokenizer(.init(model: "llama", tokens: ["a", "b"], scores: [0]))
    }
    #expect(throws: TokenizerError.lengthMismatch(key: "tokenizer.ggml.token_type", count: 3, expected: 2)) {
      try Tokenizer(.init(model: "llama", tokens: ["a", "b"], tokenTypes: [1, 1, 1]))
    }
  }

  /// Token type codes outside 0...6 are rejected.
  @Test func unknownTokenTypeIsRejected() {
    #expect(throws: TokenizerError.invalidTokenType(key: "tokenizer.ggml.token_type", index: 0, value: 7)) {
      try Tokenizer(.init(model: "llama", tokens: ["a"], tokenTypes: [7]))
    }
  }

  /// A special id outside the vocabulary is rejected with its key.
  @Test func outOfRangeSpecialIDIsRejected() {
    #expect(throws: TokenizerError.tokenIDOutOfRange(key: "tokenizer.ggml.bos_token_id", id: 5, vocabularySize: 2)) {
      try Tokenizer(.init(model: "llama", tokens: ["a", "b"], specialIDs: .init(bos: 5)))
    }
    #expect(throws: TokenizerError.tokenIDOutOfRange(key: "tokenizer.ggml.eos_token_id", id: -1, vocabularySize: 2)) {
      try Tokenizer(.init(model: "llama", tokens: ["a", "b"], specialIDs: .init(eos: -1)))
    }
  }

  /// Decoding an id outside the vocabulary is a typed error carrying its position.
  @Test func decodingOutOfRangeIDThrows() throws {
    let t = try tinyBPE()
    #expect(throws: TokenizerError.decodeIDOutOfRange(index: 1, id: 99, vocabularySize: 7)) { try t.decode([0, 99]) }
    #expect(throws: TokenizerError.decodeIDOutOfRange(index: 0, id: -3, vocabularySize: 7)) { try t.piece(for: -3) }
  }

  /// Unknown models and pre-tokenizers are named in the error.
  @Test func unsupportedModelAndPreTokenizerAreNamed() {
    #expect(throws: TokenizerError.unsupportedModel("t5", supported: ["llama", "gpt2"])) {
      try Tokenizer(.init(model: "t5", tokens: ["a"]))
    }
    #expect(
      throws: TokenizerError.unsupportedPreTokenizer("made-up", supported: PreTokenizer.supportedGGUFNames)
    ) {
      try Tokenizer(.init(model: "gpt2", pre: "made-up", tokens: ["a"], merges: []))
    }
  }

  /// Empty token texts become `[EMPTY_i]` as in llama.cpp, so they cannot match empty input.
  @Test func emptyTokenTextIsRenamed() throws {
    let t = try Tokenizer(.init(model: "llama", tokens: ["", "a"]))
    #expect(t.tokenText(0) == "[EMPTY_0]")
  }
}
