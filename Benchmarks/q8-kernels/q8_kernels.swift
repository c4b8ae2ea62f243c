// Side-by-side micro benchmark for the `.llamaCpp` Q4_1 x Q8_1 kernels (speed7; run `./run.sh`):
//   swift-float : the Swift kernel shape of GGMLDots.swift (the portable fallback): weights decoded to
//                 integer-valued floats, activations stored as floats, quad-transposed; 4 FMAs per block.
//   swift-int16 : an attempt to stay in Swift with integer dots: activations as Int16 pairs, `madd` written as
//                 sign-extended even/odd lanes (LLVM matches vpmaddwd for opaque operands), but with the
//                 decoded nibbles' known-zero bits LLVM rewrites it into vpmulld + shuffles: 2x SLOWER.
//                 (And SIMD32<UInt8> -> SIMD16<Int32> conversions became out-of-line calls, so vpmaddubsw
//                 is out of reach from Swift SIMD.)
//   c-avx2      : Sources/CKernels/ggml_q8.c (vpmaddubsw + vpmaddwd, Int8 activations), what the runtime uses.
// One 1536 x 576 Q4_1 matrix (SmolLM2's ffn_gate/up) against 8 tokens and against 1 token (4 rows per call),
// best of 30; every kernel's outputs are checked bit for bit against swift-float. The two Swift kernels are
// re-typed here (not imported) so the file compiles on its own with swiftc.
import CKernels
#if canImport(Glibc)
import Glibc
#endif

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
@inline(__always) func fma8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> { a.addingProduct(b, c) }
@inline(__always) func fma8(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: Float) -> SIMD8<Float> { a.addingProduct(b, SIMD8(repeating: c)) }
@inline(__always) func half(_ p: UnsafeRawPointer, _ o: Int = 0) -> Float { Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
@inline(__always) func floats(_ v: SIMD8<Int32>) -> SIMD8<Float> {
  SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}
@inline(__always) func nibbleWords(_ p: UnsafeRawPointer) -> SIMD8<UInt32> {
  let u = p.loadUnaligned(as: SIMD4<UInt32>.self)
  return SIMD8<UInt32>(lowHalf: u, highHalf: u) &>> SIMD8<UInt32>(0, 0, 0, 0, 4, 4, 4, 4)
}
@inline(__always) func nibble(_ v: SIMD8<UInt32>, _ k: UInt32) -> SIMD8<Int32> { unsafeBitCast((v &>> (8 &* k)) & 0xF, to: SIMD8<Int32>.self) }
@inline(__always) func hsum(_ v: SIMD8<Float>) -> Float { let r = v.highHalf + v.lowHalf; let t = r.lowHalf + r.highHalf; return t[0] + t[1] }

// Current: x as floats quad-transposed (32 floats per block), meta per block (8 d then 8 s)
@inline(never)
func cur8(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, ldx: Int, _ meta: UnsafePointer<Float>, _ nb: Int, _ out: UnsafeMutablePointer<Float>) {
  var a = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
  var summs = SIMD8<Float>()
  for b in 0..<nb {
    let p = w + b &* 20
    let v = nibbleWords(p + 4)
    let w0 = floats(nibble(v, 0)), w1 = floats(nibble(v, 1)), w2 = floats(nibble(v, 2)), w3 = floats(nibble(v, 3))
    let d = half(p), m = half(p, 2)
    let xb = x + b &* 32
    let mp = meta + b &* 16
    let scale = load8(mp) * d
    @inline(__always) func ls(_ x: UnsafePointer<Float>) -> SIMD8<Float> {
      var l = w0 * load8(x); l = fma8(l, w1, load8(x + 8)); l = fma8(l, w2, load8(x + 16)); return fma8(l, w3, load8(x + 24))
    }
    a.0 = fma8(a.0, ls(xb), scale[0]); a.1 = fma8(a.1, ls(xb + ldx), scale[1])
    a.2 = fma8(a.2, ls(xb + 2 &* ldx), scale[2]); a.3 = fma8(a.3, ls(xb + 3 &* ldx), scale[3])
    a.4 = fma8(a.4, ls(xb + 4 &* ldx), scale[4]); a.5 = fma8(a.5, ls(xb + 5 &* ldx), scale[5])
    a.6 = fma8(a.6, ls(xb + 6 &* ldx), scale[6]); a.7 = fma8(a.7, ls(xb + 7 &* ldx), scale[7])
    summs = summs.addingProduct(SIMD8<Float>(repeating: m), load8(mp + 8))
  }
  out[0] = hsum(a.0) + summs[0]; out[1] = hsum(a.1) + summs[1]; out[2] = hsum(a.2) + summs[2]; out[3] = hsum(a.3) + summs[3]
  out[4] = hsum(a.4) + summs[4]; out[5] = hsum(a.5) + summs[5]; out[6] = hsum(a.6) + summs[6]; out[7] = hsum(a.7) + summs[7]
}

// int16: block = 32 Int16 (64 bytes): A lanes (2j, 2j+1) = x[4j], x[4j+2]; B lanes = x[4j+1], x[4j+3]
@inline(__always) func madd(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
  let ae = SIMD8<Int32>(truncatingIfNeeded: a.evenHalf), ao = SIMD8<Int32>(truncatingIfNeeded: a.oddHalf)
  let be = SIMD8<Int32>(truncatingIfNeeded: b.evenHalf), bo = SIMD8<Int32>(truncatingIfNeeded: b.oddHalf)
  return ae &* be &+ ao &* bo
}
@inline(__always) func load16(_ p: UnsafeRawPointer) -> SIMD16<Int16> { p.loadUnaligned(as: SIMD16<Int16>.self) }

@inline(never)
func new8(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, ldxBytes: Int, _ meta: UnsafePointer<Float>, _ nb: Int, _ out: UnsafeMutablePointer<Float>) {
  var a = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
  var summs = SIMD8<Float>()
  for b in 0..<nb {
    let p = w + b &* 20
    let v = nibbleWords(p + 4)
    let wa = unsafeBitCast(v & 0x000F_000F, to: SIMD16<Int16>.self)
    let wb = unsafeBitCast((v &>> 8) & 0x000F_000F, to: SIMD16<Int16>.self)
    let d = half(p), m = half(p, 2)
    let xb = x + b &* 64
    let mp = meta + b &* 16
    let scale = load8(mp) * d
    @inline(__always) func ls(_ x: UnsafeRawPointer) -> SIMD8<Float> {
      floats(madd(wa, load16(x)) &+ madd(wb, load16(x + 32)))
    }
    a.0 = fma8(a.0, ls(xb), scale[0]); a.1 = fma8(a.1, ls(xb + ldxBytes), scale[1])
    a.2 = fma8(a.2, ls(xb + 2 &* ldxBytes), scale[2]); a.3 = fma8(a.3, ls(xb + 3 &* ldxBytes), scale[3])
    a.4 = fma8(a.4, ls(xb + 4 &* ldxBytes), scale[4]); a.5 = fma8(a.5, ls(xb + 5 &* ldxBytes), scale[5])
    a.6 = fma8(a.6, ls(xb + 6 &* ldxBytes), scale[6]); a.7 = fma8(a.7, ls(xb + 7 &* ldxBytes), scale[7])
    summs = summs.addingProduct(SIMD8<Float>(repeating: m), load8(mp + 8))
  }
  out[0] = hsum(a.0) + summs[0]; out[1] = hsum(a.1) + summs[1]; out[2] = hsum(a.2) + summs[2]; out[3] = hsum(a.3) + summs[3]
  out[4] = hsum(a.4) + summs[4]; out[5] = hsum(a.5) + summs[5]; out[6] = hsum(a.6) + summs[6]; out[7] = hsum(a.7) + summs[7]
}

@inline(never)
func cur1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ meta: UnsafePointer<Float>, _ nb: Int) -> Float {
  var acc = SIMD8<Float>(); var summs: Float = 0
  for b in 0..<nb {
    let p = w + b &* 20
    let v = nibbleWords(p + 4)
    let w0 = floats(nibble(v, 0)), w1 = floats(nibble(v, 1)), w2 = floats(nibble(v, 2)), w3 = floats(nibble(v, 3))
    let xb = x + b &* 32
    var l = w0 * load8(xb); l = fma8(l, w1, load8(xb + 8)); l = fma8(l, w2, load8(xb + 16)); l = fma8(l, w3, load8(xb + 24))
    acc = fma8(acc, l, half(p) * meta[b &* 16])
    summs = summs.addingProduct(half(p, 2), meta[b &* 16 &+ 8])
  }
  return hsum(acc) + summs
}
@inline(never)
func new1(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, _ meta: UnsafePointer<Float>, _ nb: Int) -> Float {
  var acc = SIMD8<Float>(); var summs: Float = 0
  for b in 0..<nb {
    let p = w + b &* 20
    let v = nibbleWords(p + 4)
    let wa = unsafeBitCast(v & 0x000F_000F, to: SIMD16<Int16>.self)
    let wb = unsafeBitCast((v &>> 8) & 0x000F_000F, to: SIMD16<Int16>.self)
    let xb = x + b &* 64
    let l = floats(madd(wa, load16(xb)) &+ madd(wb, load16(xb + 32)))
    acc = fma8(acc, l, half(p) * meta[b &* 16])
    summs = summs.addingProduct(half(p, 2), meta[b &* 16 &+ 8])
  }
  return hsum(acc) + summs
}

