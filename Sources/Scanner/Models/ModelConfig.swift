import Formats

/// A model architecture the runtime can run (GGUF `general.architecture`).
public enum Architecture: String, Sendable, CaseIterable {
  /// Llama 2/3, Mistral, TinyLlama, SmolLM/SmolLM2: RMSNorm, interleaved-pair RoPE, SwiGLU.
  case llama
  /// Qwen2: llama with Q/K/V biases and NeoX (half-split) RoPE.
  case qwen2
  /// Gemma 3: embedding scale, GELU-tanh gate, pre/post norms, Q/K norms, sliding-window layers.
  case gemma3
}

/// How RoPE pairs the dimensions of a head (llama.cpp `LLAMA_ROPE_TYPE_NORM` / `_NEOX`).
public enum RopeStyle: Sendable {
  /// Pairs `(2i, 2i+1)`: GGUF llama (the converter permuted Q/K rows into this order).
  case interleaved
  /// Pairs `(i, i + d/2)`: qwen2, gemma3.
  case neox
}

/// The feed-forward gate activation.
public enum GateActivation: Sendable {
  /// SiLU (x * sigmoid(x)): llama, qwen2.
  case silu
  /// GELU with the tanh approximation: gemma3.
  case geluTanh
}

/// Hyper-parameters of a loaded model, read from GGUF metadata (`<arch>.*` keys).
public struct ModelConfig: Sendable, Equatable {
  public var architecture: Architecture
  public var layerCount: Int
  /// Width of the residual stream (`embedding_length`).
  public var embeddingLength: Int
  public var feedForwardLength: Int
  public var headCount: Int
  public var kvHeadCount: Int
  /// Per-head width of Q and K (`attention.key_length`, default embedding/heads).
  public var headDimension: Int
  /// Per-head width of V (`attention.value_length`, default headDimension).
  public var valueHeadDimension: Int
  public var vocabularySize: Int
  public var contextLength: Int
  public var rmsEpsilon: Float
  public var ropeBase: Float
  /// RoPE base of sliding-window layers (gemma3: 10000), `nil` when all layers use `ropeBase`.
  public var ropeBaseSlidingWindow: Float?
  /// Number of leading head dimensions rotated (`rope.dimension_count`, default headDimension).
  public var ropeDimensionCount: Int
  public var ropeStyle: RopeStyle
  public var activation: GateActivation
  /// Multiplier applied to token embeddings (gemma3: sqrt(embeddingLength)), 1 otherwise.
  public var embeddingScale: Float
  /// Scale applied to Q before attention (1/sqrt(headDimension) unless the architecture says otherwise).
  public var attentionScale: Float
  /// Window of sliding-window layers (`attention.sliding_window`), `nil` for none.
  public var slidingWindow: Int?
  /// `slidingWindowLayers[l]` is true when layer `l` uses the sliding window.
  public var slidingWindowLayers: [Bool]
  /// Final logit soft-capping (`final_logit_softcapping`), `nil` for none.
  public var finalLogitSoftcap: Float?

  /// Total Q width (`headCount * headDimension`).
  public var queryLength: Int { headCount &* headDimension }
  /// Total K width (`kvHeadCount * headDimension`).
  public var keyLength: Int { kvHeadCount &* headDimension }
  /// Total V width (`kvHeadCount * valueHeadDimension`).
  public var valueLength: Int { kvHeadCount &* valueHeadDimension }
}

