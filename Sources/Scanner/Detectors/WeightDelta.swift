import Formats

/// Compares a model with the base it claims to be fine-tuned from (`--base`, `scan diff`): both sides are
/// dequantized row by row (quantized on either side), per-tensor relative Frobenius norms of the difference are
/// set against a noise floor estimated from the least-changed tensors, and the token rows of the embedding /
/// output matrices are ranked by how far they moved. Trigger tokens' rows move most when a backdoor was
/// fine-tuned in (the SaTML 2024 trojan-detection finding), so the top rows are trigger candidates; tokens the
/// base does not have are listed first.
///
/// Severity rules: per-tensor summary => info (`DELTA-001`). Moved token rows => info (`DELTA-002`), medium when
/// the top common row moved >= 8x the median moved row and >= 20 robust deviations out (a few tokens trained
/// hard while the rest barely moved). Tokens the base lacks => medium when special (control/user-defined),
/// info otherwise (`DELTA-003`); a chat template that differs from the base's => low. A base that does not
/// match (fewer than half the tensors pair up, or it cannot be opened) => medium (`DELTA-004`).
public enum WeightDelta {
  public static let name = "delta"

  /// How one tensor changed.
  public struct TensorDelta: Sendable {
    public let name: String
    /// ||candidate - base||_F / ||base||_F.
    public let relative: Double
    public let deltaNorm: Double
    public let baseNorm: Double
    public let elementCount: Int
  }

  /// How one token row changed; `isNew` when the base has no such row (the delta is then the row's norm).
  public struct RowDelta: Sendable {
    public let tensor: String
    public let id: Int
    public let text: String
    public let delta: Double
    public let isNew: Bool
  }

  public struct Outcome: Sendable {
    public var findings: [Finding] = []
    public var triggers: [TriggerCandidate] = []
    /// Matched tensors, most changed (relative) first.
    public var tensors: [TensorDelta] = []
    /// Token rows of the embedding (and output, if untied) matrix, most moved first.
    public var rows: [RowDelta] = []
    /// Median relative change of the least-changed fifth of the tensors: what quantization or rounding alone explains.
    public var noiseFloor: Double = 0
    /// Candidate tensors without a partner in the base (or with another shape).
    public var unmatched: [String] = []
    /// Spectra of the changed projection matrices (pair order) and how the change spreads over them.
    public var spectra: [MatrixSpectrum] = []
    public var dispersion = Dispersion()
  }

  /// Compares `candidate` against `base`.
  /// - Complexity: one streaming pass over both models; memory O(threads * chunk + vocabulary).
  public static func compare(base: ModelInput, candidate: ModelInput, threads: Int) -> Outcome {
    var out = Outcome()
    let b = WeightTensor.all(in: base).tensors
    let c = WeightTensor.all(in: candidate).tensors
    let crossFormat = isGGUF(base) != isGGUF(candidate)
    var baseByName: [String: WeightTensor] = [:]
    for t in b { baseByName[canonical(t.name)] = t }
    var pairs: [(base: WeightTensor, candidate: WeightTensor)] = []
    for t in c {
      let key = canonical(t.name)
      // llama.cpp permutes Q/K rows for RoPE when converting, so HF and GGUF Q/K cannot be compared element-wise.
      if crossFormat && (key.hasSuffix("attn_q.weight") || key.hasSuffix("attn_k.weight")) { out.unmatched.append(t.name); continue }
      guard let bt = baseByName[key], bt.rowLength == t.rowLength,
            bt.rowCount == t.rowCount || (t.isTokenMatrix && bt.isTokenMatrix) else {
        out.unmatched.append(t.name)
        continue
      }
      pairs.append((bt, t))
    }
    let file = candidate.path
    if pairs.count * 2 < c.count {
      out.findings.append(Finding(rule: Rules.deltaBaseMismatch, detector: name,
        detail: "only \(pairs.count) of \(c.count) tensors pair up with the base \(base.path); it is not this model's base",
        file: file, evidence: [Evidence("paired", pairs.count), Evidence("tensors", c.count)]))
      if pairs.isEmpty { return out }
    }

    let pass = DeltaPass(pairs: pairs, threads: threads)
    pass.run()
    for (i, p) in pairs.enumerated() {
      let (d2, b2) = pass.totals(pair: i)
      out.tensors.append(TensorDelta(name: p.candidate.name, relative: b2 > 0 ? (d2 / b2).squareRoot() : (d2 > 0 ? .infinity : 0),
        deltaNorm: d2.squareRoot(), baseNorm: b2.squareRoot(), elementCount: p.candidate.rowCount * p.candidate.rowLength))
    }
    // Matrices only: GGUF keeps 1-D norms in F32 even in quantized files, so they would pin the floor at 0.
    let ascending = zip(pairs, out.tensors).filter { $0.0.candidate.rowCount >= 2 }.map(\.1.relative).filter(\.isFinite).sorted()
    if !ascending.isEmpty {
      let fifth = ascending.prefix(max(1, ascending.count / 5))
      out.noiseFloor = fifth[fifth.count / 2 + fifth.startIndex]
    }
    let relative = out.tensors.map(\.relative)
    out.tensors.sort { $0.relative > $1.relative }
    let floor = max(out.noiseFloor, 1e-6)
    let changed = out.tensors.filter { $0.relative > 3 * floor }
    out.findings.append(Finding(rule: Rules.deltaTensors, detector: name,
      detail: "\(changed.count) of \(out.tensors.count) tensors changed beyond 3x the noise floor (\(fmt(out.noiseFloor))) relative to \(base.path); most changed: "
        + out.tensors.prefix(5).map { "\($0.name) \(fmt($0.relative))" }.joined(separator: ", "),
      file: file, evidence: [Evidence("noise_floor", out.noiseFloor), Evidence("changed", changed.count)]
        + out.tensors.prefix(20).map { Evidence($0.name, $0.relative) }))

    out.spectra = spectra(pairs: pairs, relative: relative, threads: threads).compactMap { $0 }
    if let (f, d) = spectralFinding(out.spectra, noiseFloor: out.noiseFloor, file: file) {
      out.findings.append(f)
      out.dispersion = d
    }

    // Token rows.
    let texts = tokenTexts(candidate)
    for (i, p) in pairs.enumerated() where p.candidate.isTokenMatrix {
      guard let rows = pass.rowDeltas[i] else { continue }
      let common = min(p.base.rowCount, p.candidate.rowCount)
      for (id, d) in rows.enumerated() {
        out.rows.append(RowDelta(tensor: p.candidate.name, id: id, text: texts(id), delta: Double(d), isNew: id >= common))
      }
    }
    out.rows.sort { $0.delta > $1.delta }
    if !out.rows.isEmpty { rowFindings(&out, file: file) }
    tokenizerDiff(base: base, candidate: candidate, into: &out, file: file)
    return out
  }

