import Foundation
import Testing

@testable import Scanner

/// The Hugging Face `tokenizer.json` adapter maps byte-level BPE files onto the GGUF vocabulary model.
@Suite struct TokenizerJSONTests {
  static func document(preTokenizer: String, addedSpecial: Bool = true) -> [UInt8] {
    Array(
      """
      {"version": "1.0",
       "added_tokens": [{"id": 7, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false,
                         "normalized": false, "special": \(addedSpecial)}],
       "normalizer": null,
       "pre_tokenizer": \(preTokenizer),
       "post_processor": null,
       "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "dropout": null, "unk_token": null, "byte_fallback": false,
                 "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4, "1": 5, "2": 6},
                 "merges": ["a b", ["Ġ", "ab"]]}}
      """.utf8)
  }

  static let gpt2 = #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#
  static let digitsThenByteLevel =
    #"{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, "#
    + #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}"#
  static let llama3Split =
    #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}"#

  /// Each supported pre-tokenizer layout selects the llama.cpp family it corresponds to.
  @Test func preTokenizerLayoutsSelectFamilies() throws {
    #expect(try Tokenizer(tokenizerJSON: Self.document(preTokenizer: Self.gpt2)).preTokenizer == .gpt2)
    #expect(try Tokenizer(tokenizerJSON: Self.document(preTokenizer: Self.digitsThenByteLevel)).preTokenizer == .starcoder)
    #expect(try Tokenizer(tokenizerJSON: Self.document(preTokenizer: Self.llama3Split)).preTokenizer == .llama3)
  }

  /// Vocabulary, both merge spellings and added special tokens are honoured when encoding.
  @Test func encodesWithMergesAndAddedTokens() throws {
    let t = try Tokenizer(tokenizerJSON: Self.document(preTokenizer: Self.digitsThenByteLevel))
    #expect(t.vocabularySize == 8)
    #expect(t.attributes[7] == .control)
    #expect(try t.encode("ab ab<|im_start|>12", addSpecial: false) == [3, 4, 7, 5, 6])
    #expect(try t.decode([3, 4, 7], renderSpecial: true) == Array("ab ab<|im_start|>".utf8))
  }

  /// A non-special added token that looks special (`<|...|>`) is still CONTROL, as convert_hf_to_gguf.py makes it.
  @Test func specialLookingAddedTokenIsControl() throws {
    let t = try Tokenizer(tokenizerJSON: Self.document(preTokenizer: Self.gpt2, addedSpecial: false))
    #expect(t.attributes[7] == .control)
  }

  /// Unsupported layouts and broken JSON are typed errors, never traps.
  @Test func unsupportedLayoutsAreRejected() {
    #expect(throws: TokenizerError.unsupportedTokenizerJSON(path: "pre_tokenizer", detail: "type Whitespace not recognised")) {
      try Tokenizer(tokenizerJSON: Self.document(preTokenizer: #"{"type": "Whitespace"}"#))
    }
    #expect(throws: TokenizerError.unsupportedTokenizerJSON(path: "pre_tokenizer.split", detail: "a splitting Metaspace is not SentencePiece's behaviour")) {
      try Tokenizer(tokenizerJSON: Self.document(preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "split": true}"#))
    }
    #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: Array("{\"model\": ".utf8)) }
    #expect(throws: TokenizerError.self) {
      try Tokenizer(tokenizerJSON: Array(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8))
    }
  }

  /// A SentencePiece-style document (Llama 2 spelling: Prepend + Replace normalizer, byte fallback): spaces become
  /// "▁", one is prepended, merges apply in rank order (scores = minus rank), unknown characters fall back to bytes.
  static let sentencePieceDocument = Array(#"""
    {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
       {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
     "pre_tokenizer": null,
     "added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
     "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
       "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x63>": 3, "▁": 4, "a": 5, "b": 6, "ab": 7, "▁ab": 8, "ba": 9},
       "merges": [["a", "b"], ["▁", "ab"], ["b", "a"]]}}
    """#.utf8)

  @Test func sentencePieceStyleDocumentEncodesLikeSentencePiece() throws {
    let t = try Tokenizer(tokenizerJSON: Self.sentencePieceDocument, tokenizerConfig: Array(#"{"bos_token": "<s>", "eos_token": "</s>"}"#.utf8))
    #expect(t.kind == .sentencePiece)
    #expect(t.addSpacePrefix)
    #expect(t.attributes[3].contains(.byte))
    #expect(t.attributes[1] == .control)
    // "▁aba" → a+b (rank 0) beats b+a (rank 2): ▁ ab a → ▁ab a; then " ab" → ▁ab; "c" → its byte token.
    #expect(try t.encode("aba ab c", addSpecial: false) == [8, 5, 8, 4, 3])
    #expect(try t.encode("ab", addSpecial: true) == [1, 8])
    let decoded = String(decoding: try t.decode([8, 5, 8, 4, 3]), as: UTF8.self)
    #expect(decoded.drop { $0 == " " } == "aba ab c", "\(decoded.debugDescription)")
    // Gemma's spelling: Replace only, and a Split on " " that has nothing left to split: no prefix.
    var gemma = String(decoding: Self.sentencePieceDocument, as: UTF8.self)
    gemma = gemma.replacingOccurrences(of: #"{"type": "Prepend", "prepend": "▁"},"#, with: "")
      .replacingOccurrences(of: #""pre_tokenizer": null"#, with: #""pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false}"#)
    let g = try Tokenizer(tokenizerJSON: Array(gemma.utf8))
    #expect(!g.addSpacePrefix)
    #expect(try g.encode("ab ab", addSpecial: false) == [7, 8])
  }

  /// Every prefix of a valid document is rejected with a typed error (truncated JSON never traps).
  @Test func everyPrefixOfADocumentThrows() {
    let doc = Self.document(preTokenizer: Self.gpt2)
    for n in stride(from: 0, to: doc.count - 1, by: 7) {
      #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: Array(doc[..<n])) }
    }
  }
}
