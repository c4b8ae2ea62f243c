import Formats

/// How much of the model the scan runs.
public enum ScanMode: String, Sendable, CaseIterable {
  /// No model execution: structure, metadata and weight-file checks only.
  case `static`
  /// Behavioural detectors with a small budget.
  case quick
  /// Behavioural detectors with the full budget.
  case full
}

/// Options for a scan, as the CLI sets them.
public struct ScanOptions: Sendable {
  public var mode: ScanMode = .static
  public var threads: Int? = nil
  public var failOn: Severity = .high
  public var baseline: Baseline? = nil
  public var basePath: String? = nil
  public var hash = true
  /// Extra candidate triggers and probe requests (`--triggers FILE`, `--prompts FILE`), one per line.
  public var userTriggers: [String] = []
  public var userPrompts: [String] = []
  /// Overrides the mode's behavioural budget (tests, benchmarks).
  public var budgetOverride: BehaviourBudget? = nil
  /// Where the behavioural detectors write their diagnostic trace (nil: nowhere).
  public var behaviourLog: (@Sendable (String) -> Void)? = nil
  public init() {}

  /// Non-empty lines of a text file (`--triggers`, `--prompts`), without surrounding whitespace; `#` starts a comment line.
  /// - Throws: ``ScanError/usage(_:)`` when the file cannot be read, is not UTF-8, or has more than 10,000 lines.
  public static func readList(path: String) throws(ScanError) -> [String] {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw .usage("\(path): \(error)") }
    guard let text = file.withBytes({ String(validating: $0, as: UTF8.self) }) else { throw .usage("\(path): not UTF-8 text") }
    let lines = text.split(separator: "\n").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    guard lines.count <= 10_000 else { throw .usage("\(path): more than 10,000 lines") }
    return lines
  }

  /// The behavioural budget of the mode, or nil for `--mode static`.
  public var behaviourBudget: BehaviourBudget? {
    if let budgetOverride { return budgetOverride }
    switch mode {
    case .static: return nil
    case .quick: return .quick
    case .full: return .full
    }
  }
}

/// A registry's accepted findings: (file sha256, rule id) pairs, each with a written justification.
public struct Baseline: Sendable {
  public struct Entry: Sendable {
    public let sha256: String
    public let ruleID: String
    public let justification: String
  }
  public let entries: [Entry]

  /// Loads `{"entries": [{"sha256": "...", "rule": "FMT-GGUF-001", "justification": "why"}]}`.
  /// - Throws: ``ScanError/usage(_:)`` when the file is malformed or an entry lacks a justification.
  public static func load(path: String) throws(ScanError) -> Baseline {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw .usage("baseline \(path): \(error)") }
    let doc: JSONParser.Document
    do { doc = try file.withBytes { (b) throws(JSONError) in try JSONParser.parse(b) } } catch {
      throw .usage("baseline \(path): offset \(error.offset): \(error)")
    }
    guard let list = doc.value["entries"]?.array else { throw .usage("baseline \(path): no 'entries' array") }
    var entries: [Entry] = []
    for (i, e) in list.enumerated() {
      guard let sha = e["sha256"]?.string, sha.count == 64, let rule = e["rule"]?.string else {
        throw .usage("baseline \(path): entry \(i) needs 'sha256' (64 hex chars) and 'rule'")
      }
      guard let why = e["justification"]?.string, why.trimmingWhitespace().count >= 10 else {
        throw .usage("baseline \(path): entry \(i) (\(rule)) needs a written 'justification' (at least 10 characters)")
      }
      entries.append(Entry(sha256: sha.lowercased(), ruleID: rule, justification: why))
    }
    return Baseline(entries: entries)
  }

  func justification(sha256: String?, ruleID: String) -> String? {
    guard let sha256 else { return nil }
    return entries.first { $0.sha256 == sha256 && $0.ruleID == ruleID }?.justification
  }
}

extension String {
  /// The string without leading and trailing spaces, tabs and newlines.
  func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
    return String(s)
  }
}
