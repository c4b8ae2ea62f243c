import Foundation
import Formats
import Testing

import Scanner

/// Token ids and decoded bytes against llama.cpp (llama-cpp-python), from
/// Tests/Fixtures/tokenizer/refs/*.json written by make_tokenizer_refs.py.
///
/// Vocab-only GGUFs are read from ../shared/realfiles (relative to the repository root). The real models
/// are read only when SCAN_REAL_MODELS=1, from SCAN_REAL_MODEL_DIR or <repo>/samples/.cache/real.
@Suite struct TokenizerReferenceTests {
  struct RefCase: Decodable {
    let text: Int
    let add_special: Bool
    let ids: [Int32]
    let decode: String?
    let decode_special: String?
    let detokenize: String?
  }

  struct RefFile: Decodable {
    let vocab: String
    let file: String
    let cases: [RefCase]
    let fuzz_ids: [[Int32]]?
  }

  static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures/tokenizer")

  static func loadCases(_ file: String) -> [String] {
    struct Cases: Decodable { let cases: [String] }
    guard let data = try? Data(contentsOf: fixtures.appendingPathComponent(file)),
      let cases = try? JSONDecoder().decode(Cases.self, from: data)
    else { return [] }
    return cases.cases
  }
  static let texts = loadCases("tokenizer_cases.json")
  static let fuzzTexts = loadCases("tokenizer_fuzz_cases.json")

  static func reference(_ name: String) throws -> RefFile {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("refs/\(name).json"))
    return try JSONDecoder().decode(RefFile.self, from: data)
  }

  static var realModelsEnabled: Bool { ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1" }

  static func path(for file: String) -> String {
    if file.hasPrefix("real:") {
      let dir =
        ProcessInfo.processInfo.environment["SCAN_REAL_MODEL_DIR"]
        ?? repoRoot.appendingPathComponent("samples/.cache/real").path
      return dir + "/" + file.dropFirst(5)
    }
    return repoRoot.appendingPathComponent("../shared/realfiles/" + file.dropFirst("realfiles:".count)).path
  }

  static func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  struct Score: CustomStringConvertible {
    var vocab: String
    var encodeMatched = 0
    var encodeTotal = 0
    var decodeMatched = 0
    var decodeTotal = 0
    var failures: [String] = []
    var description: String {
      "\(vocab): encode \(encodeMatched)/\(encodeTotal), decode \(decodeMatched)/\(decodeTotal)"
    }
  }

  /// Compares every case of one vocabulary; returns the score and the first mismatches.
  static func compare(_ name: String) throws -> Score {
    let ref = try reference(name)
    let gguf = try GGUFFile.open(path: path(for: ref.file))
    let tokenizer = try Tokenizer(gguf: gguf)
    var score = Score(vocab: name)
    for c in ref.cases {
      let text = texts[c.text]
      score.encodeTotal += 1
      let ids = try tokenizer.encode(text, addSpecial: c.add_special, parseSpecial: true)
      if ids == c.ids {
        score.encodeMatched += 1
      } else if score.failures.count < 8 {
        score.failures.append("encode #\(c.text) \(text.debugDescription) add_special=\(c.add_special): got \(ids) want \(c.ids)")
      }
      for (want, special) in [(c.decode, false), (c.decode_special, true)] {
        guard let want else { continue }
        score.decodeTotal += 1
        let got = hex(try tokenizer.decode(c.ids, renderSpecial: special))
        if got == want { score.decodeMatched += 1 } else if score.failures.count < 8 {
          score.failures.append("decode(special=\(special)) #\(c.text): got \(got) want \(want)")
        }
      }
      if let want = c.detokenize {
        score.decodeTotal += 1
        let got = hex(try tokenizer.detokenize(c.ids, removeSpecial: true, unparseSpecial: false))
        if got == want { score.decodeMatched += 1 } else if score.failures.count < 8 {
          score.failures.append("detokenize #\(c.text): got \(got) want \(want)")
        }
      }
    }
    for (index, want) in (ref.fuzz_ids ?? []).enumerated() where index < fuzzTexts.count {
      score.encodeTotal += 1
      let ids = try tokenizer.encode(fuzzTexts[index], addSpecial: false, parseSpecial: true)
      if ids == want {
        score.encodeMatched += 1
      } else if score.failures.count < 8 {
        score.failures.append("fuzz #\(index) \(fuzzTexts[index].debugDescription): got \(ids) want \(want)")
      }
    }
    print("tokenizer reference \(score)")
    return score
  }

  static let vocabOnly = [
    "llama-spm", "phi-3", "baichuan", "llama-2023-12", "tiny-spm-zeroscores", "gpt-2", "falcon", "deepseek-coder",
    "deepseek-llm", "starcoder", "refact", "mpt", "gpt-neox", "stablelm-2024", "tiny-llama3", "tiny-qwen2",
    "tiny-smollm", "tiny-gpt4o",
  ].filter { FileManager.default.fileExists(atPath: fixtures.appendingPathComponent("refs/\($0).json").path) }

  /// Our ids, pieces and detokenized text equal llama.cpp's for every case of every vocab-only GGUF.
  @Test(arguments: vocabOnly)
  func vocabularyMatchesLlamaCpp(name: String) throws {
    let score = try Self.compare(name)
    #expect(score.failures.isEmpty, "\(score)\n\(score.failures.joined(separator: "\n"))")
    #expect(score.encodeTotal > 0)
  }

  /// SmolLM2 and Gemma 3 (real model files) match llama.cpp exactly.
  @Test(.enabled(if: realModelsEnabled), arguments: ["smollm2-135m", "gemma3-270m"])
  func realModelMatchesLlamaCpp(name: String) throws {
    let score = try Self.compare(name)
    #expect(score.failures.isEmpty, "\(score)\n\(score.failures.joined(separator: "\n"))")
    #expect(score.encodeTotal > 0)
  }

  /// Byte-level BPE is lossless: decoding the ids of any text (no special tokens added) gives the text back.
  @Test(arguments: ["gpt-2", "starcoder", "deepseek-llm", "falcon"].filter { vocabOnly.contains($0) })
  func bytePairRoundTrip(name: String) throws {
    let ref = try Self.reference(name)
    let tokenizer = try Tokenizer(gguf: try GGUFFile.open(path: Self.path(for: ref.file)))
    for text in Self.texts {
      let ids = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
      #expect(try tokenizer.decode(ids, renderSpecial: true) == Array(text.utf8), "\(text.debugDescription)")
    }
  }

  /// SentencePiece round trip: the decoded ids are the text with the space prefix added by the encoder.
  @Test(arguments: ["llama-spm"].filter { vocabOnly.contains($0) })
  func sentencePieceRoundTrip(name: String) throws {
    let ref = try Self.reference(name)
    let tokenizer = try Tokenizer(gguf: try GGUFFile.open(path: Self.path(for: ref.file)))
    for text in Self.texts where !text.isEmpty {
      let ids = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
      #expect(try tokenizer.decode(ids) == Array((" " + text).utf8), "\(text.debugDescription)")
    }
  }
}

