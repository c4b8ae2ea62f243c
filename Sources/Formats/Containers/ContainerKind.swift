/// What a file is, judged from its bytes (never from its name), so a folder scan skips nothing silently.
public enum ContainerKind: String, Sendable, CaseIterable, Equatable {
  /// GGUF, little-endian (the normal case).
  case gguf
  /// GGUF whose version field is byte-swapped: written for a big-endian host.
  case ggufBigEndian
  /// Pre-GGUF llama.cpp formats (`ggml`, `ggmf`, `ggjt`, `ggla` magics).
  case ggmlLegacy
  /// safetensors: 8-byte little-endian header length, then a JSON object.
  case safetensors
  /// A PyTorch `torch.save` zip checkpoint (or TorchScript archive): a ZIP holding `*/data.pkl`.
  case pytorchZip
  /// A NumPy `.npz`: a ZIP whose members are all `.npy`.
  case numpyNPZ
  /// Any other ZIP archive.
  case zip
  /// A raw pickle stream (protocols 0-5).
  case pickle
  /// A legacy (pre-1.6, non-zip) `torch.save` file: a pickle of the magic number 0x1950a86a20f9469cfc6c.
  case pytorchLegacy
  /// A NumPy `.npy` array.
  case numpyNPY
  /// gzip (RFC 1952).
  case gzip
  /// bzip2.
  case bzip2
  /// xz.
  case xz
  /// Zstandard.
  case zstd
  /// 7-Zip.
  case sevenZip
  /// POSIX tar (`ustar` at byte 257).
  case tar
  /// HDF5 (Keras `.h5`), superblock at 0, 512, 1024, 2048...
  case hdf5
  /// ONNX `ModelProto` (protobuf; heuristic, see `ContainerKind.sniff`).
  case onnx
  /// TensorFlow Lite flatbuffer (`TFL3` identifier at byte 4).
  case tflite
  /// JSON text.
  case json
  /// Other UTF-8 text.
  case text
  /// ELF executable or shared object.
  case elf
  /// Windows PE executable (`MZ` ... `PE\0\0`).
  case portableExecutable
  /// Mach-O binary.
  case machO
  /// Zero bytes.
  case empty
  /// Nothing recognised.
  case unknown
}

/// How sure a sniff is.
public enum SniffConfidence: Int, Sendable, Comparable, CaseIterable {
  /// A weak hint (a short pattern that text or random bytes could contain).
  case low = 1
  /// Several consistent fields, not fully validated.
  case medium = 2
  /// A long magic or a validated structure.
  case high = 3
  /// A long magic plus a validated version or structure.
  case certain = 4

  public static func < (a: SniffConfidence, b: SniffConfidence) -> Bool { a.rawValue < b.rawValue }
}

/// The result of sniffing: the kind, how sure, and which bytes said so.
public struct ContainerSniff: Sendable, Equatable, CustomStringConvertible {
  public let kind: ContainerKind
  public let confidence: SniffConfidence
  /// Absolute offset of the bytes that matched.
  public let evidenceByteOffset: Int
  /// What matched, in words and hex (`"bytes 0-3 'GGUF', version 3 little-endian"`).
  public let evidence: String
  /// A ZIP archive found at the end of a file whose start is something else (a polyglot), with its
  /// end-record offset; nil when there is none or the file is itself a ZIP.
  public let appendedZipEndRecordOffset: Int?

  public init(kind: ContainerKind, confidence: SniffConfidence, evidenceByteOffset: Int, evidence: String,
              appendedZipEndRecordOffset: Int? = nil) {
    self.kind = kind
    self.confidence = confidence
    self.evidenceByteOffset = evidenceByteOffset
    self.evidence = evidence
    self.appendedZipEndRecordOffset = appendedZipEndRecordOffset
  }

  public var description: String {
    "\(kind.rawValue) (\(confidence)) at byte \(evidenceByteOffset): \(evidence)"
      + (appendedZipEndRecordOffset.map { "; ZIP end record at byte \($0)" } ?? "")
  }
}
