import Formats

// Loading a Hugging Face checkpoint folder (config.json + one or sharded .safetensors) into the same
// ModelSource the GGUF loader builds: config.json keys become the GGUF metadata keys llama.cpp's
// convert_hf_to_gguf.py would write, and tensor names become llama.cpp's (LLM_TN) names with GGUF
// dimension order. Weights stay in the mapped files (F32/F16/BF16 only). Gemma 3 checkpoints store each RMSNorm
// weight as w for x * (1 + w); the source adds 1 at load, as the converter does.
//
// One difference from a converted GGUF: the converter permutes llama's Q/K rows so RoPE rotates
// interleaved pairs; the checkpoint is not permuted, so the source forces NeoX pairing (i, i + d/2),
// which is the same rotation on unpermuted rows (transformers' rotate_half).

extension ModelSource {
  /// Architectures a Hugging Face folder may declare (`model_type`) and the runtime architecture used.
  static let huggingFaceArchitectures: [String: Architecture] = [
    "llama": .llama, "mistral": .llama, "qwen2": .qwen2, "gemma3_text": .gemma3,
  ]

  /// Reads `config.json` and the safetensors files of `folder`.
  /// - Throws: `GenerationError.format` for unreadable files, `.model` for an unsupported architecture,
  ///   unsupported weight dtypes or malformed config values.
  init(huggingFace folder: HuggingFaceFolder) throws(GenerationError) {
    guard let configPath = folder.configJSON else {
      throw .unsupportedInput(path: folder.path, detail: "no config.json (needed to run a Hugging Face folder)")
    }
    let config = try Self.readJSON(configPath)
    let modelType = config["model_type"]?.string ?? "absent"
    guard let arch = Self.huggingFaceArchitectures[modelType] else {
      if modelType == "gemma3", config["text_config"] != nil {
        throw .unsupportedInput(path: configPath, detail: "multimodal Gemma 3 (model_type gemma3 with a text_config and a vision tower) is not supported; the text-only gemma3_text checkpoints (270M, 1B) are")
      }
      throw .model(.unsupportedArchitecture(modelType, supported: Self.huggingFaceArchitectures.keys.sorted()))
    }
    if let scaling = config["rope_scaling"], scaling != .null {
      throw .model(.invalidMetadata(key: "rope_scaling", value: "set", reason: "RoPE scaling is not implemented"))
    }
    // config.json -> GGUF metadata keys.
    let p = arch.rawValue
    var metadata: [String: MetadataValue] = ["general.architecture": .string(p)]
    func int(_ key: String, _ gguf: String) {
      if let v = config[key]?.int { metadata["\(p).\(gguf)"] = .int(v) }
    }
    func float(_ key: String, _ gguf: String) {
      if let v = config[key]?.double, v.isFinite { metadata["\(p).\(gguf)"] = .float(v) }
    }
    int("num_hidden_layers", "block_count")
    int("hidden_size", "embedding_length")
    int("intermediate_size", "feed_forward_length")
    int("num_attention_heads", "attention.head_count")
    int("num_key_value_heads", "attention.head_count_kv")
    int("head_dim", "attention.key_length")
    int("head_dim", "attention.value_length")
    int("vocab_size", "vocab_size")
    int("max_position_embeddings", "context_length")
    float("rms_norm_eps", "attention.layer_norm_rms_epsilon")
    float("rope_theta", "rope.freq_base")
    if arch == .gemma3 { try Self.gemma3Metadata(config, into: &metadata, path: configPath) }

    // Weights: every shard mapped once; names mapped to llama.cpp's.
    var shards: [SafetensorsFile] = []
    do {
      if let index = folder.safetensorsIndex {
        shards = try SafetensorsShardedSet.open(indexPath: index).shards.map(\.file)
      } else {
        for path in folder.safetensorsFiles.sorted() { shards.append(try SafetensorsFile.open(path: path)) }
      }
    } catch {
      throw .format(error)
    }
    guard !shards.isEmpty else { throw .unsupportedInput(path: folder.path, detail: "no .safetensors weights") }
    var tensors: [String: TensorEntry] = [:]
    for (fileIndex, shard) in shards.enumerated() {
      for t in shard.tensors {
        guard let name = Self.ggufName(t.name, architecture: arch), tensors[name] == nil else { continue }
        let type: GGMLType
        switch t.dtype {
        case .f32: type = .f32
        case .f16: type = .f16
        case .bf16: type = .bf16
        default: throw .model(.unsupportedTensorType(name: t.name, type: t.dtype.rawValue))
        }
        tensors[name] = TensorEntry(
          name: name, type: type, dimensions: t.shape.reversed(), absoluteOffset: t.absoluteOffset, byteCount: t.byteCount,
          fileIndex: fileIndex)
      }
    }
    self.init(
      files: shards.map(\.file), metadata: metadata, tensors: tensors, ropeStyleOverride: arch == .llama ? .neox : nil,
      normWeightShift: arch == .gemma3 ? 1 : 0)
  }

