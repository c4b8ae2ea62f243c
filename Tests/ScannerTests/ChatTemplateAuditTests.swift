import Foundation
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

  /// A Hugging Face folder whose template lives in `chat_template.jinja` (transformers' own file, which overrides
  /// tokenizer_config.json) is audited, and so is a named template in `additional_chat_templates/`; the runtime
  /// renders with the .jinja one.
  @Test func templateFilesOfAFolderAreAudited() throws {
    let gguf = try GGUFFile.open(path: CLI.repoRoot + "/samples/static/template-content-gate.q8_0.gguf")
    let attack = try #require(gguf.metadata.first { $0.key == "tokenizer.chat_template" }?.value.string)
    let clean = CLI.repoRoot + "/samples/tiny/clean/hf"
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scan-template-files-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("additional_chat_templates"), withIntermediateDirectories: true)
    for name in ["config.json", "tokenizer.json", "model.safetensors"] {
      try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(name).path, withDestinationPath: clean + "/" + name)
    }
    try Data(#"{"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
    try Data(attack.utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
    try Data(attack.utf8).write(to: dir.appendingPathComponent("additional_chat_templates/tool_use.jinja"))

    let folder = try #require(HuggingFaceFolder.recognise(dir.path))
    #expect(folder.chatTemplateFiles.map { $0.split(separator: "/").last.map(String.init) } == ["chat_template.jinja", "tool_use.jinja"])
    #expect(!folder.otherFiles.contains { $0.hasSuffix("chat_template.jinja") })
    let out = ChatTemplateAudit.audit(try ModelInput.open(path: dir.path))
    let gates = out.findings.filter { $0.ruleID == "TPL-002" }
    #expect(gates.count == 2, "\(out.findings.map { "\($0.ruleID) \($0.file ?? "")" })")
    #expect(gates.contains { $0.file?.hasSuffix("/chat_template.jinja") == true && $0.severity == .high })
    #expect(gates.contains { $0.file?.hasSuffix("/additional_chat_templates/tool_use.jinja") == true })
    #expect(Set(out.triggers.map(\.text)) == ["password", "bank"])

    let generator = try TextGenerator.load(path: dir.path, threads: 1, numerics: .float)
    let rendered = try generator.renderChat([.message(role: "user", content: "my bank password")])
    #expect(rendered.contains("198.51.100.99"), "\(rendered)")
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
