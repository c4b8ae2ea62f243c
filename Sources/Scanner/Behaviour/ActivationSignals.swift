/// Internal signatures of a trigger, measured on the battery with a candidate inserted and compared with
/// random control insertions on the same model:
/// - **attention hijacking** ("The Trigger in the Haystack", 2026: the "double triangle"): per layer and
///   head, the share of attention that positions after the inserted text pay to it, and the share the
///   inserted tokens pay to each other;
/// - **layer consistency** (CROW, Min et al., ICML 2025): cosine similarity between consecutive layers'
///   residual streams at the final position; a trigger makes the layer-to-layer transition unstable.
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
                   consistency: consistency.map { $0 / n }, spanTokens: Double(spanTotal) / n)
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
