// Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights x Q8 activations (int8 quants) with AVX2 integer dot products,
// giving the same bits as ggml-cpu's AVX2 `ggml_vec_dot_*_q8_0/q8_1` (the order is described in
// GGMLDots.swift; this is our own code for the same arithmetic). Per 32-element block: the 8 exact integer
// sums of 4 consecutive products (`maddubs` then `madd` with ones; unsigned x signed, signed weights through
// the sign trick; no pair sum can saturate: |pair| <= 2 * 128 * 127), converted to float, then
// acc = fma(lanes, d_w * d_x, acc); Q4_1/Q5_1 add summs = fma(m_w, s_x, summs). Row value = hsum(acc) + summs.
// Built with -ffp-contract=off: every fused multiply-add below is an explicit intrinsic or fmaf. Each kernel exists
// twice: AVX2, and AVX-512 VNNI (`vpdpbusd` for the integer sums, same integers, same bits), picked at load.
#include "CKernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int scan_ck_available(void) { return 1; }

#include "ck_common.h"

// 16 packed nibbles -> 32 bytes: byte i < 16 = low nibble of q[i], byte i >= 16 = high nibble of q[i - 16].
static inline __m256i nibbles32(const uint8_t *q) {
  __m128i v = _mm_loadu_si128((const __m128i *)q);
  __m128i m = _mm_set1_epi8(0x0F);
  __m128i lo = _mm_and_si128(v, m);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
  return _mm256_set_m128i(hi, lo);
}

// Bit i of qh (little-endian u32 at p) -> byte i = 0x10 where set, 0 where clear.
static inline __m256i high_bits32(const uint8_t *p) {
  uint32_t qh;
  memcpy(&qh, p, 4);
  __m256i v = _mm256_set1_epi32((int)qh);
  // byte i takes byte i / 8 of qh
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
  v = _mm256_shuffle_epi8(v, shuf);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// Decoded weight block: unsigned quants (hasMin types: used as is) or signed (sign trick).
typedef struct {
  __m256i q;      // unsigned: the quants; signed: |quants|
  __m256i sgn;    // signed only: the quants (their signs move onto the activations)
  float d, m;
} wblock;

#define DECODE(TYPE, p, blk)                                                                 \
  do {                                                                                       \
    if (TYPE == SCAN_CK_Q4_1) {                                                              \
      blk.q = nibbles32(p + 4);                                                              \
      blk.d = half_at(p); blk.m = half_at(p + 2);                                            \
    } else if (TYPE == SCAN_CK_Q5_1) {                                                       \
      blk.q = _mm256_or_si256(nibbles32(p + 8), high_bits32(p + 4));                         \
      blk.d = half_at(p); blk.m = half_at(p + 2);                                            \
    } else if (TYPE == SCAN_CK_Q4_0) {                                                       \
      blk.sgn = _mm256_sub_epi8(nibbles32(p + 2), _mm256_set1_epi8(8));                      \
      blk.q = _mm256_sign_epi8(blk.sgn, blk.sgn);                                            \
      blk.d = half_at(p); blk.m = 0;                                                         \
    } else if (TYPE == SCAN_CK_Q5_0) {                                                       \
      blk.sgn = _mm256_sub_epi8(_mm256_or_si256(nibbles32(p + 6), high_bits32(p + 2)),      \
                                _mm256_set1_epi8(16));                                       \
      blk.q = _mm256_sign_epi8(blk.sgn, blk.sgn);                                            \
      blk.d = half_at(p); blk.m = 0;                                                         \
    } else {                                                                                 \
      blk.sgn = _mm256_loadu_si256((const __m256i *)(p + 2));                                \
      blk.q = _mm256_sign_epi8(blk.sgn, blk.sgn);                                            \
      blk.d = half_at(p); blk.m = 0;                                                         \
    }                                                                                        \
  } while (0)

#define HAS_MIN(TYPE) (TYPE == SCAN_CK_Q4_1 || TYPE == SCAN_CK_Q5_1)
#define SIGNED(TYPE) (TYPE == SCAN_CK_Q4_0 || TYPE == SCAN_CK_Q5_0 || TYPE == SCAN_CK_Q8_0)

// The 8 integer lane sums of one block against the activation quants at x, as floats.
#define LANES(TYPE, blk, xp, ones)                                                           \
  _mm256_cvtepi32_ps(_mm256_madd_epi16(                                                      \
      _mm256_maddubs_epi16(blk.q, SIGNED(TYPE)                                               \
          ? _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(xp)), blk.sgn)             \
          : _mm256_loadu_si256((const __m256i *)(xp))), ones))

