// Q4_K / Q6_K weights x Q8_K activations (int8 quants in element order, 256 per super-block) in the float orders of
// llama.cpp's x86 build, as GGMLKQuantDots.swift documents them (our own code for the same arithmetic). Every
// order is "exact integers, then a fixed sequence of float operations": the integers come from `maddubs` + `madd`
// (lane j of a 32-element chunk = the sum over elements 4j..4j+3, the Swift kernels' quad-transposed lane j; Q4_K
// nibbles 0..15 and Q6_K quants 0..63 times int8 never saturate an int16 pair), the float operations are the Swift
// kernels' in the same order. Built with -ffp-contract=off: every fused multiply-add is an explicit fmaf/intrinsic.
// Metadata per token and super-block (`Q8KMeta`, 25 floats): d, the 16 sums of 16 quants, the 8 sums of 32.
#include "CKernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define META 25

static inline float kq_half(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// ggml's hsum_float_8 order (as GGMLDots.swift's ggmlHorizontalSum).
static inline float kq_hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  __m128 t = _mm_add_ps(r, _mm_movehl_ps(r, r));
  return _mm_cvtss_f32(t) + _mm_cvtss_f32(_mm_shuffle_ps(t, t, 1));
}

static inline int32_t kq_total(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 8 int32 lanes: lane j = sum over elements 4j..4j+3 of u[e] * x[e] (u unsigned bytes, x int8).
static inline __m256i kq_lanes(__m256i u, const int8_t *x) {
  __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)x));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// get_scale_min_k4 for j = 0..7 (12 bytes at s).
static inline void kq_scales_mins(const uint8_t *s, int32_t sc[8], int32_t mn[8]) {
  for (int j = 0; j < 8; j++) {
    if (j < 4) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
    } else {
      sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
  }
}

void scan_q4k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int gemm,
                  float *out) {
  const uint8_t *w = (const uint8_t *)row;
  float acc[4] = {0, 0, 0, 0}, accMin[4] = {0, 0, 0, 0};
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (long b = 0; b < nb; b++) {
    const uint8_t *p = w + b * 144;
    int32_t sc[8], mn[8];
    kq_scales_mins(p + 4, sc, mn);
    const float dw = kq_half(p), dmin = kq_half(p + 2);
    __m256i lo[4], hi[4];
    for (int c = 0; c < 4; c++) {
      __m256i q = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * c));
      lo[c] = _mm256_and_si256(q, low);
      hi[c] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
    }
    for (long t = 0; t < count; t++) {
      const int8_t *x = xs[t] + b * 256;
      const float *m = metas[t] + b * META;
      const float dx = m[0];
      const float dd = dx * dw, dm = dx * dmin;
      if (gemm) {
        for (int c = 0; c < 4; c++) {
          __m256i l = _mm256_add_epi32(_mm256_mullo_epi32(kq_lanes(lo[c], x + 64 * c), _mm256_set1_epi32(sc[2 * c])),
                                       _mm256_mullo_epi32(kq_lanes(hi[c], x + 64 * c + 32), _mm256_set1_epi32(sc[2 * c + 1])));
          const float isum = (float)kq_total(l);
          // exact integer-valued floats (<= 2 x 63 x 4064)
          const float imin = (float)(mn[2 * c] * (int32_t)m[17 + 2 * c] + mn[2 * c + 1] * (int32_t)m[18 + 2 * c]);
          acc[t] = fmaf(isum, dd, acc[t]);
          accMin[t] = fmaf(imin, dm, accMin[t]);
        }
      } else {
        __m256i l = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
          l = _mm256_add_epi32(l, _mm256_mullo_epi32(kq_lanes(lo[c], x + 64 * c), _mm256_set1_epi32(sc[2 * c])));
          l = _mm256_add_epi32(l, _mm256_mullo_epi32(kq_lanes(hi[c], x + 64 * c + 32), _mm256_set1_epi32(sc[2 * c + 1])));
        }
        const float isum = (float)kq_total(l);
        int32_t imin = 0;
        for (int j = 0; j < 8; j++) imin += mn[j] * (int32_t)m[17 + j];
        acc[t] = fmaf(isum, dd, acc[t]);
        accMin[t] = fmaf((float)imin, dm, accMin[t]);
      }
    }
  }
  for (long t = 0; t < count; t++) out[t] = acc[t] - accMin[t];
}

void scan_q6k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int tiled,
                  float *out) {
  const uint8_t *w = (const uint8_t *)row;
  __m256 acc8[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float acc[4] = {0, 0, 0, 0};
  const __m256i low = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
  for (long b = 0; b < nb; b++) {
    const uint8_t *p = w + b * 210;
    const int8_t *scales = (const int8_t *)(p + 192);
    const float dw = kq_half(p + 208);
    __m256i q6[8];
    for (int c = 0; c < 8; c++) {
      const int n = c >> 2, i = c & 3;
      __m256i ql = _mm256_loadu_si256((const __m256i *)(p + n * 64 + (i & 1) * 32));
      __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + n * 32));
      __m256i l = (i >> 1) ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), low) : _mm256_and_si256(ql, low);
      __m256i h = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), three);
      q6[c] = _mm256_or_si256(l, _mm256_slli_epi16(h, 4));
    }
    for (long t = 0; t < count; t++) {
      const int8_t *x = xs[t] + b * 256;
      const float *m = metas[t] + b * META;
      __m256i lanes = _mm256_setzero_si256();
      for (int c = 0; c < 8; c++) {
        __m256i s = _mm256_setr_epi32(scales[2 * c], scales[2 * c], scales[2 * c], scales[2 * c], scales[2 * c + 1],
                                      scales[2 * c + 1], scales[2 * c + 1], scales[2 * c + 1]);
        lanes = _mm256_add_epi32(lanes, _mm256_mullo_epi32(kq_lanes(q6[c], x + 32 * c), s));
      }
      int32_t off[8];
      for (int L = 0; L < 8; L++)
        off[L] = 32 * (scales[2 * L] * (int32_t)m[1 + 2 * L] + scales[2 * L + 1] * (int32_t)m[2 + 2 * L]);
      lanes = _mm256_sub_epi32(lanes, _mm256_loadu_si256((const __m256i *)off));
      if (tiled) {
        const float res = dw * (float)kq_total(lanes);
        acc[t] = fmaf(res, m[0], acc[t]);
      } else {
        acc8[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(m[0] * dw), acc8[t]);
      }
    }
  }
  for (long t = 0; t < count; t++) out[t] = tiled ? acc[t] : kq_hsum8(acc8[t]);
}

#else

void scan_q4k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int gemm,
                  float *out) {
  (void)row; (void)nb; (void)xs; (void)metas; (void)count; (void)gemm; (void)out;
}
void scan_q6k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int tiled,
                  float *out) {
  (void)row; (void)nb; (void)xs; (void)metas; (void)count; (void)tiled; (void)out;
}

#endif
