// 256-element super-block types (QK_K = 256; ggml-common.h layouts, ggml-quants.c `dequantize_row_*`):
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_XS, TQ1_0, TQ2_0.
//
// Sub-block scales are formed exactly as gguf-py and ggml form them, in binary32: `dl = d * Float(scale)`
// (and `ml = dmin * Float(min)`), then each element is `dl * q` or `dl * q - ml` as two separate
// operations (no FMA). Q6_K is `(d * scale) * q`, the left-to-right order of ggml's `d * sc[is] * q1`.

extension Dequantize {
  /// The (scale, min) pair `j` of Q4_K/Q5_K's 12 packed 6-bit values; port of ggml `get_scale_min_k4`.
  @inline(__always)
  static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
    @inline(__always) func byte(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 { return (byte(j) & 63, byte(j &+ 4) & 63) }
    return ((byte(j &+ 4) & 0x0F) | ((byte(j &- 4) >> 6) << 4), (byte(j &+ 4) >> 4) | ((byte(j) >> 6) << 4))
  }

  /// Q2_K, 84 bytes: u8 scales[16] (low nibble scale, high nibble min), u8 qs[64], f16 d, f16 dmin.
  /// Output 32n + 32j + l (n < 2, j < 4, l < 32) is `((qs[32n + l] >> 2j) & 3)` with sub-block scale 8n + 2j + l/16.
  static func q2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 84, o = dst + b &* 256  // can't overflow: sizes validated by the caller
      let d = loadHalf(p, 80), dmin = loadHalf(p, 82)
      for n in 0..<2 {
        let q0 = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* n, as: SIMD16<UInt8>.self)
        let q1 = p.loadUnaligned(fromByteOffset: 32 &+ 32 &* n, as: SIMD16<UInt8>.self)
        for j in 0..<4 {
          let shift = UInt8(truncatingIfNeeded: 2 &* j)
          let sc0 = p.load(fromByteOffset: 8 &* n &+ 2 &* j, as: UInt8.self)
          let sc1 = p.load(fromByteOffset: 8 &* n &+ 2 &* j &+ 1, as: UInt8.self)
          let dl0 = d * Float(sc0 & 0x0F), ml0 = dmin * Float(sc0 >> 4)
          let dl1 = d * Float(sc1 & 0x0F), ml1 = dmin * Float(sc1 >> 4)
          let base = 128 &* n &+ 32 &* j
          store(floats((q0 &>> shift) & 3) * dl0 - ml0, o, base)
          store(floats((q1 &>> shift) & 3) * dl1 - ml1, o, base &+ 16)
        }
      }
    }
  }

  /// Q3_K, 110 bytes: u8 hmask[32], u8 qs[64], u8 scales[12] (16 packed 6-bit signed scales), f16 d.
  /// Output 128n + 32j + l is `((qs[32n + l] >> 2j) & 3) - (hmask[l] bit 4n+j ? 0 : 4)`, scale 8n + 2j + l/16.
  static func q3_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 110, o = dst + b &* 256
      let d = loadHalf(p, 108)
      // 16 scales: low 4 bits from bytes 0-7 (low nibbles for 0-7, high for 8-15), high 2 bits from
      // bytes 8-11 (bits 0-1 for scales 0-3, bits 2-3 for 4-7, ...).
      let l = p.loadUnaligned(fromByteOffset: 96, as: SIMD8<UInt8>.self)
      let h = p.loadUnaligned(fromByteOffset: 104, as: SIMD4<UInt8>.self)
      let low = SIMD16<UInt8>(lowHalf: l & 0x0F, highHalf: l &>> 4)
      let high = SIMD16<UInt8>(
        lowHalf: SIMD8(lowHalf: h & 3, highHalf: (h &>> 2) & 3), highHalf: SIMD8(lowHalf: (h &>> 4) & 3, highHalf: h &>> 6))
      let dl = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: low | (high &<< 4)) &- 32) * d
      let h0 = p.loadUnaligned(fromByteOffset: 0, as: SIMD16<UInt8>.self)
      let h1 = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
      for n in 0..<2 {
        let q0 = p.loadUnaligned(fromByteOffset: 32 &+ 32 &* n, as: SIMD16<UInt8>.self)
        let q1 = p.loadUnaligned(fromByteOffset: 48 &+ 32 &* n, as: SIMD16<UInt8>.self)
        for j in 0..<4 {
          let shift = UInt8(truncatingIfNeeded: 2 &* j), bit = UInt8(truncatingIfNeeded: 4 &* n &+ j)
          let v0 = SIMD16<Int32>(truncatingIfNeeded: (q0 &>> shift) & 3)
            &- SIMD16<Int32>(truncatingIfNeeded: (((h0 &>> bit) & 1) ^ 1) &<< 2)
          let v1 = SIMD16<Int32>(truncatingIfNeeded: (q1 &>> shift) & 3)
            &- SIMD16<Int32>(truncatingIfNeeded: (((h1 &>> bit) & 1) ^ 1) &<< 2)
          let s = 8 &* n &+ 2 &* j, base = 128 &* n &+ 32 &* j
          store(SIMD16<Float>(v0) * dl[s], o, base)
          store(SIMD16<Float>(v1) * dl[s &+ 1], o, base &+ 16)
        }
      }
    }
  }

  /// Q4_K, 144 bytes: f16 d, f16 dmin, u8 scales[12] (8 packed 6-bit scale/min pairs), u8 qs[128].
  /// Chunk c (64 outputs): low nibbles of qs[32c..<32c+32] with pair 2c, then high nibbles with pair 2c+1.
  static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 144, o = dst + b &* 256
      let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
      let scales = p + 4
      for c in 0..<4 {
        let (s0, m0) = scaleMinK4(2 &* c, scales), (s1, m1) = scaleMinK4(2 &* c &+ 1, scales)
        let d0 = SIMD16<Float>(repeating: d * Float(s0)), n0 = SIMD16<Float>(repeating: dmin * Float(m0))
        let d1 = SIMD16<Float>(repeating: d * Float(s1)), n1 = SIMD16<Float>(repeating: dmin * Float(m1))
        let qa = p.loadUnaligned(fromByteOffset: 16 &+ 32 &* c, as: SIMD16<UInt8>.self)
        let qb = p.loadUnaligned(fromByteOffset: 32 &+ 32 &* c, as: SIMD16<UInt8>.self)
        let base = 64 &* c
        store(floats(qa & 0x0F) * d0 - n0, o, base)
        store(floats(qb & 0x0F) * d0 - n0, o, base &+ 16)
        store(floats(qa &>> 4) * d1 - n1, o, base &+ 32)
        store(floats(qb &>> 4) * d1 - n1, o, base &+ 48)
      }
    }
  }

  /// Q5_K, 176 bytes: f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]. As Q4_K, plus bit 4 of the
  /// element taken from `qh[l]` bit 2c (low nibbles) or 2c+1 (high nibbles).
  static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 176, o = dst + b &* 256
      let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
      let scales = p + 4
      let h0 = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
      let h1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self)
      for c in 0..<4 {
        let (s0, m0) = scaleMinK4(2 &* c, scales), (s1, m1) = scaleMinK4(2 &* c &+ 1, scales)
        let d0 = SIMD16<Float>(repeating: d * Float(s0)), n0 = SIMD16<Float>(repeating: dmin * Float(m0))
        let d1 = SIMD16<Float>(repeating: d * Float(s1)), n1 = SIMD16<Float>(repeating: dmin * Float(m1))
        let qa = p.loadUnaligned(fromByteOffset: 48 &+ 32 &* c, as: SIMD16<UInt8>.self)
        let qb = p.loadUnaligned(fromByteOffset: 64 &+ 32 &* c, as: SIMD16<UInt8>.self)
        let lowBit = UInt8(truncatingIfNeeded: 2 &* c), highBit = UInt8(truncatingIfNeeded: 2 &* c &+ 1)
        let base = 64 &* c
        store(floats((qa & 0x0F) | (((h0 &>> lowBit) & 1) &<< 4)) * d0 - n0, o, base)
        store(floats((qb & 0x0F) | (((h1 &>> lowBit) & 1) &<< 4)) * d0 - n0, o, base &+ 16)
        store(floats((qa &>> 4) | (((h0 &>> highBit) & 1) &<< 4)) * d1 - n1, o, base &+ 32)
        store(floats((qb &>> 4) | (((h1 &>> highBit) & 1) &<< 4)) * d1 - n1, o, base &+ 48)
      }
    }
  }

  /// Q6_K, 210 bytes: u8 ql[128], u8 qh[64], i8 scales[16], f16 d. Per half n: output 128n + 32t + l uses
  /// nibble t/2 of ql[64n + 32(t%2) + l] and bits 2t..2t+1 of qh[32n + l], minus 32; scale 8n + 2t + l/16.
  static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 210, o = dst + b &* 256
      let d = loadHalf(p, 208)
      let rawScales = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: 192, as: SIMD16<Int8>.self)))
      let ds = d * rawScales
      for n in 0..<2 {
        for half in 0..<2 {
          let a = p.loadUnaligned(fromByteOffset: 64 &* n &+ 16 &* half, as: SIMD16<UInt8>.self)
          let c = p.loadUnaligned(fromByteOffset: 64 &* n &+ 32 &+ 16 &* half, as: SIMD16<UInt8>.self)
          let h = p.loadUnaligned(fromByteOffset: 128 &+ 32 &* n &+ 16 &* half, as: SIMD16<UInt8>.self)
          let q0 = (a & 0x0F) | ((h & 3) &<< 4)
          let q1 = (c & 0x0F) | (((h &>> 2) & 3) &<< 4)
          let q2 = (a &>> 4) | (((h &>> 4) & 3) &<< 4)
          let q3 = (c &>> 4) | ((h &>> 6) &<< 4)
          let s = 8 &* n &+ half, base = 128 &* n &+ 16 &* half
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0) &- 32) * ds[s], o, base)
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1) &- 32) * ds[s &+ 2], o, base &+ 32)
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q2) &- 32) * ds[s &+ 4], o, base &+ 64)
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q3) &- 32) * ds[s &+ 6], o, base &+ 96)
        }
      }
    }
  }

  /// Q8_K, 292 bytes: f32 d, i8 qs[256], i16 bsums[16] (only for dot products). `y = d q`.
  /// Not in gguf-py 0.19; port of ggml `dequantize_row_q8_K`.
  static func q8_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 292, o = dst + b &* 256
      let d = SIMD16<Float>(repeating: Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
      for k in 0..<16 {
        store(floats(p.loadUnaligned(fromByteOffset: 4 &+ 16 &* k, as: SIMD16<Int8>.self)) * d, o, 16 &* k)
      }
    }
  }

  /// IQ4_XS, 136 bytes: f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]. Sub-block ib (32 elements) has
  /// 6-bit scale `ls` (low nibble from scales_l, 2 high bits from scales_h), `dl = d * (ls - 32)`, then IQ4_NL.
  static func iq4_XS(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let table = iq4nlValues
    for b in 0..<blockCount {
      let p = src + b &* 136, o = dst + b &* 256
      let d = loadHalf(p, 0)
      let high = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
      for ib in 0..<8 {
        let low = (p.load(fromByteOffset: 4 &+ (ib >> 1), as: UInt8.self) >> UInt8(4 &* (ib & 1))) & 0x0F
        let ls = Int(low) | (Int((high >> UInt16(2 &* ib)) & 3) << 4)
        scatterCodebook(table * (d * Float(ls &- 32)), p + (8 &+ 16 &* ib), 16, o + 32 &* ib)
      }
    }
  }

  /// Ternary digit `n` of a TQ1_0 byte: `((q * 3^n mod 256) * 3) >> 8` minus 1, as a float.
  @inline(__always)
  static func trit(_ q: SIMD16<UInt8>, _ power: UInt8) -> SIMD16<Float> {
    let scaled = SIMD16<Int32>(truncatingIfNeeded: q &* power)
    return SIMD16<Float>(((scaled &* 3) &>> 8) &- 1)
  }

  /// TQ1_0, 54 bytes: u8 qs[48] (5 trits per byte), u8 qh[4] (4 trits per byte), f16 d. Output order:
  /// qs[0..<32] digit 0..4 (digit outer), qs[32..<48] digit 0..4, then qh digit 0..3. `y = (t - 1) d`.
  static func tq1_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    let powers: [UInt8] = [1, 3, 9, 27, 81]
    for b in 0..<blockCount {
      let p = src + b &* 54
      var o = dst + b &* 256
      let d = loadHalf(p, 52)
      let dv = SIMD16<Float>(repeating: d)
      let a0 = p.loadUnaligned(fromByteOffset: 0, as: SIMD16<UInt8>.self)
      let a1 = p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
      let a2 = p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self)
      for n in 0..<5 {
        store(trit(a0, powers[n]) * dv, o, 0)
        store(trit(a1, powers[n]) * dv, o, 16)
        o += 32
      }
      for n in 0..<5 {
        store(trit(a2, powers[n]) * dv, o, 0)
        o += 16
      }
      for n in 0..<4 {
        for j in 0..<4 {
          let q = p.load(fromByteOffset: 48 &+ j, as: UInt8.self) &* powers[n]
          o[j] = Float((Int(q) &* 3) >> 8 &- 1) * d
        }
        o += 4
      }
    }
  }

  /// TQ2_0, 66 bytes: u8 qs[64] (4 two-bit values per byte), f16 d. Output 128j + 32l + m is
  /// `((qs[32j + m] >> 2l) & 3) - 1`, times d.
  static func tq2_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    for b in 0..<blockCount {
      let p = src + b &* 66, o = dst + b &* 256
      let d = SIMD16<Float>(repeating: loadHalf(p, 64))
      for j in 0..<2 {
        let q0 = p.loadUnaligned(fromByteOffset: 32 &* j, as: SIMD16<UInt8>.self)
        let q1 = p.loadUnaligned(fromByteOffset: 32 &* j &+ 16, as: SIMD16<UInt8>.self)
        for l in 0..<4 {
          let shift = UInt8(truncatingIfNeeded: 2 &* l), base = 128 &* j &+ 32 &* l
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q0 &>> shift) & 3) &- 1) * d, o, base)
          store(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q1 &>> shift) & 3) &- 1) * d, o, base &+ 16)
        }
      }
    }
  }
}