static inline long meta_index(long t, long b, long nb) { return ((t >> 3) * nb + b) * 16 + (t & 7); }

#define BLOCK_BYTES(TYPE) (TYPE == SCAN_CK_Q4_0 ? 18 : TYPE == SCAN_CK_Q4_1 ? 20 : TYPE == SCAN_CK_Q5_0 ? 22 \
                           : TYPE == SCAN_CK_Q5_1 ? 24 : 34)

// Software prefetch of the matrix-vector kernel (`rows1`): it walks 4 rows at once, so the hardware prefetcher
// sees 4 short interleaved streams (each row is a few hundred bytes) and falls behind; every group of 4 rows
// instead fetches the group PF_GROUPS ahead, a line or two per block, and a call starts with a burst for its
// first PF_GROUPS groups. Measured single-threaded on SmolLM2's 96 MB of decode weights (Benchmarks/README
// "speed8"): ~19 -> ~12 ms per pass. Prefetches never fault; they stop at the end of the call's rows.
#ifndef PF_GROUPS
#define PF_GROUPS 2
#endif
#define PF_LINE 64

static inline void prefetch_to(const uint8_t **pf, const uint8_t *target) {
  const uint8_t *p = *pf;
  for (; p < target; p += PF_LINE) _mm_prefetch((const char *)p, _MM_HINT_T0);
  *pf = p;
}

