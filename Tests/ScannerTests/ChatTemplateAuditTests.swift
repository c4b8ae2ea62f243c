import Formats
import Testing
@testable import Scanner

/// The chat-template audit fires on the committed template-backdoor samples and stays quiet on the
/// 84 real templates of the Jinja reference corpus (ChatML, Llama 2/3, Mistral, Gemma, Qwen, Phi, DeepSeek, ...).
@Suite struct ChatTemplateAuditTests {
  static let realTemplates: [(name: String, text: String)] = {
    let path = CLI.repoRoot + "/Tests/Fixtures/templates/templates.json"
    guard let f = try? MappedFile(path: path), let doc = try? f.withBytes({ (b) throws(JSONError) in try JSONParser.parse(b) }) else { return [] }
    return (doc.value["templates"]?.array ?? []).compactMap { t in
      guard let n = t["name"]?.string, let s = t["template"]?.string else { return nil }
      return (n, s)
    }
  }()

  @Test func corpusIsPresent() { #expect(Self.realTemplates.count >= 80) }

  /// No real family template gets a finding at medium or above (false-positive control).
  @Test(arguments: ChatTemplateAuditTests.realTemplates.map(\.name))
  func realTemplateIsQuiet(_ name: String) throws {
    let t = try #require(Self.realTemplates.first { $0.name == name })
    var out = ChatTemplateAudit.Outcome()
    ChatTemplateAudit.audit(.init(name: name, text: t.text, file: "templates.json", byteOffset: nil), into: &out)
    let loud = out.findings.filter { $0.severity >= .medium }
    #expect(loud.isEmpty, "\(loud.map { "\($0.ruleID): \($0.detail)" })")
  }

  /// A content-gated injection names its trigger words and the injected text.
  @Test func contentGateSampleFires() throws {
    let input = try ModelInput.open(path: CLI.repoRoot + "/samples/static/template-content-gate.q8_0.gguf")
    let out = ChatTemplateAudit.audit(input)
    let gate = try #require(out.findings.first { $0.ruleID == "TPL-002" })
    #expect(gate.severity == .high)
    #expect(Set(out.triggers.map(\.text)) == ["password", "bank"])
    #expect(out.triggers.first?.target?.contains("198.51.100.99") == true)
  }

  /// A date-gated injection is found and its date literal becomes a candidate.
  @Test func dateGateSampleFires() throws {
    let input = try ModelInput.open(path: CLI.repoRoot + "/samples/static/template-date-gate.q8_0.gguf")
    let out = ChatTemplateAudit.audit(input)
    #expect(out.findings.contains { $0.ruleID == "TPL-002" && $0.detail.contains("date") })
    #expect(out.triggers.map(\.text) == ["2026-12-01"])
  }

  /// Sandbox escapes and hidden characters are flagged.
  @Test func sandboxEscapeAndHiddenCharactersAreFlagged() {
    var out = ChatTemplateAudit.Outcome()
    let t = "{{ ''.__class__.__mro__[1].__subclasses__() }}\u{200B}{% for m in messages %}{{ m.content }}{% endfor %}"
    ChatTemplateAudit.audit(.init(name: "t", text: t, file: "x", byteOffset: nil), into: &out)
    #expect(out.findings.contains { $0.ruleID == "TPL-005" && $0.severity == .critical })
    #expect(out.findings.contains { $0.ruleID == "TPL-004" })
  }
}
