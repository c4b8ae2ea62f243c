/// Forward-only target inversion after BAIT ("Large Language Model Backdoor Scanning by Inverting Attack
/// Target", Shen et al., IEEE S&P 2025): a backdoor is trained as "trigger -> fixed answer", and the
/// autoregressive training makes the answer's tokens follow each other near-certainly whatever the prompt.
/// So instead of searching for the trigger, force a candidate first answer token after many clean prompts
/// and extend it greedily with the token of highest probability *averaged over the prompts*; a backdoor
/// target stays near-certain at every step regardless of the prompt (Q-score near 1), an ordinary answer
/// start does not (the prompts pull it apart within a few tokens). Trigger-free: no candidate trigger is
/// needed, only clean prompts and next-token probabilities.
///
/// Differences from BAIT, for a 2-core CPU budget: first tokens are a pruned candidate set (anomalous
/// first-step probability, leaked message starts, moved token rows) instead of the whole vocabulary; no
/// top-k uncertainty branching; the extension is shared by all prompts of a candidate in one batch.
enum TargetInversion {
  /// One candidate first token and its greedy extension.
  struct Target: Sendable {
    /// The forced first token, then the extension (a final stop token is not included).
    let tokens: [Int32]
    let text: String
    /// Per extension step, the chosen token's probability averaged over the prompts.
    let stepProbabilities: [Double]
    /// The extension ended on a stop token (the answer is complete).
    let ended: Bool
    /// Why this first token was tried.
    let source: String
    /// Extension was stopped early because the prompts disagreed (warm-up pruning).
    let pruned: Bool
    /// Q-score: mean averaged probability of the extension steps, over at least `minimumLength` steps (a
    /// target that ends sooner counts the missing steps as 0, so "Paris." is not a near-certain target).
    let q: Double

    /// Whether the text locks in: after at most `lead` uncertain steps, every remaining step (at least
    /// `minimumSteps`) has an averaged probability >= `probability`, and the locked text is not a loop (at least
    /// `distinctTokens` different tokens). A target that begins with a common answer word ("To", "Sure") shares
    /// its first step or two with the prompts' natural answers ("To install ..."), so those steps are uncertain
    /// whatever the backdoor; after them a fixed text is near-certain after every prompt.
    func locksIn(lead: Int, minimumSteps: Int, probability: Double, distinctTokens: Int) -> Bool {
      let p = stepProbabilities
      guard !p.isEmpty else { return false }
      for s in 0...min(lead, p.count - 1) {
        let rest = p[s...]
        guard rest.count >= minimumSteps else { return false }
        if rest.allSatisfy({ $0 >= probability }) {
          // tokens[0] is the forced token; step i chose tokens[i + 1] (a final stop token is not kept).
          return Set(tokens.dropFirst(s + 1)).count >= distinctTokens
        }
      }
      return false
    }
  }

  /// A first-token candidate.
  struct FirstToken: Sendable, Hashable {
    let id: Int32
    let source: String
    static func == (a: FirstToken, b: FirstToken) -> Bool { a.id == b.id }
    func hash(into h: inout Hasher) { h.combine(id) }
  }

  /// What the inversion tried and found.
  struct Outcome: Sendable {
    /// Every tried candidate, best Q first.
    var targets: [Target]
    /// Q-scores of all tried candidates (the population the best is compared with).
    let population: NullStatistics
    /// Candidates proposed but not tried within the work budget.
    let untried: Int
    let prompts: Int
    let seconds: Double
    var best: Target? { targets.first }
    /// Robust z of a target's Q against the candidate population.
    func z(_ t: Target) -> Double { population.z(t.q) }
  }

  /// Settings, calibrated in docs/BEHAVIOUR.md.
  struct Settings: Sendable {
    /// Extension steps after the forced token (BAIT: 20).
    var steps = 20
    /// Steps before pruning candidates whose mean averaged probability is below `pruneBelow`.
    var warmup = 4
    var pruneBelow = 0.5
    /// Shorter targets are scored as if padded with zero-probability steps: a backdoor target is a long
    /// memorised text; the tiny samples' ordinary memorised answers ("Hello! How can I help you today?",
    /// 11 tokens with the end token) reach Q 0.96 over their own length (docs/BEHAVIOUR.md).
    var minimumLength = 16
    /// Candidates extended together (each uses one sequence per prompt).
    var group = 16
    /// Tokens of each prompt's distribution that compete for the averaged argmax (`averagedArgmax`).
    var topK = 32
    /// Candidates tried whatever the work limit says (the first ones in proposal order), so a large model whose
    /// budget screening used up still inverts the strongest proposals instead of none.
    var minimum = 0
  }

