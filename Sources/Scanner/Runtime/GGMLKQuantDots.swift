import CKernels
import Formats

// llama.cpp numerics for the K-quant weights: Q8_K activation quantization and the Q4_K / Q6_K x Q8_K
// products in the float order ggml-cpu's x86 AVX2 build uses (written from the behaviour of
// `quantize_row_q8_K_ref`, `ggml_quantize_mat_q8_K_4x8`, `ggml_gemv_q4_K_8x8_q8_K` /
// `ggml_gemm_q4_K_8x8_q8_K` and `ggml_vec_dot_q6_K_q8_K` in llama-cpp-python 0.3.36's vendored ggml;
// read, not copied).
//
// Which path llama.cpp takes on an AVX2 machine (ggml-cpu repack.cpp, `ggml_repack_get_optimal_repack_type`):
// - Q4_K weights whose row count is a multiple of 8 are repacked into 8-row interleaved blocks
//   (q4_K_8x8). Of the n tokens of one matrix product (one ubatch), the first n - n % 4 go through the
//   4-token gemm kernel, the rest through the 1-token gemv kernel. Per 256-element super-block both form
//   exact integers `isum = sum_j sc_j * (q4 . q8)_j` and `imin = sum_j m_j * bsum32_j`; the gemv adds
//   them once per super-block (`acc = fma(float(isum), d_w * d_x, acc)`, `accMin = fma(float(imin),
//   dmin_w * d_x, accMin)`), the gemm once per 64-element pair of sub-blocks (the same two FMAs on the
//   pair's partial integers); the result is `acc - accMin`.
// - Q6_K weights are not repacked on x86. A product of n >= 8 tokens (one ubatch) runs through ggml's
//   tiled K-quant matmul (ggml-cpu tiled/, `ggml_compute_forward_mul_mat_tiled`): per super-block the
//   exact integer `sum sc * (q6 - 32) * q8`, rounded once, times d_w (float), then `acc = fma(that, d_x,
//   acc)` in super-block order. Fewer tokens take `ggml_vec_dot_q6_K_q8_K` per row and token: per
//   super-block 8 int32 lanes, lane L = sum over the 8 chunks of 32 elements of sc * q6 (unsigned, 0..63)
//   * q8 for elements 4L..4L+3 of the chunk, minus 32 * (sc[2L] bsum16[2L] + sc[2L+1] bsum16[2L+1]);
//   `acc8 = fma(d_x * d_w, float(lane), acc8)`, then `hsum_float_8`. (Q4_K whose row count is not a
//   multiple of 8 would also take these two paths; not done: such Q4_K matrices get the repacked orders.)
// - Q8_K activations: the AVX2 4-row quantizer and the scalar reference give the same quants up to a
//   global sign in ties of +-amax, which flips q and d together and leaves every product's bits alone.
//
// Layout and exactness. The activation quants are stored quad-transposed per 32 elements, as the Q8
// blocks are (`q8QuadIndex`: vector k lane j = quant 4j + k), and each weight sub-block is decoded into
// the same order from its bytes read as 32-bit words (byte k of word j = element 4j + k), so lane j of
// W_0 X_0 + W_1 X_1 + W_2 X_2 + W_3 X_3 is the exact integer sum over elements 4j..4j+3 (ggml's int32
// lane j). Products of integer-valued floats are exact while every partial sum stays below 2^22; where a
// sum may pass that (a Q4_K super-block total, a Q6_K lane over 8 chunks) the lanes are moved to Int32
// with the 1.5 * 2^23 bit trick (no trap on NaN/inf from hostile weights: they give garbage, as in ggml)
// and added as integers, and the one rounding to float is `Float(Int32)`, as ggml's `cvtepi32_ps`.
// Per-token metadata (`Q8KMeta`): per super-block d, the 16 sums of 16 quants and the 8 sums of 32.

/// Per-token metadata of Q8_K activation rows: for token t and super-block b, at `(t * blockCount + b) *
/// perBlock`: d, then ggml's 16 `bsums` (sums of 16 quants), then the 8 sums of 32 (Q4_K's mins).
struct Q8KMeta {
  let base: UnsafePointer<Float>
  let blockCount: Int

  /// Floats per token and super-block.
  static let perBlock = 25