/// Why a model could not be loaded for running. The static scan still runs on such files.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `general.architecture` names an architecture the runtime does not implement.
  case unsupportedArchitecture(String, supported: [String])
  /// A required metadata key is missing or has the wrong type.
  case missingMetadata(key: String)
  /// A metadata value is out of the range the runtime accepts.
  case invalidMetadata(key: String, value: String, reason: String)
  /// A required tensor is absent.
  case missingTensor(name: String)
  /// A tensor has a shape other than the one the config implies.
  case shapeMismatch(name: String, found: [Int], expected: [Int])
  /// A tensor's type has no kernel.
  case unsupportedTensorType(name: String, type: String)
  /// A tensor's bytes are not inside the mapped file or not aligned for its type.
  case badTensorData(name: String, byteOffset: Int, byteCount: Int)
  /// A token id is outside the vocabulary.
  case tokenOutOfRange(token: Int32, vocabularySize: Int)
  /// A session has no room for more tokens.
  case contextFull(needed: Int, capacity: Int)

  public var description: String {
    switch self {
    case .unsupportedArchitecture(let a, let s):
      "unsupported architecture \(a) (supported: \(s.joined(separator: ", ")))"
    case .missingMetadata(let k): "missing or mistyped metadata key \(k)"
    case .invalidMetadata(let k, let v, let r): "metadata \(k) = \(v): \(r)"
    case .missingTensor(let n): "missing tensor \(n)"
    case .shapeMismatch(let n, let f, let e): "tensor \(n) has shape \(f), expected \(e)"
    case .unsupportedTensorType(let n, let t): "tensor \(n) has type \(t), which the runtime cannot multiply"
    case .badTensorData(let n, let o, let c): "tensor \(n) data (\(c) bytes at offset \(o)) is outside the file or misaligned"
    case .tokenOutOfRange(let t, let v): "token id \(t) outside the vocabulary (\(v) tokens)"
    case .contextFull(let n, let c): "session needs \(n) token slots but holds \(c)"
    }
  }

  /// The metadata key the error is about, if it is about one (`general.architecture` for an unsupported one).
  public var metadataKey: String? {
    switch self {
    case .unsupportedArchitecture: "general.architecture"
    case .missingMetadata(let k), .invalidMetadata(let k, _, _): k
    default: nil
    }
  }

  /// The tensor the error is about, if it is about one.
  public var tensorName: String? {
    switch self {
    case .missingTensor(let n), .shapeMismatch(let n, _, _), .unsupportedTensorType(let n, _), .badTensorData(let n, _, _): n
    default: nil
    }
  }
}

// MARK: - Model source (what the loader needs from a file)

/// One metadata value as the runtime needs it (a narrowed copy of the file's value).
enum MetadataValue: Sendable {
  case int(Int)
  case float(Double)
  case string(String)
  case ints([Int])
}

/// Where a tensor lives: which of the source's mapped files, at which absolute offset.
struct TensorEntry: Sendable {
  let name: String
  let type: GGMLType
  /// GGUF order: `dimensions[0]` is the row length (fastest varying).
  let dimensions: [Int]
  let absoluteOffset: Int
  let byteCount: Int
  /// Index into `ModelSource.files` (0 for a single GGUF file).
  var fileIndex: Int = 0
}

/// The file-format-neutral view the loader works from: mapped files, metadata (GGUF key names) and a
/// tensor table (GGUF tensor names and dimension order). `LanguageModel.load(gguf:)` builds one from a
/// `GGUFFile`, `LanguageModel.load(huggingFace:)` from a safetensors checkpoint.
struct ModelSource {
  let files: [MappedFile]
  let metadata: [String: MetadataValue]
  let tensors: [String: TensorEntry]
  /// RoPE pairing forced by the source (Hugging Face llama weights are not permuted: NeoX halves).
  var ropeStyleOverride: RopeStyle? = nil
  /// Added to every RMSNorm weight at load: 1 for Gemma checkpoints, which store w for x * (1 + w) where
  /// llama.cpp's converter stores 1 + w.
  var normWeightShift: Float = 0

  func int(_ key: String) -> Int? {
    switch metadata[key] {
    case .int(let v): v
    case .float(let v): Int(exactly: v)
    default: nil
    }
  }

  func float(_ key: String) -> Float? {
    switch metadata[key] {
    case .int(let v): Float(v)
    case .float(let v): Float(v)
    default: nil
    }
  }

  func string(_ key: String) -> String? {
    if case .string(let s) = metadata[key] { return s }
    return nil
  }

  func requireInt(_ key: String, in range: ClosedRange<Int>) throws(ModelError) -> Int {
    guard let v = int(key) else { throw .missingMetadata(key: key) }
    guard range.contains(v) else { throw .invalidMetadata(key: key, value: String(v), reason: "outside \(range)") }
    return v
  }
}