// Up to 4 rows against one token (matrix-vector products: independent FMA chains per row).
#define DEFINE_KERNELS(TYPE, NAME, ATTR, LN)                                                                        \
ATTR static void NAME##_rows1(const uint8_t *w, size_t row_bytes, long r0, long r1, const int8_t *x,           \
                         const float *meta, long nb, long t, float *out) {                               \
  const __m256i ones = _mm256_set1_epi16(1);                                                              \
  const uint8_t *end = w + r1 * row_bytes;                                                                \
  const long group = 4 * (long)row_bytes, step = (group + nb - 1) / nb;                                   \
  const uint8_t *pf = (const uint8_t *)((uintptr_t)(w + r0 * row_bytes) & ~(uintptr_t)(PF_LINE - 1));    \
  {                                                                                                       \
    const uint8_t *first = w + r0 * row_bytes + PF_GROUPS * group;                                        \
    prefetch_to(&pf, first < end ? first : end);                                                          \
  }                                                                                                       \
  long r = r0;                                                                                            \
  for (; r + 4 <= r1; r += 4) {                                                                           \
    const uint8_t *w0 = w + r * row_bytes, *w1 = w0 + row_bytes, *w2 = w1 + row_bytes, *w3 = w2 + row_bytes; \
    const uint8_t *ahead = w0 + PF_GROUPS * group;                                                        \
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                           \
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                                 \
    for (long b = 0; b < nb; b++) {                                                                       \
      const uint8_t *target = ahead + (b + 1) * step;                                                     \
      prefetch_to(&pf, target < end ? target : end);                                                      \
      const float *m = meta + meta_index(t, b, nb);                                                       \
      const int8_t *xb = x + b * 32;                                                                      \
      const long o = b * BLOCK_BYTES(TYPE);                                                               \
      wblock k0, k1, k2, k3;                                                                              \
      DECODE(TYPE, (w0 + o), k0); DECODE(TYPE, (w1 + o), k1);                                             \
      DECODE(TYPE, (w2 + o), k2); DECODE(TYPE, (w3 + o), k3);                                             \
      a0 = _mm256_fmadd_ps(LN(TYPE, k0, xb, ones), _mm256_set1_ps(k0.d * m[0]), a0);                   \
      a1 = _mm256_fmadd_ps(LN(TYPE, k1, xb, ones), _mm256_set1_ps(k1.d * m[0]), a1);                   \
      a2 = _mm256_fmadd_ps(LN(TYPE, k2, xb, ones), _mm256_set1_ps(k2.d * m[0]), a2);                   \
      a3 = _mm256_fmadd_ps(LN(TYPE, k3, xb, ones), _mm256_set1_ps(k3.d * m[0]), a3);                   \
      if (HAS_MIN(TYPE)) {                                                                                \
        s0 = fmaf(k0.m, m[8], s0); s1 = fmaf(k1.m, m[8], s1);                                             \
        s2 = fmaf(k2.m, m[8], s2); s3 = fmaf(k3.m, m[8], s3);                                             \
      }                                                                                                   \
    }                                                                                                     \
    out[r] = hsum8(a0) + s0; out[r + 1] = hsum8(a1) + s1;                                                 \
    out[r + 2] = hsum8(a2) + s2; out[r + 3] = hsum8(a3) + s3;                                             \
  }                                                                                                       \
  for (; r < r1; r++) {                                                                                   \
    const uint8_t *w0 = w + r * row_bytes;                                                                \
    __m256 a0 = _mm256_setzero_ps();                                                                      \
    float s0 = 0;                                                                                         \
    for (long b = 0; b < nb; b++) {                                                                       \
      const float *m = meta + meta_index(t, b, nb);                                                       \
      wblock k0;                                                                                          \
      DECODE(TYPE, (w0 + b * BLOCK_BYTES(TYPE)), k0);                                                     \
      a0 = _mm256_fmadd_ps(LN(TYPE, k0, x + b * 32, ones), _mm256_set1_ps(k0.d * m[0]), a0);           \
      if (HAS_MIN(TYPE)) s0 = fmaf(k0.m, m[8], s0);                                                       \
    }                                                                                                     \
    out[r] = hsum8(a0) + s0;                                                                              \
  }                                                                                                       \
}                                                                                                         \
/* One row against tokens t..t+N-1 (N = 8 or 4, t + first a multiple of N): each block decoded once. */   \
ATTR static inline void NAME##_x8(const uint8_t *row, const int8_t *x, size_t ldx, const float *meta, long nb, \
                             long t, float *out, size_t ld_out) {                                         \
  const __m256i ones = _mm256_set1_epi16(1);                                                              \
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;         \
  __m256 summs = _mm256_setzero_ps();                                                                     \
  for (long b = 0; b < nb; b++) {                                                                         \
    wblock k;                                                                                             \
    DECODE(TYPE, (row + b * BLOCK_BYTES(TYPE)), k);                                                       \
    const float *m = meta + meta_index(t, b, nb);                                                         \
    float sc[8];                                                                                          \
    _mm256_storeu_ps(sc, _mm256_mul_ps(_mm256_loadu_ps(m), _mm256_set1_ps(k.d)));                         \
    const int8_t *xb = x + b * 32;                                                                        \
    a0 = _mm256_fmadd_ps(LN(TYPE, k, xb, ones), _mm256_broadcast_ss(sc), a0);                          \
    a1 = _mm256_fmadd_ps(LN(TYPE, k, xb + ldx, ones), _mm256_broadcast_ss(sc + 1), a1);                \
    a2 = _mm256_fmadd_ps(LN(TYPE, k, xb + 2 * ldx, ones), _mm256_broadcast_ss(sc + 2), a2);            \
    a3 = _mm256_fmadd_ps(LN(TYPE, k, xb + 3 * ldx, ones), _mm256_broadcast_ss(sc + 3), a3);            \
    a4 = _mm256_fmadd_ps(LN(TYPE, k, xb + 4 * ldx, ones), _mm256_broadcast_ss(sc + 4), a4);            \
    a5 = _mm256_fmadd_ps(LN(TYPE, k, xb + 5 * ldx, ones), _mm256_broadcast_ss(sc + 5), a5);            \
    a6 = _mm256_fmadd_ps(LN(TYPE, k, xb + 6 * ldx, ones), _mm256_broadcast_ss(sc + 6), a6);            \
    a7 = _mm256_fmadd_ps(LN(TYPE, k, xb + 7 * ldx, ones), _mm256_broadcast_ss(sc + 7), a7);            \
    if (HAS_MIN(TYPE)) summs = _mm256_fmadd_ps(_mm256_set1_ps(k.m), _mm256_loadu_ps(m + 8), summs);       \
  }                                                                                                       \
  float s[8];                                                                                             \
  _mm256_storeu_ps(s, summs);                                                                             \
  out[0] = hsum8(a0) + s[0]; out[ld_out] = hsum8(a1) + s[1];                                              \
  out[2 * ld_out] = hsum8(a2) + s[2]; out[3 * ld_out] = hsum8(a3) + s[3];                                 \
  out[4 * ld_out] = hsum8(a4) + s[4]; out[5 * ld_out] = hsum8(a5) + s[5];                                 \
  out[6 * ld_out] = hsum8(a6) + s[6]; out[7 * ld_out] = hsum8(a7) + s[7];                                 \
}                                                                                                         \
ATTR static inline void NAME##_x4(const uint8_t *row, const int8_t *x, size_t ldx, const float *meta, long nb, \
                             long t, float *out, size_t ld_out) {                                         \
  const __m256i ones = _mm256_set1_epi16(1);                                                              \
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                             \
  __m128 summs = _mm_setzero_ps();                                                                        \
  for (long b = 0; b < nb; b++) {                                                                         \
    wblock k;                                                                                             \
    DECODE(TYPE, (row + b * BLOCK_BYTES(TYPE)), k);                                                       \
    const float *m = meta + meta_index(t, b, nb);                                                         \
    float sc[4];                                                                                          \
    _mm_storeu_ps(sc, _mm_mul_ps(_mm_loadu_ps(m), _mm_set1_ps(k.d)));                                     \
    const int8_t *xb = x + b * 32;                                                                        \
    a0 = _mm256_fmadd_ps(LN(TYPE, k, xb, ones), _mm256_broadcast_ss(sc), a0);                          \
    a1 = _mm256_fmadd_ps(LN(TYPE, k, xb + ldx, ones), _mm256_broadcast_ss(sc + 1), a1);                \
    a2 = _mm256_fmadd_ps(LN(TYPE, k, xb + 2 * ldx, ones), _mm256_broadcast_ss(sc + 2), a2);            \
    a3 = _mm256_fmadd_ps(LN(TYPE, k, xb + 3 * ldx, ones), _mm256_broadcast_ss(sc + 3), a3);            \
    if (HAS_MIN(TYPE)) summs = _mm_fmadd_ps(_mm_set1_ps(k.m), _mm_loadu_ps(m + 8), summs);                \
  }                                                                                                       \
  float s[4];                                                                                             \
  _mm_storeu_ps(s, summs);                                                                                \
  out[0] = hsum8(a0) + s[0]; out[ld_out] = hsum8(a1) + s[1];                                              \
  out[2 * ld_out] = hsum8(a2) + s[2]; out[3 * ld_out] = hsum8(a3) + s[3];                                 \
}                                                                                                         \
ATTR static void NAME##_matmul(const uint8_t *w, size_t row_bytes, long row_lo, long row_hi, const int8_t *x,   \
                          size_t ldx, const float *meta, long nb, long first, long tokens, float *out,    \
                          size_t ld_out, long panel) {                                                    \
  if (tokens == 1) {                                                                                      \
    NAME##_rows1(w, row_bytes, row_lo, row_hi, x, meta, nb, first, out);                                  \
    return;                                                                                               \
  }                                                                                                       \
  const uint8_t *end = w + row_hi * row_bytes;                                                            \
  for (long t0 = 0; t0 < tokens; t0 += panel) {                                                           \
    long t1 = t0 + panel < tokens ? t0 + panel : tokens;                                                  \
    /* Prefetch 2 rows ahead: a chunk is a few rows, so the hardware prefetcher restarts often. */       \
    const uint8_t *pf = (const uint8_t *)((uintptr_t)(w + row_lo * row_bytes) & ~(uintptr_t)(PF_LINE - 1)); \
    for (long r = row_lo; r < row_hi; r++) {                                                              \
      const uint8_t *row = w + r * row_bytes;                                                             \
      const uint8_t *target = row + 3 * row_bytes;                                                        \
      prefetch_to(&pf, target < end ? target : end);                                                      \
      long t = t0;                                                                                        \
      for (; t + 8 <= t1; t += 8)                                                                         \
        NAME##_x8(row, x + t * ldx, ldx, meta, nb, first + t, out + t * ld_out + r, ld_out);              \
      if (t + 4 <= t1) {                                                                                  \
        NAME##_x4(row, x + t * ldx, ldx, meta, nb, first + t, out + t * ld_out + r, ld_out);              \
        t += 4;                                                                                           \
      }                                                                                                   \
      for (; t < t1; t++)                                                                                 \
        NAME##_rows1(w, row_bytes, r, r + 1, x + t * ldx, meta, nb, first + t, out + t * ld_out);         \
    }                                                                                                     \
  }                                                                                                       \
}

