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
      // Each request's part before the insertion is evaluated once and copied into the other slots.
      _ = try session.prefill(before)
      for j in 1..<g { for k in 0..<p { session.copyPrefix(from: k, to: j * p + k, length: before[k].count) } }
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

  /// Search settings (quick defaults; docs/BEHAVIOUR.md "Target-conditioned trigger search").
  struct Settings: Sendable {
    /// Target tokens scored (the variable start of the target; later tokens lock in once it is written).
    var targetTokens = 4
    /// Clean requests the objective is averaged over: those where the target is least likely without insertion.
    var prompts = 1
    /// Requests examined to pick them.
    var candidatePrompts = 4
    /// Random single tokens scored first (the scan sets it from `BehaviourBudget.searchPool`).
    var pool = 48
    /// Sequences kept per round, and best single tokens used to extend them (appended or prepended).
    var beam = 2
    var extend = 4
    /// Extension rounds (so at most 1 + rounds tokens); the first `minimumRounds` run whatever the work limit says
    /// (single tokens rarely fire a fuzzy backdoor on their own: measured on r-phrase, pairs do).
    var rounds = 2
    var minimumRounds = 1
    /// Stop once the mean probability of the target prefix reaches this.
    var goal = 0.9
    var seed: UInt64 = 0x7A29
  }

  /// A searched input and its objective.
  struct Found: Sendable {
    let tokens: [Int32]
    let text: String
    /// Mean over the search requests of log P(target prefix) with the input inserted, and without any insertion.
    let logP: Double
    let baseLogP: Double
  }

  struct Outcome: Sendable {
    /// Best first.
    let found: [Found]
    let evaluations: Int
    let requests: [String]
    let seconds: Double
  }

  /// Whether a token may be part of a searched trigger: not a stop/control/unused token, has a letter, and is not a
  /// word of the target itself (inserting "curl" makes a model talk about curl: an echo, not a trigger).
  static func usable(_ id: Int32, tokenizer: Tokenizer, stopTokens: Set<Int32>, targetText: String) -> Bool {
    let i = Int(id)
    guard !stopTokens.contains(id) else { return false }
    if i < tokenizer.attributes.count {
      let a = tokenizer.attributes[i]
      if a.contains(.control) || a.contains(.unused) || a.contains(.userDefined) { return false }
    }
    guard let t = try? tokenizer.decodeText([id], renderSpecial: false) else { return false }
    let core = t.trimmingWhitespace().lowercased()
    guard core.contains(where: \.isLetter), !core.contains("\u{FFFD}") else { return false }
    return core.count < 3 || !targetText.lowercased().contains(core)
  }

  /// Greedy beam search over short token sequences inserted at `site`: random single tokens first, then the best
  /// ones extended by the best singles (appended or prepended), maximising the mean log P(target prefix) over the
  /// requests where the target is least likely unprompted. Forward passes only.
  static func search(model: LanguageModel, format: ChatFormat, requests: [String], site: InsertionSite, target: [Int32],
                     settings: Settings, workLimit: Int,
                     decode: ([Int32]) -> String) throws(ModelError) -> Outcome? {
    let clock = ContinuousClock()
    let start = clock.now
    let prefix = Array(target.prefix(max(1, settings.targetTokens)))
    // Pick the requests where the target is least likely without any insertion.
    let examined = Array(requests.prefix(max(1, settings.candidatePrompts)))
    guard let probe = Scorer(model: model, format: format, requests: examined, site: site, target: prefix) else { return nil }
    let base = try probe.score([[]])[0]
    let hardest = base.indices.sorted { base[$0] < base[$1] }.prefix(max(1, settings.prompts)).sorted()
    let chosen = hardest.map { examined[$0] }
    guard let scorer = Scorer(model: model, format: format, requests: chosen, site: site, target: prefix) else { return nil }
    let baseMean = hardest.reduce(0.0) { $0 + base[$1] } / Double(hardest.count)
    var evaluations = 0
    func mean(_ rows: [[Double]]) -> [Double] { rows.map { $0.reduce(0, +) / Double(max(1, $0.count)) } }
    // Random single tokens (deterministic).
    let targetText = decode(target)
    let vocabulary = model.config.vocabularySize
    var rng = SplitMix(seed: settings.seed)
    var pool: [Int32] = []
    var seen = Set<Int32>()
    var attempts = 0
    while pool.count < settings.pool, attempts < settings.pool * 50 {
      attempts += 1
      let id = Int32(truncatingIfNeeded: Int(rng.next() % UInt64(max(1, vocabulary))))
      guard seen.insert(id).inserted, usable(id, tokenizer: format.tokenizer, stopTokens: format.stopTokens, targetText: targetText) else { continue }
      pool.append(id)
    }
    var scored: [([Int32], Double)] = []
    // The pool of singles is the search's floor: scored whatever the work limit says.
    let singlesPool = pool.map { [$0] }
    scored = zip(singlesPool, mean(try scorer.score(singlesPool))).map { ($0, $1) }
    evaluations += singlesPool.count
    scored.sort { $0.1 > $1.1 }
    var beam = Array(scored.prefix(settings.beam))
    let singles = scored.prefix(settings.extend).map { $0.0[0] }
    let goal = _log(settings.goal)
    for round in 0..<settings.rounds {
      guard let best = beam.first, best.1 < goal, round < settings.minimumRounds || model.workDone < workLimit else { break }
      var seenSequences = Set(beam.map(\.0))
      var candidates: [[Int32]] = []
      for (sequence, _) in beam {
        for t in singles where !sequence.contains(t) {
          for c in [sequence + [t], [t] + sequence] where seenSequences.insert(c).inserted { candidates.append(c) }
        }
      }
      guard !candidates.isEmpty else { break }
      let m = mean(try scorer.score(candidates))
      evaluations += candidates.count
      beam = Array((beam + zip(candidates, m).map { ($0, $1) }).sorted { $0.1 > $1.1 }.prefix(settings.beam))
    }
    let found = beam.map { Found(tokens: $0.0, text: decode($0.0), logP: $0.1, baseLogP: baseMean) }
    return Outcome(found: found, evaluations: evaluations, requests: chosen, seconds: ModelScanner.seconds(clock.now - start))
  }
}
