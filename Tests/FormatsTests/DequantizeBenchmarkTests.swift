@testable import Formats
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Throughput of `Dequantize.decode` in GB/s of source bytes, one core. Not a CI test: gated by
/// `SCAN_DEQUANT_BENCH=1`, meaningful only in a release build:
/// `SCAN_DEQUANT_BENCH=1 swift test -c release --filter DequantizeBenchmarkTests`.
/// The pattern is a scanner's stats pass: 32 MiB of blocks decoded in 64 Ki-element chunks into one
/// cache-resident buffer; the best of 5 passes is reported.
@Suite(.enabled(if: DequantFixtures.flag("SCAN_DEQUANT_BENCH"), "set SCAN_DEQUANT_BENCH=1"))
struct DequantizeBenchmarkTests {
  static let types: [GGMLType] = [
    .f16, .bf16, .f32, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
    .iq4_NL, .iq4_XS, .mxfp4, .nvfp4, .tq1_0, .tq2_0, .q1_0, .q2_0,
  ]

  /// Prints GB/s per GGUF type.
  @Test func throughputPerGGUFType() throws {
    let sourceBytes = 32 << 20
    var state: UInt64 = 12345
    let bytes = (0..<sourceBytes).map { _ -> UInt8 in
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
    var chunk = [Float](repeating: 0, count: 1 << 16)
    var report = ""
    for type in Self.types {
      let (block, size) = (type.blockSize, type.typeSize)
      let chunkBlocks = (1 << 16) / block
      let chunkBytes = chunkBlocks * size
      let chunks = sourceBytes / chunkBytes
      var best = Double.infinity
      var sink: Float = 0
      for _ in 0..<5 {
        let start = ContinuousClock.now
        try bytes.withUnsafeBytes { src in
          try chunk.withUnsafeMutableBufferPointer { dst in
            for c in 0..<chunks {
              let slice = UnsafeRawBufferPointer(rebasing: src[(c * chunkBytes)..<((c + 1) * chunkBytes)])
              try Dequantize.decode(type, from: slice, elementCount: chunkBlocks * block, into: dst)
              sink += dst[c % dst.count]
            }
          }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        best = min(best, seconds)
      }
      let gbps = Double(chunks * chunkBytes) / best / 1e9
      report += "\(type.name + String(repeating: " ", count: max(0, 7 - type.name.count))) \(String(format2(gbps))) GB/s source, \(String(format2(gbps * Double(block * 4) / Double(size)))) GB/s floats out (sink \(sink.isNaN ? 0 : 1))\n"
    }
    print(report)
  }

  private func format2(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return String(r)
  }
}