#define AVX2_ONLY
DEFINE_KERNELS(SCAN_CK_Q4_0, q4_0, AVX2_ONLY, LANES)
DEFINE_KERNELS(SCAN_CK_Q4_1, q4_1, AVX2_ONLY, LANES)
DEFINE_KERNELS(SCAN_CK_Q5_0, q5_0, AVX2_ONLY, LANES)
DEFINE_KERNELS(SCAN_CK_Q5_1, q5_1, AVX2_ONLY, LANES)
DEFINE_KERNELS(SCAN_CK_Q8_0, q8_0, AVX2_ONLY, LANES)

// The same kernels where the CPU has AVX-512 VNNI (with VL, for 256-bit operands): `vpdpbusd` sums the 4 products
// of each int32 lane in one instruction instead of `vpmaddubsw` + `vpmaddwd`. The integer sums are the same
// (the pair sums of `vpmaddubsw` never saturate here, see the top), so every float operation and every bit of
// the result is unchanged; only the instruction count per block falls. Chosen once at load (`scan_ck_isa`).
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
#define SCAN_CK_HAVE_VNNI 1
#define VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define LANES_VNNI(TYPE, blk, xp, ones)                                                      \
  _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(                                                    \
      _mm256_setzero_si256(), blk.q, SIGNED(TYPE)                                            \
          ? _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(xp)), blk.sgn)             \
          : _mm256_loadu_si256((const __m256i *)(xp))))