  /// Floats needed for `tokens` rows of `blockCount` super-blocks.
  static func floats(tokens: Int, blockCount: Int) -> Int { tokens &* blockCount &* perBlock }

  /// Start of token `t`'s super-block `b`.
  @inline(__always)
  func block(token t: Int, _ b: Int) -> UnsafePointer<Float> { base + (t &* blockCount &+ b) &* Q8KMeta.perBlock }
}

/// Whether `type` has an exact ggml-order kernel against integer Q8_K activation blocks.
@inline(__always)
func hasGGMLQ8KKernel(_ type: GGMLType) -> Bool {
  type == .q4_K || type == .q6_K
}

/// Quantizes one activation row to Q8_K blocks of 256 as ggml does: amax over the block, iscale = -127 /
/// (the first value of largest magnitude, with its sign), q = min(127, round-half-even(iscale * x)),
/// d = 1 / iscale (float32). `q` receives the integer quants as floats, quad-transposed per 32 elements;
/// `meta` (the `Q8KMeta` layout, row `token`) d and the block sums. An all-zero block has d = 0, zero quants.
// x (count,), count % 256 == 0 -> q (count,), meta (Q8KMeta.floats(tokens: token + 1, blockCount: count / 256),)
func quantizeQ8KBlocks(
  _ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ meta: UnsafeMutablePointer<Float>, token: Int, _ count: Int,
  kernels: Q8Kernels = .active
) {
  let nb = count / 256
  for b in 0..<nb {
    let p = x + b &* 256, o = q + b &* 256
    let m = meta + (token &* nb &+ b) &* Q8KMeta.perBlock
    var mv = SIMD8<Float>()
    for g in 0..<32 { mv = max8(mv, abs8(load8(p + g &* 8))) }
    let amax = horizontalMax(mv)
    if !(amax > 0) {
      // All zero (or NaN: ggml's strict `>` scan also keeps amax 0 then).
      if kernels == .c {
        (UnsafeMutableRawPointer(q) + b &* 256).initializeMemory(as: UInt8.self, repeating: 0, count: 256)
      } else {
        o.initialize(repeating: 0, count: 256)
      }
      m.initialize(repeating: 0, count: Q8KMeta.perBlock)
      continue
    }
    var signedMax: Float = amax
    for j in 0..<256 where abs(p[j]) == amax {
      signedMax = p[j]
      break
    }
    let iscale = -127 / signedMax
    m[0] = 1 / iscale
    let top = SIMD8<Float>(repeating: 127)
    for g in 0..<8 {
      let s = p + g &* 32
      // |iscale * x| <= 127 (+ rounding): the magic-number rounding is ggml's nearest_int.
      let q0 = pointwiseMin(top, roundHalfEven(load8(s) * iscale))
      let q1 = pointwiseMin(top, roundHalfEven(load8(s + 8) * iscale))
      let q2 = pointwiseMin(top, roundHalfEven(load8(s + 16) * iscale))
      let q3 = pointwiseMin(top, roundHalfEven(load8(s + 24) * iscale))
      switch kernels {
      case .swift:
        let og = o + g &* 32
        for k in 0..<4 {
          store8(SIMD8<Float>(q0[k], q0[k &+ 4], q1[k], q1[k &+ 4], q2[k], q2[k &+ 4], q3[k], q3[k &+ 4]), og + k &* 8)
        }
      case .c:
        // Int8 in element order from the start of the row, the Q8 blocks' `.c` layout.
        let bytes = UnsafeMutableRawPointer(q) + (b &* 256 &+ g &* 32)
        storeInt8Quants(q0, bytes)
        storeInt8Quants(q1, bytes + 8)
        storeInt8Quants(q2, bytes + 16)
        storeInt8Quants(q3, bytes + 24)
      }
      // Integer-valued floats, |sum| <= 32 * 127: exact.
      let lo = (q0 + q1).sum(), hi = (q2 + q3).sum()
      m[1 &+ 2 &* g] = lo
      m[2 &+ 2 &* g] = hi
      m[17 &+ g] = lo + hi
    }
  }
}

