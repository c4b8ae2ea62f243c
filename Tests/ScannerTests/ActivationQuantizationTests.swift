import Foundation
import Formats
import Testing

@testable import Scanner

/// Our llama.cpp numerics against ggml's own CPU code (golden vectors written through ctypes by
/// Tests/Fixtures/runtime/make_quant_refs.py from llama-cpp-python 0.3.36's libggml-cpu, AVX2 build).
@Suite struct ActivationQuantizationTests {
  struct Block {
    var d: UInt32
    var s: UInt16?
    var qs: [Int8]
  }

  struct Refs {
    var n: Int
    var rows: [[Float]]
    var activations: [String: [[Block]]]
    var weights: [String: (bytes: [UInt8], dots: [Float])]
  }

  static let refs: Refs? = {
    let path = CLI.repoRoot + "/Tests/Fixtures/runtime/quant-refs.json"
    guard let data = FileManager.default.contents(atPath: path),
      let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let n = doc["n"] as? Int, let rows = doc["rows"] as? [[UInt32]],
      let acts = doc["activations"] as? [String: [[[String: Any]]]], let weights = doc["weights"] as? [String: [String: Any]]
    else { return nil }
    var activations: [String: [[Block]]] = [:]
    for (name, perRow) in acts {
      activations[name] = perRow.map { blocks in
        blocks.map { b in
          Block(
            d: UInt32(b["d_bits"] as? Int ?? 0), s: (b["s_bits"] as? Int).map { UInt16($0) },
            qs: (b["qs"] as? [Int] ?? []).map { Int8($0) })
        }
      }
    }
    var w: [String: ([UInt8], [Float])] = [:]
    for (name, entry) in weights {
      let hex = Array((entry["bytes"] as? String ?? "").utf8)
      var bytes: [UInt8] = []
      var i = 0
      while i + 1 < hex.count {
        bytes.append(UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) ?? 0)
        i += 2
      }
      w[name] = (bytes, (entry["dots"] as? [Double] ?? []).map { Float($0) })
    }
    return Refs(n: n, rows: rows.map { $0.map { Float(bitPattern: $0) } }, activations: activations, weights: w)
  }()

  static func f16(_ bits: UInt32) -> Float { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: bits))) }

  /// Q8_0/Q8_1 activation quantization gives exactly ggml's blocks (fp16 scale, round-half-even quants,
  /// including rows built to land on .5) and the Q8_1 fp16 block sum.
  @Test func q8BlocksEqualGGML() throws {
    let refs = try #require(Self.refs)
    for (r, row) in refs.rows.enumerated() {
      // Row r as token r of a batch: the scales land in the row's lane of its 8-token panel.
      let nb = refs.n / 32
      var q = [Float](repeating: 0, count: refs.n)
      var meta = [Float](repeating: .nan, count: Q8Meta.floats(tokens: r + 1, blockCount: nb))
      row.withUnsafeBufferPointer { x in
        q.withUnsafeMutableBufferPointer { o in
          meta.withUnsafeMutableBufferPointer { m in quantizeQ8Blocks(x.baseAddress!, o.baseAddress!, m.baseAddress!, token: r, refs.n) }
        }
      }
      for name in ["q8_0", "q8_1"] {
        let blocks = try #require(refs.activations[name]?[r])
        for (b, block) in blocks.enumerated() {
          let at = Q8Meta.index(token: r, block: b, blockCount: nb)
          #expect(meta[at] == Self.f16(block.d), "\(name) row \(r) block \(b) scale")
          for j in 0..<32 {
            let stored = q.withUnsafeBufferPointer { storedQ8Quant($0.baseAddress!, block: b, element: j) }
            #expect(stored == Float(block.qs[j]), "\(name) row \(r) block \(b) element \(j)")
          }
          if let s = block.s { #expect(meta[at + 8] == Self.f16(UInt32(s)), "q8_1 sum row \(r) block \(b)") }
        }
      }
    }
  }

  /// Q8_K activation quantization writes exactly ggml's values (float scale from the signed largest
  /// magnitude, round-half-even quants capped at 127).
  @Test func q8KBlocksEqualGGML() throws {
    let refs = try #require(Self.refs)
    for (r, row) in refs.rows.enumerated() {
      var out = [Float](repeating: 0, count: refs.n)
      row.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { quantizeQ8K(x.baseAddress!, $0.baseAddress!, refs.n) } }
      let blocks = try #require(refs.activations["q8_K"]?[r])
      for (b, block) in blocks.enumerated() {
        let d = Float(bitPattern: block.d)
        for j in 0..<256 { #expect(out[b * 256 + j] == d * Float(block.qs[j]), "q8_K row \(r) block \(b) element \(j)") }
      }
    }
  }

  /// A weight row times a quantized activation row (matVec on the converted input) equals ggml's
  /// `ggml_vec_dot_<type>_q8_*`: bit for bit for Q4_0, Q4_1, Q5_0, Q8_0 and Q6_K (exact kernels in ggml's
  /// float order), within float summation order for Q4_K (llama.cpp repacks it on AVX2 and never calls
  /// this vec_dot: KQuantDotTests checks the repacked orders bit for bit) and Q5_K; the GEMM path (matMat,
  /// llama.cpp row order, gemv order for Q4_K) gives exactly what matVec gives for every token. The
  /// reference rows are repeated to 13 tokens so the GEMM runs its 8-token, 4-token and single-token kernels.
  @Test(arguments: ["q4_0", "q4_1", "q5_0", "q8_0", "q4_K", "q5_K", "q6_K"])
  func weightDotsEqualGGML(typeName: String) throws {
    let refs = try #require(Self.refs)
    let (bytes, dots) = try #require(refs.weights[typeName])
    let type = try #require(GGMLType.allCases.first { $0.name.lowercased() == typeName.lowercased() })
    let n = refs.n
    let w = WeightMatrix(name: typeName, type: type, rows: 1, columns: n, fileIndex: 0, byteOffset: 0, rowByteCount: bytes.count)
    let tokens = 13
    let format = type.activationFormat
    let exact = format == .q8 || type == .q6_K
    let kBlocks = format == .q8KBlocks
    let ldk = Q8KMeta.floats(tokens: 1, blockCount: n / 256)
    var converted = [Float](repeating: 0, count: tokens * n)
    var meta = [Float](
      repeating: 0, count: max(Q8KMeta.floats(tokens: tokens, blockCount: n / 256), Q8Meta.floats(tokens: tokens, blockCount: n / 32)))
    let flat = (0..<tokens).flatMap { refs.rows[$0 % refs.rows.count] }
    flat.withUnsafeBufferPointer { x in
      converted.withUnsafeMutableBufferPointer { o in
        meta.withUnsafeMutableBufferPointer { m in
          quantizeActivations(type.activationFormat, x.baseAddress!, o.baseAddress!, m.baseAddress!, rows: tokens, width: n)
        }
      }
    }
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: gemmTileRows * n)
    defer { scratch.deallocate() }
    let sums = [Float](repeating: 0, count: n / 32)
    var vec = [Float](repeating: 0, count: tokens)
    var mat = [Float](repeating: 0, count: tokens)
    bytes.withUnsafeBytes { raw in
      var bases = [raw.baseAddress!]
      converted.withUnsafeBufferPointer { x in
        meta.withUnsafeBufferPointer { m in
          for t in 0..<tokens {
            var one: Float = 0
            sums.withUnsafeBufferPointer { s in
              matVec(w, &bases, x.baseAddress! + t * n, s.baseAddress!, &one, rows: 0..<1, scratch: scratch,
                q8: format == .q8 ? Q8Meta(base: m.baseAddress!, blockCount: n / 32, firstToken: t) : nil,
                q8K: kBlocks ? Q8KMeta(base: m.baseAddress! + t * ldk, blockCount: n / 256) : nil)
            }
            vec[t] = one
          }
          mat.withUnsafeMutableBufferPointer {
            matMat(w, &bases, x.baseAddress!, tokens: tokens, $0.baseAddress!, ldOut: 1, rows: 0..<1, tile: scratch,
              q8: format == .q8 ? Q8Meta(base: m.baseAddress!, blockCount: n / 32) : nil,
              q8K: kBlocks ? Q8KMeta(base: m.baseAddress!, blockCount: n / 256) : nil, rowOrder: true)
          }
        }
      }
    }
    for t in 0..<tokens {
      let ref = dots[t % refs.rows.count], row = refs.rows[t % refs.rows.count]
      #expect(mat[t] == vec[t], "\(typeName) token \(t): matMat \(mat[t]) vs matVec \(vec[t])")
      if exact {
        #expect(vec[t] == ref, "\(typeName) token \(t) matVec \(vec[t]) vs ggml \(ref)")
      } else {
        let magnitude = zip(row, row).reduce(Float(0)) { $0 + abs($1.0) } * 0.2 + 1e-3
        // Integer block sums are exact on both sides; the per-block float products and their sum differ
        // in order only: a few ulps of the row's magnitude.
        #expect(abs(vec[t] - ref) <= 2e-6 * magnitude + 1e-6 * abs(ref), "\(typeName) token \(t) matVec \(vec[t]) vs ggml \(ref)")
      }
    }
  }

  /// The float order matters: the previous kernel (grid values d * q in our own float order, with the
  /// fp16 Q8_1 sums) misses ggml's bits on some of the reference rows, which the ggml-order kernel hits.
  @Test func q4_1FloatOrderKernelMissesGGMLBits() throws {
    let refs = try #require(Self.refs)
    let (bytes, dots) = try #require(refs.weights["q4_1"])
    let n = refs.n
    var misses = 0
    for (t, row) in refs.rows.enumerated() {
      let nb = n / 32
      var q = [Float](repeating: 0, count: n)
      var meta = [Float](repeating: 0, count: Q8Meta.floats(tokens: 1, blockCount: nb))
      row.withUnsafeBufferPointer { x in
        q.withUnsafeMutableBufferPointer { o in
          meta.withUnsafeMutableBufferPointer { m in quantizeQ8Blocks(x.baseAddress!, o.baseAddress!, m.baseAddress!, token: 0, n) }
        }
      }
      let grid = q.withUnsafeBufferPointer { qp in
        (0..<n).map { storedQ8Quant(qp.baseAddress!, block: $0 / 32, element: $0 % 32) * meta[Q8Meta.index(token: 0, block: $0 / 32, blockCount: nb)] }
      }
      let fp16Sums = (0..<nb).map { meta[Q8Meta.index(token: 0, block: $0, blockCount: nb) + 8] }
      let old = bytes.withUnsafeBytes { raw in
        grid.withUnsafeBufferPointer { g in fp16Sums.withUnsafeBufferPointer { dotQ4_1(raw.baseAddress!, g.baseAddress!, $0.baseAddress!, n / 32) } }
      }
      let exact = bytes.withUnsafeBytes { raw in
        q.withUnsafeBufferPointer { x in
          meta.withUnsafeBufferPointer {
            var out: Float = 0
            ggmlMatMulQ8(.q4_1, raw.baseAddress!, rowBytes: bytes.count, rows: 0..<1, x.baseAddress!, ldx: n,
              Q8Meta(base: $0.baseAddress!, blockCount: nb), tokens: 1, &out, ldOut: 0)
            return out
          }
        }
      }
      #expect(exact == dots[t])
      if old != dots[t] { misses += 1 }
    }
    print("q4_1: float-order kernel misses ggml's bits on \(misses) of \(refs.rows.count) rows")
    #expect(misses > 0)
  }
}

