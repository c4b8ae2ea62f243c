import Formats

/// PEFT LoRA adapters in safetensors (`…q_proj.lora_A.weight` (r, in) / `…lora_B.weight` (out, r),
/// `adapter_config.json` with `r`, `lora_alpha`, `use_rslora`, `target_modules`, `modules_to_save`): each pair is
/// analysed as the change it applies, `scale * B * A`, through its factors (r x r Gram matrices; the product
/// is never formed): Frobenius norm, top singular values, energy share, effective rank.
///
/// Adapters on the token embedding or the output matrix, and `modules_to_save` copies of them, train token
/// rows directly: those rows are trigger candidates, ranked by how far the adapter moves them (LoRA: the norm
/// of row t of scale * B * A; a saved full matrix: robust deviation of the row norm from the median row).
///
/// Severity: adapter summary => info (`LORA-001`); an adapter or saved copy of embed_tokens / lm_head => medium
/// (`LORA-002`), its top rows become trigger candidates.
public enum LoRAAdapter {
  public static let name = "lora"

  /// What `adapter_config.json` says (defaults when absent: scale 1).
  public struct Config: Sendable {
    public var rank: Int?
    public var alpha: Double?
    public var rslora = false
    public var targetModules: [String] = []
    public var modulesToSave: [String] = []
    public var path: String?

    /// lora_alpha / r (rsLoRA: lora_alpha / sqrt(r)); 1 when unknown.
    public func scale(rank r: Int) -> Double {
      guard let alpha, r > 0 else { return 1 }
      return rslora ? alpha / Double(r).squareRoot() : alpha / Double(r)
    }
  }

  /// One adapted module.
  public struct Module: Sendable {
    public let name: String
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    public let scale: Double
    /// ||scale * B * A||_F.
    public let norm: Double
    public let singularValues: [Double]
    public let top1Share: Double
    public let effectiveRank: Double
    /// Whether it adapts the token embedding or the output matrix.
    public let isTokenMatrix: Bool
  }

  public struct RowMove: Sendable {
    public let tensor: String
    public let id: Int
    public let text: String
    public let score: Double
  }

  public struct Outcome: Sendable {
    public var isAdapter = false
    public var config = Config()
    public var modules: [Module] = []
    /// Token rows the adapter trains, most moved first.
    public var rows: [RowMove] = []
    public var findings: [Finding] = []
    public var triggers: [TriggerCandidate] = []
  }

  static let tokenModuleNames = ["embed_tokens", "lm_head", "wte", "word_embeddings", "embed_out", "output"]
  /// Factor elements above which a pair is not decoded (a real adapter's factors are far smaller).
  static let maxFactorElements = 1 << 26
  /// Largest rank analysed: the r x r eigenproblems are O(r^3) and token-row scores O(vocab * r^2); real adapters
  /// use r <= 256. A factor pair with a larger "rank" (a hostile shape) is listed as not analysed.
  static let maxRank = 512

  static func isTokenModule(_ name: String) -> Bool {
    let last = name.split(separator: ".").last.map(String.init) ?? name
    return tokenModuleNames.contains(last)
  }

