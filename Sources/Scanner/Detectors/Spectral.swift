#if canImport(Glibc)
import Glibc
#endif

/// Singular-value summaries of weight changes (dense `dW`, or a LoRA pair `scale * B * A` through its factors):
/// the top singular values, the share of the change's energy they hold, effective rank and spectral entropy.
///
/// Dense matrices whose smaller side is at most `exactLimit` get every singular value (Gram matrix of the smaller
/// side + Jacobi); larger ones get the top `sketchWidth` by randomized subspace iteration (Halko, Martinsson,
/// Tropp 2011: range finder with one power iteration). The matrix is read only through row chunks, so a caller
/// can stream it (dequantize both sides per chunk) instead of materialising it.
enum Spectral {
  /// Sketch width of the randomized path (one `SIMD16<Float>` per row of the sketch).
  static let sketchWidth = 16
  /// Smaller side up to which the spectrum is computed exactly.
  static let exactLimit = 96

  /// The spectrum of one matrix, as far as it was computed.
  struct Summary: Sendable, Equatable {
    /// Singular values, largest first (all of them when `exact`, else the top `sketchWidth`).
    var singularValues: [Double]
    /// Squared Frobenius norm (exact in both paths).
    var energy: Double
    /// min(rows, cols): how many singular values exist.
    var fullRank: Int
    var exact: Bool

    /// Share of the energy in the top `k` singular directions.
    func topShare(_ k: Int) -> Double {
      guard energy > 0 else { return 0 }
      return min(1, singularValues.prefix(k).reduce(0) { $0 + $1 * $1 } / energy)
    }

    /// Energy spectrum p_i = s_i^2 / energy; the energy the computed values miss is spread evenly over the
    /// remaining directions (so for a sketch the entropy is an upper bound).
    private var entropy: Double {
      guard energy > 0 else { return 0 }
      var h = 0.0
      var seen = 0.0
      for s in singularValues {
        let p = s * s / energy
        seen += p
        if p > 0 { h -= p * log(p) }
      }
      let rest = fullRank - singularValues.count
      let residual = max(0, 1 - seen)
      if rest > 0 && residual > 1e-12 {
        let each = residual / Double(rest)
        h -= residual * log(each)
      }
      return h
    }

    /// exp(entropy of the energy spectrum): 1 for a rank-1 change, min(rows, cols) for a flat one.
    var effectiveRank: Double { energy > 0 ? exp(entropy) : 0 }
    /// Entropy of the energy spectrum over ln(min(rows, cols)), in [0, 1].
    var spectralEntropy: Double { fullRank > 1 ? entropy / log(Double(fullRank)) : 0 }
    /// ||M||_F^2 / s_1^2 (robust effective rank; exact in both paths).
    var stableRank: Double {
      guard let s1 = singularValues.first, s1 > 0 else { return 0 }
      return energy / (s1 * s1)
    }
  }

  /// Reads a `(rows, cols)` row-major matrix in row chunks: calls `body(rows, values)` with
  /// `values.count == rows.count * cols`, in order, covering every row once. Returns false if it could not.
  typealias RowSource = ((Range<Int>, UnsafeBufferPointer<Float>) -> Void) -> Bool

  /// The spectrum of the `(rows, cols)` matrix `source` reads.
  /// - Complexity: exact path O(rows * cols * min(rows, cols)); sketch path 4 passes of
  ///   O(rows * cols * sketchWidth), memory O((rows + cols) * sketchWidth).
  static func summary(rows m: Int, cols n: Int, seed: UInt64, source: RowSource) -> Summary? {
    guard m > 0, n > 0 else { return nil }
    if min(m, n) <= exactLimit { return exact(rows: m, cols: n, source: source) }
    return sketch(rows: m, cols: n, seed: seed, source: source)
  }

  // MARK: - Exact path

