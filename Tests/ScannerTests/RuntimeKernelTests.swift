import Formats
import Testing

@testable import Scanner

/// Kernels against a naive reference written straight from FORMATS.md section 1.5 (scalar loops,
/// no SIMD), on random blocks. Tolerances: dequantization must match exactly up to float rounding of
/// `d * q + m` (1e-6 relative); dot products sum ~1000 products in a different order and with FMA, so
/// they get 1e-4 relative to the sum of |products|.
@Suite struct RuntimeKernelTests {
  static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

  /// Deterministic random bytes (SplitMix64).
  struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
  }

  static func halfBits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

  /// Random but well-formed blocks: scale fields are small finite halves, quant bytes are random.
  static func randomRow(_ type: GGMLType, elements: Int, seed: UInt64) -> [UInt8] {
    var rng = Rng(s: seed)
    let bytes = type.byteCount(elements: elements)!
    var out = [UInt8](repeating: 0, count: bytes)
    for i in 0..<bytes { out[i] = UInt8(truncatingIfNeeded: rng.next()) }
    func putHalf(_ at: Int, _ v: Float) {
      let b = halfBits(v)
      out[at] = UInt8(b & 0xFF)
      out[at + 1] = UInt8(b >> 8)
    }
    let (block, size) = type.geometry!
    for b in 0..<(elements / block) {
      let o = b * size
      switch type {
      case .f32:
        let v = rng.float()
        withUnsafeBytes(of: v.bitPattern.littleEndian) { for j in 0..<4 { out[o + j] = $0[j] } }
      case .f16: putHalf(o, rng.float())
      case .bf16:
        let bits = rng.float().bitPattern >> 16
        out[o] = UInt8(bits & 0xFF)
        out[o + 1] = UInt8(bits >> 8)
      case .q8_0, .q4_0, .q5_0: putHalf(o, rng.float() * 0.1)
      case .q4_1, .q5_1:
        putHalf(o, rng.float() * 0.1)
        putHalf(o + 2, rng.float() * 0.5)
      case .q4_K, .q5_K:
        putHalf(o, rng.float() * 0.01)
        putHalf(o + 2, rng.float() * 0.01)
      case .q6_K: putHalf(o + 208, rng.float() * 0.01)
      default: break
      }
    }
    return out
  }

  // MARK: naive reference (FORMATS.md 1.5)

  static func h(_ b: [UInt8], _ o: Int) -> Float { Float(Float16(bitPattern: UInt16(b[o]) | UInt16(b[o + 1]) << 8)) }

  static func reference(_ type: GGMLType, _ b: [UInt8], elements: Int) -> [Float] {
    var y = [Float](repeating: 0, count: elements)
    let (block, size) = type.geometry!
    for blk in 0..<(elements / block) {
      let o = blk * size
      let base = blk * block
      switch type {
      case .f32:
        y[base] = Float(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)
      case .f16: y[base] = h(b, o)
      case .bf16: y[base] = Float(bitPattern: (UInt32(b[o]) | UInt32(b[o + 1]) << 8) << 16)
      case .q8_0:
        for j in 0..<32 { y[base + j] = Float(Int8(bitPattern: b[o + 2 + j])) * h(b, o) }
      case .q4_0:
        for j in 0..<16 {
          y[base + j] = Float(Int(b[o + 2 + j] & 0x0F) - 8) * h(b, o)
          y[base + j + 16] = Float(Int(b[o + 2 + j] >> 4) - 8) * h(b, o)
        }
      case .q4_1:
        for j in 0..<16 {
          y[base + j] = Float(b[o + 4 + j] & 0x0F) * h(b, o) + h(b, o + 2)
          y[base + j + 16] = Float(b[o + 4 + j] >> 4) * h(b, o) + h(b, o + 2)
        }
      case .q5_0, .q5_1:
        let hasMin = type == .q5_1
        let ho = hasMin ? o + 4 : o + 2
        let qh = UInt32(b[ho]) | UInt32(b[ho + 1]) << 8 | UInt32(b[ho + 2]) << 16 | UInt32(b[ho + 3]) << 24
        for j in 0..<16 {
          let xh0 = ((qh >> UInt32(j)) << 4) & 0x10
          let xh1 = (qh >> UInt32(j + 12)) & 0x10
          let q0 = Int(UInt32(b[ho + 4 + j] & 0x0F) | xh0), q1 = Int(UInt32(b[ho + 4 + j] >> 4) | xh1)
          if hasMin {
            y[base + j] = Float(q0) * h(b, o) + h(b, o + 2)
            y[base + j + 16] = Float(q1) * h(b, o) + h(b, o + 2)
          } else {
            y[base + j] = Float(q0 - 16) * h(b, o)
            y[base + j + 16] = Float(q1 - 16) * h(b, o)
          }
        }
      case .q4_K, .q5_K:
        let d = h(b, o), dmin = h(b, o + 2)
        let s = Array(b[(o + 4)..<(o + 16)])
        func gsm(_ j: Int) -> (Float, Float) {
          if j < 4 { return (Float(s[j] & 63), Float(s[j + 4] & 63)) }
          return (Float((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)), Float((s[j + 4] >> 4) | ((s[j] >> 6) << 4)))
        }
        let isQ5 = type == .q5_K
        let qsOff = isQ5 ? o + 48 : o + 16
        var u1: UInt8 = 1, u2: UInt8 = 2
        var out = base
        for c in 0..<4 {
          let (sc1, m1) = gsm(2 * c), (sc2, m2) = gsm(2 * c + 1)
          for l in 0..<32 {
            let q = b[qsOff + 32 * c + l]
            let hb: Float = isQ5 && (b[o + 16 + l] & u1) != 0 ? 16 : 0
            y[out + l] = d * sc1 * (Float(q & 0xF) + hb) - dmin * m1
          }
          for l in 0..<32 {
            let q = b[qsOff + 32 * c + l]
            let hb: Float = isQ5 && (b[o + 16 + l] & u2) != 0 ? 16 : 0
            y[out + 32 + l] = d * sc2 * (Float(q >> 4) + hb) - dmin * m2
          }
          out += 64
          u1 <<= 2
          u2 <<= 2
        }
      case .q6_K:
        let d = h(b, o + 208)
        for n in 0..<2 {
          let ql = o + 64 * n, qh = o + 128 + 32 * n, sc = o + 192 + 8 * n
          for l in 0..<32 {
            let isc = l / 16
            let q1 = Int((b[ql + l] & 0xF) | ((b[qh + l] >> 0) & 3) << 4) - 32
            let q2 = Int((b[ql + l + 32] & 0xF) | ((b[qh + l] >> 2) & 3) << 4) - 32
            let q3 = Int((b[ql + l] >> 4) | ((b[qh + l] >> 4) & 3) << 4) - 32
            let q4 = Int((b[ql + l + 32] >> 4) | ((b[qh + l] >> 6) & 3) << 4) - 32
            func s(_ i: Int) -> Float { d * Float(Int8(bitPattern: b[sc + i])) }
            y[base + 128 * n + l] = s(isc) * Float(q1)
            y[base + 128 * n + l + 32] = s(isc + 2) * Float(q2)
            y[base + 128 * n + l + 64] = s(isc + 4) * Float(q3)
            y[base + 128 * n + l + 96] = s(isc + 6) * Float(q4)
          }
        }
      default: Issue.record("no reference for \(type)")
      }
    }
    return y
  }

  /// dequantizeRow reproduces the spec formulas for every supported type.
  @Test(arguments: types)
  func dequantizeRowMatchesSpecReference(type: GGMLType) {
    let n = 512
    for seed in 1...4 as ClosedRange<UInt64> {
      let row = Self.randomRow(type, elements: n, seed: seed &* 7919 &+ UInt64(type.rawValue))
      let expected = Self.reference(type, row, elements: n)
      var got = [Float](repeating: .nan, count: n)
      row.withUnsafeBytes { src in got.withUnsafeMutableBufferPointer { dequantizeRow(type, src.baseAddress!, $0.baseAddress!, n) } }
      for i in 0..<n where expected[i].isFinite {
        let tol = 1e-6 * max(1, abs(expected[i]))
        if abs(got[i] - expected[i]) > tol {
          Issue.record("\(type.name) element \(i): got \(got[i]) expected \(expected[i])")
          return
        }
      }
    }
  }

  /// The fused matrix-vector and the dequantize-then-GEMM paths agree with reference dot products.
  @Test(arguments: types)
  func matVecAndMatMatMatchReferenceDots(type: GGMLType) {
    let cols = 512, rows = 9, tokens = 5
    var file: [UInt8] = []
    var ref: [[Float]] = []
    for r in 0..<rows {
      let row = Self.randomRow(type, elements: cols, seed: UInt64(100 + r) &* 31 &+ UInt64(type.rawValue))
      ref.append(Self.reference(type, row, elements: cols))
      file += row
    }
    var rng = Rng(s: 42)
    let x = (0..<(tokens * cols)).map { _ in rng.float() }
    let w = WeightMatrix(name: "w", type: type, rows: rows, columns: cols, fileIndex: 0, byteOffset: 0, rowByteCount: file.count / rows)
    var vecOut = [Float](repeating: 0, count: rows)
    var matOut = [Float](repeating: 0, count: rows * tokens)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: gemmTileRows * cols)
    defer { scratch.deallocate() }
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: cols / 32)
    defer { sums.deallocate() }
    file.withUnsafeBytes { raw in
      var bases = [raw.baseAddress!]
      x.withUnsafeBufferPointer { xb in
        blockSums(xb.baseAddress!, cols, sums)
        vecOut.withUnsafeMutableBufferPointer { matVec(w, &bases, xb.baseAddress!, sums, $0.baseAddress!, rows: 0..<rows, scratch: scratch) }
        matOut.withUnsafeMutableBufferPointer {
          matMat(w, &bases, xb.baseAddress!, tokens: tokens, $0.baseAddress!, ldOut: rows, rows: 0..<rows, tile: scratch)
        }
      }
    }
    for t in 0..<tokens {
      for r in 0..<rows {
        var expected = 0.0, magnitude = 0.0
        for i in 0..<cols {
          let p = Double(ref[r][i]) * Double(x[t * cols + i])
          expected += p
          magnitude += abs(p)
        }
        let tol = 1e-4 * max(magnitude, 1e-3)
        #expect(abs(Double(matOut[t * rows + r]) - expected) <= tol, "\(type.name) matMat t\(t) r\(r)")
        if t == 0 {
          #expect(abs(Double(vecOut[r]) - expected) <= tol, "\(type.name) matVec r\(r): \(vecOut[r]) vs \(expected)")
        }
      }
    }
  }

  /// The thread pool runs the body once per thread and returns only after all finished.
  @Test func threadPoolRunsEveryIndexOncePerJob() {
    let pool = ThreadPool(threadCount: 3)
    defer { pool.shutdown() }
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
    defer { counts.deallocate() }
    counts.initialize(repeating: 0, count: 3)
    for _ in 0..<200 { pool.run { i in counts[i] += 1 } }
    #expect((0..<3).map { counts[$0] } == [200, 200, 200])
  }

  /// A chunked job runs every chunk exactly once (whichever thread takes it), hands each a thread index
  /// below the thread count, and returns only after all finished; the inline rule runs them all on thread 0.
  @Test func threadPoolRunsEveryChunkOncePerJob() {
    let pool = ThreadPool(threadCount: 3)
    defer { pool.shutdown() }
    let chunks = 37
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
    defer { counts.deallocate() }
    let threadOf = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
    defer { threadOf.deallocate() }
    counts.initialize(repeating: 0, count: chunks)
    var badThread = false
    for job in 0..<300 {
      let n = job % 2 == 0 ? chunks : job % chunks
      pool.run(chunks: n) { chunk, thread in
        counts[chunk] += 1
        threadOf[chunk] = thread
      }
      for c in 0..<n where threadOf[c] < 0 || threadOf[c] >= 3 { badThread = true }
    }
    let expected = (0..<chunks).map { c in (0..<300).filter { job in c < (job % 2 == 0 ? chunks : job % chunks) }.count }
    #expect((0..<chunks).map { counts[$0] } == expected)
    #expect(!badThread)
    counts.initialize(repeating: 0, count: chunks)
    pool.run(work: 1, chunks: chunks) { chunk, thread in
      counts[chunk] += 1
      if thread != 0 { badThread = true }
    }
    #expect((0..<chunks).allSatisfy { counts[$0] == 1 })
    #expect(!badThread)
  }

  /// Greedy sampling is argmax; seeded sampling is reproducible and respects top-k.
  @Test func samplerGreedyAndSeededAreDeterministic() {
    let logits: [Float] = [0.1, 2.5, -1, 2.4, 0]
    var g = Sampler.greedy
    #expect(g.sample(logits) == 1)
    var a = Sampler(temperature: 1, topK: 2, seed: 7), b = Sampler(temperature: 1, topK: 2, seed: 7)
    let sa = (0..<50).map { _ in a.sample(logits) }, sb = (0..<50).map { _ in b.sample(logits) }
    #expect(sa == sb)
    #expect(Set(sa).isSubset(of: [1, 3]))
    #expect(Set(sa).count == 2)
  }
}
