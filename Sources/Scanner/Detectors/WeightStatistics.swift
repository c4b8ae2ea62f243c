#if canImport(Glibc)
import Glibc
#endif
import Formats

/// Streams every floating-point tensor through Dequantize (row chunks, several threads, never a whole tensor in
/// memory) and checks the numbers themselves: NaN/Inf values and NaN/Inf quantization block scales, extreme
/// magnitudes, heavy tails (kurtosis), block scales far outside their tensor's distribution, and token rows of
/// the embedding / output matrices whose norm is an outlier (rarely used tokens trained hard are how planted
/// triggers show up in the weights; the top rows become trigger candidates).
///
/// Severity rules (thresholds calibrated on SmolLM2-135M Q4_1, Gemma 3 270M Q4_K_M and the tiny samples, whose
/// largest values are noted in parentheses):
/// - NaN or Inf values => critical (`WGT-001`), one finding per tensor with the byte offset of the first one
///   (the block's offset for quantized types).
/// - NaN or Inf block scale (`d`/`dmin`/`m` of Q4_0...Q6_K, IQ4) => critical (`WGT-002`) with the scale's byte offset.
/// - |value| >= 65504 (beyond float16, overflows half-precision activations) => high; a matrix whose largest
///   |value| exceeds 1000 standard deviations => medium (`WGT-003`) (SmolLM2 51, Gemma < 200).
/// - A token row whose norm is >= 4x the median row norm with robust z >= 12 => medium (`WGT-004`); rows with
///   robust z >= 6 and >= 1.25x the median are trigger candidates (source `weights`, score = z) and are listed
///   at info. (SmolLM2: max z 7.7 at 2.4x; Gemma: max z 10.6 at 1.004x.)
/// - Excess kurtosis of a matrix (>= 4096 elements) above 1000 => medium (`WGT-005`): a handful of weights
///   dominate the tensor (SmolLM2 max 26; a single planted value gives ~N).
/// - A block scale >= 2^10 times the tensor's median scale => medium (`WGT-006`) (SmolLM2 2^4.0, Gemma 2^3.4).
/// - Tensors that could not be decoded => info (`WGT-007`).
public enum WeightStatistics {
  public static let name = "weights"

  /// Statistics of one tensor.
  public struct TensorStatistics: Sendable {
    public let name: String
    public let file: String
    public let type: String
    public let elementCount: Int
    /// Absolute byte offset of the tensor data.
    public let byteOffset: Int
    public var nanCount = 0
    public var infCount = 0
    /// Absolute byte offset of the first NaN/Inf value (its block for quantized types).
    public var firstNonFiniteByteOffset: Int?
    public var maxAbs: Float = 0
    public var mean: Double = 0
    public var standardDeviation: Double = 0
    /// Standard deviation without the single largest-magnitude value (so one planted value cannot hide itself
    /// by inflating the deviation it is measured in).
    public var standardDeviationWithoutMax: Double = 0
    /// Excess kurtosis (0 for a Gaussian); `nil` for vectors and tiny tensors.
    public var excessKurtosis: Double?
    public var nonFiniteScaleCount = 0
    public var firstNonFiniteScaleByteOffset: Int?
    /// log2 of the median |block scale| and of the largest one (quantized types).
    public var medianScaleLog2: Double?
    public var maxScaleLog2: Double?
    public var maxScaleByteOffset: Int?
    public var scaleOutlierCount = 0
  }

  public struct Outcome: Sendable {
    public var findings: [Finding] = []
    public var triggers: [TriggerCandidate] = []
    public var tensors: [TensorStatistics] = []
    /// Per token matrix (embedding / output): row L2 norms, by token id.
    public var rowNorms: [String: [Float]] = [:]
  }

