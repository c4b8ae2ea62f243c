import Formats

/// Why a text generator could not be built or could not run a prompt.
public enum GenerationError: Error, Sendable, CustomStringConvertible {
  /// The model file could not be parsed (names the file, offset and rule).
  case format(FormatError)
  /// The model cannot run (unsupported architecture, missing tensor, ...).
  case model(ModelError)
  /// The vocabulary could not be loaded or the text could not be encoded.
  case tokenizer(TokenizerError)
  /// The chat template failed to parse or render.
  case template(TemplateError)
  /// `chat` was asked for but the model carries no chat template.
  case noChatTemplate(path: String)
  /// A path that is neither a GGUF file nor a model folder the runtime can load.
  case unsupportedInput(path: String, detail: String)
  /// The prompt encodes to no tokens.
  case emptyPrompt
  /// A model file's content cannot run: the file, the byte offset of the metadata entry or tensor record at fault
  /// (when one entry is), and the underlying `.model`, `.tokenizer` or `.template` error.
  indirect case inFile(path: String, byteOffset: Int?, GenerationError)

  public var description: String {
    switch self {
    case .format(let e): e.description
    case .model(let e): e.description
    case .tokenizer(let e): "tokenizer: \(e)"
    case .template(let e): "chat template: \(e)"
    case .noChatTemplate(let p): "\(p): the model has no chat template (tokenizer.chat_template); run without --chat"
    case .unsupportedInput(let p, let d): "\(p): \(d)"
    case .emptyPrompt: "the prompt encodes to no tokens"
    case .inFile(let p, let o?, let e): "\(p): offset \(o): \(e)"
    case .inFile(let p, nil, let e): "\(p): \(e)"
    }
  }
}

/// What `TextGenerator.complete` returns.
public struct TextCompletion: Sendable {
  /// The prompt's token ids as evaluated.
  public var promptTokens: [Int32]
  /// Generated ids, including the end-of-generation token when one stopped generation.
  public var tokens: [Int32]
  /// The generated text (special tokens not rendered; the stop token excluded).
  public var text: String
  /// The 10 largest logits at the last prompt position (what chose `tokens[0]`): (id, logit), best first.
  public var topLogits: [(id: Int32, logit: Float)]
  /// Whether an end-of-generation token ended the output (otherwise `maxTokens` did).
  public var stoppedAtEndOfGeneration: Bool
}

/// A runnable model together with its tokenizer and chat template: text in, text out.
///
/// Prompt building follows llama.cpp (`llama-cli` / `llama-completion`):
/// - raw prompts are tokenized with `add_special = true, parse_special = true` (BOS only where the
///   vocabulary asks for it; `<|im_start|>` written in the text becomes that special token);
/// - chat prompts render the chat template with one user message and `add_generation_prompt = true`,
///   drop a leading BOS text the template wrote when the vocabulary adds BOS itself (llama.cpp's
///   `common_chat_templates_apply` does the same to avoid a double BOS), and tokenize as above.
/// Greedy decoding stops at any end-of-generation token (llama.cpp `special_eog_ids`).
public final class TextGenerator: @unchecked Sendable {
  // @unchecked: immutable; LanguageModel documents its single-caller rule.
  public let model: LanguageModel
  public let tokenizer: Tokenizer
  /// The parsed chat template, `nil` when the model has none.
  public let chatTemplate: ChatTemplate?
  /// Where the template source came from, for messages (`tokenizer.chat_template` or a file path).
  let path: String

  /// Builds a generator from parts already loaded.
  public init(model: LanguageModel, tokenizer: Tokenizer, chatTemplate: ChatTemplate?, path: String = "") {
    self.model = model
    self.tokenizer = tokenizer
    self.chatTemplate = chatTemplate
    self.path = path
  }

