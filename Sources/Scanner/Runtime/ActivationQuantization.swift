import CKernels
import Formats

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// llama.cpp's CPU backend converts the activation row to the weight type's "vec_dot_type" before every
// product with a quantized weight (ggml-cpu `ggml_compute_forward_mul_mat`: `from_float` into wdata,
// then `vec_dot`). The integer block products are exact, so the only rounding llama.cpp adds is the
// activation's own quantization. Q8_0/Q8_1 activations are kept as integer quants plus per-block
// scales and sums, and multiplied by kernels in ggml's exact float order (GGMLDots.swift); Q8_K
// activations are written back as their grid values (scale x integer), which our float kernels sum
// exactly inside a block (|sum| < 2^24), up to the float summation order of the per-block results.
// Written from the behaviour of ggml-cpu's AVX2 `quantize_row_q8_0` / `quantize_row_q8_1`
// and `quantize_row_q8_K_ref` (read, not copied).

/// What an activation row is converted to before meeting a weight type.
enum ActivationFormat: Equatable {
  /// F32 weights: used as is.
  case exact
  /// Q8_0 (and Q8_1) blocks of 32: d = fp16(amax / 127), q = round-half-even(x * 127 / amax), kept as
  /// integer quants plus per-block (d, s) for the exact ggml-order kernels (GGMLDots.swift);
  /// Q4_1/Q5_1 weights (Q8_1) also see the block sum s = fp16(d_unrounded * sum(q)).
  case q8
  /// Q8_K blocks of 256: iscale = -127 / (signed value of largest magnitude), q = min(127,
  /// round-half-even(iscale * x)), d = 1 / iscale (float32). Written back as grid values (Q5_K/Q2_K/Q3_K).
  case q8K
  /// Q8_K blocks of 256 as `.q8K`, kept as integer quants (quad-transposed per 32) plus per-block d and
  /// sums (`quantizeQ8KBlocks`, `Q8KMeta`) for the exact ggml-order Q4_K / Q6_K kernels (GGMLKQuantDots.swift).
  case q8KBlocks
  /// F16 weights: activations rounded to F16.
  case f16
  /// BF16 weights: activations rounded to BF16 (round to nearest even).
  case bf16
}

extension GGMLType {
  /// The activation format llama.cpp's `vec_dot_type` for this weight type implies.
  var activationFormat: ActivationFormat {
    switch self {
    case .q4_0, .q5_0, .q8_0, .q4_1, .q5_1: .q8
    case .q4_K, .q6_K: .q8KBlocks
    case .q5_K, .q2_K, .q3_K: .q8K
    case .f16: .f16
    case .bf16: .bf16
    default: .exact
    }
  }

  /// Whether the weight type adds a per-block minimum whose product llama.cpp takes from the fp16
  /// block sum of the Q8_1 activation (Q4_1, Q5_1).
  var usesQ8_1Sum: Bool { self == .q4_1 || self == .q5_1 }
}

/// Which kernels multiply Q8 activation blocks (llama.cpp numerics, Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights), and
/// so how `quantizeQ8Blocks` stores the quants. Both give ggml's bits (Q8KernelAgreementTests).
enum Q8Kernels: Sendable {
  /// The Swift kernels (GGMLDots.swift): quants as integer-valued floats, quad-transposed (`q8QuadIndex`).
  case swift
  /// The AVX2 integer kernels (CKernels, `scan_ggml_matmul_q8`): quants as Int8 in element order, 32 bytes
  /// per block from the start of the row (the row's first quarter; rows keep their float stride).
  case c

  /// The C kernels where the build has them (x86_64 with AVX2), unless the environment sets
  /// `SCAN_Q8_KERNELS=swift` (read once; to compare both paths in one binary).
  static let active: Q8Kernels = {
    guard scan_ck_available() != 0 else { return .swift }
    if let v = getenv("SCAN_Q8_KERNELS"), String(cString: v) == "swift" { return .swift }
    return .c
  }()

  /// The instruction set of the C kernels: "avx2" (vpmaddubsw + vpmaddwd) or "avx512-vnni" (vpdpbusd), chosen
  /// from the CPU at load (SCAN_CK_ISA=avx2 keeps AVX2). Both give the same bits.
  static var cInstructionSet: String { scan_ck_isa() == 1 ? "avx512-vnni" : "avx2" }

  /// Switches the C kernels to `instructionSet` (0 AVX2, 1 AVX-512 VNNI) for tests and benchmarks, never while a
  /// product runs; false (nothing changed) where this CPU or build cannot run it.
  @discardableResult
  static func setCInstructionSet(_ instructionSet: Int32) -> Bool { scan_ck_set_isa(instructionSet) != 0 }
}

