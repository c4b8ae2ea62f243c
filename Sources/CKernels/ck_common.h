// Helpers shared by the AVX2 kernels of ggml_q8.c and ggml_kquant.c (not a public header). Include after
// <immintrin.h> and <string.h>, inside the files' AVX2 sections.
#ifndef SCAN_CK_COMMON_H
#define SCAN_CK_COMMON_H

// The fp16 at p (unaligned, little-endian) as a float.
static inline float half_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// ggml's hsum_float_8 (as GGMLDots.swift's ggmlHorizontalSum): (high + low), then (0 + 2, 1 + 3), then their sum.
static inline float hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  __m128 t = _mm_add_ps(r, _mm_movehl_ps(r, r));
  return _mm_cvtss_f32(t) + _mm_cvtss_f32(_mm_shuffle_ps(t, t, 1));
}

#endif
