import Formats

// Block dequantization for the ggml types the runtime reads, written from the layouts in
// /work/shared/reference/FORMATS.md section 1.5 (ggml-quants.c dequantize_row_* semantics).
// Used for GEMM tiles (a few rows at a time, amortized over many tokens), embedding lookups and
// small vectors; matrix-vector products use the fused kernels in DotKernels.swift where they exist.

/// The weight types the runtime can multiply with. Other ggml types make loading fail with
/// `ModelError.unsupportedTensorType`.
let runtimeSupportedTypes: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

/// Dequantizes `count` elements (a whole number of blocks) of `type` starting at `src` into `dst`.
// src: count/blockSize blocks of `type` -> dst (count,) floats
func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
  switch type {
  case .f32:
    for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: i &* 4, as: Float.self) }
  case .f16:
    for i in 0..<count { dst[i] = half(src, i &* 2) }
  case .bf16:
    for i in 0..<count {
      let bits = UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) << 16
      dst[i] = Float(bitPattern: bits)
    }
  case .q8_0:
    for b in 0..<(count / 32) { dequantizeQ8_0(src + b &* 34, dst + b &* 32) }
  case .q4_0:
    for b in 0..<(count / 32) { dequantizeQ4_0(src + b &* 18, dst + b &* 32) }
  case .q4_1:
    for b in 0..<(count / 32) { dequantizeQ4_1(src + b &* 20, dst + b &* 32) }
  case .q5_0:
    for b in 0..<(count / 32) { dequantizeQ5(src + b &* 22, dst + b &* 32, hasMin: false) }
  case .q5_1:
    for b in 0..<(count / 32) { dequantizeQ5(src + b &* 24, dst + b &* 32, hasMin: true) }
  case .q4_K:
    for b in 0..<(count / 256) { dequantizeQ4_K(src + b &* 144, dst + b &* 256) }
  case .q5_K:
    for b in 0..<(count / 256) { dequantizeQ5_K(src + b &* 176, dst + b &* 256) }
  case .q6_K:
    for b in 0..<(count / 256) { dequantizeQ6_K(src + b &* 210, dst + b &* 256) }
  default:
    // Loading rejects every other type (runtimeSupportedTypes), so this is a programmer error.
    preconditionFailure("dequantizeRow: unsupported type \(type.name)")
  }
}

// MARK: - 32-element blocks

/// Q8_0: half d; i8 qs[32]; y = qs * d.
@inline(__always)
func dequantizeQ8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p)
  for g in 0..<4 {
    store8(floats(p.loadUnaligned(fromByteOffset: 2 &+ g &* 8, as: SIMD8<Int8>.self)) * d, y + g &* 8)
  }
}

/// Q4_0: half d; u8 qs[16]; y[j] = (lo(qs[j]) - 8) d, y[j+16] = (hi(qs[j]) - 8) d.
@inline(__always)
func dequantizeQ4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p)
  let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
  let lo = q & 0x0F, hi = q &>> 4
  let off = SIMD8<Float>(repeating: -8)
  store8((floats(lo.lowHalf) + off) * d, y)
  store8((floats(lo.highHalf) + off) * d, y + 8)
  store8((floats(hi.lowHalf) + off) * d, y + 16)
  store8((floats(hi.highHalf) + off) * d, y + 24)
}

/// Q4_1: half d; half m; u8 qs[16]; y = q d + m.
@inline(__always)
func dequantizeQ4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p), m = SIMD8<Float>(repeating: half(p, 2))
  let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
  let lo = q & 0x0F, hi = q &>> 4
  store8(fma8(m, floats(lo.lowHalf), d), y)
  store8(fma8(m, floats(lo.highHalf), d), y + 8)
  store8(fma8(m, floats(hi.lowHalf), d), y + 16)
  store8(fma8(m, floats(hi.highHalf), d), y + 24)
}

/// Q5_0 (`hasMin == false`: half d; u8 qh[4]; u8 qs[16]; y = (q5 - 16) d) and
/// Q5_1 (half d; half m; u8 qh[4]; u8 qs[16]; y = q5 d + m). Bit j of qh is bit 4 of element j.
@inline(__always)
func dequantizeQ5(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
  let d = half(p)
  let m: Float = hasMin ? half(p, 2) : -16 * d
  let hOffset = hasMin ? 4 : 2
  let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: hOffset, as: UInt32.self))
  let q = p.loadUnaligned(fromByteOffset: hOffset &+ 4, as: SIMD16<UInt8>.self)
  let lo = q & 0x0F, hi = q &>> 4
  let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
  let all = SIMD8<UInt32>(repeating: qh)
  let mv = SIMD8<Float>(repeating: m)
  for g in 0..<4 {
    let nib: SIMD8<UInt8> =
      switch g {
      case 0: lo.lowHalf
      case 1: lo.highHalf
      case 2: hi.lowHalf
      default: hi.highHalf
      }
    let bits = ((all &>> (lanes &+ UInt32(g &* 8))) & 1) &<< 4
    let hb = SIMD8<Float>(Float(bits[0]), Float(bits[1]), Float(bits[2]), Float(bits[3]),
                          Float(bits[4]), Float(bits[5]), Float(bits[6]), Float(bits[7]))
    store8(fma8(mv, floats(nib) + hb, d), y + g &* 8)
  }
}

