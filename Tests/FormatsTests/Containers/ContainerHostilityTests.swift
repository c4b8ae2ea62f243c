import Testing
@testable import Formats

/// Runs every container reader over `bytes`; the only requirement is not trapping and bounded work.
func exerciseAllReaders(_ bytes: [UInt8]) {
  bytes.withUnsafeBytes { p in
    _ = ContainerKind.sniff(p)
    _ = PickleDisassembler.scanSequence(p, maxPickles: 4, limits: PickleLimits(maxInstructions: 100_000))
    _ = try? NPYHeader.parse(p)
    _ = try? NPZArchive(bytes: p)
    if let zip = try? ZipArchive(bytes: p) {
      for e in zip.entries.prefix(64) {
        _ = try? zip.extract(e, from: p, limits: ZipExtractionLimits(maxOutputBytes: 1 << 20))
        _ = try? zip.extractPrefix(e, from: p, byteCount: 256)
      }
    }
  }
}

@Suite struct ContainerHostilityTests {
  static let fixtures: [String] = (try? ContainerFixtures.names().filter { !$0.hasPrefix("bomb_") }) ?? []

  /// Every prefix of every fixture: no trap; a strict pickle read of a strict prefix throws, an NPY
  /// header read throws or reports the missing data.
  @Test(arguments: fixtures)
  func everyPrefixIsHandled(_ name: String) throws {
    let bytes = try ContainerFixtures.bytes(name)
    for n in 0..<bytes.count {
      let prefix = Array(bytes[0..<n])
      exerciseAllReaders(prefix)
      prefix.withUnsafeBytes { p in
        if name.hasSuffix(".pkl") {
          #expect(throws: ContainerError.self) { try PickleDisassembler.disassemble(p) }
        }
        if name.hasSuffix(".npy") {
          // A prefix cut inside the header throws; one that keeps the header reports the missing data.
          do {
            let h = try NPYHeader.parse(p)
            #expect(n >= h.dataOffset)
            #expect(h.containsObjects || h.anomalies.contains { $0.detail.contains("data bytes") })
          } catch {}
        }
      }
    }
  }

  /// Seeded random byte flips and length-field extremes: nothing traps.
  @Test(arguments: fixtures)
  func randomMutationsNeverTrap(_ name: String) throws {
    let bytes = try ContainerFixtures.bytes(name)
    guard !bytes.isEmpty else { return }
    var rng = ContainerRNG(seed: UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }))
    for _ in 0..<300 {
      var m = bytes
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let i = Int.random(in: 0..<m.count, using: &rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: m[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
        case 1: m[i] = UInt8.random(in: 0...255, using: &rng)
        case 2:  // an 8-byte extreme over whatever field is here
          let v: UInt64 = [0, UInt64(Int64.max), UInt64.max, 0xFFFF_FFFF][Int.random(in: 0..<4, using: &rng)]
          for k in 0..<min(8, m.count - i) { m[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        default:
          let v: UInt32 = [0, 0xFFFF_FFFF, 0x7FFF_FFFF, 0xFFFF][Int.random(in: 0..<4, using: &rng)]
          for k in 0..<min(4, m.count - i) { m[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
        }
      }
      exerciseAllReaders(m)
    }
  }

  /// The bomb fixtures under mutation still never inflate past the bound.
  @Test func mutatedBombsStayBounded() throws {
    var rng = ContainerRNG(seed: 42)
    for name in ["bomb_honest.zip", "bomb_declared_huge.zip", "bomb_lying_small.zip"] {
      let bytes = try ContainerFixtures.bytes(name)
      for _ in 0..<40 {
        var m = bytes
        let i = Int.random(in: 0..<m.count, using: &rng)
        m[i] ^= UInt8.random(in: 1...255, using: &rng)
        m.withUnsafeBytes { p in
          guard let zip = try? ZipArchive(bytes: p) else { return }
          for e in zip.entries {
            if let out = try? zip.extract(e, from: p, limits: ZipExtractionLimits(maxOutputBytes: 1 << 16)) {
              #expect(out.count <= 1 << 16)
            }
          }
        }
      }
    }
  }
}