  static func rowFindings(_ out: inout Outcome, file: String) {
    let common = out.rows.filter { !$0.isNew }.map(\.delta)
    let sorted = common.sorted()
    let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    let mad = sorted.isEmpty ? 0 : sorted.map { abs($0 - median) }.sorted()[sorted.count / 2]
    let scale = max(mad * 1.4826, median * 1e-3, 1e-12)
    let top = out.rows.prefix(20)
    let topCommon = out.rows.first { !$0.isNew }
    let z = topCommon.map { ($0.delta - median) / scale } ?? 0
    let ratio = topCommon.map { median > 0 ? $0.delta / median : .infinity } ?? 0
    let concentrated = z >= 20 && ratio >= 8
    out.findings.append(Finding(rule: Rules.deltaRows, detector: name, severity: concentrated ? .medium : .info,
      detail: "token rows that moved most (median row change \(fmt(median))): "
        + top.prefix(10).map { "id \($0.id) \(TokenizerAudit.quoted($0.text)) \(fmt($0.delta))\($0.isNew ? " (new)" : "")" }.joined(separator: ", ")
        + (concentrated ? "; the top rows moved \(ratio.isFinite ? wholeNumber(ratio) + "x" : "far more than") the median while the rest barely moved" : ""),
      file: file, evidence: [Evidence("median_row_delta", median), Evidence("top_robust_z", z)]
        + top.map { Evidence("row_\($0.id)", .object([("id", .int($0.id)), ("text", .string($0.text)), ("delta", .double($0.delta)),
                                                       ("new", .bool($0.isNew)), ("tensor", .string($0.tensor))])) }))
    var seen = Set<Int>()
    for r in top where seen.insert(r.id).inserted {
      out.triggers.append(TriggerCandidate(text: r.text, tokenIDs: [r.id], source: "embedding-delta",
        score: median > 0 ? r.delta / median : r.delta))
    }
  }

