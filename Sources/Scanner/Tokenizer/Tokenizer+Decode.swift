// MARK: - Decoding (llama_vocab::impl::token_to_piece, detokenize)

extension Tokenizer {
  /// The bytes token `id` renders to, as `llama_token_to_piece(vocab, id, buf, n, 0, renderSpecial)`.
  ///
  /// SentencePiece: U+2581 becomes a space and `<0xHH>` tokens their byte. BPE: the GPT-2 alphabet is
  /// mapped back to bytes (a character outside it renders as `[UNK_BYTE_0x…]`, as llama.cpp does).
  /// Control and unknown tokens render their text only when `renderSpecial` is true; user-defined
  /// tokens always render their text; unused/undefined tokens render nothing.
  /// - Throws: ``TokenizerError/decodeIDOutOfRange(index:id:vocabularySize:)`` (index 0).
  public func piece(for id: Int32, renderSpecial: Bool = true) throws(TokenizerError) -> [UInt8] {
    guard id >= 0, Int(id) < vocabularySize else {
      throw .decodeIDOutOfRange(index: 0, id: id, vocabularySize: vocabularySize)
    }
    return renderPiece(Int(id), renderSpecial: renderSpecial)
  }

  private func renderPiece(_ id: Int, renderSpecial: Bool) -> [UInt8] {
    let attr = attributes[id]
    if !renderSpecial && !attr.isDisjoint(with: [.unknown, .control]) { return [] }
    let text = table.bytes(of: id)
    if !attr.isDisjoint(with: [.unknown, .control, .userDefined]) { return Array(text) }
    if attr.contains(.normal) {
      switch kind {
      case .sentencePiece: return Self.unescapeWhitespace(text)
      case .bytePairEncoding: return Self.byteLevelDecode(table.string(of: id))
      }
    }
    if attr.contains(.byte), byteValue[id] >= 0 { return [UInt8(truncatingIfNeeded: byteValue[id])] }
    return []
  }

