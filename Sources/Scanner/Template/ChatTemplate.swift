/// Resource caps applied while rendering (a hostile template must not hang or exhaust the scanner).
public struct TemplateLimits: Sendable, Equatable {
  /// Maximum statement/expression evaluations (loop iterations count).
  public var maxSteps: Int
  /// Maximum rendered output, in UTF-8 bytes.
  public var maxOutputBytes: Int
  /// Maximum nested macro calls.
  public var maxMacroDepth: Int

  /// Creates limits; the defaults are far above what real chat templates need.
  public init(maxSteps: Int = 20_000_000, maxOutputBytes: Int = 64 << 20, maxMacroDepth: Int = 100) {
    self.maxSteps = maxSteps
    self.maxOutputBytes = maxOutputBytes
    self.maxMacroDepth = maxMacroDepth
  }
}

/// A parsed Jinja2 chat template (`tokenizer.chat_template`).
///
/// Parse once with ``parse(_:)``; render with ``render(_:)`` exactly as Hugging Face transformers'
/// `apply_chat_template` does (jinja2 `ImmutableSandboxedEnvironment(trim_blocks=True,
/// lstrip_blocks=True)` with the loopcontrols extension, `raise_exception`, `strftime_now` and
/// transformers' `tojson`), or inspect the syntax tree (``nodes``, ``walk(_:)``) for the static audit.
public struct ChatTemplate: Sendable {
  /// The template source as given.
  public let source: String
  /// The top-level nodes of the syntax tree.
  public let nodes: [TemplateNode]

  /// Parses a template.
  ///
  /// - Parameter source: The Jinja2 source text.
  /// - Returns: The parsed template.
  /// - Throws: ``TemplateError/syntax(message:location:)`` for invalid Jinja (including unknown
  ///   filter or test names, as Jinja rejects them at compile time),
  ///   ``TemplateError/unsupported(construct:location:)`` for valid statements this interpreter does
  ///   not run (`extends`, `include`, `import`, `block`, `with`, ...), and
  ///   ``TemplateError/limitExceeded(what:limit:location:)`` for sources over 4 MiB or nested deeper
  ///   than 200 levels.
  /// - Complexity: O(n) in the source length.
  public static func parse(_ source: String) throws(TemplateError) -> ChatTemplate {
    let text = TemplateSource(source)
    let tokens = try TemplateLexer.tokenize(text)
    let nodes = try TemplateParser.parse(tokens)
    let template = ChatTemplate(source: source, nodes: nodes)
    try template.validateNames()
    return template
  }

  /// Renders the template for a conversation.
  ///
  /// - Parameters:
  ///   - input: Messages, generation flag, special tokens, tools, documents, extra variables and the
  ///     date `strftime_now` formats. Pass messages as transformers hands them to the template
  ///     (transformers 5 first drops `None`-valued message keys and aliases reasoning fields).
  ///   - limits: Resource caps for hostile templates.
  /// - Returns: The prompt text.
  /// - Throws: ``TemplateError/raised(message:location:)`` when the template calls `raise_exception`,
  ///   ``TemplateError/runtime(message:location:)`` where Jinja would raise,
  ///   ``TemplateError/unsupported(construct:location:)`` for constructs whose result this
  ///   interpreter cannot guarantee to match, and ``TemplateError/limitExceeded(what:limit:location:)``.
  public func render(_ input: ChatTemplateInput, limits: TemplateLimits = TemplateLimits()) throws(TemplateError) -> String {
    var variables: [(name: String, value: TemplateValue)] = [
      ("messages", .array(input.messages)),
      ("tools", input.tools.map { .array($0) } ?? .none),
      ("documents", input.documents.map { .array($0) } ?? .none),
      ("add_generation_prompt", .bool(input.addGenerationPrompt)),
    ]
    if let bos = input.bosToken { variables.append(("bos_token", .string(bos))) }
    if let eos = input.eosToken { variables.append(("eos_token", .string(eos))) }
    variables += input.extra
    return try render(variables: variables, now: input.now, limits: limits)
  }

