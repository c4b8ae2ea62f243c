// Gemma 3 (text), following llama.cpp's build for LLM_ARCH_GEMMA3:
// - embeddings scaled by sqrt(embedding_length);
// - RMSNorm weights already include Gemma's "+1" (the converter adds it), so they multiply as stored;
// - per-head RMSNorm of Q and K (attn_q_norm / attn_k_norm), NeoX RoPE, Q scaled by 1/sqrt(key_length);
// - post-attention and post-FFN norms before each residual add; GELU(tanh) gate;
// - sliding-window pattern 6: layer l uses the window when l % 6 < 5, with RoPE base 10000 there
//   (rope_freq_base_train_swa) and `rope.freq_base` on the global layers.

extension ModelConfig {
  static func gemma3Config(_ s: ModelSource) throws(ModelError) -> ModelConfig {
    var c = try common(s, .gemma3)
    c.ropeStyle = .neox
    c.activation = .geluTanh
    c.embeddingScale = Float(c.embeddingLength).squareRoot()
    c.attentionScale = 1 / Float(c.headDimension).squareRoot()
    if let window = s.int("gemma3.attention.sliding_window"), window > 0 {
      c.slidingWindow = window
      c.slidingWindowLayers = (0..<c.layerCount).map { $0 % 6 < 5 }
      c.ropeBaseSlidingWindow = 10000
    }
    return c
  }
}
