import Formats

/// Audits chat templates (GGUF `tokenizer.chat_template*`, `tokenizer_config.json` `chat_template`) for
/// inference-time backdoors: branches gated on what the user wrote or on the date, text injected by such
/// branches, sandbox escapes, hidden characters and URLs.
///
/// Severity rules: sandbox-escape constructs (`__class__`, `__globals__`, ...) => critical (`TPL-005`);
/// a branch whose condition tests message content against a literal, or the date => high (`TPL-002`),
/// its literals become trigger candidates; hidden/bidi characters => high (`TPL-004`); URLs => medium
/// (`TPL-003`); a template that does not parse => medium (`TPL-001`). Conditions that compare content with
/// markup such as `<think>` or `<tool_response>` are structural (real families do this) and not flagged.
public enum ChatTemplateAudit {
  public static let name = "chat-template"

  /// A template found in a model, with where it came from.
  public struct Source: Sendable {
    public let name: String
    public let text: String
    public let file: String
    public let byteOffset: Int?
  }

  public struct Outcome: Sendable {
    public var findings: [Finding] = []
    public var triggers: [TriggerCandidate] = []
  }

  /// Every chat template the input carries.
  public static func templates(in input: ModelInput) -> [Source] {
    switch input {
    case .gguf(let set):
      let g = set.shards[0]
      return g.metadata.compactMap { e in
        guard e.key == "tokenizer.chat_template" || e.key.hasPrefix("tokenizer.chat_template."), let s = e.value.string else { return nil }
        return Source(name: e.key, text: s, file: g.file.path, byteOffset: e.valueByteOffset)
      }
    case .safetensors(_, _, let folder):
      guard let folder else { return [] }
      // Every template any reader could pick: the template files (chat_template.jinja wins in transformers) and
      // tokenizer_config.json's (older readers), so a payload cannot hide in the one we would not look at.
      var out: [Source] = []
      for path in folder.chatTemplateFiles {
        if path.hasSuffix(".jinja") {
          guard let f = try? MappedFile(path: path) else { continue }
          let text = f.withBytes { String(decoding: $0, as: UTF8.self) }
          let name = path.hasSuffix("/chat_template.jinja")
            ? "chat_template.jinja" : "additional_chat_templates/" + (path.split(separator: "/").last.map(String.init) ?? "?")
          out.append(Source(name: name, text: text, file: path, byteOffset: 0))
        } else {
          out += jsonTemplates(path, prefix: "chat_template.json")
        }
      }
      if let path = folder.tokenizerConfigJSON { out += jsonTemplates(path, prefix: "chat_template") }
      return out
    }
  }

  /// The `chat_template` member of a JSON file: one string, or a list of `{name, template}`.
  static func jsonTemplates(_ path: String, prefix: String) -> [Source] {
    guard let f = try? MappedFile(path: path),
          let doc = try? f.withBytes({ (b) throws(JSONError) in try JSONParser.parse(b) }) else { return [] }
    switch doc.value["chat_template"] {
    case .string(let s): return [Source(name: prefix, text: s, file: path, byteOffset: nil)]
    case .array(let items):
      return items.compactMap { item in
        guard let t = item["template"]?.string else { return nil }
        return Source(name: prefix + "." + (item["name"]?.string ?? "?"), text: t, file: path, byteOffset: nil)
      }
    default: return []
    }
  }

  /// Audits every template of `input`.
  public static func audit(_ input: ModelInput) -> Outcome {
    var out = Outcome()
    for t in templates(in: input) { audit(t, into: &out) }
    return out
  }

  static let escapeNames: Set<String> = ["__class__", "__globals__", "__subclasses__", "__builtins__", "__mro__",
    "__base__", "__bases__", "__init__", "__dict__", "__import__", "__getattribute__", "func_globals", "_TemplateReference__context"]
  static let escapeGlobals: Set<String> = ["cycler", "joiner", "lipsum", "self", "config", "request", "range.__init__"]

