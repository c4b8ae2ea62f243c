/// Something odd but readable in a file: Formats reports it, detectors judge it.
///
/// `code` is stable (detectors and rule ids key on it); `byteOffset` is absolute in the file.
public struct Anomaly: Sendable, Equatable, Hashable {
  /// A stable machine-readable kind, e.g. `gguf.nonContiguousOffset`.
  public let code: Code
  /// Absolute byte offset in the file where the odd thing starts.
  public let byteOffset: Int
  /// Human-readable explanation with the numbers involved.
  public let message: String
  /// The key or tensor the anomaly concerns, when there is one.
  public let subject: String?

  public init(_ code: Code, at byteOffset: Int, subject: String? = nil, _ message: String) {
    self.code = code
    self.byteOffset = byteOffset
    self.subject = subject
    self.message = message
  }

  /// Every kind of anomaly Formats can report.
  public enum Code: String, Sendable, CaseIterable, Hashable {
    // GGUF
    case ggufLegacyVersion = "gguf.legacyVersion"
    case ggufBigEndian = "gguf.bigEndian"
    case ggufNestedArray = "gguf.nestedArray"
    case ggufInvalidBool = "gguf.invalidBool"
    case ggufNonContiguousOffset = "gguf.nonContiguousOffset"
    case ggufLongTensorName = "gguf.longTensorName"
    case ggufTooManyDimensions = "gguf.tooManyDimensions"
    case ggufNonZeroPadding = "gguf.nonZeroPadding"
    case ggufTrailingBytes = "gguf.trailingBytes"
    case ggufGapBetweenTensors = "gguf.gapBetweenTensors"
    case ggufUnreadableKeyName = "gguf.oddKeyName"
    case ggufSplitMismatch = "gguf.splitMismatch"
    // safetensors
    case safetensorsDuplicateKey = "safetensors.duplicateKey"
    case safetensorsUnknownField = "safetensors.unknownField"
    case safetensorsHeaderNotPadded = "safetensors.headerNotSpacePadded"
    case safetensorsLeadingWhitespace = "safetensors.leadingWhitespace"
    case safetensorsOddName = "safetensors.oddTensorName"
    // sets and folders
    case shardMissingFromIndex = "set.shardTensorNotInIndex"
    case indexEntryMissing = "set.indexEntryMissing"
    case indexTotalSizeMismatch = "set.indexTotalSizeMismatch"
    case duplicateTensorAcrossShards = "set.duplicateTensorAcrossShards"
  }
}
