import Formats

// Fused "dequantize in registers and dot with a float activation" kernels for matrix-vector products
// (token generation). Each works on one weight row of `blockCount` blocks and never writes memory.
// Types without a fused kernel go through dequantizeRow into a per-thread scratch row, then dotF32.

/// Q4_1 row . x: sum over blocks of d * (q . x_b) + m * sum(x_b); `xSums[b]` is sum(x_b).
// w: nb blocks of 20 bytes; x (32 nb,); xSums (nb,) -> scalar
@inline(__always)
func dotQ4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>, _ blockCount: Int) -> Float {
  var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
  var minSum: Float = 0
  var b = 0
  while b < blockCount {
    let p = w + b &* 20
    let d = half(p), m = half(p, 2)
    let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
    let lo = q & 0x0F, hi = q &>> 4
    let xb = x + b &* 32
    var t = floats(lo.lowHalf) * load8(xb)
    t = fma8(t, floats(lo.highHalf), load8(xb + 8))
    t = fma8(t, floats(hi.lowHalf), load8(xb + 16))
    t = fma8(t, floats(hi.highHalf), load8(xb + 24))
    if b & 1 == 0 { acc0 = fma8(acc0, t, d) } else { acc1 = fma8(acc1, t, d) }
    minSum += m * xSums[b]
    b &+= 1
  }
  return (acc0 + acc1).sum() + minSum
}

/// Q4_0 row . x: sum over blocks of d * ((q - 8) . x_b) = d * (q . x_b - 8 sum(x_b)).
@inline(__always)
func dotQ4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>, _ blockCount: Int) -> Float {
  var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
  var offsetSum: Float = 0
  var b = 0
  while b < blockCount {
    let p = w + b &* 18
    let d = half(p)
    let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
    let lo = q & 0x0F, hi = q &>> 4
    let xb = x + b &* 32
    var t = floats(lo.lowHalf) * load8(xb)
    t = fma8(t, floats(lo.highHalf), load8(xb + 8))
    t = fma8(t, floats(hi.lowHalf), load8(xb + 16))
    t = fma8(t, floats(hi.highHalf), load8(xb + 24))
    if b & 1 == 0 { acc0 = fma8(acc0, t, d) } else { acc1 = fma8(acc1, t, d) }
    offsetSum += d * xSums[b]
    b &+= 1
  }
  return (acc0 + acc1).sum() - 8 * offsetSum
}

/// Q8_0 row . x.
@inline(__always)
func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blockCount: Int) -> Float {
  var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
  var b = 0
  while b < blockCount {
    let p = w + b &* 34
    let d = half(p)
    let xb = x + b &* 32
    var t = floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int8>.self)) * load8(xb)
    t = fma8(t, floats(p.loadUnaligned(fromByteOffset: 10, as: SIMD8<Int8>.self)), load8(xb + 8))
    t = fma8(t, floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD8<Int8>.self)), load8(xb + 16))
    t = fma8(t, floats(p.loadUnaligned(fromByteOffset: 26, as: SIMD8<Int8>.self)), load8(xb + 24))
    if b & 1 == 0 { acc0 = fma8(acc0, t, d) } else { acc1 = fma8(acc1, t, d) }
    b &+= 1
  }
  return (acc0 + acc1).sum()
}

/// Q4_K row . x, dequantizing one 64-element chunk at a time in registers.
@inline(__always)
func dotQ4_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blockCount: Int) -> Float {
  var acc = SIMD8<Float>()
  var minSum: Float = 0
  for b in 0..<blockCount {
    let p = w + b &* 144
    let d = half(p), dmin = half(p, 2)
    let scales = p + 4
    for c in 0..<4 {
      let (sc1, m1) = scaleMinK4(2 &* c, scales)
      let (sc2, m2) = scaleMinK4(2 &* c &+ 1, scales)
      let q = p + (16 &+ c &* 32)
      let xb = x + (b &* 256 &+ c &* 64)
      var t1 = SIMD8<Float>(), t2 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>()
      for g in 0..<4 {
        let v = q.loadUnaligned(fromByteOffset: g &* 8, as: SIMD8<UInt8>.self)
        let xa = load8(xb + g &* 8), xc = load8(xb + (32 &+ g &* 8))
        t1 = fma8(t1, floats(v & 0x0F), xa)
        t2 = fma8(t2, floats(v &>> 4), xc)
        s1 += xa
        s2 += xc
      }
      acc = fma8(acc, t1, d * sc1)
      acc = fma8(acc, t2, d * sc2)
      minSum += dmin * (m1 * s1.sum() + m2 * s2.sum())
    }
  }
  return acc.sum() - minSum
}