  static func exact(rows m: Int, cols n: Int, source: RowSource) -> Summary? {
    let k = min(m, n)
    var gram = [Double](repeating: 0, count: k * k)
    var energy = 0.0
    let ok: Bool
    if n <= m {
      // G = M^T M (n x n), one outer product per row.
      ok = gram.withUnsafeMutableBufferPointer { g in
        source { rows, values in
          for r in 0..<rows.count {
            let row = values.baseAddress! + r * n
            for a in 0..<n {
              let x = Double(row[a])
              if x == 0 { continue }
              energy += x * x
              for b in a..<n { g[a * n + b] += x * Double(row[b]) }
            }
          }
        }
      }
      for a in 0..<n { for b in 0..<a { gram[a * n + b] = gram[b * n + a] } }
    } else {
      // G = M M^T (m x m): needs all rows; m <= exactLimit so they fit.
      var all = [Float](repeating: 0, count: m * n)
      ok = all.withUnsafeMutableBufferPointer { dst in
        source { rows, values in
          for i in 0..<values.count { dst[rows.lowerBound * n + i] = values[i] }
        }
      }
      all.withUnsafeBufferPointer { a in
        for i in 0..<m {
          for j in i..<m {
            var s = 0.0
            for e in 0..<n { s += Double(a[i * n + e]) * Double(a[j * n + e]) }
            gram[i * m + j] = s
            gram[j * m + i] = s
          }
          energy += gram[i * m + i]
        }
      }
    }
    guard ok else { return nil }
    var vectors: [Double] = []
    let values = symmetricEigen(&gram, n: k, vectors: &vectors, wantVectors: false)
    return Summary(singularValues: values.map { max(0, $0).squareRoot() }, energy: energy, fullRank: k, exact: true)
  }

  // MARK: - Randomized path

  typealias Lane = SIMD16<Float>

  static func sketch(rows m: Int, cols n: Int, seed: UInt64, source: RowSource) -> Summary? {
    let y = UnsafeMutableBufferPointer<Lane>.allocate(capacity: m)
    let z = UnsafeMutableBufferPointer<Lane>.allocate(capacity: n)
    defer { y.deallocate(); z.deallocate() }
    var rng = SplitMix(seed: seed)
    for j in 0..<n {
      var v = Lane()
      for l in 0..<Lane.scalarCount { v[l] = Float(Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) }
      z[j] = v
    }
    var energy = 0.0
    // Y = M Z, orth; Z = M^T Y, orth; Y = M Z, orth; Z = M^T Y.
    guard multiply(source, cols: n, z, into: y, energy: &energy) else { return nil }
    orthonormalize(y)
    guard multiplyTransposed(source, cols: n, y, into: z) else { return nil }
    orthonormalize(z)
    var ignored = 0.0
    guard multiply(source, cols: n, z, into: y, energy: &ignored) else { return nil }
    orthonormalize(y)
    guard multiplyTransposed(source, cols: n, y, into: z) else { return nil }
    var g = gram(z)
    var vectors: [Double] = []
    let values = symmetricEigen(&g, n: Lane.scalarCount, vectors: &vectors, wantVectors: false)
    return Summary(singularValues: values.map { max(0, $0).squareRoot() }, energy: energy, fullRank: min(m, n), exact: false)
  }

  /// M (m, n) @ X (n, 16) -> Y (m, 16); also sums M's squared entries into `energy`.
  static func multiply(_ source: RowSource, cols n: Int, _ x: UnsafeMutableBufferPointer<Lane>,
                       into y: UnsafeMutableBufferPointer<Lane>, energy: inout Double) -> Bool {
    var e = 0.0
    let ok = source { rows, values in
      let xp = x.baseAddress!
      for r in 0..<rows.count {
        let row = values.baseAddress! + r * n
        var a0 = Lane(), a1 = Lane(), a2 = Lane(), a3 = Lane()
        var sq = SIMD4<Float>()
        var j = 0
        while j + 4 <= n {
          let v = SIMD4<Float>(row[j], row[j + 1], row[j + 2], row[j + 3])
          sq += v * v
          a0 += v[0] * xp[j]
          a1 += v[1] * xp[j + 1]
          a2 += v[2] * xp[j + 2]
          a3 += v[3] * xp[j + 3]
          j += 4
        }
        var tail = Double(sq.sum())
        while j < n {
          a0 += row[j] * xp[j]
          tail += Double(row[j]) * Double(row[j])
          j += 1
        }
        e += tail
        y[rows.lowerBound + r] = (a0 + a1) + (a2 + a3)
      }
    }
    energy += e
    return ok
  }