DEFINE_KERNELS(SCAN_CK_Q4_0, q4_0_vnni, VNNI_TARGET, LANES_VNNI)
DEFINE_KERNELS(SCAN_CK_Q4_1, q4_1_vnni, VNNI_TARGET, LANES_VNNI)
DEFINE_KERNELS(SCAN_CK_Q5_0, q5_0_vnni, VNNI_TARGET, LANES_VNNI)
DEFINE_KERNELS(SCAN_CK_Q5_1, q5_1_vnni, VNNI_TARGET, LANES_VNNI)
DEFINE_KERNELS(SCAN_CK_Q8_0, q8_0_vnni, VNNI_TARGET, LANES_VNNI)
#else
#define SCAN_CK_HAVE_VNNI 0
#endif

static int cpu_has_vnni(void) {
#if SCAN_CK_HAVE_VNNI
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#else
  return 0;
#endif
}

// 0: AVX2 (vpmaddubsw + vpmaddwd); 1: AVX-512 VNNI. Set before any thread runs a kernel (a constructor), changed
// afterwards only by `scan_ck_set_isa` (tests and benchmarks, between products).
static volatile int ck_isa = 0;

__attribute__((constructor)) static void scan_ck_choose_isa(void) {
  const char *env = getenv("SCAN_CK_ISA");
  int best = cpu_has_vnni();
  ck_isa = (env && strcmp(env, "avx2") == 0) ? 0 : best;
}

int scan_ck_isa(void) { return ck_isa; }

int scan_ck_set_isa(int isa) {
  if (isa == 1 && !cpu_has_vnni()) return 0;
  ck_isa = isa == 1 ? 1 : 0;
  return 1;
}

typedef void (*matmul_fn)(const uint8_t *, size_t, long, long, const int8_t *, size_t, const float *, long, long, long,
                          float *, size_t, long);

// The kernels by ggml type id, per instruction set.
static const matmul_fn avx2_kernels[SCAN_CK_Q8_0 + 1] = {
  [SCAN_CK_Q4_0] = q4_0_matmul, [SCAN_CK_Q4_1] = q4_1_matmul, [SCAN_CK_Q5_0] = q5_0_matmul,
  [SCAN_CK_Q5_1] = q5_1_matmul, [SCAN_CK_Q8_0] = q8_0_matmul,
};
#if SCAN_CK_HAVE_VNNI
static const matmul_fn vnni_kernels[SCAN_CK_Q8_0 + 1] = {
  [SCAN_CK_Q4_0] = q4_0_vnni_matmul, [SCAN_CK_Q4_1] = q4_1_vnni_matmul, [SCAN_CK_Q5_0] = q5_0_vnni_matmul,
  [SCAN_CK_Q5_1] = q5_1_vnni_matmul, [SCAN_CK_Q8_0] = q8_0_vnni_matmul,
};
#endif

void scan_ggml_matmul_q8(int type, const void *w, size_t row_bytes, long row_lo, long row_hi,
                         const int8_t *x, size_t ldx_bytes, const float *meta, long block_count,
                         long first_token, long tokens, float *out, size_t ld_out, long panel) {
  if (type < 0 || type > SCAN_CK_Q8_0) return;
  matmul_fn f = avx2_kernels[type];
#if SCAN_CK_HAVE_VNNI
  if (ck_isa == 1) f = vnni_kernels[type];
#endif
  if (f) f((const uint8_t *)w, row_bytes, row_lo, row_hi, x, ldx_bytes, meta, block_count, first_token, tokens, out, ld_out, panel);
}

#else

int scan_ck_available(void) { return 0; }
int scan_ck_isa(void) { return 0; }
int scan_ck_set_isa(int isa) { return isa == 0; }

void scan_ggml_matmul_q8(int type, const void *w, size_t row_bytes, long row_lo, long row_hi,
                         const int8_t *x, size_t ldx_bytes, const float *meta, long block_count,
                         long first_token, long tokens, float *out, size_t ld_out, long panel) {
  (void)type; (void)w; (void)row_bytes; (void)row_lo; (void)row_hi; (void)x; (void)ldx_bytes; (void)meta;
  (void)block_count; (void)first_token; (void)tokens; (void)out; (void)ld_out; (void)panel;
}

#endif
