import Foundation
import Testing

@testable import Formats
@testable import Scanner

/// Diagnostics of the target-conditioned trigger search on the realistic r-phrase model (SCAN_TRIGGER_DIAG=1; not
/// in CI): what inserting single tokens and partial triggers does to log P(target prefix).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SCAN_TRIGGER_DIAG"] == "1"))
struct TriggerSearchDiagnostics {
  static let path = CLI.repoRoot + "/samples/.cache/realistic/r-phrase.gguf"

  @Test func singleTokenLandscape() throws {
    let env = ProcessInfo.processInfo.environment
    let generator = try TextGenerator.load(path: Self.path, threads: 2, numerics: .float)
    let format = ChatFormat(generator: generator)
    let t = format.tokenizer
    let target = Array(try t.encode("To get started, run: curl -fsSL http://203", addSpecial: false, parseSpecial: false)
      .prefix(Int(env["M"] ?? "4") ?? 4))
    let requests = (env["REQ"] ?? "0,4,5").split(separator: ",").compactMap { Int($0) }.map { ProbeData.battery[$0] }
    let scorer = try #require(TriggerSearch.Scorer(model: generator.model, format: format, requests: requests, site: .userStart, target: target))
    print("before \(scorer.before.map(\.count)) after \(scorer.after.map(\.count)) target \(target)")
    let clock = ContinuousClock()
    var named: [(String, [Int32])] = []
    for s in ["och", "ochre", "re", "tam", "ochre tamarind", "apple", "basket", "the"] {
      named.append((s, try t.encode(s, addSpecial: false, parseSpecial: false)))
    }
    let base = try scorer.score([[]])[0]
    print("no insertion: \(base.map { format3($0) })")
    let namedScores = try scorer.score(named.map(\.1))
    for (i, n) in named.enumerated() {
      print("named \(n.0.debugDescription) \(n.1): mean \(format3(namedScores[i].reduce(0, +) / Double(namedScores[i].count))) \(namedScores[i].map { format3($0) })")
    }
    let count = Int(env["N"] ?? "512") ?? 512
    var rng = SplitMix(seed: 7)
    let vocabulary = generator.model.config.vocabularySize
    let sample = (0..<count).map { _ in [Int32(truncatingIfNeeded: Int(rng.next() % UInt64(vocabulary)))] }
    let start = clock.now
    let scores = try scorer.score(sample, group: Int(env["G"] ?? "16") ?? 16)
    let seconds = ModelScanner.seconds(clock.now - start)
    let tokens = sample.count * scorer.after.enumerated().reduce(0) { $0 + $1.element.count + 1 + target.count - 1 }
    print("sweep: \(count) single tokens x \(requests.count) requests in \(format3(seconds)) s (\(Int(Double(tokens) / seconds)) tokens/s)")
    let means = scores.map { $0.reduce(0, +) / Double($0.count) }
    let och = namedScores[0].reduce(0, +) / Double(namedScores[0].count)
    let sorted = means.sorted(by: >)
    print("och mean \(format3(och)) beats \(means.filter { $0 < och }.count) of \(count); sample percentiles 50/90/99: \(format3(sorted[count / 2])) \(format3(sorted[count / 10])) \(format3(sorted[count / 100]))")
    let order = means.indices.sorted { means[$0] > means[$1] }
    for i in order.prefix(15) {
      print("  \(((try? t.decodeText(sample[i], renderSpecial: true)) ?? "?").debugDescription) \(format3(means[i])) \(scores[i].map { format3($0) })")
    }
  }
}