  /// Analyses every tensor of `input`.
  /// - Parameter threads: worker threads (>= 1).
  /// - Complexity: O(parameters), one streaming pass; memory O(threads * chunk + vocabulary).
  public static func analyze(_ input: ModelInput, threads: Int) -> Outcome {
    let (tensors, skipped) = WeightTensor.all(in: input)
    var out = Outcome()
    let scan = Pass(tensors: tensors, threads: threads)
    scan.run()
    var failed = skipped
    for (i, t) in tensors.enumerated() {
      if let why = scan.failures[i] { failed.append((t.name, why)); continue }
      out.tensors.append(scan.statistics(tensor: i))
      if let norms = scan.rowNorms[i] { out.rowNorms[t.name] = norms }
    }
    let file = input.path
    findNonFinite(out.tensors, into: &out)
    findMagnitudes(out.tensors, into: &out)
    findKurtosis(out.tensors, into: &out)
    findScaleOutliers(out.tensors, into: &out)
    findRowOutliers(input, tensors: tensors, rowNorms: out.rowNorms, into: &out)
    summarize(out.tensors, file: file, into: &out)
    if !failed.isEmpty {
      out.findings.append(Finding(rule: Rules.weightsNotAnalysed, detector: name,
        detail: "\(failed.count) tensors were not analysed: " + failed.prefix(5).map { "\($0.0) (\($0.1))" }.joined(separator: ", "),
        file: file, evidence: failed.prefix(20).map { Evidence($0.0, $0.1) }))
    }
    return out
  }

  // MARK: - Findings

  static func findNonFinite(_ stats: [TensorStatistics], into out: inout Outcome) {
    let bad = stats.filter { $0.nanCount + $0.infCount > 0 }
    for s in bad.prefix(20) {
      out.findings.append(Finding(rule: Rules.weightsNonFinite, detector: name,
        detail: "\(s.name) (\(s.type)) holds \(s.nanCount) NaN and \(s.infCount) Inf values; the first at byte \(s.firstNonFiniteByteOffset ?? s.byteOffset)",
        file: s.file, byteOffset: s.firstNonFiniteByteOffset,
        evidence: [Evidence("tensor", s.name), Evidence("nan", s.nanCount), Evidence("inf", s.infCount),
                   Evidence("byte_offset", s.firstNonFiniteByteOffset ?? s.byteOffset)]))
    }
    if bad.count > 20 {
      out.findings.append(Finding(rule: Rules.weightsNonFinite, detector: name,
        detail: "\(bad.count - 20) more tensors hold NaN/Inf values", file: bad[20].file, byteOffset: bad[20].firstNonFiniteByteOffset))
    }
    let badScales = stats.filter { $0.nonFiniteScaleCount > 0 }
    for s in badScales.prefix(20) {
      out.findings.append(Finding(rule: Rules.weightsNonFiniteScale, detector: name,
        detail: "\(s.name) (\(s.type)) has \(s.nonFiniteScaleCount) NaN/Inf block scales; the first at byte \(s.firstNonFiniteScaleByteOffset ?? s.byteOffset)",
        file: s.file, byteOffset: s.firstNonFiniteScaleByteOffset,
        evidence: [Evidence("tensor", s.name), Evidence("blocks", s.nonFiniteScaleCount),
                   Evidence("byte_offset", s.firstNonFiniteScaleByteOffset ?? s.byteOffset)]))
    }
  }

  /// One info finding with the largest value of each statistic, so a report shows how far the model is from
  /// every threshold (the calibration numbers in this file's documentation come from it).
  static func summarize(_ stats: [TensorStatistics], file: String, into out: inout Outcome) {
    guard !stats.isEmpty else { return }
    let elements = stats.reduce(0) { $0 &+ $1.elementCount }
    func top(_ f: (TensorStatistics) -> Double?) -> (String, Double)? {
      stats.compactMap { s in f(s).map { (s.name, $0) } }.filter { $0.1.isFinite }.max { $0.1 < $1.1 }
    }
    let sigma = top { $0.excessKurtosis != nil && $0.standardDeviationWithoutMax > 0 ? Double($0.maxAbs) / $0.standardDeviationWithoutMax : nil }
    let kurt = top { $0.excessKurtosis }
    let scale = top { s in s.maxScaleLog2.flatMap { mx in s.medianScaleLog2.map { mx - $0 } } }
    let absMax = top { Double($0.maxAbs) }
    var parts = ["\(stats.count) tensors, \(elements) values"]
    var evidence = [Evidence("tensors", stats.count), Evidence("values", elements)]
    if let (n, v) = absMax { parts.append("largest |value| \(format1(v)) (\(n))"); evidence.append(Evidence("max_abs", .object([("tensor", .string(n)), ("value", .double(v))]))) }
    if let (n, v) = sigma { parts.append("largest matrix |value|/std \(format1(v)) (\(n); limit \(Int(sigmaLimit)))"); evidence.append(Evidence("max_sigmas", .object([("tensor", .string(n)), ("value", .double(v))]))) }
    if let (n, v) = kurt { parts.append("largest excess kurtosis \(format1(v)) (\(n); limit \(Int(kurtosisLimit)))"); evidence.append(Evidence("max_kurtosis", .object([("tensor", .string(n)), ("value", .double(v))]))) }
    if let (n, v) = scale { parts.append("largest block scale 2^\(format1(v)) x median (\(n); limit 2^\(Int(scaleRatioLog2)))"); evidence.append(Evidence("max_scale_log2_ratio", .object([("tensor", .string(n)), ("value", .double(v))]))) }
    out.findings.append(Finding(rule: Rules.weightsSummary, detector: name, detail: parts.joined(separator: "; "), file: file, evidence: evidence))
  }

