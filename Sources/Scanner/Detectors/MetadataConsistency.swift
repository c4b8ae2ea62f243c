import Formats

/// Checks that a GGUF's declared hyper-parameters agree with its tensors: block count, embedding width,
/// feed-forward width, attention head counts and vocabulary size. A contradiction means the file was edited
/// after conversion (or crafted), and loaders will either refuse it or run a different model than declared.
///
/// Severity: any contradiction => high (`MD-001`), one finding listing every mismatch with both numbers.
public enum MetadataConsistency {
  public static let name = "metadata"

  public static func findings(for input: ModelInput) -> [Finding] {
    contradictions(for: input) + controlCharacters(in: input)
  }

  static func contradictions(for input: ModelInput) -> [Finding] {
    guard case .gguf(let set) = input else { return [] }
    let g = set.shards[0]
    let tensors = set.shards.flatMap(\.tensors)
    guard let arch = g["general.architecture"]?.string else { return [] }
    func meta(_ k: String) -> Int? { g["\(arch).\(k)"]?.int }
    func tensor(_ n: String) -> GGUFTensorInfo? { tensors.first { $0.name == n } }
    var mismatches: [(what: String, key: String, declared: Int, actual: Int)] = []

    var maxBlock = -1
    for t in tensors where t.name.hasPrefix("blk.") {
      if let n = Int(t.name.split(separator: ".")[1]) { maxBlock = max(maxBlock, n) }
    }
    if let declared = meta("block_count"), maxBlock >= 0, declared != maxBlock + 1 {
      mismatches.append(("\(arch).block_count", "\(arch).block_count", declared, maxBlock + 1))
    }
    let embed = tensor("token_embd.weight")
    if let d = meta("embedding_length"), let e = embed, e.dimensions.count == 2, e.dimensions[0] != d {
      mismatches.append(("\(arch).embedding_length", "\(arch).embedding_length", d, e.dimensions[0]))
    }
    if let f = meta("feed_forward_length"), let up = tensor("blk.0.ffn_up.weight"), up.dimensions.count == 2, up.dimensions[1] != f {
      mismatches.append(("\(arch).feed_forward_length", "\(arch).feed_forward_length", f, up.dimensions[1]))
    }
    if let heads = meta("attention.head_count"), heads > 0, let q = tensor("blk.0.attn_q.weight"), q.dimensions.count == 2 {
      let headDim = meta("attention.key_length") ?? meta("rope.dimension_count") ?? ((meta("embedding_length") ?? q.dimensions[0]) / heads)
      if headDim > 0, heads * headDim != q.dimensions[1] {
        mismatches.append(("\(arch).attention.head_count × head size \(headDim)", "\(arch).attention.head_count", heads * headDim, q.dimensions[1]))
      }
      if let kvHeads = meta("attention.head_count_kv"), let k = tensor("blk.0.attn_k.weight"), k.dimensions.count == 2,
         headDim > 0, kvHeads * headDim != k.dimensions[1] {
        mismatches.append(("\(arch).attention.head_count_kv × head size \(headDim)", "\(arch).attention.head_count_kv", kvHeads * headDim, k.dimensions[1]))
      }
    }
    if let tokens = g["tokenizer.ggml.tokens"]?.array?.count, let e = embed, e.dimensions.count == 2, tokens > e.dimensions[1] {
      mismatches.append(("tokenizer.ggml.tokens count (vocab rows)", "tokenizer.ggml.tokens", tokens, e.dimensions[1]))
    }
    if let v = meta("vocab_size"), let e = embed, e.dimensions.count == 2, v != e.dimensions[1] {
      mismatches.append(("\(arch).vocab_size", "\(arch).vocab_size", v, e.dimensions[1]))
    }
    guard !mismatches.isEmpty else { return [] }
    let offset = g.entry(mismatches[0].key)?.valueByteOffset
    return [Finding(rule: Rules.metadataContradiction, detector: name,
      detail: mismatches.map { "\($0.what) says \($0.declared), tensors say \($0.actual)" }.joined(separator: "; "),
      file: g.file.path, byteOffset: offset,
      evidence: mismatches.map { Evidence($0.what, .object([("declared", .int($0.declared)), ("tensors", .int($0.actual))])) })]
  }

  /// Keys, tensor names and string values holding terminal escapes or hidden format characters (`MD-002`). The
  /// vocabulary (`tokenizer.ggml.tokens`, `merges`: real tokens include control bytes) and chat templates (TPL-004)
  /// are left to their own rules; newline, tab and carriage return are ordinary text.
  static func controlCharacters(in input: ModelInput) -> [Finding] {
    var hits: [(what: String, file: String, offset: Int?)] = []
    func bad(_ s: String) -> Bool {
      s.unicodeScalars.contains { $0.value != 0x0D && TerminalText.isUnsafe($0) }
    }
    let exempt: Set<String> = ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.chat_template"]
    switch input {
    case .gguf(let set):
      for g in set.shards {
        for e in g.metadata {
          if bad(e.key) {
            hits.append(("metadata key \(TokenizerAudit.quoted(e.key))", g.file.path, e.byteOffset))
            continue
          }
          guard !exempt.contains(e.key), !e.key.hasPrefix("tokenizer.chat_template.") else { continue }
          if let v = e.value.string, bad(v) {
            hits.append(("value of \(e.key)", g.file.path, e.valueByteOffset))
          } else if let strings = e.value.strings, let i = strings.firstIndex(where: bad) {
            hits.append(("\(e.key)[\(i)]", g.file.path, e.valueByteOffset))
          }
        }
        for t in g.tensors where bad(t.name) {
          hits.append(("tensor name \(TokenizerAudit.quoted(t.name))", g.file.path, t.infoByteOffset))
        }
      }
    case .safetensors(let files, _, _):
      for f in files {
        for t in f.tensors where bad(t.name) { hits.append(("tensor name \(TokenizerAudit.quoted(t.name))", f.file.path, nil)) }
        for (k, v) in (f.metadata ?? [:]).sorted(by: { $0.key < $1.key }) where bad(k) || bad(v) {
          hits.append(("__metadata__ entry \(TokenizerAudit.quoted(k))", f.file.path, nil))
        }
      }
    }
    guard let first = hits.first else { return [] }
    return [Finding(rule: Rules.metadataControlCharacters, detector: name,
      detail: "\(hits.count) name\(hits.count == 1 ? "" : "s") or value\(hits.count == 1 ? "" : "s") hold terminal escapes or hidden characters: "
        + hits.prefix(5).map(\.what).joined(separator: ", ") + (hits.count > 5 ? ", …" : ""),
      file: first.file, byteOffset: first.offset,
      evidence: hits.prefix(20).map { Evidence($0.what, .object([("file", .string($0.file)), ("byte_offset", $0.offset.map { .int($0) } ?? .null)])) })]
  }
}
