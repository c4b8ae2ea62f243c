import CKernels
import Formats

// llama.cpp numerics: the weight x Q8 activation block dot products in ggml-cpu's exact float order, so a
// matrix product gives llama.cpp's bits, not just its value to a few ulps (written from the behaviour of
// `ggml_vec_dot_{q4_0,q5_0,q8_0}_q8_0` and `ggml_vec_dot_{q4_1,q5_1}_q8_1`, AVX2 build; read, not copied).
//
// ggml keeps one 8-lane float accumulator per row. For each 32-element block it forms 8 integer lane
// sums (lane j = sum of elements 4j..4j+3 of weight quant x activation quant: `maddubs` then `madd` with
// ones), converts them to float and adds `d_w * d_x` (one float product) times them with one FMA per
// lane. Q4_1/Q5_1 also keep a scalar `summs = fma(m_w, s_x, summs)` with the activation's fp16 block sum
// (GCC contracts that line; checked in the shipped libggml-cpu.so). The row's value is the lane sum in
// `hsum_float_8` order plus `summs`. Integer lane sums are exact in float here (|sum| <= 4 * 128 * 127),
// so summing the products of integer-valued floats in any order reproduces them bit for bit.
//
// Layout (chosen so the lane sums need no shuffles): a Q8 activation block is stored quad-transposed,
// 4 SIMD8 vectors X_k (k = 0..<4) with lane j of X_k = quant 4j + k, and every weight block is decoded
// into the same order (W_k, with vertical shifts of its bytes read as 32-bit words); lane j of
// W_0 X_0 + W_1 X_1 + W_2 X_2 + W_3 X_3 is then ggml's integer lane sum j. The per-block (d, s) of the
// activations sit in panels of 8 tokens (`Q8Meta`), so a multi-token kernel loads the scales and block
// sums of 4 or 8 tokens with one vector load and keeps the Q4_1/Q5_1 `summs` of 8 tokens in one vector
// (each lane is still its own token's sequential FMA chain). The kernels are specialised per weight type
// (`GGMLQ8Weight`), decode each weight block once per group of tokens, and work on the mapped bytes.
//
// These Swift kernels are the portable fallback: on x86_64 builds with AVX2, `ggmlMatMulQ8` calls the C kernels
// (Sources/CKernels/ggml_q8.c: the same arithmetic with `vpmaddubsw`/`vpmaddwd` on Int8 activations, which Swift
// SIMD did not lower to; Benchmarks/README.md "speed7"), see `Q8Kernels`.

/// ggml's `hsum_float_8`: (high half + low half), then (0 + 2, 1 + 3), then their sum.
@inline(__always)
func ggmlHorizontalSum(_ v: SIMD8<Float>) -> Float {
  let r = v.highHalf + v.lowHalf
  let t = r.lowHalf + r.highHalf
  return t[0] + t[1]
}

/// Where the quant of element `i` (0..<32) of a block sits in the quad-transposed Q8 activation layout.
@inline(__always)
func q8QuadIndex(_ i: Int) -> Int { (i & 3) &* 8 &+ (i >> 2) }

/// The per-block (d, s) of Q8 activation rows: for every panel of 8 tokens and block b, 8 scales d
/// (one per token) then 8 block sums s, so `floats(tokens:blockCount:)` = ceil(tokens / 8) * 16 * blockCount.
/// `firstToken` shifts every token index (a view of one row for a matrix-vector product).
struct Q8Meta {
  let base: UnsafePointer<Float>
  let blockCount: Int
  var firstToken: Int = 0

  /// Floats needed for `tokens` rows of `blockCount` blocks.
  static func floats(tokens: Int, blockCount: Int) -> Int { ((tokens &+ 7) / 8) &* 16 &* blockCount }

  /// Index of token `t`'s scale of block `b` (its block sum is 8 further).
  @inline(__always)
  static func index(token t: Int, block b: Int, blockCount: Int) -> Int {
    ((t >> 3) &* blockCount &+ b) &* 16 &+ (t & 7)
  }