  /// Analyses `input` if it is a LoRA adapter (otherwise `isAdapter` is false and nothing is reported).
  /// - Complexity: O(sum over pairs of (in + out) * r^2); memory O(largest factor).
  public static func analyze(_ input: ModelInput) -> Outcome {
    var out = Outcome()
    guard case .safetensors(let files, _, let folder) = input else { return out }
    let tensors = WeightTensor.all(in: input).tensors
    var factors: [String: (a: WeightTensor?, b: WeightTensor?, embedding: Bool)] = [:]
    for t in tensors {
      guard let (module, isA, embedding) = factorName(t.name) else { continue }
      var e = factors[module] ?? (nil, nil, embedding)
      if isA { e.a = t } else { e.b = t }
      factors[module] = e
    }
    let configPath = folder?.otherFiles.first { $0.hasSuffix("/adapter_config.json") }
      ?? files.first.map { f in directory(of: f.file.path) + "adapter_config.json" }
    let config = configPath.flatMap(readConfig)
    guard !factors.isEmpty || config != nil else { return out }
    out.isAdapter = true
    out.config = config ?? Config()
    let file = files.first?.file.path ?? input.path
    let texts = WeightDelta.tokenTexts(input)

    for (module, f) in factors.sorted(by: { $0.key < $1.key }) {
      guard let a = f.a, let b = f.b else { continue }
      // lora_A (r, in), lora_B (out, r); embedding LoRA: lora_embedding_A (r, vocab), lora_embedding_B (d, r).
      let r = a.rowCount
      guard r > 0, r <= maxRank, b.rowLength == r, a.rowCount * a.rowLength <= maxFactorElements, b.rowCount * b.rowLength <= maxFactorElements,
            let av = decode(a), let bv = decode(b) else { continue }
      let scale = out.config.scale(rank: r)
      guard let s = Spectral.summary(loraA: av, loraB: bv, rank: r, inputs: a.rowLength, outputs: b.rowCount, scale: scale) else { continue }
      let token = f.embedding || isTokenModule(module)
      out.modules.append(Module(name: module, rank: r, inputs: a.rowLength, outputs: b.rowCount, scale: scale,
        norm: s.energy.squareRoot(), singularValues: s.singularValues, top1Share: s.topShare(1), effectiveRank: s.effectiveRank,
        isTokenMatrix: token))
      if token {
        // Token t's row of dW: embedding LoRA -> scale * B a_t (a_t = column t of A); lm_head LoRA -> scale * b_t^T A.
        let moves = f.embedding
          ? columnNorms(of: av, rows: r, cols: a.rowLength, through: gram(columnsOf: bv, rows: b.rowCount, cols: r), scale: scale)
          : rowNorms(of: bv, rows: b.rowCount, cols: r, through: gram(rowsOf: av, rows: r, cols: a.rowLength), scale: scale)
        for (id, m) in moves.enumerated() { out.rows.append(RowMove(tensor: module, id: id, text: texts(id), score: m)) }
      }
    }
    // modules_to_save copies of token matrices: full matrices saved beside the factors.
    for t in tensors where factorName(t.name) == nil && t.isTokenMatrix {
      out.modules.append(Module(name: t.name, rank: min(t.rowCount, t.rowLength), inputs: t.rowLength, outputs: t.rowCount,
        scale: 1, norm: 0, singularValues: [], top1Share: 0, effectiveRank: 0, isTokenMatrix: true))
      guard t.rowCount * t.rowLength <= maxFactorElements, let v = decode(t) else { continue }
      var norms = [Double](repeating: 0, count: t.rowCount)
      for i in 0..<t.rowCount {
        var s = 0.0
        for j in 0..<t.rowLength { s += Double(v[i * t.rowLength + j]) * Double(v[i * t.rowLength + j]) }
        norms[i] = s.squareRoot()
      }
      let sorted = norms.sorted()
      let median = sorted[sorted.count / 2]
      let mad = max(sorted.map { abs($0 - median) }.sorted()[sorted.count / 2] * 1.4826, median * 1e-3, 1e-12)
      for (id, n) in norms.enumerated() { out.rows.append(RowMove(tensor: t.name, id: id, text: texts(id), score: abs(n - median) / mad)) }
    }
    out.rows.sort { $0.score > $1.score }
    report(&out, file: file, configPath: config == nil ? nil : configPath)
    return out
  }

  static func report(_ out: inout Outcome, file: String, configPath: String?) {
    let c = out.config
    let adapted = out.modules.filter { !$0.singularValues.isEmpty }
    let norms = adapted.map(\.norm).sorted()
    out.findings.append(Finding(rule: Rules.loraAdapter, detector: name,
      detail: "LoRA adapter: \(adapted.count) adapted matrices (r \(c.rank.map(String.init) ?? "?"), alpha \(c.alpha.map { WeightDelta.fmt($0) } ?? "?"), targets \(c.targetModules.joined(separator: ", ")))"
        + (norms.isEmpty ? "" : "; ||scale*B*A|| median \(WeightDelta.fmt(norms[norms.count / 2])), max \(WeightDelta.fmt(norms.last ?? 0))")
        + "; largest: " + adapted.sorted { $0.norm > $1.norm }.prefix(4).map {
          "\($0.name) norm \(WeightDelta.fmt($0.norm)) top1 \(WeightDelta.fmt($0.top1Share)) erank \(WeightDelta.fmt($0.effectiveRank))/\($0.rank)"
        }.joined(separator: "; "),
      file: configPath ?? file,
      evidence: [Evidence("scale_rule", c.rslora ? "alpha/sqrt(r)" : "alpha/r"), Evidence("modules", adapted.count)]
        + adapted.sorted { $0.norm > $1.norm }.prefix(24).map { m in
          Evidence(m.name, .object([("rank", .int(m.rank)), ("shape", .array([.int(m.outputs), .int(m.inputs)])),
            ("scale", .double(m.scale)), ("norm", .double(m.norm)), ("top1_share", .double(m.top1Share)),
            ("effective_rank", .double(m.effectiveRank)), ("singular_values", .array(m.singularValues.prefix(8).map { .double($0) }))]))
        }))
    let tokenModules = out.modules.filter(\.isTokenMatrix).map(\.name)
    let savedTokens = c.modulesToSave.filter(isTokenModule)
    guard !tokenModules.isEmpty || !savedTokens.isEmpty else { return }
    let top = out.rows.prefix(20)
    let scores = out.rows.map(\.score).sorted()
    let median = scores.isEmpty ? 0 : scores[scores.count / 2]
    out.findings.append(Finding(rule: Rules.loraTokenRows, detector: name,
      detail: "the adapter trains token rows (\((tokenModules + savedTokens.map { "modules_to_save: \($0)" }).joined(separator: ", "))); rows it moves most: "
        + top.prefix(10).map { "id \($0.id) \(TokenizerAudit.quoted($0.text)) \(WeightDelta.fmt($0.score))" }.joined(separator: ", "),
      file: configPath ?? file,
      evidence: [Evidence("median_row_score", median)] + top.map {
        Evidence("row_\($0.id)", .object([("id", .int($0.id)), ("text", .string($0.text)), ("score", .double($0.score)), ("tensor", .string($0.tensor))]))
      }))
    var seen = Set<Int>()
    for r in top where seen.insert(r.id).inserted {
      out.triggers.append(TriggerCandidate(text: r.text, tokenIDs: [r.id], source: "lora-token-rows", score: median > 0 ? r.score / median : r.score))
    }
  }

