#if canImport(Glibc)
import Glibc
#endif
import Formats

/// The shape of the change: per Q/K/V/O/MLP matrix the spectrum of dW (both sides dequantized), and how the
/// change spreads over modules and layers.
///
/// A model-editing or narrow backdoor insertion (ROME/BadEdit-style, or a LoRA trained on a handful of
/// modules) writes a low-rank change into a few matrices; a fine-tune spreads a high-rank change over every
/// module. Measured on the tiny samples (docs/STATIC.md): the six backdoors and the benign fine-tune are all
/// full fine-tunes and look alike here (top-1 energy share 0.09-0.34, effective rank 12-37 of 32-64, every
/// matrix changed), so the spectrum only raises severity for the narrow low-rank signature.
///
/// Severity (`DELTA-005`): info summary; high when at most max(2, 10%) of the matrices changed beyond 3x the
/// noise floor, they hold >= 90% of the change energy, and each has >= 90% of its own energy in 4 directions.
extension WeightDelta {
  /// Spectral evidence for one matrix of the delta.
  public struct MatrixSpectrum: Sendable {
    public let name: String
    public let rows: Int
    public let cols: Int
    /// ||dW||_F / ||W_base||_F.
    public let relative: Double
    /// Top singular values of dW, largest first.
    public let singularValues: [Double]
    /// Share of ||dW||_F^2 in the top 1 and top 4 singular directions.
    public let top1Share: Double
    public let top4Share: Double
    /// exp(entropy of the energy spectrum) and ||dW||_F^2 / s_1^2.
    public let effectiveRank: Double
    public let stableRank: Double
    /// Spectral entropy over ln(min(rows, cols)), in [0, 1].
    public let spectralEntropy: Double
    /// All singular values were computed (otherwise the top 16 by randomized subspace iteration).
    public let exact: Bool
  }

  /// How the change spreads over the matrices (relative change squared, so modules of any size compare).
  public struct Dispersion: Sendable {
    /// Matrices analysed.
    public var matrices = 0
    /// Matrices changed beyond 3x the noise floor.
    public var changed = 0
    /// exp(entropy) of the per-matrix shares over the number of matrices: 1 = even, 1/N = one matrix.
    public var evenness = 0.0
    /// Share of the change held by the changed matrices, by the top matrix, and per layer / per module kind.
    public var changedShare = 0.0
    public var topShare = 0.0
    public var layerShares: [(String, Double)] = []
    public var kindShares: [(String, Double)] = []
  }

  /// Elements above which a matrix is streamed per pass instead of held dequantized.
  static let materializeLimit = 1 << 24

  /// Whether a matched pair is a projection matrix whose spectrum is meaningful (2-D, not a token matrix).
  static func isSpectralCandidate(_ p: (base: WeightTensor, candidate: WeightTensor)) -> Bool {
    !p.candidate.isTokenMatrix && p.candidate.rowCount >= 2 && p.candidate.rowLength >= 2
      && p.base.rowCount == p.candidate.rowCount && p.base.rowLength == p.candidate.rowLength
  }

  /// Spectra of the projection matrices among `pairs`, computed in parallel over matrices.
  static func spectra(pairs: [(base: WeightTensor, candidate: WeightTensor)], relative: [Double], threads: Int) -> [MatrixSpectrum?] {
    let chosen = pairs.indices.filter { isSpectralCandidate(pairs[$0]) && relative[$0].isFinite && relative[$0] > 0 }
    let results = UnsafeMutableBufferPointer<Spectral.Summary?>.allocate(capacity: max(1, chosen.count))
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    // Largest first so the stride schedule balances.
    let order = chosen.sorted { pairs[$0].candidate.rowCount * pairs[$0].candidate.rowLength > pairs[$1].candidate.rowCount * pairs[$1].candidate.rowLength }
    var slot: [Int: Int] = [:]
    for (s, i) in chosen.enumerated() { slot[i] = s }
    let slots = slot
    var stride = max(1, threads)
    let out = results
    let work = { (thread: Int) in
      var k = thread
      while k < order.count {
        let i = order[k]
        if let s = slots[i] { out[s] = spectrum(pairs[i]) }
        k += stride
      }
    }
    if threads <= 1 || order.count < 2 {
      stride = 1
      work(0)
    } else {
      let pool = ThreadPool(threadCount: max(1, threads))
      stride = pool.runningThreadCount
      pool.run(work)
      pool.shutdown()
    }
    var all = [MatrixSpectrum?](repeating: nil, count: pairs.count)
    for (slot, i) in chosen.enumerated() {
      guard let s = results[slot] else { continue }
      let c = pairs[i].candidate
      all[i] = MatrixSpectrum(name: c.name, rows: c.rowCount, cols: c.rowLength, relative: relative[i],
        singularValues: s.singularValues, top1Share: s.topShare(1), top4Share: s.topShare(4),
        effectiveRank: s.effectiveRank, stableRank: s.stableRank, spectralEntropy: s.spectralEntropy, exact: s.exact)
    }
    return all
  }