/// `Int32(v)` lane by lane for integer-valued |v| < 2^22, by adding 1.5 * 2^23 and reading the low bits
/// (never traps; non-finite or larger lanes give meaningless integers, as ggml's conversions do).
@inline(__always)
func exactInt32(_ v: SIMD8<Float>) -> SIMD8<Int32> {
  let magic = SIMD8<Float>(repeating: 12_582_912)
  // can't overflow meaningfully: wrapping subtraction of the magic's bits, garbage only for out-of-range lanes
  return unsafeBitCast(v + magic, to: SIMD8<Int32>.self) &- 0x4B40_0000
}

/// The sum of 8 Int32 lanes (wrapping: exact for the bounded integers of these kernels).
@inline(__always)
func laneTotal(_ v: SIMD8<Int32>) -> Int32 {
  let h = v.lowHalf &+ v.highHalf
  let q = h.lowHalf &+ h.highHalf
  return q[0] &+ q[1]
}

/// Signed 32-bit lanes to floats (each rounded once, as `cvtepi32_ps`).
@inline(__always)
func roundedFloats(_ v: SIMD8<Int32>) -> SIMD8<Float> { floats(v) }

/// The 8 six-bit scales and the 8 mins of a Q4_K super-block (`scales` at `s`, 12 bytes), as
/// integer-valued floats (ggml's `get_scale_min_k4` for j = 0..<8).
@inline(__always)
func q4KScalesAndMins(_ s: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
  let u0 = UInt32(littleEndian: s.loadUnaligned(as: UInt32.self))
  let u1 = UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
  let u2 = UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
  // bytes j < 4: low 6 bits of bytes j (scales) and 4 + j (mins); j >= 4: a nibble of byte 4 + j with the
  // top 2 bits of byte j - 4 (scales) or j (mins) above it.
  let sc = SIMD2<UInt32>(u0 & 0x3F3F_3F3F, (u2 & 0x0F0F_0F0F) | (((u0 >> 6) & 0x0303_0303) << 4))
  let mn = SIMD2<UInt32>(u1 & 0x3F3F_3F3F, ((u2 >> 4) & 0x0F0F_0F0F) | (((u1 >> 6) & 0x0303_0303) << 4))
  return (floats(unsafeBitCast(sc, to: SIMD8<UInt8>.self)), floats(unsafeBitCast(mn, to: SIMD8<UInt8>.self)))
}

/// The 32 bytes at `p` as 8 little-endian words (word j = bytes 4j..4j+3).
@inline(__always)
func words(_ p: UnsafeRawPointer) -> SIMD8<UInt32> {
  p.loadUnaligned(as: SIMD8<UInt32>.self)
}

/// Bits `shift..<shift + 4` of every byte of `v` as lanes (byte k of word j: element 4j + k), for byte `k`.
@inline(__always)
func nibbleLane(_ v: SIMD8<UInt32>, byte k: UInt32, shift: UInt32) -> SIMD8<Float> {
  floats(unsafeBitCast((v &>> (8 &* k &+ shift)) & 0xF, to: SIMD8<Int32>.self))
}

/// One decoded 64-element chunk of a Q4_K super-block (sub-blocks 2c and 2c + 1), quad-transposed.
struct Q4KChunk {
  var l0: SIMD8<Float>, l1: SIMD8<Float>, l2: SIMD8<Float>, l3: SIMD8<Float>
  var h0: SIMD8<Float>, h1: SIMD8<Float>, h2: SIMD8<Float>, h3: SIMD8<Float>

  /// Chunk `c` of the super-block at `p` (qs at byte 16).
  @inline(__always)
  init(_ p: UnsafeRawPointer, _ c: Int) {
    let v = words(p + (16 &+ c &* 32))
    l0 = nibbleLane(v, byte: 0, shift: 0)
    l1 = nibbleLane(v, byte: 1, shift: 0)
    l2 = nibbleLane(v, byte: 2, shift: 0)
    l3 = nibbleLane(v, byte: 3, shift: 0)
    h0 = nibbleLane(v, byte: 0, shift: 4)
    h1 = nibbleLane(v, byte: 1, shift: 4)
    h2 = nibbleLane(v, byte: 2, shift: 4)
    h3 = nibbleLane(v, byte: 3, shift: 4)
  }