  /// Renders the template with arbitrary top-level variables.
  ///
  /// - Parameters:
  ///   - variables: Template variables; a later duplicate name wins.
  ///   - now: What `strftime_now` formats.
  ///   - limits: Resource caps for hostile templates.
  /// - Returns: The rendered text.
  /// - Throws: As ``render(_:limits:)``.
  public func render(
    variables: [(name: String, value: TemplateValue)], now: TemplateDate = .reference, limits: TemplateLimits = TemplateLimits()
  ) throws(TemplateError) -> String {
    let interpreter = TemplateInterpreter(now: now, limits: limits)
    let root = Scope(parent: nil)
    for (name, value) in variables { root.vars[name] = Value(value) }
    var out = ""
    let flow = try interpreter.render(nodes, root, into: &out)
    if case .normal = flow {} else {
      throw .syntax(message: "break/continue outside of a loop", location: nodes.first?.location ?? SourceLocation(line: 1, column: 1, byteOffset: 0))
    }
    return out
  }

  /// Jinja rejects unknown filter and test names at compile time, except inside `if` statements
  /// and conditional expressions (a "soft" frame), where the error is deferred to run time; loop,
  /// macro, call, set-block and filter-block bodies start a new, non-soft frame.
  private func validateNames() throws(TemplateError) {
    try Self.validate(nodes, soft: false)
  }

  private static func validate(_ nodes: [TemplateNode], soft: Bool) throws(TemplateError) {
    for node in nodes {
      switch node.kind {
      case .text, .comment, .breakLoop, .continueLoop: break
      case .output(let e): try validate(e, soft: soft)
      case .conditional(let branches, let otherwise):
        for b in branches {
          try validate(b.condition, soft: true)
          try validate(b.body, soft: true)
        }
        if let otherwise { try validate(otherwise, soft: true) }
      case .forLoop(let loop):
        try validate(loop.iterable, soft: soft)
        if let c = loop.condition { try validate(c, soft: false) }
        try validate(loop.body, soft: false)
        if let o = loop.otherwise { try validate(o, soft: false) }
      case .set(_, let value): try validate(value, soft: soft)
      case .setBlock(_, let filters, let body), .filterBlock(let filters, let body):
        for f in filters {
          if !soft && !isKnownFilter(f.name) { throw .syntax(message: "No filter named '\(f.name)'.", location: f.location) }
          for a in f.arguments { try validate(a.value, soft: soft) }
        }
        try validate(body, soft: false)
      case .macro(_, let parameters, let body):
        for p in parameters { if let d = p.defaultValue { try validate(d, soft: false) } }
        try validate(body, soft: false)
      case .callBlock(let call, let parameters, let body):
        try validate(call, soft: soft)
        for p in parameters { if let d = p.defaultValue { try validate(d, soft: false) } }
        try validate(body, soft: false)
      case .generation(let body): try validate(body, soft: false)
      }
    }
  }

  private static func isKnownFilter(_ name: String) -> Bool {
    TemplateBuiltins.filters.contains(name) || TemplateBuiltins.unsupportedFilters.contains(name)
  }

  private static func validate(_ e: TemplateExpression, soft: Bool) throws(TemplateError) {
    switch e.kind {
    case .filter(_, let name, _):
      if !soft && !isKnownFilter(name) { throw .syntax(message: "No filter named '\(name)'.", location: e.location) }
    case .test(_, let name, _, _):
      if !soft && !TemplateBuiltins.tests.contains(name) { throw .syntax(message: "No test named '\(name)'.", location: e.location) }
    case .conditional:
      for c in e.children { try validate(c, soft: true) }
      return
    default: break
    }
    for c in e.children { try validate(c, soft: soft) }
  }
}