  /// Loads a GGUF file (or the first shard of a split set is not supported: pass a single file) or a
  /// Hugging Face folder (`config.json`, `tokenizer.json`, safetensors).
  /// - Parameters:
  ///   - path: a `.gguf` file or a model folder.
  ///   - threads: threads per forward pass (default: all online CPUs).
  ///   - numerics: rounding model of the forward pass (default: llama.cpp's).
  /// - Throws: `GenerationError` (`.format`, `.model` with "unsupported architecture X (supported: ...)",
  ///   `.tokenizer`, `.template`, `.unsupportedInput`).
  public static func load(path: String, threads: Int? = nil, numerics: Numerics = .llamaCpp) throws(GenerationError) -> TextGenerator {
    if let folder = HuggingFaceFolder.recognise(path), folder.ggufFiles.isEmpty || !folder.safetensorsFiles.isEmpty || folder.safetensorsIndex != nil {
      return try loadFolder(folder, threads: threads, numerics: numerics)
    }
    let generator = try loadGGUF(path: path, threads: threads, numerics: numerics)
    // The parsed GGUF (metadata values, vocabulary) is gone now; the tokenizer and template are built.
    generator.model.releaseMetadataPages()
    return generator
  }

  private static func loadGGUF(path: String, threads: Int?, numerics: Numerics) throws(GenerationError) -> TextGenerator {
    let gguf: GGUFFile
    do { gguf = try GGUFFile.open(path: path) } catch { throw .format(error) }
    // Errors name the file and the byte offset of the metadata entry or tensor record they are about.
    func located(_ e: GenerationError, key: String?, tensor: String? = nil) -> GenerationError {
      let offset = key.flatMap { gguf.entry($0)?.valueByteOffset } ?? tensor.flatMap { gguf.tensor(named: $0)?.infoByteOffset }
      return .inFile(path: path, byteOffset: offset, e)
    }
    let model: LanguageModel
    do { model = try LanguageModel.load(gguf: gguf, threads: threads, numerics: numerics) } catch {
      throw located(.model(error), key: error.metadataKey, tensor: error.tensorName)
    }
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(gguf: gguf) } catch { throw located(.tokenizer(error), key: error.metadataKey) }
    var template: ChatTemplate?
    if let source = gguf["tokenizer.chat_template"]?.string {
      do { template = try ChatTemplate.parse(source) } catch { throw located(.template(error), key: "tokenizer.chat_template") }
    }
    return TextGenerator(model: model, tokenizer: tokenizer, chatTemplate: template, path: path)
  }

  // MARK: - Prompts

  /// Token ids of a raw prompt, as llama.cpp tokenizes one (BOS where the vocabulary asks for it,
  /// special-token texts parsed).
  /// - Throws: `GenerationError.tokenizer`.
  public func rawPromptTokens(_ text: String) throws(GenerationError) -> [Int32] {
    do { return try tokenizer.encode(text, addSpecial: true, parseSpecial: true) } catch { throw .tokenizer(error) }
  }

  /// The chat template rendered for `messages` (objects with `role` and `content`).
  /// - Parameters:
  ///   - messages: the conversation, e.g. `[.message(role: "user", content: "Hi")]`.
  ///   - addGenerationPrompt: append the assistant turn header (what generation needs).
  /// - Throws: `.noChatTemplate`, `.template`.
  public func renderChat(_ messages: [TemplateValue], addGenerationPrompt: Bool = true) throws(GenerationError) -> String {
    guard let chatTemplate else { throw .noChatTemplate(path: path) }
    let input = ChatTemplateInput(
      messages: ChatTemplateInput.transformersPreprocessed(messages), addGenerationPrompt: addGenerationPrompt,
      bosToken: tokenizer.bos.flatMap { tokenizer.tokenText($0) }, eosToken: tokenizer.eos.flatMap { tokenizer.tokenText($0) })
    do { return try chatTemplate.render(input) } catch { throw .template(error) }
  }

  /// Token ids of a rendered conversation, as llama.cpp builds a chat prompt: a BOS text the template
  /// wrote at the start is dropped when the vocabulary adds BOS itself, then the text is tokenized
  /// with special tokens parsed.
  /// - Throws: `.noChatTemplate`, `.template`, `.tokenizer`.
  public func chatPromptTokens(_ messages: [TemplateValue], addGenerationPrompt: Bool = true) throws(GenerationError) -> [Int32] {
    try chatTokens(rendered: try renderChat(messages, addGenerationPrompt: addGenerationPrompt))
  }

  /// Token ids of text the chat template rendered (possibly with a prefilled answer appended): a leading
  /// BOS text is dropped when the vocabulary adds BOS itself, then special tokens are parsed.
  /// - Throws: `.tokenizer`.
  public func chatTokens(rendered: String) throws(GenerationError) -> [Int32] {
    var text = rendered
    if tokenizer.addBOS, let bos = tokenizer.bos, let bosText = tokenizer.tokenText(bos), !bosText.isEmpty, text.hasPrefix(bosText) {
      text.removeFirst(bosText.count)
    }
    return try rawPromptTokens(text)
  }

  /// Token ids for `text`: a single user turn through the chat template when `chat`, else the raw text.
  /// - Throws: as `rawPromptTokens` / `chatPromptTokens`.
  public func promptTokens(_ text: String, chat: Bool) throws(GenerationError) -> [Int32] {
    chat ? try chatPromptTokens([.message(role: "user", content: text)]) : try rawPromptTokens(text)
  }

  // MARK: - Generation

  /// The ids that end generation: the vocabulary's end-of-generation set (EOS, EOT, `<|im_end|>`, ...).
  public var stopTokens: Set<Int32> {
    var s = tokenizer.endOfGeneration
    if let eos = tokenizer.eos { s.insert(eos) }
    return s
  }

  /// Evaluates `prompt` and continues it until an end-of-generation token or `maxTokens`.
  /// - Parameters:
  ///   - prompt: token ids (non-empty).
  ///   - maxTokens: most tokens to generate (>= 0).
  ///   - sampler: `.greedy` (default) or a seeded sampler.
  /// - Returns: ids, decoded text and the top-10 logits of the first generated position.
  /// - Throws: `.emptyPrompt`, `.model` (token out of range), `.tokenizer` (decoding).
  public func complete(prompt: [Int32], maxTokens: Int, sampler: Sampler = .greedy) throws(GenerationError) -> TextCompletion {
    guard !prompt.isEmpty else { throw .emptyPrompt }
    let stops = stopTokens
    let generation: Generation
    do { generation = try model.generate(prompt: prompt, maxTokens: max(0, maxTokens), sampler: sampler, stopAt: stops) } catch {
      throw .model(error)
    }
    var visible = generation.tokens
    if generation.stoppedAtStopToken, !visible.isEmpty { visible.removeLast() }
    let text: String
    do { text = try tokenizer.decodeText(visible, renderSpecial: false) } catch { throw .tokenizer(error) }
    return TextCompletion(
      promptTokens: prompt, tokens: generation.tokens, text: text,
      topLogits: Self.top(generation.firstLogits, count: 10), stoppedAtEndOfGeneration: generation.stoppedAtStopToken)
  }

  /// Builds the prompt for `text` (see `promptTokens`) and completes it greedily.
  /// - Throws: as `promptTokens` and `complete(prompt:maxTokens:sampler:)`.
  public func complete(_ text: String, chat: Bool, maxTokens: Int, sampler: Sampler = .greedy) throws(GenerationError) -> TextCompletion {
    try complete(prompt: try promptTokens(text, chat: chat), maxTokens: maxTokens, sampler: sampler)
  }

  /// The `count` largest logits, best first (lower id first on ties).
  /// - Complexity: O(vocabulary x count).
  public static func top(_ logits: [Float], count: Int) -> [(id: Int32, logit: Float)] {
    var best: [(id: Int32, logit: Float)] = []
    best.reserveCapacity(count + 1)
    for (i, v) in logits.enumerated() {
      if best.count == count, let last = best.last, !(v > last.logit) { continue }
      var at = best.count
      while at > 0, v > best[at - 1].logit { at -= 1 }
      best.insert((Int32(truncatingIfNeeded: i), v), at: at)
      if best.count > count { best.removeLast() }
    }
    return best
  }
}

extension TextCompletion {
  /// `{"prompt_tokens", "tokens", "text", "top_logits": [[id, logit], ...], "stopped_at_end_of_generation"}`.
  public var json: JSONNode {
    .object([
      ("prompt_tokens", .array(promptTokens.map { .int(Int($0)) })),
      ("tokens", .array(tokens.map { .int(Int($0)) })),
      ("text", .string(text)),
      ("top_logits", .array(topLogits.map { .array([.int(Int($0.id)), .double(Double($0.logit))]) })),
      ("stopped_at_end_of_generation", .bool(stoppedAtEndOfGeneration)),
    ])
  }
}
