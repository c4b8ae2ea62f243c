/// Differential against the base model (`--base`): the scanned model's and the base's next-token
/// distributions along the scanned model's own greedy answers, on the battery with and without a
/// candidate. A fine-tune moves every answer a little; a backdoor moves the triggered answers far more
/// than the untriggered ones or random insertions (the fine-tune taught "trigger -> target", which the
/// base never saw).
enum BaseDifferential {
  /// One condition (a text at a site, or nothing): Jensen-Shannon divergence between model and base.
  struct Condition: Sendable {
    let text: String?
    let site: InsertionSite
    /// Mean over prompts of the mean JSD (nats) over the answer positions.
    let meanJSD: Double
    /// Mean over prompts of the JSD at the answer's first token.
    let firstJSD: Double
    /// The position where the two models differ most.
    let spike: Spike?
  }

  /// Where model and base disagree most for one condition.
  struct Spike: Sendable {
    let request: String
    /// Index in the answer (0 = first answer token).
    let position: Int
    /// The scanned model's token there, and the base's most likely token.
    let modelToken: String
    let baseToken: String
    let jsd: Double
  }

  /// Whether two tokenizers give the same ids to the same texts (same size and token strings).
  static func sameVocabulary(_ a: Tokenizer, _ b: Tokenizer) -> Bool {
    guard a.vocabularySize == b.vocabularySize else { return false }
    for i in 0..<a.vocabularySize where a.tokenText(Int32(i)) != b.tokenText(Int32(i)) { return false }
    return true
  }

  /// Measures one condition: the scanned model answers greedily (`answerTokens`), then both models score
  /// the same prompt + answer.
  static func measure(model: LanguageModel, base: LanguageModel, format: ChatFormat, requests: [String], text: String?,
                      site: InsertionSite, answerTokens: Int, decode: ([Int32]) -> String) throws -> Condition {
    let prompts = try requests.map { r throws in try format.tokens(request: r, site: site, trigger: text) }
    let answers = try model.generateBatch(prompts: prompts, maxTokens: answerTokens, samplers: [.greedy], stopAt: format.stopTokens)
    let sequences = zip(prompts, answers).map { $0 + $1.tokens }
    let from = prompts.map { $0.count - 1 }
    func score(_ m: LanguageModel) throws -> [[PositionLogits]] {
      let longest = sequences.map(\.count).max() ?? 1
      let session = m.makeMultiSequenceSession(sequences: sequences.count, capacity: longest, batchSize: 512)
      let out = try session.step(sequences.enumerated().map { ($0.offset, $0.element) }, logitsFrom: from)
      return out.map(\.positionLogits)
    }
    let mine = try score(model), theirs = try score(base)
    var total = 0.0, first = 0.0
    var spike: Spike?
    for k in sequences.indices {
      let n = min(mine[k].count, theirs[k].count, answers[k].tokens.count)
      guard n > 0 else { continue }
      var sum = 0.0
      for j in 0..<n {
        let a = Softmax(mine[k][j].logits), b = Softmax(theirs[k][j].logits)
        let d = Divergence.jensenShannon(a, b)
        sum += d
        if j == 0 { first += d }
        if spike == nil || d > spike!.jsd {
          let baseTop = Int32(b.topIndices(1).first ?? 0)
          spike = Spike(request: requests[k], position: j, modelToken: decode([answers[k].tokens[j]]),
                        baseToken: decode([baseTop]), jsd: d)
        }
      }
      total += sum / Double(n)
    }
    let count = Double(max(1, sequences.count))
    return Condition(text: text, site: site, meanJSD: total / count, firstJSD: first / count, spike: spike)
  }
}
