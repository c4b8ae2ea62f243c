import Formats

/// Turns what Formats reports into findings: a rejected file is one critical finding (fail closed),
/// anomalies are grouped one finding per kind (a root cause, not one per tensor).
///
/// Severity rules: malformed => critical (`FMT-001`, verdict `unsafe`); unreferenced bytes or non-zero
/// padding => high; reader differentials => high; what llama.cpp refuses => medium; legacy versions,
/// invalid BOOLs => low; cosmetic header oddities => info.
public enum StructureDetector {
  public static let name = "structure"

  /// The finding for a file that could not be read.
  public static func finding(for error: ScanError) -> Finding {
    switch error {
    case .format(let e):
      if case .file = e.kind {
        return Finding(rule: Rules.unreadable, detector: name, detail: e.description, file: e.path)
      }
      return Finding(rule: Rules.malformed, detector: name, detail: e.description, file: e.path, byteOffset: e.byteOffset,
        evidence: [Evidence("rule_broken", e.rule)] + (e.byteOffset.map { [Evidence("byte_offset", $0)] } ?? []))
    case .unrecognized(let path, let detail):
      return Finding(rule: Rules.unrecognized, detector: name, detail: detail, file: path)
    case .usage(let m):
      return Finding(rule: Rules.unreadable, detector: name, detail: m)
    }
  }

  static func rule(for code: Anomaly.Code) -> Rule {
    switch code {
    case .ggufNestedArray, .ggufNonContiguousOffset, .ggufLongTensorName, .ggufTooManyDimensions, .ggufBigEndian:
      Rules.llamaCppRefuses
    case .ggufNonZeroPadding, .ggufTrailingBytes, .ggufGapBetweenTensors: Rules.hiddenBytes
    case .ggufLegacyVersion: Rules.legacyGGUF
    case .ggufInvalidBool, .ggufUnreadableKeyName: Rules.invalidBool
    case .safetensorsDuplicateKey, .safetensorsLeadingWhitespace: Rules.readerDifferential
    case .safetensorsUnknownField, .safetensorsHeaderNotPadded, .safetensorsOddName: Rules.oddHeader
    case .ggufSplitMismatch, .shardMissingFromIndex, .indexEntryMissing, .indexTotalSizeMismatch,
      .duplicateTensorAcrossShards:
      Rules.shardMismatch
    }
  }

  /// One finding per (file, anomaly kind), with the first occurrences as evidence.
  public static func findings(for anomalies: [(file: String, anomaly: Anomaly)]) -> [Finding] {
    var groups: [(key: String, items: [(String, Anomaly)])] = []
    var index: [String: Int] = [:]
    for (file, a) in anomalies {
      let key = file + "\u{0}" + a.code.rawValue
      if let i = index[key] { groups[i].items.append((file, a)) } else {
        index[key] = groups.count
        groups.append((key, [(file, a)]))
      }
    }
    return groups.map { g in
      let (file, first) = g.items[0]
      let more = g.items.count > 1 ? " (and \(g.items.count - 1) more like it)" : ""
      var evidence = [Evidence("anomaly", first.code.rawValue), Evidence("occurrences", g.items.count)]
      for (_, a) in g.items.prefix(5) {
        evidence.append(Evidence("at", .object([("offset", .int(a.byteOffset)), ("subject", a.subject.map { .string($0) } ?? .null),
                                                   ("message", .string(a.message))])))
      }
      return Finding(rule: rule(for: first.code), detector: name, detail: first.message + more, file: file,
        byteOffset: first.byteOffset, evidence: evidence)
    }
  }

  /// Findings for an opened input's anomalies.
  public static func findings(for input: ModelInput) -> [Finding] {
    switch input {
    case .gguf(let set):
      var all: [(String, Anomaly)] = []
      for s in set.shards { all += s.anomalies.map { (s.file.path, $0) } }
      all += set.anomalies.map { (set.shards[0].file.path, $0) }
      return findings(for: all)
    case .safetensors(let files, let sharded, _):
      var all: [(String, Anomaly)] = []
      for f in files { all += f.anomalies.map { (f.file.path, $0) } }
      if let s = sharded { all += s.anomalies.map { (s.indexPath, $0) } }
      return findings(for: all)
    }
  }
}