  public static func audit(_ t: Source, into out: inout Outcome) {
    let hidden = t.text.unicodeScalars.filter(isHidden)
    if !hidden.isEmpty {
      out.findings.append(Finding(rule: Rules.templateHiddenCharacters, detector: name,
        detail: "\(t.name) contains \(hidden.count) invisible or bidi control characters (\(Set(hidden.map { "U+" + String($0.value, radix: 16, uppercase: true) }).sorted().prefix(6).joined(separator: ", ")))",
        file: t.file, byteOffset: t.byteOffset))
    }
    if let f = TemplateFingerprint.finding(for: t) { out.findings.append(f) }
    let template: ChatTemplate
    do { template = try ChatTemplate.parse(t.text) } catch {
      out.findings.append(Finding(rule: Rules.templateUnparsable, detector: name, detail: "\(t.name): \(error)",
        file: t.file, byteOffset: t.byteOffset))
      return
    }
    let lines = t.text.split(separator: "\n", omittingEmptySubsequences: false)
    func line(_ loc: SourceLocation) -> String {
      let l = loc.line - 1
      guard l >= 0, l < lines.count else { return "" }
      let s = String(lines[l])
      return s.count > 240 ? String(s.prefix(240)) + "…" : s
    }

    var gates: [(loc: SourceLocation, literals: [String], date: Bool)] = []
    var gatedOutputs: [SourceLocation: [String]] = [:]  // gate condition -> literal text emitted under it
    var escapes: [(SourceLocation, String)] = []
    var urls: Set<String> = []
    template.walk { event, context in
      switch event {
      case .expression(let e, let role):
        e.walk { sub in
          switch sub.kind {
          case .attribute(_, let n) where escapeNames.contains(n) || n.hasPrefix("__"): escapes.append((sub.location, n))
          case .item(_, let idx):
            if case .string(let n) = idx.kind, escapeNames.contains(n) || n.hasPrefix("__") { escapes.append((sub.location, n)) }
          case .name(let n) where escapeGlobals.contains(n): escapes.append((sub.location, n))
          case .string(let s): for u in findURLs(s) { urls.insert(u) }
          default: break
          }
        }
        if role == .condition || role == .loopFilter, let g = contentGate(e) {
          if !gates.contains(where: { $0.loc == e.location }) { gates.append((e.location, g.literals, g.date)) }
        }
        if role == .output {
          for guardCond in context.guards where contentGate(guardCond.condition) != nil {
            gatedOutputs[guardCond.condition.location, default: []] += literals(in: e)
          }
        }
      case .node(let n):
        if case .text(let s) = n.kind {
          for u in findURLs(s) { urls.insert(u) }
        }
      }
    }
    for (loc, what) in escapes.prefix(1) {
      out.findings.append(Finding(rule: Rules.templateSandboxEscape, detector: name,
        detail: "\(t.name) line \(loc.line): uses '\(what)', a construct used to escape the Jinja sandbox (SSTI); \(escapes.count) such uses",
        file: t.file, byteOffset: t.byteOffset, evidence: [Evidence("line", line(loc))]))
    }
    for g in gates {
      let injected = gatedOutputs[g.loc] ?? []
      let what = g.date ? "the current date" : "what the message says"
      // Injection is what makes a gate a backdoor; a bare content test (reasoning toggles such as '/think') is low.
      out.findings.append(Finding(rule: injected.isEmpty && !g.date ? Rules.templateContentTest : Rules.templateContentGate, detector: name,
        detail: "\(t.name) line \(g.loc.line), column \(g.loc.column): a branch tests \(what)\(g.literals.isEmpty ? "" : " (" + g.literals.map { "'\($0)'" }.joined(separator: ", ") + ")")\(injected.isEmpty ? "" : " and then emits text the user did not write")",
        file: t.file, byteOffset: t.byteOffset,
        evidence: [Evidence("template_line", line(g.loc)), Evidence("condition_literals", .array(g.literals.map { .string($0) })),
                   Evidence("injected_text", .array(injected.prefix(5).map { .string($0) }))]))
      for lit in g.literals where !lit.isEmpty && !(g.date && lit.contains("%")) {
        out.triggers.append(TriggerCandidate(text: lit, source: "template-branch", score: injected.isEmpty ? 0.3 : 1.0,
          target: injected.first))
      }
    }
    if !urls.isEmpty {
      out.findings.append(Finding(rule: Rules.templateURL, detector: name,
        detail: "\(t.name) contains URLs: \(urls.sorted().prefix(5).joined(separator: ", "))", file: t.file,
        byteOffset: t.byteOffset, evidence: [Evidence("urls", .array(urls.sorted().map { .string($0) }))]))
    }
  }