/// Stores 8 integer-valued float quants (|q| <= 127) as Int8 at `to` (the C kernels' element-order layout). The low
/// byte of q + 1.5 * 2^23 is q's two's complement byte: no trapping conversion (a NaN block gives some byte, and its
/// NaN scale keeps the product NaN).
@inline(__always)
func storeInt8Quants(_ v: SIMD8<Float>, _ to: UnsafeMutableRawPointer) {
  let bits = unsafeBitCast(v + SIMD8<Float>(repeating: 12_582_912), to: SIMD8<UInt32>.self)
  for l in 0..<8 { to.storeBytes(of: UInt8(truncatingIfNeeded: bits[l]), toByteOffset: l, as: UInt8.self) }
}

/// The quant of element `i` (0..<32) of block `b` as `quantizeQ8Blocks` stored it in `q` for `kernels`.
func storedQ8Quant(_ q: UnsafePointer<Float>, block b: Int, element i: Int, kernels: Q8Kernels = .active) -> Float {
  switch kernels {
  case .swift: return q[b &* 32 &+ q8QuadIndex(i)]
  case .c: return Float(UnsafeRawPointer(q).load(fromByteOffset: b &* 32 &+ i, as: Int8.self))
  }
}

/// Quantizes one activation row to Q8_0/Q8_1 blocks of 32 as ggml-cpu's AVX2 `quantize_row_q8_0`/
/// `quantize_row_q8_1`: `q` receives the integer quants in the layout `kernels` read (`.swift`: as floats,
/// quad-transposed, `q8QuadIndex`; `.c`: Int8 in element order, block b at byte b * 32), `meta` (the
/// `Q8Meta` layout, row `token`) per block (d, s): d = fp16(amax / 127) and s = fp16(unrounded d * sum(q))
/// (the Q8_1 block sum Q4_1/Q5_1 dots use; Q8_0 partners ignore it).
// x (count,), count % 32 == 0 -> q (count,), meta (Q8Meta.floats(tokens: token + 1, blockCount: count / 32),)
func quantizeQ8Blocks(
  _ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>, _ meta: UnsafeMutablePointer<Float>, token: Int, _ count: Int,
  kernels: Q8Kernels = .active
) {
  let nb = count / 32
  for b in 0..<nb {
    let p = x + b &* 32, o = q + b &* 32
    let v0 = load8(p), v1 = load8(p + 8), v2 = load8(p + 16), v3 = load8(p + 24)
    let amax = horizontalMax(max8(max8(abs8(v0), abs8(v1)), max8(abs8(v2), abs8(v3))))
    let d = amax / 127
    let id: Float = amax != 0 ? 127 / amax : 0
    let q0 = roundHalfEven(v0 * id), q1 = roundHalfEven(v1 * id)
    let q2 = roundHalfEven(v2 * id), q3 = roundHalfEven(v3 * id)
    switch kernels {
    case .swift:
      // Quad-transposed: vector k lane j = quant 4j + k.
      for k in 0..<4 {
        store8(SIMD8<Float>(q0[k], q0[k &+ 4], q1[k], q1[k &+ 4], q2[k], q2[k &+ 4], q3[k], q3[k &+ 4]), o + k &* 8)
      }
    case .c:
      let bytes = UnsafeMutableRawPointer(q) + b &* 32
      storeInt8Quants(q0, bytes)
      storeInt8Quants(q1, bytes + 8)
      storeInt8Quants(q2, bytes + 16)
      storeInt8Quants(q3, bytes + 24)
    }
    // Integer-valued floats: the sum is exact (|sum| <= 32 * 127).
    let qSum = ((q0 + q1) + (q2 + q3)).sum()
    let at = Q8Meta.index(token: token, block: b, blockCount: nb)
    meta[at] = Float(Float16(d))
    meta[at &+ 8] = Float(Float16(d * qSum))
  }
}

/// Writes the Q8_K grid values of `x` to `out`.
// x (count,), count % 256 == 0 -> out (count,)
func quantizeQ8K(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
  for b in 0..<(count / 256) {
    let p = x + b &* 256, o = out + b &* 256
    var m = SIMD8<Float>()
    for g in 0..<32 { m = pointwiseMax(m, abs8(load8(p + g &* 8))) }
    let amax = m.max()
    if amax == 0 {
      o.initialize(repeating: 0, count: 256)
      continue
    }
    // ggml keeps the first element of the largest magnitude (a strict > scan); its sign matters.
    var signedMax: Float = 0
    for j in 0..<256 where abs(p[j]) == amax {
      signedMax = p[j]
      break
    }
    let iscale = -127 / signedMax
    let d = 1 / iscale
    let top = SIMD8<Float>(repeating: 127)
    for g in 0..<32 {
      // |iscale * x| <= 127: adding and removing 1.5 * 2^23 rounds half to even (ggml's nearest_int).
      let q = pointwiseMin(top, roundHalfEven(load8(p + g &* 8) * iscale))
      store8(q * d, o + g &* 8)
    }
  }
}

