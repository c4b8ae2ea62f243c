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
// The activation side is `quantizeQ8Blocks`' output: integer-valued floats and, per block, (d, s).

/// ggml's `hsum_float_8`: (high half + low half), then (0 + 2, 1 + 3), then their sum.
@inline(__always)
func ggmlHorizontalSum(_ v: SIMD8<Float>) -> Float {
  let r = v.highHalf + v.lowHalf
  let t = r.lowHalf + r.highHalf
  return t[0] + t[1]
}

/// The 8 lane sums of one block: lane j = p[4j] + p[4j+1] + p[4j+2] + p[4j+3] over the 32 products in
/// element order (p0 = elements 0..<8, ... p3 = 24..<32). Exact for integer products (see above).
@inline(__always)
func quadSums(_ p0: SIMD8<Float>, _ p1: SIMD8<Float>, _ p2: SIMD8<Float>, _ p3: SIMD8<Float>) -> SIMD8<Float> {
  let a = SIMD16<Float>(lowHalf: p0, highHalf: p1)
  let b = SIMD16<Float>(lowHalf: p2, highHalf: p3)
  let c = SIMD16<Float>(lowHalf: a.evenHalf + a.oddHalf, highHalf: b.evenHalf + b.oddHalf)
  return c.evenHalf + c.oddHalf
}

/// One weight block decoded to integer-valued floats in element order, with its scale and minimum.
struct Q8PartnerBlock {
  var q0: SIMD8<Float>, q1: SIMD8<Float>, q2: SIMD8<Float>, q3: SIMD8<Float>
  var d: Float
  var m: Float
}

/// Whether `type` has an exact ggml-order kernel against Q8 activation blocks.
@inline(__always)
func hasGGMLQ8Kernel(_ type: GGMLType) -> Bool {
  switch type {
  case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: true
  default: false
  }
}

/// Bytes of one block of a Q8-partner weight type.
@inline(__always)
func q8PartnerBlockBytes(_ type: GGMLType) -> Int {
  switch type {
  case .q4_0: 18
  case .q4_1: 20
  case .q5_0: 22
  case .q5_1: 24
  default: 34  // q8_0
  }
}

/// Bits `shift ..< shift + 8` of `qh` as 8 lanes of 0/16.
@inline(__always)
func highBits16(_ qh: UInt32, _ shift: UInt32) -> SIMD8<Float> {
  let bits = SIMD8<UInt32>(repeating: qh &>> shift) &>> SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
  let one = bits & 1
  return SIMD8<Float>(
    Float(one[0]), Float(one[1]), Float(one[2]), Float(one[3]), Float(one[4]), Float(one[5]), Float(one[6]), Float(one[7])) * 16
}

/// Decodes block `b` of a Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 row (ggml block layouts, FORMATS.md).
@inline(__always)
func decodeQ8PartnerBlock(_ type: GGMLType, _ p: UnsafeRawPointer) -> Q8PartnerBlock {
  switch type {
  case .q4_0, .q4_1:
    let qsOffset = type == .q4_0 ? 2 : 4
    let q = p.loadUnaligned(fromByteOffset: qsOffset, as: SIMD16<UInt8>.self)
    let lo = q & 0x0F, hi = q &>> 4
    let off: Float = type == .q4_0 ? -8 : 0
    return Q8PartnerBlock(
      q0: floats(lo.lowHalf) + off, q1: floats(lo.highHalf) + off, q2: floats(hi.lowHalf) + off, q3: floats(hi.highHalf) + off,
      d: half(p), m: type == .q4_1 ? half(p, 2) : 0)
  case .q5_0, .q5_1:
    let base = type == .q5_0 ? 2 : 4
    let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: base, as: UInt32.self))
    let q = p.loadUnaligned(fromByteOffset: base &+ 4, as: SIMD16<UInt8>.self)
    let lo = q & 0x0F, hi = q &>> 4
    let off: Float = type == .q5_0 ? -16 : 0
    return Q8PartnerBlock(
      q0: floats(lo.lowHalf) + highBits16(qh, 0) + off, q1: floats(lo.highHalf) + highBits16(qh, 8) + off,
      q2: floats(hi.lowHalf) + highBits16(qh, 16) + off, q3: floats(hi.highHalf) + highBits16(qh, 24) + off,
      d: half(p), m: type == .q5_1 ? half(p, 2) : 0)
  default:
    return Q8PartnerBlock(
      q0: floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int8>.self)),
      q1: floats(p.loadUnaligned(fromByteOffset: 10, as: SIMD8<Int8>.self)),
      q2: floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD8<Int8>.self)),
      q3: floats(p.loadUnaligned(fromByteOffset: 26, as: SIMD8<Int8>.self)),
      d: half(p), m: 0)
  }
}