  /// M^T (n, m) @ Y (m, 16) -> Z (n, 16).
  static func multiplyTransposed(_ source: RowSource, cols n: Int, _ y: UnsafeMutableBufferPointer<Lane>,
                                 into z: UnsafeMutableBufferPointer<Lane>) -> Bool {
    for j in 0..<n { z[j] = Lane() }
    return source { rows, values in
      let zp = z.baseAddress!
      var r = 0
      // Two rows per sweep halve the read-modify-write traffic on Z.
      while r + 2 <= rows.count {
        let row0 = values.baseAddress! + r * n, row1 = row0 + n
        let q0 = y[rows.lowerBound + r], q1 = y[rows.lowerBound + r + 1]
        for j in 0..<n { zp[j] += row0[j] * q0 + row1[j] * q1 }
        r += 2
      }
      if r < rows.count {
        let row = values.baseAddress! + r * n
        let q = y[rows.lowerBound + r]
        for j in 0..<n { zp[j] += row[j] * q }
      }
    }
  }

  /// X^T X (16, 16) in Double.
  static func gram(_ x: UnsafeMutableBufferPointer<Lane>) -> [Double] {
    let w = Lane.scalarCount
    var acc = [Lane](repeating: Lane(), count: w)
    var out = [Double](repeating: 0, count: w * w)
    // Float partial sums over blocks of rows, flushed to Double to keep long matrices accurate.
    var i = 0
    while i < x.count {
      let end = min(x.count, i + 256)
      for k in 0..<w { acc[k] = Lane() }
      for r in i..<end {
        let v = x[r]
        for k in 0..<w { acc[k] += v[k] * v }
      }
      for a in 0..<w { for b in 0..<w { out[a * w + b] += Double(acc[a][b]) } }
      i = end
    }
    return out
  }

  /// Makes the 16 columns of `x` orthonormal (X <- X V diag(1/sqrt(lambda)) from X^T X = V diag(lambda) V^T,
  /// twice); directions with negligible energy become zero columns.
  static func orthonormalize(_ x: UnsafeMutableBufferPointer<Lane>) {
    let w = Lane.scalarCount
    for _ in 0..<2 {
      var g = gram(x)
      var v: [Double] = []
      let lambda = symmetricEigen(&g, n: w, vectors: &v, wantVectors: true)
      let top = lambda.first ?? 0
      guard top > 0 else { return }
      // W (16, 16): column k = v_k / sqrt(lambda_k); eigenvalues are sorted, vectors stored by column in sorted order.
      var wm = [Lane](repeating: Lane(), count: w)
      for a in 0..<w {
        var row = Lane()
        for k in 0..<w where lambda[k] > top * 1e-10 { row[k] = Float(v[a * w + k] / lambda[k].squareRoot()) }
        wm[a] = row
      }
      for r in 0..<x.count {
        let old = x[r]
        var nv = Lane()
        for a in 0..<w { nv += old[a] * wm[a] }
        x[r] = nv
      }
    }
  }

  // MARK: - Factored path (LoRA)

