/// An immutable map from token text (bytes) to token id that looks up byte ranges in place, so the
/// merge loops never build a `String` per candidate pair.
///
/// Open addressing over a power-of-two slot array; texts live back to back in one byte array.
/// Duplicate texts keep the **last** id, as llama.cpp's `token_to_id[word] = i` does.
struct TokenTable: Sendable {
  private let text: [UInt8]
  private let starts: [Int32]  // count + 1 offsets into `text` (the caller checks the total < Int32.max)
  private let slots: [Int32]  // -1 = empty, else token id
  private let mask: Int

  /// Builds the table.
  /// - Parameter texts: token texts in id order (already non-empty, see `[EMPTY_i]`).
  /// - Complexity: O(total bytes).
  init(texts: [[UInt8]]) {
    var text: [UInt8] = []
    text.reserveCapacity(texts.reduce(0) { $0 &+ $1.count })  // can't overflow: sizes of arrays in memory
    var starts: [Int32] = [0]
    starts.reserveCapacity(texts.count + 1)
    for t in texts {
      text.append(contentsOf: t)
      starts.append(Int32(truncatingIfNeeded: text.count))  // can't truncate: the caller checks the total < Int32.max
    }
    var capacity = 16
    while capacity < texts.count * 2 { capacity *= 2 }
    var slots = [Int32](repeating: -1, count: capacity)
    let mask = capacity - 1
    text.withUnsafeBufferPointer { all in
      for (id, t) in texts.enumerated() {
        let s = Int(starts[id])
        var slot = Self.hash(all, s, s + t.count) & mask
        while true {
          let existing = Int(slots[slot])
          if existing < 0 {
            slots[slot] = Int32(truncatingIfNeeded: id)  // can't truncate: count checked <= Int32.max by the caller
            break
          }
          if Self.equal(all, Int(starts[existing]), Int(starts[existing + 1]), s, s + t.count) {
            slots[slot] = Int32(truncatingIfNeeded: id)  // last duplicate wins
            break
          }
          slot = (slot + 1) & mask
        }
      }
    }
    self.text = text
    self.starts = starts
    self.slots = slots
    self.mask = mask
  }

  /// FNV-1a over `bytes[from..<to]`.
  @inline(__always)
  private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    var i = from
    while i < to {
      h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3  // wrapping multiply is the hash
      i += 1
    }
    return Int(truncatingIfNeeded: h ^ (h >> 29))
  }

  @inline(__always)
  private static func equal(
    _ a: UnsafeBufferPointer<UInt8>, _ aFrom: Int, _ aTo: Int, _ bFrom: Int, _ bTo: Int
  ) -> Bool {
    guard aTo - aFrom == bTo - bFrom else { return false }
    var i = aFrom
    var j = bFrom
    while i < aTo {
      if a[i] != a[j] { return false }
      i += 1
      j += 1
    }
    return true
  }

  /// The id of the token spelled `bytes[from..<to]`, or `nil`.
  @inline(__always)
  func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int32? {
    var slot = Self.hash(bytes, from, to) & mask
    return text.withUnsafeBufferPointer { all -> Int32? in
      while true {
        let id = Int(slots[slot])
        if id < 0 { return nil }
        let s = Int(starts[id])
        let e = Int(starts[id + 1])
        if e - s == to - from {
          var i = s
          var j = from
          var same = true
          while i < e {
            if all[i] != bytes[j] {
              same = false
              break
            }
            i += 1
            j += 1
          }
          if same { return Int32(truncatingIfNeeded: id) }
        }
        slot = (slot + 1) & mask
      }
    }
  }

  /// The id of the token spelled `bytes`, or `nil`.
  func lookup(_ bytes: [UInt8]) -> Int32? {
    bytes.withUnsafeBufferPointer { lookup($0, 0, $0.count) }
  }

  /// The id of the token spelled `string`, or `nil`.
  func lookup(_ string: String) -> Int32? {
    lookup(Array(string.utf8))
  }

  /// The text of token `id` (which must be in range): its stored UTF-8 bytes, which are the UTF-8 of the
  /// vocabulary's `String`, so this is that string again.
  func string(of id: Int) -> String {
    String(decoding: bytes(of: id), as: UTF8.self)
  }

  /// The stored bytes of token `id` (which must be in range).
  func bytes(of id: Int) -> ArraySlice<UInt8> {
    text[Int(starts[id])..<Int(starts[id + 1])]
  }
}