/// Q6_K row . x.
@inline(__always)
func dotQ6_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blockCount: Int) -> Float {
  var acc = SIMD8<Float>()
  let off = SIMD8<Float>(repeating: -32)
  for b in 0..<blockCount {
    let p = w + b &* 210
    let d = half(p, 208)
    for n in 0..<2 {
      let ql = p + n &* 64
      let qh = p + (128 &+ n &* 32)
      let sc = p + (192 &+ n &* 8)
      let xb = x + (b &* 256 &+ n &* 128)
      for g in 0..<4 {
        let l = g &* 8
        let isc = g >> 1
        let a = ql.loadUnaligned(fromByteOffset: l, as: SIMD8<UInt8>.self)
        let bb = ql.loadUnaligned(fromByteOffset: l &+ 32, as: SIMD8<UInt8>.self)
        let h = qh.loadUnaligned(fromByteOffset: l, as: SIMD8<UInt8>.self)
        let q1 = (a & 0x0F) | ((h & 3) &<< 4)
        let q2 = (bb & 0x0F) | (((h &>> 2) & 3) &<< 4)
        let q3 = (a &>> 4) | (((h &>> 4) & 3) &<< 4)
        let q4 = (bb &>> 4) | (((h &>> 6) & 3) &<< 4)
        @inline(__always) func s(_ i: Int) -> Float { d * Float(sc.load(fromByteOffset: i, as: Int8.self)) }
        acc = fma8(acc, (floats(q1) + off) * load8(xb + l), s(isc))
        acc = fma8(acc, (floats(q2) + off) * load8(xb + (l &+ 32)), s(isc &+ 2))
        acc = fma8(acc, (floats(q3) + off) * load8(xb + (l &+ 64)), s(isc &+ 4))
        acc = fma8(acc, (floats(q4) + off) * load8(xb + (l &+ 96)), s(isc &+ 6))
      }
    }
  }
  return acc.sum()
}

/// Per-32 block sums of `x` (`count` a multiple of 32), needed by the Q4_0/Q4_1 kernels.
// x (count,) -> sums (count / 32,)
@inline(__always)
func blockSums(_ x: UnsafePointer<Float>, _ count: Int, _ sums: UnsafeMutablePointer<Float>) {
  for b in 0..<(count / 32) {
    let xb = x + b &* 32
    sums[b] = ((load8(xb) + load8(xb + 8)) + (load8(xb + 16) + load8(xb + 24))).sum()
  }
}

/// One weight row of `type` (with `columns` elements at `row`) dotted with `x`.
/// `xSums` must hold `blockSums(x)` when `type` is Q4_0/Q4_1; `scratch` holds `columns` floats.
@inline(__always)
func dotRow(
  _ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>,
  _ columns: Int, _ scratch: UnsafeMutablePointer<Float>
) -> Float {
  switch type {
  case .q4_1: return dotQ4_1(row, x, xSums, columns / 32)
  case .q4_0: return dotQ4_0(row, x, xSums, columns / 32)
  case .q8_0: return dotQ8_0(row, x, columns / 32)
  case .q4_K: return dotQ4_K(row, x, columns / 256)
  case .q6_K: return dotQ6_K(row, x, columns / 256)
  case .f32: return dotF32(row.assumingMemoryBound(to: Float.self), x, columns)
  default:
    dequantizeRow(type, row, scratch, columns)
    return dotF32(scratch, x, columns)
  }
}