  /// First of the 8 scales of block `b` for the panel holding token `t` (`t` a multiple of 4 for 4-lane loads).
  @inline(__always)
  func pointer(token t: Int, block b: Int) -> UnsafePointer<Float> {
    base + Q8Meta.index(token: firstToken &+ t, block: b, blockCount: blockCount)
  }

  /// The view of token `t` alone (its row as token 0).
  func token(_ t: Int) -> Q8Meta { Q8Meta(base: base, blockCount: blockCount, firstToken: firstToken &+ t) }
}

/// One weight block decoded to integer-valued floats in the quad-transposed order (lane j of `w_k` is
/// element 4j + k), with its scale and minimum.
struct Q8PartnerBlock {
  var w0: SIMD8<Float>, w1: SIMD8<Float>, w2: SIMD8<Float>, w3: SIMD8<Float>
  var d: Float
  var m: Float
}

/// A weight type with an exact ggml-order kernel against Q8 activation blocks (32 elements per block).
/// Conforming types are empty enums: the kernels are generic over them and specialised per type.
protocol GGMLQ8Weight {
  /// Bytes of one block.
  static var blockBytes: Int { get }
  /// Whether the block has a minimum (Q4_1/Q5_1: Q8_1 activations, ggml's `summs`).
  static var hasMin: Bool { get }
  /// Decodes the block at `p` (ggml block layouts, FORMATS.md; multi-byte fields little-endian).
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock
}

/// Signed 32-bit lanes to floats (`vcvtdq2ps`; written lane by lane, see `floats`).
@inline(__always)
func floats(_ v: SIMD8<Int32>) -> SIMD8<Float> {
  SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}

/// 16 packed 4-bit quants (the `qs` of Q4_x/Q5_x, little-endian bytes at `p`) as 32-bit words: lane j < 4
/// holds bytes 4j..4j+3 (low nibbles = elements 4j..4j+3), lane j >= 4 the same bytes shifted right by 4
/// (their high nibbles = elements 16 + 4(j-4)..). Byte k of lane j then holds element 4j + k in its low 4 bits.
@inline(__always)
func nibbleWords(_ p: UnsafeRawPointer) -> SIMD8<UInt32> {
  // Little-endian words (every supported platform is little-endian; `qh` below is converted explicitly).
  let u = p.loadUnaligned(as: SIMD4<UInt32>.self)
  return SIMD8<UInt32>(lowHalf: u, highHalf: u) &>> SIMD8<UInt32>(0, 0, 0, 0, 4, 4, 4, 4)
}

/// Element 4j + k (low 4 bits of byte k of word j) of `nibbleWords` as a signed lane.
@inline(__always)
func nibble(_ v: SIMD8<UInt32>, _ k: UInt32) -> SIMD8<Int32> {
  unsafeBitCast((v &>> (8 &* k)) & 0xF, to: SIMD8<Int32>.self)
}

/// The fifth bits of a Q5 block (`qh`, bit i for element i) spread so lane j holds bits 4j..4j+3 at 0..3.
@inline(__always)
func highBitWords(_ qh: UInt32) -> SIMD8<UInt32> {
  SIMD8<UInt32>(repeating: qh) &>> SIMD8<UInt32>(0, 4, 8, 12, 16, 20, 24, 28)
}

/// Bit 4 (value 16) of element 4j + k of a Q5 block.
@inline(__always)
func highBit(_ h: SIMD8<UInt32>, _ k: UInt32) -> SIMD8<Int32> {
  unsafeBitCast(((h &>> k) & 1) &<< 4, to: SIMD8<Int32>.self)
}

/// Q4_0: half d; u8 qs[16] (element i < 16: low nibble of qs[i], else high nibble of qs[i - 16]); q - 8.
enum Q4_0Weight: GGMLQ8Weight {
  static var blockBytes: Int { 18 }
  static var hasMin: Bool { false }
  @inline(__always)
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock {
    let v = nibbleWords(p + 2)
    return Q8PartnerBlock(
      w0: floats(nibble(v, 0) &- 8), w1: floats(nibble(v, 1) &- 8), w2: floats(nibble(v, 2) &- 8),
      w3: floats(nibble(v, 3) &- 8), d: half(p), m: 0)
  }
}

