import Formats

/// How much a finding matters. Ordered: `info < low < medium < high < critical`.
public enum Severity: Int, Sendable, Comparable, CaseIterable {
  case info = 0, low, medium, high, critical

  public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

  /// The lowercase name used in flags and reports.
  public var name: String {
    switch self {
    case .info: "info"
    case .low: "low"
    case .medium: "medium"
    case .high: "high"
    case .critical: "critical"
    }
  }

  public init?(name: String) {
    guard let s = Severity.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
    self = s
  }
}

/// One piece of evidence behind a finding: a named value, optionally tied to a place in a file.
public struct Evidence: Sendable {
  public let label: String
  public let value: JSONNode
  public init(_ label: String, _ value: JSONNode) {
    self.label = label
    self.value = value
  }
  public init(_ label: String, _ value: String) { self.init(label, .string(value)) }
  public init(_ label: String, _ value: Int) { self.init(label, .int(value)) }
  public init(_ label: String, _ value: Double) { self.init(label, .double(value)) }
}

/// A detector's conclusion about one root cause, reproducible from the file alone.
public struct Finding: Sendable {
  /// Stable rule id (`FMT-GGUF-007`, `TPL-003`, ...), documented by `scan rules`.
  public let ruleID: String
  /// The detector that produced it.
  public let detector: String
  public let severity: Severity
  public let title: String
  public let detail: String
  /// The file the finding is about.
  public let file: String?
  /// Absolute byte offset in `file`, when the finding points at one.
  public let byteOffset: Int?
  public let evidence: [Evidence]

  public init(rule: Rule, detector: String, severity: Severity? = nil, title: String? = nil, detail: String,
              file: String? = nil, byteOffset: Int? = nil, evidence: [Evidence] = []) {
    self.ruleID = rule.id
    self.detector = detector
    self.severity = severity ?? rule.severity
    self.title = title ?? rule.title
    self.detail = detail
    self.file = file
    self.byteOffset = byteOffset
    self.evidence = evidence
  }
}

/// A candidate trigger for the behavioural detectors, with where it came from.
public struct TriggerCandidate: Sendable {
  public let text: String
  public let tokenIDs: [Int]?
  /// Which detector or list proposed it (`template-branch`, `builtin-list`, `embedding-delta`, ...).
  public let source: String
  /// How suspicious the source finds it (detector-specific scale, documented with the detector).
  public let score: Double
  /// The target behaviour, when known (a confirmed trigger's typical output).
  public let target: String?

  public init(text: String, tokenIDs: [Int]? = nil, source: String, score: Double, target: String? = nil) {
    self.text = text
    self.tokenIDs = tokenIDs
    self.source = source
    self.score = score
    self.target = target
  }
}