/// The tokenizer.json adapter against Hugging Face `tokenizers` on the tokenizer.json files that transformers writes
/// from GGUF vocabularies (make_hf_tokenizer_refs.py; gated like the real models): SmolLM2 (byte-level BPE), Gemma 3
/// and llama.cpp's Llama SentencePiece vocabulary (SentencePiece-style BPE with byte fallback).
@Suite struct TokenizerJSONReferenceTests {
  struct HFRef: Decodable {
    let ids: [[Int32]]
    let fuzz_ids: [[Int32]]
  }

  /// (folder under the real-model directory, committed reference ids).
  static let cases: [(folder: String, refs: String)] = [
    ("smollm2-hf-tokenizer", "hf-smollm2-tokenizer-json.json"),
    ("gemma3-hf-tokenizer", "hf-gemma3-tokenizer-json.json"),
    ("llama-spm-hf-tokenizer", "hf-llama-spm-tokenizer-json.json"),
  ]

  /// The tokenizer.json files are written by Tests/Fixtures/tokenizer/make_hf_tokenizer_refs.py with `transformers`
  /// (not installed by scripts/test.sh: several hundred MB); each case runs where its file exists.
  static func present(_ folder: String) -> Bool {
    TokenizerReferenceTests.realModelsEnabled && FileManager.default.fileExists(
      atPath: TokenizerReferenceTests.path(for: "real:\(folder)") + "/tokenizer.json")
  }

  /// Our ids equal `tokenizers`' for every test text and fuzz string.
  @Test(arguments: cases.map(\.folder).filter { present($0) })
  func tokenizerJSONMatchesHuggingFace(folder: String) throws {
    let c = try #require(Self.cases.first { $0.folder == folder })
    let dir = URL(fileURLWithPath: TokenizerReferenceTests.path(for: "real:\(folder)"))
    let json = try Data(contentsOf: dir.appendingPathComponent("tokenizer.json"))
    let config = try Data(contentsOf: dir.appendingPathComponent("tokenizer_config.json"))
    let tokenizer = try Tokenizer(tokenizerJSON: Array(json), tokenizerConfig: Array(config))
    let ref = try JSONDecoder().decode(
      HFRef.self, from: Data(contentsOf: TokenizerReferenceTests.fixtures.appendingPathComponent("refs/\(c.refs)")))
    var matched = 0
    var failures: [String] = []
    let pairs = zip(TokenizerReferenceTests.texts, ref.ids).map { ($0, $1) }
      + zip(TokenizerReferenceTests.fuzzTexts, ref.fuzz_ids).map { ($0, $1) }
    for (text, want) in pairs {
      let got = try tokenizer.encode(text, addSpecial: false)
      if got == want { matched += 1 } else if failures.count < 8 { failures.append("\(text.debugDescription): \(got) want \(want)") }
    }
    print("tokenizer.json reference \(folder): \(matched)/\(pairs.count)")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    #expect(pairs.count == 175)
  }
}