  /// Probability floor for the population scale, so a near-constant population does not make z explode.
  static let qFloor = 0.05

  /// Proposes first tokens: the proposer's own (targets seen in screening, leaked message starts, token rows), in
  /// at most `limit - limit / 2` slots, alternating with the tokens whose mean first-step probability over the clean
  /// prompts is highest, interleaved with those whose first-step probability is highest relative to how often the
  /// model uses them anywhere in its answers (its usual rate), up to `limit`. Stop tokens, control tokens and
  /// whitespace are skipped. At least half the slots go to the model's own first-step statistics (BAIT's pruning),
  /// and the alternation keeps them within a work limit's floor of first candidates: a backdoor
  /// that neither leaks nor generalises to random insertions shows its target only there (session 10: a
  /// phrase-triggered LoRA trained with random-insertion negatives, whose 16 quick-mode slots had all gone to leaked
  /// starts and token rows, was called clean; its target's first token "To" is among the most probable first tokens).
  ///
  /// `screened` (BAIT's first pruning step, `firstStepScreen`: the most probable first tokens ordered by how certain
  /// their continuation is once they are forced) is interleaved first with the two statistics lists.
  static func firstTokens(firstMean: [Double], usualMean: [Double], proposed: [FirstToken], limit: Int,
                          tokenizer: Tokenizer, stopTokens: Set<Int32>, screened: [FirstToken] = []) -> [FirstToken] {
    func usable(_ id: Int32) -> Bool { Self.usable(id, vocabulary: firstMean.count, tokenizer: tokenizer, stopTokens: stopTokens) }
    var seen = Set<Int32>()
    func take(_ id: Int32, _ source: String, into list: inout [FirstToken], upTo n: Int) {
      guard list.count < n, usable(id), seen.insert(id).inserted else { return }
      list.append(FirstToken(id: id, source: source))
    }
    var proposals: [FirstToken] = []
    for p in proposed { take(p.id, p.source, into: &proposals, upTo: limit - limit / 2) }
    let byFirst = descendingOrder(firstMean)
    // Anomaly: first-step probability over the usual rate (both smoothed), among tokens with some first-step mass.
    let floor = 1.0 / Double(max(1, firstMean.count))
    let ratio = firstMean.indices.map { i in
      firstMean[i] < 0.1 * floor ? -Double.infinity : _log(firstMean[i] + 1e-9) - _log(usualMean[i] + floor)
    }
    let byRatio = descendingOrder(ratio)
    var statistics: [FirstToken] = []
    var a = byFirst.makeIterator(), b = byRatio.makeIterator(), c = screened.makeIterator()
    while proposals.count + statistics.count < limit {
      let x = a.next(), y = b.next(), z = c.next()
      if x == nil && y == nil && z == nil { break }
      if let z { take(z.id, z.source, into: &statistics, upTo: limit - proposals.count) }
      if let x { take(Int32(x), "first-step probability", into: &statistics, upTo: limit - proposals.count) }
      if let y { take(Int32(y), "first-step anomaly", into: &statistics, upTo: limit - proposals.count) }
    }
    // Alternate the two lists, so the first ones (which a work limit keeps: `Settings.minimum`) cover both.
    var out: [FirstToken] = []
    for i in 0..<max(proposals.count, statistics.count) {
      if i < proposals.count { out.append(proposals[i]) }
      if i < statistics.count { out.append(statistics[i]) }
    }
    return out
  }

  /// Indices of `values`, largest value first (ties: lower index first).
  static func descendingOrder(_ values: [Double]) -> [Int] {
    values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
  }

  /// Whether a token may start an inverted target: in the vocabulary, not a stop, control or unused token, and not
  /// only whitespace.
  static func usable(_ id: Int32, vocabulary: Int, tokenizer: Tokenizer, stopTokens: Set<Int32>) -> Bool {
    let i = Int(id)
    guard i >= 0, i < vocabulary, !stopTokens.contains(id) else { return false }
    if i < tokenizer.attributes.count {
      let a = tokenizer.attributes[i]
      if a.contains(.control) || a.contains(.unused) { return false }
    }
    guard let t = try? tokenizer.decodeText([id], renderSpecial: false) else { return false }
    return t.contains { !$0.isWhitespace }
  }

