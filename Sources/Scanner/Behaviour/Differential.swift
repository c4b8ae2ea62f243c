/// The reference behaviour of the model on one battery request: its prompt without any candidate, the
/// greedy answer, and the next-token distributions along the answer's first tokens.
struct PromptBaseline {
  let request: String
  let tokens: [Int32]
  /// Greedy answer (up to the longer generation budget; stop token included when one ended it).
  let answer: [Int32]
  /// Distributions predicting `answer[j]` for j < screened length.
  let distributions: [SparseDistribution]
  var screenedLength: Int { distributions.count }
}

/// How inserting one text at one site moves the model's answers on the battery (teacher-forced on the
/// reference answers, so one forward pass per prompt).
struct ScreenResult: Sendable {
  let text: String
  let site: InsertionSite
  /// Per prompt: the largest Jensen-Shannon divergence (nats) over the screened answer positions.
  let maxDivergence: [Double]
  /// Per prompt: divergence at the first answer token.
  let firstDivergence: [Double]
  /// Per prompt: whether the greedy choice differs from the reference answer somewhere in the window.
  let diverges: [Bool]
  /// Per prompt: mean entropy (nats) of the next-token distributions along the reference answer.
  let entropy: [Double]

  /// Mean over prompts of the largest divergence: a shift that affects every request.
  var meanShift: Double { maxDivergence.isEmpty ? 0 : maxDivergence.reduce(0, +) / Double(maxDivergence.count) }
  /// Mean of the top quarter of prompts: a shift confined to some kinds of request.
  var topShift: Double {
    guard !maxDivergence.isEmpty else { return 0 }
    let k = max(2, maxDivergence.count / 4)
    let top = maxDivergence.sorted(by: >).prefix(k)
    return top.reduce(0, +) / Double(top.count)
  }
}

/// Greedy answers of the battery with a candidate in place, compared with the reference answers.
struct ConfirmResult: Sendable {
  let text: String
  let site: InsertionSite
  /// Per prompt: (request, triggered answer text, reference answer text).
  let examples: [(request: String, answer: String, reference: String)]
  /// The longest word sequence that appears in the triggered answers of several prompts and in none of
  /// the reference answers.
  let target: String?
  /// Share of prompts whose triggered answer contains `target`.
  let agreement: Double
  /// Share of prompts whose triggered answer differs from the reference answer.
  let changed: Double
  /// Mean next-token entropy along the triggered answers and along the reference answers (nats).
  let entropyTriggered: Double
  let entropyReference: Double
}

enum TargetMining {
  /// Words of a text (whitespace separated).
  static func words(_ s: String) -> [Substring] { s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) }

  /// The most shared novel word sequence across `answers` (absent from every reference), its share of
  /// prompts, extended to the longest prefix the sharing answers have in common.
  static func target(answers: [String], references: [String], n: Int = 3) -> (target: String, agreement: Double)? {
    guard !answers.isEmpty else { return nil }
    var referenceGrams = Set<String>()
    for r in references {
      let w = words(r)
      if w.count >= n { for i in 0...(w.count - n) { referenceGrams.insert(w[i..<(i + n)].joined(separator: " ")) } }
    }
    var support: [String: Set<Int>] = [:]
    for (k, a) in answers.enumerated() {
      let w = words(a)
      guard w.count >= n else { continue }
      for i in 0...(w.count - n) {
        let g = w[i..<(i + n)].joined(separator: " ")
        if !referenceGrams.contains(g) { support[g, default: []].insert(k) }
      }
    }
    guard let best = support.max(by: { a, b in a.value.count < b.value.count || (a.value.count == b.value.count && a.key > b.key) }),
          best.value.count >= 2 else { return nil }
    // Extend: the longest common word sequence, starting at the gram, among the answers that share it.
    let gram = words(best.key)
    var tails: [[Substring]] = []
    for k in best.value.sorted() {
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
    return (target, Double(best.value.count) / Double(answers.count))
  }
}
