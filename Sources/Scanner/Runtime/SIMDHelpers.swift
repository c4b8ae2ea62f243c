// Small always-inlined helpers shared by the kernels. Everything here works on raw pointers that the
// caller has bounds-checked once per matrix (see WeightMatrix), never per element.

/// `acc + a * b`, as one fused instruction where the build enables FMA (`SCAN_FMA`, see Package.swift).
///
/// Measured on the 2-core EPYC: with `-mfma`, `addingProduct` lowers to `vfmadd231ps` and the fused
/// Q4_1 dot runs ~3x faster than `acc += a * b` (which the optimizer also sometimes turns into calls to
/// the generic SIMD conversion witnesses). Without FMA, `addingProduct` would be a per-lane libm call, so
/// the portable build uses the plain expression (STYLE.md section 5).
@inline(__always)
func fma8(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
  #if SCAN_FMA
    return acc.addingProduct(a, b)
  #else
    return acc + a * b
  #endif
}

/// `acc + a * s` for a scalar `s`.
@inline(__always)
func fma8(_ acc: SIMD8<Float>, _ a: SIMD8<Float>, _ s: Float) -> SIMD8<Float> {
  #if SCAN_FMA
    return acc.addingProduct(a, s)
  #else
    return acc + a * s
  #endif
}

/// Loads 8 floats from a possibly unaligned address.
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores 8 floats to a possibly unaligned address.
@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Widens 8 unsigned bytes to floats. Written lane by lane on purpose: LLVM turns this into
/// `vpmovzxbd` + `vcvtdq2ps`, while the generic `SIMD8<Float>(SIMD8<Int32>)` initializer stayed an
/// out-of-line call in our measurements.
@inline(__always)
func floats(_ q: SIMD8<UInt8>) -> SIMD8<Float> {
  SIMD8<Float>(Float(q[0]), Float(q[1]), Float(q[2]), Float(q[3]), Float(q[4]), Float(q[5]), Float(q[6]), Float(q[7]))
}

/// Widens 8 signed bytes to floats (`vpmovsxbd` + `vcvtdq2ps`).
@inline(__always)
func floats(_ q: SIMD8<Int8>) -> SIMD8<Float> {
  SIMD8<Float>(Float(q[0]), Float(q[1]), Float(q[2]), Float(q[3]), Float(q[4]), Float(q[5]), Float(q[6]), Float(q[7]))
}

/// Decodes an IEEE binary16 value stored little-endian at `p + byteOffset`.
@inline(__always)
func half(_ p: UnsafeRawPointer, _ byteOffset: Int = 0) -> Float {
  Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))))
}

/// Dot product of two float vectors of length `n` (any `n`).
// x (n,) . y (n,) -> scalar
@inline(__always)
func dotF32(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var i = 0
  while i + 32 <= n {
    a0 = fma8(a0, load8(x + i), load8(y + i))
    a1 = fma8(a1, load8(x + i + 8), load8(y + i + 8))
    a2 = fma8(a2, load8(x + i + 16), load8(y + i + 16))
    a3 = fma8(a3, load8(x + i + 24), load8(y + i + 24))
    i += 32
  }
  while i + 8 <= n {
    a0 = fma8(a0, load8(x + i), load8(y + i))
    i += 8
  }
  var s = ((a0 + a1) + (a2 + a3)).sum()
  while i < n {
    s += x[i] * y[i]
    i += 1
  }
  return s
}

/// `y += a * x` over `n` floats.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
  var i = 0
  while i + 8 <= n {
    store8(fma8(load8(y + i), load8(x + i), a), y + i)
    i += 8
  }
  while i < n {
    y[i] += a * x[i]
    i += 1
  }
}
