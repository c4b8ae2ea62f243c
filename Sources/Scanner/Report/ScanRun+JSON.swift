extension Finding {
  var json: JSONNode {
    .object([
      ("id", .string(ruleID)), ("detector", .string(detector)), ("severity", .string(severity.name)),
      ("title", .string(title)), ("detail", .string(detail)),
      ("file", file.map { .string($0) } ?? .null), ("byte_offset", byteOffset.map { .int($0) } ?? .null),
      ("evidence", .object(evidence.map { ($0.label, $0.value) })),
    ])
  }
}

extension TriggerCandidate {
  var json: JSONNode {
    .object([
      ("text", .string(text)), ("token_ids", tokenIDs.map { .array($0.map { .int($0) }) } ?? .null),
      ("source", .string(source)), ("score", .double(score)), ("target", target.map { .string($0) } ?? .null),
    ])
  }
}

extension ScanRun {
  /// The JSON report. Its schema is `docs/report.schema.json` (schema_version 1).
  public var json: JSONNode {
    .object([
      ("schema_version", .int(1)),
      ("scanner", .object([("name", .string("scan")), ("version", .string(scannerVersion))])),
      ("mode", .string(options.mode.rawValue)),
      ("fail_on", .string(options.failOn.name)),
      ("verdict", .string(verdict.rawValue)),
      ("exit_code", .int(Int(exitCode))),
      ("models", .array(reports.map(\.json))),
      ("skipped", .array(skipped.map { .object([("path", .string($0.path)), ("reason", .string($0.reason))]) })),
    ])
  }
}

extension ModelReport {
  var json: JSONNode {
    .object([
      ("path", .string(path)),
      ("format", .string(format)),
      ("sha256", sha256.map { .string($0) } ?? .null),
      ("files", .array(files.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes)), ("sha256", .string($0.sha256))]) })),
      ("verdict", .string(verdict.rawValue)),
      ("fully_scanned", .bool(fullyScanned)),
      ("not_scanned", .array(notScanned.map { .string($0) })),
      ("notes", .array(notes.map { .string($0) })),
      ("findings", .array(findings.sorted { $0.severity > $1.severity }.map(\.json))),
      ("suppressed", .array(suppressed.map { .object([("finding", $0.finding.json), ("justification", .string($0.justification))]) })),
      ("triggers", .array(triggers.map(\.json))),
      ("timings", .object(timings.map { ($0.detector, .double(($0.seconds * 1e6).rounded() / 1e6)) })),
    ])
  }
}
