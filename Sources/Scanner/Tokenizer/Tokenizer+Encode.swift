// MARK: - Encoding (llama_vocab::impl::tokenize)

extension Tokenizer {
  /// Encodes text to token ids exactly as `llama_tokenize(vocab, text, add_special, parse_special)`.
  ///
  /// - Parameters:
  ///   - text: the raw prompt.
  ///   - addSpecial: add BOS/EOS where the vocabulary asks for them (``addBOS``, ``addEOS``).
  ///   - parseSpecial: special/control token texts in `text` become those tokens (user-defined tokens
  ///     are matched either way).
  /// - Returns: token ids, each in `0..<vocabularySize`.
  /// - Throws: ``TokenizerError/missingByteToken(byte:)`` when SentencePiece needs a byte fallback the
  ///   vocabulary lacks; ``TokenizerError/missingSpecialToken(key:)`` when BOS/EOS is required but absent.
  /// - Complexity: O(n log n) in the text length.
  public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) throws(TokenizerError)
    -> [Int32]
  {
    let bytes = Array(text.utf8)
    let fragments = specialMatcher.partition(bytes, attributes: attributes, parseSpecial: parseSpecial)
    var output: [Int32] = []
    output.reserveCapacity(bytes.count / 3 + 4)
    if addSpecial && addBOS {
      guard let bos else { throw .missingSpecialToken(key: "tokenizer.ggml.bos_token_id") }
      output.append(bos)
    }
    switch kind {
    case .sentencePiece:
      var previousWasSpecial = true
      var buffer: [UInt8] = []
      for fragment in fragments {
        switch fragment {
        case .token(let id):
          output.append(id)
          previousWasSpecial = true
        case .text(let range):
          buffer.removeAll(keepingCapacity: true)
          let prefix: Bool
          switch metaspacePrefix {
          case nil: prefix = addSpacePrefix && previousWasSpecial
          case .first?: prefix = addSpacePrefix && range.lowerBound == bytes.startIndex && bytes[range].first != 0x20
          case .always?: prefix = addSpacePrefix && bytes[range].first != 0x20
          }
          if prefix { buffer.append(contentsOf: [0xE2, 0x96, 0x81]) }
          for b in bytes[range] {
            if b == 0x20 { buffer.append(contentsOf: [0xE2, 0x96, 0x81]) } else { buffer.append(b) }
          }
          try encodeSentencePiece(buffer, into: &output)
          previousWasSpecial = false
        }
      }
    case .bytePairEncoding:
      var scratch = BPEScratch()
      for fragment in fragments {
        switch fragment {
        case .token(let id): output.append(id)
        case .text(let range): encodeBytePairs(bytes, range, into: &output, scratch: &scratch)
        }
      }
    }
    if addSpecial && addEOS {
      guard let eos else { throw .missingSpecialToken(key: "tokenizer.ggml.eos_token_id") }
      output.append(eos)
    }
    return output
  }

  // MARK: SentencePiece (llm_tokenizer_spm_session)

  /// A candidate merge of two adjacent symbols; the queue pops the highest score, then the leftmost.
  fileprivate struct ScoredPair: HeapElement {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32
    static func precedes(_ a: ScoredPair, _ b: ScoredPair) -> Bool {
      a.score > b.score || (a.score == b.score && a.left < b.left)
    }
  }

  /// Merges the UTF-8 characters of `text` (spaces already escaped to U+2581) by token score.
  private func encodeSentencePiece(_ text: [UInt8], into output: inout [Int32]) throws(TokenizerError) {
    guard !text.isEmpty else { return }
    var starts: [Int32] = []
    var lengths: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var offset = 0
    while offset < text.count {
      let length = min(Self.utf8Length(text[offset]), text.count - offset)
      starts.append(Int32(truncatingIfNeeded: offset))  // can't truncate: text < 2 GiB (String in memory)
      lengths.append(Int32(truncatingIfNeeded: length))
      offset += length
    }
    let n = starts.count
    for i in 0..<n {
      prev.append(Int32(truncatingIfNeeded: i - 1))
      next.append(i + 1 < n ? Int32(truncatingIfNeeded: i + 1) : -1)
    }
    var queue = Heap<ScoredPair>()
    text.withUnsafeBufferPointer { buffer in
      func tryAdd(_ left: Int32, _ right: Int32) {
        guard left >= 0, right >= 0 else { return }
        let s = Int(starts[Int(left)])
        let e = Int(starts[Int(right)]) + Int(lengths[Int(right)])
        guard let id = table.lookup(buffer, s, e) else { return }
        queue.push(ScoredPair(score: scores[Int(id)], left: left, right: right, size: Int32(truncatingIfNeeded: e - s)))
      }
      for i in 1..<max(n, 1) { tryAdd(Int32(i - 1), Int32(i)) }
      while let pair = queue.pop() {
        let l = Int(pair.left)
        let r = Int(pair.right)
        guard lengths[l] > 0, lengths[r] > 0, lengths[l] + lengths[r] == pair.size else { continue }
        lengths[l] += lengths[r]
        lengths[r] = 0
        next[l] = next[r]
        if next[r] >= 0 { prev[Int(next[r])] = pair.left }
        tryAdd(prev[l], pair.left)
        tryAdd(pair.left, next[l])
      }
    }
    var i = 0
    while i != -1 && n > 0 {
      let s = Int(starts[i])
      let e = s + Int(lengths[i])
      let id = text.withUnsafeBufferPointer { table.lookup($0, s, e) }
      if let id {
        output.append(id)
      } else {
        for b in text[s..<e] {
          let t = byteFallback[Int(b)]
          guard t >= 0 else { throw .missingByteToken(byte: b) }
          output.append(t)
        }
      }
      i = Int(next[i])
    }
  }

  /// Bytes in the UTF-8 sequence a lead byte starts (llama.cpp `unicode_len_utf8`; stray bytes count 1).
  @inline(__always) static func utf8Length(_ lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0xC, 0xD: 2
    case 0xE: 3
    case 0xF: 4
    default: 1
    }
  }

  // MARK: Byte-level BPE (llm_tokenizer_bpe_session)

  /// A candidate merge; the queue pops the lowest rank, then the leftmost.
  fileprivate struct RankedPair: HeapElement {
    var rank: Int32
    var left: Int32
    var right: Int32
    var size: Int32
    var result: Int32
    static func precedes(_ a: RankedPair, _ b: RankedPair) -> Bool {
      a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
    }
  }

  /// Reused buffers for one `encode` call.
  struct BPEScratch {
    var scalars: [UInt32] = []
    var classes: [ScalarClass] = []
    var byteOffsets: [Int] = []
    var ids: [Int32] = []
    var lengths: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var mapped: [UInt8] = []
    fileprivate var queue = Heap<RankedPair>()
  }

  /// Pre-tokenizes `bytes[range]` and merges each piece by rank.
  func encodeBytePairs(_ bytes: [UInt8], _ range: Range<Int>, into output: inout [Int32], scratch: inout BPEScratch) {
    guard let preTokenizer else { return }
    // Decode scalars (invalid sequences become U+FFFD one byte at a time, like llama.cpp).
    scratch.scalars.removeAll(keepingCapacity: true)
    scratch.classes.removeAll(keepingCapacity: true)
    scratch.byteOffsets.removeAll(keepingCapacity: true)
    var i = range.lowerBound
    while i < range.upperBound {
      scratch.byteOffsets.append(i)
      let (value, length) = Self.decodeScalar(bytes, i, range.upperBound)
      scratch.scalars.append(value)
      scratch.classes.append(ScalarClass(scalarValue: value))
      i += length
    }
    scratch.byteOffsets.append(range.upperBound)
    let ends = PreTokenizerSplitter(scalars: scratch.scalars, classes: scratch.classes).split(preTokenizer.passes)
    var start = 0
    for end in ends {
      let wordStart = scratch.byteOffsets[start]
      let wordEnd = scratch.byteOffsets[end]
      start = end
      mergeWord(bytes, wordStart, wordEnd, into: &output, scratch: &scratch)
    }
  }

  /// One scalar from valid UTF-8 at `i` (llama.cpp `unicode_cpt_from_utf8`), or U+FFFD and 1 byte.
  @inline(__always) static func decodeScalar(_ b: [UInt8], _ i: Int, _ end: Int) -> (UInt32, Int) {
    let c0 = b[i]
    if c0 < 0x80 { return (UInt32(c0), 1) }
    func cont(_ k: Int) -> UInt32? {
      i + k < end && b[i + k] & 0xC0 == 0x80 ? UInt32(b[i + k] & 0x3F) : nil
    }
    if c0 & 0xE0 == 0xC0, let c1 = cont(1) { return ((UInt32(c0 & 0x1F) << 6) | c1, 2) }
    if c0 & 0xF0 == 0xE0, let c1 = cont(1), let c2 = cont(2) {
      return ((UInt32(c0 & 0x0F) << 12) | (c1 << 6) | c2, 3)
    }
    if c0 & 0xF8 == 0xF0, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) {
      return ((UInt32(c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4)
    }
    return (0xFFFD, 1)
  }

  /// Merges one pre-token (`bytes[from..<to]`, raw UTF-8) into tokens.
  private func mergeWord(_ bytes: [UInt8], _ from: Int, _ to: Int, into output: inout [Int32], scratch: inout BPEScratch) {
    let n = to - from
    guard n > 0 else { return }
    if ignoreMerges {
      scratch.mapped.removeAll(keepingCapacity: true)
      for b in bytes[from..<to] { scratch.mapped.append(contentsOf: ByteLevel.encoded[Int(b)]) }
      if let id = table.lookup(scratch.mapped) {
        output.append(id)
        return
      }
    }
    if n == 1 {
      appendSymbol(byteSymbol[Int(bytes[from])], bytes, from, 1, into: &output)
      return
    }
    scratch.ids.removeAll(keepingCapacity: true)
    scratch.lengths.removeAll(keepingCapacity: true)
    scratch.prev.removeAll(keepingCapacity: true)
    scratch.next.removeAll(keepingCapacity: true)
    for k in 0..<n {
      scratch.ids.append(byteSymbol[Int(bytes[from + k])])
      scratch.lengths.append(1)
      scratch.prev.append(Int32(truncatingIfNeeded: k - 1))  // can't truncate: word < 2 GiB
      scratch.next.append(k + 1 < n ? Int32(truncatingIfNeeded: k + 1) : -1)
    }
    scratch.queue.removeAll()
    func tryAdd(_ left: Int32, _ right: Int32, _ scratch: inout BPEScratch) {
      guard left >= 0, right >= 0 else { return }
      let l = scratch.ids[Int(left)]
      let r = scratch.ids[Int(right)]
      guard l >= 0, r >= 0 else { return }
      guard let rule = merges[UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))] else { return }
      let size = scratch.lengths[Int(left)] + scratch.lengths[Int(right)]
      scratch.queue.push(RankedPair(rank: rule.rank, left: left, right: right, size: size, result: rule.result))
    }
    for k in 1..<n { tryAdd(Int32(k - 1), Int32(k), &scratch) }
    while let pair = scratch.queue.pop() {
      let l = Int(pair.left)
      let r = Int(pair.right)
      guard scratch.lengths[l] > 0, scratch.lengths[r] > 0, scratch.lengths[l] + scratch.lengths[r] == pair.size
      else { continue }
      scratch.lengths[l] += scratch.lengths[r]
      scratch.lengths[r] = 0
      scratch.ids[l] = pair.result
      let after = scratch.next[r]
      scratch.next[l] = after
      if after >= 0 { scratch.prev[Int(after)] = pair.left }
      tryAdd(scratch.prev[l], pair.left, &scratch)
      tryAdd(pair.left, after, &scratch)
    }
    var k = 0
    var offset = from
    while k != -1 {
      let length = Int(scratch.lengths[k])
      appendSymbol(scratch.ids[k], bytes, offset, length, into: &output)
      offset += length
      k = Int(scratch.next[k])
    }
  }

  /// Appends a merged symbol; a symbol that is not a token falls back to the single-byte tokens of its
  /// byte-level spelling, silently dropping bytes without one (llama.cpp does the same).
  @inline(__always)
  private func appendSymbol(_ id: Int32, _ bytes: [UInt8], _ from: Int, _ length: Int, into output: inout [Int32]) {
    if id >= 0 {
      output.append(id)
      return
    }
    for b in bytes[from..<(from + length)] {
      for e in ByteLevel.encoded[Int(b)] {
        if let t = table.lookup([e]) { output.append(t) }
      }
    }
  }
}

// MARK: - Priority queue

protocol HeapElement {
  /// Whether `a` pops before `b`.
  static func precedes(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap; `pop` returns the element that precedes all others.
struct Heap<Element: HeapElement> {
  private var items: [Element] = []

  mutating func removeAll() { items.removeAll(keepingCapacity: true) }

  mutating func push(_ element: Element) {
    items.append(element)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard Element.precedes(items[child], items[parent]) else { break }
      items.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> Element? {
    guard let last = items.popLast() else { return nil }
    guard !items.isEmpty else { return last }
    let top = items[0]
    items[0] = last
    var parent = 0
    let count = items.count
    while true {
      let left = 2 * parent + 1
      guard left < count else { break }
      var best = left
      if left + 1 < count && Element.precedes(items[left + 1], items[left]) { best = left + 1 }
      guard Element.precedes(items[best], items[parent]) else { break }
      items.swapAt(best, parent)
      parent = best
    }
    return top
  }
}