  /// The spectrum of `scale * B * A` from its factors, never forming the product: with G_A = A A^T and
  /// G_B = B^T B (both r x r), the eigenvalues of G_A^{1/2} G_B G_A^{1/2} are the squared singular values.
  /// - Parameters: `a` is (r, inputs) row-major, `b` is (outputs, r) row-major.
  /// - Complexity: O((inputs + outputs) * r^2 + r^3).
  static func summary(loraA a: [Float], loraB b: [Float], rank r: Int, inputs: Int, outputs: Int, scale: Double) -> Summary? {
    guard r > 0, a.count == r * inputs, b.count == outputs * r else { return nil }
    var ga = [Double](repeating: 0, count: r * r)
    for i in 0..<r {
      for j in i..<r {
        var s = 0.0
        for e in 0..<inputs { s += Double(a[i * inputs + e]) * Double(a[j * inputs + e]) }
        ga[i * r + j] = s
        ga[j * r + i] = s
      }
    }
    var gb = [Double](repeating: 0, count: r * r)
    for o in 0..<outputs {
      for i in 0..<r {
        let x = Double(b[o * r + i])
        if x == 0 { continue }
        for j in 0..<r { gb[i * r + j] += x * Double(b[o * r + j]) }
      }
    }
    var v: [Double] = []
    let lambda = symmetricEigen(&ga, n: r, vectors: &v, wantVectors: true)
    // S = V diag(sqrt(lambda)) V^T
    var sq = [Double](repeating: 0, count: r * r)
    for i in 0..<r {
      for j in 0..<r {
        var s = 0.0
        for k in 0..<r { s += v[i * r + k] * max(0, lambda[k]).squareRoot() * v[j * r + k] }
        sq[i * r + j] = s
      }
    }
    let m = multiply(sq, multiply(gb, sq, r), r)
    var sym = m
    for i in 0..<r { for j in 0..<r { sym[i * r + j] = 0.5 * (m[i * r + j] + m[j * r + i]) * scale * scale } }
    var energy = 0.0
    for i in 0..<r { energy += sym[i * r + i] }
    var ignored: [Double] = []
    let values = symmetricEigen(&sym, n: r, vectors: &ignored, wantVectors: false)
    return Summary(singularValues: values.map { max(0, $0).squareRoot() }, energy: max(0, energy),
                   fullRank: min(inputs, outputs), exact: true)
  }

  static func multiply(_ x: [Double], _ y: [Double], _ r: Int) -> [Double] {
    var out = [Double](repeating: 0, count: r * r)
    for i in 0..<r { for k in 0..<r where x[i * r + k] != 0 { for j in 0..<r { out[i * r + j] += x[i * r + k] * y[k * r + j] } } }
    return out
  }

  // MARK: - Symmetric eigenproblem

  /// Eigenvalues of the symmetric (n, n) row-major `a` by cyclic Jacobi rotations, largest first; `a` is
  /// destroyed. With `wantVectors`, `vectors` receives the eigenvectors as columns (row-major (n, n)) in the
  /// same order.
  /// - Complexity: O(n^3) per sweep, a handful of sweeps.
  static func symmetricEigen(_ a: inout [Double], n: Int, vectors: inout [Double], wantVectors: Bool) -> [Double] {
    precondition(a.count == n * n)
    var v = [Double](repeating: 0, count: wantVectors ? n * n : 0)
    if wantVectors { for i in 0..<n { v[i * n + i] = 1 } }
    var total = 0.0
    for x in a { total += x * x }
    if total > 0 {
      for _ in 0..<60 {
        var off = 0.0
        for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] } }
        if off <= total * 1e-26 { break }
        for p in 0..<max(0, n - 1) {
          for q in (p + 1)..<n {
            let apq = a[p * n + q]
            if apq == 0 { continue }
            let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
            let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
            let c = 1 / (t * t + 1).squareRoot()
            let s = t * c
            for k in 0..<n {
              let akp = a[k * n + p], akq = a[k * n + q]
              a[k * n + p] = c * akp - s * akq
              a[k * n + q] = s * akp + c * akq
            }
            for k in 0..<n {
              let apk = a[p * n + k], aqk = a[q * n + k]
              a[p * n + k] = c * apk - s * aqk
              a[q * n + k] = s * apk + c * aqk
            }
            if wantVectors {
              for k in 0..<n {
                let vkp = v[k * n + p], vkq = v[k * n + q]
                v[k * n + p] = c * vkp - s * vkq
                v[k * n + q] = s * vkp + c * vkq
              }
            }
          }
        }
      }
    }
    let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
    if wantVectors {
      vectors = [Double](repeating: 0, count: n * n)
      for (col, k) in order.enumerated() { for i in 0..<n { vectors[i * n + col] = v[i * n + k] } }
    }
    return order.map { a[$0 * n + $0] }
  }
}
