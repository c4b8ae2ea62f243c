/// A file that could not be read, with the path, the byte offset and the rule broken.
///
/// This is what Scanner and the CLI see from Formats; each format's own typed error is inside.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file the error is about.
  public let path: String
  public let kind: Kind

  public init(path: String, kind: Kind) {
    self.path = path
    self.kind = kind
  }

  /// The per-format error.
  public enum Kind: Sendable, Equatable {
    case file(FileError)
    case gguf(GGUFError)
    case safetensors(SafetensorsError)
    case modelSet(ModelSetError)
  }

  /// The absolute byte offset of the problem, when it has one.
  public var byteOffset: Int? {
    switch kind {
    case .file: nil
    case .gguf(let e): e.offset
    case .safetensors(let e): e.offset
    case .modelSet(let e): e.offset
    }
  }

  /// A stable rule identifier, e.g. `gguf.truncated`.
  public var rule: String {
    switch kind {
    case .file: "file.unreadable"
    case .gguf(let e): "gguf." + e.rule
    case .safetensors(let e): "safetensors." + e.rule
    case .modelSet(let e): "set." + e.rule
    }
  }

  public var description: String {
    let what: String
    switch kind {
    case .file(let e): return e.description
    case .gguf(let e): what = e.description
    case .safetensors(let e): what = e.description
    case .modelSet(let e): what = e.description
    }
    if let o = byteOffset { return "\(path): offset \(o): \(what)" }
    return "\(path): \(what)"
  }
}
