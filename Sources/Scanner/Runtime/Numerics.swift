/// Which rounding model the forward pass follows. Both compute the same network; they differ in where
/// values are rounded, which moves logits by hundredths and can flip near-tied argmaxes.
public enum Numerics: String, Sendable, CaseIterable {
  /// As llama.cpp's CPU backend does (the default): before each product with a quantized weight, the
  /// activation row is quantized to that weight's dot-product type (Q8_0 blocks for Q4_0/Q5_0/Q8_0,
  /// Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants; F16/BF16 weights see F16/BF16 activations) and each
  /// block product is an exact integer sum times the two scales; the KV cache holds F16, Q is rounded to
  /// F16 for Q.K and the attention weights to F16 for the V sum; RoPE angles are built in float as
  /// ggml does; GELU goes through ggml's F16 table. For Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights the products
  /// follow ggml's AVX2 float order exactly (8 integer lanes per block, one FMA per lane, `hsum_float_8`),
  /// as do RoPE's contracted rotation, RMSNorm's sequential double sum, SwiGLU and softmax with ggml's
  /// vector exp, and the attention sums (tinyBLAS order for prompts, `ggml_vec_dot_f16` order for
  /// single-token steps): on SmolLM2 this gives llama.cpp's logits bit for bit. A matrix-matrix product
  /// computes every token exactly as the matrix-vector product would (batched == single).
  /// Source: ggml-cpu `quantize_row_q8_0/q8_1`
  /// (AVX2: scale amax/127, round half to even), `quantize_row_q8_K_ref`, `ggml_vec_dot_*`,
  /// `ggml_rope_cache_init`, `ggml_vec_geglu_f32`.
  case llamaCpp
  /// Plain float32 arithmetic on the dequantized weights (matches `transformers` on the
  /// dequantized model to ~1e-5 in the logits).
  case float
}
