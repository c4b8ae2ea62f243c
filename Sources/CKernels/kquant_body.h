// The Q4_K / Q6_K kernel bodies of ggml_kquant.c, included once per instruction set with KQ_ATTR (a target
// attribute or nothing), KQ_NAME(base) (the function's name) and KQ_LANES (the integer lane sums) defined.
// Not a public header: ggml_kquant.c only.
KQ_ATTR static void KQ_NAME(q4k_dot)(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int gemm,
                  float *out) {
  const uint8_t *w = (const uint8_t *)row;
  float acc[4] = {0, 0, 0, 0}, accMin[4] = {0, 0, 0, 0};
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (long b = 0; b < nb; b++) {
    const uint8_t *p = w + b * 144;
    int32_t sc[8], mn[8];
    kq_scales_mins(p + 4, sc, mn);
    const float dw = half_at(p), dmin = half_at(p + 2);
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
          __m256i l = _mm256_add_epi32(_mm256_mullo_epi32(KQ_LANES(lo[c], x + 64 * c), _mm256_set1_epi32(sc[2 * c])),
                                       _mm256_mullo_epi32(KQ_LANES(hi[c], x + 64 * c + 32), _mm256_set1_epi32(sc[2 * c + 1])));
          const float isum = (float)kq_total(l);
          // exact integer-valued floats (<= 2 x 63 x 4064)
          // In float, as the Swift kernel: exact for the quantizer's integer sums, and no float-to-int conversion
          // of metadata (a NaN from hostile weights stays a NaN instead of becoming an undefined integer).
          const float imin = (float)mn[2 * c] * m[17 + 2 * c] + (float)mn[2 * c + 1] * m[18 + 2 * c];
          acc[t] = fmaf(isum, dd, acc[t]);
          accMin[t] = fmaf(imin, dm, accMin[t]);
        }
      } else {
        __m256i l = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
          l = _mm256_add_epi32(l, _mm256_mullo_epi32(KQ_LANES(lo[c], x + 64 * c), _mm256_set1_epi32(sc[2 * c])));
          l = _mm256_add_epi32(l, _mm256_mullo_epi32(KQ_LANES(hi[c], x + 64 * c + 32), _mm256_set1_epi32(sc[2 * c + 1])));
        }
        const float isum = (float)kq_total(l);
        // Float products and sum as the Swift kernel (exact for finite sums < 2^24; non-finite stays non-finite).
        float imin = 0;
        for (int j = 0; j < 8; j++) imin += (float)mn[j] * m[17 + j];
        acc[t] = fmaf(isum, dd, acc[t]);
        accMin[t] = fmaf(imin, dm, accMin[t]);
      }
    }
  }
  for (long t = 0; t < count; t++) out[t] = acc[t] - accMin[t];
}

KQ_ATTR static void KQ_NAME(q6k_dot)(const void *row, long nb, const int8_t *const *xs, const float *const *metas, long count, int tiled,
                  float *out) {
  const uint8_t *w = (const uint8_t *)row;
  __m256 acc8[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float acc[4] = {0, 0, 0, 0};
  const __m256i low = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
  for (long b = 0; b < nb; b++) {
    const uint8_t *p = w + b * 210;
    const int8_t *scales = (const int8_t *)(p + 192);
    const float dw = half_at(p + 208);
    __m256i q6[8];
    for (int c = 0; c < 8; c++) {
      const int n = c >> 2, i = c & 3;
      __m256i ql = _mm256_loadu_si256((const __m256i *)(p + n * 64 + (i & 1) * 32));
      __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + n * 32));
      __m256i l = (i >> 1) ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), low) : _mm256_and_si256(ql, low);
      __m256i h = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), three);
      q6[c] = _mm256_or_si256(l, _mm256_slli_epi16(h, 4));
    }
    // The 16 scales as floats, even and odd ones (the offset's pairs), once per super-block.
    const __m256 pe = _mm256_setr_ps(scales[0], scales[2], scales[4], scales[6], scales[8], scales[10], scales[12], scales[14]);
    const __m256 po = _mm256_setr_ps(scales[1], scales[3], scales[5], scales[7], scales[9], scales[11], scales[13], scales[15]);
    for (long t = 0; t < count; t++) {
      const int8_t *x = xs[t] + b * 256;
      const float *m = metas[t] + b * META;
      __m256i lanes = _mm256_setzero_si256();
      for (int c = 0; c < 8; c++) {
        __m256i s = _mm256_setr_epi32(scales[2 * c], scales[2 * c], scales[2 * c], scales[2 * c], scales[2 * c + 1],
                                      scales[2 * c + 1], scales[2 * c + 1], scales[2 * c + 1]);
        lanes = _mm256_add_epi32(lanes, _mm256_mullo_epi32(KQ_LANES(q6[c], x + 32 * c), s));
      }
      // Offset lanes 32 (sc[2L] bs16[2L] + sc[2L+1] bs16[2L+1]) in float as the Swift kernel (exact for the
      // quantizer's sums), converted with cvttps: defined for any float (non-finite gives 0x80000000, no UB).
      __m256 be = _mm256_setr_ps(m[1], m[3], m[5], m[7], m[9], m[11], m[13], m[15]);
      __m256 bo = _mm256_setr_ps(m[2], m[4], m[6], m[8], m[10], m[12], m[14], m[16]);
      __m256i off = _mm256_slli_epi32(
          _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(pe, be), _mm256_mul_ps(po, bo))), 5);
      lanes = _mm256_sub_epi32(lanes, off);
      if (tiled) {
        const float res = dw * (float)kq_total(lanes);
        acc[t] = fmaf(res, m[0], acc[t]);
      } else {
        acc8[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(m[0] * dw), acc8[t]);
      }
    }
  }
  for (long t = 0; t < count; t++) out[t] = tiled ? acc[t] : hsum8(acc8[t]);
}

