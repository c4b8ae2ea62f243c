import Foundation
import Testing
@testable import Scanner

/// One-construct-at-a-time comparison against transformers' Jinja environment
/// (fixture: Tests/Fixtures/templates/semantics_refs.json from semantics_probes.py).
@Suite struct ChatTemplateSemanticsTests {
  struct Probe: CustomTestStringConvertible, Sendable {
    let name: String
    let template: String
    let variables: [(name: String, value: TemplateValue)]
    let unsupported: Bool
    let expected: String?
    let errorType: String?
    let errorMessage: String?
    var testDescription: String { name }
  }

  static let probes: [Probe] = load("semantics_refs.json")
  static let fuzzProbes: [Probe] = load("fuzz_refs.json")

  static func load(_ file: String) -> [Probe] {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/templates/" + file).path
    guard let data = FileManager.default.contents(atPath: path), let root = try? FixtureJSON.parse(Array(data)),
      case .array(let items)? = root["probes"]
    else { return [] }
    return items.compactMap { p -> Probe? in
      guard case .string(let name)? = p["name"], case .string(let template)? = p["template"],
        case .object(let vars)? = p["variables"] ?? root["variables"]
      else { return nil }
      var expected: String? = nil
      if case .string(let e)? = p["expected"] { expected = e }
      var errorType: String? = nil
      var errorMessage: String? = nil
      if case .string(let t)? = p["error"]?["type"] { errorType = t }
      if case .string(let m)? = p["error"]?["message"] { errorMessage = m }
      return Probe(name: name, template: template, variables: vars.map { (name: $0.key, value: $0.value) },
        unsupported: p["unsupported"] == .bool(true), expected: expected, errorType: errorType, errorMessage: errorMessage)
    }
  }

  /// The fixture loaded (a missing fixture must not make the suite pass vacuously).
  @Test func fixtureHasProbes() {
    #expect(Self.probes.count > 100)
    #expect(Self.fuzzProbes.count >= 1600)
  }

  /// Seeded random expressions and whitespace-control layouts (fuzz_probes.py): no render may differ
  /// from transformers; refusing
  /// (unsupported) is allowed but counted.
  @Test func fuzzProbesNeverRenderDifferently() {
    var refused: [String] = []
    var wrong: [String] = []
    var matched = 0
    for probe in Self.fuzzProbes {
      let result: Result<String, TemplateError>
      do throws(TemplateError) {
        let t = try ChatTemplate.parse(probe.template)
        result = .success(try t.render(variables: probe.variables))
      } catch {
        result = .failure(error)
      }
      switch (result, probe.expected) {
      case (.success(let got), let want?):
        if Array(got.utf8) == Array(want.utf8) { matched += 1 } else {
          wrong.append("\(probe.name): \(probe.template)\n  want \(want.debugDescription)\n  got  \(got.debugDescription)")
        }
      case (.failure(.unsupported(let c, _)), _):
        refused.append("\(probe.name): \(c) [python: \(probe.expected.map { _ in "rendered" } ?? (probe.errorType ?? "?"))]")
      case (.failure, nil):
        matched += 1
      case (.failure(let e), let want?):
        wrong.append("\(probe.name): \(probe.template)\n  want \(want.debugDescription)\n  threw \(e)")
      case (.success(let got), nil):
        wrong.append("\(probe.name): \(probe.template)\n  python raised \(probe.errorType ?? "?"): \(probe.errorMessage ?? "")\n  got \(got.debugDescription)")
      }
    }
    print("fuzz probes: \(matched)/\(Self.fuzzProbes.count) match, \(refused.count) refused, \(wrong.count) wrong")
    for r in refused { print("  refused: \(r)") }
    for w in wrong.prefix(40) { print("  WRONG: \(w)") }
    #expect(wrong.isEmpty)
  }

  /// Each probe renders exactly as transformers does, fails where it fails, or is refused when marked.
  @Test(arguments: probes) func probeMatchesTransformers(_ probe: Probe) {
    let result: Result<String, TemplateError>
    do throws(TemplateError) {
      let t = try ChatTemplate.parse(probe.template)
      result = .success(try t.render(variables: probe.variables, now: TemplateDate(year: 2024, month: 7, day: 26)))
    } catch {
      result = .failure(error)
    }
    if probe.unsupported {
      guard case .failure(.unsupported) = result else {
        Issue.record("expected an unsupported-construct refusal, got \(result)")
        return
      }
      return
    }
    switch result {
    case .success(let got):
      guard let want = probe.expected else {
        Issue.record("rendered \(got.debugDescription) but transformers raised \(probe.errorType ?? "?"): \(probe.errorMessage ?? "")")
        return
      }
      #expect(Array(got.utf8) == Array(want.utf8), "want \(want.debugDescription) got \(got.debugDescription)")
    case .failure(let error):
      guard probe.expected == nil else {
        Issue.record("threw \(error) but transformers rendered \(probe.expected!.debugDescription)")
        return
      }
      if probe.errorType == "TemplateError" {
        #expect(error == .raised(message: probe.errorMessage ?? "", location: error.location))
      }
      if case .unsupported = error {
        Issue.record("refused (\(error)) where transformers raised \(probe.errorType ?? "?"); should be a runtime/syntax error")
      }
    }
  }
}
