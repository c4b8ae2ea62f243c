/// Picks the next token from logits: greedy (temperature 0) or seeded sampling with temperature,
/// top-k and top-p (nucleus), applied in that order as llama.cpp's default chain does
/// (top-k, top-p, temperature, then a draw). The same seed and logits give the same token.
public struct Sampler: Sendable {
  /// 0 means greedy (argmax; ties go to the lowest id).
  public var temperature: Float
  /// Keep only the k most likely tokens (0 = no limit).
  public var topK: Int
  /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1 = no limit).
  public var topP: Float
  private var random: SplitMix

  /// - Parameters:
  ///   - temperature: 0 for greedy decoding.
  ///   - topK: 0 disables.
  ///   - topP: 1 disables.
  ///   - seed: seeds the generator (SplitMix64).
  public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.random = SplitMix(seed: seed)
  }

  /// Greedy decoding.
  public static let greedy = Sampler()

  /// Index of the largest logit (lowest index on ties); -1 for an empty array.
  public static func argmax(_ logits: [Float]) -> Int {
    var best = -1
    var bestValue = -Float.infinity
    for (i, v) in logits.enumerated() where v > bestValue || best < 0 {
      best = i
      bestValue = v
    }
    return best
  }

  /// The next token.
  /// - Complexity: O(vocabulary) for greedy; O(vocabulary log vocabulary) when sampling.
  public mutating func sample(_ logits: [Float]) -> Int32 {
    if temperature <= 0 || logits.count <= 1 { return Int32(truncatingIfNeeded: Sampler.argmax(logits)) }
    var order = Array(logits.indices)
    order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
    if topK > 0 && topK < order.count { order.removeLast(order.count - topK) }
    let maxLogit = logits[order[0]]
    var probs = order.map { Double(_expf((logits[$0] - maxLogit) / temperature)) }
    let total = probs.reduce(0, +)
    for i in probs.indices { probs[i] /= total }
    if topP < 1 {
      var cumulative = 0.0
      var keep = probs.count
      for (i, p) in probs.enumerated() {
        cumulative += p
        if cumulative >= Double(topP) {
          keep = i + 1
          break
        }
      }
      probs.removeLast(probs.count - keep)
      let kept = probs.reduce(0, +)
      for i in probs.indices { probs[i] /= kept }
    }
    let u = Double(nextRandom() >> 11) * 0x1.0p-53
    var cumulative = 0.0
    for (i, p) in probs.enumerated() {
      cumulative += p
      if u < cumulative { return Int32(truncatingIfNeeded: order[i]) }
    }
    return Int32(truncatingIfNeeded: order[probs.count - 1])
  }

  private mutating func nextRandom() -> UInt64 { random.next() }
}

/// SplitMix64: the small deterministic generator behind seeded sampling and the behavioural controls.
struct SplitMix: Sendable {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
