extension ScanRun {
  /// The human-readable report: a verdict line per model, then findings grouped by severity with evidence.
  public func text(color: Bool) -> String {
    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    // Everything the scanned files wrote goes through `safe`: only our own colour codes reach the terminal.
    let safe = TerminalText.safe
    func verdictLabel(_ v: Verdict) -> String {
      switch v {
      case .clean: paint("CLEAN", "1;32")
      case .suspicious: paint("SUSPICIOUS", "1;33")
      case .backdoored: paint("BACKDOORED", "1;31")
      case .unsafe: paint("UNSAFE", "1;31")
      case .error: paint("ERROR", "1;35")
      }
    }
    func sevLabel(_ s: Severity) -> String {
      switch s {
      case .critical: paint("critical", "1;31")
      case .high: paint("high", "31")
      case .medium: paint("medium", "33")
      case .low: paint("low", "36")
      case .info: paint("info", "2")
      }
    }
    var out = ""
    for r in reports {
      let scope = !r.fullyScanned && r.verdict == .clean ? " (incomplete: see not scanned)"
        : options.mode == .static && r.verdict == .clean ? " (static checks only; behaviour not tested)" : ""
      out += "\(verdictLabel(r.verdict))\(scope)  \(safe(r.path))  [\(r.format)\(r.sha256.map { ", sha256 " + String($0.prefix(16)) + "…" } ?? "")]\n"
      for sev in Severity.allCases.reversed() {
        let fs = r.findings.filter { $0.severity == sev }
        for f in fs {
          out += "  \(sevLabel(sev)) \(f.ruleID) \(f.title)\n"
          out += "      \(safe(f.detail))\n"
          if let file = f.file, file != r.path || f.byteOffset != nil {
            out += "      at \(safe(file))\(f.byteOffset.map { " offset \($0)" } ?? "")\n"
          }
          // Info findings: one line; their evidence is in the JSON report.
          if sev == .info { continue }
          if f.ruleID.hasPrefix("BEH") {
            // Behaviour: the trigger, the target and effect sizes, then example answers.
            let order = ["trigger", "site", "target", "target agreement", "answers changed", "answers changed in 1-2 words",
                         "answers unique to this date", "z agreement", "z subtle", "controls", "partial triggers"]
            for label in order {
              if let e = f.evidence.first(where: { $0.label == label }) { out += "      \(label): \(safe(e.value.serialized()))\n" }
            }
            if case .array(let examples)? = f.evidence.first(where: { $0.label == "examples" })?.value {
              for case .object(let fields) in examples.prefix(2) {
                let parts = fields.map { "\($0.0): \(safe($0.1.serialized()))" }
                out += "      example: " + parts.joined(separator: " | ") + "\n"
              }
            }
          } else {
            for e in f.evidence.prefix(6) where e.label != "anomaly" {
              out += "      \(e.label): \(safe(e.value.serialized()))\n"
            }
          }
        }
      }
      for t in r.triggers.prefix(5) {
        let target = t.target.map { " -> " + JSONNode.string(String($0.prefix(100))).serialized() } ?? ""
        out += "  candidate \(safe(JSONNode.string(t.text).serialized())) score \((t.score * 100).rounded() / 100)\(safe(target)) (\(t.source))\n"
      }
      for s in r.suppressed {
        out += "  accepted by baseline: \(s.finding.ruleID) \(s.finding.title) — \(safe(s.justification))\n"
      }
      for n in r.notScanned { out += "  " + paint("not scanned: ", "1;35") + safe(n) + "\n" }
      for n in r.notes { out += "  note: " + safe(n) + "\n" }
      if !r.timings.isEmpty {
        out += "  time: " + r.timings.map { "\($0.detector) \(String(format3($0.seconds)))s" }.joined(separator: ", ") + "\n"
      }
    }
    if !skipped.isEmpty {
      out += "skipped \(skipped.count) non-model file\(skipped.count == 1 ? "" : "s"):\n"
      for s in skipped.prefix(20) { out += "  \(safe(s.path)): \(safe(s.reason))\n" }
      if skipped.count > 20 { out += "  … and \(skipped.count - 20) more\n" }
    }
    let counts = Verdict.allCases.compactMap { v -> String? in
      let n = reports.filter { $0.verdict == v }.count
      return n > 0 ? "\(n) \(v.rawValue)" : nil
    }
    out += "\(reports.count) model\(reports.count == 1 ? "" : "s") scanned (\(options.mode.rawValue)): \(counts.joined(separator: ", ")); verdict \(verdictLabel(verdict)); exit \(exitCode)\n"
    return out
  }
}

/// `x` as a whole number for report text; a value no `Int` can hold (NaN, infinite, beyond ±1e15: a hostile file's
/// statistics) is printed as it is instead of trapping in the conversion.
func wholeNumber(_ x: Double) -> String {
  guard x.isFinite, abs(x) < 1e15 else { return "\(x)" }
  return String(Int(x))
}

func format3(_ x: Double) -> String {
  let v = (x * 1000).rounded() / 1000
  return String(v)
}