  static let halfMax: Float = 65504
  static let sigmaLimit = 1000.0

  static func findMagnitudes(_ stats: [TensorStatistics], into out: inout Outcome) {
    for s in stats where s.maxAbs.isFinite {
      if s.maxAbs >= halfMax {
        out.findings.append(Finding(rule: Rules.weightsExtremeMagnitude, detector: name, severity: .high,
          detail: "\(s.name) holds a value of magnitude \(s.maxAbs), beyond the float16 range: half-precision inference overflows",
          file: s.file, byteOffset: s.byteOffset, evidence: [Evidence("tensor", s.name), Evidence("max_abs", Double(s.maxAbs))]))
      } else if s.excessKurtosis != nil, s.standardDeviationWithoutMax > 0, Double(s.maxAbs) / s.standardDeviationWithoutMax > sigmaLimit {
        let sigmas = Double(s.maxAbs) / s.standardDeviationWithoutMax
        out.findings.append(Finding(rule: Rules.weightsExtremeMagnitude, detector: name,
          detail: "\(s.name): largest |value| \(s.maxAbs) is \(wholeNumber(sigmas)) standard deviations (\(s.standardDeviationWithoutMax), without it) from zero",
          file: s.file, byteOffset: s.byteOffset,
          evidence: [Evidence("tensor", s.name), Evidence("max_abs", Double(s.maxAbs)), Evidence("std", s.standardDeviation),
                     Evidence("sigmas", sigmas)]))
      }
    }
  }

  static let kurtosisLimit = 1000.0

  static func findKurtosis(_ stats: [TensorStatistics], into out: inout Outcome) {
    let heavy = stats.filter { ($0.excessKurtosis ?? 0) > kurtosisLimit }.sorted { ($0.excessKurtosis ?? 0) > ($1.excessKurtosis ?? 0) }
    guard !heavy.isEmpty else { return }
    out.findings.append(Finding(rule: Rules.weightsKurtosis, detector: name,
      detail: "\(heavy.count) matrices are dominated by a few weights (excess kurtosis > \(Int(kurtosisLimit))): "
        + heavy.prefix(5).map { "\($0.name) \(wholeNumber($0.excessKurtosis ?? 0))" }.joined(separator: ", "),
      file: heavy[0].file, byteOffset: heavy[0].byteOffset,
      evidence: heavy.prefix(20).map { Evidence($0.name, $0.excessKurtosis ?? 0) }))
  }

  static let scaleRatioLog2 = 10.0

  static func findScaleOutliers(_ stats: [TensorStatistics], into out: inout Outcome) {
    for s in stats where s.scaleOutlierCount > 0 {
      guard let med = s.medianScaleLog2, let mx = s.maxScaleLog2 else { continue }
      out.findings.append(Finding(rule: Rules.weightsScaleOutlier, detector: name,
        detail: "\(s.name) (\(s.type)): \(s.scaleOutlierCount) block scales are >= 2^\(Int(scaleRatioLog2)) times the median; the largest is 2^\(String(format1(mx - med))) times, at byte \(s.maxScaleByteOffset ?? s.byteOffset)",
        file: s.file, byteOffset: s.maxScaleByteOffset,
        evidence: [Evidence("tensor", s.name), Evidence("blocks", s.scaleOutlierCount), Evidence("median_scale_log2", med),
                   Evidence("max_scale_log2", mx), Evidence("byte_offset", s.maxScaleByteOffset ?? s.byteOffset)]))
    }
  }

  static func format1(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return "\(r)"
  }

  static let candidateZ = 6.0
  static let candidateRatio: Float = 1.25
  static let flagZ = 12.0
  static let flagRatio: Float = 4

