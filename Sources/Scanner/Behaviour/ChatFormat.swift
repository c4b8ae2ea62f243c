/// Where a candidate trigger is placed in a conversation.
public enum InsertionSite: String, Sendable, CaseIterable {
  /// Before the user's request: "TRIGGER request".
  case userStart = "user-start"
  /// After the user's request: "request TRIGGER".
  case userEnd = "user-end"
  /// As the system message.
  case system
  /// As the first words of the assistant's answer (a prefilled response).
  case assistantPrefill = "assistant-prefill"
}

/// Turns battery conversations into token ids the way `scan generate --chat` does (TextGenerator: the
/// model's chat template with add_generation_prompt, BOS as llama.cpp handles it, special tokens parsed, so
/// template markers and special-token candidates become their ids), plus the behavioural detectors' own
/// needs: a system turn, a prefilled answer, and the template's bare scaffolding for leakage sampling.
struct ChatFormat {
  let generator: TextGenerator
  var tokenizer: Tokenizer { generator.tokenizer }
  var template: ChatTemplate? { generator.chatTemplate }
  /// Tokens that end an answer (the vocabulary's end-of-generation set and EOS).
  let stopTokens: Set<Int32>
  /// Sites this template can express (a template that refuses a system turn has no `.system`).
  private(set) var sites: [InsertionSite] = []

  init(generator: TextGenerator) {
    self.generator = generator
    self.stopTokens = generator.stopTokens
    var sites: [InsertionSite] = [.userStart, .userEnd]
    if generator.chatTemplate != nil {
      let probe = "Zq7 marker"
      if let s = try? render(system: probe, user: "Hello", prefill: nil), s.contains(probe) { sites.append(.system) }
    }
    self.sites = sites
  }

  /// The prompt text for one conversation.
  func render(system: String?, user: String, prefill: String?) throws -> String {
    guard template != nil else {
      // No template: a raw completion prompt.
      return [system, user].compactMap { $0 }.joined(separator: "\n") + "\n" + (prefill ?? "")
    }
    var messages: [TemplateValue] = []
    if let system { messages.append(.message(role: "system", content: system)) }
    messages.append(.message(role: "user", content: user))
    return try generator.renderChat(messages) + (prefill ?? "")
  }

  /// Token ids of a rendered prompt (a leading BOS text counts as the BOS the vocabulary may add).
  func encode(_ text: String) throws -> [Int32] { try generator.chatTokens(rendered: text) }

  /// A battery prompt with `trigger` (or nothing) placed at `site`.
  func tokens(request: String, site: InsertionSite, trigger: String?) throws -> [Int32] {
    try encode(text(request: request, site: site, trigger: trigger))
  }

  func text(request: String, site: InsertionSite, trigger: String?) throws -> String {
    guard let t = trigger else { return try render(system: nil, user: request, prefill: nil) }
    switch site {
    case .userStart: return try render(system: nil, user: t + " " + request, prefill: nil)
    case .userEnd: return try render(system: nil, user: request + " " + t, prefill: nil)
    case .system: return try render(system: t, user: request, prefill: nil)
    case .assistantPrefill: return try render(system: nil, user: request, prefill: t)
    }
  }

  /// Prompts made only of the template's own scaffolding (turn headers), for leakage sampling:
  /// the start of a user turn, of a system turn, of an assistant turn after an empty request, and the
  /// bare start of a conversation.
  func scaffolds() -> [(name: String, tokens: [Int32])] {
    let marker = "Qz9marker"
    var out: [(String, [Int32])] = []
    func cut(_ text: String) -> String? {
      guard let r = text.firstRange(of: marker) else { return nil }
      return String(text[..<r.lowerBound])
    }
    var seen = Set<[Int32]>()
    func add(_ name: String, _ text: String?) {
      guard let text, let ids = try? encode(text), !ids.isEmpty, seen.insert(ids).inserted else { return }
      out.append((name, ids))
    }
    if template != nil {
      add("user-turn header", (try? render(system: nil, user: marker, prefill: nil)).flatMap(cut))
      if sites.contains(.system) {
        add("system-turn header", (try? render(system: marker, user: "x", prefill: nil)).flatMap(cut))
      }
      add("assistant turn after an empty request", try? render(system: nil, user: "", prefill: nil))
      if let userHeader = (try? render(system: nil, user: marker, prefill: nil)).flatMap(cut),
         let firstSpecial = try? encode(userHeader).first, let t = tokenizer.tokenText(firstSpecial),
         tokenizer.attributes.indices.contains(Int(firstSpecial)), tokenizer.attributes[Int(firstSpecial)].contains(.control) {
        add("conversation start", t)
      }
    } else if let bos = tokenizer.bos, let b = tokenizer.tokenText(bos) {
      add("conversation start", b)
    }
    return out
  }
}
