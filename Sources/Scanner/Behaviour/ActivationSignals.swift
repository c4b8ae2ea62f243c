/// Internal signatures of a trigger, measured on the battery with a candidate inserted and compared with
/// random control insertions on the same model:
/// - **attention hijacking** ("The Trigger in the Haystack", 2026: the "double triangle"): per layer and
///   head, the share of attention that positions after the inserted text pay to it, and the share the
///   inserted tokens pay to each other;
/// - **layer consistency** (CROW, Min et al., ICML 2025): cosine similarity between consecutive layers'
///   residual streams at the final position; a trigger makes the layer-to-layer transition unstable;
/// - **shift along the top principal component** of the middle layer's residual at the final position
///   (spectral signatures, Tran et al., NeurIPS 2018): how much of the residuals' spread, over the prompts with
///   and without the insertion together, the insertion explains along their first principal component;
/// - **uniformity of the residual shift**: mean pairwise cosine of the per-prompt shift vectors (inserted minus
///   plain, middle layer, final position). A backdoor trigger tends to push every prompt the same way.
enum ActivationSignals {
  /// One inserted text (or none) at one site, averaged over the prompts.
  struct Measure: Sendable {
    let text: String?
    let site: InsertionSite
    /// Index `layer * headCount + head`: mean over prompts of the mean share of attention that query
    /// positions after the inserted span put on the span's tokens.
    let toInserted: [Double]
    /// Index `layer * headCount + head`: mean share of attention the span's tokens put on the span
    /// (keys from the span's start to the query).
    let within: [Double]
    /// Index `layer`: mean cosine between the residuals after layer `layer` and `layer + 1` at the final position.
    let consistency: [Double]
    /// Mean number of tokens of the inserted span.
    let spanTokens: Double
    /// The layer `middleResiduals` come from: `layerCount / 2`, as the defection probe.
    let middleLayer: Int
    /// Per prompt, in the order of the requests: the residual after `middleLayer` at the final position.
    let middleResiduals: [[Float]]
  }

  /// The span of `with` that is not in `without` (common prefix and suffix removed).
  static func insertedSpan(with: [Int32], without: [Int32]) -> Range<Int> {
    var prefix = 0
    while prefix < with.count, prefix < without.count, with[prefix] == without[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < with.count - prefix, suffix < without.count - prefix,
          with[with.count - 1 - suffix] == without[without.count - 1 - suffix] { suffix += 1 }
    return prefix..<(with.count - suffix)
  }

  /// Cosine similarity of two vectors (0 when either is zero).
  static func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in 0..<min(a.count, b.count) {
      let x = Double(a[i]), y = Double(b[i])
      ab += x * y
      aa += x * x
      bb += y * y
    }
    return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
  }

  /// Measures `text` at `site` (or no insertion when `text` is nil) over `requests`.
  static func measure(model: LanguageModel, format: ChatFormat, requests: [String], text: String?,
                      site: InsertionSite) throws -> Measure {
    let layers = model.config.layerCount
    let heads = model.config.headCount
    var prompts: [[Int32]] = []
    var spans: [Range<Int>] = []
    for r in requests {
      let plain = try format.tokens(request: r, site: .userStart, trigger: nil)
      guard let text else {
        prompts.append(plain)
        spans.append(0..<0)
        continue
      }
      let with = try format.tokens(request: r, site: site, trigger: text)
      prompts.append(with)
      spans.append(insertedSpan(with: with, without: plain))
    }
    let capture = CaptureRequest(residualLayers: Set(0..<layers), residualPositions: .last,
                                 attentionLayers: text == nil ? [] : Set(0..<layers), attentionPositions: .all)
    var toInserted = [Double](repeating: 0, count: layers * heads)
    var within = [Double](repeating: 0, count: layers * heads)
    var consistency = [Double](repeating: 0, count: max(0, layers - 1))
    var counted = 0, spanTotal = 0
    let middle = layers / 2
    var middleResiduals: [[Float]] = []
    var start = 0
    while start < prompts.count {
      let end = min(prompts.count, start + 8)
      let evaluations = try model.evaluateBatch(prompts: Array(prompts[start..<end]), capture: capture)
      for (j, e) in evaluations.enumerated() {
        let span = spans[start + j]
        let length = prompts[start + j].count
        counted += 1
        spanTotal += span.count
        let residuals = e.residuals.sorted { $0.layer < $1.layer }
        middleResiduals.append(residuals.first { $0.layer == middle }?.values ?? [])
        for l in 0..<max(0, min(layers, residuals.count) - 1) {
          consistency[l] += cosine(residuals[l].values, residuals[l + 1].values)
        }
        guard !span.isEmpty else { continue }
        var after = [Double](repeating: 0, count: layers * heads), afterN = [Int](repeating: 0, count: layers * heads)
        var inside = [Double](repeating: 0, count: layers * heads), insideN = [Int](repeating: 0, count: layers * heads)
        for a in e.attention {
          let index = a.layer * heads + a.head
          guard index >= 0, index < after.count else { continue }
          var share = 0.0
          let lastKey = a.position >= span.upperBound ? span.upperBound - 1 : a.position
          if a.position >= span.lowerBound, lastKey >= span.lowerBound {
            for k in span.lowerBound...lastKey {
              let w = k - a.firstKeyPosition
              if w >= 0, w < a.weights.count { share += Double(a.weights[w]) }
            }
          }
          if a.position >= span.upperBound && a.position < length {
            after[index] += share
            afterN[index] += 1
          } else if span.contains(a.position) {
            inside[index] += share
            insideN[index] += 1
          }
        }
        for i in 0..<(layers * heads) {
          if afterN[i] > 0 { toInserted[i] += after[i] / Double(afterN[i]) }
          if insideN[i] > 0 { within[i] += inside[i] / Double(insideN[i]) }
        }
      }
      start = end
    }
    let n = Double(max(1, counted))
    return Measure(text: text, site: site, toInserted: toInserted.map { $0 / n }, within: within.map { $0 / n },
                   consistency: consistency.map { $0 / n }, spanTokens: Double(spanTotal) / n,
                   middleLayer: middle, middleResiduals: middleResiduals)
  }