  /// Lane sums of sub-block 2c (`low`) and 2c + 1 against the quad-transposed quants of the 64
  /// elements at `x`: exact, |lane| <= 4 x 15 x 127.
  @inline(__always)
  func lanes(_ x: UnsafePointer<Float>) -> (low: SIMD8<Float>, high: SIMD8<Float>) {
    var a = l0 * load8(x)
    a = fma8(a, l1, load8(x + 8))
    a = fma8(a, l2, load8(x + 16))
    a = fma8(a, l3, load8(x + 24))
    var b = h0 * load8(x + 32)
    b = fma8(b, h1, load8(x + 40))
    b = fma8(b, h2, load8(x + 48))
    b = fma8(b, h3, load8(x + 56))
    return (a, b)
  }
}

/// Q4_K rows against one Q8_K activation row in the q4_K_8x8 gemv order.
// w: blockCount super-blocks of 144 bytes; x (256 blockCount,) quad-transposed integer-valued -> scalar
@inline(__always)
func ggmlDotQ4K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: Q8KMeta, token t: Int) -> Float {
  var acc: Float = 0, accMin: Float = 0
  for b in 0..<meta.blockCount {
    let p = w + b &* 144
    let m = meta.block(token: t, b)
    let (sc, mn) = q4KScalesAndMins(p + 4)
    let xb = x + b &* 256
    // each lane <= 8 sub-blocks x 63 x 4 x 15 x 127 < 2^22: exact, and within exactInt32's range
    var l = SIMD8<Float>()
    for c in 0..<4 {
      let (lo, hi) = Q4KChunk(p, c).lanes(xb + c &* 64)
      l = fma8(l, lo, sc[2 &* c])
      l = fma8(l, hi, sc[2 &* c &+ 1])
    }
    let isum = Float(laneTotal(exactInt32(l)))
    // sum_j m_j bsum32_j <= 8 x 63 x 4064 < 2^24: exact in any order
    let imin = (mn * load8(m + 17)).sum()
    let dx = m[0]
    acc = acc.addingProduct(isum, half(p) * dx)
    accMin = accMin.addingProduct(imin, half(p, 2) * dx)
  }
  return acc - accMin
}

/// Q4_K row against 4 Q8_K activation rows (`xs`, tokens `ts`) in the gemv order: each weight chunk is
/// decoded once for the 4 tokens, each token keeping its own accumulators (same bits as `ggmlDotQ4K`).
// w: blockCount super-blocks; 4 activation rows -> out[0..<4]
@inline(__always)
func ggmlDotQ4Kx4(
  _ w: UnsafeRawPointer, _ xs: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
  _ meta: Q8KMeta, tokens ts: SIMD4<Int>, gemm: Bool
) -> SIMD4<Float> {
  var acc = SIMD4<Float>(), accMin = SIMD4<Float>()
  for b in 0..<meta.blockCount {
    let p = w + b &* 144
    let (sc, mn) = q4KScalesAndMins(p + 4)
    let m0 = meta.block(token: ts[0], b), m1 = meta.block(token: ts[1], b)
    let m2 = meta.block(token: ts[2], b), m3 = meta.block(token: ts[3], b)
    let dx = SIMD4<Float>(m0[0], m1[0], m2[0], m3[0])
    let dd = dx * half(p), dm = dx * half(p, 2)
    let e = b &* 256
    if gemm {
      // One FMA pair per 64-element chunk (ggml_gemm_q4_K_8x8_q8_K).
      let b0 = load8(m0 + 17), b1 = load8(m1 + 17), b2 = load8(m2 + 17), b3 = load8(m3 + 17)
      for c in 0..<4 {
        let chunk = Q4KChunk(p, c)
        let s0 = sc[2 &* c], s1 = sc[2 &* c &+ 1], n0 = mn[2 &* c], n1 = mn[2 &* c &+ 1]
        let o = e &+ c &* 64
        @inline(__always) func pair(_ x: UnsafePointer<Float>) -> Float {
          let (lo, hi) = chunk.lanes(x + o)
          // <= 2 x 63 x 4 x 15 x 127 per lane: exact
          return Float(laneTotal(exactInt32(fma8(lo * s0, hi, s1))))
        }
        let isum = SIMD4<Float>(pair(xs.0), pair(xs.1), pair(xs.2), pair(xs.3))
        // exact: <= 2 x 63 x 4064
        let imin = SIMD4<Float>(
          n0 * b0[2 &* c] + n1 * b0[2 &* c &+ 1], n0 * b1[2 &* c] + n1 * b1[2 &* c &+ 1],
          n0 * b2[2 &* c] + n1 * b2[2 &* c &+ 1], n0 * b3[2 &* c] + n1 * b3[2 &* c &+ 1])
        acc = acc.addingProduct(isum, dd)
        accMin = accMin.addingProduct(imin, dm)
      }
    } else {
      var l0 = SIMD8<Float>(), l1 = SIMD8<Float>(), l2 = SIMD8<Float>(), l3 = SIMD8<Float>()
      for c in 0..<4 {
        let chunk = Q4KChunk(p, c)
        let s0 = sc[2 &* c], s1 = sc[2 &* c &+ 1]
        let o = e &+ c &* 64
        var (lo, hi) = chunk.lanes(xs.0 + o)
        l0 = fma8(fma8(l0, lo, s0), hi, s1)
        (lo, hi) = chunk.lanes(xs.1 + o)
        l1 = fma8(fma8(l1, lo, s0), hi, s1)
        (lo, hi) = chunk.lanes(xs.2 + o)
        l2 = fma8(fma8(l2, lo, s0), hi, s1)
        (lo, hi) = chunk.lanes(xs.3 + o)
        l3 = fma8(fma8(l3, lo, s0), hi, s1)
      }
      let isum = SIMD4<Float>(
        Float(laneTotal(exactInt32(l0))), Float(laneTotal(exactInt32(l1))),
        Float(laneTotal(exactInt32(l2))), Float(laneTotal(exactInt32(l3))))
      let imin = SIMD4<Float>(
        (mn * load8(m0 + 17)).sum(), (mn * load8(m1 + 17)).sum(), (mn * load8(m2 + 17)).sum(), (mn * load8(m3 + 17)).sum())
      acc = acc.addingProduct(isum, dd)
      accMin = accMin.addingProduct(imin, dm)
    }
  }
  return acc - accMin
}