  /// U+2581 (E2 96 81) -> space.
  static func unescapeWhitespace(_ text: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(text.count)
    var i = text.startIndex
    while i < text.endIndex {
      if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
        out.append(0x20)
        i += 3
      } else {
        out.append(text[i])
        i += 1
      }
    }
    return out
  }

  /// GPT-2 alphabet -> bytes (llama.cpp `llama_decode_text`).
  static func byteLevelDecode(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for scalar in text.unicodeScalars {
      let v = Int(scalar.value)
      if v < ByteLevel.byteOfScalar.count, ByteLevel.byteOfScalar[v] >= 0 {
        out.append(UInt8(truncatingIfNeeded: ByteLevel.byteOfScalar[v]))
      } else {
        out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
        for b in String(Character(scalar)).utf8 {
          let hex = Array("0123456789abcdef".utf8)
          out.append(hex[Int(b >> 4)])
          out.append(hex[Int(b & 15)])
        }
        out.append(contentsOf: Array(text.utf8))
        out.append(0x5D)
      }
    }
    return out
  }

  /// Concatenates the pieces of `ids` (what llama-cpp-python's `Llama.detokenize` returns, without its
  /// strip of a space after a leading BOS).
  /// - Throws: ``TokenizerError/decodeIDOutOfRange(index:id:vocabularySize:)`` with the position of the bad id.
  /// - Complexity: O(output bytes).
  public func decode(_ ids: [Int32], renderSpecial: Bool = false) throws(TokenizerError) -> [UInt8] {
    var out: [UInt8] = []
    for (index, id) in ids.enumerated() {
      guard id >= 0, Int(id) < vocabularySize else {
        throw .decodeIDOutOfRange(index: index, id: id, vocabularySize: vocabularySize)
      }
      out.append(contentsOf: renderPiece(Int(id), renderSpecial: renderSpecial))
    }
    return out
  }

  /// ``decode(_:renderSpecial:)`` as a `String`; invalid UTF-8 (a token boundary inside a character)
  /// is replaced by U+FFFD.
  public func decodeText(_ ids: [Int32], renderSpecial: Bool = false) throws(TokenizerError) -> String {
    String(decoding: try decode(ids, renderSpecial: renderSpecial), as: UTF8.self)
  }

  /// Text for `ids` exactly as `llama_detokenize(vocab, ids, ..., removeSpecial, unparseSpecial)`:
  /// a leading BOS/trailing EOS is dropped when `removeSpecial` and the model adds them, the first
  /// piece loses one leading space when the vocabulary adds a space prefix (unless a BOS was
  /// dropped), and BPE vocabularies with `clean_up_tokenization_spaces` get llama.cpp's three
  /// space-cleaning passes (` ?`, ` !`, ` .`, ` ,`, ` ' `, ` 's`, ` 'm`, ` 're`, ` 've`).
  /// - Throws: ``TokenizerError/decodeIDOutOfRange(index:id:vocabularySize:)``.
  public func detokenize(_ ids: [Int32], removeSpecial: Bool = false, unparseSpecial: Bool = false)
    throws(TokenizerError) -> [UInt8]
  {
    var slice = ids[...]
    var removeSpace = addSpacePrefix
    if removeSpecial && addBOS, let first = slice.first, first == bos {
      removeSpace = false
      slice = slice.dropFirst()
    }
    if removeSpecial && addEOS, let last = slice.last, last == eos {
      slice = slice.dropLast()
    }
    var text: [UInt8] = []
    for (offset, id) in slice.enumerated() {
      guard id >= 0, Int(id) < vocabularySize else {
        throw .decodeIDOutOfRange(index: offset + (ids.count - slice.count == 0 ? 0 : slice.startIndex), id: id,
          vocabularySize: vocabularySize)
      }
      var piece = renderPiece(Int(id), renderSpecial: unparseSpecial)
      if removeSpace, piece.first == 0x20 { piece.removeFirst() }
      removeSpace = false
      text.append(contentsOf: piece)
    }
    return cleanSpaces ? Self.cleanTokenizationSpaces(text) : text
  }

  /// llama.cpp's `clean_spaces` passes over detokenized bytes.
  static func cleanTokenizationSpaces(_ input: [UInt8]) -> [UInt8] {
    let space: UInt8 = 0x20
    let quote: UInt8 = 0x27
    guard input.count > 1 else { return input }
    // pass 1: " ?", " !", " .", " ,"
    var a: [UInt8] = [input[0]]
    for i in 1..<input.count {
      let x = input[i]
      if input[i - 1] == space && (x == 0x3F || x == 0x21 || x == 0x2E || x == 0x2C) { a.removeLast() }
      a.append(x)
    }
    // pass 2: " ' " -> "'"
    var b: [UInt8] = a.isEmpty ? [] : [a[0]]
    var i = 1
    while i < a.count {
      let x = a[i]
      if x == quote && i + 1 < a.count && a[i - 1] == space && a[i + 1] == space {
        b.removeLast()
        a[i + 1] = 0  // llama.cpp writes NUL over the skipped space
        i += 1
      }
      b.append(x)
      i += 1
    }
    // pass 3: " 's", " 'm", " 're", " 've"
    guard b.count > 1 else { return b }
    var c: [UInt8] = [b[0]]
    for i in 1..<b.count {
      let x = b[i]
      if b[i - 1] == space && x == quote && i + 1 < b.count {
        let x1 = b[i + 1]
        if x1 == 0x73 || x1 == 0x6D {
          c.removeLast()
        } else if x1 != 0x74 && x1 != 0x64 && i + 2 < b.count {
          let x2 = b[i + 2]
          if (x1 == 0x72 && x2 == 0x65) || (x1 == 0x76 && x2 == 0x65) { c.removeLast() }
        }
      }
      c.append(x)
    }
    return c
  }
}