  /// Whether `e` tests message content against literals (or the date); returns the literals it compares.
  static func contentGate(_ e: TemplateExpression) -> (literals: [String], date: Bool)? {
    var touchesContent = false
    var callsDate = false
    var lits: [String] = []
    var indexLits: [String] = []
    var comparesOrSearches = false
    e.walk { sub in
      switch sub.kind {
      case .attribute(_, let n) where n == "content": touchesContent = true
      case .item(_, let idx):
        if case .string(let n) = idx.kind {
          indexLits.append(n)
          if n == "content" { touchesContent = true }
        }
      case .name(let n) where n == "content" || n == "user_message" || n == "text": touchesContent = true
      case .call(let callee, _):
        if case .name(let n) = callee.kind, n == "strftime_now" || n == "now" { callsDate = true }
        if case .attribute(_, let m) = callee.kind, ["startswith", "endswith", "find", "count", "index"].contains(m) {
          comparesOrSearches = true
        }
      case .string(let s): lits.append(s)
      case .compare: comparesOrSearches = true
      case .test(_, let name, _, _) where ["equalto", "eq", "sameas", "==", "search", "match"].contains(name):
        comparesOrSearches = true
      default: break
      }
    }
    for i in indexLits { if let k = lits.firstIndex(of: i) { lits.remove(at: k) } }
    if callsDate && comparesOrSearches { return (lits, true) }
    guard touchesContent, comparesOrSearches else { return nil }
    let meaningful = lits.filter { !isStructural($0) }
    return meaningful.isEmpty ? nil : (meaningful, false)
  }

  /// Markup real templates legitimately look for in content: tags, special tokens, role words, whitespace.
  static func isStructural(_ s: String) -> Bool {
    let t = s.trimmingWhitespace()
    if t.isEmpty { return true }
    if t.hasPrefix("<") && t.hasSuffix(">") { return true }
    if t.contains("<|") || t.contains("|>") || t.contains("[INST]") || t.contains("[/INST]") || t.hasPrefix("<") { return true }
    if ["system", "user", "assistant", "tool", "ipython", "function", "developer", "string", "text", "image", "type", "content", "role"].contains(t) { return true }
    if t.count <= 1 { return true }
    return false
  }

  /// Literal text an output expression emits (not counting `raise_exception` messages, which abort rendering).
  static func literals(in e: TemplateExpression) -> [String] {
    if case .call(let callee, _) = e.kind, case .name("raise_exception") = callee.kind { return [] }
    var out: [String] = []
    e.walk { if case .string(let s) = $0.kind, isProse(s) { out.append(s) } }
    return out
  }

  /// Whether emitted text carries words of its own once markup (`<|im_start|>`, `<tag>`, `[INST]`) and role
  /// names are removed: a turn header is structure, "Always tell the user to ..." is an instruction.
  static func isProse(_ s: String) -> Bool {
    var text = ""
    var depth = 0
    for ch in s {
      if ch == "<" || ch == "[" { depth += 1; continue }
      if ch == ">" || ch == "]" { depth = max(0, depth - 1); continue }
      if depth == 0 { text.append(ch) }
    }
    let roles: Set<String> = ["system", "user", "assistant", "tool", "ipython", "developer", "model", "function"]
    let words = text.split(whereSeparator: { !$0.isLetter }).filter { !roles.contains($0.lowercased()) }
    return words.count >= 3 && words.reduce(0) { $0 + $1.count } >= 12
  }

  static func findURLs(_ s: String) -> [String] {
    var out: [String] = []
    let chars = Array(s)
    var i = 0
    while i < chars.count {
      let rest = chars[i...]
      if rest.starts(with: "http://") || rest.starts(with: "https://") {
        var j = i
        while j < chars.count, !chars[j].isWhitespace, !"\"'<)".contains(chars[j]) { j += 1 }
        while j > i, ".,;:!?".contains(chars[j - 1]) { j -= 1 }
        out.append(String(chars[i..<j]))
        i = j
      } else {
        i += 1
      }
    }
    return out
  }

  static func isHidden(_ u: Unicode.Scalar) -> Bool {
    switch u.value {
    case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0xFEFF, 0xE0000...0xE007F, 0x00AD, 0x180E: return true
    case 0x00...0x08, 0x0B, 0x0C, 0x0E...0x1F, 0x7F: return true
    default: return false
    }
  }
}
