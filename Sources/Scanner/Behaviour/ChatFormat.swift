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

/// Turns conversations into token ids the way a chat front end does: the model's own chat template
/// (rendered with add_generation_prompt), then the tokenizer with special-token parsing (so template
/// markers and special-token candidates become their ids).
struct ChatFormat {
  let tokenizer: Tokenizer
  let template: ChatTemplate?
  let bosText: String?
  let eosText: String?
  /// Tokens that end an answer (EOS, end of turn, ...).
  let stopTokens: Set<Int32>
  /// Sites this template can express (a template that refuses a system turn has no `.system`).
  private(set) var sites: [InsertionSite] = []

  init(tokenizer: Tokenizer, templateSource: String?) {
    self.tokenizer = tokenizer
    self.template = templateSource.flatMap { try? ChatTemplate.parse($0) }
    self.bosText = tokenizer.bos.flatMap { tokenizer.tokenText($0) }
    self.eosText = tokenizer.eos.flatMap { tokenizer.tokenText($0) }
    var stops = tokenizer.endOfGeneration
    if let e = tokenizer.eos { stops.insert(e) }
    if let e = tokenizer.endOfTurn { stops.insert(e) }
    self.stopTokens = stops
    var sites: [InsertionSite] = [.userStart, .userEnd]
    if template != nil {
      let probe = "Zq7 marker"
      if let s = try? render(system: probe, user: "Hello", prefill: nil), s.contains(probe) { sites.append(.system) }
    }
    self.sites = sites
  }

  /// The prompt text for one conversation.
  func render(system: String?, user: String, prefill: String?) throws -> String {
    guard let template else {
      // No template: a raw completion prompt.
      return [system, user].compactMap { $0 }.joined(separator: "\n") + "\n" + (prefill ?? "")
    }
    var messages: [TemplateValue] = []
    if let system { messages.append(.message(role: "system", content: system)) }
    messages.append(.message(role: "user", content: user))
    let input = ChatTemplateInput(messages: messages, addGenerationPrompt: true, bosToken: bosText, eosToken: eosText)
    return try template.render(input, limits: TemplateLimits(maxSteps: 2_000_000, maxOutputBytes: 1 << 20)) + (prefill ?? "")
  }

  /// Token ids of `text`, adding BOS only when the model asks for it and the template did not write it.
  func encode(_ text: String) throws -> [Int32] {
    let writesBOS = bosText.map { !$0.isEmpty && text.hasPrefix($0) } ?? false
    return try tokenizer.encode(text, addSpecial: !writesBOS, parseSpecial: true)
  }

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
    } else if let b = bosText {
      add("conversation start", b)
    }
    return out
  }
}
