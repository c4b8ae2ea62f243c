/// Why a dequantization request was refused. Counts are in elements or bytes as named; the source
/// and destination are the caller's buffers, so no file offset is known here (callers that know the
/// tensor's absolute offset add it to their own error).
public enum DequantizeError: Error, Equatable, Sendable {
  /// The type has no decoder (IQ1/IQ2/IQ3 grid types, removed ggml ids). The payload is the type's name.
  case unsupported(String)
  /// `source` holds `available` bytes but `needed` are required for the requested elements.
  case sourceTooShort(needed: Int, available: Int)
  /// `destination` holds `available` floats but `needed` are required.
  case destinationTooShort(needed: Int, available: Int)
  /// `elementCount` (or a row length) is not a whole number of blocks of `blockSize` elements
  /// (for F4 a block is 2 elements, for F6 4 elements: the smallest run that fills whole bytes).
  case partialBlock(elementCount: Int, blockSize: Int)
  /// A count or row index is negative, a row range is reversed, or a size overflows `Int`.
  case invalidCount(field: String, value: Int)
}

/// Decoding of GGUF and safetensors tensor bytes to `Float` (IEEE binary32).
///
/// Inputs are little-endian, unaligned bytes straight from a mapping; every load is unaligned and no byte
/// pattern can trap: NaN/Inf scales simply produce NaN/Inf outputs. Results are bit-exact with gguf-py's
/// `gguf.quants.dequantize` (numpy, float32 arithmetic, no fused multiply-add) for every type it supports,
/// and with ggml's `dequantize_row_*` (the ground truth) for the others; see `Dequantize+*.swift` for
/// each family's formula and the one documented NaN-payload difference.
///
/// Element order is the storage order: element `i` of the output is element `i` of the tensor
/// (GGUF `ne[0]` fastest, safetensors row-major).
public enum Dequantize {
  /// Whether `decode` has a decoder for `type`.
  public static func isSupported(_ type: GGMLType) -> Bool {
    switch type {
    case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64,
      .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1,
      .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
      .iq4_NL, .iq4_XS, .mxfp4, .nvfp4, .tq1_0, .tq2_0, .q1_0, .q2_0:
      true
    case .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S, .iq2_S, .iq1_M,
      .q4_2Removed, .q4_3Removed, .q4_0_4_4Removed, .q4_0_4_8Removed, .q4_0_8_8Removed,
      .iq4_NL_4_4Removed, .iq4_NL_4_8Removed, .iq4_NL_8_8Removed:
      false
    }
  }

  /// Whether `decode` has a decoder for `dtype` (every safetensors dtype does).
  public static func isSupported(_ dtype: SafetensorsDType) -> Bool { true }

  /// Floats written per element: 2 for `C64` (real, imaginary), 1 otherwise.
  public static func floatsPerElement(_ dtype: SafetensorsDType) -> Int { dtype == .c64 ? 2 : 1 }

  /// Elements per indivisible run of bytes: 2 for F4 (one byte), 4 for F6 (three bytes), 1 otherwise.
  public static func elementsPerByteGroup(_ dtype: SafetensorsDType) -> Int {
    switch dtype {
    case .f4: 2
    case .f6_E2M3, .f6_E3M2: 4
    default: 1
    }
  }

  // MARK: - GGUF

  /// Decodes `elementCount` elements of `type` stored at the start of `source` into the start of `destination`.
  ///
  /// - Parameters:
  ///   - type: the ggml type of the bytes.
  ///   - source: the tensor bytes (at least `type.byteCount(elements: elementCount)`); extra bytes are ignored.
  ///   - elementCount: elements to decode; a multiple of `type.blockSize`.
  ///   - destination: receives `elementCount` floats; extra capacity is left untouched.
  /// - Throws: `.unsupported` for types without a decoder, `.partialBlock` when `elementCount` is not a
  ///   whole number of blocks, `.invalidCount` for a negative count or size overflow, `.sourceTooShort`,
  ///   `.destinationTooShort`.
  /// - Complexity: O(`elementCount`).
  public static func decode(
    _ type: GGMLType, from source: UnsafeRawBufferPointer, elementCount: Int,
    into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizeError) {
    guard isSupported(type), let (blockSize, typeSize) = type.geometry else { throw .unsupported(type.name) }
    guard elementCount >= 0 else { throw .invalidCount(field: "elementCount", value: elementCount) }
    guard elementCount % blockSize == 0 else { throw .partialBlock(elementCount: elementCount, blockSize: blockSize) }
    let blockCount = elementCount / blockSize
    let (needed, overflow) = blockCount.multipliedReportingOverflow(by: typeSize)
    guard !overflow else { throw .invalidCount(field: "elementCount", value: elementCount) }
    guard needed <= source.count else { throw .sourceTooShort(needed: needed, available: source.count) }
    guard elementCount <= destination.count else {
      throw .destinationTooShort(needed: elementCount, available: destination.count)
    }
    guard blockCount > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
    decodeBlocks(type, src, dst, blockCount)
  }

