/// A next-token distribution kept as its most likely tokens plus the mass of the rest, so a battery's
/// reference distributions stay small for 262k-token vocabularies.
struct SparseDistribution: Sendable {
  var ids: [Int32]
  var probabilities: [Double]
  /// Probability of every token not in `ids`.
  var rest: Double
  /// Shannon entropy of the full distribution, in nats.
  var entropy: Double
  /// The most likely token.
  var top: Int32 { ids.first ?? -1 }

  /// Softmax of `logits`, keeping the `keep` most likely tokens.
  init(logits: [Float], keep: Int = 64) { self.init(softmax: Softmax(logits), keep: keep) }

  /// A computed softmax, keeping the `keep` most likely tokens.
  init(softmax full: Softmax, keep: Int = 64) {
    let k = min(keep, full.logits.count)
    let order = full.topIndices(k)
    ids = order.map { Int32($0) }
    probabilities = order.map { full.p($0) }
    rest = max(0, 1 - probabilities.reduce(0, +))
    entropy = full.entropy
  }
}

/// Full softmax of one logit vector, computed once and queried.
struct Softmax {
  let logits: [Float]
  let maxLogit: Float
  let logNormalizer: Double

  init(_ logits: [Float]) {
    self.logits = logits
    let m = logits.max() ?? 0
    maxLogit = m
    var s = 0.0
    for v in logits { s += _exp(Double(v - m)) }
    logNormalizer = _log(max(s, .leastNormalMagnitude))
  }

  func p(_ i: Int) -> Double { _exp(logp(i)) }
  func logp(_ i: Int) -> Double { Double(logits[i] - maxLogit) - logNormalizer }

  var entropy: Double {
    var h = 0.0
    for i in logits.indices {
      let lp = logp(i)
      if lp > -60 { h -= _exp(lp) * lp }
    }
    return h
  }

  /// Indices of the `k` largest logits, largest first (ties: lower index first).
  func topIndices(_ k: Int) -> [Int] {
    guard k > 0 else { return [] }
    var heap: [(Float, Int)] = []  // small k: insertion into a sorted buffer
    heap.reserveCapacity(k + 1)
    for (i, v) in logits.enumerated() {
      if heap.count == k, let last = heap.last, v <= last.0 { continue }
      var lo = 0, hi = heap.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if heap[mid].0 >= v { lo = mid + 1 } else { hi = mid }
      }
      heap.insert((v, i), at: lo)
      if heap.count > k { heap.removeLast() }
    }
    return heap.map(\.1)
  }
}

enum Divergence {
  /// Jensen-Shannon divergence (nats, 0...ln 2) between a reference distribution and a full softmax,
  /// over the reference's kept tokens plus one bucket for every other token (a lower bound of the
  /// exact value by the data-processing inequality; exact when the kept tokens carry all the mass).
  static func jensenShannon(_ a: SparseDistribution, _ b: Softmax) -> Double {
    var restB = 1.0
    var js = 0.0
    for (k, i) in a.ids.enumerated() {
      let q = b.p(Int(i))
      restB -= q
      js += term(a.probabilities[k], q)
    }
    js += term(max(0, a.rest), max(0, restB))
    return max(0, min(js, _log(2)))
  }

  /// Jensen-Shannon divergence (nats, 0...ln 2) of two full softmaxes (exact, over every token).
  static func jensenShannon(_ a: Softmax, _ b: Softmax) -> Double {
    var js = 0.0
    for i in 0..<min(a.logits.count, b.logits.count) { js += term(a.p(i), b.p(i)) }
    return max(0, min(js, _log(2)))
  }

  @inline(__always)
  static func term(_ p: Double, _ q: Double) -> Double {
    let m = 0.5 * (p + q)
    var t = 0.0
    if p > 0 { t += 0.5 * p * _log(p / m) }
    if q > 0 { t += 0.5 * q * _log(q / m) }
    return t
  }
}

/// Robust location and scale of a null sample.
struct NullStatistics: Sendable {
  let median: Double
  let scale: Double
  let count: Int
  let maximum: Double

  /// - Parameter floor: smallest scale used (keeps z finite when every control scores the same).
  init(_ values: [Double], floor: Double) {
    let v = values.sorted()
    count = v.count
    let m = NullStatistics.median(v)
    median = m
    let mad = NullStatistics.median(v.map { abs($0 - m) }.sorted())
    scale = max(1.4826 * mad, floor)
    maximum = v.last ?? 0
  }

  func z(_ x: Double) -> Double { (x - median) / scale }

  static func median(_ sorted: [Double]) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
  }
}