// swift-float with 4 rows per call (independent FMA chains, one activation load per 4 rows), as c-avx2 does.
@inline(never)
func cur1x4(_ w: UnsafeRawPointer, rowBytes: Int, _ x: UnsafePointer<Float>, _ meta: UnsafePointer<Float>, _ nb: Int, _ out: UnsafeMutablePointer<Float>) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
  for b in 0..<nb {
    let xb = x + b &* 32
    let x0 = load8(xb), x1 = load8(xb + 8), x2 = load8(xb + 16), x3 = load8(xb + 24)
    let dx = meta[b &* 16], sx = meta[b &* 16 &+ 8]
    @inline(__always) func one(_ p: UnsafeRawPointer, _ acc: inout SIMD8<Float>, _ summs: inout Float) {
      let v = nibbleWords(p + 4)
      var l = floats(nibble(v, 0)) * x0; l = fma8(l, floats(nibble(v, 1)), x1); l = fma8(l, floats(nibble(v, 2)), x2); l = fma8(l, floats(nibble(v, 3)), x3)
      acc = fma8(acc, l, half(p) * dx)
      summs = summs.addingProduct(half(p, 2), sx)
    }
    let p = w + b &* 20
    one(p, &a0, &s0); one(p + rowBytes, &a1, &s1); one(p + 2 &* rowBytes, &a2, &s2); one(p + 3 &* rowBytes, &a3, &s3)
  }
  out[0] = hsum(a0) + s0; out[1] = hsum(a1) + s1; out[2] = hsum(a2) + s2; out[3] = hsum(a3) + s3
}