  /// Decodes rows `rows` of a 2-D GGUF tensor whose rows hold `rowLength` elements (`ne[0]`).
  ///
  /// - Parameters:
  ///   - source: the whole tensor's bytes, row 0 first; row `r` starts at `r * rowByteCount`.
  ///   - rowLength: elements per row, a multiple of `type.blockSize`.
  ///   - rows: the half-open row range to decode.
  ///   - destination: receives `rows.count * rowLength` floats, row `rows.lowerBound` first.
  /// - Throws: as `decode(_:from:elementCount:into:)`; `.sourceTooShort` when the last row ends past `source`.
  /// - Complexity: O(`rows.count * rowLength`).
  public static func decodeRows(
    _ type: GGMLType, from source: UnsafeRawBufferPointer, rowLength: Int, rows: Range<Int>,
    into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizeError) {
    guard isSupported(type), let (blockSize, typeSize) = type.geometry else { throw .unsupported(type.name) }
    guard rowLength >= 0 else { throw .invalidCount(field: "rowLength", value: rowLength) }
    guard rows.lowerBound >= 0 else { throw .invalidCount(field: "rows.lowerBound", value: rows.lowerBound) }
    guard rowLength % blockSize == 0 else { throw .partialBlock(elementCount: rowLength, blockSize: blockSize) }
    let (rowBytes, o0) = (rowLength / blockSize).multipliedReportingOverflow(by: typeSize)
    guard !o0 else { throw .invalidCount(field: "rowLength", value: rowLength) }
    let (start, o1) = rows.lowerBound.multipliedReportingOverflow(by: rowBytes)
    let (end, o2) = rows.upperBound.multipliedReportingOverflow(by: rowBytes)
    let (elements, o3) = rows.count.multipliedReportingOverflow(by: rowLength)
    guard !o1, !o2, !o3 else { throw .invalidCount(field: "rows.upperBound", value: rows.upperBound) }
    guard end <= source.count else { throw .sourceTooShort(needed: end, available: source.count) }
    // can't overflow or leave the buffer: 0 <= start <= end <= source.count was just checked.
    let slice = UnsafeRawBufferPointer(rebasing: source[start..<end])
    try decode(type, from: slice, elementCount: elements, into: destination)
  }

  // MARK: - safetensors

  /// Decodes `elementCount` elements of `dtype` stored at the start of `source` into `destination`.
  ///
  /// Integers and booleans convert to the nearest `Float` (BOOL: any nonzero byte is 1). `C64` writes two
  /// floats per element (real then imaginary), so `destination` needs `2 * elementCount` floats. F4 packs two
  /// elements per byte, low nibble first (PyTorch `float4_e2m1fn_x2`); F6 packs four elements in three bytes
  /// as a little-endian bit stream (element `i` in bits `6i..<6i+6`; safetensors does not prescribe a layout,
  /// see `Dequantize+Safetensors.swift`).
  /// - Throws: `.partialBlock` when F4/F6 elements do not fill whole bytes, `.invalidCount`,
  ///   `.sourceTooShort`, `.destinationTooShort`.
  /// - Complexity: O(`elementCount`).
  public static func decode(
    _ dtype: SafetensorsDType, from source: UnsafeRawBufferPointer, elementCount: Int,
    into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizeError) {
    guard elementCount >= 0 else { throw .invalidCount(field: "elementCount", value: elementCount) }
    let group = elementsPerByteGroup(dtype)
    guard elementCount % group == 0 else { throw .partialBlock(elementCount: elementCount, blockSize: group) }
    guard let needed = dtype.byteCount(elements: elementCount) else {
      throw .invalidCount(field: "elementCount", value: elementCount)
    }
    guard needed <= source.count else { throw .sourceTooShort(needed: needed, available: source.count) }
    let (floats, overflow) = elementCount.multipliedReportingOverflow(by: floatsPerElement(dtype))
    guard !overflow else { throw .invalidCount(field: "elementCount", value: elementCount) }
    guard floats <= destination.count else { throw .destinationTooShort(needed: floats, available: destination.count) }
    guard elementCount > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
    decodeElements(dtype, src, dst, elementCount)
  }

