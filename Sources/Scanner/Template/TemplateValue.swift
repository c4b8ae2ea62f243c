// Data given to a template (messages, tools, extra kwargs): JSON-shaped values.

/// A JSON-shaped value passed into a chat template (a message, a tool schema, an extra kwarg).
///
/// Objects keep their key order, as Python dicts do; the order shows up in `tojson` and `items()`.
public indirect enum TemplateValue: Sendable, Equatable {
  /// Python `None`.
  case none
  /// Python `bool`.
  case bool(Bool)
  /// Python `int` (64-bit here; larger values are unsupported).
  case int(Int)
  /// Python `float`.
  case float(Double)
  /// Python `str`.
  case string(String)
  /// Python `list`.
  case array([TemplateValue])
  /// Python `dict` with string keys, in insertion order.
  case object([(key: String, value: TemplateValue)])

  /// Object lookup by key (last duplicate wins, as in Python's dict constructor).
  public subscript(key: String) -> TemplateValue? {
    guard case .object(let entries) = self else { return nil }
    return entries.last(where: { $0.key == key })?.value
  }

  /// Equality with Python semantics for objects (key order does not matter).
  public static func == (lhs: TemplateValue, rhs: TemplateValue) -> Bool {
    switch (lhs, rhs) {
    case (.none, .none): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.int(let a), .int(let b)): return a == b
    case (.float(let a), .float(let b)): return a == b
    case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
    case (.array(let a), .array(let b)): return a == b
    case (.object(let a), .object(let b)):
      guard a.count == b.count else { return false }
      for (k, v) in a {
        guard let other = b.first(where: { $0.key.utf8.elementsEqual(k.utf8) }), other.value == v else { return false }
      }
      return true
    default: return false
    }
  }

  /// A chat message `{"role": role, "content": content}`.
  public static func message(role: String, content: String) -> TemplateValue {
    .object([(key: "role", value: .string(role)), (key: "content", value: .string(content))])
  }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  /// A string value.
  public init(stringLiteral value: String) { self = .string(value) }
  /// An int value.
  public init(integerLiteral value: Int) { self = .int(value) }
  /// A bool value.
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  /// A float value.
  public init(floatLiteral value: Double) { self = .float(value) }
  /// A list value.
  public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
  /// An object value, keys in literal order.
  public init(dictionaryLiteral elements: (String, TemplateValue)...) {
    self = .object(elements.map { (key: $0.0, value: $0.1) })
  }
  /// `None`.
  public init(nilLiteral: ()) { self = .none }
}

/// The fixed "current" date and time `strftime_now` formats (rendering stays deterministic).
public struct TemplateDate: Sendable, Equatable {
  /// Year, e.g. 2024.
  public var year: Int
  /// Month 1...12.
  public var month: Int
  /// Day of month 1...31.
  public var day: Int
  /// Hour 0...23.
  public var hour: Int
  /// Minute 0...59.
  public var minute: Int
  /// Second 0...59.
  public var second: Int

  /// Creates a date (no validation beyond what formatting needs; out-of-range fields print as given).
  public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
    self.year = year
    self.month = month
    self.day = day
    self.hour = hour
    self.minute = minute
    self.second = second
  }

  /// 26 July 2024 00:00:00, the date Llama 3.1's template uses when none is given.
  public static let reference = TemplateDate(year: 2024, month: 7, day: 26)
}

/// Everything `apply_chat_template` passes to the template.
///
/// Mirrors transformers' `render(messages=..., tools=..., documents=..., add_generation_prompt=...,
/// **special_tokens, **kwargs)`: `tools` and `documents` are always defined (`none` when absent).
public struct ChatTemplateInput: Sendable {
  /// The conversation, each message an object with at least `role` and `content`.
  public var messages: [TemplateValue]
  /// Whether to append the assistant turn header.
  public var addGenerationPrompt: Bool
  /// The tokenizer's BOS token text (undefined in the template when nil).
  public var bosToken: String?
  /// The tokenizer's EOS token text (undefined in the template when nil).
  public var eosToken: String?
  /// Tool JSON schemas, or nil (the template sees `none`).
  public var tools: [TemplateValue]?
  /// Retrieval documents, or nil (the template sees `none`).
  public var documents: [TemplateValue]?
  /// Extra template variables (other special tokens, `enable_thinking`, `date_string`, ...).
  public var extra: [(name: String, value: TemplateValue)]
  /// What `strftime_now` formats.
  public var now: TemplateDate

  /// Creates an input.
  public init(
    messages: [TemplateValue], addGenerationPrompt: Bool = false, bosToken: String? = nil,
    eosToken: String? = nil, tools: [TemplateValue]? = nil, documents: [TemplateValue]? = nil,
    extra: [(name: String, value: TemplateValue)] = [], now: TemplateDate = .reference
  ) {
    self.messages = messages
    self.addGenerationPrompt = addGenerationPrompt
    self.bosToken = bosToken
    self.eosToken = eosToken
    self.tools = tools
    self.documents = documents
    self.extra = extra
    self.now = now
  }
}

extension ChatTemplateInput {
  /// The messages as transformers 5's `apply_chat_template` hands them to the template.
  ///
  /// Mirrors `_normalize_chat_messages` (drops message keys whose value is `None`) and
  /// `_alias_reasoning_fields` (the first non-`None` of `reasoning_content`, `thinking`, `reasoning`
  /// is exposed as both `thinking`, first, and `reasoning_content`). Not included:
  /// `continue_final_message` and control-token sanitisation.
  ///
  /// - Parameter messages: Messages as a caller would pass them to `apply_chat_template`.
  /// - Returns: The messages the template sees.
  public static func transformersPreprocessed(_ messages: [TemplateValue]) -> [TemplateValue] {
    messages.map { message in
      guard case .object(let entries) = message else { return message }
      var kept = entries.filter { $0.value != .none }
      let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { key in
        kept.first(where: { $0.key == key })?.value
      }.first
      guard let reasoning else { return .object(kept) }
      // {"thinking": r, **message, "reasoning_content": r}
      // The literal's "thinking" slot comes first; **message then overwrites its value if present.
      let ownThinking = kept.first(where: { $0.key == "thinking" })?.value
      kept.removeAll { $0.key == "thinking" }
      kept.insert((key: "thinking", value: ownThinking ?? reasoning), at: 0)
      if let i = kept.firstIndex(where: { $0.key == "reasoning_content" }) {
        kept[i].value = reasoning
      } else {
        kept.append((key: "reasoning_content", value: reasoning))
      }
      return .object(kept)
    }
  }
}
