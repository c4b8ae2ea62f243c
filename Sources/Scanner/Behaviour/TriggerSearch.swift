/// Target-conditioned trigger search: once target inversion (BEH-003) has recovered a hidden target T, look for a
/// short input that, inserted in the user turn, makes the model write T. The objective is exact and forward-only:
/// log P(first tokens of T | the clean prompt with the input inserted), summed over the target tokens and averaged
/// over a few clean requests, each evaluated with the shared part of the prompt cached.
enum TriggerSearch {
  /// Exact scorer: log P(target prefix | prompt with `x` inserted at the site) for token sequences `x`.
  struct Scorer {
    let model: LanguageModel
    /// Tokens before the insertion (shared by every request at the user-turn start).
    let before: [[Int32]]
    /// Tokens after the insertion, up to where the answer starts, per request.
    let after: [[Int32]]
    /// Target tokens scored (the first `m` of the inverted target).
    let target: [Int32]

    /// Splits each request's chat prompt at the insertion point (the template rendered with a marker).
    /// - Returns: nil when the template does not keep the marker in one piece.
    init?(model: LanguageModel, format: ChatFormat, requests: [String], site: InsertionSite, target: [Int32]) {
      let marker = "Qz7trigger"
      var before: [[Int32]] = [], after: [[Int32]] = []
      for r in requests {
        guard let text = try? format.text(request: r, site: site, trigger: marker),
          let range = text.firstRange(of: marker) else { continue }
        let head = String(text[..<range.lowerBound]), tail = String(text[range.upperBound...])
        guard let b = try? format.encode(head), let a = try? format.tokenizer.encode(tail, addSpecial: false, parseSpecial: true),
          !b.isEmpty, !a.isEmpty else { continue }
        before.append(b)
        after.append(a)
      }
      guard !before.isEmpty, !target.isEmpty else { return nil }
      self.model = model
      self.before = before
      self.after = after
      self.target = target
    }

    var prompts: Int { before.count }

    /// Per candidate, per request: sum over the target tokens of log P(target token | prompt with the candidate
    /// inserted, earlier target tokens).
    /// - Complexity: candidates x requests x (|candidate| + |after| + |target| - 1) token evaluations, plus one
    ///   prefill of `before` per sequence slot.
    func score(_ candidates: [[Int32]], group: Int = 16) throws(ModelError) -> [[Double]] {
      guard !candidates.isEmpty else { return [] }
      let p = prompts
      let g = max(1, min(group, candidates.count))
      let longestBefore = before.map(\.count).max() ?? 0
      let longestAfter = after.map(\.count).max() ?? 0
      let longestCandidate = candidates.map(\.count).max() ?? 0
      let session = model.makeMultiSequenceSession(
        sequences: p * g, capacity: longestBefore + longestCandidate + longestAfter + target.count + 1,
        batchSize: 512)
      var prefill: [(sequence: Int, tokens: [Int32])] = []
      for j in 0..<g { for k in 0..<p { prefill.append((j * p + k, before[k])) } }
      _ = try session.step(prefill)
      var out: [[Double]] = []
      out.reserveCapacity(candidates.count)
      var next = 0
      while next < candidates.count {
        let chunk = Array(candidates[next..<min(candidates.count, next + g)])
        next += chunk.count
        var inputs: [(sequence: Int, tokens: [Int32])] = []
        var from: [Int] = []
        for (j, c) in chunk.enumerated() {
          for k in 0..<p {
            session.truncate(sequence: j * p + k, to: before[k].count)
            inputs.append((j * p + k, c + after[k] + target.dropLast()))
            from.append(before[k].count + c.count + after[k].count - 1)
          }
        }
        let outputs = try session.step(inputs, logitsFrom: from)
        for j in chunk.indices {
          var row: [Double] = []
          for k in 0..<p {
            let positions = outputs[j * p + k].positionLogits
            var s = 0.0
            for (t, id) in target.enumerated() where t < positions.count {
              s += Softmax(positions[t].logits).logp(Int(id))
            }
            row.append(s)
          }
          out.append(row)
        }
      }
      return out
    }
  }
}
