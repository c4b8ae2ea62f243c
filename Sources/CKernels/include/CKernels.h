#ifndef SCAN_CKERNELS_H
#define SCAN_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Weight types of `scan_ggml_matmul_q8` (the values are ggml's type ids).
enum {
  SCAN_CK_Q4_0 = 2,
  SCAN_CK_Q4_1 = 3,
  SCAN_CK_Q5_0 = 6,
  SCAN_CK_Q5_1 = 7,
  SCAN_CK_Q8_0 = 8,
};

/// Whether this build has the AVX2 kernels (0: the functions below must not be called).
int scan_ck_available(void);

/// out[t * ld_out + r] = W[r] . X[t] for r in [row_lo, row_hi), t in [0, tokens), in ggml-cpu's AVX2 float
/// order (see GGMLDots.swift). W: `type` blocks of 32, rows `row_bytes` apart from `w`. X: int8 quants in
/// natural order, 32 bytes per block, token t at x + t * ldx_bytes. Meta: the Q8Meta layout (panels of 8 tokens:
/// per block 8 scales d then 8 block sums s), `first_token` added to every token index. `panel`: tokens per
/// L2 panel (a multiple of 8).
void scan_ggml_matmul_q8(int type, const void *w, size_t row_bytes, long row_lo, long row_hi,
                         const int8_t *x, size_t ldx_bytes, const float *meta, long block_count,
                         long first_token, long tokens, float *out, size_t ld_out, long panel);

/// Which instruction set the kernels use: 0 = AVX2 (vpmaddubsw + vpmaddwd), 1 = AVX-512 VNNI (vpdpbusd), chosen at
/// load from the CPU (the environment's SCAN_CK_ISA=avx2 keeps AVX2). Both give the same bits.
int scan_ck_isa(void);

/// Switches the kernels' instruction set (tests and benchmarks; not while a product runs). Returns 0, changing
/// nothing, if this CPU or build cannot run `isa`.
int scan_ck_set_isa(int isa);

/// One Q4_K row (`nb` super-blocks of 144 bytes) against `count` (1...4) Q8_K activation rows: `xs[t]` int8 quants in
/// element order (256 per super-block), `metas[t]` that token's Q8KMeta (25 floats per super-block). `gemm`: the
/// repacked q4_K_8x8 gemm order (one FMA pair per 64 elements), else the gemv order (one per super-block). Same bits
/// as GGMLKQuantDots.swift's `ggmlDotQ4Kx4` / `ggmlDotQ4K` / `ggmlDotQ4KGemm`. AVX2 builds only.
void scan_q4k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int gemm,
                  float *out);

/// One Q6_K row (210-byte super-blocks) against `count` (1...4) Q8_K rows as above: `tiled` = ggml's tiled K-quant
/// matmul order, else `ggml_vec_dot_q6_K_q8_K`'s (GGMLKQuantDots.swift's `ggmlDotQ6KTiled` / `ggmlDotQ6K`).
void scan_q6k_dot(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int tiled,
                  float *out);

/// Asks the CPU to bring the cache line at `p` into the caches (a hint: never faults, any address is fine).
/// Static inline so that Swift callers get the single instruction.
static inline void scan_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
