import Foundation
import Formats
import Testing

@testable import Scanner

/// The K-quant kernels of llama.cpp numerics against ggml's own AVX2 code (golden vectors written through
/// ctypes by Tests/Fixtures/runtime/make_kquant_refs.py and make_quant_refs.py from llama-cpp-python
/// 0.3.36's libggml-cpu): Q8_K integer quantization, Q4_K in the repacked q4_K_8x8 gemv and gemm orders
/// (which differ from each other in the last bits), Q6_K's vec_dot.
@Suite struct KQuantDotTests {
  struct Refs {
    var n: Int
    var rows: [[Float]]
    var q4KRows: [[UInt8]]
    var gemv: [[Float]]
    var gemm: [[Float]]
  }

  static func bytes(_ hex: String) -> [UInt8] {
    let h = Array(hex.utf8)
    return stride(from: 0, to: h.count - 1, by: 2).map { UInt8(String(decoding: h[$0..<($0 + 2)], as: UTF8.self), radix: 16) ?? 0 }
  }

  static let refs: Refs? = {
    let path = CLI.repoRoot + "/Tests/Fixtures/runtime/kquant-refs.json"
    guard let data = FileManager.default.contents(atPath: path),
      let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let n = doc["n"] as? Int, let rows = doc["rows"] as? [[UInt32]], let w = doc["q4_K_rows"] as? [String],
      let gemv = doc["gemv"] as? [[UInt32]], let gemm = doc["gemm"] as? [[UInt32]]
    else { return nil }
    let f = { (r: [[UInt32]]) in r.map { $0.map { Float(bitPattern: $0) } } }
    return Refs(n: n, rows: f(rows), q4KRows: w.map(bytes), gemv: f(gemv), gemm: f(gemm))
  }()

  /// (integer quants, metadata) of `rows` as the Q8_K format llama.cpp numerics feed Q4_K/Q6_K kernels.
  static func quantize(_ rows: [[Float]], _ n: Int) -> ([Float], [Float]) {
    let ldm = Q8KMeta.floats(tokens: 1, blockCount: n / 256)
    var q = [Float](repeating: 0, count: rows.count * n)
    var meta = [Float](repeating: 0, count: rows.count * ldm)
    let flat = rows.flatMap { $0 }
    flat.withUnsafeBufferPointer { x in
      q.withUnsafeMutableBufferPointer { o in
        meta.withUnsafeMutableBufferPointer { m in
          quantizeActivations(.q8KBlocks, x.baseAddress!, o.baseAddress!, m.baseAddress!, rows: rows.count, width: n)
        }
      }
    }
    return (q, meta)
  }

