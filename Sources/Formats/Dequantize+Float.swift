// Plain (one element per "block") types: F32, F16, BF16, F64 and integers, shared by GGUF and safetensors,
// plus the IEEE binary16 -> binary32 conversion every quantized family uses for its scales.
//
// binary16 conversion is exact for every finite value (normals, subnormals, signed zeros) and keeps a NaN's
// payload and quiet bit unchanged (the payload moves to the top of the binary32 significand), exactly as
// numpy's `float16 -> float32` cast that gguf-py uses. ggml's own `ggml_compute_fp16_to_fp32` and the F16C
// instruction instead *quiet* a signalling NaN (they set significand bit 22), so for an F16 tensor (or a Q1_0
// scale, which ggml copies without arithmetic) holding a signalling NaN our bits equal gguf-py's, not ggml's.
// In every other type the scale is multiplied before it is stored, and the multiply quiets the NaN on
// both sides, so the outputs agree with both references.

extension Dequantize {
  /// IEEE binary16 bits to `Float`, exact; NaN payloads kept (numpy semantics).
  @inline(__always)
  static func halfToFloat(_ h: UInt16) -> Float {
    let em = UInt32(h & 0x7FFF)
    let sign = UInt32(h & 0x8000) << 16
    if em >= 0x7C00 { return Float(bitPattern: sign | 0x7F80_0000 | (em << 13)) }  // Inf, NaN
    if em >= 0x0400 { return Float(bitPattern: sign | ((em << 13) &+ 0x3800_0000)) }  // can't overflow: em < 0x7C00
    // Subnormal or zero: em * 2^-24 is exact in binary32.
    return Float(bitPattern: sign | (Float(em) * 0x1p-24).bitPattern)
  }

  /// Sixteen binary16 values (as zero-extended bits) to `Float`, lane by lane as `halfToFloat`.
  ///
  /// Branch- and mask-free (SIMD comparisons produce `SIMDMask`, which the compiler lowers lane by lane):
  /// `(em << 13)` read as binary32 is the value times 2^-112 for normals and subnormals alike, so one exact
  /// multiply by 2^112 rescales both. For Inf/NaN (`em >= 0x7C00`, i.e. `(em + 0x400) >> 15 == 1`) that product
  /// has bits `0x47800000 | m << 13`, and OR-ing `0x7F800000` turns it into `0x7F800000 | m << 13`.
  @inline(__always)
  static func halfToFloat(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
    let em = h & 0x7FFF
    let sign = (h & 0x8000) &<< 16
    let scaled = unsafeBitCast(em &<< 13, to: SIMD16<Float>.self) * 0x1p112
    let infNaN = ((em &+ 0x0400) &>> 15) &* 0x7F80_0000
    return unsafeBitCast(unsafeBitCast(scaled, to: SIMD16<UInt32>.self) | infNaN | sign, to: SIMD16<Float>.self)
  }

  @inline(__always)
  static func loadHalf(_ p: UnsafeRawPointer, _ byteOffset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
  }

  @inline(__always)
  static func store(_ v: SIMD16<Float>, _ dst: UnsafeMutablePointer<Float>, _ index: Int) {
    UnsafeMutableRawPointer(dst + index).storeBytes(of: v, as: SIMD16<Float>.self)
  }

  @inline(__always)
  static func store(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Float>, _ index: Int) {
    UnsafeMutableRawPointer(dst + index).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  // MARK: - Kernels: `src` holds `count` elements, `dst` receives `count` floats.

  /// F32: a byte copy (NaN payloads and signalling NaNs are kept).
  static func copyF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    #if _endian(little)
    UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count &* 4)  // can't overflow: validated size
    #else
    for i in 0..<count {
      dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)))
    }
    #endif
  }

  /// F16 (IEEE binary16) to F32, 16 lanes at a time.
  static func convertF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    #if _endian(little)
    while i &+ 16 <= count {
      let h = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD16<UInt16>.self)
      store(halfToFloat(SIMD16<UInt32>(truncatingIfNeeded: h)), dst, i)
      i &+= 16
    }
    #endif
    while i < count {
      dst[i] = loadHalf(src, i &* 2)
      i &+= 1
    }
  }

  /// BF16 to F32: the 16 bits become the top half of the binary32 (NaN payloads kept).
  static func convertBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    #if _endian(little)
    while i &+ 16 <= count {
      let h = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD16<UInt16>.self)
      store(unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD16<Float>.self), dst, i)
      i &+= 16
    }
    #endif
    while i < count {
      let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
      dst[i] = Float(bitPattern: UInt32(h) << 16)
      i &+= 1
    }
  }

  /// F64 to the nearest F32 (round to nearest even; NaN stays NaN, as numpy's `astype(float32)`).
  static func convertScalars(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _: Double.Type) {
    for i in 0..<count {
      let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
      dst[i] = Float(Double(bitPattern: bits))
    }
  }

  /// Integers to the nearest F32 (round to nearest even, as numpy's `astype(float32)`).
  static func convertScalars<T: FixedWidthInteger & BitwiseCopyable>(
    _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _: T.Type
  ) {
    let size = MemoryLayout<T>.size
    for i in 0..<count {
      dst[i] = Float(T(littleEndian: src.loadUnaligned(fromByteOffset: i &* size, as: T.self)))
    }
  }
}
