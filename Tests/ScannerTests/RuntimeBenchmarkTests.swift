import Foundation
import Formats
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import Scanner

/// Speed of the runtime on the real SmolLM2 Q4_1 GGUF: prompt processing (pp64, pp512) and generation
/// (tg64) in tokens/s, 32 short prompts batched vs one at a time, and decode steps of N sequences at once
/// vs N single-sequence steps. A harness, not a test: it asserts nothing about time. Gated by SCAN_BENCH=1;
/// run through `Benchmarks/bench-runtime.sh`, which compares it with llama.cpp in the same run, or directly:
/// `SCAN_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter RuntimeBenchmarkTests/smolLM2Speed`.
/// Environment: SCAN_THREADS (2), SCAN_BENCH_REPS (3, best of), SCAN_NUMERICS (comma list, default
/// `llamaCpp,float`), SCAN_BENCH_QUICK=1 (pp64, pp512, tg64 and the one-sequence decode step only). Prints one
/// `RUNTIME_BENCH {json}` line, keys prefixed by the numerics.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_BENCH"] == "1"), .serialized)
struct RuntimeBenchmarkTests {
  static func seconds(_ body: () throws -> Void) rethrows -> Double {
    try measure(body).wall
  }

  /// CPU seconds used so far by the whole process (every pool thread).
  static func processCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  /// Wall and process CPU seconds of `body`. On a shared machine the CPU time is the steadier measure
  /// of our own work (a descheduled thread adds wall time, not CPU time).
  static func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let cpu0 = processCPU()
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18, processCPU() - cpu0)
  }

  @Test func smolLM2Speed() throws {
    let env = ProcessInfo.processInfo.environment
    let threads = Int(env["SCAN_THREADS"] ?? "") ?? 2
    // SCAN_BENCH_MODEL: another GGUF (e.g. Gemma 3's Q4_K_M) through the same rows.
    let path = env["SCAN_BENCH_MODEL"] ?? "\(RuntimeRealModelTests.modelDirectory)/SmolLM2-135M-Instruct.Q4_1.gguf"
    let numericsList = (env["SCAN_NUMERICS"] ?? "llamaCpp,float").split(separator: ",").compactMap { Numerics(rawValue: String($0)) }
    let reps = max(1, Int(env["SCAN_BENCH_REPS"] ?? "") ?? 3)
    let quick = env["SCAN_BENCH_QUICK"] == "1"
    // SCAN_BENCH_DECODE_ONLY=1: only the decode-step rows (quick A/B runs of batched-decode changes).
    let decodeOnly = env["SCAN_BENCH_DECODE_ONLY"] == "1"
    var result: [String: Double] = [:]
    // 1 where the `.llamaCpp` C kernels run on AVX-512 VNNI (vpdpbusd), 0 on AVX2 (same bits either way).
    result["c_kernels_vnni"] = Q8Kernels.cInstructionSet == "avx512-vnni" ? 1 : 0
    for numerics in numericsList {
      let key = numerics.rawValue + "."
      let model = try LanguageModel.load(path: path, threads: threads, numerics: numerics)
      let vocab = Int32(model.config.vocabularySize)
      var rng = RuntimeKernelTests.Rng(s: 1)
      func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(vocab)) } }
      // SCAN_BENCH_TG_ONLY=1: generation only (quick A/B runs of decode changes).
      for n in env["SCAN_BENCH_TG_ONLY"] == "1" || decodeOnly ? [] : [64, 512] {
        let prompt = tokens(n)
        let session = model.makeSession(maxTokens: n, batchSize: 512)
        _ = try session.evaluate(tokens: Array(prompt.prefix(8)))  // warm-up (page in weights)
        var best = Double.infinity
        for _ in 0..<reps {
          session.reset()
          best = min(best, try Self.seconds { _ = try session.evaluate(tokens: prompt) })
        }
        result[key + "pp\(n)"] = Double(n) / best
      }
      if !decodeOnly {
        let session = model.makeSession(maxTokens: 80)
        var best = Double.infinity, bestCPU = Double.infinity
        for _ in 0..<reps {
          session.reset()
          _ = try session.evaluate(tokens: [1])
          let steps = tokens(64)
          let t = try Self.measure { for tok in steps { _ = try session.evaluate(tokens: [tok]) } }
          best = min(best, t.wall)
          bestCPU = min(bestCPU, t.cpu)
        }
        result[key + "tg64"] = 64 / best
        // CPU ms per generated token (every thread, spinning included): steadier than tg64 under load.
        result[key + "tg64_cpu_ms"] = bestCPU / 64 * 1000
      }
      if !quick && !decodeOnly {
        // 32 short prompts: one batched evaluation vs 32 single sessions (best of reps each).
        let prompts = (0..<32).map { _ in tokens(16) }
        var single = (wall: Double.infinity, cpu: Double.infinity), batched = single
        for _ in 0..<reps {
          let a = try Self.measure { for p in prompts { _ = try model.makeSession(maxTokens: 16).evaluate(tokens: p) } }
          let b = try Self.measure { _ = try model.evaluateBatch(prompts: prompts) }
          single = (min(single.wall, a.wall), min(single.cpu, a.cpu))
          batched = (min(batched.wall, b.wall), min(batched.cpu, b.cpu))
        }
        result[key + "batch32x16_single_s"] = single.wall
        result[key + "batch32x16_batched_s"] = batched.wall
        result[key + "batch32x16_speedup"] = single.wall / batched.wall
        result[key + "batch32x16_single_cpu_s"] = single.cpu
        result[key + "batch32x16_batched_cpu_s"] = batched.cpu
        result[key + "batch32x16_speedup_cpu"] = single.cpu / batched.cpu
      }
      if !quick && !decodeOnly {
        // 32 prompts of 16 tokens, each followed by K greedy tokens: K = 8 is what the behavioural detectors
        // run; K = 32 is a generation run as the reference prompts make (32-token continuations).
        // Single: one session per prompt (a 16-token GEMM, then K matrix-vector steps); batched: generateBatch.
        let prompts = (0..<32).map { _ in tokens(16) }
        for k in [8, 32] {
          var single = (wall: Double.infinity, cpu: Double.infinity), batched = single
          for _ in 0..<reps {
            let a = try Self.measure { for p in prompts { _ = try model.generate(prompt: p, maxTokens: k) } }
            let b = try Self.measure { _ = try model.generateBatch(prompts: prompts, maxTokens: k) }
            single = (min(single.wall, a.wall), min(single.cpu, a.cpu))
            batched = (min(batched.wall, b.wall), min(batched.cpu, b.cpu))
          }
          result[key + "gen32x16k\(k)_single_s"] = single.wall
          result[key + "gen32x16k\(k)_batched_s"] = batched.wall
          result[key + "gen32x16k\(k)_speedup"] = single.wall / batched.wall
          result[key + "gen32x16k\(k)_speedup_cpu"] = single.cpu / batched.cpu
        }
      }
      if !quick && !decodeOnly {
        // The detectors' prompts are chat-formatted: 32 battery requests in SmolLM2's own template (its default
        // system turn + user header: a shared prefix), evaluated alone (K = 1: the prompt and its first token) and
        // each followed by K = 8 greedy tokens. Single: 32 generate calls; batched with and without evaluating the
        // shared prefix once (`generateBatch(sharePrefix:)`).
        let generator = try TextGenerator.load(path: path, threads: threads, numerics: numerics)
        let format = ChatFormat(generator: generator)
        let requests = (0..<32).map { ProbeData.battery[$0 % ProbeData.battery.count] }
        let prompts = try requests.map { try format.tokens(request: $0, site: .userStart, trigger: nil) }
        var common = prompts[0].count
        for p in prompts.dropFirst() { common = min(common, zip(p, prompts[0]).prefix { $0 == $1 }.count) }
        result[key + "chat32_prompt_tokens_mean"] = Double(prompts.reduce(0) { $0 + $1.count }) / 32
        result[key + "chat32_shared_prefix_tokens"] = Double(common)
        for (label, k) in [("chat32", 1), ("chat32k8", 8)] {
          var single = Double.infinity, batched = single, shared = single
          for _ in 0..<reps {
            single = min(single, try Self.seconds { for p in prompts { _ = try generator.model.generate(prompt: p, maxTokens: k) } })
            batched = min(batched, try Self.seconds { _ = try generator.model.generateBatch(prompts: prompts, maxTokens: k, sharePrefix: false) })
            shared = min(shared, try Self.seconds { _ = try generator.model.generateBatch(prompts: prompts, maxTokens: k, sharePrefix: true) })
          }
          result[key + label + "_single_s"] = single
          result[key + label + "_batched_s"] = batched
          result[key + label + "_shared_s"] = shared
          result[key + label + "_speedup"] = single / batched
          result[key + label + "_shared_speedup"] = single / shared
        }
      }
      // Decode steps (what generateBatch runs per generated token): N sequences with 16-token prompts each
      // take `steps` one-token steps together; per-step time vs N times the one-sequence step.
      let steps = 8
      var oneStep = Double.nan, oneStepCPU = Double.nan
      for n in quick ? [1] : [1, 4, 8, 12, 32] {
        let prompts = (0..<n).map { _ in tokens(16) }
        let next = (0..<steps).map { _ in tokens(n) }
        let session = model.makeMultiSequenceSession(sequences: n, capacity: 16 + steps, batchSize: 16 * n)
        var best = Double.infinity, bestCPU = Double.infinity
        for _ in 0..<reps {
          session.reset()
          _ = try session.step(prompts.enumerated().map { (sequence: $0.offset, tokens: $0.element) })
          let t = try Self.measure {
            for s in 0..<steps { _ = try session.step((0..<n).map { (sequence: $0, tokens: [next[s][$0]]) }) }
          }
          best = min(best, t.wall / Double(steps))
          bestCPU = min(bestCPU, t.cpu / Double(steps))
        }
        if n == 1 { (oneStep, oneStepCPU) = (best, bestCPU) }
        result[key + "decode\(n)_step_s"] = best
        result[key + "decode\(n)_single_steps"] = best / oneStep
        result[key + "decode\(n)_speedup"] = Double(n) * oneStep / best
        result[key + "decode\(n)_step_cpu_s"] = bestCPU
        result[key + "decode\(n)_speedup_cpu"] = Double(n) * oneStepCPU / bestCPU
      }
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
