#if canImport(Glibc)
import Glibc
#endif
import Formats

/// A model as found on disk and opened through Formats: one GGUF (or a split set), or safetensors
/// (single file, sharded set, or inside a Hugging Face folder with its JSON side files).
public enum ModelInput: Sendable {
  case gguf(GGUFSplitSet)
  /// Safetensors files, the sharded index if any, and the Hugging Face folder if the model came as one.
  case safetensors([SafetensorsFile], SafetensorsShardedSet?, HuggingFaceFolder?)

  /// The path the user named.
  public var path: String {
    switch self {
    case .gguf(let s): s.shards[0].file.path
    case .safetensors(let files, let index, let folder): folder?.path ?? index?.indexPath ?? files.first?.file.path ?? ""
    }
  }

  /// Opens whatever model `path` names: a `.gguf` (split sets are gathered), a `.safetensors` file,
  /// a `model.safetensors.index.json`, or a Hugging Face folder.
  /// - Throws: ``ScanError`` for malformed files or paths that hold no model.
  public static func open(path: String) throws(ScanError) -> ModelInput {
    var st = stat()
    guard stat(path, &st) == 0 else {
      throw .format(FormatError(path: path, kind: .file(.open(path: path, errno: errno))))
    }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      guard let folder = HuggingFaceFolder.recognise(path) else {
        throw .unrecognized(path: path, detail: "folder holds no model.safetensors, index or .gguf file")
      }
      return try open(folder: folder)
    }
    do {
      switch try sniff(path) {
      case .gguf:
        return .gguf(try GGUFSplitSet.open(anyShardPath: path))
      case .safetensors:
        return .safetensors([try SafetensorsFile.open(path: path)], nil, nil)
      case .safetensorsIndex:
        let set = try SafetensorsShardedSet.open(indexPath: path)
        return .safetensors(set.shards.map(\.file), set, nil)
      case .unknown(let what):
        throw ScanError.unrecognized(path: path, detail: what)
      }
    } catch let e as FormatError {
      throw .format(e)
    } catch let e as ScanError {
      throw e
    } catch {
      throw .unrecognized(path: path, detail: "\(error)")
    }
  }

  static func open(folder: HuggingFaceFolder) throws(ScanError) -> ModelInput {
    do {
      if let index = folder.safetensorsIndex {
        let set = try SafetensorsShardedSet.open(indexPath: index)
        return .safetensors(set.shards.map(\.file), set, folder)
      }
      if !folder.safetensorsFiles.isEmpty {
        return .safetensors(try folder.safetensorsFiles.map { (p) throws(FormatError) in try SafetensorsFile.open(path: p) }, nil, folder)
      }
      if let g = folder.ggufFiles.first { return .gguf(try GGUFSplitSet.open(anyShardPath: g)) }
    } catch {
      throw .format(error)
    }
    throw .unrecognized(path: folder.path, detail: "no model weights in folder")
  }

  enum Sniffed { case gguf, safetensors, safetensorsIndex, unknown(String) }

  /// Decides the format from the first bytes, not the file name.
  static func sniff(_ path: String) throws(FormatError) -> Sniffed {
    let f: MappedFile
    do { f = try MappedFile(path: path) } catch { throw FormatError(path: path, kind: .file(error)) }
    return f.withBytes { b -> Sniffed in
      if b.count >= 4, b[0] == 0x47, b[1] == 0x47, b[2] == 0x55, b[3] == 0x46 { return .gguf }
      if path.hasSuffix(".safetensors") { return .safetensors }
      if path.hasSuffix(".index.json") { return .safetensorsIndex }
      if b.count >= 9 {
        let n = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
        if n > 1, n <= UInt64(b.count - 8), b[8] == UInt8(ascii: "{") { return .safetensors }
      }
      if path.hasSuffix(".gguf") { return .gguf }  // let the parser name what is wrong
      return .unknown("not a GGUF or safetensors file (first bytes: \(b.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")))")
    }
  }
}

/// A Hugging Face model folder: weights plus `config.json`, `tokenizer.json`, `tokenizer_config.json`,
/// `generation_config.json`, recognised as one model.
public struct HuggingFaceFolder: Sendable {
  public let path: String
  public let configJSON: String?
  public let tokenizerJSON: String?
  public let tokenizerConfigJSON: String?
  public let generationConfigJSON: String?
  public let safetensorsIndex: String?
  public let safetensorsFiles: [String]
  public let ggufFiles: [String]
  /// Every other file in the folder (not descended into).
  public let otherFiles: [String]

  /// Lists `path`; returns nil if it holds no weights.
  public static func recognise(_ path: String) -> HuggingFaceFolder? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    names.sort()
    func has(_ n: String) -> String? { names.contains(n) ? path + "/" + n : nil }
    let st = names.filter { $0.hasSuffix(".safetensors") }.map { path + "/" + $0 }
    let gg = names.filter { $0.hasSuffix(".gguf") }.map { path + "/" + $0 }
    let index = has("model.safetensors.index.json") ?? names.first { $0.hasSuffix(".safetensors.index.json") }.map { path + "/" + $0 }
    guard index != nil || !st.isEmpty || !gg.isEmpty else { return nil }
    let known: Set<String> = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]
    let other = names.filter { !known.contains($0) && !$0.hasSuffix(".safetensors") && !$0.hasSuffix(".gguf") && !$0.hasSuffix(".index.json") }
    return HuggingFaceFolder(path: path, configJSON: has("config.json"), tokenizerJSON: has("tokenizer.json"),
      tokenizerConfigJSON: has("tokenizer_config.json"), generationConfigJSON: has("generation_config.json"),
      safetensorsIndex: index, safetensorsFiles: index == nil ? st : [], ggufFiles: gg, otherFiles: other.map { path + "/" + $0 })
  }
}
