import Foundation
import Testing
@testable import Scanner

/// Byte-for-byte comparison against transformers' `render_jinja_template` on real templates
/// (fixture: Tests/Fixtures/templates/template_refs.json, made by make_template_refs.py).
@Suite struct ChatTemplateReferenceTests {
  struct Outcome {
    var matched: [String] = []
    var refused: [String] = []
    var wrong: [String] = []
  }

  static func fixturePath() -> String {
    // TEMPLATE_REFS points the suite at another refs file (exploration with more templates).
    // (templates.json is read from the same directory.)
    if let override = ProcessInfo.processInfo.environment["TEMPLATE_REFS"] { return override }
    let here = URL(fileURLWithPath: #filePath)
    return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/templates/template_refs.json").path
  }

  static func runAll() throws -> Outcome {
    let refsURL = URL(fileURLWithPath: fixturePath())
    let root = try FixtureJSON.parse(Array(try Data(contentsOf: refsURL)))
    let templatesURL = refsURL.deletingLastPathComponent().appendingPathComponent("templates.json")
    let templatesRoot = try FixtureJSON.parse(Array(try Data(contentsOf: templatesURL)))
    guard case .array(let templates)? = templatesRoot["templates"], root["template_count"] == .int(templates.count),
      case .array(let sets)? = root["message_sets"],
      case .array(let cases)? = root["cases"]
    else { throw FixtureJSONError.invalid(0) }
    var outcome = Outcome()
    var parsed: [Int: Result<ChatTemplate, TemplateError>] = [:]
    for c in cases {
      guard case .int(let ti)? = c["template"], case .string(let setName)? = c["message_set"],
        case .string(let source)? = templates[ti]["template"], case .string(let name)? = templates[ti]["name"],
        let set = sets.first(where: { $0["name"] == .string(setName) })
      else { throw FixtureJSONError.invalid(1) }
      let label = "\(name) × \(setName)"
      if parsed[ti] == nil {
        do throws(TemplateError) { parsed[ti] = .success(try ChatTemplate.parse(source)) } catch { parsed[ti] = .failure(error) }
      }
      var input = ChatTemplateInput(messages: [])
      if case .array(let m)? = set["messages"] { input.messages = m }
      input.addGenerationPrompt = set["add_generation_prompt"] == .bool(true)
      if case .array(let tools)? = set["tools"] { input.tools = tools }
      if case .string(let bos)? = templates[ti]["bos"] { input.bosToken = bos }
      if case .string(let eos)? = templates[ti]["eos"] { input.eosToken = eos }
      if case .object(let extra)? = set["extra"] { input.extra = extra.map { (name: $0.key, value: $0.value) } }
      input.now = TemplateDate(year: 2024, month: 7, day: 26)
      let result: Result<String, TemplateError>
      switch parsed[ti]! {
      case .failure(let e): result = .failure(e)
      case .success(let t):
        do throws(TemplateError) { result = .success(try t.render(input)) } catch { result = .failure(error) }
      }
      switch (result, c["expected"], c["error"]) {
      case (.success(let got), .string(let want)?, _):
        if Array(got.utf8) == Array(want.utf8) { outcome.matched.append(label) } else {
          outcome.wrong.append("\(label): rendered differently\n--- want\n\(want)\n--- got\n\(got)")
        }
      case (.failure(.unsupported(let construct, let loc)), _, _):
        outcome.refused.append("\(label): unsupported \(construct) at \(loc)")
      case (.failure(let e), .string?, _):
        outcome.wrong.append("\(label): threw \(e) but transformers rendered")
      case (.success, _, let err?):
        outcome.wrong.append("\(label): rendered but transformers raised \(err)")
      case (.failure(let e), _, let err?):
        // Both fail. raise_exception messages must agree exactly.
        if err["type"] == .string("TemplateError"), case .string(let msg)? = err["message"] {
          if case .raised(let m, _) = e, m == msg { outcome.matched.append(label) } else {
            outcome.wrong.append("\(label): transformers raised '\(msg)', we threw \(e)")
          }
        } else {
          outcome.matched.append(label)
        }
      default:
        outcome.wrong.append("\(label): malformed fixture case")
      }
    }
    return outcome
  }

  /// Every real template × message set renders byte-identically to transformers, or fails where it fails.
  @Test func realTemplatesRenderExactlyLikeTransformers() throws {
    let outcome = try Self.runAll()
    let total = outcome.matched.count + outcome.refused.count + outcome.wrong.count
    print("chat template references: \(outcome.matched.count)/\(total) match, \(outcome.refused.count) refused as unsupported, \(outcome.wrong.count) wrong")
    for r in outcome.refused { print("  refused: \(r)") }
    for w in outcome.wrong.prefix(20) { print("  WRONG: \(w)") }
    #expect(outcome.wrong.isEmpty)
    #expect(outcome.refused.isEmpty)
    #expect(total > 300)
  }
}