/// One Q4_K row against one Q8_K activation row in the gemm order of a single token: `ggmlDotQ4Kx4`'s
/// gemm branch for one token (used for a leftover gemm-order token; llama.cpp never leaves one, but a
/// caller's grouping may).
@inline(__always)
func ggmlDotQ4KGemm(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: Q8KMeta, token t: Int) -> Float {
  ggmlDotQ4Kx4(w, (x, x, x, x), meta, tokens: SIMD4<Int>(repeating: t), gemm: true)[0]
}

/// The 32 quants of chunk `c` (0..<8) of a Q6_K super-block, quad-transposed, unsigned (0..63).
@inline(__always)
func q6KChunk(_ p: UnsafeRawPointer, _ c: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
  // Chunk 4n + i of half n: low (i = 0, 1) or high (i = 2, 3) nibbles of ql[64n + 32 (i & 1) ..< +32], with
  // bits 2i, 2i + 1 of qh[32n ..< 32n + 32] above them.
  let n = c >> 2, i = c & 3
  let ql = words(p + (n &* 64 &+ (i & 1) &* 32))
  let qh = words(p + (128 &+ n &* 32))
  let lowShift = UInt32(i >> 1) &* 4, highShift = UInt32(i) &* 2
  @inline(__always) func lane(_ k: UInt32) -> SIMD8<Float> {
    let l = (ql &>> (8 &* k &+ lowShift)) & 0xF
    let h = ((qh &>> (8 &* k &+ highShift)) & 3) &<< 4
    return floats(unsafeBitCast(l | h, to: SIMD8<Int32>.self))
  }
  return (lane(0), lane(1), lane(2), lane(3))
}

/// The per-lane scale of chunk `c` of a Q6_K super-block (lanes 0-3: 16-group 2c, lanes 4-7: 2c + 1).
@inline(__always)
func q6KChunkScale(_ scales: SIMD16<Float>, _ c: Int) -> SIMD8<Float> {
  let a = scales[2 &* c], b = scales[2 &* c &+ 1]
  return SIMD8<Float>(a, a, a, a, b, b, b, b)
}

