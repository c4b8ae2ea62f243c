import Formats

// Loading a Hugging Face checkpoint folder (config.json + one or sharded .safetensors) into the same
// ModelSource the GGUF loader builds: config.json keys become the GGUF metadata keys llama.cpp's
// convert_hf_to_gguf.py would write, and tensor names become llama.cpp's (LLM_TN) names with GGUF
// dimension order. Weights stay in the mapped files (F32/F16/BF16 only).
//
// One difference from a converted GGUF: the converter permutes llama's Q/K rows so RoPE rotates
// interleaved pairs; the checkpoint is not permuted, so the source forces NeoX pairing (i, i + d/2),
// which is the same rotation on unpermuted rows (transformers' rotate_half).

extension ModelSource {
  /// Architectures a Hugging Face folder may declare (`model_type`) and the runtime architecture used.
  static let huggingFaceArchitectures: [String: Architecture] = ["llama": .llama, "mistral": .llama, "qwen2": .qwen2]

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
        guard let name = Self.ggufName(t.name), tensors[name] == nil else { continue }
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
    self.init(files: shards.map(\.file), metadata: metadata, tensors: tensors, ropeStyleOverride: arch == .llama ? .neox : nil)
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

  /// llama.cpp's name for a transformers parameter name (`nil` for tensors the runtime does not use).
  static func ggufName(_ hf: String) -> String? {
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
    case "post_attention_layernorm.weight": suffix = TensorName.ffnNorm
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
  /// `model_type` llama, mistral or qwen2; F32/F16/BF16 weights, read in place).
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
  /// Model, tokenizer (`tokenizer.json` + `tokenizer_config.json`) and chat template
  /// (`tokenizer_config.json` `chat_template`: a string, or the entry named "default" of a list).
  static func loadFolder(_ folder: HuggingFaceFolder, threads: Int?, numerics: Numerics) throws(GenerationError) -> TextGenerator {
    let model = try LanguageModel.load(huggingFace: folder, threads: threads, numerics: numerics)
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
    do { tokenizer = try Tokenizer(tokenizerJSON: tokenizerBytes, tokenizerConfig: configBytes) } catch { throw .tokenizer(error) }
    var template: ChatTemplate?
    if let configPath = folder.tokenizerConfigJSON {
      let source: String?
      switch try ModelSource.readJSON(configPath)["chat_template"] {
      case .string(let s): source = s
      case .array(let items):
        source = items.first { $0["name"]?.string == "default" }?["template"]?.string ?? items.first?["template"]?.string
      default: source = nil
      }
      if let source {
        do { template = try ChatTemplate.parse(source) } catch { throw .template(error) }
      }
    }
    return TextGenerator(model: model, tokenizer: tokenizer, chatTemplate: template, path: folder.path)
  }
}
