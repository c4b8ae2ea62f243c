import Formats

extension ModelSource {
  /// The loader's view of a parsed GGUF file: scalar metadata (arrays such as the vocabulary are
  /// left out; the tokenizer reads them itself) and the tensor table with absolute offsets.
  init(gguf: GGUFFile) throws(ModelError) {
    guard gguf.byteOrder == .little else {
      throw .invalidMetadata(key: "byte order", value: gguf.byteOrder.rawValue, reason: "the runtime reads little-endian tensor data only")
    }
    var metadata: [String: MetadataValue] = [:]
    for entry in gguf.metadata {
      switch entry.value {
      case .string(let s): metadata[entry.key] = .string(s)
      case .float32(let f): metadata[entry.key] = .float(Double(f))
      case .float64(let f): metadata[entry.key] = .float(f)
      case .array: continue
      default:
        if let i = entry.value.int { metadata[entry.key] = .int(i) }
      }
    }
    var tensors: [String: TensorEntry] = [:]
    for t in gguf.tensors where tensors[t.name] == nil {
      tensors[t.name] = TensorEntry(
        name: t.name, type: t.type, dimensions: t.dimensions, absoluteOffset: t.absoluteOffset, byteCount: t.byteCount)
    }
    self.init(files: [gguf.file], metadata: metadata, tensors: tensors)
  }
}

extension LanguageModel {
  /// Builds the runnable model of a GGUF file (architectures: llama, qwen2, gemma3).
  /// - Parameters:
  ///   - gguf: a parsed file; its tensors are read in place from its mapping.
  ///   - threads: threads per forward pass including the caller (default: all online CPUs).
  ///   - numerics: rounding model (default `.llamaCpp`; `.float` for plain float32 arithmetic).
  /// - Throws: `ModelError` (unsupported architecture, missing or mis-shaped tensors, unsupported types).
  public static func load(gguf: GGUFFile, threads: Int? = nil, numerics: Numerics = .llamaCpp) throws(ModelError) -> LanguageModel {
    try LanguageModel(source: try ModelSource(gguf: gguf), threads: threads, numerics: numerics)
  }

  /// Opens, parses and loads a GGUF file.
  /// - Throws: `FormatError` when the file cannot be parsed, `ModelError` when it cannot run.
  public static func load(path: String, threads: Int? = nil, numerics: Numerics = .llamaCpp) throws -> LanguageModel {
    let file = try GGUFFile.open(path: path)
    return try load(gguf: file, threads: threads, numerics: numerics)
  }
}
