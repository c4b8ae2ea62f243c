import Foundation
import Formats
import Testing

@testable import Scanner

/// Malformed or unsupported vocabularies end in a ``TokenizerError``, never a trap.
@Suite struct TokenizerHostilityTests {
  /// splitmix64, so failures reproduce.
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  static let alphabet = [
    "a", "b", "Ġ", "▁", " ", "<0x41>", "<0x-1>", "<0xZZ>", "<|x|>", "", "é", "日", "🙂", "<", ">", "ab", "Ġa",
  ]

  /// Random vocabularies (random texts, token types -1...8, merges, scores, special ids) either build or
  /// throw a typed error; the ones that build encode and decode random text without trapping.
  @Test(arguments: 0..<200)
  func randomVocabularyNeverTraps(seed: Int) {
    var rng = Generator(state: UInt64(seed))
    let count = Int.random(in: 1...12, using: &rng)
    let tokens = (0..<count).map { _ in
      (0..<Int.random(in: 1...3, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! }.joined()
    }
    let types: [Int32]? = Bool.random(using: &rng) ? (0..<count).map { _ in Int32.random(in: -1...8, using: &rng) } : nil
    let scores: [Float]? =
      Bool.random(using: &rng) ? (0..<Int.random(in: count - 1...count, using: &rng)).map { _ in Float.random(in: -5...0, using: &rng) } : nil
    let merges = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
      tokens.randomElement(using: &rng)! + (Bool.random(using: &rng) ? " " : "") + tokens.randomElement(using: &rng)!
    }
    let model = Bool.random(using: &rng) ? "llama" : "gpt2"
    let pre = PreTokenizer.supportedGGUFNames.randomElement(using: &rng)
    let bos = Bool.random(using: &rng) ? Int.random(in: -2...count + 2, using: &rng) : nil
    let vocabulary = Tokenizer.Vocabulary(
      model: model, pre: pre, tokens: tokens, tokenTypes: types, scores: scores, merges: merges,
      specialIDs: .init(bos: bos), addBOS: Bool.random(using: &rng), addEOS: Bool.random(using: &rng))
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(vocabulary) } catch { return }  // typed rejection is fine
    let text = (0..<Int.random(in: 0...20, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! }.joined()
    do {
      let ids = try tokenizer.encode(text)
      #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
      _ = try tokenizer.decode(ids, renderSpecial: true)
      _ = try tokenizer.detokenize(ids, removeSpecial: true)
    } catch {
      // missing byte fallback / BOS: typed
    }
  }

  static func realfile(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("../shared/realfiles/gguf/" + path).path
  }

  /// Vocab GGUFs of tokenizer models this runtime does not implement name the model and the supported ones.
  @Test(arguments: [
    ("llama-vocab/ggml-vocab-bert-bge.gguf", "bert"), ("gridcore-runner/vocab-bpe-spm-gemma4.gguf", "gemma4"),
  ])
  func unsupportedTokenizerModelIsNamed(path: String, model: String) throws {
    let gguf = try GGUFFile.open(path: Self.realfile(path))
    #expect(throws: TokenizerError.unsupportedModel(model, supported: ["llama", "gpt2"])) { try Tokenizer(gguf: gguf) }
  }

  /// `qwen35` (a pre-tokenizer llama.cpp knows but this runtime does not) is an error naming it.
  @Test func unsupportedPreTokenizerFromGGUFIsNamed() throws {
    let gguf = try GGUFFile.open(path: Self.realfile("gridcore-runner/vocab-bpe-qwen35.gguf"))
    #expect(throws: TokenizerError.unsupportedPreTokenizer("qwen35", supported: PreTokenizer.supportedGGUFNames)) {
      try Tokenizer(gguf: gguf)
    }
  }
}