/// Q4_1: half d, half m; u8 qs[16]; q.
enum Q4_1Weight: GGMLQ8Weight {
  static var blockBytes: Int { 20 }
  static var hasMin: Bool { true }
  @inline(__always)
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock {
    let v = nibbleWords(p + 4)
    return Q8PartnerBlock(
      w0: floats(nibble(v, 0)), w1: floats(nibble(v, 1)), w2: floats(nibble(v, 2)), w3: floats(nibble(v, 3)),
      d: half(p), m: half(p, 2))
  }
}

/// Q5_0: half d; u32 qh; u8 qs[16]; (nibble | bit << 4) - 16.
enum Q5_0Weight: GGMLQ8Weight {
  static var blockBytes: Int { 22 }
  static var hasMin: Bool { false }
  @inline(__always)
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock {
    let h = highBitWords(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
    let v = nibbleWords(p + 6)
    return Q8PartnerBlock(
      w0: floats((nibble(v, 0) | highBit(h, 0)) &- 16), w1: floats((nibble(v, 1) | highBit(h, 1)) &- 16),
      w2: floats((nibble(v, 2) | highBit(h, 2)) &- 16), w3: floats((nibble(v, 3) | highBit(h, 3)) &- 16),
      d: half(p), m: 0)
  }
}

/// Q5_1: half d, half m; u32 qh; u8 qs[16]; nibble | bit << 4.
enum Q5_1Weight: GGMLQ8Weight {
  static var blockBytes: Int { 24 }
  static var hasMin: Bool { true }
  @inline(__always)
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock {
    let h = highBitWords(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    let v = nibbleWords(p + 8)
    return Q8PartnerBlock(
      w0: floats(nibble(v, 0) | highBit(h, 0)), w1: floats(nibble(v, 1) | highBit(h, 1)),
      w2: floats(nibble(v, 2) | highBit(h, 2)), w3: floats(nibble(v, 3) | highBit(h, 3)),
      d: half(p), m: half(p, 2))
  }
}

/// Q8_0: half d; i8 qs[32].
enum Q8_0Weight: GGMLQ8Weight {
  static var blockBytes: Int { 34 }
  static var hasMin: Bool { false }
  @inline(__always)
  static func decode(_ p: UnsafeRawPointer) -> Q8PartnerBlock {
    // Word j = elements 4j..4j+3 (little-endian); byte k sign-extended by a left then arithmetic right shift.
    let u = p.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int32>.self)
    return Q8PartnerBlock(
      w0: floats((u &<< 24) &>> 24), w1: floats((u &<< 16) &>> 24), w2: floats((u &<< 8) &>> 24), w3: floats(u &>> 24),
      d: half(p), m: 0)
  }
}

/// Whether `type` has an exact ggml-order kernel against Q8 activation blocks.
@inline(__always)
func hasGGMLQ8Kernel(_ type: GGMLType) -> Bool {
  switch type {
  case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: true
  default: false
  }
}

/// ggml's integer lane sums of one block (exact: integer-valued floats, |sum| < 2^24), against the
/// quad-transposed activation block at `x`.
@inline(__always)
func laneSums(_ w: Q8PartnerBlock, _ x: UnsafePointer<Float>) -> SIMD8<Float> {
  var l = w.w0 * load8(x)
  l = fma8(l, w.w1, load8(x + 8))
  l = fma8(l, w.w2, load8(x + 16))
  return fma8(l, w.w3, load8(x + 24))
}

/// Loads 4 floats.
@inline(__always)
func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

/// `W[r] . X[t]` for the `rows` of a Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 matrix and `tokens` Q8 activation rows, in
/// ggml's float order: the one switch over weight types for the ggml-order Q8 kernels (matrix-vector
/// products are `tokens == 1`). Every token's result is computed by the same sequence of operations
/// whatever the number of tokens or their grouping (batched == single, bit for bit).
/// `kernels`: which kernels, and so which quant layout `x` has (`quantizeQ8Blocks`).
// W (rows, 32 nb) @ X (tokens, 32 nb)^T -> out (tokens, ldOut) at column r; x (tokens, ldx) in `kernels`' layout
func ggmlMatMulQ8(
  _ type: GGMLType, _ start: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, _ x: UnsafePointer<Float>, ldx: Int,
  _ meta: Q8Meta, tokens: Int, _ out: UnsafeMutablePointer<Float>, ldOut: Int, kernels: Q8Kernels = .active
) {
  if kernels == .c {
    // AVX2 integer dots (CKernels/ggml_q8.c), same bits. Int8 activations, ldx bytes per token: panels of
    // ~40 KB keep a panel's activations in L1 while each weight row meets them (measured on the 1536 x 576
    // Q4_1 matrices at 512 tokens: 64-token panels ~8% faster than L2-sized ones of 336).
    let panel = max(16, (40 &* 1024 / max(1, ldx)) & ~7)
    let xBytes = UnsafeRawPointer(x).assumingMemoryBound(to: Int8.self)
    scan_ggml_matmul_q8(
      Int32(type.rawValue), start, rowBytes, rows.lowerBound, rows.upperBound, xBytes, 4 &* ldx, meta.base,
      meta.blockCount, meta.firstToken, tokens, out, ldOut, panel)
    return
  }
  switch type {
  case .q4_0: ggmlMatMulQ8(Q4_0Weight.self, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, out, ldOut: ldOut)
  case .q4_1: ggmlMatMulQ8(Q4_1Weight.self, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, out, ldOut: ldOut)
  case .q5_0: ggmlMatMulQ8(Q5_0Weight.self, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, out, ldOut: ldOut)
  case .q5_1: ggmlMatMulQ8(Q5_1Weight.self, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, out, ldOut: ldOut)
  case .q8_0: ggmlMatMulQ8(Q8_0Weight.self, start, rowBytes: rowBytes, rows: rows, x, ldx: ldx, meta, tokens: tokens, out, ldOut: ldOut)
  default:
    // Callers check hasGGMLQ8Kernel first, so this is a programmer error.
    preconditionFailure("ggmlMatMulQ8: no ggml-order kernel for \(type.name)")
  }
}

/// `ggmlMatMulQ8` for one weight type. Tokens go in panels whose activations stay in L2 while every row
/// of the slice meets them; within a panel each decoded weight block serves 8 (then 4, then 1) tokens.
@inline(__always)
func ggmlMatMulQ8<W: GGMLQ8Weight>(
  _: W.Type, _ start: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, _ x: UnsafePointer<Float>, ldx: Int,
  _ meta: Q8Meta, tokens: Int, _ out: UnsafeMutablePointer<Float>, ldOut: Int
) {
  let nb = ldx / 32
  // A multiple of 8 tokens (the meta panels): 48K floats of activations.
  let panel = max(8, (gemmPanelFloats / max(1, ldx)) & ~7)
  var t0 = 0
  while t0 < tokens {
    let t1 = min(tokens, t0 &+ panel)
    for r in rows {
      let row = start + r &* rowBytes
      var t = t0
      while t &+ 8 <= t1 {
        ggmlDotQ8x8(W.self, row, x + t &* ldx, ldx: ldx, meta, token: t, nb, out + (t &* ldOut &+ r), ldOut: ldOut)
        t &+= 8
      }
      if t &+ 4 <= t1 {
        ggmlDotQ8x4(W.self, row, x + t &* ldx, ldx: ldx, meta, token: t, nb, out + (t &* ldOut &+ r), ldOut: ldOut)
        t &+= 4
      }
      while t < t1 {
        out[t &* ldOut &+ r] = ggmlDotQ8(W.self, row, x + t &* ldx, meta, token: t, nb)
        t &+= 1
      }
    }
    t0 = t1
  }
}

/// One weight row against one Q8 activation row (token `t` of `meta`), in ggml's float order.
// w: nb blocks; x (32 nb,) quad-transposed integer-valued -> scalar
@inline(__always)
func ggmlDotQ8<W: GGMLQ8Weight>(
  _: W.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: Q8Meta, token t: Int, _ nb: Int
) -> Float {
  var acc = SIMD8<Float>()
  var summs: Float = 0
  for b in 0..<nb {
    let blk = W.decode(w + b &* W.blockBytes)
    let m = meta.pointer(token: t, block: b)
    acc = fma8(acc, laneSums(blk, x + b &* 32), blk.d * m[0])
    if W.hasMin { summs = summs.addingProduct(blk.m, m[8]) }
  }
  return ggmlHorizontalSum(acc) + summs
}

/// `ggmlDotQ8` for 4 activation rows (tokens t..<t+4, `t` a multiple of 4): each weight block is decoded
/// once for the 4 tokens, each token keeping its own accumulator and `summs` lane.
// w: nb blocks; x (4, ldx) -> out[0..<4 strided by ldOut]
@inline(__always)
func ggmlDotQ8x4<W: GGMLQ8Weight>(
  _: W.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, ldx: Int, _ meta: Q8Meta, token t: Int, _ nb: Int,
  _ out: UnsafeMutablePointer<Float>, ldOut: Int
) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var summs = SIMD4<Float>()
  let x1 = x + ldx, x2 = x + 2 &* ldx, x3 = x + 3 &* ldx
  for b in 0..<nb {
    let blk = W.decode(w + b &* W.blockBytes)
    let e = b &* 32
    let m = meta.pointer(token: t, block: b)
    let scale = load4(m) * blk.d
    a0 = fma8(a0, laneSums(blk, x + e), scale[0])
    a1 = fma8(a1, laneSums(blk, x1 + e), scale[1])
    a2 = fma8(a2, laneSums(blk, x2 + e), scale[2])
    a3 = fma8(a3, laneSums(blk, x3 + e), scale[3])
    if W.hasMin { summs = summs.addingProduct(SIMD4<Float>(repeating: blk.m), load4(m + 8)) }
  }
  out[0] = ggmlHorizontalSum(a0) + summs[0]
  out[ldOut] = ggmlHorizontalSum(a1) + summs[1]
  out[2 &* ldOut] = ggmlHorizontalSum(a2) + summs[2]
  out[3 &* ldOut] = ggmlHorizontalSum(a3) + summs[3]
}