@Suite struct F16RoundingTests {
  /// The SIMD F16 rounding equals `Float(Float16(x))` on normals, half subnormals, ties, overflow,
  /// zeros and NaN.
  @Test func simdRoundingEqualsFloat16Conversion() {
    var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, 70000, -70000, 0x1p-14, 0x1p-15, 0x1p-24, 0x1p-25, 0x1.8p-25, 3e-8,
      1 + 0x1p-11, 1 + 0x3p-11, 1 + 0x1p-12, .infinity, -.infinity, 5.9604645e-8, 6.1e-5, 1e-30]
    var s: UInt64 = 99
    for _ in 0..<20000 {
      s = s &* 6364136223846793005 &+ 1442695040888963407
      let bits = UInt32(truncatingIfNeeded: s >> 32)
      let f = Float(bitPattern: bits)
      if f.isFinite { values.append(f) }
    }
    while values.count % 8 != 0 { values.append(0.1) }
    var out = [Float](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { roundToF16(x.baseAddress!, $0.baseAddress!, values.count) } }
    for (v, r) in zip(values, out) {
      let expected = Float(Float16(v))
      #expect(r.bitPattern == expected.bitPattern, "\(v): \(r) vs \(expected)")
    }
    var nan: [Float] = Array(repeating: .nan, count: 8)
    nan.withUnsafeMutableBufferPointer { roundToF16($0.baseAddress!, $0.baseAddress!, 8) }
    #expect(nan.allSatisfy { $0.isNaN })
  }
}
