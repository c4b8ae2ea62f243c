#if canImport(Glibc)
import Glibc
#endif

/// A Hugging Face model folder: weights plus `config.json`, `tokenizer.json`, `tokenizer_config.json`,
/// `generation_config.json` and chat template files, recognised as one model.
public struct HuggingFaceFolder: Sendable {
  public let path: String
  public let configJSON: String?
  public let tokenizerJSON: String?
  public let tokenizerConfigJSON: String?
  public let generationConfigJSON: String?
  /// Chat templates kept in their own files, in the order transformers prefers them: `chat_template.jinja` (which
  /// overrides `tokenizer_config.json`'s `chat_template`), `chat_template.json` (processors), then the named
  /// templates in `additional_chat_templates/*.jinja`.
  public let chatTemplateFiles: [String]
  public let safetensorsIndex: String?
  public let safetensorsFiles: [String]
  public let ggufFiles: [String]
  /// Every other file in the folder (not descended into).
  public let otherFiles: [String]

  /// Lists `path`; returns nil if it holds no weights.
  public static func recognise(_ path: String) -> HuggingFaceFolder? {
    guard let names = listDirectory(path) else { return nil }
    func has(_ n: String) -> String? { names.contains(n) ? path + "/" + n : nil }
    let st = names.filter { $0.hasSuffix(".safetensors") }.map { path + "/" + $0 }
    let gg = names.filter { $0.hasSuffix(".gguf") }.map { path + "/" + $0 }
    let index = has("model.safetensors.index.json") ?? names.first { $0.hasSuffix(".safetensors.index.json") }.map { path + "/" + $0 }
    guard index != nil || !st.isEmpty || !gg.isEmpty else { return nil }
    var templates = ["chat_template.jinja", "chat_template.json"].compactMap(has)
    let additional = "additional_chat_templates"
    if names.contains(additional), let extra = listDirectory(path + "/" + additional, includeHidden: false) {
      templates += extra.filter { $0.hasSuffix(".jinja") }.sorted().map { path + "/" + additional + "/" + $0 }
    }
    let known: Set<String> = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
      "chat_template.jinja", "chat_template.json"]
    let other = names.filter { !known.contains($0) && !$0.hasSuffix(".safetensors") && !$0.hasSuffix(".gguf") && !$0.hasSuffix(".index.json") }
    return HuggingFaceFolder(path: path, configJSON: has("config.json"), tokenizerJSON: has("tokenizer.json"),
      tokenizerConfigJSON: has("tokenizer_config.json"), generationConfigJSON: has("generation_config.json"),
      chatTemplateFiles: templates,
      safetensorsIndex: index, safetensorsFiles: index == nil ? st : [], ggufFiles: gg, otherFiles: other.map { path + "/" + $0 })
  }
}
