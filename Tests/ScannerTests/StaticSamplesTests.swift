import Foundation
import Formats
import Testing
@testable import Scanner

/// Static detectors on the committed samples whose answer is known: each static-attack sample gives its
/// expected finding, and clean models (tiny samples in static mode, real SmolLM2 / Gemma 3) give nothing above low.
@Suite struct StaticSamplesTests {
  static let manifest: JSONValue? = try? JSONParser.parse(
    Array(FileManager.default.contents(atPath: CLI.repoRoot + "/samples/MANIFEST.json") ?? Data())).value

  static let expectedRule: [String: (rule: String, verdict: Verdict)] = [
    "chat-template": ("TPL-002", .suspicious),
    "metadata-contradiction": ("MD-001", .suspicious),
    "pickle": ("PKL-001", .unsafe),
  ]

  static var staticCases: [String] {
    (manifest?["static"]?.array ?? []).flatMap { s in
      (s["files"]?.array ?? []).compactMap { f in f["path"]?.string.map { "\(s["kind"]?.string ?? "")|\($0)" } }
    }
  }

  @Test(arguments: StaticSamplesTests.staticCases)
  func staticAttackSampleGivesExpectedFinding(_ c: String) throws {
    let parts = c.split(separator: "|").map(String.init)
    let (kind, path) = (parts[0], parts[1])
    let expected = try #require(Self.expectedRule[kind], "no expectation for kind \(kind)")
    let run = ModelScanner.scan(paths: [CLI.repoRoot + "/samples/" + path], options: ScanOptions())
    let report = try #require(run.reports.first)
    #expect(report.findings.contains { $0.ruleID == expected.rule && $0.severity >= .high }, "\(report.findings.map(\.ruleID))")
    #expect(report.verdict == expected.verdict)
    #expect(run.exitCode == 1)
  }

  /// Clean and benign-fine-tuned samples, and the backdoored ones whose backdoor lives only in the weights,
  /// raise nothing above low in static mode: the static detectors do not cry wolf on ordinary models.
  /// The special-token sample is the exception: its planted `<|sudo|>` is visible in the vocabulary.
  @Test func tinySamplesAreQuietInStaticMode() throws {
    let run = ModelScanner.scan(paths: [CLI.repoRoot + "/samples/tiny"], options: ScanOptions())
    #expect(run.reports.count >= 20)
    for r in run.reports where !r.path.contains("/special-token/") {
      #expect(r.findings.allSatisfy { $0.severity <= .low }, "\(r.path): \(r.findings.map { "\($0.ruleID) \($0.detail)" })")
      #expect(r.timings.map(\.detector).contains(WeightStatistics.name))
    }
    let planted = run.reports.filter { $0.path.contains("/special-token/") }
    #expect(planted.count == 3)
    for r in planted {
      #expect(r.findings.contains { $0.ruleID == "TOK-001" && $0.severity >= .high }, "\(r.path)")
      #expect(r.triggers.contains { $0.text == "<|sudo|>" && $0.source == "tokenizer" })
      #expect(r.verdict == .suspicious)
    }
  }

  @Test(.enabled(if: ReferenceModels.available), arguments: ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"])
  func realModelsAreQuiet(_ name: String) throws {
    let run = ModelScanner.scan(paths: [CLI.repoRoot + "/samples/.cache/real/" + name], options: ScanOptions())
    let r = try #require(run.reports.first)
    #expect(r.findings.allSatisfy { $0.severity <= .low }, "\(r.findings.map { "\($0.ruleID) \($0.detail)" })")
    #expect(r.verdict == .clean)
    #expect(run.exitCode == 0)
  }
}

enum ReferenceModels {
  static var available: Bool {
    ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"
      && FileManager.default.fileExists(atPath: CLI.repoRoot + "/samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf")
  }
}
