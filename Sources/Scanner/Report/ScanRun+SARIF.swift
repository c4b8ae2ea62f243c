extension ScanRun {
  /// SARIF 2.1.0 for GitHub code scanning and other SARIF consumers: one run, one result per finding,
  /// every rule that fired in `tool.driver.rules`, locations by file URI (byte offsets in the region).
  public var sarif: JSONNode {
    var ruleIDs: [String] = []
    for r in reports { for f in r.findings where !ruleIDs.contains(f.ruleID) { ruleIDs.append(f.ruleID) } }
    let rules: [JSONNode] = ruleIDs.map { id in
      let rule = Rules.rule(id: id)
      return .object([
        ("id", .string(id)),
        ("name", .string((rule?.title ?? id).replacingSpaces())),
        ("shortDescription", .object([("text", .string(rule?.title ?? id))])),
        ("fullDescription", .object([("text", .string(rule?.summary ?? id))])),
        ("help", .object([("text", .string(rule?.remedy ?? ""))])),
        ("defaultConfiguration", .object([("level", .string(Self.level(rule?.severity ?? .medium)))])),
        ("properties", .object([("security-severity", .string(Self.securitySeverity(rule?.severity ?? .medium))),
                                ("tags", .array([.string("security")]))])),
      ])
    }
    var results: [JSONNode] = []
    for r in reports {
      for f in r.findings {
        var location: [(String, JSONNode)] = [("artifactLocation", .object([("uri", .string(Self.uri(f.file ?? r.path)))]))]
        if let o = f.byteOffset { location.append(("region", .object([("byteOffset", .int(o)), ("byteLength", .int(1))]))) }
        results.append(.object([
          ("ruleId", .string(f.ruleID)),
          ("ruleIndex", .int(ruleIDs.firstIndex(of: f.ruleID) ?? 0)),
          ("level", .string(Self.level(f.severity))),
          ("message", .object([("text", .string("\(f.title): \(f.detail)"))])),
          ("locations", .array([.object([("physicalLocation", .object(location))])])),
          ("properties", .object([("severity", .string(f.severity.name)), ("detector", .string(f.detector)),
                                  ("verdict", .string(r.verdict.rawValue))])),
        ]))
      }
    }
    return .object([
      ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
      ("version", .string("2.1.0")),
      ("runs", .array([.object([
        ("tool", .object([("driver", .object([
          ("name", .string("scan")), ("version", .string(scannerVersion)),
          ("informationUri", .string("https://example.invalid/scan")), ("rules", .array(rules)),
        ]))])),
        ("results", .array(results)),
        ("properties", .object([("verdict", .string(verdict.rawValue)), ("exitCode", .int(Int(exitCode)))])),
      ])])),
    ])
  }

  static func level(_ s: Severity) -> String {
    switch s {
    case .critical, .high: "error"
    case .medium: "warning"
    case .low, .info: "note"
    }
  }

  /// GitHub's `security-severity` scale (0-10).
  static func securitySeverity(_ s: Severity) -> String {
    switch s {
    case .critical: "9.5"
    case .high: "8.0"
    case .medium: "5.5"
    case .low: "3.0"
    case .info: "1.0"
    }
  }

  static func uri(_ path: String) -> String {
    var out = ""
    for b in path.utf8 {
      let c = Character(Unicode.Scalar(b))
      if c.isLetter && b < 128 || c.isNumber && b < 128 || "-._~/".contains(c) { out.append(c) } else {
        let h = String(b, radix: 16, uppercase: true)
        out += "%" + (h.count == 1 ? "0" + h : h)
      }
    }
    return out
  }
}

extension String {
  func replacingSpaces() -> String {
    String(split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())
  }
}
