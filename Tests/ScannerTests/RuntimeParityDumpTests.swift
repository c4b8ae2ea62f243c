import Foundation
import Formats
import Testing

@testable import Scanner

/// Diagnostic, not a check: writes our passage logits (every position, full vocabulary, float32 rows) to
/// `$SCAN_PARITY_DUMP/<model>-<numerics>-<mode>.f32` so Tests/Fixtures/runtime/compare_parity.py can compare
/// them with llama.cpp position by position. `mode` is `chunk100` (the passage test's 100-token batches)
/// or `single` (one token per forward call: the matrix-vector kernels). Gated by SCAN_PARITY_DUMP.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_PARITY_DUMP"] != nil))
struct RuntimeParityDumpTests {
  @Test(arguments: ["chunk100", "single"])
  func dumpPassageLogits(mode: String) throws {
    let env = ProcessInfo.processInfo.environment
    let dir = try #require(env["SCAN_PARITY_DUMP"])
    let modelFile = env["SCAN_PARITY_MODEL"] ?? "SmolLM2-135M-Instruct.Q4_1.gguf"
    let refsFile = env["SCAN_PARITY_REFS"] ?? "smollm2-q4_1-llamacpp-refs.json"
    let numerics = env["SCAN_NUMERICS"].flatMap { Numerics(rawValue: $0) } ?? .llamaCpp
    if let only = env["SCAN_PARITY_MODE"], only != mode { return }
    let refs = try RuntimeRealModelTests.loadRefs(refsFile)
    let model = try LanguageModel.load(path: "\(RuntimeRealModelTests.modelDirectory)/\(modelFile)", threads: 2, numerics: numerics)
    let session = model.makeSession(maxTokens: refs.passage.count, batchSize: 256)
    let step = mode == "single" ? 1 : 100
    var data = Data()
    var start = 0
    while start < refs.passage.count {
      let end = min(refs.passage.count, start + step)
      let out = try session.evaluate(tokens: Array(refs.passage[start..<end]), capture: CaptureRequest(logitPositions: .all))
      for pl in out.positionLogits { pl.logits.withUnsafeBufferPointer { data.append(Data(buffer: $0)) } }
      start = end
    }
    let url = URL(fileURLWithPath: dir).appendingPathComponent("\(modelFile)-\(numerics)-\(mode).f32")
    try data.write(to: url)
    print("wrote \(url.path): \(refs.passage.count) positions")
  }
}
