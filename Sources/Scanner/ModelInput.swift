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
    let sniffed = ContainerKind.sniff(file: f)
    switch sniffed.kind {
    case .gguf, .ggufBigEndian: return .gguf
    case _ where path.hasSuffix(".safetensors"): return .safetensors
    case _ where path.hasSuffix(".index.json"): return .safetensorsIndex
    case .safetensors: return .safetensors
    case _ where path.hasSuffix(".gguf"): return .gguf  // let the parser name what is wrong
    default: return .unknown("not a GGUF or safetensors file (\(sniffed.kind): \(sniffed.evidence))")
    }
  }
}

