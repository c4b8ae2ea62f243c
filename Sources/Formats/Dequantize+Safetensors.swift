// safetensors element types (tensor.rs `enum Dtype`). The plain IEEE and integer types share the GGUF kernels;
// the 8/6/4-bit floats are decoded through tables built here from their definitions, checked exhaustively
// against ml_dtypes 0.6 (every code) in the tests:
//
// | dtype        | ml_dtypes        | exp/man | bias | special values                                  |
// |--------------|------------------|---------|------|-------------------------------------------------|
// | F8_E4M3      | float8_e4m3fn    | 4/3     | 7    | S.1111.111 = NaN; no Inf; max 448               |
// | F8_E5M2      | float8_e5m2      | 5/2     | 15   | IEEE: exp 31 is Inf (m = 0) or NaN              |
// | F8_E8M0      | float8_e8m0fnu   | 8/0     | 127  | unsigned, 0xFF = NaN, 0x00 = 2^-127             |
// | F8_E4M3FNUZ  | float8_e4m3fnuz  | 4/3     | 8    | 0x80 = NaN (no -0); no Inf                      |
// | F8_E5M2FNUZ  | float8_e5m2fnuz  | 5/2     | 16   | 0x80 = NaN (no -0); no Inf                      |
// | F6_E2M3      | float6_e2m3fn    | 2/3     | 1    | none; max 7.5                                   |
// | F6_E3M2      | float6_e3m2fn    | 3/2     | 3    | none; max 28                                    |
// | F4 (E2M1)    | float4_e2m1fn    | 2/1     | 1    | none; values 0, .5, 1, 1.5, 2, 3, 4, 6          |
//
// NaNs decode to ml_dtypes' canonical quiet NaN with the code's sign (`0x7FC00000`, or `0xFFC00000` for the
// FNUZ NaN 0x80 and negative-signed codes).
//
// Packing (safetensors itself only states the bit width; `nelements * bits % 8 == 0` is required):
// - F4: two elements per byte, element 2k in the LOW nibble of byte k, element 2k+1 in the high nibble.
//   This is PyTorch's `float4_e2m1fn_x2` (the dtype safetensors maps F4 to; pytorch test_matmul_cuda.py
//   packs `x[1::2] << 4 | x[::2]`). Note ggml's MXFP4 blocks use a different, half-split order.
// - F6: no framework has a packed 6-bit dtype; we read a little-endian bit stream, the same convention as
//   F4: element i occupies bits 6i..<6i+6, counting from bit 0 of byte 0 (so 4 elements in 3 bytes:
//   e0 = b0 & 63, e1 = b0 >> 6 | (b1 & 15) << 2, e2 = b1 >> 4 | (b2 & 3) << 4, e3 = b2 >> 2).

extension Dequantize {
  /// Decodes a sign/exponent/mantissa code with no special values (IEEE-style subnormals at exponent 0).
  static func miniFloat(_ code: UInt32, exponentBits: Int, mantissaBits: Int, bias: Int) -> Float {
    let mantissa = code & ((1 << mantissaBits) - 1)
    let exponent = Int((code >> mantissaBits) & ((1 << exponentBits) - 1))
    let negative = (code >> (exponentBits + mantissaBits)) & 1 == 1
    let magnitude: Float =
      exponent == 0
      ? Float(mantissa) * Float(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1)
      : (1 + Float(mantissa) * Float(sign: .plus, exponent: -mantissaBits, significand: 1))
        * Float(sign: .plus, exponent: exponent - bias, significand: 1)
    return negative ? -magnitude : magnitude
  }

  static let canonicalNaN = Float(bitPattern: 0x7FC0_0000)
  static let negativeNaN = Float(bitPattern: 0xFFC0_0000)

  /// Value of each of the 256 codes of an 8-bit float dtype (nil for other dtypes).
  static func byteTable(_ dtype: SafetensorsDType) -> [Float]? {
    let codes = (0...255).map { UInt32($0) }
    switch dtype {
    case .f8_E4M3:
      return codes.map { c in
        c & 0x7F == 0x7F ? (c & 0x80 != 0 ? negativeNaN : canonicalNaN) : miniFloat(c, exponentBits: 4, mantissaBits: 3, bias: 7)
      }
    case .f8_E5M2:
      return codes.map { c in
        guard (c >> 2) & 0x1F == 0x1F else { return miniFloat(c, exponentBits: 5, mantissaBits: 2, bias: 15) }
        let negative = c & 0x80 != 0
        if c & 3 == 0 { return negative ? -.infinity : .infinity }
        return negative ? negativeNaN : canonicalNaN
      }
    case .f8_E8M0:
      return codes.map { c in c == 0xFF ? canonicalNaN : Float(sign: .plus, exponent: Int(c) - 127, significand: 1) }
    case .f8_E4M3FNUZ:
      return codes.map { c in c == 0x80 ? negativeNaN : miniFloat(c, exponentBits: 4, mantissaBits: 3, bias: 8) }
    case .f8_E5M2FNUZ:
      return codes.map { c in c == 0x80 ? negativeNaN : miniFloat(c, exponentBits: 5, mantissaBits: 2, bias: 16) }
    default:
      return nil
    }
  }