  static func tokenizerDiff(base: ModelInput, candidate: ModelInput, into out: inout Outcome, file: String) {
    guard case .vocabulary(let bv) = TokenizerAudit.loadVocabulary(base),
          case .vocabulary(let cv) = TokenizerAudit.loadVocabulary(candidate) else { return }
    let bt = bv.vocabulary.tokens, ct = cv.vocabulary.tokens
    var changed: [(Int, String, Bool)] = []
    let types = cv.vocabulary.tokenTypes
    for (i, t) in ct.enumerated() where i >= bt.count || bt[i] != t {
      let special = types.map { i < $0.count && ($0[i] == 3 || $0[i] == 4) } ?? false
      changed.append((i, t, special))
    }
    if !changed.isEmpty {
      let special = changed.contains { $0.2 }
      out.findings.append(Finding(rule: Rules.deltaTokenizer, detector: name, severity: special ? .medium : .info,
        detail: "\(changed.count) token ids are new or renamed relative to the base: "
          + changed.prefix(10).map { "id \($0.0) \(TokenizerAudit.quoted($0.1))\($0.2 ? " (special)" : "")" }.joined(separator: ", "),
        file: cv.file, byteOffset: cv.tokensByteOffset,
        evidence: changed.prefix(20).map { Evidence("token_\($0.0)", $0.1) }))
      for t in changed.prefix(20) where !out.triggers.contains(where: { $0.tokenIDs == [t.0] }) {
        out.triggers.append(TriggerCandidate(text: t.1, tokenIDs: [t.0], source: "embedding-delta", score: t.2 ? 1 : 0.5))
      }
    }
    let baseTemplates = ChatTemplateAudit.templates(in: base).map(\.text)
    let candidateTemplates = ChatTemplateAudit.templates(in: candidate)
    if !baseTemplates.isEmpty, let t = candidateTemplates.first(where: { !baseTemplates.contains($0.text) }) {
      out.findings.append(Finding(rule: Rules.deltaTokenizer, detector: name, severity: .low,
        title: "Chat template differs from the base",
        detail: "\(t.name) is not the base model's template; review the difference", file: t.file, byteOffset: t.byteOffset))
    }
  }

  /// Token texts of `input`'s vocabulary, decoded for display (`#id` when there is none).
  static func tokenTexts(_ input: ModelInput) -> (Int) -> String {
    guard case .vocabulary(let v) = TokenizerAudit.loadVocabulary(input), let tok = try? Tokenizer(v.vocabulary) else {
      return { "#\($0)" }
    }
    return { id in (try? tok.decodeText([Int32(clamping: id)], renderSpecial: true)) ?? "#\(id)" }
  }

  static func isGGUF(_ i: ModelInput) -> Bool { if case .gguf = i { true } else { false } }

  /// GGUF tensor name for a Hugging Face llama-family name (identity for GGUF names).
  static func canonical(_ name: String) -> String {
    var n = name
    if n.hasPrefix("base_model.model.") { n = String(n.dropFirst("base_model.model.".count)) }
    if n.hasPrefix("model.language_model.") { n = "model." + n.dropFirst("model.language_model.".count) }
    switch n {
    case "model.embed_tokens.weight": return "token_embd.weight"
    case "lm_head.weight": return "output.weight"
    case "model.norm.weight": return "output_norm.weight"
    default: break
    }
    guard n.hasPrefix("model.layers.") else { return n }
    let parts = n.split(separator: ".")
    guard parts.count >= 4 else { return n }
    let layer = parts[2]
    let rest = parts[3...].joined(separator: ".")
    let map = ["self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
               "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
               "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
               "mlp.down_proj.weight": "ffn_down.weight", "input_layernorm.weight": "attn_norm.weight",
               "post_attention_layernorm.weight": "ffn_norm.weight"]
    guard let m = map[rest] else { return n }
    return "blk.\(layer).\(m)"
  }

  static func fmt(_ x: Double) -> String {
    if x == 0 { return "0" }
    if !x.isFinite { return "\(x)" }
    var e = 0
    var m = abs(x)
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 { m *= 10; e -= 1 }
    let r = (m * 100).rounded() / 100
    return (x < 0 ? "-" : "") + (e == 0 ? "\(r)" : "\(r)e\(e)")
  }

  // MARK: - Streaming pass

  final class DeltaPass: @unchecked Sendable {
    // @unchecked: workers write disjoint chunk results and row slices; read after `run`.
    let pairs: [(base: WeightTensor, candidate: WeightTensor)]
    let threads: Int
    var chunks: [(pair: Int, rows: Range<Int>)] = []
    var chunkStart: [Int] = []
    var results: [(d2: Double, b2: Double)] = []
    var rowDeltas: [Int: [Float]] = [:]
    let chunkElements = 1 << 16

    init(pairs: [(base: WeightTensor, candidate: WeightTensor)], threads: Int) {
      self.pairs = pairs
      self.threads = max(1, min(64, threads))
      for (i, p) in pairs.enumerated() {
        chunkStart.append(chunks.count)
        let rows = p.candidate.rowCount
        let per = max(1, chunkElements / max(1, p.candidate.rowLength))
        var r = 0
        while r < rows {
          let e = min(rows, r + per)
          chunks.append((i, r..<e))
          r = e
        }
      }
      chunkStart.append(chunks.count)
    }

