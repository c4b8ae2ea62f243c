#if canImport(Glibc)
import Glibc
#endif

/// A GGUF model split across files by `gguf-split` (`name-00001-of-00003.gguf`, `split.*` keys), read as one.
public struct GGUFSplitSet: Sendable {
  /// Shards in order (shard 1 first).
  public let shards: [GGUFFile]
  /// Cross-shard findings (split keys that disagree, tensors repeated across shards).
  public let anomalies: [Anomaly]

  /// Recognises the split naming convention: returns the 1-based shard number and the shard count.
  public static func splitName(_ path: String) -> (prefix: String, index: Int, count: Int)? {
    guard path.hasSuffix(".gguf") else { return nil }
    let stem = path.dropLast(5)
    let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count >= 4, parts[parts.count - 2] == "of",
      let count = Int(parts[parts.count - 1]), let index = Int(parts[parts.count - 3]),
      parts[parts.count - 1].count == 5, parts[parts.count - 3].count == 5,
      count >= 1, index >= 1, index <= count
    else { return nil }
    let prefix = parts[0..<(parts.count - 3)].joined(separator: "-")
    return (prefix, index, count)
  }

  /// The paths of every shard of the set `path` belongs to.
  public static func shardPaths(for path: String) -> [String]? {
    guard let (prefix, _, count) = splitName(path) else { return nil }
    return (1...count).map { prefix + "-" + pad5($0) + "-of-" + pad5(count) + ".gguf" }
  }

  private static func pad5(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 5 - s.count)) + s
  }

  /// Opens every shard of the set that `anyShardPath` belongs to, validating each and their `split.*` keys.
  /// - Throws: ``FormatError`` for a missing or malformed shard, or split keys that contradict the files.
  public static func open(anyShardPath: String) throws(FormatError) -> GGUFSplitSet {
    guard let paths = shardPaths(for: anyShardPath) else {
      return GGUFSplitSet(shards: [try GGUFFile.open(path: anyShardPath)], anomalies: [])
    }
    var shards: [GGUFFile] = []
    for p in paths {
      guard access(p, F_OK) == 0 else { throw FormatError(path: p, kind: .modelSet(.missingShard(path: p))) }
      shards.append(try GGUFFile.open(path: p))
    }
    var anomalies: [Anomaly] = []
    var seen: [String: String] = [:]
    let declaredTotal = shards.first?["split.tensors.count"]?.int
    for (i, s) in shards.enumerated() {
      if let no = s.entry("split.no"), no.value.int != i {
        throw FormatError(path: s.file.path, kind: .modelSet(.inconsistent(offset: no.valueByteOffset,
          detail: "split.no is \(no.value.int.map(String.init) ?? "not an integer") but the file name says shard \(i + 1) (split.no \(i))")))
      }
      if let c = s.entry("split.count"), c.value.int != paths.count {
        throw FormatError(path: s.file.path, kind: .modelSet(.inconsistent(offset: c.valueByteOffset,
          detail: "split.count is \(c.value.int.map(String.init) ?? "not an integer") but the set has \(paths.count) files")))
      }
      for t in s.tensors {
        if let other = seen[t.name] {
          anomalies.append(Anomaly(.duplicateTensorAcrossShards, at: t.infoByteOffset, subject: t.name,
            "tensor '\(t.name)' in \(s.file.path) also appears in \(other)"))
        } else {
          seen[t.name] = s.file.path
        }
      }
    }
    if let total = declaredTotal, total != seen.count, let e = shards.first?.entry("split.tensors.count") {
      throw FormatError(path: shards[0].file.path, kind: .modelSet(.inconsistent(offset: e.valueByteOffset,
        detail: "split.tensors.count is \(total) but the shards hold \(seen.count) tensors")))
    }
    return GGUFSplitSet(shards: shards, anomalies: anomalies)
  }
}
