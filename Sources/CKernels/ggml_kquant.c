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

#include "ck_common.h"

static inline int32_t kq_total(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
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

// 8 int32 lanes: lane j = sum over elements 4j..4j+3 of u[e] * x[e] (u unsigned bytes, x int8).
static inline __m256i kq_lanes(__m256i u, const int8_t *x) {
  __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)x));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

#define KQ_ATTR
#define KQ_NAME(base) base##_avx2
#define KQ_LANES kq_lanes
#include "kquant_body.h"
#undef KQ_ATTR
#undef KQ_NAME
#undef KQ_LANES

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
#define KQ_HAVE_VNNI 1
// The same with AVX-512 VNNI: `vpdpbusd` gives the same int32 lane sums (no int16 pair saturates here).
#define KQ_VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
KQ_VNNI_TARGET static inline __m256i kq_lanes_vnni(__m256i u, const int8_t *x) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, _mm256_loadu_si256((const __m256i *)x));
}
#define KQ_ATTR KQ_VNNI_TARGET
#define KQ_NAME(base) base##_vnni
#define KQ_LANES kq_lanes_vnni
#include "kquant_body.h"
#undef KQ_ATTR
#undef KQ_NAME
#undef KQ_LANES
#else
#define KQ_HAVE_VNNI 0
#endif

void scan_q4k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int gemm,
                  float *out) {
#if KQ_HAVE_VNNI
  if (scan_ck_isa() == 1) {
    q4k_dot_vnni(row, nb, xs, metas, count, gemm, out);
    return;
  }
#endif
  q4k_dot_avx2(row, nb, xs, metas, count, gemm, out);
}

void scan_q6k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int tiled,
                  float *out) {
#if KQ_HAVE_VNNI
  if (scan_ck_isa() == 1) {
    q6k_dot_vnni(row, nb, xs, metas, count, tiled, out);
    return;
  }
#endif
  q6k_dot_avx2(row, nb, xs, metas, count, tiled, out);
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