  static func readJSON(_ path: String) throws(GenerationError) -> JSONValue {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { throw .format(FormatError(path: path, kind: .file(error))) }
    do {
      return try file.withBytes { (b) throws(JSONError) in try JSONParser.parse(b) }.value
    } catch {
      throw .unsupportedInput(path: path, detail: "not valid JSON: \(error)")
    }
  }

  /// Gemma 3 keys of `config.json` as the metadata llama.cpp's converter writes (and our gemma3 config reads),
  /// refusing what the runtime does not implement rather than running a different model.
  static func gemma3Metadata(_ config: JSONValue, into metadata: inout [String: MetadataValue], path: String)
    throws(GenerationError)
  {
    func refuse(_ key: String, _ value: String, _ reason: String) -> GenerationError {
      .model(.invalidMetadata(key: key, value: value, reason: reason))
    }
    let activation = config["hidden_activation"]?.string ?? config["hidden_act"]?.string ?? "gelu_pytorch_tanh"
    guard activation == "gelu_pytorch_tanh" else { throw refuse("hidden_activation", activation, "only gelu_pytorch_tanh is implemented") }
    if let cap = config["attn_logit_softcapping"], cap != .null {
      throw refuse("attn_logit_softcapping", "set", "attention logit soft-capping is not implemented")
    }
    if let cap = config["final_logit_softcapping"]?.double { metadata["gemma3.final_logit_softcapping"] = .float(cap) }
    if let scalar = config["query_pre_attn_scalar"]?.double {
      guard scalar.isFinite, scalar > 0 else { throw refuse("query_pre_attn_scalar", String(scalar), "must be positive") }
      metadata["gemma3.attention.scale"] = .float(1 / scalar.squareRoot())
    }
    if let base = config["rope_local_base_freq"]?.double { metadata["gemma3.rope.freq_base_swa"] = .float(base) }
    guard let window = config["sliding_window"]?.int, window > 0 else { return }
    metadata["gemma3.attention.sliding_window"] = .int(window)
    // The runtime's Gemma 3 layout: five sliding-window layers, then one global layer (llama.cpp's pattern 6).
    let layers = config["num_hidden_layers"]?.int ?? 0
    if case .array(let types) = config["layer_types"] {
      let expected = (0..<layers).map { $0 % 6 < 5 ? "sliding_attention" : "full_attention" }
      guard types.map({ $0.string ?? "" }) == expected else {
        throw refuse("layer_types", "\(types.count) entries", "only the 5 sliding : 1 global layer pattern is implemented")
      }
    } else if let pattern = config["sliding_window_pattern"]?.int, pattern != 6 {
      throw refuse("sliding_window_pattern", String(pattern), "only pattern 6 is implemented")
    }
  }

  /// llama.cpp's name for a transformers parameter name (`nil` for tensors the runtime does not use).
  static func ggufName(_ hf: String, architecture: Architecture) -> String? {
    switch hf {
    case "model.embed_tokens.weight": return TensorName.tokenEmbedding
    case "model.norm.weight": return TensorName.outputNorm
    case "lm_head.weight": return TensorName.output
    default: break
    }
    let prefix = "model.layers."
    guard hf.hasPrefix(prefix) else { return nil }
    let rest = hf.dropFirst(prefix.count)
    guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else { return nil }
    let suffix: String
    switch rest[rest.index(after: dot)...] {
    case "input_layernorm.weight": suffix = TensorName.attentionNorm
    case "self_attn.q_proj.weight": suffix = TensorName.query
    case "self_attn.k_proj.weight": suffix = TensorName.key
    case "self_attn.v_proj.weight": suffix = TensorName.value
    case "self_attn.q_proj.bias": suffix = TensorName.queryBias
    case "self_attn.k_proj.bias": suffix = TensorName.keyBias
    case "self_attn.v_proj.bias": suffix = TensorName.valueBias
    case "self_attn.o_proj.weight": suffix = TensorName.attentionOutput
    // Gemma's post_attention_layernorm normalises the attention output; llama's is the norm before the MLP.
    case "post_attention_layernorm.weight":
      suffix = architecture == .gemma3 ? TensorName.postAttentionNorm : TensorName.ffnNorm
    case "pre_feedforward_layernorm.weight": suffix = TensorName.ffnNorm
    case "post_feedforward_layernorm.weight": suffix = TensorName.postFFNNorm
    case "self_attn.q_norm.weight": suffix = TensorName.queryNorm
    case "self_attn.k_norm.weight": suffix = TensorName.keyNorm
    case "mlp.gate_proj.weight": suffix = TensorName.ffnGate
    case "mlp.up_proj.weight": suffix = TensorName.ffnUp
    case "mlp.down_proj.weight": suffix = TensorName.ffnDown
    default: return nil
    }
    return TensorName.block(layer, suffix)
  }
}

