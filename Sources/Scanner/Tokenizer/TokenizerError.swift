/// Why a vocabulary could not be turned into a ``Tokenizer``, or why an encode/decode request failed.
///
/// Every case names the metadata key (GGUF `tokenizer.ggml.*` spelling, or the `tokenizer.json` path)
/// and the array index involved, so a report can point at the offending entry.
public enum TokenizerError: Error, Equatable, Sendable {
  /// `tokenizer.ggml.model` names a tokenizer this runtime does not implement.
  case unsupportedModel(String, supported: [String])
  /// `tokenizer.ggml.pre` names a pre-tokenizer this runtime does not implement.
  case unsupportedPreTokenizer(String, supported: [String])
  /// A required key is absent (for example `tokenizer.ggml.merges` for a BPE vocabulary).
  case missingKey(String)
  /// A key holds a value of the wrong kind.
  case wrongType(key: String, expected: String)
  /// The vocabulary has no tokens.
  case emptyVocabulary(key: String)
  /// The vocabulary is larger than a 32-bit token id can address.
  case vocabularyTooLarge(key: String, count: Int, limit: Int)
  /// A per-token array (`scores`, `token_type`) is shorter than the token list.
  case lengthMismatch(key: String, count: Int, expected: Int)
  /// A token id stored in the vocabulary metadata is outside `0..<vocabularySize`.
  case tokenIDOutOfRange(key: String, id: Int, vocabularySize: Int)
  /// A token type code is not one of the GGUF `LLAMA_TOKEN_TYPE_*` values (0...6).
  case invalidTokenType(key: String, index: Int, value: Int32)
  /// A token typed BYTE is not spelled `<0xHH>` with two hex digits (the PLaMo-2 `<0x-1>` bug class).
  case malformedByteToken(key: String, index: Int, text: String)
  /// A merge rule is not `left right` (one space separating two non-empty parts).
  case malformedMerge(key: String, index: Int, text: String)
  /// A merge rule names a token (a part, or the merged result) that is not in the vocabulary.
  case mergeNamesMissingToken(key: String, index: Int, token: String)
  /// The concatenated token texts exceed the addressable size.
  case vocabularyTextTooLarge(key: String, byteCount: Int)
  /// An id passed to `decode` or `piece(for:)` is outside `0..<vocabularySize`.
  case decodeIDOutOfRange(index: Int, id: Int32, vocabularySize: Int)
  /// Encoding needed a byte-fallback token `<0xHH>` (SentencePiece) that the vocabulary lacks.
  case missingByteToken(byte: UInt8)
  /// The model asks for BOS/EOS to be added but has no such token.
  case missingSpecialToken(key: String)
  /// A `tokenizer.json` document uses a construct this adapter does not implement.
  case unsupportedTokenizerJSON(path: String, detail: String)

  /// The GGUF metadata key the error is about, if it is about one.
  public var metadataKey: String? {
    switch self {
    case .unsupportedModel: "tokenizer.ggml.model"
    case .unsupportedPreTokenizer: "tokenizer.ggml.pre"
    case .missingKey(let k), .missingSpecialToken(let k): k
    case .wrongType(let k, _), .emptyVocabulary(let k), .vocabularyTooLarge(let k, _, _), .lengthMismatch(let k, _, _),
      .tokenIDOutOfRange(let k, _, _), .invalidTokenType(let k, _, _), .malformedByteToken(let k, _, _),
      .malformedMerge(let k, _, _), .mergeNamesMissingToken(let k, _, _), .vocabularyTextTooLarge(let k, _):
      k
    case .decodeIDOutOfRange, .missingByteToken, .unsupportedTokenizerJSON: nil
    }
  }
}
