import Formats

/// What `scan inspect` shows about one model: format facts, metadata, tensor table, totals, hash.
public struct InspectReport: Sendable {
  public struct Tensor: Sendable {
    public let name: String
    public let type: String
    /// Shape as the format stores it (GGUF: ne[0] first; safetensors: outermost first).
    public let shape: [Int]
    /// Absolute byte offset of the data in its file.
    public let offset: Int
    public let bytes: Int
    public let elements: Int
    /// The shard holding the tensor, for multi-file models.
    public let file: String?
  }

  public struct MetadataItem: Sendable {
    public let key: String
    public let type: String
    public let value: JSONNode
    public let byteOffset: Int
  }

  public let path: String
  /// `gguf`, `gguf-split`, `safetensors` or `safetensors-sharded`.
  public let format: String
  public let version: Int?
  public let byteOrder: String?
  public let files: [(path: String, bytes: Int, sha256: String)]
  public let alignment: Int?
  public let dataOffset: Int?
  public let metadata: [MetadataItem]
  public let tensors: [Tensor]
  public let anomalies: [Anomaly]

  public var parameterCount: Int { tensors.reduce(0) { $0 &+ $1.elements } }
  public var tensorBytes: Int { tensors.reduce(0) { $0 &+ $1.bytes } }
  public var totalFileBytes: Int { files.reduce(0) { $0 &+ $1.bytes } }
}