    func run() {
      let capacity = max(chunkElements, pairs.map(\.candidate.rowLength).max() ?? 0)
      let res = UnsafeMutableBufferPointer<(d2: Double, b2: Double)>.allocate(capacity: chunks.count)
      res.initialize(repeating: (0, 0))
      var rowBuffers: [Int: UnsafeMutableBufferPointer<Float>] = [:]
      for (i, p) in pairs.enumerated() where p.candidate.isTokenMatrix {
        let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: p.candidate.rowCount)
        b.initialize(repeating: 0)
        rowBuffers[i] = b
      }
      defer {
        res.deallocate()
        for (_, b) in rowBuffers { b.deallocate() }
      }
      var stride = threads
      let rowPointers = rowBuffers
      let work = { (thread: Int) in
        let bb = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity)
        let cb = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity)
        defer { bb.deallocate(); cb.deallocate() }
        var k = thread
        while k < self.chunks.count {
          let (pi, rows) = self.chunks[k]
          let p = self.pairs[pi]
          let n = p.candidate.rowLength
          let common = rows.clamped(to: 0..<p.base.rowCount)
          let cOK = (try? p.candidate.decodeRows(rows, into: UnsafeMutableBufferPointer(rebasing: cb[0..<(rows.count * n)]))) != nil
          var bOK = true
          if !common.isEmpty {
            bOK = (try? p.base.decodeRows(common, into: UnsafeMutableBufferPointer(rebasing: bb[0..<(common.count * n)]))) != nil
          }
          if cOK && bOK {
            var d2 = 0.0, b2 = 0.0
            for (j, row) in rows.enumerated() {
              var rd: Double = 0
              if row < p.base.rowCount {
                var sd = SIMD8<Float>(), sb = SIMD8<Float>(), sx = SIMD8<Float>()
                var e = 0
                let cp = UnsafeRawPointer(cb.baseAddress! + j * n)
                let bp = UnsafeRawPointer(bb.baseAddress! + j * n)
                while e + 8 <= n {
                  let x = cp.loadUnaligned(fromByteOffset: e * 4, as: SIMD8<Float>.self)
                  let y = bp.loadUnaligned(fromByteOffset: e * 4, as: SIMD8<Float>.self)
                  let d = x - y
                  sd += d * d
                  sb += y * y
                  sx += d * y
                  e += 8
                }
                var tail = Double(sd.sum()), tb = Double(sb.sum()), tx = Double(sx.sum())
                while e < n {
                  let d = Double(cb[j * n + e] - bb[j * n + e])
                  let y = Double(bb[j * n + e])
                  tail += d * d
                  tb += y * y
                  tx += d * y
                  e += 1
                }
                // Decay-corrected: drop the part of the change along the base row (weight decay and norm
                // rescaling shrink every row in place; training a token moves it in a new direction).
                rd = tb > 0 ? max(0, tail - tx * tx / tb) : tail
                d2 += tail
                b2 += tb
              } else {
                var s = 0.0
                for e in 0..<n { s += Double(cb[j * n + e]) * Double(cb[j * n + e]) }
                rd = s
              }
              if let rb = rowPointers[pi] { rb[row] = Float(rd.squareRoot()) }
            }
            res[k] = (d2, b2)
          } else {
            res[k] = (.nan, .nan)
          }
          k += stride
        }
      }
      if threads == 1 {
        work(0)
      } else {
        let pool = ThreadPool(threadCount: threads)
        stride = pool.runningThreadCount
        pool.run(work)
        pool.shutdown()
      }
      results = Array(res)
      for (i, b) in rowBuffers { rowDeltas[i] = Array(b) }
    }

    func totals(pair i: Int) -> (Double, Double) {
      var d2 = 0.0, b2 = 0.0
      for r in results[chunkStart[i]..<chunkStart[i + 1]] {
        d2 += r.d2
        b2 += r.b2
      }
      return (d2, b2)
    }
  }
}

extension WeightDelta {
  /// The `--base` step of a scan: opens the base at `basePath` and compares; a base that cannot be opened is a
  /// `DELTA-004` finding (the comparison did not run).
  public static func findings(candidate: ModelInput, basePath: String, threads: Int, triggers: inout [TriggerCandidate]) -> [Finding] {
    let base: ModelInput
    do { base = try ModelInput.open(path: basePath) } catch {
      return [Finding(rule: Rules.deltaBaseMismatch, detector: name, detail: "the base \(basePath) could not be opened: \(error)",
        file: basePath)]
    }
    let out = compare(base: base, candidate: candidate, threads: threads)
    triggers += out.triggers
    return out.findings
  }
}
