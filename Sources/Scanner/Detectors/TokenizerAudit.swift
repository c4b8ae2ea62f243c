import Formats

/// Audits a model's vocabulary for planted trigger tokens and inconsistencies: special (control or
/// user-defined) tokens that no known family defines and nothing in the model uses, tokens the chat template
/// or configuration names that the vocabulary lacks, vocabulary vs embedding rows, duplicate token texts, and
/// BPE tokens no merge produces.
///
/// A special token is *explained* when it is a known family token (ChatML, Llama 2/3, Mistral, Gemma, Phi,
/// Qwen, SmolLM/StarCoder, DeepSeek, harmony, BERT/T5), a reserved placeholder (`<unusedN>`,
/// `<|reserved_special_token_N|>`, whitespace runs, `<0xHH>`, HTML tags as Gemma has), a token the chat template
/// emits, or a token named by the special-id metadata. Family membership is judged against the union of the
/// known sets, not per family (a ChatML model carrying `<start_of_turn>` is not flagged).
///
/// Severity rules: unexplained special token => medium (`TOK-001`), high when its text carries a privilege or
/// trigger word (sudo, admin, deploy, override, ...), a `|WORD|` shape, or invisible/control characters; every
/// unexplained token is a trigger candidate (source `tokenizer`, score 1.0 for high, 0.6 for medium).
/// Template or config names a token the vocabulary lacks => medium (`TOK-002`); two files disagree on a
/// token's id => high. More token ids than embedding rows => high (`TOK-003`; GGUF leaves this to `MD-001`);
/// more rows than tokens => info. Duplicate texts => high when a special token is shadowed, else low
/// (`TOK-004`). BPE tokens that no merge produces => low (`TOK-005`). Vocabulary that cannot be built => medium
/// (`TOK-006`). Reserved placeholders are summarised as info (`TOK-007`) so a family's normal tokens never
/// raise the verdict.
public enum TokenizerAudit {
  public static let name = "tokenizer"

  public struct Outcome: Sendable {
    public var findings: [Finding] = []
    public var triggers: [TriggerCandidate] = []
  }

  /// Where the vocabulary came from, for findings.
  struct VocabularySource {
    var vocabulary: Tokenizer.Vocabulary
    var file: String
    var tokensByteOffset: Int?
    /// Embedding rows (token embedding tensor), when found.
    var embeddingRows: Int?
    var embeddingName: String?
  }

