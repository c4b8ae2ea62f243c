// Qwen2: the llama block plus biases on Q, K and V (`attn_{q,k,v}.bias`, loaded when present) and
// NeoX-style RoPE (pairs (i, i + d/2); llama.cpp llama_model_rope_type -> LLAMA_ROPE_TYPE_NEOX).

extension ModelConfig {
  static func qwen2Config(_ s: ModelSource) throws(ModelError) -> ModelConfig {
    var c = try common(s, .qwen2)
    c.ropeStyle = .neox
    c.activation = .silu
    return c
  }
}