/// `ggmlDotQ8` for 8 activation rows (tokens t..<t+8, `t` a multiple of 8: one meta panel).
// w: nb blocks; x (8, ldx) -> out[0..<8 strided by ldOut]
@inline(__always)
func ggmlDotQ8x8<W: GGMLQ8Weight>(
  _: W.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, ldx: Int, _ meta: Q8Meta, token t: Int, _ nb: Int,
  _ out: UnsafeMutablePointer<Float>, ldOut: Int
) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
  var summs = SIMD8<Float>()
  for b in 0..<nb {
    let blk = W.decode(w + b &* W.blockBytes)
    let xb = x + b &* 32
    let m = meta.pointer(token: t, block: b)
    let scale = load8(m) * blk.d
    a0 = fma8(a0, laneSums(blk, xb), scale[0])
    a1 = fma8(a1, laneSums(blk, xb + ldx), scale[1])
    a2 = fma8(a2, laneSums(blk, xb + 2 &* ldx), scale[2])
    a3 = fma8(a3, laneSums(blk, xb + 3 &* ldx), scale[3])
    a4 = fma8(a4, laneSums(blk, xb + 4 &* ldx), scale[4])
    a5 = fma8(a5, laneSums(blk, xb + 5 &* ldx), scale[5])
    a6 = fma8(a6, laneSums(blk, xb + 6 &* ldx), scale[6])
    a7 = fma8(a7, laneSums(blk, xb + 7 &* ldx), scale[7])
    if W.hasMin { summs = summs.addingProduct(SIMD8<Float>(repeating: blk.m), load8(m + 8)) }
  }
  out[0] = ggmlHorizontalSum(a0) + summs[0]
  out[ldOut] = ggmlHorizontalSum(a1) + summs[1]
  out[2 &* ldOut] = ggmlHorizontalSum(a2) + summs[2]
  out[3 &* ldOut] = ggmlHorizontalSum(a3) + summs[3]
  out[4 &* ldOut] = ggmlHorizontalSum(a4) + summs[4]
  out[5 &* ldOut] = ggmlHorizontalSum(a5) + summs[5]
  out[6 &* ldOut] = ggmlHorizontalSum(a6) + summs[6]
  out[7 &* ldOut] = ggmlHorizontalSum(a7) + summs[7]
}

