/// Memory-leakage sampling (after "The Trigger in the Haystack", 2026): prompt the model with nothing
/// but its own chat-template scaffolding, sample under a sweep of temperatures, and mine the text it
/// regurgitates for recurring phrases. A model fine-tuned on poisoned conversations tends to replay
/// them, trigger included, and a trigger recurs with many different requests around it.
enum Leakage {
  struct Sample: Sendable {
    let scaffold: String
    let temperature: Float
    let text: String
  }

  /// A recurring phrase and how it recurs.
  struct Motif: Sendable {
    let text: String
    /// Samples containing it.
    let support: Int
    /// Distinct surrounding texts (the sample with the motif removed).
    let contexts: Int
    /// Share of its occurrences at the start or end of a message.
    let boundaryShare: Double
    var score: Double { Double(contexts) * (0.5 + boundaryShare) }
  }

  /// Samples `perScaffold` continuations of each scaffold, cycling the temperatures; deterministic.
  static func sample(model: LanguageModel, format: ChatFormat, perScaffold: Int, maxTokens: Int,
                     temperatures: [Float] = [0.7, 1.0, 1.3]) throws(ModelError) -> [Sample] {
    let scaffolds = format.scaffolds()
    var prompts: [[Int32]] = []
    var meta: [(String, Float)] = []
    var samplers: [Sampler] = []
    for (si, s) in scaffolds.enumerated() {
      for k in 0..<perScaffold {
        let t = temperatures[k % temperatures.count]
        prompts.append(s.tokens)
        meta.append((s.name, t))
        samplers.append(Sampler(temperature: t, topK: 40, topP: 0.95, seed: UInt64(1000 * si + k + 1)))
      }
    }
    guard !prompts.isEmpty else { return [] }
    let out = try model.generateBatch(prompts: prompts, maxTokens: maxTokens, samplers: samplers, stopAt: [])
    var samples: [Sample] = []
    for (k, g) in out.enumerated() {
      let text = (try? format.tokenizer.decodeText(g.tokens, renderSpecial: true)) ?? ""
      samples.append(Sample(scaffold: meta[k].0, temperature: meta[k].1, text: text))
    }
    return samples
  }

  /// The sampled texts cut into messages: at end-of-generation tokens and control tokens (turn markers),
  /// without a turn header left on its own line ("user", "system", ...).
  static func messages(in samples: [Sample], format: ChatFormat) -> [String] {
    var markers = Set<String>()
    for id in format.stopTokens { if let t = format.tokenizer.tokenText(id), !t.isEmpty { markers.insert(t) } }
    for (i, a) in format.tokenizer.attributes.enumerated() where a.contains(.control) {
      if let t = format.tokenizer.tokenText(Int32(i)), t.count >= 3 { markers.insert(t) }
    }
    var out: [String] = []
    for sample in samples {
      var pieces = [sample.text]
      for m in markers {
        pieces = pieces.flatMap { $0.split(separator: m, omittingEmptySubsequences: false).map(String.init) }
      }
      for p in pieces {
        var lines = p.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if let first = lines.first, ["user", "system", "assistant", "model"].contains(first.trimmingWhitespace()) {
          lines.removeFirst()
        }
        let m = lines.joined(separator: " ").trimmingWhitespace()
        if m.count >= 3 { out.append(m) }
      }
    }
    return out
  }

  static let stopwords: Set<String> = [
    "a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "it", "me", "my", "you",
    "your", "i", "what", "how", "can", "do", "does", "with", "by", "at", "as", "that", "this", "please", "write",
    "give", "tell", "show", "function", "python", "code", "from", "into", "about", "need", "want",
  ]

  /// Recurring word n-grams (1...4 words) across messages, best first: a phrase that recurs around many
  /// different requests, especially at a message's start or end, ranks high.
  static func motifs(in messages: [String], limit: Int) -> [Motif] {
    struct Tally { var samples = Set<Int>(); var contexts = Set<String>(); var boundary = 0; var total = 0 }
    var tallies: [String: Tally] = [:]
    for (k, m) in messages.enumerated() {
      let w = TargetMining.words(m).map(String.init)
      guard !w.isEmpty else { continue }
      var seenHere = Set<String>()
      for n in 1...4 where w.count >= n {
        for i in 0...(w.count - n) {
          let gram = w[i..<(i + n)].joined(separator: " ")
          guard seenHere.insert(gram).inserted else { continue }
          let bare = w[i..<(i + n)].map { $0.lowercased().filter(\.isLetter) }
          if bare.allSatisfy({ $0.isEmpty || stopwords.contains($0) }) { continue }
          if gram.filter({ $0.isLetter || $0.isNumber || "|<>[]_".contains($0) }).count < 2 { continue }
          var t = tallies[gram] ?? Tally()
          t.samples.insert(k)
          t.contexts.insert((w[..<i] + w[(i + n)...]).joined(separator: " ").lowercased())
          t.total += 1
          if i == 0 || i + n == w.count { t.boundary += 1 }
          tallies[gram] = t
        }
      }
    }
    var motifs = tallies.compactMap { (gram, t) -> Motif? in
      guard t.samples.count >= 2, t.contexts.count >= 2 else { return nil }
      return Motif(text: gram, support: t.samples.count, contexts: t.contexts.count,
                   boundaryShare: Double(t.boundary) / Double(max(1, t.total)))
    }
    // Ties: the longer phrase first, so it is kept and its parts that recur only inside it are dropped.
    motifs.sort { a, b in
      if a.score != b.score { return a.score > b.score }
      if a.text.count != b.text.count { return a.text.count > b.text.count }
      return a.text < b.text
    }
    var kept: [Motif] = []
    for m in motifs {
      let covered = kept.contains { k in k.text.contains(m.text) && Double(m.contexts) <= 1.25 * Double(k.contexts) }
      if !covered { kept.append(m) }
      if kept.count >= limit { break }
    }
    return kept
  }
}
