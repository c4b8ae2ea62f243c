// The one place that calls the dequantizer, so its API can change without touching the benchmark loop.
// Compiled only when bench-formats.sh finds `Dequantize` in Sources/Formats (it passes -DHAVE_DEQUANTIZE).
#if HAVE_DEQUANTIZE
  import Formats

  /// Dequantizes `elementCount` elements of `type` from `bytes` into the front of `out`.
  /// - Returns: false when the type has no dequantizer (the benchmark reports it and skips its bytes).
  func dequantizeForBenchmark(
    _ bytes: UnsafeRawBufferPointer, type: GGMLType, elementCount: Int, into out: UnsafeMutableBufferPointer<Float>
  ) throws -> Bool {
    guard Dequantize.isSupported(type) else { return false }
    try Dequantize.decode(type, from: bytes, elementCount: elementCount, into: out)
    return true
  }
#endif