  /// The spectrum of candidate - base for one pair; dW is dequantized once when it fits `materializeLimit`,
  /// otherwise per pass in chunks of rows.
  static func spectrum(_ p: (base: WeightTensor, candidate: WeightTensor)) -> Spectral.Summary? {
    let m = p.candidate.rowCount, n = p.candidate.rowLength
    let (count, overflow) = m.multipliedReportingOverflow(by: n)
    guard !overflow else { return nil }
    let whole = count <= materializeLimit
    let chunkRows = whole ? m : max(2, (1 << 20) / n)
    let cb = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunkRows * n)
    let bb = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunkRows * n)
    defer { cb.deallocate(); bb.deallocate() }
    var decoded = false
    func load(_ rows: Range<Int>) -> Bool {
      let c = UnsafeMutableBufferPointer(rebasing: cb[0..<(rows.count * n)])
      let b = UnsafeMutableBufferPointer(rebasing: bb[0..<(rows.count * n)])
      guard (try? p.candidate.decodeRows(rows, into: c)) != nil, (try? p.base.decodeRows(rows, into: b)) != nil else { return false }
      subtract(c, b)
      return true
    }
    let source: Spectral.RowSource = { body in
      if whole {
        if !decoded {
          guard load(0..<m) else { return false }
          decoded = true
        }
        body(0..<m, UnsafeBufferPointer(rebasing: cb[0..<(m * n)]))
        return true
      }
      var r = 0
      while r < m {
        let e = min(m, r + chunkRows)
        guard load(r..<e) else { return false }
        body(r..<e, UnsafeBufferPointer(rebasing: cb[0..<((e - r) * n)]))
        r = e
      }
      return true
    }
    var seed: UInt64 = 0xC0FF_EE00
    for b in p.candidate.name.utf8 { seed = (seed ^ UInt64(b)) &* 0x100_0000_01B3 }  // FNV-style: deterministic per tensor
    return Spectral.summary(rows: m, cols: n, seed: seed, source: source)
  }

  /// x -= y, elementwise (equal lengths).
  static func subtract(_ x: UnsafeMutableBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count == y.count)
    var i = 0
    let n = x.count
    while i + 8 <= n {
      let a = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
      let b = UnsafeRawPointer(y.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(x.baseAddress! + i).storeBytes(of: a - b, as: SIMD8<Float>.self)
      i += 8
    }
    while i < n { x[i] -= y[i]; i += 1 }
  }

  /// Where the change lives: per-matrix shares of sum(relative^2), evenness, per-layer and per-kind shares.
  static func dispersion(_ spectra: [MatrixSpectrum], noiseFloor: Double) -> Dispersion {
    var d = Dispersion()
    d.matrices = spectra.count
    let energies = spectra.map { $0.relative * $0.relative }
    let total = energies.reduce(0, +)
    guard total > 0 else { return d }
    var h = 0.0
    for e in energies where e > 0 {
      let p = e / total
      h -= p * log(p)
    }
    d.evenness = exp(h) / Double(spectra.count)
    let floor = max(noiseFloor, 1e-6)
    let changed = spectra.indices.filter { spectra[$0].relative > 3 * floor }
    d.changed = changed.count
    d.changedShare = changed.reduce(0) { $0 + energies[$1] } / total
    d.topShare = (energies.max() ?? 0) / total
    var layers: [String: Double] = [:], kinds: [String: Double] = [:]
    for (s, e) in zip(spectra, energies) {
      let (layer, kind) = moduleParts(canonical(s.name))
      layers[layer, default: 0] += e / total
      kinds[kind, default: 0] += e / total
    }
    d.layerShares = layers.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
    d.kindShares = kinds.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
    return d
  }

  /// ("blk.3", "attn_q") for "blk.3.attn_q.weight"; ("-", name) when the name has no layer.
  static func moduleParts(_ name: String) -> (String, String) {
    let parts = name.split(separator: ".")
    guard parts.count >= 3, parts[0] == "blk" else { return ("-", name) }
    return ("blk.\(parts[1])", String(parts[2]))
  }

  /// Builds the `DELTA-005` finding from the spectra; nil when there is nothing to report.
  static func spectralFinding(_ spectra: [MatrixSpectrum], noiseFloor: Double, file: String) -> (Finding, Dispersion)? {
    guard !spectra.isEmpty else { return nil }
    let d = dispersion(spectra, noiseFloor: noiseFloor)
    let floor = max(noiseFloor, 1e-6)
    let changed = spectra.filter { $0.relative > 3 * floor }.sorted { $0.relative > $1.relative }
    let narrow = !changed.isEmpty && changed.count <= max(2, spectra.count / 10) && d.changedShare >= 0.9
    let lowRank = !changed.isEmpty && changed.allSatisfy { $0.top4Share >= 0.9 }
    let signature = narrow && lowRank
    let shown = (changed.isEmpty ? spectra.sorted { $0.relative > $1.relative } : changed).prefix(20)
    func describe(_ s: MatrixSpectrum) -> String {
      "\(s.name) rel \(fmt(s.relative)) top1 \(fmt(s.top1Share)) top4 \(fmt(s.top4Share)) erank \(fmt(s.effectiveRank))/\(min(s.rows, s.cols))"
    }
    var detail = "\(d.changed) of \(d.matrices) projection matrices changed beyond 3x the noise floor; evenness \(fmt(d.evenness)) (1 = change spread evenly), top layers "
      + d.layerShares.prefix(3).map { "\($0.0) \(fmt($0.1))" }.joined(separator: ", ")
      + "; " + shown.prefix(4).map(describe).joined(separator: "; ")
    if signature {
      detail = "narrow low-rank edit: \(changed.count) of \(spectra.count) matrices hold \(Int((d.changedShare * 100).rounded()))% of the change, each with >= 90% of its change in 4 directions ("
        + changed.prefix(4).map(describe).joined(separator: "; ") + "). Model-editing backdoors look like this; a fine-tune spreads a high-rank change over every module."
    } else if lowRank && changed.count > max(2, spectra.count / 10) {
      detail += "; every changed matrix is low-rank (consistent with a merged LoRA)"
    }
    let evidence: [Evidence] = [
      Evidence("matrices", d.matrices), Evidence("changed", d.changed), Evidence("evenness", d.evenness),
      Evidence("changed_share", d.changedShare), Evidence("top_matrix_share", d.topShare),
      Evidence("layer_shares", .object(d.layerShares.prefix(12).map { ($0.0, .double($0.1)) })),
      Evidence("module_shares", .object(d.kindShares.map { ($0.0, .double($0.1)) })),
    ] + shown.map { s in
      Evidence(s.name, .object([("relative", .double(s.relative)), ("top1_share", .double(s.top1Share)),
        ("top4_share", .double(s.top4Share)), ("effective_rank", .double(s.effectiveRank)), ("stable_rank", .double(s.stableRank)),
        ("spectral_entropy", .double(s.spectralEntropy)), ("shape", .array([.int(s.rows), .int(s.cols)])),
        ("exact", .bool(s.exact)), ("singular_values", .array(s.singularValues.prefix(8).map { .double($0) }))]))
    }
    return (Finding(rule: Rules.deltaSpectrum, detector: name, severity: signature ? .high : .info, detail: detail, file: file,
                    evidence: evidence), d)
  }
}