  /// BAIT's first pruning step, forward only: the `count` usable tokens of highest mean first-step probability (the
  /// first-step statistics without the trigger), each forced after every prompt and extended two steps, ordered by
  /// the mean probability of the averaged-argmax continuation (ties: first-step probability order). A backdoor target's
  /// first token is followed by its second one near-certainly whatever the request, while an ordinary answer start
  /// ("The", "To") continues differently per request; the order reaches a target whose first word is rare as an
  /// answer start (session 10: "Verify ..." ranked 54th by first-step probability, beyond the quick plan's slots).
  /// - Complexity: prompts x count x 2 token evaluations, plus the prompts' prefill.
  static func firstStepScreen(model: LanguageModel, prompts: [[Int32]], firstMean: [Double], count: Int, group: Int,
                              tokenizer: Tokenizer, stopTokens: Set<Int32>, exclude: Set<Int32>,
                              decode: ([Int32]) -> String) throws(ModelError) -> [FirstToken] {
    guard count > 0, !prompts.isEmpty else { return [] }
    var pool: [FirstToken] = []
    for i in descendingOrder(firstMean) where pool.count < count {
      let id = Int32(i)
      guard !exclude.contains(id), usable(id, vocabulary: firstMean.count, tokenizer: tokenizer, stopTokens: stopTokens) else { continue }
      pool.append(FirstToken(id: id, source: "first-step screen"))
    }
    var settings = Settings()
    settings.steps = 2
    settings.pruneBelow = 0  // no pruning: every candidate gets its two steps
    settings.minimumLength = 1
    settings.group = group
    let outcome = try invert(model: model, prompts: prompts, candidates: pool, settings: settings, stopTokens: stopTokens,
                             decode: decode)
    var certainty: [Int32: Double] = [:]
    // Two steps: a lexical pair ("Thank" -> "you", "Don" -> "'t") is certain for one step, then the requests diverge.
    for t in outcome.targets {
      if let first = t.tokens.first { certainty[first] = t.stepProbabilities.reduce(0, +) / Double(max(1, t.stepProbabilities.count)) }
    }
    let rank = Dictionary(uniqueKeysWithValues: pool.enumerated().map { ($0.element.id, $0.offset) })
    return pool.sorted { a, b in
      let ca = certainty[a.id] ?? 0, cb = certainty[b.id] ?? 0
      return ca != cb ? ca > cb : rank[a.id, default: 0] < rank[b.id, default: 0]
    }
  }

  /// Forces each candidate after every prompt and extends it greedily with the token of highest
  /// probability averaged over the prompts.
  /// - Parameters:
  ///   - prompts: clean battery prompts (chat-formatted, ending where the answer starts).
  ///   - workLimit: candidates not started once `model.workDone` passes it are counted as untried.
  /// - Complexity: prompts x candidates x (steps + 1) token evaluations, plus prompts x group prompt prefills.
  static func invert(model: LanguageModel, prompts: [[Int32]], candidates: [FirstToken], settings: Settings,
                     stopTokens: Set<Int32>, decode: ([Int32]) -> String,
                     workLimit: Int? = nil) throws(ModelError) -> Outcome {
    let clock = ContinuousClock()
    let start = clock.now
    let p = prompts.count
    guard p > 0, !candidates.isEmpty else {
      return Outcome(targets: [], population: NullStatistics([], floor: qFloor), untried: candidates.count, prompts: p, seconds: 0)
    }
    let group = max(1, min(settings.group, candidates.count))
    let longest = prompts.map(\.count).max() ?? 1
    let session = model.makeMultiSequenceSession(sequences: p * group, capacity: longest + settings.steps + 2,
                                                 batchSize: min(512, max(p * group, 64)))
    // Every sequence holds one prompt; candidates of a group are appended after it and cut off again. Each prompt is
    // evaluated once (in the first slot of the group) and its cached keys and values copied into the other slots.
    _ = try session.prefill(prompts)
    for g in 1..<max(1, group) { for k in 0..<p { session.copyPrefix(from: k, to: g * p + k, length: prompts[k].count) } }
    let vocabulary = model.config.vocabularySize
    var targets: [Target] = []
    var next = 0
    while next < candidates.count {
      if let workLimit, next >= settings.minimum, model.workDone > workLimit { break }
      let chunk = Array(candidates[next..<min(candidates.count, next + group)])
      next += chunk.count
      for g in chunk.indices { for k in 0..<p { session.truncate(sequence: g * p + k, to: prompts[k].count) } }
      var tokens = chunk.map { [$0.id] }
      var probabilities = chunk.map { _ in [Double]() }
      var ended = chunk.map { _ in false }
      var pruned = chunk.map { _ in false }
      var active = Array(chunk.indices)
      var feed = chunk.map(\.id)
      for step in 0..<settings.steps where !active.isEmpty {
        var inputs: [(sequence: Int, tokens: [Int32])] = []
        for g in active { for k in 0..<p { inputs.append((g * p + k, [feed[g]])) } }
        let outputs = try session.step(inputs)
        var stillActive: [Int] = []
        for (j, g) in active.enumerated() {
          let (id, mean) = averagedArgmax((0..<p).map { k in outputs[j * p + k].lastLogits }, topK: settings.topK,
                                          vocabulary: vocabulary)
          probabilities[g].append(mean)
          if stopTokens.contains(id) {
            ended[g] = true
            continue
          }
          tokens[g].append(id)
          feed[g] = id
          if step + 1 == settings.warmup {
            let m = probabilities[g].reduce(0, +) / Double(probabilities[g].count)
            if m < settings.pruneBelow {
              pruned[g] = true
              continue
            }
          }
          stillActive.append(g)
        }
        active = stillActive
      }
      for g in chunk.indices {
        let n = probabilities[g].count
        let denominator = pruned[g] ? n : max(n, settings.minimumLength)
        let q = n == 0 ? 0 : probabilities[g].reduce(0, +) / Double(max(1, denominator))
        targets.append(Target(tokens: tokens[g], text: decode(tokens[g]), stepProbabilities: probabilities[g],
                              ended: ended[g], source: chunk[g].source, pruned: pruned[g], q: q))
      }
    }
    let population = NullStatistics(targets.map(\.q), floor: qFloor)
    targets.sort { $0.q > $1.q || ($0.q == $1.q && $0.tokens.lexicographicallyPrecedes($1.tokens)) }
    return Outcome(targets: targets, population: population, untried: candidates.count - next,
                   prompts: p, seconds: ModelScanner.seconds(clock.now - start))
  }