  static func findRowOutliers(_ input: ModelInput, tensors: [WeightTensor], rowNorms: [String: [Float]], into out: inout Outcome) {
    var tokenizer: Tokenizer?
    var built = false
    for t in tensors where t.isTokenMatrix {
      guard let norms = rowNorms[t.name], norms.count >= 16 else { continue }
      let (median, mad) = medianAndMAD(norms)
      guard median > 0 else { continue }
      let scale = Double(max(mad * 1.4826, median * 1e-3))  // floor: Gemma's rows are normalised (MAD 4e-4 of the median)
      var rows: [(id: Int, z: Double, ratio: Float)] = []
      // A row holding NaN/Inf has no norm to rank (WGT-001 reports its values).
      for (i, n) in norms.enumerated() where n.isFinite {
        let z = Double(n - median) / scale
        if z >= candidateZ && n >= median * candidateRatio { rows.append((i, z, n / median)) }
      }
      guard !rows.isEmpty else { continue }
      rows.sort { $0.z > $1.z }
      if !built {
        built = true
        if case .vocabulary(let v) = TokenizerAudit.loadVocabulary(input) { tokenizer = try? Tokenizer(v.vocabulary) }
      }
      func text(_ id: Int) -> String {
        guard let tokenizer, let s = try? tokenizer.decodeText([Int32(clamping: id)], renderSpecial: true) else { return "#\(id)" }
        return s
      }
      let flagged = rows.filter { $0.z >= flagZ && $0.ratio >= flagRatio }
      let top = rows.prefix(10)
      let rowOffset = { (id: Int) in t.byteOffset &+ id &* t.rowByteCount }  // can't overflow: inside the tensor
      out.findings.append(Finding(rule: Rules.weightsRowOutlier, detector: name, severity: flagged.isEmpty ? .info : .medium,
        detail: "\(t.name): \(rows.count) token rows have outlying norms (median \(median)); "
          + top.map { "id \($0.id) \(TokenizerAudit.quoted(text($0.id))) \(format1(Double($0.ratio)))x z=\(wholeNumber($0.z))" }.joined(separator: ", "),
        file: t.file.path, byteOffset: rowOffset(top[top.startIndex].id),
        evidence: [Evidence("tensor", t.name), Evidence("median_norm", Double(median)), Evidence("mad", Double(mad))]
          + top.map { Evidence("row_\($0.id)", .object([("id", .int($0.id)), ("text", .string(text($0.id))), ("norm_ratio", .double(Double($0.ratio))),
                                                         ("robust_z", .double($0.z)), ("byte_offset", .int(rowOffset($0.id)))])) }))
      for r in rows.prefix(10) {
        out.triggers.append(TriggerCandidate(text: text(r.id), tokenIDs: [r.id], source: "weights", score: r.z))
      }
    }
  }

  static func medianAndMAD(_ x: [Float]) -> (Float, Float) {
    let finite = x.filter(\.isFinite)
    guard !finite.isEmpty else { return (0, 0) }
    let sorted = finite.sorted()
    let median = sorted[sorted.count / 2]
    let dev = sorted.map { abs($0 - median) }.sorted()
    return (median, dev[dev.count / 2])
  }
}

// MARK: - The streaming pass

extension WeightStatistics {
  /// Central moments of a sample, combined exactly across parts (Pébay 2008, as in Welford's update).
  struct Moments {
    var n: Double = 0
    var mean: Double = 0
    var m2: Double = 0
    var m3: Double = 0
    var m4: Double = 0

    mutating func combine(_ b: Moments) {
      guard b.n > 0 else { return }
      guard n > 0 else { self = b; return }
      let na = n, nb = b.n, nt = na + nb
      let d = b.mean - mean
      let d2 = d * d, d3 = d2 * d, d4 = d2 * d2
      let m4n = m4 + b.m4 + d4 * na * nb * (na * na - na * nb + nb * nb) / (nt * nt * nt)
        + 6 * d2 * (na * na * b.m2 + nb * nb * m2) / (nt * nt) + 4 * d * (na * b.m3 - nb * m3) / nt
      let m3n = m3 + b.m3 + d3 * na * nb * (na - nb) / (nt * nt) + 3 * d * (na * b.m2 - nb * m2) / nt
      let m2n = m2 + b.m2 + d2 * na * nb / nt
      mean += d * nb / nt
      m2 = m2n
      m3 = m3n
      m4 = m4n
      n = nt
    }
  }