  /// Q8_K integer blocks equal ggml's quantize_row_q8_K output (scale and quants, up to one sign per
  /// block, which ggml's 4-row AVX2 quantizer may also flip; stored quad-transposed per 32), and the
  /// 16- and 32-element sums are the quants'.
  @Test func q8KIntegerBlocksEqualGGML() throws {
    let refs = try #require(ActivationQuantizationTests.refs)
    let n = refs.n
    let (q, meta) = Self.quantize(refs.rows, n)
    let ldm = Q8KMeta.floats(tokens: 1, blockCount: n / 256)
    // The stored quant in the active kernels' layout (Swift: quad-transposed floats; C: int8 in element order).
    func at(_ r: Int, _ b: Int, _ j: Int) -> Float {
      // Q8_K super-block b is 32-element blocks 8b..8b+7 of the same layouts as the Q8 blocks.
      q.withUnsafeBufferPointer { storedQ8Quant($0.baseAddress! + r * n, block: b * 8 + j / 32, element: j % 32) }
    }
    for r in 0..<refs.rows.count {
      let blocks = try #require(refs.activations["q8_K"]?[r])
      for (b, block) in blocks.enumerated() {
        let m = r * ldm + b * Q8KMeta.perBlock
        let d = Float(bitPattern: block.d)
        let sign: Float = meta[m] == -d && d != 0 ? -1 : 1
        #expect(meta[m] == sign * d, "row \(r) block \(b) scale \(meta[m]) vs \(d)")
        for j in 0..<256 { #expect(at(r, b, j) == sign * Float(block.qs[j]), "row \(r) block \(b) element \(j)") }
        for g in 0..<16 {
          let s = (0..<16).reduce(Float(0)) { $0 + at(r, b, g * 16 + $1) }
          #expect(meta[m + 1 + g] == s)
        }
        for g in 0..<8 {
          let s = (0..<32).reduce(Float(0)) { $0 + at(r, b, g * 32 + $1) }
          #expect(meta[m + 17 + g] == s)
        }
      }
    }
  }

  /// Q4_K rows x Q8_K: matVec equals ggml_gemv_q4_K_8x8_q8_K bit for bit, and a 4-token matMat equals
  /// ggml_gemm_q4_K_8x8_q8_K bit for bit (the reference rows include sums past 2^24 and a negative spike).
  @Test func q4KRepackedOrdersEqualGGML() throws {
    let refs = try #require(Self.refs)
    let n = refs.n
    let rowBytes = refs.q4KRows[0].count
    let weights = refs.q4KRows.flatMap { $0 }
    let w = WeightMatrix(name: "q4_K", type: .q4_K, rows: 8, columns: n, fileIndex: 0, byteOffset: 0, rowByteCount: rowBytes)
    let (q, meta) = Self.quantize(refs.rows, n)
    let ldm = Q8KMeta.floats(tokens: 1, blockCount: n / 256)
    let tokens = refs.rows.count
    let order = [KQuantOrder](repeating: .gemm, count: tokens)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: gemmTileRows * n)
    defer { scratch.deallocate() }
    let sums = [Float](repeating: 0, count: n / 32)
    var vec = [Float](repeating: 0, count: tokens * 8)
    var mat = [Float](repeating: 0, count: tokens * 8)
    weights.withUnsafeBytes { raw in
      var bases = [raw.baseAddress!]
      q.withUnsafeBufferPointer { x in
        meta.withUnsafeBufferPointer { m in
          sums.withUnsafeBufferPointer { s in
            vec.withUnsafeMutableBufferPointer { v in
              for t in 0..<tokens {
                matVec(w, &bases, x.baseAddress! + t * n, s.baseAddress!, v.baseAddress! + t * 8, rows: 0..<8, scratch: scratch,
                  q8K: Q8KMeta(base: m.baseAddress! + t * ldm, blockCount: n / 256))
              }
            }
          }
          mat.withUnsafeMutableBufferPointer { o in
            order.withUnsafeBufferPointer { g in
              matMat(w, &bases, x.baseAddress!, tokens: tokens, o.baseAddress!, ldOut: 8, rows: 0..<8, tile: scratch,
                q8K: Q8KMeta(base: m.baseAddress!, blockCount: n / 256), kQuantOrder: g.baseAddress!, rowOrder: true)
            }
          }
        }
      }
    }
    var gemvVsGemm = 0
    for t in 0..<tokens {
      for r in 0..<8 {
        #expect(vec[t * 8 + r].bitPattern == refs.gemv[t][r].bitPattern, "gemv token \(t) row \(r): \(vec[t * 8 + r]) vs \(refs.gemv[t][r])")
        #expect(mat[t * 8 + r].bitPattern == refs.gemm[t][r].bitPattern, "gemm token \(t) row \(r): \(mat[t * 8 + r]) vs \(refs.gemm[t][r])")
        if refs.gemv[t][r] != refs.gemm[t][r] { gemvVsGemm += 1 }
      }
    }
    // The two orders really differ (else this test could not tell them apart).
    #expect(gemvVsGemm > 0)
  }

  struct MatMulRefs {
    var n: Int
    var rows: [[Float]]
    var q6KRows: [[UInt8]]
    var tiled: [[Float]]
    var vecDot: [[Float]]
  }