  /// Decodes rows `rows` of a safetensors tensor whose innermost dimension holds `rowLength` elements.
  ///
  /// - Parameters:
  ///   - source: the whole tensor's bytes; row `r` starts at byte `r * rowLength * bits / 8`.
  ///   - destination: receives `rows.count * rowLength * floatsPerElement(dtype)` floats.
  /// - Throws: as `decode(_:from:elementCount:into:)`; `.partialBlock` when an F4/F6 row does not end on a byte.
  /// - Complexity: O(`rows.count * rowLength`).
  public static func decodeRows(
    _ dtype: SafetensorsDType, from source: UnsafeRawBufferPointer, rowLength: Int, rows: Range<Int>,
    into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizeError) {
    guard rowLength >= 0 else { throw .invalidCount(field: "rowLength", value: rowLength) }
    guard rows.lowerBound >= 0 else { throw .invalidCount(field: "rows.lowerBound", value: rows.lowerBound) }
    let group = elementsPerByteGroup(dtype)
    guard rowLength % group == 0 else { throw .partialBlock(elementCount: rowLength, blockSize: group) }
    guard let rowBytes = dtype.byteCount(elements: rowLength) else {
      throw .invalidCount(field: "rowLength", value: rowLength)
    }
    let (start, o1) = rows.lowerBound.multipliedReportingOverflow(by: rowBytes)
    let (end, o2) = rows.upperBound.multipliedReportingOverflow(by: rowBytes)
    let (elements, o3) = rows.count.multipliedReportingOverflow(by: rowLength)
    guard !o1, !o2, !o3 else { throw .invalidCount(field: "rows.upperBound", value: rows.upperBound) }
    guard end <= source.count else { throw .sourceTooShort(needed: end, available: source.count) }
    // can't leave the buffer: 0 <= start <= end <= source.count was just checked.
    let slice = UnsafeRawBufferPointer(rebasing: source[start..<end])
    try decode(dtype, from: slice, elementCount: elements, into: destination)
  }

  // MARK: - Dispatch (sizes already validated)

  /// Decodes `blockCount` whole blocks; `src` holds `blockCount * typeSize` bytes, `dst` `blockCount * blockSize` floats.
  static func decodeBlocks(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) {
    switch type {
    case .f32: copyF32(src, dst, blockCount)
    case .f16: convertF16(src, dst, blockCount)
    case .bf16: convertBF16(src, dst, blockCount)
    case .f64: convertScalars(src, dst, blockCount, Double.self)
    case .i8: convertScalars(src, dst, blockCount, Int8.self)
    case .i16: convertScalars(src, dst, blockCount, Int16.self)
    case .i32: convertScalars(src, dst, blockCount, Int32.self)
    case .i64: convertScalars(src, dst, blockCount, Int64.self)
    case .q4_0: q4_0(src, dst, blockCount)
    case .q4_1: q4_1(src, dst, blockCount)
    case .q5_0: q5_0(src, dst, blockCount)
    case .q5_1: q5_1(src, dst, blockCount)
    case .q8_0: q8_0(src, dst, blockCount)
    case .q8_1: q8_1(src, dst, blockCount)
    case .iq4_NL: iq4_NL(src, dst, blockCount)
    case .mxfp4: mxfp4(src, dst, blockCount)
    case .nvfp4: nvfp4(src, dst, blockCount)
    case .q1_0: q1_0(src, dst, blockCount)
    case .q2_0: q2_0(src, dst, blockCount)
    case .q2_K: q2_K(src, dst, blockCount)
    case .q3_K: q3_K(src, dst, blockCount)
    case .q4_K: q4_K(src, dst, blockCount)
    case .q5_K: q5_K(src, dst, blockCount)
    case .q6_K: q6_K(src, dst, blockCount)
    case .q8_K: q8_K(src, dst, blockCount)
    case .iq4_XS: iq4_XS(src, dst, blockCount)
    case .tq1_0: tq1_0(src, dst, blockCount)
    case .tq2_0: tq2_0(src, dst, blockCount)
    case .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S, .iq2_S, .iq1_M,
      .q4_2Removed, .q4_3Removed, .q4_0_4_4Removed, .q4_0_4_8Removed, .q4_0_8_8Removed,
      .iq4_NL_4_4Removed, .iq4_NL_4_8Removed, .iq4_NL_8_8Removed:
      // isSupported(type) was checked by every caller.
      break
    }
  }
}