// MARK: - ggml's vector exp, SiLU and softmax (AVX2 `ggml_v_expf`, `ggml_v_silu`, `ggml_vec_soft_max_f32`)

/// ggml's `ggml_v_expf` (AVX2 + FMA): a range reduction to 2^n * (1 + polynomial(b)) with its own
/// rounding, which differs from libm's `expf` by up to ~1.5 ulp. Same operations and constants in the
/// same order, so the same bits.
@inline(__always)
func ggmlExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let r = SIMD8<Float>(repeating: 0x1.8p23)
  let z = r.addingProduct(x, SIMD8<Float>(repeating: 0x1.715476p+0))
  let n = z - r
  let b = (x.addingProduct(-n, SIMD8<Float>(repeating: 0x1.62e4p-1))).addingProduct(-n, SIMD8<Float>(repeating: 0x1.7f7d1cp-20))
  let e = unsafeBitCast(z, to: SIMD8<UInt32>.self) &<< 23
  let k = unsafeBitCast(e &+ unsafeBitCast(SIMD8<Float>(repeating: 1), to: SIMD8<UInt32>.self), to: SIMD8<Float>.self)
  let absN = abs8(n)
  let c = absN .> 126
  let u = b * b
  let inner1 = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8<Float>(repeating: 0x1.0e4020p-7), b)
  let inner2 = SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8<Float>(repeating: 0x1.555e66p-3), b)
  let j = (SIMD8<Float>(repeating: 0x1.ffffecp-1) * b).addingProduct(inner2.addingProduct(inner1, u), u)
  let fast = k.addingProduct(j, k)
  if !any(c) { return fast }
  // Large |n|: ggml scales in two steps (or saturates to 0 / inf beyond 192).
  let g = SIMD8<UInt32>(repeating: 0).replacing(with: 0x8200_0000, where: n .<= 0)
  let s1 = unsafeBitCast(g &+ 0x7F00_0000, to: SIMD8<Float>.self)
  let s2 = unsafeBitCast(e &- g, to: SIMD8<Float>.self)
  let d = absN .> 192
  var result = fast
  result.replace(with: s2.addingProduct(s2, j) * s1, where: c)
  result.replace(with: s1 * s1, where: d)
  return result
}