/// Rounds `count` floats to F16 (round to nearest even), in place or into `out`.
func roundToF16(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
  var i = 0
  while i + 8 <= count {
    store8(roundedToF16(load8(x + i)), out + i)
    i &+= 8
  }
  while i < count {
    out[i] = Float(Float16(x[i]))
    i &+= 1
  }
}

/// `Float(Float16(v))` lane by lane without a conversion call (the Swift code is not built with F16C):
/// normal halves keep 11 significant bits (round half to even on the bit pattern), half subnormals are
/// multiples of 2^-24 (rounded by adding and removing 0.5), magnitudes that round past 65504 become
/// infinity. NaN stays NaN.
@inline(__always)
func roundedToF16(_ v: SIMD8<Float>) -> SIMD8<Float> {
  let a = abs8(v)
  let u = unsafeBitCast(a, to: SIMD8<UInt32>.self)
  // can't overflow: u < 0x8000_0000 for a magnitude; + 0x1000 stays below 2^32
  let roundedBits = (u &+ 0x0FFF &+ ((u &>> 13) & 1)) & SIMD8<UInt32>(repeating: 0xFFFF_E000)
  var r = unsafeBitCast(roundedBits, to: SIMD8<Float>.self)
  let sub = (a + 0.5) - 0.5
  r.replace(with: sub, where: a .< 0x1p-14)
  r.replace(with: .infinity, where: r .> 65504)
  r.replace(with: a, where: a .!= a)
  let sign = unsafeBitCast(v, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x8000_0000)
  return unsafeBitCast(unsafeBitCast(r, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
}

/// Rounds `count` floats to BF16 as ggml's `ggml_compute_fp32_to_bf16` does (nearest even; NaN kept quiet).
func roundToBF16(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
  for i in 0..<count {
    let v = x[i]
    if v.isNaN {
      out[i] = v
      continue
    }
    let u = v.bitPattern
    // can't overflow: a finite float's bits + 0x8000 stay below 2^32 except for values that round to inf,
    // which wrapping keeps correct (0x7F7F_FFFF + 0x8000 = 0x7F80_7FFF -> inf after the mask).
    let r = (u &+ (0x7FFF &+ ((u >> 16) & 1))) & 0xFFFF_0000
    out[i] = Float(bitPattern: r)
  }
}

/// Converts `rows` rows of `width` activations to `format`, writing to `out` (for `.q8` the integer
/// quants in the active `Q8Kernels` layout, with each block's (d, s) in `meta`, the `Q8Meta` layout of the whole matrix
/// input, these rows being tokens `firstRow..<firstRow + rows`; for `.q8KBlocks` likewise with the
/// `Q8KMeta` layout).
// x (rows, width) -> out (rows, width); meta (Q8Meta.floats(tokens: firstRow + rows, blockCount: width / 32),)
// or (Q8KMeta.floats(tokens: firstRow + rows, blockCount: width / 256),)
func quantizeActivations(
  _ format: ActivationFormat, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
  _ meta: UnsafeMutablePointer<Float>, rows: Int, width: Int, firstRow: Int = 0
) {
  switch format {
  case .exact: out.update(from: x, count: rows &* width)
  case .q8:
    for r in 0..<rows { quantizeQ8Blocks(x + r &* width, out + r &* width, meta, token: firstRow &+ r, width) }
  case .q8K:
    for r in 0..<rows { quantizeQ8K(x + r &* width, out + r &* width, width) }
  case .q8KBlocks:
    for r in 0..<rows { quantizeQ8KBlocks(x + r &* width, out + r &* width, meta, token: firstRow &+ r, width) }
  case .f16: roundToF16(x, out, rows &* width)
  case .bf16: roundToBF16(x, out, rows &* width)
  }
}

/// Round half to even for |v| < 2^22 by adding and removing 1.5 * 2^23 (one add and one subtract: the
/// baseline x86-64 target has no vroundps, and `rounded(_:)` became a libm call per lane).
@inline(__always)
func roundHalfEven(_ v: SIMD8<Float>) -> SIMD8<Float> {
  let magic = SIMD8<Float>(repeating: 12_582_912)
  return (v + magic) - magic
}

/// |v| lane by lane by clearing the sign bit (ggml's `andnot` with -0.0f). Written with integer ops on
/// purpose: the generic `pointwiseMax`/`SIMD.max()` stayed out-of-line calls (~10% of a `.llamaCpp`
/// prompt in a profile).
@inline(__always)
func abs8(_ v: SIMD8<Float>) -> SIMD8<Float> {
  unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
}

/// `a > b ? a : b` lane by lane (`_mm256_max_ps(a, b)`), inlined.
@inline(__always)
func max8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  b.replacing(with: a, where: a .> b)
}

/// The largest lane (exact: a maximum does not depend on the order).
@inline(__always)
func horizontalMax(_ v: SIMD8<Float>) -> Float {
  var m = v[0]
  for i in 1..<8 where v[i] > m { m = v[i] }
  return m
}