  static let matMulRefs: MatMulRefs? = {
    let path = CLI.repoRoot + "/Tests/Fixtures/runtime/q6k-matmul-refs.json"
    guard let data = FileManager.default.contents(atPath: path),
      let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let n = doc["n"] as? Int, let rows = doc["rows"] as? [[UInt32]], let w = doc["q6_K_rows"] as? [String],
      let tiled = doc["tiled"] as? [[UInt32]], let vec = doc["vec_dot"] as? [[UInt32]]
    else { return nil }
    let f = { (r: [[UInt32]]) in r.map { $0.map { Float(bitPattern: $0) } } }
    return MatMulRefs(n: n, rows: f(rows), q6KRows: w.map(bytes), tiled: f(tiled), vecDot: f(vec))
  }()

  /// Q6_K x Q8_K equals a real ggml matrix product (Tests/Fixtures/runtime/make_q6k_matmul_refs.py):
  /// 8 tokens in the order of ggml's tiled K-quant matmul (`KQuantOrder.tiled`), 4 tokens (and matVec)
  /// in `ggml_vec_dot_q6_K_q8_K`'s order, bit for bit; the two orders differ on these rows.
  @Test func q6KTiledAndVecDotOrdersEqualGGML() throws {
    let refs = try #require(Self.matMulRefs)
    let n = refs.n, nr = refs.q6KRows.count
    let w = WeightMatrix(name: "q6_K", type: .q6_K, rows: nr, columns: n, fileIndex: 0, byteOffset: 0, rowByteCount: refs.q6KRows[0].count)
    let weights = refs.q6KRows.flatMap { $0 }
    let (q, meta) = Self.quantize(refs.rows, n)
    let ldm = Q8KMeta.floats(tokens: 1, blockCount: n / 256)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: gemmTileRows * n)
    defer { scratch.deallocate() }
    let sums = [Float](repeating: 0, count: n / 32)
    var tiled = [Float](repeating: 0, count: 8 * nr), small = [Float](repeating: 0, count: 4 * nr), vec = [Float](repeating: 0, count: 4 * nr)
    let tiledOrder = [KQuantOrder](repeating: [.tiled], count: 8), plainOrder = [KQuantOrder](repeating: [], count: 4)
    weights.withUnsafeBytes { raw in
      var bases = [raw.baseAddress!]
      q.withUnsafeBufferPointer { x in
        meta.withUnsafeBufferPointer { m in
          let km = Q8KMeta(base: m.baseAddress!, blockCount: n / 256)
          tiledOrder.withUnsafeBufferPointer { o in
            tiled.withUnsafeMutableBufferPointer {
              matMat(w, &bases, x.baseAddress!, tokens: 8, $0.baseAddress!, ldOut: nr, rows: 0..<nr, tile: scratch, q8K: km,
                kQuantOrder: o.baseAddress!, rowOrder: true)
            }
          }
          plainOrder.withUnsafeBufferPointer { o in
            small.withUnsafeMutableBufferPointer {
              matMat(w, &bases, x.baseAddress!, tokens: 4, $0.baseAddress!, ldOut: nr, rows: 0..<nr, tile: scratch, q8K: km,
                kQuantOrder: o.baseAddress!, rowOrder: true)
            }
          }
          sums.withUnsafeBufferPointer { s in
            vec.withUnsafeMutableBufferPointer { v in
              for t in 0..<4 {
                matVec(w, &bases, x.baseAddress! + t * n, s.baseAddress!, v.baseAddress! + t * nr, rows: 0..<nr, scratch: scratch,
                  q8K: Q8KMeta(base: m.baseAddress! + t * ldm, blockCount: n / 256))
              }
            }
          }
        }
      }
    }
    var differ = 0
    for t in 0..<8 {
      for r in 0..<nr {
        #expect(tiled[t * nr + r].bitPattern == refs.tiled[t][r].bitPattern, "tiled token \(t) row \(r): \(tiled[t * nr + r]) vs \(refs.tiled[t][r])")
        if t < 4 {
          #expect(small[t * nr + r].bitPattern == refs.vecDot[t][r].bitPattern, "vec_dot token \(t) row \(r): \(small[t * nr + r]) vs \(refs.vecDot[t][r])")
          #expect(vec[t * nr + r].bitPattern == refs.vecDot[t][r].bitPattern, "matVec token \(t) row \(r)")
          if refs.tiled[t][r] != refs.vecDot[t][r] { differ += 1 }
        }
      }
    }
    #expect(differ > 0)
  }

  /// The C K-quant kernels (`scan_q4k_dot` / `scan_q6k_dot`, int8 activations) and the Swift ones give the same bits
  /// for every order (gemm/gemv, tiled/vec_dot) and token grouping: random weight bytes with sane fp16 scales, 1 to 13
  /// tokens with random per-token orders, rows split in two calls. Skipped where the build has no C kernels.
  @Test(.enabled(if: Q8Kernels.active == .c), .serialized, arguments: [GGMLType.q4_K, .q6_K])
  func cAndSwiftKQuantKernelsGiveTheSameBits(type: GGMLType) throws {
    try Q8KernelAgreementTests.onEveryCInstructionSet { try kQuantKernelsAgree(type: type, label: $0) }
  }

  func kQuantKernelsAgree(type: GGMLType, label: String) throws {
    var rng = Q8KernelAgreementTests.Rng(s: 77 &+ UInt64(type.rawValue))
    let nb = 3, n = nb * 256, rows = 6
    let blockBytes = type == .q4_K ? 144 : 210
    var w = (0..<(rows * nb * blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    for i in 0..<(rows * nb) {
      let halves = type == .q4_K ? [0, 2] : [208]
      for at in halves {
        let h = Float16(rng.float() * 0.05).bitPattern
        w[i * blockBytes + at] = UInt8(truncatingIfNeeded: h)
        w[i * blockBytes + at + 1] = UInt8(truncatingIfNeeded: h >> 8)
      }
    }
    for tokens in [1, 3, 4, 5, 8, 13] {
      let x = (0..<(tokens * n)).map { i in i % 89 == 0 ? 0 : rng.float() * (i % 5 == 0 ? 20 : 1) }
      let orders = (0..<tokens).map { _ in KQuantOrder(rawValue: UInt8(truncatingIfNeeded: rng.next() % 4)) }
      var outputs: [[Float]] = []
      for kernels in [Q8Kernels.swift, .c] {
        var q = [Float](repeating: 0, count: tokens * n)
        var meta = [Float](repeating: 0, count: Q8KMeta.floats(tokens: tokens, blockCount: nb))
        x.withUnsafeBufferPointer { xp in
          q.withUnsafeMutableBufferPointer { qp in
            meta.withUnsafeMutableBufferPointer { mp in
              for t in 0..<tokens {
                quantizeQ8KBlocks(xp.baseAddress! + t * n, qp.baseAddress! + t * n, mp.baseAddress!, token: t, n, kernels: kernels)
              }
            }
          }
        }
        var out = [Float](repeating: .nan, count: tokens * rows)
        w.withUnsafeBytes { wp in
          q.withUnsafeBufferPointer { qp in
            meta.withUnsafeBufferPointer { mp in
              orders.withUnsafeBufferPointer { op in
                out.withUnsafeMutableBufferPointer { o in
                  let m = Q8KMeta(base: mp.baseAddress!, blockCount: nb)
                  for part in [0..<2, 2..<rows] {
                    ggmlMatMulQ8K(type, wp.baseAddress!, rowBytes: nb * blockBytes, rows: part, qp.baseAddress!, ldx: n, m,
                      tokens: tokens, order: op.baseAddress!, o.baseAddress!, ldOut: rows, kernels: kernels)
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
      #expect(outputs[1].allSatisfy { $0.isFinite } && outputs[1].contains { $0 != 0 })
    }
  }
}
