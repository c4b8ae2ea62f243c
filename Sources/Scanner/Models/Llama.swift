// Llama family (Llama 2/3, Mistral, TinyLlama, SmolLM/SmolLM2) as llama.cpp's converter writes it:
// Q/K rows are permuted so RoPE rotates interleaved pairs (2i, 2i+1) (llama.cpp LLAMA_ROPE_TYPE_NORM).

extension ModelConfig {
  static func llamaConfig(_ s: ModelSource) throws(ModelError) -> ModelConfig {
    var c = try common(s, .llama)
    c.ropeStyle = .interleaved
    c.activation = .silu
    return c
  }
}