/// The 16 signed scales of a Q6_K super-block as floats.
@inline(__always)
func q6KScales(_ p: UnsafeRawPointer) -> SIMD16<Float> {
  let s = p.loadUnaligned(fromByteOffset: 192, as: SIMD16<Int8>.self)
  return SIMD16<Float>(lowHalf: floats(s.lowHalf), highHalf: floats(s.highHalf))
}

/// ggml's -32 offset per lane: 32 (sc[2L] bsum16[2L] + sc[2L+1] bsum16[2L+1]), exact (< 2^24).
@inline(__always)
func q6KOffset(_ scales: SIMD16<Float>, _ m: UnsafePointer<Float>) -> SIMD8<Int32> {
  let bs = UnsafeRawPointer(m + 1).loadUnaligned(as: SIMD16<Float>.self)
  let prod = scales * bs  // |.| <= 128 x 2032: exact
  return exactInt32(prod.evenHalf + prod.oddHalf) &* 32
}

/// One Q6_K super-block's per-lane integer sums `sum sc * q6 * q8` (before the -32 offset), exact: what both
/// Q6_K orders (vec_dot and tiled) start from.
// p: one 210-byte super-block; xb: its 256 quad-transposed integer-valued activations -> 8 lanes
@inline(__always)
func q6KLanes(_ p: UnsafeRawPointer, _ xb: UnsafePointer<Float>, _ scales: SIMD16<Float>) -> SIMD8<Int32> {
  var lanes = SIMD8<Int32>()
  for c in 0..<8 {
    let (w0, w1, w2, w3) = q6KChunk(p, c)
    let xc = xb + c &* 32
    var l = w0 * load8(xc)
    l = fma8(l, w1, load8(xc + 8))
    l = fma8(l, w2, load8(xc + 16))
    l = fma8(l, w3, load8(xc + 24))
    // |l| <= 4 x 63 x 127, times |sc| <= 128: < 2^22, exact and in exactInt32's range
    lanes &+= exactInt32(l * q6KChunkScale(scales, c))
  }
  return lanes
}

/// One Q6_K row against one Q8_K activation row as `ggml_vec_dot_q6_K_q8_K` (AVX2) computes it.
// w: blockCount super-blocks of 210 bytes; x (256 blockCount,) quad-transposed integer-valued -> scalar
@inline(__always)
func ggmlDotQ6K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: Q8KMeta, token t: Int) -> Float {
  var acc = SIMD8<Float>()
  for b in 0..<meta.blockCount {
    let p = w + b &* 210
    let m = meta.block(token: t, b)
    let scales = q6KScales(p)
    let lanes = q6KLanes(p, x + b &* 256, scales) &- q6KOffset(scales, m)
    acc = fma8(acc, roundedFloats(lanes), m[0] * half(p, 208))
  }
  return ggmlHorizontalSum(acc)
}

/// One Q6_K row against one Q8_K activation row in the order of ggml's tiled K-quant matmul
/// (`ggml_compute_forward_mul_mat_tiled`, taken when the product has >= 8 tokens): per super-block the
/// exact integer `sum sc * (q6 - 32) * q8`, rounded once, times d_w, then `acc = fma(that, d_x, acc)`.
// w: blockCount super-blocks of 210 bytes; x (256 blockCount,) quad-transposed integer-valued -> scalar
@inline(__always)
func ggmlDotQ6KTiled(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: Q8KMeta, token t: Int) -> Float {
  var acc: Float = 0
  for b in 0..<meta.blockCount {
    let p = w + b &* 210
    let m = meta.block(token: t, b)
    let scales = q6KScales(p)
    let lanes = q6KLanes(p, x + b &* 256, scales)
    // the lane total is the exact block integer (|.| < 2^31), rounded once as cvtepi32_ps
    let res = half(p, 208) * Float(laneTotal(lanes &- q6KOffset(scales, m)))
    acc = acc.addingProduct(res, m[0])
  }
  return acc
}

