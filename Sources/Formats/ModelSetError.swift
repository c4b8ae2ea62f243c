/// Why a set of files (split GGUF, sharded safetensors, Hugging Face folder) could not be read as one model.
public enum ModelSetError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A shard the set refers to is missing.
  case missingShard(path: String)
  /// The index or split keys contradict the shards.
  case inconsistent(offset: Int, detail: String)
  /// The index JSON is malformed.
  case invalidIndex(offset: Int, detail: String)
  /// A shard name escapes the folder (`..`, absolute path).
  case unsafeShardName(name: String)

  public var offset: Int? {
    switch self {
    case .inconsistent(let o, _), .invalidIndex(let o, _): o
    case .missingShard, .unsafeShardName: nil
    }
  }

  public var rule: String {
    switch self {
    case .missingShard: "missing-shard"
    case .inconsistent: "inconsistent"
    case .invalidIndex: "invalid-index"
    case .unsafeShardName: "unsafe-shard-name"
    }
  }

  public var description: String {
    switch self {
    case .missingShard(let p): "shard '\(p)' is missing"
    case .inconsistent(_, let d): d
    case .invalidIndex(_, let d): "invalid index: \(d)"
    case .unsafeShardName(let n): "shard name '\(n)' escapes the model folder"
    }
  }
}
