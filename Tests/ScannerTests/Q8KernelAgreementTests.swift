import Formats
import Testing

@testable import Scanner

/// The AVX2 integer kernels (CKernels, `Q8Kernels.c`) and the Swift kernels (GGMLDots.swift) give the same
/// bits for every Q8-partner weight type, token count and row grouping. Both are also checked against ggml's
/// own golden vectors (ActivationQuantizationTests, with whichever is active); this suite covers Q5_1, row
/// counts that are not multiples of 4, hostile weight bytes (Q8_0 quants of -128, every Q5 high bit) and
/// token counts that exercise the 8-, 4- and 1-token paths.
@Suite struct Q8KernelAgreementTests {
  struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
      s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return s >> 11
    }
    mutating func float() -> Float { Float(next() % 2_000_001) / 1_000_000 - 1 }
  }

  /// Random blocks of `type` with sane fp16 scales (and minima) and random quant bytes.
  static func weights(_ type: GGMLType, rows: Int, blocks: Int, rng: inout Rng) -> [UInt8] {
    let blockBytes = [GGMLType.q4_0: 18, .q4_1: 20, .q5_0: 22, .q5_1: 24, .q8_0: 34][type]!
    var bytes = (0..<(rows * blocks * blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    for i in 0..<(rows * blocks) {
      let d = Float16(rng.float() * 0.05).bitPattern, m = Float16(rng.float() * 0.1).bitPattern
      bytes[i * blockBytes] = UInt8(truncatingIfNeeded: d)
      bytes[i * blockBytes + 1] = UInt8(truncatingIfNeeded: d >> 8)
      if type == .q4_1 || type == .q5_1 {
        bytes[i * blockBytes + 2] = UInt8(truncatingIfNeeded: m)
        bytes[i * blockBytes + 3] = UInt8(truncatingIfNeeded: m >> 8)
      }
      if i % 5 == 0 {
        // Extremes: all Q8_0 quants -128 / every Q5 high bit set.
        let from = type == .q8_0 ? 2 : type == .q5_0 ? 2 : type == .q5_1 ? 4 : blockBytes
        for j in from..<min(blockBytes, from + (type == .q8_0 ? 32 : 4)) { bytes[i * blockBytes + j] = type == .q8_0 ? 0x80 : 0xFF }
      }
    }
    return bytes
  }

  /// Every type, 1 to 21 tokens, 7 rows split at row 3: the two kernels' products are identical.
  /// Skipped (and reported so) where the build has no C kernels or SCAN_Q8_KERNELS=swift: only the Swift path exists.
  @Test(.enabled(if: Q8Kernels.active == .c), .serialized, arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
  func cAndSwiftKernelsGiveTheSameBits(type: GGMLType) throws {
    try Self.onEveryCInstructionSet { try kernelsAgree(type: type, label: $0) }
  }

  /// Runs `body(name)` with the C kernels on each instruction set this CPU has (AVX2 always; AVX-512 VNNI on e.g.
  /// Zen 4), then restores the one chosen at load. Callers are `.serialized`: the choice is process-wide.
  static func onEveryCInstructionSet(_ body: (String) throws -> Void) rethrows {
    let chosen: Int32 = Q8Kernels.cInstructionSet == "avx2" ? 0 : 1
    defer { Q8Kernels.setCInstructionSet(chosen) }
    for isa: Int32 in [0, 1] where Q8Kernels.setCInstructionSet(isa) { try body(Q8Kernels.cInstructionSet) }
  }

  func kernelsAgree(type: GGMLType, label: String) throws {
    var rng = Rng(s: 42 &+ UInt64(type.rawValue))
    let blocks = 18, n = blocks * 32, rows = 7
    let w = Self.weights(type, rows: rows, blocks: blocks, rng: &rng)
    let rowBytes = w.count / rows
    for tokens in [1, 3, 4, 8, 12, 13, 21] {
      let x = (0..<(tokens * n)).map { i in i % 97 == 0 ? 0 : rng.float() * (i % 7 == 0 ? 30 : 1) }
      var outputs: [[Float]] = []
      for kernels in [Q8Kernels.swift, .c] {
        var q = [Float](repeating: 0, count: tokens * n)
        var meta = [Float](repeating: 0, count: Q8Meta.floats(tokens: tokens, blockCount: blocks))
        x.withUnsafeBufferPointer { xp in
          q.withUnsafeMutableBufferPointer { qp in
            meta.withUnsafeMutableBufferPointer { mp in
              for t in 0..<tokens {
                quantizeQ8Blocks(xp.baseAddress! + t * n, qp.baseAddress! + t * n, mp.baseAddress!, token: t, n, kernels: kernels)
              }
            }
          }
        }
        var out = [Float](repeating: .nan, count: tokens * rows)
        w.withUnsafeBytes { wp in
          q.withUnsafeBufferPointer { qp in
            meta.withUnsafeBufferPointer { mp in
              out.withUnsafeMutableBufferPointer { op in
                let m = Q8Meta(base: mp.baseAddress!, blockCount: blocks)
                for part in [0..<3, 3..<rows] {
                  if tokens == 1 {
                    ggmlMatMulQ8(type, wp.baseAddress!, rowBytes: rowBytes, rows: part, qp.baseAddress!, ldx: n, m, tokens: 1,
                      op.baseAddress!, ldOut: 0, kernels: kernels)
                  } else {
                    ggmlMatMulQ8(type, wp.baseAddress!, rowBytes: rowBytes, rows: part, qp.baseAddress!, ldx: n, m, tokens: tokens,
                      op.baseAddress!, ldOut: rows, kernels: kernels)
                  }
                }
              }
            }
          }
        }
        outputs.append(out)
      }
      for i in 0..<(tokens * rows) {
        #expect(outputs[0][i].bitPattern == outputs[1][i].bitPattern, "\(type.name) \(label) tokens \(tokens) output \(i): swift \(outputs[0][i]) c \(outputs[1][i])")
      }
      // Not vacuous: the products are finite and not all zero.
      #expect(outputs[1].allSatisfy { $0.isFinite } && outputs[1].contains { $0 != 0 })
    }
  }

  /// A row of a matrix-vector product (one token, the decode step) equals the same row in a 13-token
  /// product (batched == single, the property the runtime's batched evaluation relies on), C kernels.
  @Test func oneTokenEqualsItsRowInABatch() throws {
    var rng = Rng(s: 9)
    let blocks = 18, n = blocks * 32, rows = 6, tokens = 13
    let w = Self.weights(.q4_1, rows: rows, blocks: blocks, rng: &rng)
    let x = (0..<(tokens * n)).map { _ in rng.float() }
    var q = [Float](repeating: 0, count: tokens * n)
    var meta = [Float](repeating: 0, count: Q8Meta.floats(tokens: tokens, blockCount: blocks))
    x.withUnsafeBufferPointer { xp in
      q.withUnsafeMutableBufferPointer { qp in
        meta.withUnsafeMutableBufferPointer { mp in
          for t in 0..<tokens { quantizeQ8Blocks(xp.baseAddress! + t * n, qp.baseAddress! + t * n, mp.baseAddress!, token: t, n) }
        }
      }
    }
    var batched = [Float](repeating: .nan, count: tokens * rows), single = batched
    w.withUnsafeBytes { wp in
      q.withUnsafeBufferPointer { qp in
        meta.withUnsafeBufferPointer { mp in
          let m = Q8Meta(base: mp.baseAddress!, blockCount: blocks)
          batched.withUnsafeMutableBufferPointer {
            ggmlMatMulQ8(.q4_1, wp.baseAddress!, rowBytes: w.count / rows, rows: 0..<rows, qp.baseAddress!, ldx: n, m, tokens: tokens, $0.baseAddress!, ldOut: rows)
          }
          single.withUnsafeMutableBufferPointer {
            for t in 0..<tokens {
              ggmlMatMulQ8(.q4_1, wp.baseAddress!, rowBytes: w.count / rows, rows: 0..<rows, qp.baseAddress! + t * n, ldx: n, m.token(t), tokens: 1,
                $0.baseAddress! + t * rows, ldOut: 0)
            }
          }
        }
      }
    }
    #expect(batched.map(\.bitPattern) == single.map(\.bitPattern))
  }
}