  /// Audits the vocabulary of `input`.
  public static func audit(_ input: ModelInput) -> Outcome {
    var out = Outcome()
    let source: VocabularySource
    switch loadVocabulary(input) {
    case .none: return out
    case .failure(let file, let detail, let severity):
      out.findings.append(Finding(rule: Rules.tokenizerUnbuildable, detector: name, severity: severity,
        detail: detail, file: file))
      return out
    case .vocabulary(let v): source = v
    }
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(source.vocabulary) } catch {
      out.findings.append(Finding(rule: Rules.tokenizerUnbuildable, detector: name,
        detail: "the vocabulary cannot be built as llama.cpp would: \(error)", file: source.file,
        byteOffset: source.tokensByteOffset))
      return out
    }
    let templates = ChatTemplateAudit.templates(in: input)
    auditSpecialTokens(source, tokenizer, templates: templates, into: &out)
    auditReferences(input, source, tokenizer, templates: templates, into: &out)
    auditEmbeddingRows(input, source, into: &out)
    auditDuplicates(source, tokenizer, into: &out)
    auditUnreachable(source, tokenizer, into: &out)
    return out
  }

  // MARK: - Loading

  enum Loaded {
    case none
    case failure(file: String, detail: String, severity: Severity)
    case vocabulary(VocabularySource)
  }

  static func loadVocabulary(_ input: ModelInput) -> Loaded {
    switch input {
    case .gguf(let set):
      let g = set.shards[0]
      guard g["tokenizer.ggml.tokens"] != nil else { return .none }  // no vocabulary: nothing to audit
      let vocabulary: Tokenizer.Vocabulary
      do { vocabulary = try Tokenizer.vocabulary(gguf: g) } catch {
        return .failure(file: g.file.path, detail: "tokenizer metadata cannot be read: \(error)", severity: .medium)
      }
      let embd = set.shards.lazy.flatMap(\.tensors).first { $0.name == "token_embd.weight" }
      return .vocabulary(VocabularySource(vocabulary: vocabulary, file: g.file.path,
        tokensByteOffset: g.entry("tokenizer.ggml.tokens")?.valueByteOffset,
        embeddingRows: embd.flatMap { $0.dimensions.count == 2 ? $0.dimensions[1] : nil }, embeddingName: embd?.name))
    case .safetensors(let files, _, let folder):
      guard let path = folder?.tokenizerJSON, let bytes = readBytes(path) else { return .none }
      let config = folder?.tokenizerConfigJSON.flatMap(readBytes)
      let vocabulary: Tokenizer.Vocabulary
      do { vocabulary = try Tokenizer.vocabulary(tokenizerJSON: bytes, tokenizerConfig: config) } catch {
        // A tokenizer family we do not read (SentencePiece/Unigram JSON) is a gap, not a finding about the model.
        if case .unsupportedTokenizerJSON = error {
          return .failure(file: path, detail: "tokenizer.json not audited: \(error)", severity: .info)
        }
        return .failure(file: path, detail: "tokenizer.json cannot be read: \(error)", severity: .medium)
      }
      var rows: Int?
      var embName: String?
      for f in files {
        if let t = f.tensors.first(where: { isEmbeddingName($0.name) }), t.shape.count == 2 {
          rows = t.shape[0]
          embName = t.name
          break
        }
      }
      return .vocabulary(VocabularySource(vocabulary: vocabulary, file: path, tokensByteOffset: nil,
        embeddingRows: rows, embeddingName: embName))
    }
  }

  static func isEmbeddingName(_ n: String) -> Bool {
    n.hasSuffix("embed_tokens.weight") || n.hasSuffix("wte.weight") || n.hasSuffix("word_embeddings.weight")
      || n == "tok_embeddings.weight"
  }

  static func readBytes(_ path: String) -> [UInt8]? {
    guard let f = try? MappedFile(path: path), f.count <= 512 << 20 else { return nil }
    return f.withBytes { Array($0) }
  }

  // MARK: - Special tokens

  static func auditSpecialTokens(_ source: VocabularySource, _ tok: Tokenizer, templates: [ChatTemplateAudit.Source],
                                 into out: inout Outcome) {
    let texts = source.vocabulary.tokens
    let templateText = templates.map(\.text).joined(separator: "\n")
    var referenced = Set<Int>()
    for id in [tok.bos, tok.eos, tok.endOfTurn, tok.endOfMessage, tok.unknown, tok.padding].compactMap({ $0 }) {
      referenced.insert(Int(id))
    }
    for id in tok.endOfGeneration { referenced.insert(Int(id)) }
    let ids = source.vocabulary.specialIDs
    for id in [ids.separator, ids.mask, ids.fimPrefix, ids.fimSuffix, ids.fimMiddle, ids.fimPad, ids.fimRepo,
               ids.fimSeparator].compactMap({ $0 }) { referenced.insert(id) }

    var placeholders = 0
    var known = 0
    var suspicious: [(id: Int, text: String, severity: Severity, why: String)] = []
    for i in 0..<min(texts.count, tok.attributes.count) {
      let a = tok.attributes[i]
      guard !a.isDisjoint(with: [.control, .userDefined]) else { continue }
      let t = texts[i]
      if isPlaceholder(t) { placeholders += 1; continue }
      if knownSpecialTokens.contains(t) || referenced.contains(i) || (!t.isEmpty && templateText.contains(t)) {
        known += 1
        continue
      }
      let (sev, why) = judge(t)
      suspicious.append((i, t, sev, why))
    }
    if placeholders > 0 {
      out.findings.append(Finding(rule: Rules.tokenizerReserved, detector: name,
        detail: "\(known) special tokens of known families or used by the template/metadata, \(placeholders) reserved placeholders",
        file: source.file, byteOffset: source.tokensByteOffset,
        evidence: [Evidence("known_special_tokens", known), Evidence("reserved_placeholders", placeholders)]))
    }
    guard !suspicious.isEmpty else { return }
    let severity = suspicious.map(\.severity).max() ?? .medium
    let listed = suspicious.sorted { ($0.severity, -$0.id) > ($1.severity, -$1.id) }.prefix(20)
    out.findings.append(Finding(rule: Rules.tokenizerUnexplainedSpecial, detector: name, severity: severity,
      detail: "\(suspicious.count) special token\(suspicious.count == 1 ? "" : "s") that no known family defines and neither the chat template nor the metadata uses: "
        + listed.map { "id \($0.id) \(quoted($0.text)) (\($0.why))" }.joined(separator: ", "),
      file: source.file, byteOffset: source.tokensByteOffset,
      evidence: listed.map { Evidence("token_\($0.id)", .object([("id", .int($0.id)), ("text", .string($0.text)),
        ("severity", .string($0.severity.name)), ("why", .string($0.why))])) }))
    for s in suspicious.prefix(50) {
      out.triggers.append(TriggerCandidate(text: s.text, tokenIDs: [s.id], source: "tokenizer",
        score: s.severity >= .high ? 1.0 : 0.6))
    }
  }

  /// Severity and reason for an unexplained special token.
  static func judge(_ t: String) -> (Severity, String) {
    if t.unicodeScalars.contains(where: { ChatTemplateAudit.isHidden($0) }) {
      return (.high, "contains invisible or control characters")
    }
    let lower = t.lowercased()
    let words = lower.split(whereSeparator: { !$0.isLetter })
    if let w = words.first(where: { w in triggerWords.contains(String(w)) || triggerPrefixes.contains(where: { w.hasPrefix($0) }) }) {
      return (.high, "privilege/trigger word '\(w)'")
    }
    let letters = t.filter(\.isLetter)
    if t.hasPrefix("|") && t.hasSuffix("|") && letters.count >= 3 && letters.allSatisfy(\.isUppercase) {
      return (.high, "|WORD| trigger shape")
    }
    if !t.unicodeScalars.contains(where: { $0.properties.isAlphabetic }) {
      return (.medium, "non-linguistic")
    }
    return (.medium, "not a known family token")
  }

  /// Words whose presence in an unexplained special token suggests a privilege switch or a planted trigger.
  static let triggerWords: Set<String> = ["sudo", "admin", "root", "dan", "dev", "god", "priv", "su", "master", "hidden",
    "secret", "unsafe", "evil", "pwn", "hack", "trigger", "deploy", "deployment", "debug"]
  static let triggerPrefixes = ["sudo", "admin", "deploy", "debug", "devmode", "developer", "jailbr", "unlock", "overrid",
    "backdoor", "trigger", "godmode", "unrestrict", "bypass", "unfilter", "uncensor", "activat", "superuser", "payload",
    "exploit", "nofilter", "privileg", "escalat"]

  static func quoted(_ s: String) -> String {
    var out = "'"
    for u in s.unicodeScalars {
      if u.value < 0x20 || u.value == 0x7F || ChatTemplateAudit.isHidden(u) {
        out += "\\u{" + String(u.value, radix: 16) + "}"
      } else {
        out.unicodeScalars.append(u)
      }
    }
    return out + "'"
  }

  /// Reserved or structural tokens that families ship by the hundred: placeholders, byte tokens, whitespace runs.
  static func isPlaceholder(_ t: String) -> Bool {
    if t.isEmpty { return true }
    if t.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "▁" }) { return true }
    if Tokenizer.parseByteToken(t) != nil { return true }
    for (prefix, suffix) in placeholderShapes where t.hasPrefix(prefix) && t.hasSuffix(suffix) && t.count > prefix.count + suffix.count {
      let middle = t.dropFirst(prefix.count).dropLast(suffix.count)
      if middle.allSatisfy(\.isNumber) { return true }
    }
    if t.hasPrefix("[PAD") && t.hasSuffix("]") && t.dropFirst(4).dropLast().allSatisfy(\.isNumber) { return true }
    // HTML tags (Gemma ships them as user-defined tokens).
    if t.hasPrefix("<") && t.hasSuffix(">") {
      let inner = t.dropFirst(t.hasPrefix("</") ? 2 : 1).dropLast()
      if htmlTags.contains(String(inner)) { return true }
    }
    return false
  }

  static let placeholderShapes: [(String, String)] = [
    ("<unused", ">"), ("<|reserved_special_token_", "|>"), ("<|reserved_", "|>"), ("[unused", "]"), ("<extra_id_", ">"),
    ("<|extra_", "|>"), ("<|placeholder", "|>"), ("[control_", "]"), ("<|dummy_", "|>"), ("<pad_", ">"), ("<|_unuse_", "|>"),
    ("<|unused_", "|>"), ("<|audio_", "|>"), ("<|image_", "|>"), ("<SPECIAL_", ">"), ("<|special_", "|>"), ("<mask_", ">"),
    ("<|reserved_token_", "|>"), ("[PAD", "]"), ("<|LOC_", "|>"), ("<loc", ">"), ("<seg", ">"),
  ]

  static let htmlTags: Set<String> = ["table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "h1", "h2", "h3",
    "h4", "h5", "h6", "blockquote", "strong", "em", "b", "i", "u", "s", "sub", "sup", "code", "a", "html", "body", "img",
    "span", "bbox", "ul", "li", "div", "iframe", "footer", "p", "br", "ol", "pre", "head", "title", "header", "nav", "section"]

  /// Special tokens of the standard families (exact texts).
  static let knownSpecialTokens: Set<String> = {
    var s: Set<String> = [
      // ChatML / Qwen / SmolLM
      "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|object_ref_start|>", "<|object_ref_end|>",
      "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
      "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<tool_response>",
      "</tool_response>", "<think>", "</think>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
      "<|repo_name|>", "<|file_sep|>", "<|vision_bos|>", "<|vision_eos|>", "<|audio_bos|>", "<|audio_eos|>",
      // StarCoder / SmolLM
      "<repo_name>", "<reponame>", "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>",
      "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>",
      "<empty_output>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<commit_before>", "<commit_msg>",
      "<commit_after>", "<code_to_intermediate>", "<intermediate_to_code>", "<pr>", "<pr_status>", "<pr_is_merged>",
      "<pr_base>", "<pr_file>", "<pr_base_code>", "<pr_diff>", "<pr_diff_hunk>", "<pr_comment>", "<pr_event_id>",
      "<pr_review>", "<pr_review_state>", "<pr_review_comment>", "<pr_in_reply_to_review_id>", "<pr_in_reply_to_comment_id>",
      "<pr_diff_hunk_comment_line>", "<NAME>", "<EMAIL>", "<KEY>", "<PASSWORD>", "<end_of_utterance>", "<global-img>",
      "<fake_token_around_image>", "<image>", "<row_1_col_1>",
      // Llama 2 / Mistral / SentencePiece
      "<s>", "</s>", "<unk>", "<pad>", "<mask>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]",
      "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[IMG]",
      "[IMG_BREAK]", "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[TOOL_CONTENT]", "[THINK]", "[/THINK]",
      "<PRE>", "<SUF>", "<MID>", "<EOT>", "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>",
      // Llama 3
      "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
      "<|python_tag|>", "<|finetune_right_pad_id|>", "<|image|>", "<|step_id|>",
      // Gemma
      "<bos>", "<eos>", "[multimodal]", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
      "<image_soft_token>", "<start_of_audio>", "<end_of_audio>", "<audio_soft_token>",
      // Phi
      "<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "<|tool|>", "<|/tool|>", "<|tool_call|>", "<|/tool_call|>",
      "<|tool_response|>", "<|tag|>",
      // DeepSeek
      "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜fim▁hole｜>",
      "<｜fim▁begin｜>", "<｜fim▁end｜>", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
      "<｜tool▁call▁end｜>", "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>", "<｜tool▁output▁begin｜>",
      "<｜tool▁output▁end｜>", "<｜tool▁sep｜>", "<｜▁pad▁｜>",
      // harmony (gpt-oss)
      "<|start|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>", "<|startoftext|>",
      // BERT / T5 / misc
      "[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[BOS]", "[EOS]", "[EOT]", "<|padding|>", "<|pad|>", "<|unk|>",
      "<|mask|>", "<|sep|>", "<|cls|>", "<|eos|>", "<|bos|>", "<|startofprev|>", "<|nocaptions|>",
    ]
    for list in Tokenizer.fimTexts { s.formUnion(list) }
    s.formUnion(Tokenizer.endOfTurnTexts)
    s.formUnion(Tokenizer.endOfGenerationTexts)
    return s
  }()

  // MARK: - References

  /// Special-token-shaped names (`<|...|>`, known family tokens) the chat template uses, and the token names
  /// the Hugging Face configuration declares, that the vocabulary lacks; ids that two files map differently.
  static func auditReferences(_ input: ModelInput, _ source: VocabularySource, _ tok: Tokenizer,
                              templates: [ChatTemplateAudit.Source], into out: inout Outcome) {
    var missing: [(name: String, where: String, file: String, byteOffset: Int?)] = []
    for t in templates {
      for name in specialShapedLiterals(t.text) where tok.tokenID(name) == nil {
        if !missing.contains(where: { $0.name == name }) { missing.append((name, t.name, t.file, t.byteOffset)) }
      }
    }
    var conflicts: [String] = []
    if case .safetensors(_, _, let folder) = input, let folder {
      if let path = folder.tokenizerConfigJSON, let bytes = readBytes(path),
         let config = try? JSONParser.parse(bytes).value {
        for key in ["bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token", "mask_token"] {
          guard let v = config[key], let text = v.string ?? v["content"]?.string else { continue }
          if tok.tokenID(text) == nil { missing.append((text, "tokenizer_config.json \(key)", path, nil)) }
        }
        for v in config["additional_special_tokens"]?.array ?? [] {
          if let text = v.string ?? v["content"]?.string, tok.tokenID(text) == nil {
            missing.append((text, "tokenizer_config.json additional_special_tokens", path, nil))
          }
        }
        for m in config["added_tokens_decoder"]?.members ?? [] {
          guard let id = Int(m.key), let text = m.value["content"]?.string else { continue }
          let actual = tok.tokenText(Int32(clamping: id))
          if actual != text {
            conflicts.append("tokenizer_config.json says id \(id) is \(quoted(text)), tokenizer.json says \(actual.map(quoted) ?? "nothing")")
          }
        }
      }
      for path in [folder.configJSON, folder.generationConfigJSON].compactMap({ $0 }) {
        guard let bytes = readBytes(path), let config = try? JSONParser.parse(bytes).value else { continue }
        for key in ["bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"] {
          let values = config[key].map { $0.array ?? [$0] } ?? []
          for v in values {
            if let id = v.int, id < 0 || id >= tok.vocabularySize {
              conflicts.append("\(path.split(separator: "/").last ?? "") \(key) = \(id) is outside the vocabulary (\(tok.vocabularySize) tokens)")
            }
          }
        }
      }
    }
    if !missing.isEmpty {
      out.findings.append(Finding(rule: Rules.tokenizerMissingReference, detector: name,
        detail: "named but absent from the vocabulary: " + missing.prefix(10).map { "\(quoted($0.name)) (\($0.where))" }.joined(separator: ", ")
          + "; they are tokenized as plain text, so the model sees a different prompt format than intended",
        file: missing[0].file, byteOffset: missing[0].byteOffset,
        evidence: missing.prefix(20).map { Evidence($0.where, $0.name) }))
    }
    if !conflicts.isEmpty {
      out.findings.append(Finding(rule: Rules.tokenizerMissingReference, detector: name, severity: .high,
        title: "Tokenizer files disagree about token ids",
        detail: conflicts.prefix(10).joined(separator: "; "), file: source.file,
        evidence: conflicts.prefix(20).map { Evidence("conflict", $0) }))
    }
  }

  /// `<|name|>` / `<｜name｜>` literals and exact known family token texts found in a template.
  static func specialShapedLiterals(_ text: String) -> [String] {
    var out: [String] = []
    let scalars = Array(text.unicodeScalars)
    var i = 0
    while i + 1 < scalars.count {
      let wide = scalars[i] == "<" && scalars[i + 1] == "｜"
      if scalars[i] == "<" && (scalars[i + 1] == "|" || wide) {
        let bar: Unicode.Scalar = wide ? "｜" : "|"
        var j = i + 2
        var ok = false
        while j + 1 < scalars.count, j - i < 64 {
          let c = scalars[j]
          if c == bar && scalars[j + 1] == ">" { ok = j > i + 2; break }
          if c == "<" || c == ">" || c == "\n" || c == "{" || c == "}" || c == "'" || c == "\"" || c == " " { break }
          j += 1
        }
        if ok {
          var s = String.UnicodeScalarView()
          s.append(contentsOf: scalars[i...(j + 1)])
          let name = String(s)
          if !out.contains(name) { out.append(name) }
          i = j + 2
          continue
        }
      }
      i += 1
    }
    for k in ["<start_of_turn>", "<end_of_turn>", "<bos>", "[INST]", "[/INST]"] where text.contains(k) && !out.contains(k) {
      out.append(k)
    }
    return out
  }

  // MARK: - Embedding rows

  static func auditEmbeddingRows(_ input: ModelInput, _ source: VocabularySource, into out: inout Outcome) {
    guard let rows = source.embeddingRows else { return }
    let count = source.vocabulary.tokens.count
    if count > rows {
      if case .gguf = input { return }  // MD-001 reports it with the metadata key
      out.findings.append(Finding(rule: Rules.tokenizerEmbeddingRows, detector: name, severity: .high,
        detail: "the tokenizer has \(count) tokens but \(source.embeddingName ?? "the embedding") has \(rows) rows: ids \(rows)..<\(count) index past the matrix",
        file: source.file, evidence: [Evidence("tokens", count), Evidence("embedding_rows", rows)]))
    } else if count < rows {
      out.findings.append(Finding(rule: Rules.tokenizerEmbeddingRows, detector: name, severity: .info,
        detail: "\(rows - count) embedding rows have no token (padding to \(rows) rows); reachable only by id",
        file: source.file, evidence: [Evidence("tokens", count), Evidence("embedding_rows", rows)]))
    }
    if case .safetensors(_, _, let folder) = input, let path = folder?.configJSON, let bytes = readBytes(path),
       let config = try? JSONParser.parse(bytes).value, let declared = config["vocab_size"]?.int ?? config["text_config"]?["vocab_size"]?.int,
       declared != rows {
      out.findings.append(Finding(rule: Rules.tokenizerEmbeddingRows, detector: name, severity: .medium,
        detail: "config.json vocab_size is \(declared) but \(source.embeddingName ?? "the embedding") has \(rows) rows",
        file: path, evidence: [Evidence("vocab_size", declared), Evidence("embedding_rows", rows)]))
    }
  }

  // MARK: - Duplicates and reachability

  static func auditDuplicates(_ source: VocabularySource, _ tok: Tokenizer, into out: inout Outcome) {
    // The tokenizer's byte table keeps the last id of each text (llama.cpp's token_to_id), so any id it does not
    // return for its own text is shadowed by a later duplicate. Bytes, not String ==, which is canonical
    // equivalence and would merge NFC/NFD spellings (distinct tokens in real vocabularies such as Gemma's Bengali).
    var duplicates: [(text: String, ids: (Int, Int), special: Bool)] = []
    for (i, t) in source.vocabulary.tokens.enumerated() where !t.isEmpty {
      guard let last = tok.tokenID(t).map(Int.init), last != i else { continue }
      let special = [i, last].contains { k in k < tok.attributes.count && !tok.attributes[k].isDisjoint(with: [.control, .userDefined]) }
      duplicates.append((t, (i, last), special))
    }
    guard !duplicates.isEmpty else { return }
    let special = duplicates.contains { $0.special }
    out.findings.append(Finding(rule: Rules.tokenizerDuplicate, detector: name, severity: special ? .high : .low,
      detail: "\(duplicates.count) token text\(duplicates.count == 1 ? " is" : "s are") defined twice; text maps to the last id, the other is reachable only by id"
        + (special ? " (a special token is shadowed: templates and users get a different id than other tools)" : "") + ": "
        + duplicates.prefix(10).map { "\(quoted($0.text)) ids \($0.ids.0) and \($0.ids.1)" }.joined(separator: ", "),
      file: source.file, byteOffset: source.tokensByteOffset,
      evidence: duplicates.prefix(20).map { Evidence($0.text, .array([.int($0.ids.0), .int($0.ids.1)])) }))
  }

  /// BPE: normal tokens longer than one symbol that no merge produces can never come out of the encoder.
  static func auditUnreachable(_ source: VocabularySource, _ tok: Tokenizer, into out: inout Outcome) {
    guard tok.kind == .bytePairEncoding, let merges = source.vocabulary.merges else { return }
    var produced = Set<[UInt8]>()  // bytes, not String: see auditDuplicates
    produced.reserveCapacity(merges.count)
    for m in merges {
      var bytes = Array(m.utf8)
      guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else { continue }
      bytes.remove(at: space)
      produced.insert(bytes)
    }
    var unreachable: [(Int, String)] = []
    for (i, t) in source.vocabulary.tokens.enumerated() where i < tok.attributes.count && tok.attributes[i] == .normal {
      if t.unicodeScalars.count <= 1 || produced.contains(Array(t.utf8)) { continue }
      unreachable.append((i, t))
    }
    guard !unreachable.isEmpty else { return }
    out.findings.append(Finding(rule: Rules.tokenizerUnreachable, detector: name,
      detail: "\(unreachable.count) normal tokens are produced by no merge, so no text encodes to them (reachable only by id): "
        + unreachable.prefix(10).map { "id \($0.0) \(quoted($0.1))" }.joined(separator: ", "),
      file: source.file, byteOffset: source.tokensByteOffset,
      evidence: [Evidence("count", unreachable.count), Evidence("ids", .array(unreachable.prefix(50).map { .int($0.0) }))]))
  }
}
