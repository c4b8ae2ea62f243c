#if canImport(Glibc)
import Glibc
#endif

/// A sharded safetensors checkpoint described by `model.safetensors.index.json`
/// (`{"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}`).
public struct SafetensorsShardedSet: Sendable {
  public let indexPath: String
  /// Shard file name -> parsed shard, in the order the index first names them.
  public let shards: [(name: String, file: SafetensorsFile)]
  /// Tensor name -> shard file name, as the index says.
  public let weightMap: [String: String]
  public let declaredTotalSize: Int?
  public let anomalies: [Anomaly]

  /// Opens the index and every shard it names, cross-checking them.
  /// - Throws: ``FormatError`` for a malformed index, a shard outside the folder, a missing or malformed shard.
  public static func open(indexPath: String) throws(FormatError) -> SafetensorsShardedSet {
    let file: MappedFile
    do { file = try MappedFile(path: indexPath) } catch { throw FormatError(path: indexPath, kind: .file(error)) }
    let doc: JSONParser.Document
    do { doc = try file.withBytes { (b) throws(JSONError) in try JSONParser.parse(b) } } catch {
      throw FormatError(path: indexPath, kind: .modelSet(.invalidIndex(offset: error.offset, detail: error.description)))
    }
    guard let map = doc.value["weight_map"]?.members else {
      throw FormatError(path: indexPath, kind: .modelSet(.invalidIndex(offset: 0, detail: "no 'weight_map' object")))
    }
    let folder = indexPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    var weightMap: [String: String] = [:]
    var spelling: [String: (name: String, offset: Int)] = [:]  // the first spelling of each name, to catch equivalents
    var order: [String] = []
    for m in map {
      if let first = spelling[m.key], !first.name.hasSameBytes(as: m.key) {
        throw FormatError(path: indexPath, kind: .modelSet(.invalidIndex(offset: m.keyByteOffset,
          detail: "weight_map name '\(m.key.nonASCIIEscaped)' differs in bytes from '\(first.name.nonASCIIEscaped)' (offset \(first.offset)) but is the same Unicode text: readers would disagree on which tensor it means")))
      }
      if spelling[m.key] == nil { spelling[m.key] = (m.key, m.keyByteOffset) }
      guard let shard = m.value.string else {
        throw FormatError(path: indexPath, kind: .modelSet(.invalidIndex(offset: m.keyByteOffset, detail: "weight_map['\(m.key)'] is not a string")))
      }
      guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains(".."), !shard.contains("\0") else {
        throw FormatError(path: indexPath, kind: .modelSet(.unsafeShardName(name: shard)))
      }
      if weightMap[m.key] == nil, !order.contains(shard) { order.append(shard) }
      weightMap[m.key] = shard
    }
    var anomalies: [Anomaly] = []
    for d in doc.duplicateKeys {
      anomalies.append(Anomaly(.safetensorsDuplicateKey, at: d.duplicateByteOffset, subject: d.key,
        "index key '\(d.key)' appears twice (first at offset \(d.firstByteOffset))"))
    }
    var shards: [(String, SafetensorsFile)] = []
    var seen: [String: String] = [:]
    var total = 0
    for name in order {
      let path = folder.isEmpty ? name : folder + "/" + name
      guard access(path, F_OK) == 0 else { throw FormatError(path: path, kind: .modelSet(.missingShard(path: path))) }
      let s = try SafetensorsFile.open(path: path)
      for t in s.tensors {
        total &+= t.byteCount
        if let other = seen[t.name] {
          anomalies.append(Anomaly(.duplicateTensorAcrossShards, at: t.headerByteOffset, subject: t.name,
            "tensor '\(t.name)' appears in shard \(name) and in \(other)"))
        }
        seen[t.name] = name
        if weightMap[t.name] != name {
          anomalies.append(Anomaly(.shardMissingFromIndex, at: t.headerByteOffset, subject: t.name,
            "tensor '\(t.name)' is stored in \(name) but the index maps it to \(weightMap[t.name] ?? "nothing")"))
        }
      }
      shards.append((name, s))
    }
    for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) where seen[tensor] == nil {
      anomalies.append(Anomaly(.indexEntryMissing, at: 0, subject: tensor,
        "the index maps '\(tensor)' to \(shard) but no shard holds it"))
    }
    let declared = doc.value["metadata"]?["total_size"]?.int
    if let declared, declared != total {
      anomalies.append(Anomaly(.indexTotalSizeMismatch, at: 0,
        "index metadata.total_size is \(declared) but the shards' tensors hold \(total) bytes"))
    }
    return SafetensorsShardedSet(indexPath: indexPath, shards: shards, weightMap: weightMap,
      declaredTotalSize: declared, anomalies: anomalies)
  }
}