/// llama.cpp's tensor names (LLM_TN), in one place.
enum TensorName {
  static let tokenEmbedding = "token_embd.weight"
  static let outputNorm = "output_norm.weight"
  static let output = "output.weight"
  static func block(_ layer: Int, _ suffix: String) -> String { "blk.\(layer).\(suffix)" }
  static let attentionNorm = "attn_norm.weight"
  static let query = "attn_q.weight"
  static let key = "attn_k.weight"
  static let value = "attn_v.weight"
  static let queryBias = "attn_q.bias"
  static let keyBias = "attn_k.bias"
  static let valueBias = "attn_v.bias"
  static let queryNorm = "attn_q_norm.weight"
  static let keyNorm = "attn_k_norm.weight"
  static let attentionOutput = "attn_output.weight"
  static let postAttentionNorm = "post_attention_norm.weight"
  static let ffnNorm = "ffn_norm.weight"
  static let ffnGate = "ffn_gate.weight"
  static let ffnUp = "ffn_up.weight"
  static let ffnDown = "ffn_down.weight"
  static let postFFNNorm = "post_ffw_norm.weight"
}

extension ModelConfig {
  /// Reads the config for the file's architecture; throws `unsupportedArchitecture` for the rest.
  static func read(from source: ModelSource) throws(ModelError) -> ModelConfig {
    guard let arch = source.string("general.architecture") else { throw .missingMetadata(key: "general.architecture") }
    var config: ModelConfig
    switch Architecture(rawValue: arch) {
    case .llama: config = try llamaConfig(source)
    case .qwen2: config = try qwen2Config(source)
    case .gemma3: config = try gemma3Config(source)
    case nil: throw .unsupportedArchitecture(arch, supported: Architecture.allCases.map(\.rawValue))
    }
    if let style = source.ropeStyleOverride { config.ropeStyle = style }
    return config
  }

  /// The keys every supported architecture shares, read with `prefix` (the architecture name).
  static func common(_ s: ModelSource, _ arch: Architecture) throws(ModelError) -> ModelConfig {
    let p = arch.rawValue
    let limit = 1 << 20
    let layers = try s.requireInt("\(p).block_count", in: 1...4096)
    let embd = try s.requireInt("\(p).embedding_length", in: 1...limit)
    let ff = try s.requireInt("\(p).feed_forward_length", in: 1...limit)
    let heads = try s.requireInt("\(p).attention.head_count", in: 1...4096)
    let kvHeads = s.int("\(p).attention.head_count_kv") ?? heads
    guard kvHeads >= 1, kvHeads <= heads, heads % kvHeads == 0 else {
      throw .invalidMetadata(key: "\(p).attention.head_count_kv", value: String(kvHeads), reason: "must divide head_count \(heads)")
    }
    let headDim = s.int("\(p).attention.key_length") ?? embd / heads
    let valueDim = s.int("\(p).attention.value_length") ?? headDim
    guard headDim >= 2, headDim <= 4096, headDim % 2 == 0, valueDim >= 1, valueDim <= 4096 else {
      throw .invalidMetadata(key: "\(p).attention.key_length", value: String(headDim), reason: "head width must be even, 2...4096")
    }
    let ropeDims = s.int("\(p).rope.dimension_count") ?? headDim
    guard ropeDims >= 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
      throw .invalidMetadata(key: "\(p).rope.dimension_count", value: String(ropeDims), reason: "must be even and <= head width")
    }
    let eps = s.float("\(p).attention.layer_norm_rms_epsilon") ?? 1e-5
    let vocab: Int
    if let v = s.int("\(p).vocab_size") {
      vocab = v
    } else if let e = s.tensors[TensorName.tokenEmbedding], e.dimensions.count == 2 {
      vocab = e.dimensions[1]
    } else {
      throw .missingMetadata(key: "\(p).vocab_size")
    }
    guard vocab >= 1, vocab <= 1 << 24 else {
      throw .invalidMetadata(key: "\(p).vocab_size", value: String(vocab), reason: "outside 1...16777216")
    }
    return ModelConfig(
      architecture: arch, layerCount: layers, embeddingLength: embd, feedForwardLength: ff,
      headCount: heads, kvHeadCount: kvHeads, headDimension: headDim, valueHeadDimension: valueDim,
      vocabularySize: vocab, contextLength: s.int("\(p).context_length") ?? 2048,
      rmsEpsilon: eps, ropeBase: s.float("\(p).rope.freq_base") ?? 10000, ropeBaseSlidingWindow: nil,
      ropeDimensionCount: ropeDims, ropeStyle: .interleaved, activation: .silu, embeddingScale: 1,
      attentionScale: 1 / Float(headDim).squareRoot(), slidingWindow: nil,
      slidingWindowLayers: Array(repeating: false, count: layers),
      finalLogitSoftcap: s.float("\(p).final_logit_softcapping"))
  }
}
