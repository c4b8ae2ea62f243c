import Foundation
import Testing
@testable import Scanner

/// A scanned file must not be able to rewrite the terminal that shows its report: escapes, C1 controls and bidi
/// overrides in keys, names and values are printed as `\u{...}`, and their presence is a finding (MD-002).
@Suite struct TerminalSafetyTests {
  static let escape = "\u{1B}[2J\u{1B}[H\u{1B}[8m"  // clear screen, home, conceal what follows

  /// Escapes are written out; newlines, tabs and ordinary Unicode (…, —, ▁) pass unchanged.
  @Test func safeTextEscapesOnlyControlsAndHiddenCharacters() {
    #expect(TerminalText.safe("a\u{1B}[31mb") == "a\\u{1b}[31mb")
    #expect(TerminalText.safe("x\u{9B}31m") == "x\\u{9b}31m")
    #expect(TerminalText.safe("abc\u{202E}fed") == "abc\\u{202e}fed")
    #expect(TerminalText.safe("over\rCLEAN") == "over\\u{d}CLEAN")
    let plain = "line 1\n\tline 2 … — ▁tok ✓ 日本"
    #expect(TerminalText.safe(plain) == plain)
  }

  static func hostileFile() throws -> String {
    var g = TinyGGUF()
    g.string("general.architecture", "llama")
    g.string("general.name", "model" + escape + "CLEAN")
    g.string("evil" + escape + ".key", "x")
    g.f32("bad\u{202E}name.weight", dims: [4, 4], (0..<16).map { Float($0) / 16 })
    return try g.write("terminal").path
  }

  /// `scan` (text) and `scan inspect` print the hostile names escaped, and the scan reports MD-002 with the key's
  /// byte offset.
  @Test func reportsEscapeTheFilesText() throws {
    let path = try Self.hostileFile()
    defer { unlink(path) }
    let scan = try CLI.run([path, "--mode", "static", "--no-hash"])
    #expect(!scan.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E }, "\(scan.stdout)")
    #expect(scan.stdout.contains("MD-002"), "\(scan.stdout)")
    #expect(scan.stdout.contains("\\u{1b}[2J"), "\(scan.stdout)")
    let inspect = try CLI.run(["inspect", path, "--no-hash"])
    #expect(inspect.status == 0, "\(inspect.stderr)")
    #expect(!inspect.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E }, "\(inspect.stdout)")
    #expect(inspect.stdout.contains("bad\\u{202e}name.weight"), "\(inspect.stdout)")

    let json = try CLI.run([path, "--mode", "static", "--no-hash", "--format", "json"])
    let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let models = try #require(report["models"] as? [[String: Any]])
    let findings = try #require(models.first?["findings"] as? [[String: Any]])
    let md = try #require(findings.first { $0["id"] as? String == "MD-002" })
    #expect(md["severity"] as? String == "medium")
    #expect((md["detail"] as? String)?.contains("3 names or values") == true, "\(md)")
    #expect(md["byte_offset"] is Int)
  }

  /// Clean real vocabularies (control bytes in token texts, newlines in templates) raise no MD-002.
  @Test func tinySampleHasNoControlCharacterFinding() throws {
    let input = try ModelInput.open(path: CLI.repoRoot + "/samples/tiny/clean/clean.q8_0.gguf")
    #expect(MetadataConsistency.controlCharacters(in: input).isEmpty)
  }
}
