// Small-block quantized types (ggml-common.h block layouts, ggml-quants.c `dequantize_row_*`):
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and IQ4_NL (32 elements), MXFP4 (32), NVFP4 (64), Q1_0 (128), Q2_0 (64).
//
// Arithmetic follows gguf-py's numpy code operation by operation in binary32, which equals ggml's scalar C:
// one product `q * d` per element, and for the "_1" types `q * d + m` as a separate multiply and add.
// We never fuse (Swift does not contract `a * b + c` into an FMA, even with `-mfma`), because gguf-py does
// not. The integer part `q` is always exact in binary32, so operand order inside a product does not matter.

extension Dequantize {
  @inline(__always)
  static func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> { SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v)) }

  @inline(__always)
  static func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> { SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v)) }

  /// IQ4_NL non-linear 4-bit codebook (ggml-common.h `kvalues_iq4nl`), as floats (exact).
  @inline(__always)
  static var iq4nlValues: SIMD16<Float> { [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] }
  /// E2M1 values doubled (ggml-common.h `kvalues_mxfp4`), the element codebook of MXFP4 and NVFP4. Code 8 is
  /// +0 (an integer 0 in ggml), so `0 * d` takes the sign of d, as in the references.
  @inline(__always)
  static var fp4DoubledValues: SIMD16<Float> { [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12] }

  /// Writes `out[j] = scaled[lo(q[j])]`, `out[j + half] = scaled[hi(q[j])]` for `j < half` (16 or 8 bytes at `q`).
  ///
  /// The products `codebook * d` are formed once per block (16 multiplies, each exactly the reference's
  /// `kvalues[i] * d`) and then copied, which is faster than a per-lane gather without SSSE3 shuffles.
  @inline(__always)
  static func scatterCodebook(
    _ scaled: SIMD16<Float>, _ q: UnsafeRawPointer, _ half: Int, _ out: UnsafeMutablePointer<Float>
  ) {
    withUnsafeBytes(of: scaled) { table in
      for j in 0..<half {
        let byte = q.load(fromByteOffset: j, as: UInt8.self)
        // In bounds: both indices are < 16 and the table holds 16 floats.
        out[j] = table.load(fromByteOffset: Int(byte & 0x0F) &* 4, as: Float.self)
        out[j &+ half] = table.load(fromByteOffset: Int(byte >> 4) &* 4, as: Float.self)
      }
    }
  }

  /// `x` with a NaN's quiet bit set, as any x86/ARM arithmetic on a signalling NaN returns it.
  @inline(__always)
  static func quieted(_ x: Float) -> Float { x.isNaN ? Float(bitPattern: x.bitPattern | 0x0040_0000) : x }

  /// E8M0 exponent byte to `2^(e-128)` (half the block scale, because the codebook is doubled);
  /// port of ggml-impl.h `ggml_e8m0_to_fp32_half`. `e = 255` gives `2^127`, as in ggml (no NaN case).
  @inline(__always)
  static func e8m0Half(_ e: UInt8) -> Float {
    e < 2 ? Float(bitPattern: UInt32(0x0020_0000) << e) : Float(bitPattern: UInt32(e &- 1) << 23)
  }

  /// Unsigned E4M3 scale byte (bias 7) to float, halved; port of ggml-impl.h `ggml_ue4m3_to_fp32`:
  /// the top bit is ignored, `0x00` and `0x7F` give 0.
  @inline(__always)
  static func ue4m3Half(_ x: UInt8) -> Float {
    if x == 0 || x == 0x7F { return 0 }
    let exponent = Int((x >> 3) & 0x0F)
    let mantissa = Float(x & 0x07)
    let raw = exponent == 0 ? mantissa * 0x1p-9 : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    return raw * 0.5
  }

  // MARK: - 32-element blocks

  /// Q4_0, 18 bytes: f16 d, u8 qs[16]. `y[j] = (lo(qs[j]) - 8) d`, `y[j+16] = (hi(qs[j]) - 8) d`.
  static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 18, o = dst + b &* 32  // can't overflow: sizes validated by the caller
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
      store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & 0x0F) &- 8) * d, o, 0)
      store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4) &- 8) * d, o, 16)
    }
  }

  /// Q4_1, 20 bytes: f16 d, f16 m, u8 qs[16]. `y = q d + m` (multiply, then add).
  static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 20, o = dst + b &* 32
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      let m = SIMD16<Float>(repeating: loadHalf(p, 2))
      let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
      store(floats(q & 0x0F) * d + m, o, 0)
      store(floats(q &>> 4) * d + m, o, 16)
    }
  }

  @inline(__always)
  static func fifthBits(_ qh: UInt32) -> (low: SIMD16<UInt8>, high: SIMD16<UInt8>) {
    let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    let h = SIMD16<UInt32>(repeating: qh)
    let low = ((h &>> lanes) & 1) &<< 4
    let high = ((h &>> (lanes &+ 16)) & 1) &<< 4
    return (SIMD16<UInt8>(truncatingIfNeeded: low), SIMD16<UInt8>(truncatingIfNeeded: high))
  }

  /// Q5_0, 22 bytes: f16 d, u32 qh, u8 qs[16]; bit j of qh is bit 4 of element j. `y = (q - 16) d`.
  static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 22, o = dst + b &* 32
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      let (hl, hh) = fifthBits(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
      let q = p.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self)
      store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q & 0x0F) | hl) &- 16) * d, o, 0)
      store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q &>> 4) | hh) &- 16) * d, o, 16)
    }
  }

  /// Q5_1, 24 bytes: f16 d, f16 m, u32 qh, u8 qs[16]. `y = q d + m`.
  static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 24, o = dst + b &* 32
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      let m = SIMD16<Float>(repeating: loadHalf(p, 2))
      let (hl, hh) = fifthBits(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
      let q = p.loadUnaligned(fromByteOffset: 8, as: SIMD16<UInt8>.self)
      store(floats((q & 0x0F) | hl) * d + m, o, 0)
      store(floats((q &>> 4) | hh) * d + m, o, 16)
    }
  }

  /// Q8_0, 34 bytes: f16 d, i8 qs[32]. `y = q d`.
  static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 34, o = dst + b &* 32
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      store(floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)) * d, o, 0)
      store(floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)) * d, o, 16)
    }
  }

  /// Q8_1, 36 bytes: f16 d, f16 s (= d * sum(qs), only for dot products), i8 qs[32]. `y = q d`.
  /// Neither ggml nor gguf-py has a Q8_1 dequantizer; this is the Q8_0 formula on the Q8_1 layout.
  static func q8_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 36, o = dst + b &* 32
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      store(floats(p.loadUnaligned(fromByteOffset: 4, as: SIMD16<Int8>.self)) * d, o, 0)
      store(floats(p.loadUnaligned(fromByteOffset: 20, as: SIMD16<Int8>.self)) * d, o, 16)
    }
  }

  /// IQ4_NL, 18 bytes: f16 d, u8 qs[16] of codebook indices. `y = d * kvalues_iq4nl[q]`.
  static func iq4_NL(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let table = iq4nlValues
    for b in 0..<blockCount {
      let p = src + b &* 18, o = dst + b &* 32
      // The codebook holds 1.0, and the optimizer folds `1.0 * d` to `d`, which would skip the quieting a
      // hardware multiply applies to a signalling-NaN d; quiet it first so every lane matches the references.
      scatterCodebook(table * quieted(loadHalf(p, 0)), p + 2, 16, o)
    }
  }

  /// MXFP4, 17 bytes: u8 E8M0 exponent e, u8 qs[16] of E2M1 codes. `y = kvalues_mxfp4[q] * 2^(e-128)`.
  static func mxfp4(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let table = fp4DoubledValues
    for b in 0..<blockCount {
      let p = src + b &* 17, o = dst + b &* 32
      scatterCodebook(table * e8m0Half(p.load(as: UInt8.self)), p + 1, 16, o)
    }
  }

  /// NVFP4, 36 bytes: u8 UE4M3 scales d[4] (one per 16 elements), u8 qs[32]; per 16-element sub-block s,
  /// bytes `qs[8s..<8s+8]`: low nibbles are elements 0-7, high nibbles 8-15. `y = kvalues_mxfp4[q] * ue4m3(d[s]) / 2`.
  static func nvfp4(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let table = fp4DoubledValues
    for b in 0..<blockCount {
      let p = src + b &* 36, o = dst + b &* 64
      for s in 0..<4 {
        let d = ue4m3Half(p.load(fromByteOffset: s, as: UInt8.self))
        scatterCodebook(table * d, p + (4 &+ 8 &* s), 8, o + 16 &* s)
      }
    }
  }

  /// Q1_0, 18 bytes: f16 d, u8 qs[16]; bit `j % 8` of `qs[j / 8]` selects `+d` (1) or `-d` (0).
  /// The value is copied, not multiplied, so a signalling-NaN scale is quieted here as ggml's
  /// fp16 conversion does (gguf-py 0.19 has no Q1_0).
  static func q1_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
    for b in 0..<blockCount {
      let p = src + b &* 18, o = dst + b &* 128
      let d = quieted(loadHalf(p, 0))
      // -d is d with the sign bit flipped (what C's unary minus does, NaN payload included).
      let bits = SIMD8<UInt32>(repeating: d.bitPattern)
      for k in 0..<16 {
        let byte = SIMD8<UInt32>(repeating: UInt32(p.load(fromByteOffset: 2 &+ k, as: UInt8.self)))
        let flip = (((byte &>> lanes) & 1) ^ 1) &<< 31
        store(unsafeBitCast(bits ^ flip, to: SIMD8<Float>.self), o, k &* 8)
      }
    }
  }

  /// Q2_0, 18 bytes: f16 d, u8 qs[16]; element j is `(qs[j / 4] >> 2(j % 4)) & 3`. `y = (q - 1) d`.
  /// Not in gguf-py 0.19; port of ggml `dequantize_row_q2_0`.
  static func q2_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let shifts = SIMD16<UInt8>(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6)
    for b in 0..<blockCount {
      let p = src + b &* 18, o = dst + b &* 64
      let d = SIMD16<Float>(repeating: loadHalf(p, 0))
      for g in 0..<4 {
        // Lanes 4t..<4t+4 read byte 4g+t.
        let w = p.loadUnaligned(fromByteOffset: 2 &+ 4 &* g, as: SIMD4<UInt8>.self)
        let bytes = SIMD16<UInt8>(
          w[0], w[0], w[0], w[0], w[1], w[1], w[1], w[1], w[2], w[2], w[2], w[2], w[3], w[3], w[3], w[3])
        let q = SIMD16<Int32>(truncatingIfNeeded: (bytes &>> shifts) & 3) &- 1
        store(SIMD16<Float>(q) * d, o, 16 &* g)
      }
    }
  }
}