/// `ggmlDotQ6K` (`tiled` false) or `ggmlDotQ6KTiled` for 4 activation rows: each chunk decoded once,
/// each token its own accumulator (same bits as the one-token kernels).
@inline(__always)
func ggmlDotQ6Kx4(
  _ w: UnsafeRawPointer, _ xs: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
  _ meta: Q8KMeta, tokens ts: SIMD4<Int>, tiled: Bool
) -> SIMD4<Float> {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var acc = SIMD4<Float>()
  for b in 0..<meta.blockCount {
    let p = w + b &* 210
    let scales = q6KScales(p)
    let e = b &* 256
    var i0 = SIMD8<Int32>(), i1 = SIMD8<Int32>(), i2 = SIMD8<Int32>(), i3 = SIMD8<Int32>()
    for c in 0..<8 {
      let (w0, w1, w2, w3) = q6KChunk(p, c)
      let s = q6KChunkScale(scales, c)
      let o = e &+ c &* 32
      @inline(__always) func chunk(_ x: UnsafePointer<Float>) -> SIMD8<Int32> {
        let xc = x + o
        var l = w0 * load8(xc)
        l = fma8(l, w1, load8(xc + 8))
        l = fma8(l, w2, load8(xc + 16))
        l = fma8(l, w3, load8(xc + 24))
        return exactInt32(l * s)
      }
      i0 &+= chunk(xs.0)
      i1 &+= chunk(xs.1)
      i2 &+= chunk(xs.2)
      i3 &+= chunk(xs.3)
    }
    let dw = half(p, 208)
    let m0 = meta.block(token: ts[0], b), m1 = meta.block(token: ts[1], b)
    let m2 = meta.block(token: ts[2], b), m3 = meta.block(token: ts[3], b)
    i0 &-= q6KOffset(scales, m0)
    i1 &-= q6KOffset(scales, m1)
    i2 &-= q6KOffset(scales, m2)
    i3 &-= q6KOffset(scales, m3)
    if tiled {
      let res = SIMD4<Float>(Float(laneTotal(i0)), Float(laneTotal(i1)), Float(laneTotal(i2)), Float(laneTotal(i3))) * dw
      acc = acc.addingProduct(res, SIMD4<Float>(m0[0], m1[0], m2[0], m3[0]))
    } else {
      a0 = fma8(a0, roundedFloats(i0), m0[0] * dw)
      a1 = fma8(a1, roundedFloats(i1), m1[0] * dw)
      a2 = fma8(a2, roundedFloats(i2), m2[0] * dw)
      a3 = fma8(a3, roundedFloats(i3), m3[0] * dw)
    }
  }
  if tiled { return acc }
  return SIMD4<Float>(ggmlHorizontalSum(a0), ggmlHorizontalSum(a1), ggmlHorizontalSum(a2), ggmlHorizontalSum(a3))
}

/// How llama.cpp orders one token's K-quant products, which depends on the tokens of its sequence in the
/// same call (llama.cpp's ubatch): `Transformer` fills it per token (`RunState.tokenKQuantOrder`).
struct KQuantOrder: OptionSet {
  let rawValue: UInt8
  /// Repacked Q4_K: the token is among the first c - c % 4 of the c tokens (the 4-token gemm kernel).
  static let gemm = KQuantOrder(rawValue: 1)
  /// Q6_K (not repacked): c >= 8, the tiled K-quant matmul; else `ggml_vec_dot_q6_K_q8_K`.
  static let tiled = KQuantOrder(rawValue: 2)
}