  static let f8E4M3Table = byteTable(.f8_E4M3) ?? []
  static let f8E5M2Table = byteTable(.f8_E5M2) ?? []
  static let f8E8M0Table = byteTable(.f8_E8M0) ?? []
  static let f8E4M3FNUZTable = byteTable(.f8_E4M3FNUZ) ?? []
  static let f8E5M2FNUZTable = byteTable(.f8_E5M2FNUZ) ?? []
  static let f6E2M3Table = (0..<64).map { miniFloat(UInt32($0), exponentBits: 2, mantissaBits: 3, bias: 1) }
  static let f6E3M2Table = (0..<64).map { miniFloat(UInt32($0), exponentBits: 3, mantissaBits: 2, bias: 3) }
  static let f4E2M1Table = (0..<16).map { miniFloat(UInt32($0), exponentBits: 2, mantissaBits: 1, bias: 1) }

  /// Decodes `count` validated elements (`src` and `dst` sized by the caller).
  static func decodeElements(_ dtype: SafetensorsDType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    switch dtype {
    case .bool:
      for i in 0..<count { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) == 0 ? 0 : 1 }
    case .u8: convertScalars(src, dst, count, UInt8.self)
    case .i8: convertScalars(src, dst, count, Int8.self)
    case .u16: convertScalars(src, dst, count, UInt16.self)
    case .i16: convertScalars(src, dst, count, Int16.self)
    case .u32: convertScalars(src, dst, count, UInt32.self)
    case .i32: convertScalars(src, dst, count, Int32.self)
    case .u64: convertScalars(src, dst, count, UInt64.self)
    case .i64: convertScalars(src, dst, count, Int64.self)
    case .f16: convertF16(src, dst, count)
    case .bf16: convertBF16(src, dst, count)
    case .f32: copyF32(src, dst, count)
    case .f64: convertScalars(src, dst, count, Double.self)
    case .c64: copyF32(src, dst, count &* 2)  // can't overflow: the caller checked 2 * count
    case .f8_E4M3: lookupBytes(f8E4M3Table, src, dst, count)
    case .f8_E5M2: lookupBytes(f8E5M2Table, src, dst, count)
    case .f8_E8M0: lookupBytes(f8E8M0Table, src, dst, count)
    case .f8_E4M3FNUZ: lookupBytes(f8E4M3FNUZTable, src, dst, count)
    case .f8_E5M2FNUZ: lookupBytes(f8E5M2FNUZTable, src, dst, count)
    case .f4: unpackF4(src, dst, count)
    case .f6_E2M3: unpackF6(f6E2M3Table, src, dst, count)
    case .f6_E3M2: unpackF6(f6E3M2Table, src, dst, count)
    }
  }

  static func lookupBytes(_ table: [Float], _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    table.withUnsafeBufferPointer { t in
      guard t.count == 256, let t = t.baseAddress else { return }
      for i in 0..<count { dst[i] = t[Int(src.load(fromByteOffset: i, as: UInt8.self))] }  // index < 256
    }
  }

  static func unpackF4(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    f4E2M1Table.withUnsafeBufferPointer { t in
      guard t.count == 16, let t = t.baseAddress else { return }
      for k in 0..<(count / 2) {
        let byte = src.load(fromByteOffset: k, as: UInt8.self)
        dst[2 &* k] = t[Int(byte & 0x0F)]
        dst[2 &* k &+ 1] = t[Int(byte >> 4)]
      }
    }
  }

  static func unpackF6(_ table: [Float], _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    table.withUnsafeBufferPointer { t in
      guard t.count == 64, let t = t.baseAddress else { return }
      for g in 0..<(count / 4) {
        let p = src + 3 &* g
        let bits = UInt32(p.load(as: UInt8.self)) | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 8
          | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 16
        for e in 0..<4 { dst[4 &* g &+ e] = t[Int((bits >> UInt32(6 &* e)) & 63)] }
      }
    }
  }
}