// MARK: - K-quants (256-element super-blocks)

/// get_scale_min_k4: the 6-bit (scale, min) pair `j` (0..<8) packed in the 12 `scales` bytes at `s`.
@inline(__always)
func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (Float, Float) {
  @inline(__always) func b(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
  if j < 4 {
    return (Float(b(j) & 63), Float(b(j &+ 4) & 63))
  }
  let sc = (b(j &+ 4) & 0xF) | ((b(j &- 4) >> 6) << 4)
  let m = (b(j &+ 4) >> 4) | ((b(j) >> 6) << 4)
  return (Float(sc), Float(m))
}

/// Q4_K: half d; half dmin; u8 scales[12]; u8 qs[128]. Four 64-element chunks; in chunk c the low
/// nibbles of qs[32c..<32c+32] are sub-block 2c, the high nibbles sub-block 2c+1; y = d sc q - dmin m.
@inline(__always)
func dequantizeQ4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p), dmin = half(p, 2)
  let scales = p + 4
  for c in 0..<4 {
    let (sc1, m1) = scaleMinK4(2 &* c, scales)
    let (sc2, m2) = scaleMinK4(2 &* c &+ 1, scales)
    let d1 = d * sc1, d2 = d * sc2
    let n1 = SIMD8<Float>(repeating: -dmin * m1), n2 = SIMD8<Float>(repeating: -dmin * m2)
    let q = p + (16 &+ c &* 32)
    let out = y + c &* 64
    for g in 0..<4 {
      let v = q.loadUnaligned(fromByteOffset: g &* 8, as: SIMD8<UInt8>.self)
      store8(fma8(n1, floats(v & 0x0F), d1), out + g &* 8)
      store8(fma8(n2, floats(v &>> 4), d2), out + (32 &+ g &* 8))
    }
  }
}

/// Q5_K: half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]. Like Q4_K; bit 2c of qh[l] is the
/// fifth bit of element l of sub-block 2c, bit 2c+1 that of sub-block 2c+1.
@inline(__always)
func dequantizeQ5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p), dmin = half(p, 2)
  let scales = p + 4
  let qh = p + 16
  for c in 0..<4 {
    let (sc1, m1) = scaleMinK4(2 &* c, scales)
    let (sc2, m2) = scaleMinK4(2 &* c &+ 1, scales)
    let d1 = d * sc1, d2 = d * sc2
    let n1 = SIMD8<Float>(repeating: -dmin * m1), n2 = SIMD8<Float>(repeating: -dmin * m2)
    let q = p + (48 &+ c &* 32)
    let out = y + c &* 64
    let u1 = UInt8(1) << UInt8(2 &* c), u2 = UInt8(2) << UInt8(2 &* c)
    for g in 0..<4 {
      let v = q.loadUnaligned(fromByteOffset: g &* 8, as: SIMD8<UInt8>.self)
      let h = qh.loadUnaligned(fromByteOffset: g &* 8, as: SIMD8<UInt8>.self)
      let h1 = (h & u1) .!= 0, h2 = (h & u2) .!= 0
      let lo = (v & 0x0F).replacing(with: (v & 0x0F) | 16, where: h1)
      let hi = (v &>> 4).replacing(with: (v &>> 4) | 16, where: h2)
      store8(fma8(n1, floats(lo), d1), out + g &* 8)
      store8(fma8(n2, floats(hi), d2), out + (32 &+ g &* 8))
    }
  }
}

/// Q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; half d. Two 128-element halves; see FORMATS.md 1.5.
@inline(__always)
func dequantizeQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
  let d = half(p, 208)
  for n in 0..<2 {
    let ql = p + n &* 64
    let qh = p + (128 &+ n &* 32)
    let sc = p + (192 &+ n &* 8)
    let out = y + n &* 128
    for g in 0..<4 {  // l = 8g ..< 8g+8, is = l / 16 = g / 2
      let l = g &* 8
      let isc = g >> 1
      let a = ql.loadUnaligned(fromByteOffset: l, as: SIMD8<UInt8>.self)
      let b = ql.loadUnaligned(fromByteOffset: l &+ 32, as: SIMD8<UInt8>.self)
      let h = qh.loadUnaligned(fromByteOffset: l, as: SIMD8<UInt8>.self)
      let q1 = (a & 0x0F) | ((h & 3) &<< 4)
      let q2 = (b & 0x0F) | (((h &>> 2) & 3) &<< 4)
      let q3 = (a &>> 4) | (((h &>> 4) & 3) &<< 4)
      let q4 = (b &>> 4) | (((h &>> 6) & 3) &<< 4)
      @inline(__always) func s(_ i: Int) -> Float { d * Float(sc.load(fromByteOffset: i, as: Int8.self)) }
      let off = SIMD8<Float>(repeating: -32)
      store8((floats(q1) + off) * s(isc), out + l)
      store8((floats(q2) + off) * s(isc &+ 2), out + (l &+ 32))
      store8((floats(q3) + off) * s(isc &+ 4), out + (l &+ 64))
      store8((floats(q4) + off) * s(isc &+ 6), out + (l &+ 96))
    }
  }
}