func now() -> Double { var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9 }

@main struct B {
  static func main() {
    let rows = 1536, nb = 18  // 576 columns
    var rng: UInt64 = 7
    func r() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
    let w = UnsafeMutableRawPointer.allocate(byteCount: rows * nb * 20, alignment: 64)
    for i in 0..<(rows * nb * 20) { w.storeBytes(of: UInt8(truncatingIfNeeded: r()), toByteOffset: i, as: UInt8.self) }
    for i in 0..<(rows * nb) { w.storeBytes(of: Float16(Float(r() % 100) / 1000).bitPattern, toByteOffset: i * 20, as: UInt16.self); w.storeBytes(of: Float16(-Float(r() % 100) / 1000).bitPattern, toByteOffset: i * 20 + 2, as: UInt16.self) }
    let T = 8
    let qx = (0..<(T * nb * 32)).map { _ in Int(r() % 255) - 127 }
    let xf = UnsafeMutablePointer<Float>.allocate(capacity: T * nb * 32)
    let xi = UnsafeMutableRawPointer.allocate(byteCount: T * nb * 64, alignment: 64)
    for t in 0..<T { for b in 0..<nb { for i in 0..<32 {
      let q = qx[(t * nb + b) * 32 + i]
      xf[t * nb * 32 + b * 32 + (i & 3) * 8 + (i >> 2)] = Float(q)
      // int16 layout: j = i >> 2, k = i & 3; k in {0,2} -> A lane 2j + k/2; k in {1,3} -> B lane 2j + (k-1)/2
      let j = i >> 2, k = i & 3
      let lane = (k & 1 == 0) ? (2 * j + k / 2) : (16 + 2 * j + (k - 1) / 2)
      xi.storeBytes(of: Int16(q), toByteOffset: t * nb * 64 + b * 64 + lane * 2, as: Int16.self)
    }}}
    let x8 = UnsafeMutablePointer<Int8>.allocate(capacity: T * nb * 32)
    for i in 0..<(T * nb * 32) { x8[i] = Int8(qx[i]) }
    let meta = UnsafeMutablePointer<Float>.allocate(capacity: nb * 16)
    for i in 0..<(nb * 16) { meta[i] = Float(r() % 100) / 7000 }
    let o1 = UnsafeMutablePointer<Float>.allocate(capacity: 8), o2 = UnsafeMutablePointer<Float>.allocate(capacity: 8)
    var bestC = 1e9, bestN = 1e9, bestC1 = 1e9, bestN1 = 1e9
    var sink: Float = 0
    for _ in 0..<30 {
      var t0 = now(); for rr in 0..<rows { cur8(w + rr * nb * 20, xf, ldx: nb * 32, meta, nb, o1) }; bestC = min(bestC, now() - t0)
      t0 = now(); for rr in 0..<rows { new8(w + rr * nb * 20, UnsafeRawPointer(xi), ldxBytes: nb * 64, meta, nb, o2) }; bestN = min(bestN, now() - t0)
      t0 = now(); for rr in 0..<rows { sink += cur1(w + rr * nb * 20, xf, meta, nb) }; bestC1 = min(bestC1, now() - t0)
      t0 = now(); for rr in 0..<rows { sink -= new1(w + rr * nb * 20, UnsafeRawPointer(xi), meta, nb) }; bestN1 = min(bestN1, now() - t0)
    }
    let o3 = UnsafeMutablePointer<Float>.allocate(capacity: 8 * rows)
    let o4 = UnsafeMutablePointer<Float>.allocate(capacity: rows)
    var bestK = 1e9, bestK1 = 1e9
    for _ in 0..<30 {
      var t0 = now(); scan_ggml_matmul_q8(3, w, nb * 20, 0, rows, x8, nb * 32, meta, nb, 0, 8, o3, rows, 64); bestK = min(bestK, now() - t0)
      t0 = now(); scan_ggml_matmul_q8(3, w, nb * 20, 0, rows, x8, nb * 32, meta, nb, 0, 1, o4, rows, 64); bestK1 = min(bestK1, now() - t0)
    }
    var bestC4 = 1e9
    let o5 = UnsafeMutablePointer<Float>.allocate(capacity: rows)
    for _ in 0..<30 {
      let t0 = now(); var rr = 0; while rr < rows { cur1x4(w + rr * nb * 20, rowBytes: nb * 20, xf, meta, nb, o5 + rr); rr += 4 }; bestC4 = min(bestC4, now() - t0)
    }
    var mism = 0
    for rr in 0..<rows where o5[rr].bitPattern != o4[rr].bitPattern { mism += 1 }
    for rr in 0..<rows { cur8(w + rr * nb * 20, xf, ldx: nb * 32, meta, nb, o1); for t in 0..<8 { if o1[t].bitPattern != o3[t * rows + rr].bitPattern { mism += 1 } }
      if cur1(w + rr * nb * 20, xf, meta, nb).bitPattern != o4[rr].bitPattern { mism += 1 } }
    for i in 0..<8 where o1[i].bitPattern != o2[i].bitPattern { mism += 1 }
    func us(_ s: Double) -> String { String(Int((s * 1e6).rounded())) }
    print("kernel        8 tokens (us)  1 token (us)   [1536 x 576 Q4_1, best of 30]")
    print("swift-float   \(us(bestC))            \(us(bestC1))")
    print("swift-float4  -              \(us(bestC4))   (4 rows per call)")
    print("swift-int16   \(us(bestN))            \(us(bestN1))")
    print("c-avx2        \(us(bestK))            \(us(bestK1))")
    print("bit mismatches against swift-float: \(mism) (sink \(sink))")
  }
}
