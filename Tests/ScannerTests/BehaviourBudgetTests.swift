import Foundation
import Testing

@testable import Formats
@testable import Scanner

/// The behavioural budget counts forward-pass work, not wall-clock time: the same model scanned with a budget
/// that cuts candidates gives the same findings, triggers and cuts on one thread under load as on two idle ones.
@Suite(.serialized) struct BehaviourBudgetTests {
  /// Everything a report says except how long it took: durations ("4.2 s") are blanked.
  static func substance(_ r: ModelReport) -> [String] {
    func blank(_ s: String) -> String {
      s.replacingOccurrences(of: #"[0-9]+(\.[0-9]+)? s\b"#, with: "_ s", options: .regularExpression)
    }
    var lines = ["verdict \(r.verdict.rawValue)"]
    lines += r.findings.map { f in blank("\(f.ruleID) \(f.detail) " + f.evidence.map { "\($0.label)=\($0.value.serialized())" }.joined(separator: " ")) }
    lines += r.triggers.map { "trigger \($0.text.debugDescription) \($0.source) \($0.score) \($0.target ?? "-")" }
    lines += r.notes.map(blank)
    return lines
  }

  /// Spins `count` threads until `stop` is set: a loaded machine.
  final class Load: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    var isStopped: Bool { lock.withLock { stopped } }
    func stop() { lock.withLock { stopped = true } }
    func start(_ count: Int) {
      for _ in 0..<count {
        Thread.detachNewThread { [self] in
          var x = 0.0
          while !isStopped { for i in 0..<100_000 { x += Double(i).squareRoot() } }
          if x < 0 { print(x) }
        }
      }
    }
  }

  @Test func sameResultOnOneLoadedThreadAsOnTwo() throws {
    let path = CLI.repoRoot + "/samples/tiny/rarephrase/rarephrase.q8_0.gguf"
    var options = ScanOptions()
    options.mode = .quick
    // About two thirds of what this model's quick scan does (~11 G multiply-adds): the budget must cut candidates.
    var budget = BehaviourBudget.quick
    budget.seconds = 8e9 / BehaviourBudget.referenceRate
    options.budgetOverride = budget
    options.threads = 2
    let idle = ModelScanner.scanModel(path: path, options: options)
    options.threads = 1
    let load = Load()
    load.start(2)
    let loaded = ModelScanner.scanModel(path: path, options: options)
    load.stop()
    #expect(idle.notScanned.isEmpty, "\(idle.notScanned)")
    // Not vacuous: the budget cut the candidate list.
    #expect(idle.notes.contains { $0.contains("not screened within the budget") }, "\(idle.notes)")
    let a = Self.substance(idle), b = Self.substance(loaded)
    #expect(a == b, "\(zip(a, b).filter { $0 != $1 }) (\(a.count) vs \(b.count) lines)")
    // The backdoor is still found within the cut budget (its trigger comes from leakage, screened first).
    #expect(idle.verdict == .backdoored)
  }

  /// The work counter follows the forward pass: a prompt of n tokens costs n x (layers + output head) plus
  /// its attention, and nothing when no pass runs.
  @Test func workCountsTokensThroughTheModel() throws {
    let file = try GGUFFile.open(path: CLI.repoRoot + "/samples/tiny/clean/clean.f32.gguf")
    let model = try LanguageModel.load(gguf: file, threads: 1)
    #expect(model.workDone == 0)
    let session = model.makeSession(maxTokens: 16)
    _ = try session.evaluate(tokens: [1, 2, 3, 4])
    let c = model.config
    let attention = (1 + 2 + 3 + 4) * c.layerCount * c.headCount * (c.headDimension + c.valueHeadDimension)
    // Only the last position's logits were computed: one output-head row set.
    let head = c.vocabularySize * c.embeddingLength
    #expect(model.workDone == 4 * (model.workPerToken - head) + attention + head)
    let before = model.workDone
    _ = try session.evaluate(tokens: [5])
    #expect(model.workDone - before == model.workPerToken + 5 * c.layerCount * c.headCount * (c.headDimension + c.valueHeadDimension))
  }
}