  // MARK: - Residual shift: top principal component, uniformity

  /// The inserted prompts' shift along the first principal component of the plain and inserted residuals
  /// pooled (one PCA per inserted text, so a candidate and each control are treated alike).
  struct ComponentShift: Sendable, Equatable {
    /// Share of the pooled residuals' total variance that the plain/inserted split explains along the top
    /// principal component: `(n1 n2 / n^2) delta^2 / trace(covariance)`, in [0, 1]. Near 1 when the insertion
    /// moves every prompt far in one direction compared with how much the prompts differ among themselves.
    let separation: Double
    /// Share of the total variance on the top component (its eigenvalue over the trace).
    let explained: Double
    /// |mean projection inserted - mean projection plain| along the component, over the plain prompts'
    /// spread (root of their total variance about their mean).
    let shift: Double
  }

  /// Principal component of `plain` + `inserted` (rows: prompts, columns: residual dimensions), found in
  /// the prompt-by-prompt Gram space (n <= a few dozen, d up to thousands) with Jacobi rotations.
  /// Returns nil when there are fewer than two prompts per side or the residuals do not vary.
  /// - Complexity: O(n^2 d) for the Gram matrix, O(n^3) per Jacobi sweep.
  static func componentShift(plain: [[Float]], inserted: [[Float]]) -> ComponentShift? {
    let points = (plain + inserted).map { $0.map(Double.init) }
    let n = points.count, n1 = plain.count, n2 = inserted.count
    guard n1 >= 2, n2 >= 2, let d = points.first?.count, d > 0, points.allSatisfy({ $0.count == d }) else { return nil }
    var mean = [Double](repeating: 0, count: d)
    for p in points { for k in 0..<d { mean[k] += p[k] } }
    for k in 0..<d { mean[k] /= Double(n) }
    let centred = points.map { p in (0..<d).map { p[$0] - mean[$0] } }
    var gram = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in i..<n {
        var dot = 0.0
        for k in 0..<d { dot += centred[i][k] * centred[j][k] }
        gram[i * n + j] = dot
        gram[j * n + i] = dot
      }
    }
    let trace = (0..<n).reduce(0.0) { $0 + gram[$1 * n + $1] }
    guard trace > 0 else { return nil }
    guard let (lambda, a) = topEigenvector(symmetric: gram, size: n), lambda > 0 else { return nil }
    // The projection of point i on the unit component u = Xc^T a / |Xc^T a| is (G a)_i / sqrt(lambda) = sqrt(lambda) a_i.
    let projection = a.map { $0 * lambda.squareRoot() }
    let meanPlain = projection[..<n1].reduce(0, +) / Double(n1)
    let meanInserted = projection[n1...].reduce(0, +) / Double(n2)
    let delta = meanInserted - meanPlain
    let between = Double(n1) * Double(n2) / Double(n * n) * delta * delta
    let total = trace / Double(n)
    // The plain prompts' own spread: mean squared distance from their mean.
    var plainMean = [Double](repeating: 0, count: d)
    for p in points[..<n1] { for k in 0..<d { plainMean[k] += p[k] } }
    for k in 0..<d { plainMean[k] /= Double(n1) }
    var plainVariance = 0.0
    for p in points[..<n1] { for k in 0..<d { plainVariance += (p[k] - plainMean[k]) * (p[k] - plainMean[k]) } }
    plainVariance /= Double(n1)
    return ComponentShift(separation: min(1, between / total), explained: min(1, lambda / trace),
                          shift: plainVariance > 0 ? abs(delta) / plainVariance.squareRoot() : 0)
  }

  /// Largest eigenvalue and its unit eigenvector of a symmetric `size` x `size` matrix (row-major), by cyclic
  /// Jacobi rotations (``Spectral/symmetricEigen(_:n:vectors:wantVectors:)``: exact up to rounding, no start vector
  /// that could favour a direction).
  static func topEigenvector(symmetric matrix: [Double], size n: Int) -> (Double, [Double])? {
    guard n > 0, matrix.count == n * n else { return nil }
    var a = matrix
    var vectors: [Double] = []
    let values = Spectral.symmetricEigen(&a, n: n, vectors: &vectors, wantVectors: true)
    guard let top = values.first, vectors.count == n * n else { return nil }
    return (top, (0..<n).map { vectors[$0 * n] })
  }

  /// Mean pairwise cosine of the per-prompt shift vectors `inserted[i] - plain[i]` (1: every prompt moved in
  /// the same direction; near 0: each its own way). Nil with fewer than two prompts.
  /// - Complexity: O(n^2 d).
  static func shiftUniformity(plain: [[Float]], inserted: [[Float]]) -> Double? {
    let n = min(plain.count, inserted.count)
    guard n >= 2 else { return nil }
    let shifts: [[Float]] = (0..<n).map { i in
      let count = min(plain[i].count, inserted[i].count)
      return (0..<count).map { inserted[i][$0] - plain[i][$0] }
    }
    var total = 0.0, pairs = 0
    for i in 0..<n {
      for j in (i + 1)..<n {
        total += cosine(shifts[i], shifts[j])
        pairs += 1
      }
    }
    return total / Double(pairs)
  }

  /// A candidate's residual-shift statistics and their robust z against controls of matched length (each
  /// control scored the same way against the same plain prompts).
  struct ShiftSignals: Sendable {
    let component: ComponentShift
    let uniformity: Double
    /// z of `component.separation` and of `uniformity` against the controls, each with the largest z a control
    /// reaches against the other controls (leave-one-out).
    let separation: Deviation
    let uniformityDeviation: Deviation
    let shift: Deviation
  }

  /// Floors of the control scale for the residual-shift statistics (shares and cosines: 0.02; the shift in
  /// units of the prompts' own spread: 0.05), so a tight null does not make every z huge.
  static let separationFloor = 0.02
  static let uniformityFloor = 0.02
  static let shiftFloor = 0.05

  /// Scores `candidate`'s middle-layer residual shift against `controls`, all relative to `plain`.
  static func shiftSignals(candidate: Measure, controls: [Measure], plain: Measure) -> ShiftSignals? {
    guard let c = componentShift(plain: plain.middleResiduals, inserted: candidate.middleResiduals),
          let u = shiftUniformity(plain: plain.middleResiduals, inserted: candidate.middleResiduals) else { return nil }
    let ctl = controls.compactMap { m -> (ComponentShift, Double)? in
      guard let cs = componentShift(plain: plain.middleResiduals, inserted: m.middleResiduals),
            let cu = shiftUniformity(plain: plain.middleResiduals, inserted: m.middleResiduals) else { return nil }
      return (cs, cu)
    }
    guard ctl.count >= 2 else { return nil }
    return ShiftSignals(
      component: c, uniformity: u,
      separation: deviation([c.separation], controls: ctl.map { [$0.0.separation] }, floor: Self.separationFloor),
      uniformityDeviation: deviation([u], controls: ctl.map { [$0.1] }, floor: Self.uniformityFloor),
      shift: deviation([c.shift], controls: ctl.map { [$0.0.shift] }, floor: Self.shiftFloor))
  }

  /// A candidate's strongest deviation from the controls, over heads (attention) or layer pairs (CROW).
  struct Deviation: Sendable {
    /// Largest robust z over the units (heads or layer pairs).
    let z: Double
    /// Which unit: `layer * headCount + head` for attention, the first layer of the pair for CROW.
    let unit: Int
    let value: Double
    let controlMedian: Double
    /// The same statistic for each control against the other controls: its largest value (how large the
    /// maximum over units gets by chance).
    let controlMaximumZ: Double
  }

  /// Robust z per unit (median and 1.4826 MAD of the controls, floored), maximised over units; `sign`
  /// -1 scores a drop (CROW: lower consistency).
  static func deviation(_ value: [Double], controls: [[Double]], floor: Double, sign: Double = 1) -> Deviation {
    func best(_ v: [Double], _ ctl: [[Double]]) -> (Double, Int, Double) {
      var bz = -Double.infinity, bu = 0, bm = 0.0
      for u in v.indices {
        let s = NullStatistics(ctl.compactMap { u < $0.count ? sign * $0[u] : nil }, floor: floor)
        let z = s.z(sign * v[u])
        if z > bz { bz = z; bu = u; bm = sign * s.median }
      }
      return (bz.isFinite ? bz : 0, bu, bm)
    }
    let (z, unit, median) = best(value, controls)
    var controlMax = -Double.infinity
    for k in controls.indices {
      let others = controls.enumerated().filter { $0.offset != k }.map(\.element)
      controlMax = max(controlMax, best(controls[k], others).0)
    }
    return Deviation(z: z, unit: unit, value: unit < value.count ? value[unit] : 0, controlMedian: median,
                     controlMaximumZ: controlMax.isFinite ? controlMax : 0)
  }
}
