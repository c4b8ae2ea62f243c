import Foundation
import Formats
import Testing

@testable import Scanner

/// Speed of the runtime on the real SmolLM2 Q4_1 GGUF: prompt processing (pp64, pp512) and generation
/// (tg64) in tokens/s, and 32 short prompts batched vs one at a time. Gated by SCAN_BENCH=1; run in
/// release: `SCAN_BENCH=1 swift test -c release --filter RuntimeBenchmark`. Threads: SCAN_THREADS (2).
/// Prints a `RUNTIME_BENCH {json}` line that Tests/Fixtures/runtime/bench_runtime.py compares with llama.cpp.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_BENCH"] == "1"), .serialized)
struct RuntimeBenchmarkTests {
  static func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
  }

  @Test func smolLM2Speed() throws {
    let env = ProcessInfo.processInfo.environment
    let threads = Int(env["SCAN_THREADS"] ?? "") ?? 2
    let path = "\(RuntimeRealModelTests.modelDirectory)/SmolLM2-135M-Instruct.Q4_1.gguf"
    // SCAN_NUMERICS=float measures the plain float path (the runtime before llama.cpp numerics).
    let numerics = Numerics(rawValue: env["SCAN_NUMERICS"] ?? "") ?? .llamaCpp
    let model = try LanguageModel.load(path: path, threads: threads, numerics: numerics)
    let vocab = Int32(model.config.vocabularySize)
    var rng = RuntimeKernelTests.Rng(s: 1)
    func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(vocab)) } }
    let reps = Int(env["SCAN_BENCH_REPS"] ?? "") ?? 3
    var result: [String: Double] = [:]
    for n in [64, 512] {
      let prompt = tokens(n)
      let session = model.makeSession(maxTokens: n, batchSize: 512)
      _ = try session.evaluate(tokens: Array(prompt.prefix(8)))  // warm-up (page in weights)
      var best = Double.infinity
      for _ in 0..<reps {
        session.reset()
        best = min(best, try Self.seconds { _ = try session.evaluate(tokens: prompt) })
      }
      result["pp\(n)"] = Double(n) / best
    }
    do {
      let session = model.makeSession(maxTokens: 80)
      var best = Double.infinity
      for _ in 0..<reps {
        session.reset()
        _ = try session.evaluate(tokens: [1])
        let t = try Self.seconds { for tok in tokens(64) { _ = try session.evaluate(tokens: [tok]) } }
        best = min(best, t)
      }
      result["tg64"] = 64 / best
    }
    do {
      let prompts = (0..<32).map { _ in tokens(16) }
      let single = try Self.seconds { for p in prompts { _ = try model.makeSession(maxTokens: 16).evaluate(tokens: p) } }
      let batched = try Self.seconds { _ = try model.evaluateBatch(prompts: prompts) }
      result["batch32x16_single_s"] = single
      result["batch32x16_batched_s"] = batched
      result["batch32x16_speedup"] = single / batched
    }
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print("RUNTIME_BENCH threads=\(threads) \(String(decoding: json, as: UTF8.self))")
  }

  /// Sanity: greedy continuation of "The capital of France is" (ids from the SmolLM2 vocabulary).
  @Test func smolLM2SanityGeneration() throws {
    let path = "\(RuntimeRealModelTests.modelDirectory)/SmolLM2-135M-Instruct.Q4_1.gguf"
    let model = try LanguageModel.load(path: path, threads: 2)
    let gen = try model.generate(prompt: [504, 3575, 282, 4649, 314], maxTokens: 12)
    print("RUNTIME_SANITY \(gen.tokens)")
  }

  /// Sanity: greedy continuation of BOS "The capital of France is" on Gemma 3 270M (gemma3 path).
  @Test func gemma3SanityGeneration() throws {
    let path = "\(RuntimeRealModelTests.modelDirectory)/gemma-3-270m-q4_k_m.gguf"
    let model = try LanguageModel.load(path: path, threads: 2)
    let gen = try model.generate(prompt: [2, 818, 5279, 529, 7001, 563], maxTokens: 12)
    print("RUNTIME_SANITY_GEMMA \(gen.tokens)")
  }
}
