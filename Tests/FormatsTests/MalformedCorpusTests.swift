import Testing
import Formats

/// Every file of the committed malformed corpus (samples/malformed) is rejected with the expected rule
/// at the expected byte offset, and the message names the file.
@Suite struct MalformedCorpusTests {
  static let expected: [JSONMember] = {
    (try? readJSON(TestPaths.samples + "/malformed/EXPECTED.json"))?.members ?? []
  }()

  @Test func corpusIsPresent() { #expect(Self.expected.count >= 40) }

  @Test(arguments: MalformedCorpusTests.expected.map(\.key))
  func rejectedWithRuleAndOffset(_ name: String) throws {
    let exp = try #require(Self.expected.first { $0.key == name }?.value)
    let path = TestPaths.samples + "/malformed/files/" + name
    let failure: FormatError
    do {
      if name.hasSuffix(".gguf") { _ = try GGUFFile.open(path: path) } else { _ = try SafetensorsFile.open(path: path) }
      Issue.record("\(name) was accepted")
      return
    } catch { failure = error }
    #expect(failure.rule == exp["rule"]?.string, "\(failure)")
    if let offset = exp["offset"]?.int { #expect(failure.byteOffset == offset, "\(failure)") }
    #expect(failure.description.hasPrefix(path))
  }
}
