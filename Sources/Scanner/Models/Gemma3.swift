// Gemma 3 (text), following llama.cpp's build for LLM_ARCH_GEMMA3:
// - embeddings scaled by sqrt(embedding_length);
// - RMSNorm weights already include Gemma's "+1" (the converter adds it), so they multiply as stored;
// - per-head RMSNorm of Q and K (attn_q_norm / attn_k_norm), NeoX RoPE, Q scaled by 1/sqrt(key_length);
// - post-attention and post-FFN norms before each residual add; GELU(tanh) gate;
// - sliding-window pattern 6: layer l uses the window when l % 6 < 5, with RoPE base 10000 there
//   (rope_freq_base_train_swa; `gemma3.rope.freq_base_swa` when the file says) and `rope.freq_base` on the
//   global layers. `gemma3.attention.scale` (set from a Hugging Face config's query_pre_attn_scalar) replaces
//   1/sqrt(key_length) when present.

extension ModelConfig {
  static func gemma3Config(_ s: ModelSource) throws(ModelError) -> ModelConfig {
    var c = try common(s, .gemma3)
    c.ropeStyle = .neox
    c.activation = .geluTanh
    c.embeddingScale = Float(c.embeddingLength).squareRoot()
    c.attentionScale = 1 / Float(c.headDimension).squareRoot()
    if let scale = s.float("gemma3.attention.scale") {
      guard scale.isFinite, scale > 0 else {
        throw .invalidMetadata(key: "gemma3.attention.scale", value: String(scale), reason: "must be a positive number")
      }
      c.attentionScale = scale
    }
    if let window = s.int("gemma3.attention.sliding_window"), window > 0 {
      c.slidingWindow = window
      c.slidingWindowLayers = (0..<c.layerCount).map { $0 % 6 < 5 }
      let base = s.float("gemma3.rope.freq_base_swa") ?? 10000
      guard base.isFinite, base > 1 else {
        throw .invalidMetadata(key: "gemma3.rope.freq_base_swa", value: String(base), reason: "must be a number above 1")
      }
      c.ropeBaseSlidingWindow = base
    }
    return c
  }
}