  /// (module, isA, isEmbedding) for PEFT factor names: `M.lora_A.weight`, `M.lora_A.default.weight`,
  /// `M.lora_embedding_A`, `M.lora_embedding_A.default`.
  static func factorName(_ name: String) -> (String, Bool, Bool)? {
    for (marker, isA, emb) in [(".lora_A.", true, false), (".lora_B.", false, false), (".lora_embedding_A", true, true), (".lora_embedding_B", false, true)] {
      guard let r = name.firstRange(of: marker) else { continue }
      let rest = name[r.upperBound...]
      if !emb && !(rest == "weight" || rest.hasSuffix(".weight")) { continue }
      return (String(name[..<r.lowerBound]), isA, emb)
    }
    return nil
  }

  static func decode(_ t: WeightTensor) -> [Float]? {
    var v = [Float](repeating: 0, count: t.rowCount * t.rowLength)
    let ok = v.withUnsafeMutableBufferPointer { (try? t.decodeRows(0..<t.rowCount, into: $0)) != nil }
    return ok ? v : nil
  }

  /// X^T X for X (rows, cols) row-major -> (cols, cols).
  static func gram(columnsOf x: [Float], rows: Int, cols: Int) -> [Double] {
    var g = [Double](repeating: 0, count: cols * cols)
    for i in 0..<rows { for a in 0..<cols { for b in 0..<cols { g[a * cols + b] += Double(x[i * cols + a]) * Double(x[i * cols + b]) } } }
    return g
  }

  /// X X^T for X (rows, cols) row-major -> (rows, rows).
  static func gram(rowsOf x: [Float], rows: Int, cols: Int) -> [Double] {
    var g = [Double](repeating: 0, count: rows * rows)
    for a in 0..<rows { for b in 0..<rows { var s = 0.0; for j in 0..<cols { s += Double(x[a * cols + j]) * Double(x[b * cols + j]) }; g[a * rows + b] = s } }
    return g
  }

  /// scale * sqrt(a_t^T G a_t) for each column t of A (r, cols).
  static func columnNorms(of a: [Float], rows r: Int, cols: Int, through g: [Double], scale: Double) -> [Double] {
    (0..<cols).map { t in
      var s = 0.0
      for i in 0..<r { for j in 0..<r { s += Double(a[i * cols + t]) * g[i * r + j] * Double(a[j * cols + t]) } }
      return abs(scale) * max(0, s).squareRoot()
    }
  }

  /// scale * sqrt(b_t^T G b_t) for each row t of B (rows, r).
  static func rowNorms(of b: [Float], rows: Int, cols r: Int, through g: [Double], scale: Double) -> [Double] {
    (0..<rows).map { t in
      var s = 0.0
      for i in 0..<r { for j in 0..<r { s += Double(b[t * r + i]) * g[i * r + j] * Double(b[t * r + j]) } }
      return abs(scale) * max(0, s).squareRoot()
    }
  }

  static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "./" }
    return String(path[...slash])
  }

  static func readConfig(_ path: String) -> Config? {
    guard let f = try? MappedFile(path: path), f.count <= 1 << 20,
          let doc = try? f.withBytes({ (b) throws(JSONError) in try JSONParser.parse(b) }) else { return nil }
    let v = doc.value
    guard v["peft_type"] != nil || v["lora_alpha"] != nil || v["r"] != nil else { return nil }
    var c = Config()
    c.path = path
    c.rank = v["r"]?.int
    c.alpha = v["lora_alpha"]?.double
    c.rslora = v["use_rslora"]?.bool ?? false
    if let s = v["target_modules"]?.string { c.targetModules = [s] } else { c.targetModules = v["target_modules"]?.array?.compactMap(\.string) ?? [] }
    c.modulesToSave = v["modules_to_save"]?.array?.compactMap(\.string) ?? []
    return c
  }
}