  /// The token with the highest probability averaged over several next-token distributions, and that exact
  /// mean. Only each distribution's `topK` most likely tokens compete (a 262k-token vocabulary made the full
  /// average the inversion's main cost): a token's partial sum misses at most 1/(topK + 1) per distribution
  /// whose top list it is not in, so the chosen token's mean is within 1/(topK + 1) of the best mean; the mean
  /// returned is the chosen token's exact one (every distribution's probability of it).
  /// - Complexity: O(n x vocabulary) for the normalisers and the top lists, O(n x topK) for the rest.
  static func averagedArgmax(_ logits: [[Float]], topK: Int, vocabulary: Int) -> (id: Int32, mean: Double) {
    guard !logits.isEmpty else { return (0, 0) }
    let softmaxes = logits.map { Softmax($0) }
    var sums: [Int: Double] = [:]
    for sm in softmaxes {
      for v in sm.topIndices(max(1, topK)) where v < vocabulary { sums[v, default: 0] += sm.p(v) }
    }
    // Ties: the lower id, as the full scan did.
    let best = sums.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key ?? 0
    let exact = softmaxes.reduce(0.0) { $0 + (best < $1.logits.count ? $1.p(best) : 0) }
    return (Int32(best), exact / Double(softmaxes.count))
  }

  /// Share of `answers` that contain the inverted target's text: a run of `run` consecutive words of it (all its
  /// words when it has fewer). A target the model writes in its unforced answers to clean requests is its ordinary
  /// behaviour (a fixed disclaimer or greeting), not a hidden target; eight consecutive words of a fixed text do not
  /// recur across unrelated answers by chance. The inversion stops after a number of tokens, so the target's last
  /// word may be cut ("http://198.51" of "http://198.51.100.23/fix.sh"): that word matches any word it begins.
  static func shareContaining(_ target: String, answers: [String], run: Int = 8) -> Double {
    let t = TargetMining.words(target)
    guard !t.isEmpty, !answers.isEmpty else { return 0 }
    let k = min(max(1, run), t.count)
    let last = t.count - 1
    func runMatches(_ w: [Substring], at i: Int, target j: Int) -> Bool {
      (0..<k).allSatisfy { m in j + m == last ? w[i + m].hasPrefix(t[j + m]) : w[i + m] == t[j + m] }
    }
    let hits = answers.filter { a in
      let w = TargetMining.words(a)
      guard w.count >= k else { return false }
      return (0...(w.count - k)).contains { i in (0...(t.count - k)).contains { j in runMatches(w, at: i, target: j) } }
    }.count
    return Double(hits) / Double(answers.count)
  }

  /// Whether answers start with (the first words of) an inverted target: the share of `answers` whose
  /// first `words` words equal the target's.
  static func shareStarting(with target: String, answers: [String], words n: Int = 3) -> Double {
    let t = TargetMining.words(target).prefix(n)
    guard !t.isEmpty, !answers.isEmpty else { return 0 }
    let hits = answers.filter { Array(TargetMining.words($0).prefix(t.count)) == Array(t) }.count
    return Double(hits) / Double(answers.count)
  }
}
