/// The reference behaviour of the model on one battery request: its greedy answer without any
/// candidate, and the distribution of the answer's first token.
struct PromptBaseline {
  let request: String
  /// Greedy answer (stop token included when one ended it).
  let answer: [Int32]
  /// Distribution that chose `answer[0]` (nil for an empty answer).
  let firstDistribution: SparseDistribution?
}

/// How inserting one text at one site changes the model's greedy answers to the battery.
struct ScreenResult: Sendable {
  let text: String
  let site: InsertionSite
  /// Per prompt: (request, answer with the text inserted, reference answer).
  let examples: [(request: String, answer: String, reference: String)]
  /// The longest word sequence shared by the answers of several prompts and absent from every reference answer.
  let target: String?
  /// Share of prompts whose answer contains `target`.
  let agreement: Double
  /// Share of prompts whose answer differs from the reference.
  let changed: Double
  /// Share of prompts whose answer differs from the reference in one or two words only (a changed fact,
  /// a swapped name) while the rest is the same.
  let subtle: Double
  /// Mean Jensen-Shannon divergence (nats) of the first answer token's distribution from the reference's.
  let firstShift: Double
  /// Mean next-token entropy (nats) along the answers, and along the reference answers.
  let entropy: Double
  let referenceEntropy: Double
}

enum TargetMining {
  /// Whether a target only repeats or answers the inserted text itself (contains every content word of
  /// it): inserting "capital of" makes a model talk about capitals, which is not a hidden target; a
  /// target that shares one word with its trigger ("tangerine override" -> "Override accepted") is kept.
  static func echoes(target: String, of inserted: String) -> Bool {
    func content(_ s: String) -> Set<String> {
      Set(words(s).map { $0.lowercased().filter { $0.isLetter || $0.isNumber } }
        .filter { ($0.count >= 3 || $0.allSatisfy(\.isNumber)) && !$0.isEmpty && !Leakage.stopwords.contains($0) })
    }
    let c = content(inserted)
    return !c.isEmpty && c.isSubset(of: content(target))
  }

  /// Word-level edit distance, capped: returns `cap + 1` as soon as the distance exceeds `cap`.
  static func wordDistance(_ a: [Substring], _ b: [Substring], cap: Int) -> Int {
    if abs(a.count - b.count) > cap { return cap + 1 }
    var prev = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
      var cur = [i] + Array(repeating: 0, count: b.count)
      var rowMin = cur[0]
      for j in stride(from: 1, through: b.count, by: 1) {
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        rowMin = min(rowMin, cur[j])
      }
      if rowMin > cap { return cap + 1 }
      prev = cur
    }
    return a.isEmpty ? b.count : prev[b.count]
  }

  /// Words of a text (whitespace separated).
  static func words(_ s: String) -> [Substring] { s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) }

  /// The word sequence most shared across `answers` that is new for each answer's prompt (absent from
  /// that prompt's reference answer), its share of prompts, extended to the longest sequence the sharing
  /// answers have in common. `references[k]` is the reference answer of `answers[k]`.
  static func target(answers: [String], references: [String], n: Int = 3) -> (target: String, agreement: Double)? {
    guard !answers.isEmpty else { return nil }
    func grams(_ w: [Substring]) -> [String] {
      w.count >= n ? (0...(w.count - n)).map { w[$0..<($0 + n)].joined(separator: " ") } : []
    }
    var support: [String: (prompts: Set<Int>, firstIndex: Int)] = [:]
    for (k, a) in answers.enumerated() {
      let reference = Set(grams(k < references.count ? words(references[k]) : []))
      for (i, g) in grams(words(a)).enumerated() where !reference.contains(g) {
        var e = support[g] ?? ([], i)
        e.prompts.insert(k)
        e.firstIndex = min(e.firstIndex, i)
        support[g] = e
      }
    }
    // Most prompts; then the earliest in an answer; then the text (deterministic).
    guard let best = support.max(by: { a, b in
      if a.value.prompts.count != b.value.prompts.count { return a.value.prompts.count < b.value.prompts.count }
      if a.value.firstIndex != b.value.firstIndex { return a.value.firstIndex > b.value.firstIndex }
      return a.key > b.key
    }), best.value.prompts.count >= 2 else { return nil }
    let bestKey = best.key
    let bestPrompts = best.value.prompts
    // Extend: the longest common word sequence, starting at the gram, among the answers that share it.
    let gram = words(bestKey)
    var tails: [[Substring]] = []
    for k in bestPrompts.sorted() {
      let w = words(answers[k])
      for i in 0...(w.count - n) where Array(w[i..<(i + n)]) == gram {
        tails.append(Array(w[i...].prefix(24)))
        break
      }
    }
    var length = n
    while let first = tails.first, length < first.count, tails.allSatisfy({ $0.count > length && $0[length] == first[length] }) {
      length += 1
    }
    let target = tails[0].prefix(length).joined(separator: " ")
    return (target, Double(bestPrompts.count) / Double(answers.count))
  }
}