  struct ChunkResult {
    var moments = Moments()
    var nan = 0
    var inf = 0
    var firstNonFinite = -1
    var maxAbs: Float = 0
    var nonFiniteScales = 0
    var firstNonFiniteScale = -1  // byte offset within the tensor
    var maxScaleBits: UInt16 = 0
    var maxScaleByte = -1
    var failed: DequantizeError?
  }

  /// Byte offsets of the float16 scales inside one block (`d` first), by type.
  static func scaleOffsets(_ type: GGMLType) -> [Int] {
    switch type {
    case .q4_0, .q5_0, .q8_0, .iq4_NL, .iq4_XS: [0]
    case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
    case .q8_1: [0]
    case .q2_K: [80, 82]
    case .q3_K: [108]
    case .q6_K: [208]
    default: []
    }
  }

  static let histogramBins = 1024  // |f16 scale| bits >> 5: exponent and 5 mantissa bits (1/32 octave)

  final class Pass: @unchecked Sendable {
    // @unchecked: each worker writes only its own chunk results, norm slices and histogram; read after `run`.
    let tensors: [WeightTensor]
    let threads: Int
    var chunks: [(tensor: Int, rows: Range<Int>)] = []
    var chunkStart: [Int] = []  // first chunk of each tensor
    var results: [ChunkResult] = []
    var norms: [Int: UnsafeMutableBufferPointer<Float>] = [:]
    var histogramSlot: [Int: Int] = [:]
    var histograms: [UInt32] = []
    var failures: [Int: String] = [:]
    var rowNorms: [Int: [Float]] = [:]
    let chunkElements = 1 << 16
    static let maxRowLength = 1 << 24

    init(tensors: [WeightTensor], threads: Int) {
      self.tensors = tensors
      self.threads = max(1, min(64, threads))
      for (i, t) in tensors.enumerated() {
        chunkStart.append(chunks.count)
        guard t.rowLength <= Self.maxRowLength else {
          failures[i] = "rows of \(t.rowLength) elements exceed the streaming limit"
          continue
        }
        let rowsPerChunk = max(1, chunkElements / t.rowLength)
        var r = 0
        while r < t.rowCount {
          let e = min(t.rowCount, r + rowsPerChunk)
          chunks.append((i, r..<e))
          r = e
        }
        if t.isTokenMatrix && t.dimensions.count == 2 {
          let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: t.rowCount)
          b.initialize(repeating: 0)
          norms[i] = b
        }
        if let type = ggmlType(t), !scaleOffsets(type).isEmpty {
          histogramSlot[i] = histogramSlot.count
        }
      }
      chunkStart.append(chunks.count)
      results = [ChunkResult](repeating: ChunkResult(), count: chunks.count)
      histograms = [UInt32](repeating: 0, count: self.threads * histogramSlot.count * histogramBins)
    }

    deinit { for (_, b) in norms { b.deallocate() } }

    func ggmlType(_ t: WeightTensor) -> GGMLType? {
      if case .gguf(let type) = t.encoding { return type }
      return nil
    }

