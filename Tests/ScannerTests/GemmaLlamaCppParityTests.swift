import Foundation
import Formats
import Testing

@testable import Scanner

/// Gemma 3 270M Q4_K_M under `.llamaCpp` against llama.cpp (Tests/Fixtures/runtime/
/// gemma3-270m-q4_k_m-llamacpp-refs.json from make_runtime_refs.py): the passage's top-1 tokens and the
/// greedy 32-token continuations. Its Q4_K (repacked q4_K_8x8 gemv/gemm orders), Q6_K, Q8_K, Q5_0/Q8_0,
/// GEGLU table and pre-scaled Q follow ggml's float order (GGMLKQuantDots.swift, GGMLDots.swift).
/// NOT yet bit-exact: measured 956/997 top-1, mean |d| 0.180 (was 949, 0.185); positions 0-3 match to the refs'
/// rounding, position 4 on differ (an op still off by ulps, not found yet: HANDOVER, kquant5). Slow (the full
/// 262144-logit head at every position): gated like RuntimeRealModelTests by SCAN_REAL_MODELS=1 and
/// SCAN_RUNTIME_REFS=1; release build: `swift test -c release --filter GemmaLlamaCppParity`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1" && ProcessInfo.processInfo.environment["SCAN_RUNTIME_REFS"] == "1"))
struct GemmaLlamaCppParityTests {
  static let refsFile = "gemma3-270m-q4_k_m-llamacpp-refs.json"
  static let modelFile = "gemma-3-270m-q4_k_m.gguf"

  /// >= 99% top-1 agreement over the ~1000-token passage (100-token chunks, as llama.cpp's 512-token
  /// ubatches group the tokens in fours the same way) and mean |logit diff| over llama.cpp's top-10 ids
  /// below 0.1 (the refs are rounded to 5 decimals).
  @Test func passageTop1MatchesLlamaCpp() throws {
    let refs = try RuntimeRealModelTests.loadRefs(Self.refsFile)
    let model = try RuntimeRealModelTests.model(Self.modelFile, numerics: .llamaCpp)
    let (agree, meanDiff, maxDiff) = try RuntimeRealModelTests.passageAgreement(model, refs, chunk: 100)
    let rate = Double(agree) / Double(refs.passage.count)
    print("\(Self.modelFile) [llamaCpp] vs llama.cpp: top-1 \(agree)/\(refs.passage.count) = \(rate), mean |d| (ref top-10) = \(meanDiff), max = \(maxDiff)")
    withKnownIssue(RuntimeRealModelTests.gemmaKnownIssue) {
      #expect(rate >= 0.99)
      #expect(meanDiff < 0.1)
    }
  }

  /// The greedy continuations of the reference prompts equal llama.cpp's.
  @Test func greedyContinuationsMatchLlamaCpp() throws {
    let refs = try RuntimeRealModelTests.loadRefs(Self.refsFile)
    let model = try RuntimeRealModelTests.model(Self.modelFile, numerics: .llamaCpp)
    var identical = 0
    for (i, p) in refs.prompts.enumerated() {
      let gen = try model.generate(prompt: p.tokens, maxTokens: p.greedy.count)
      withKnownIssue(RuntimeRealModelTests.gemmaKnownIssue, isIntermittent: true) { #expect(gen.tokens == p.greedy, "prompt \(i)") }
      if gen.tokens == p.greedy { identical += 1 }
    }
    print("\(Self.modelFile) [llamaCpp]: greedy continuations identical \(identical)/\(refs.prompts.count)")
  }
}
