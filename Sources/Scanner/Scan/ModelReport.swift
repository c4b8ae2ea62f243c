import Formats

/// The scanner's overall judgement of one model.
public enum Verdict: String, Sendable, Comparable, CaseIterable {
  /// No finding above `low`, every detector in the chosen mode ran.
  case clean
  /// Findings at `medium` or `high` that are risk indicators, not proof.
  case suspicious
  /// A behavioural detector confirmed trigger-conditioned behaviour.
  case backdoored
  /// Malformed structure or code execution on load: do not load this file.
  case unsafe
  /// The scan itself failed (I/O error, unsupported input).
  case error

  private var rank: Int {
    switch self {
    case .clean: 0
    case .suspicious: 1
    case .backdoored: 2
    case .unsafe: 3
    case .error: 4
    }
  }
  public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
}

/// Everything the scanner concluded about one model input.
public struct ModelReport: Sendable {
  public let path: String
  public let format: String
  public let sha256: String?
  public let files: [(path: String, bytes: Int, sha256: String)]
  public var findings: [Finding]
  public var triggers: [TriggerCandidate]
  /// Wall-clock seconds per detector.
  public var timings: [(detector: String, seconds: Double)]
  /// What was not scanned and why (fail closed: a non-empty list means exit code 2, never `clean`).
  public var notScanned: [String]
  /// Coverage limits that do not make the scan incomplete (e.g. candidates left for `--mode full`).
  public var notes: [String] = []
  /// Findings accepted by the baseline file, with the justification.
  public var suppressed: [(finding: Finding, justification: String)]

  public init(path: String, format: String, sha256: String?, files: [(path: String, bytes: Int, sha256: String)],
              findings: [Finding] = [], triggers: [TriggerCandidate] = [], timings: [(String, Double)] = [],
              notScanned: [String] = [], suppressed: [(Finding, String)] = []) {
    self.path = path
    self.format = format
    self.sha256 = sha256
    self.files = files
    self.findings = findings
    self.triggers = triggers
    self.timings = timings.map { (detector: $0.0, seconds: $0.1) }
    self.notScanned = notScanned
    self.suppressed = suppressed.map { (finding: $0.0, justification: $0.1) }
  }

  /// The verdict, derived from the findings (documented in README "Verdicts").
  public var verdict: Verdict {
    if findings.contains(where: { $0.ruleID == Rules.unreadable.id || $0.ruleID == Rules.unrecognized.id }) { return .error }
    if findings.contains(where: { $0.ruleID == Rules.malformed.id }) { return .unsafe }
    if findings.contains(where: { $0.severity == .critical && ($0.ruleID.hasPrefix("PKL") || $0.ruleID.hasPrefix("WGT")) }) { return .unsafe }
    if findings.contains(where: { $0.ruleID.hasPrefix("BEH") && $0.severity >= .high }) { return .backdoored }
    if findings.contains(where: { $0.severity >= .medium }) { return .suspicious }
    return .clean
  }

  /// Whether the input was fully scanned in the requested mode.
  public var fullyScanned: Bool {
    notScanned.isEmpty && verdict != .error && !findings.contains { $0.ruleID == Rules.malformed.id }
  }

  /// The highest severity among the findings.
  public var maxSeverity: Severity? { findings.map(\.severity).max() }
}