/// `x / (1 + ggmlExp(-x))` (ggml_v_silu).
@inline(__always)
func ggmlSiLU(_ x: SIMD8<Float>) -> SIMD8<Float> {
  x / (1 + ggmlExp(SIMD8<Float>() - x))
}

/// ggml's SwiGLU (`ggml_vec_swiglu_f32`): g = silu(g) * u over `range`, 8 lanes at a time.
// g (n,), u (n,) -> g (n,)
@inline(__always)
func ggmlSwiGLU(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, _ range: Range<Int>) {
  var i = range.lowerBound
  while i &+ 8 <= range.upperBound {
    store8(ggmlSiLU(load8(g + i)) * load8(u + i), g + i)
    i &+= 8
  }
  if i < range.upperBound {
    // A partition's tail: same lane-wise operations on a padded vector (ggml's rows are multiples of 8).
    var v = SIMD8<Float>(), w = SIMD8<Float>()
    for t in 0..<(range.upperBound &- i) {
      v[t] = g[i &+ t]
      w[t] = u[i &+ t]
    }
    let r = ggmlSiLU(v) * w
    for t in 0..<(range.upperBound &- i) { g[i &+ t] = r[t] }
  }
}

/// Softmax of `count` scores in place as `ggml_soft_max_f32` computes it after scaling and masking: the
/// exponentials 8 at a time with `ggmlExp` (groups aligned at 0; the missing tail of the last group
/// stands for masked keys, exp = 0), each group's `hsum` added to a double, then every value times the
/// float rounding of 1 / sum.
// scores (count,) -> scores (count,)
@inline(__always)
func ggmlSoftmax(_ scores: UnsafeMutablePointer<Float>, _ count: Int) {
  var maxScore = -Float.infinity
  for j in 0..<count { maxScore = max(maxScore, scores[j]) }
  let mv = SIMD8<Float>(repeating: maxScore)
  var sum: Double = 0
  var j = 0
  while j &+ 8 <= count {
    let e = ggmlExp(load8(scores + j) - mv)
    store8(e, scores + j)
    sum += Double(ggmlHorizontalSum(e))
    j &+= 8
  }
  if j < count {
    var v = SIMD8<Float>(repeating: -.infinity)
    for t in 0..<(count &- j) { v[t] = scores[j &+ t] }
    let e = ggmlExp(v - mv)
    for t in 0..<(count &- j) { scores[j &+ t] = e[t] }
    sum += Double(ggmlHorizontalSum(e))
  }
  let inv = Float(1.0 / sum)
  for t in 0..<count { scores[t] *= inv }
}