    func run() {
      let maxRow = tensors.indices.filter { failures[$0] == nil }.map { tensors[$0].rowLength }.max() ?? 0
      let capacity = max(chunkElements, maxRow)
      let slots = histogramSlot.count
      let results = UnsafeMutableBufferPointer<ChunkResult>.allocate(capacity: chunks.count)
      results.initialize(repeating: ChunkResult())
      let hist = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: histograms.count)
      hist.initialize(repeating: 0)
      defer {
        results.deallocate()
        hist.deallocate()
      }
      var stride = threads
      let work = { (thread: Int) in
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var c = thread
        while c < self.chunks.count {
          let (ti, rows) = self.chunks[c]
          let histBase = self.histogramSlot[ti].map { (thread * slots + $0) * histogramBins }
          results[c] = self.process(tensor: self.tensors[ti], rows: rows, buffer: buffer,
            norms: self.norms[ti], histogram: histBase.map { UnsafeMutableBufferPointer(rebasing: hist[$0..<($0 + histogramBins)]) })
          c += stride
        }
      }
      if threads == 1 {
        work(0)
      } else {
        let pool = ThreadPool(threadCount: threads)
        stride = pool.runningThreadCount  // fewer if a thread could not be created: every chunk still runs
        pool.run(work)
        pool.shutdown()
      }
      self.results = Array(results)
      self.histograms = Array(hist)
      for (i, t) in tensors.enumerated() where failures[i] == nil {
        if let f = results[chunkStart[i]..<chunkStart[i + 1]].first(where: { $0.failed != nil })?.failed {
          failures[i] = "\(f)"
        }
        if let b = norms[i] { rowNorms[i] = Array(b.prefix(t.rowCount)) }
      }
    }

    /// Decodes and measures one chunk of rows.
    func process(tensor t: WeightTensor, rows: Range<Int>, buffer: UnsafeMutableBufferPointer<Float>,
                 norms: UnsafeMutableBufferPointer<Float>?, histogram: UnsafeMutableBufferPointer<UInt32>?) -> ChunkResult {
      var r = ChunkResult()
      let n = rows.count * t.rowLength  // can't overflow: at most the tensor's element count
      do { try t.decodeRows(rows, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<n])) } catch {
        r.failed = error
        return r
      }
      guard let base = buffer.baseAddress else { return r }
      for (k, row) in rows.enumerated() {
        let p = base + k * t.rowLength
        let m = rowMoments(p, t.rowLength)
        if m.finite {
          r.moments.combine(m.moments)
          r.maxAbs = max(r.maxAbs, m.maxAbs)
          norms?[row] = m.norm
        } else {
          // Slow path: count NaN/Inf, measure the finite values in double precision.
          var rm = Moments()
          var sumsq = 0.0
          var maxAbs: Float = 0
          for j in 0..<t.rowLength {
            let x = p[j]
            if x.isNaN || x.isInfinite {
              if x.isNaN { r.nan += 1 } else { r.inf += 1 }
              if r.firstNonFinite < 0 { r.firstNonFinite = row * t.rowLength + j }
              continue
            }
            rm.combine(Moments(n: 1, mean: Double(x), m2: 0, m3: 0, m4: 0))
            sumsq += Double(x) * Double(x)
            maxAbs = max(maxAbs, abs(x))
          }
          r.moments.combine(rm)
          r.maxAbs = max(r.maxAbs, maxAbs)
          norms?[row] = Float(sumsq.squareRoot())
        }
      }
      if let histogram, case .gguf(let type) = t.encoding, let (be, bb) = t.block {
        let offsets = scaleOffsets(type)
        let blocksPerRow = t.rowLength / be
        let startByte = rows.lowerBound * t.rowByteCount
        let blockCount = rows.count * blocksPerRow
        _ = t.file.withBytes(byteOffset: t.byteOffset + startByte, count: blockCount * bb) { bytes in
          for b in 0..<blockCount {
            for (k, o) in offsets.enumerated() {
              let bits = UInt16(bytes[b * bb + o]) | UInt16(bytes[b * bb + o + 1]) << 8
              let magnitude = bits & 0x7FFF
              if magnitude & 0x7C00 == 0x7C00 {
                r.nonFiniteScales += 1
                if r.firstNonFiniteScale < 0 { r.firstNonFiniteScale = startByte + b * bb + o }
                continue
              }
              guard k == 0, magnitude != 0 else { continue }
              histogram[Int(magnitude >> 5)] &+= 1
              if magnitude > r.maxScaleBits {
                r.maxScaleBits = magnitude
                r.maxScaleByte = startByte + b * bb + o
              }
            }
          }
        }
      }
      return r
    }

    /// Combines the chunks of tensor `i`.
    func statistics(tensor i: Int) -> TensorStatistics {
      let t = tensors[i]
      var s = TensorStatistics(name: t.name, file: t.file.path, type: t.typeName, elementCount: t.rowCount * t.rowLength,
        byteOffset: t.byteOffset)
      var m = Moments()
      var maxScaleBits: UInt16 = 0
      for c in results[chunkStart[i]..<chunkStart[i + 1]] {
        m.combine(c.moments)
        s.nanCount += c.nan
        s.infCount += c.inf
        if c.firstNonFinite >= 0, s.firstNonFiniteByteOffset == nil {
          s.firstNonFiniteByteOffset = t.byteOffset + elementByteOffset(t, c.firstNonFinite)
        }
        s.maxAbs = max(s.maxAbs, c.maxAbs)
        s.nonFiniteScaleCount += c.nonFiniteScales
        if c.firstNonFiniteScale >= 0, s.firstNonFiniteScaleByteOffset == nil {
          s.firstNonFiniteScaleByteOffset = t.byteOffset + c.firstNonFiniteScale
        }
        if c.maxScaleBits > maxScaleBits {
          maxScaleBits = c.maxScaleBits
          s.maxScaleByteOffset = t.byteOffset + c.maxScaleByte
        }
      }
      s.mean = m.mean
      if m.n > 1 {
        let variance = m.m2 / m.n
        s.standardDeviation = variance.squareRoot()
        let outlier = Double(s.maxAbs) - abs(m.mean)
        s.standardDeviationWithoutMax = (max(0, m.m2 - outlier * outlier) / (m.n - 1)).squareRoot()
        if t.dimensions.filter({ $0 > 1 }).count >= 2, m.n >= 4096, variance > 0 {
          s.excessKurtosis = (m.m4 / m.n) / (variance * variance) - 3
        }
      }
      if let slot = histogramSlot[i] {
        var h = [UInt32](repeating: 0, count: histogramBins)
        for th in 0..<threads {
          let base = (th * histogramSlot.count + slot) * histogramBins
          for b in 0..<histogramBins { h[b] &+= histograms[base + b] }
        }
        let total = h.reduce(0) { $0 + Int($1) }
        if total > 0 {
          func log2Of(bin: Int) -> Double { Glibc.log2(Double(Float(Float16(bitPattern: UInt16(bin << 5 | 16))))) }
          var acc = 0
          var medianBin = 0
          for b in 0..<histogramBins {
            acc += Int(h[b])
            if acc * 2 >= total { medianBin = b; break }
          }
          let med = log2Of(bin: medianBin)
          s.medianScaleLog2 = med
          s.maxScaleLog2 = Glibc.log2(Double(Float(Float16(bitPattern: maxScaleBits))))
          for b in 0..<histogramBins where h[b] > 0 && log2Of(bin: b) - med >= scaleRatioLog2 { s.scaleOutlierCount += Int(h[b]) }
        }
      }
      return s
    }

    func elementByteOffset(_ t: WeightTensor, _ element: Int) -> Int {
      if let (be, bb) = t.block { return element / be * bb }
      let total = t.rowCount * t.rowLength
      return total == 0 ? 0 : element * (t.byteCount / total)
    }
  }

  /// Mean-centred moments, L2 norm and max |x| of one row (SIMD, two passes over a cache-resident row).
  static func rowMoments(_ p: UnsafePointer<Float>, _ n: Int) -> (moments: Moments, norm: Float, maxAbs: Float, finite: Bool) {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var j = 0
    let raw = UnsafeRawPointer(p)
    while j + 16 <= n {
      let x0 = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      let x1 = raw.loadUnaligned(fromByteOffset: (j + 8) * 4, as: SIMD8<Float>.self)
      s0 += x0
      s1 += x1
      // Compare-and-blend, not pointwiseMax (lane-by-lane IEEE maximum, 65% of the scan's time in a profile).
      // NaN lanes compare false and are caught by the sums below.
      let y0 = x0.replacing(with: -x0, where: x0 .< 0)
      let y1 = x1.replacing(with: -x1, where: x1 .< 0)
      a0.replace(with: y0, where: y0 .> a0)
      a1.replace(with: y1, where: y1 .> a1)
      j += 16
    }
    var sum = (s0 + s1).sum()
    a0.replace(with: a1, where: a1 .> a0)
    var maxAbs = a0.max()
    while j < n {
      sum += p[j]
      maxAbs = max(maxAbs, abs(p[j]))
      j += 1
    }
    let mean = sum / Float(n)
    let mv = SIMD8<Float>(repeating: mean)
    var c2 = SIMD8<Float>(), c3 = SIMD8<Float>(), c4 = SIMD8<Float>()
    j = 0
    while j + 8 <= n {
      let d = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - mv
      let d2 = d * d
      c2 += d2
      c3 += d2 * d
      c4 += d2 * d2
      j += 8
    }
    var m2 = Double(c2.sum()), m3 = Double(c3.sum()), m4 = Double(c4.sum())
    while j < n {
      let d = Double(p[j] - mean)
      m2 += d * d
      m3 += d * d * d
      m4 += d * d * d * d
      j += 1
    }
    let finite = sum.isFinite && m4.isFinite && maxAbs.isFinite
    let nd = Double(n)
    let norm = Float((m2 + nd * Double(mean) * Double(mean)).squareRoot())
    return (Moments(n: nd, mean: Double(mean), m2: m2, m3: m3, m4: m4), norm, maxAbs, finite)
  }
}
