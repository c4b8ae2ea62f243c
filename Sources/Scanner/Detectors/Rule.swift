/// A finding kind with a stable id, documented by `scan rules`.
public struct Rule: Sendable, Hashable {
  public let id: String
  /// Default severity (a detector may raise or lower it per finding; the rule text says when).
  public let severity: Severity
  public let title: String
  /// What it means and why it matters.
  public let summary: String
  /// How to fix it, or what to do about it.
  public let remedy: String

  public static func == (a: Rule, b: Rule) -> Bool { a.id == b.id }
  public func hash(into h: inout Hasher) { h.combine(id) }
}

/// Every rule the scanner can report. Ids never change meaning; retired ids are not reused.
public enum Rules {
  // MARK: FMT: file structure (detector `structure`)
  public static let malformed = Rule(id: "FMT-001", severity: .critical, title: "Malformed model file",
    summary: "The file breaks its format's rules (truncation, out-of-bounds offsets, overflowing sizes, invalid UTF-8, ...). A parser that trusts it can crash or read out of bounds; the scan of this file is incomplete, so the verdict is `unsafe`.",
    remedy: "Do not load the file. Re-download it from a trusted source and compare its SHA-256.")
  public static let unreadable = Rule(id: "FMT-002", severity: .high, title: "File could not be read",
    summary: "The file could not be opened or mapped (permissions, not a regular file, I/O error). Nothing about it was checked.",
    remedy: "Fix the path or permissions and scan again.")
  public static let unrecognized = Rule(id: "FMT-003", severity: .medium, title: "Not a recognised model file",
    summary: "The path holds no format the scanner can read; it was not scanned.",
    remedy: "Scan the model's weights file or folder; convert other formats to safetensors or GGUF.")
  public static let llamaCppRefuses = Rule(id: "FMT-GGUF-001", severity: .medium, title: "GGUF that llama.cpp refuses",
    summary: "The spec allows it but llama.cpp's loader refuses it (nested arrays, non-contiguous tensor offsets, tensor names of 64+ bytes, more than 4 dimensions, non-native byte order). Real tooling will not load it as the scanner read it.",
    remedy: "Regenerate the file with current gguf tooling.")
  public static let hiddenBytes = Rule(id: "FMT-GGUF-002", severity: .high, title: "Bytes no tensor accounts for",
    summary: "Data between or after tensors that no tensor references, or non-zero padding. Such space can carry a second payload (polyglot file) that other tools read.",
    remedy: "Treat the file as tampered; obtain it from the original publisher.")
  public static let legacyGGUF = Rule(id: "FMT-GGUF-003", severity: .low, title: "Legacy GGUF version",
    summary: "GGUF v1 or v2: current readers refuse v1; v2 is an old revision.",
    remedy: "Convert with current llama.cpp tooling.")
  public static let invalidBool = Rule(id: "FMT-GGUF-004", severity: .low, title: "Invalid BOOL metadata value",
    summary: "A BOOL byte other than 0 or 1: readers may disagree on its meaning.",
    remedy: "Rewrite the metadata with a conformant writer.")
  public static let readerDifferential = Rule(id: "FMT-ST-001", severity: .high, title: "Readers disagree about this file",
    summary: "Duplicate JSON keys (Python and Rust keep the last, Foundation's JSONDecoder the first), leading whitespace before '{', or similar: different tools see different tensors or metadata.",
    remedy: "Treat as tampered; a legitimate writer never produces it.")
  public static let oddHeader = Rule(id: "FMT-ST-002", severity: .info, title: "Unusual safetensors header",
    summary: "Unknown fields in a tensor entry, a header not padded to 8 bytes, or odd tensor names. Readable, but not what the reference writer produces.",
    remedy: "Usually harmless; note which tool wrote the file.")
  public static let shardMismatch = Rule(id: "FMT-SET-001", severity: .high, title: "Shards disagree with their index",
    summary: "A sharded model's index and shards disagree (tensor in the wrong shard, missing, duplicated, wrong total size): loaders may pick different tensors.",
    remedy: "Re-download the whole set.")

  /// All rules, in id order.
  public static let all: [Rule] = [
    malformed, unreadable, unrecognized, llamaCppRefuses, hiddenBytes, legacyGGUF, invalidBool,
    readerDifferential, oddHeader, shardMismatch,
  ].sorted { $0.id < $1.id }

  public static func rule(id: String) -> Rule? { all.first { $0.id == id } }
}
