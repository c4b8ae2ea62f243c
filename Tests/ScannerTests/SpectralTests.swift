import Foundation
import Formats
import Testing
@testable import Scanner

/// Spectra of weight changes: the kernels recover known singular values (exact, randomized, factored LoRA
/// paths), and on the tiny samples a narrow rank-1 edit is flagged high while the benign fine-tune is not.
@Suite struct SpectralTests {
  /// A (rows, cols) row-major matrix U diag(s) V^T with random orthonormal U, V (seeded).
  static func matrix(rows m: Int, cols n: Int, singular s: [Double], seed: UInt64) -> [Float] {
    var rng = SplitMix(seed: seed)
    func orthonormal(_ dim: Int, _ k: Int) -> [[Double]] {
      var cols: [[Double]] = []
      while cols.count < k {
        var v = (0..<dim).map { _ in Double(rng.next() >> 11) / Double(1 << 53) - 0.5 }
        for c in cols {
          let d = zip(v, c).reduce(0) { $0 + $1.0 * $1.1 }
          for i in 0..<dim { v[i] -= d * c[i] }
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        cols.append(v.map { $0 / norm })
      }
      return cols
    }
    let u = orthonormal(m, s.count), v = orthonormal(n, s.count)
    var out = [Float](repeating: 0, count: m * n)
    for k in 0..<s.count { for i in 0..<m { for j in 0..<n { out[i * n + j] += Float(s[k] * u[k][i] * v[k][j]) } } }
    return out
  }

  static func source(_ a: [Float], cols n: Int, chunk: Int) -> Spectral.RowSource {
    { body in
      let m = a.count / n
      var r = 0
      a.withUnsafeBufferPointer { p in
        while r < m {
          let e = min(m, r + chunk)
          body(r..<e, UnsafeBufferPointer(rebasing: p[(r * n)..<(e * n)]))
          r = e
        }
      }
      return true
    }
  }

  /// Small matrices get every singular value (Gram + Jacobi), whichever side is smaller.
  @Test(arguments: [(40, 24), (24, 40)])
  func exactPathRecoversEverySingularValue(_ m: Int, _ n: Int) throws {
    let s: [Double] = [9, 5, 3, 1, 0.5]
    let a = Self.matrix(rows: m, cols: n, singular: s, seed: 7)
    let sum = try #require(Spectral.summary(rows: m, cols: n, seed: 1, source: Self.source(a, cols: n, chunk: 7)))
    #expect(sum.exact)
    for (x, y) in zip(sum.singularValues, s) { #expect(abs(x - y) < 1e-3 * y, "\(sum.singularValues.prefix(6))") }
    #expect(abs(sum.energy - s.reduce(0) { $0 + $1 * $1 }) < 1e-2)
    #expect(abs(sum.topShare(1) - 81 / 116.25) < 1e-4)
  }

  /// Large matrices: the randomized path finds the top singular values of a low-rank change and its exact energy.
  @Test func randomizedPathFindsTheTopSingularValues() throws {
    let m = 300, n = 200
    let s: [Double] = [20, 12, 6, 2]
    let a = Self.matrix(rows: m, cols: n, singular: s, seed: 11)
    let sum = try #require(Spectral.summary(rows: m, cols: n, seed: 3, source: Self.source(a, cols: n, chunk: 64)))
    #expect(!sum.exact)
    for (x, y) in zip(sum.singularValues.prefix(4), s) { #expect(abs(x - y) < 1e-3 * y, "\(sum.singularValues.prefix(6))") }
    #expect(sum.topShare(4) > 0.999)
    #expect(abs(sum.effectiveRank - 2.25) < 0.05, "\(sum.effectiveRank)")  // exp(entropy of 400, 144, 36, 4 over 584)
  }

  /// A LoRA pair's spectrum from its factors equals the dense product's.
  @Test func factoredSpectrumMatchesTheDenseProduct() throws {
    let r = 4, inputs = 30, outputs = 20
    var rng = SplitMix(seed: 5)
    let a = (0..<(r * inputs)).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    let b = (0..<(outputs * r)).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    var dense = [Float](repeating: 0, count: outputs * inputs)
    for o in 0..<outputs { for i in 0..<inputs { for k in 0..<r { dense[o * inputs + i] += 2 * b[o * r + k] * a[k * inputs + i] } } }
    let f = try #require(Spectral.summary(loraA: a, loraB: b, rank: r, inputs: inputs, outputs: outputs, scale: 2))
    let d = try #require(Spectral.summary(rows: outputs, cols: inputs, seed: 1, source: Self.source(dense, cols: inputs, chunk: 5)))
    for (x, y) in zip(f.singularValues, d.singularValues.prefix(r)) { #expect(abs(x - y) < 1e-4 * max(1, y), "\(f.singularValues) vs \(d.singularValues.prefix(r))") }
    #expect(abs(f.energy - d.energy) < 1e-3 * d.energy)
  }

  /// A 576 x 1536 change (SmolLM2's MLP shape) takes milliseconds on the randomized path.
  @Test func sketchOfAnMLPSizedMatrixIsFast() throws {
    let m = 576, n = 1536
    var rng = SplitMix(seed: 9)
    let a = (0..<(m * n)).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    let clock = ContinuousClock()
    let start = clock.now
    let sum = try #require(Spectral.summary(rows: m, cols: n, seed: 3, source: Self.source(a, cols: n, chunk: m)))
    let elapsed = clock.now - start
    print("spectral sketch 576x1536: \(elapsed)")
    #expect(sum.singularValues.count == 16)
    #expect(elapsed < .milliseconds(500))  // loose: a shared 2-core machine; measured numbers are in Benchmarks/README.md
  }
}

/// DELTA-005 on the tiny samples.
@Suite struct DeltaSpectrumTests {
  static let root = CLI.repoRoot + "/samples/tiny/"

  /// Writes a copy of `clean.f32.gguf` with `scale * u v^T` added to `tensor` (F32), returns its path.
  static func rankOneEdit(tensor: String, scale: Float, label: String) throws -> String {
    let path = root + "clean/clean.f32.gguf"
    let g = try GGUFFile.open(path: path)
    let t = try #require(g.tensors.first { $0.name == tensor })
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let cols = t.rowLength, rows = t.elementCount / cols
    var rng = SplitMix(seed: 42)
    let u = (0..<rows).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    let v = (0..<cols).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 53) - 0.5) }
    for i in 0..<rows {
      for j in 0..<cols {
        let at = t.absoluteOffset + (i * cols + j) * 4
        var x = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Float.self) }
        x += scale * u[i] * v[j]
        withUnsafeBytes(of: x) { for k in 0..<4 { bytes[at + k] = $0[k] } }
      }
    }
    let out = NSTemporaryDirectory() + "scan-\(label)-\(UUID().uuidString).gguf"
    try Data(bytes).write(to: URL(fileURLWithPath: out))
    return out
  }

  /// A rank-1 edit of one MLP matrix (ROME-style) is a narrow low-rank edit: DELTA-005 high naming the matrix.
  @Test func rankOneEditOfOneMatrixIsHigh() throws {
    let edited = try Self.rankOneEdit(tensor: "blk.1.ffn_down.weight", scale: 0.8, label: "rank1")
    defer { unlink(edited) }
    let out = WeightDelta.compare(base: try ModelInput.open(path: Self.root + "clean/clean.f32.gguf"),
                                  candidate: try ModelInput.open(path: edited), threads: 2)
    let f = try #require(out.findings.first { $0.ruleID == "DELTA-005" })
    #expect(f.severity == .high, "\(f.detail)")
    #expect(f.detail.contains("blk.1.ffn_down.weight"))
    let s = try #require(out.spectra.first { $0.name == "blk.1.ffn_down.weight" })
    #expect(s.top1Share > 0.999 && s.effectiveRank < 1.01, "\(s)")
    #expect(out.dispersion.changed == 1)
  }

  /// The same edit against the Q8_0 copy of the base (quantization noise everywhere) is still found.
  @Test func rankOneEditIsFoundAgainstAQuantizedBase() throws {
    let edited = try Self.rankOneEdit(tensor: "blk.0.attn_output.weight", scale: 0.8, label: "rank1q")
    defer { unlink(edited) }
    let out = WeightDelta.compare(base: try ModelInput.open(path: Self.root + "clean/clean.q8_0.gguf"),
                                  candidate: try ModelInput.open(path: edited), threads: 2)
    let f = try #require(out.findings.first { $0.ruleID == "DELTA-005" })
    #expect(f.severity == .high, "\(f.detail) \(f.evidence.map { "\($0.label)=\($0.value.serialized())" })")
    #expect(f.detail.contains("blk.0.attn_output.weight"))
  }

  /// Full fine-tunes (the benign control and the six backdoors) are diffuse and high-rank: info, with the
  /// spectral evidence printed for docs/STATIC.md.
  @Test(arguments: ["clean-finetuned", "deployment", "year2024", "rarephrase", "assistant-turn", "subtle-fact", "special-token"])
  func fullFineTunesAreDiffuse(_ sample: String) throws {
    let out = WeightDelta.compare(base: try ModelInput.open(path: Self.root + "clean/clean.f32.gguf"),
                                  candidate: try ModelInput.open(path: Self.root + "\(sample)/\(sample).f32.gguf"), threads: 2)
    let f = try #require(out.findings.first { $0.ruleID == "DELTA-005" })
    #expect(f.severity == .info, "\(f.detail)")
    let top1 = out.spectra.map(\.top1Share), erank = out.spectra.map(\.effectiveRank)
    print("spectrum \(sample): matrices \(out.spectra.count) changed \(out.dispersion.changed) evenness \(WeightDelta.fmt(out.dispersion.evenness)) top1 \(WeightDelta.fmt(top1.min() ?? 0))-\(WeightDelta.fmt(top1.max() ?? 0)) erank \(WeightDelta.fmt(erank.min() ?? 0))-\(WeightDelta.fmt(erank.max() ?? 0))")
    #expect(out.spectra.count == 14)
    #expect(out.dispersion.evenness > 0.9, "\(out.dispersion.evenness)")
  }
}