/// One row of a Q8-partner weight type against one Q8 activation row, in ggml's float order.
// w: blockCount blocks; xq (32 blockCount,) integer-valued; meta (2 blockCount,) = (d, s) per block -> scalar
@inline(__always)
func ggmlDotQ8(
  _ type: GGMLType, _ w: UnsafeRawPointer, _ xq: UnsafePointer<Float>, _ meta: UnsafePointer<Float>, _ blockCount: Int
) -> Float {
  let bytes = q8PartnerBlockBytes(type)
  let withMin = type == .q4_1 || type == .q5_1
  var acc = SIMD8<Float>()
  var summs: Float = 0
  for b in 0..<blockCount {
    let blk = decodeQ8PartnerBlock(type, w + b &* bytes)
    let x = xq + b &* 32
    let lanes = quadSums(blk.q0 * load8(x), blk.q1 * load8(x + 8), blk.q2 * load8(x + 16), blk.q3 * load8(x + 24))
    acc = fma8(acc, lanes, blk.d * meta[2 &* b])
    if withMin { summs = summs.addingProduct(blk.m, meta[2 &* b &+ 1]) }
  }
  return ggmlHorizontalSum(acc) + summs
}

/// `ggmlDotQ8` for 4 activation rows at once: each weight block is decoded once and used for the 4 rows,
/// each row keeping its own accumulator, so every result equals the one-row kernel's bit for bit.
// w: blockCount blocks; xq (4, ldx) integer-valued; meta (4, ldm) -> out[0..<4 strided by ldOut]
@inline(__always)
func ggmlDotQ8x4(
  _ type: GGMLType, _ w: UnsafeRawPointer, _ xq: UnsafePointer<Float>, ldx: Int, _ meta: UnsafePointer<Float>, ldm: Int,
  _ blockCount: Int, _ out: UnsafeMutablePointer<Float>, ldOut: Int
) {
  let bytes = q8PartnerBlockBytes(type)
  let withMin = type == .q4_1 || type == .q5_1
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
  let x1 = xq + ldx, x2 = xq + 2 &* ldx, x3 = xq + 3 &* ldx
  let m1 = meta + ldm, m2 = meta + 2 &* ldm, m3 = meta + 3 &* ldm
  for b in 0..<blockCount {
    let blk = decodeQ8PartnerBlock(type, w + b &* bytes)
    let e = b &* 32, mb = 2 &* b
    @inline(__always) func lanes(_ x: UnsafePointer<Float>) -> SIMD8<Float> {
      quadSums(blk.q0 * load8(x + e), blk.q1 * load8(x + (e &+ 8)), blk.q2 * load8(x + (e &+ 16)), blk.q3 * load8(x + (e &+ 24)))
    }
    a0 = fma8(a0, lanes(xq), blk.d * meta[mb])
    a1 = fma8(a1, lanes(x1), blk.d * m1[mb])
    a2 = fma8(a2, lanes(x2), blk.d * m2[mb])
    a3 = fma8(a3, lanes(x3), blk.d * m3[mb])
    if withMin {
      s0 = s0.addingProduct(blk.m, meta[mb &+ 1])
      s1 = s1.addingProduct(blk.m, m1[mb &+ 1])
      s2 = s2.addingProduct(blk.m, m2[mb &+ 1])
      s3 = s3.addingProduct(blk.m, m3[mb &+ 1])
    }
  }
  out[0] = ggmlHorizontalSum(a0) + s0
  out[ldOut] = ggmlHorizontalSum(a1) + s1
  out[2 &* ldOut] = ggmlHorizontalSum(a2) + s2
  out[3 &* ldOut] = ggmlHorizontalSum(a3) + s3
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
  let absN = pointwiseMax(n, -n)
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