extension LanguageModel {
  /// Builds the runnable model of a Hugging Face folder (`config.json` + one or sharded `.safetensors`;
  /// `model_type` llama, mistral, qwen2 or gemma3_text; F32/F16/BF16 weights, read in place).
  /// - Parameters:
  ///   - folder: a recognised folder (`HuggingFaceFolder.recognise`).
  ///   - threads: threads per forward pass (default: all online CPUs).
  ///   - numerics: rounding model (default `.llamaCpp`).
  /// - Throws: `GenerationError` (`.format`, `.model`, `.unsupportedInput`).
  public static func load(huggingFace folder: HuggingFaceFolder, threads: Int? = nil, numerics: Numerics = .llamaCpp)
    throws(GenerationError) -> LanguageModel
  {
    let source = try ModelSource(huggingFace: folder)
    do { return try LanguageModel(source: source, threads: threads, numerics: numerics) } catch { throw .model(error) }
  }
}

extension TextGenerator {
  /// Model, tokenizer (`tokenizer.json` + `tokenizer_config.json`) and chat template (`chat_template.jinja`, else
  /// `tokenizer_config.json` `chat_template`: a string, or the entry named "default" of a list).
  static func loadFolder(_ folder: HuggingFaceFolder, threads: Int?, numerics: Numerics) throws(GenerationError) -> TextGenerator {
    let model: LanguageModel
    do { model = try LanguageModel.load(huggingFace: folder, threads: threads, numerics: numerics) } catch {
      if case .model = error { throw .inFile(path: folder.configJSON ?? folder.path, byteOffset: nil, error) }
      throw error
    }
    guard let tokenizerPath = folder.tokenizerJSON else {
      throw .unsupportedInput(path: folder.path, detail: "no tokenizer.json")
    }
    func bytes(_ path: String) throws(GenerationError) -> [UInt8] {
      do { return try MappedFile(path: path).withBytes { Array($0) } } catch {
        throw .format(FormatError(path: path, kind: .file(error)))
      }
    }
    let configBytes = try folder.tokenizerConfigJSON.map { (p) throws(GenerationError) in try bytes(p) }
    let tokenizerBytes = try bytes(tokenizerPath)
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(tokenizerJSON: tokenizerBytes, tokenizerConfig: configBytes) } catch {
      throw .inFile(path: tokenizerPath, byteOffset: nil, .tokenizer(error))
    }
    // transformers' precedence: chat_template.jinja, then tokenizer_config.json's chat_template.
    var source: String?
    var sourcePath = folder.path
    if let jinja = folder.chatTemplateFiles.first(where: { $0.hasSuffix("/chat_template.jinja") }) {
      source = String(decoding: try bytes(jinja), as: UTF8.self)
      sourcePath = jinja
    } else if let configPath = folder.tokenizerConfigJSON {
      sourcePath = configPath
      switch try ModelSource.readJSON(configPath)["chat_template"] {
      case .string(let s): source = s
      case .array(let items):
        source = items.first { $0["name"]?.string == "default" }?["template"]?.string ?? items.first?["template"]?.string
      default: source = nil
      }
    }
    var template: ChatTemplate?
    if let source {
      do { template = try ChatTemplate.parse(source) } catch { throw .inFile(path: sourcePath, byteOffset: nil, .template(error)) }
    }
    return TextGenerator(model: model, tokenizer: tokenizer, chatTemplate: template, path: folder.path)
  }
}
