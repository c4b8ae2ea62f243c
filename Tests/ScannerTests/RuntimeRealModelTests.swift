import Foundation
import Formats
import Testing

@testable import Scanner

/// Checks against llama.cpp on the real SmolLM2-135M-Instruct Q4_1 GGUF, using the reference data
/// committed by Tests/Fixtures/runtime/make_runtime_refs.py (token ids only, so our tokenizer is not
/// involved). Gated by SCAN_REAL_MODELS=1; run in release: `swift test -c release --filter RuntimeRealModel`.
// Runs the model over ~1000 tokens per reference: minutes in a release build, far longer in debug.
// Enabled by SCAN_RUNTIME_REFS=1 (use `swift test -c release`); scripts/test.sh (CI) sets it with SCAN_REAL_MODELS.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1" && ProcessInfo.processInfo.environment["SCAN_RUNTIME_REFS"] == "1"))
struct RuntimeRealModelTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let modelDirectory = ProcessInfo.processInfo.environment["SCAN_REAL_MODELS_DIR"]
    ?? root.appendingPathComponent("samples/.cache/real").path

  struct Refs {
    var passage: [Int32]
    var passageTop: [[(id: Int, logit: Float)]]
    var prompts: [(tokens: [Int32], greedy: [Int32])]
  }

  static func loadRefs(_ name: String) throws -> Refs {
    let url = root.appendingPathComponent("Tests/Fixtures/runtime/\(name)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let passage = try #require(json["passage_tokens"] as? [Int]).map { Int32($0) }
    let top = try #require(json["passage_top"] as? [[[Double]]]).map { row in row.map { (Int($0[0]), Float($0[1])) } }
    let prompts = try #require(json["prompts"] as? [[String: Any]]).map { p in
      ((p["prompt_tokens"] as? [Int] ?? []).map { Int32($0) }, (p["greedy"] as? [Int] ?? []).map { Int32($0) })
    }
    return Refs(passage: passage, passageTop: top, prompts: prompts)
  }

  static func model(_ file: String, threads: Int = 2, numerics: Numerics = .llamaCpp) throws -> LanguageModel {
    // SCAN_NUMERICS=float|llamaCpp overrides every case (to compare the two rounding models on one reference).
    let forced = ProcessInfo.processInfo.environment["SCAN_NUMERICS"].flatMap { Numerics(rawValue: $0) }
    return try LanguageModel.load(path: "\(modelDirectory)/\(file)", threads: threads, numerics: forced ?? numerics)
  }

  /// (reference file, model file, numerics) triples; a triple whose reference file is absent is skipped.
  /// The transformers references (float math on the dequantized GGUF) are checked with `.float`, the
  /// llama.cpp ones with the default `.llamaCpp` numerics.
  static let cases: [(refs: String, model: String, numerics: Numerics)] = [
    ("smollm2-q4_1-refs.json", "SmolLM2-135M-Instruct.Q4_1.gguf", .float),
    ("smollm2-q4_1-llamacpp-refs.json", "SmolLM2-135M-Instruct.Q4_1.gguf", .llamaCpp),
    ("gemma3-270m-q4_k_m-refs.json", "gemma-3-270m-q4_k_m.gguf", .float),
    ("gemma3-270m-q4_k_m-llamacpp-refs.json", "gemma-3-270m-q4_k_m.gguf", .llamaCpp),
  ].filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("Tests/Fixtures/runtime/\($0.0)").path) }

  /// Whether the reference comes from llama.cpp (checked with `.llamaCpp`, which reproduces its float
  /// order: SmolLM2 Q4_1 since runtime4, Gemma 3 Q4_K_M since kquant6). Its logits must then equal ours up
  /// to the 5-decimal rounding of the stored values.
  static func isLlamaCppReference(_ refsFile: String) -> Bool { refsFile.contains("-llamacpp-") }

  /// Runs the passage in chunks of `chunk` tokens and compares every position with the reference: how many
  /// top-1 tokens agree, and the mean and largest |logit difference| over the reference's top-10 ids.
  static func passageAgreement(_ model: LanguageModel, _ refs: Refs, chunk: Int) throws
    -> (agree: Int, meanDiff: Double, maxDiff: Float)
  {
    let session = model.makeSession(maxTokens: refs.passage.count, batchSize: 256)
    var agree = 0, diffSum = 0.0, diffCount = 0, maxDiff: Float = 0
    var start = 0
    while start < refs.passage.count {
      let end = min(refs.passage.count, start + chunk)
      let out = try session.evaluate(tokens: Array(refs.passage[start..<end]), capture: CaptureRequest(logitPositions: .all))
      try #require(out.positionLogits.count == end - start)
      for pl in out.positionLogits {
        let ref = refs.passageTop[pl.position]
        if Sampler.argmax(pl.logits) == ref[0].id { agree += 1 }
        for (id, logit) in ref {
          let d = abs(pl.logits[id] - logit)
          diffSum += Double(d)
          diffCount += 1
          maxDiff = max(maxDiff, d)
        }
      }
      start = end
    }
    return (agree, diffSum / Double(max(1, diffCount)), maxDiff)
  }

  /// Top-1 next token agrees with the reference at >= 99% of ~1000 passage positions; mean |logit diff|
  /// over the reference's top-10 ids is reported and must stay small (< 0.1). SmolLM2 and Gemma 3 under
  /// `.llamaCpp` reproduce llama.cpp's logits bit for bit (the stored refs are rounded to 5 decimals).
  @Test(arguments: cases.map(\.refs))
  func passageTop1MatchesReference(refsFile: String) throws {
    let c = try #require(Self.cases.first { $0.refs == refsFile })
    let modelFile = c.model
    let refs = try Self.loadRefs(refsFile)
    let model = try Self.model(modelFile, numerics: c.numerics)
    let (agree, meanDiff, maxDiff) = try Self.passageAgreement(model, refs, chunk: 100)
    let rate = Double(agree) / Double(refs.passage.count)
    print("\(modelFile) [\(model.numerics)] vs \(refsFile): top-1 agreement \(agree)/\(refs.passage.count) = \(rate), mean |logit diff| (ref top-10) = \(meanDiff), max = \(maxDiff)")
    #expect(rate >= 0.99)
    #expect(meanDiff < 0.1)
    if Self.isLlamaCppReference(refsFile) {
      // bit-identical logits, stored rounded to 5 decimals (|error| <= 5e-6, plus float spacing near 30)
      #expect(maxDiff <= 1e-5, "\(modelFile): largest |logit diff| \(maxDiff) against llama.cpp")
    }
  }

  /// Greedy 32-token continuations equal the reference's for the reference prompts.
  @Test(arguments: cases.map(\.refs))
  func greedyContinuationsMatchReference(refsFile: String) throws {
    let c = try #require(Self.cases.first { $0.refs == refsFile })
    let refs = try Self.loadRefs(refsFile)
    let model = try Self.model(c.model, numerics: c.numerics)
    for (i, p) in refs.prompts.enumerated() {
      let gen = try model.generate(prompt: p.tokens, maxTokens: p.greedy.count)
      #expect(gen.tokens == p.greedy, "prompt \(i)")
    }
  }

  /// Batched evaluation of independent prompts gives the same last-position logits as one at a time.
  @Test func batchedPromptsMatchSingleEvaluation() throws {
    let refs = try Self.loadRefs("smollm2-q4_1-refs.json")
    let model = try Self.model("SmolLM2-135M-Instruct.Q4_1.gguf")
    let prompts = refs.prompts.map(\.tokens)
    let batch = try model.evaluateBatch(prompts: prompts)
    for (i, p) in prompts.enumerated() {
      let single = try model.makeSession(maxTokens: p.count).evaluate(tokens: p)
      let maxDiff = zip(single.logits, batch[i].logits).map { abs($0 - $1) }.max() ?? .infinity
      // Same kernels, different token grouping in the GEMM tiles: only summation order may differ.
      #expect(maxDiff < 1e-3, "prompt \(i): max diff \(maxDiff)")
    }
  }

  /// Captures: residuals have the model width, attention rows sum to 1 over the visible keys, and
  /// log-probabilities normalize.
  @Test func capturesHaveTheDocumentedShapes() throws {
    let refs = try Self.loadRefs("smollm2-q4_1-refs.json")
    let model = try Self.model("SmolLM2-135M-Instruct.Q4_1.gguf")
    let tokens = Array(refs.passage.prefix(12))
    let request = CaptureRequest(
      residualLayers: [0, 29], residualPositions: .positions([3, 11]), attentionLayers: [5], attentionHeads: [0, 8],
      attentionPositions: .last, logitPositions: .positions([11]), logProbabilities: true)
    let out = try model.makeSession(maxTokens: 32).evaluate(tokens: tokens, capture: request)
    #expect(out.residuals.map { [$0.layer, $0.position] } == [[0, 3], [0, 11], [29, 3], [29, 11]])
    #expect(out.residuals.allSatisfy { $0.values.count == model.config.embeddingLength })
    #expect(out.attention.map { [$0.head, $0.weights.count] } == [[0, 12], [8, 12]])
    for a in out.attention { #expect(abs(a.weights.reduce(0, +) - 1) < 1e-4) }
    let lp = try #require(out.positionLogits.first?.logProbabilities)
    #expect(abs(lp.map { exp(Double($0)) }.reduce(0, +) - 1) < 1e-3)
    #expect(out.positionLogits.first?.logits == out.logits)
  }
}