// MARK: - F16 dot products in ggml's two orders

/// q . k over `n` (n % 8 == 0) F16-valued floats as llamafile's tinyBLAS (used by ggml for every F16
/// matrix product with at least 2 columns): one 8-lane FMA accumulator, then `hsum`.
@inline(__always)
func tinyBLASDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
  var acc = SIMD8<Float>()
  var i = 0
  while i < n {
    acc = fma8(acc, load8(a + i), load8(b + i))
    i &+= 8
  }
  return ggmlHorizontalSum(acc)
}

/// `tinyBLASDot` of 4 rows against one vector: the same order per row, 4 independent FMA chains.
@inline(__always)
func tinyBLASDot4(
  _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>,
  _ b: UnsafePointer<Float>, _ n: Int
) -> (Float, Float, Float, Float) {
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
  var i = 0
  while i < n {
    let v = load8(b + i)
    s0 = fma8(s0, load8(a0 + i), v)
    s1 = fma8(s1, load8(a1 + i), v)
    s2 = fma8(s2, load8(a2 + i), v)
    s3 = fma8(s3, load8(a3 + i), v)
    i &+= 8
  }
  return (ggmlHorizontalSum(s0), ggmlHorizontalSum(s1), ggmlHorizontalSum(s2), ggmlHorizontalSum(s3))
}

/// q . k over `n` (n % 32 == 0) F16-valued floats as `ggml_vec_dot_f16` (AVX2, one-column products):
/// 4 accumulators of 8 lanes over steps of 32, reduced as GGML_F32x8_REDUCE.
@inline(__always)
func vecDotF16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
  var i = 0
  while i < n {
    s0 = fma8(s0, load8(a + i), load8(b + i))
    s1 = fma8(s1, load8(a + (i &+ 8)), load8(b + (i &+ 8)))
    s2 = fma8(s2, load8(a + (i &+ 16)), load8(b + (i &+ 16)))
    s3 = fma8(s3, load8(a + (i &+ 24)), load8(b + (i &+ 24)))
    i &+= 32
  }
  return f32x8Reduce(s0, s1, s2, s3)
}

/// GGML_F32x8_REDUCE of 4 accumulators: (0 + 2), (1 + 3), their sum; then low + high half and two
/// `hadd`s: (t0 + t1) + (t2 + t3).
@inline(__always)
func f32x8Reduce(_ s0: SIMD8<Float>, _ s1: SIMD8<Float>, _ s2: SIMD8<Float>, _ s3: SIMD8<Float>) -> Float {
  let x = (s0 + s2) + (s1 + s3)
  let t = x.lowHalf + x.highHalf
  return (t[0] + t[1]) + (t[2] + t[3])
}
