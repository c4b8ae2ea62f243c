/// Finds special-token texts in raw text and splits it the way llama.cpp's `tokenizer_st_partition` does.
///
/// llama.cpp takes each special token in turn (longest text first) and splits every remaining text
/// fragment at all of that token's non-overlapping occurrences, left to right. Doing that for every
/// special token is O(tokens × text) — Gemma has thousands of control tokens — so a byte trie first
/// finds which special tokens occur in the text at all; only those run the split, in the same order,
/// which gives the same fragments (a fragment is a substring of the text, so a token absent from the
/// text cannot occur in it).
struct SpecialTokenMatcher: Sendable {
  /// Token ids in matching order.
  let order: [Int32]
  /// Text bytes of each entry of `order`.
  let patterns: [[UInt8]]
  /// Trie edges: `node << 8 | byte` -> child node. Node 0 is the root.
  private let edges: [Int: Int32]
  /// For each node, the `order` index of the token ending there (-1 for none; the first in order wins).
  private let terminal: [Int32]

  init(order: [Int32], texts: [[UInt8]]) {
    self.order = order
    patterns = order.map { texts[Int($0)] }
    var edges: [Int: Int32] = [:]
    var terminal: [Int32] = [-1]
    for (index, pattern) in patterns.enumerated() {
      var node = 0
      for byte in pattern {
        let key = node << 8 | Int(byte)
        if let child = edges[key] {
          node = Int(child)
        } else {
          terminal.append(-1)
          let child = terminal.count - 1
          edges[key] = Int32(truncatingIfNeeded: child)  // can't truncate: node count <= total token bytes < Int32.max
          node = child
        }
      }
      if terminal[node] < 0 { terminal[node] = Int32(truncatingIfNeeded: index) }
    }
    self.edges = edges
    self.terminal = terminal
  }

  /// A piece of the raw text: unprocessed bytes, or a special token already recognised.
  enum Fragment: Equatable {
    case text(Range<Int>)
    case token(Int32)
  }

  /// Splits `bytes` at special-token occurrences.
  /// - Parameters:
  ///   - bytes: UTF-8 text.
  ///   - attributes: per-token attributes (strip flags; CONTROL/UNKNOWN are skipped when `parseSpecial` is false).
  ///   - parseSpecial: llama.cpp `parse_special`; user-defined tokens are matched either way.
  /// - Complexity: O(n · depth) to find candidates, then O(n · m) per occurring token of length m.
  func partition(_ bytes: [UInt8], attributes: [Tokenizer.TokenAttributes], parseSpecial: Bool) -> [Fragment] {
    guard !bytes.isEmpty else { return [] }
    guard !order.isEmpty else { return [.text(0..<bytes.count)] }
    // Which entries occur anywhere in the text.
    var occurs = [Bool](repeating: false, count: order.count)
    var any = false
    for start in 0..<bytes.count {
      var node = 0
      var i = start
      while i < bytes.count, let child = edges[node << 8 | Int(bytes[i])] {
        node = Int(child)
        let t = terminal[node]
        if t >= 0 {
          occurs[Int(t)] = true
          any = true
        }
        i += 1
      }
    }
    // Duplicate texts: the trie records only the first entry for a text. A later entry with the same
    // text finds nothing left to split in llama.cpp either, except when `parseSpecial` is false and the
    // first is CONTROL while the later is USER_DEFINED (not handled; no real vocabulary does this).
    guard any else { return [.text(0..<bytes.count)] }

    var fragments: [Fragment] = [.text(0..<bytes.count)]
    for index in 0..<order.count where occurs[index] {
      let id = order[index]
      let attr = attributes[Int(id)]
      if !parseSpecial && !attr.isDisjoint(with: [.control, .unknown]) { continue }
      let pattern = patterns[index]
      var next: [Fragment] = []
      next.reserveCapacity(fragments.count + 2)
      for fragment in fragments {
        guard case .text(let range) = fragment else {
          next.append(fragment)
          continue
        }
        var base = range.lowerBound
        let end = range.upperBound
        while true {
          guard let match = Self.find(pattern, in: bytes, from: base, to: end) else {
            if base < end { next.append(.text(base..<end)) }
            break
          }
          var leftEnd = match
          if attr.contains(.leftStrip) {
            while leftEnd > base && Self.isCSpace(bytes[leftEnd - 1]) { leftEnd -= 1 }
          }
          if leftEnd > base { next.append(.text(base..<leftEnd)) }
          next.append(.token(id))
          var rightStart = match + pattern.count
          if rightStart >= end { break }
          if attr.contains(.rightStrip) {
            while rightStart < end && Self.isCSpace(bytes[rightStart]) { rightStart += 1 }
          }
          base = rightStart
        }
      }
      fragments = next
    }
    return fragments
  }

  /// C `isspace` in the "C" locale.
  @inline(__always) private static func isCSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

  /// First index `i` in `from...to - pattern.count` where `bytes[i...]` starts with `pattern`.
  private static func find(_ pattern: [UInt8], in bytes: [UInt8], from: Int, to: Int) -> Int? {
    let m = pattern.count
    guard m > 0, to - from >= m else { return nil }
    let first = pattern[0]
    var i = from
    let last = to - m
    while i <= last {
      if bytes[i] == first {
        var k = 1
        while k < m && bytes[i + k] == pattern[k] { k += 1 }
        if k == m { return i }
      }
      i += 1
    }
    return nil
  }
}