/// `W[r] . X[t]` for the `rows` of a Q4_K / Q6_K matrix and `tokens` Q8_K activation rows in ggml's
/// float order. `order[t]` (nil: the one-token orders) says which of llama.cpp's kernels token t's
/// product takes (`KQuantOrder`). Every token's result is the same sequence of operations whatever the
/// grouping: each row meets the tokens 4 at a time, gathered by order, the leftovers one by one.
// W (rows, 256 nb) @ X (tokens, ldx)^T -> out (tokens, ldOut) at column r; x quad-transposed
func ggmlMatMulQ8K(
  _ type: GGMLType, _ start: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, _ x: UnsafePointer<Float>, ldx: Int,
  _ meta: Q8KMeta, tokens: Int, order: UnsafePointer<KQuantOrder>?, _ out: UnsafeMutablePointer<Float>, ldOut: Int,
  kernels: Q8Kernels = .active
) {
  let isQ4K = type == .q4_K
  let flag: KQuantOrder = isQ4K ? .gemm : .tiled
  if kernels == .c {
    ggmlMatMulQ8KC(isQ4K, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, order: order, flag: flag, out, ldOut: ldOut)
    return
  }
  for r in rows {
    let row = start + r &* rowBytes
    forEachKQuantGroup(tokens: tokens, order: order, flag: flag) { group, count, special in
      if count == 4 {
        let xs = (x + group[0] &* ldx, x + group[1] &* ldx, x + group[2] &* ldx, x + group[3] &* ldx)
        let v = isQ4K
          ? ggmlDotQ4Kx4(row, xs, meta, tokens: group, gemm: special) : ggmlDotQ6Kx4(row, xs, meta, tokens: group, tiled: special)
        for i in 0..<4 { out[group[i] &* ldOut &+ r] = v[i] }
        return
      }
      let t = group[0]
      let xt = x + t &* ldx
      let v: Float
      switch (isQ4K, special) {
      case (true, true): v = ggmlDotQ4KGemm(row, xt, meta, token: t)
      case (true, false): v = ggmlDotQ4K(row, xt, meta, token: t)
      case (false, true): v = ggmlDotQ6KTiled(row, xt, meta, token: t)
      case (false, false): v = ggmlDotQ6K(row, xt, meta, token: t)
      }
      out[t &* ldOut &+ r] = v
    }
  }
}

/// How one row meets the tokens of a K-quant product, for both kernel sets: the tokens of the special order (`flag`)
/// first, then the others, 4 at a time in token order (`body(group, 4, special)`), the leftovers one by one
/// (`body(group, 1, special)`, the token in `group[0]`). Every token's result depends only on its order, not on the
/// group it lands in.
@inline(__always)
private func forEachKQuantGroup(
  tokens: Int, order: UnsafePointer<KQuantOrder>?, flag: KQuantOrder, _ body: (SIMD4<Int>, Int, Bool) -> Void
) {
  for pass in 0..<2 {
    let special = pass == 0
    var group = SIMD4<Int>(), filled = 0
    for t in 0..<tokens where (order?[t].contains(flag) ?? false) == special {
      group[filled] = t
      filled &+= 1
      if filled == 4 {
        body(group, 4, special)
        filled = 0
      }
    }
    for i in 0..<filled { body(SIMD4<Int>(repeating: group[i]), 1, special) }
  }
}

/// `ggmlMatMulQ8K` through the C kernels (`scan_q4k_dot` / `scan_q6k_dot`, int8 activations in element order at the
/// start of each row): the same grouping of tokens (`forEachKQuantGroup`), the same bits.
private func ggmlMatMulQ8KC(
  _ isQ4K: Bool, _ start: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, _ x: UnsafePointer<Float>, ldx: Int,
  _ meta: Q8KMeta, tokens: Int, order: UnsafePointer<KQuantOrder>?, flag: KQuantOrder, _ out: UnsafeMutablePointer<Float>,
  ldOut: Int
) {
  let nb = meta.blockCount
  let xBytes = UnsafeRawPointer(x).assumingMemoryBound(to: Int8.self)
  // ldx floats per token row = 4 ldx bytes; the quants are the row's first ldx bytes.
  withUnsafeTemporaryAllocation(of: UnsafePointer<Int8>?.self, capacity: 4) { xs in
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 4) { ms in
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 4) { v in
        // safe: capacity 4 each, never empty
        let xp = xs.baseAddress!, mp = ms.baseAddress!, vp = v.baseAddress!
        for r in rows {
          let row = start + r &* rowBytes
          forEachKQuantGroup(tokens: tokens, order: order, flag: flag) { group, count, special in
            for i in 0..<count {
              xp[i] = UnsafePointer(xBytes + group[i] &* 4 &* ldx)
              mp[i] = meta.block(token: group[i], 0)
            }
            if isQ4K {
              scan_q4k_dot(row, nb, UnsafePointer(xp), UnsafePointer(mp), count, special ? 1 : 0, vp)
            } else {
              scan_q6k_dot(row, nb, UnsafePointer(xp), UnsafePointer(mp), count, special ? 1 : 0, vp)
            }
            for i in 0..<count { out[group[i] &* ldOut &+ r] = vp[i] }
          }
        }
      }
    }
  }
}
