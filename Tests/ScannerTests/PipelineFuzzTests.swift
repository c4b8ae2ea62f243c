import Foundation
@testable import Formats
import Testing
@testable import Scanner

/// Hostile but well-formed GGUF files through the whole pipeline, in process: the container stays valid (so the
/// parser accepts it) while metadata values, array elements, strings and tensor data are set to what a hostile
/// author would write (0, 1, -1, the type's maximum, NaN, infinity, broken UTF-8, template syntax). Every mutant
/// goes through the static scan, the runtime's loader and two generated tokens, and some through the behavioural
/// scan on a tiny budget. A trap ends the test process, so surviving is the check; load errors must also name the
/// file. `scripts/fuzz-pipeline.py` is the longer, out-of-process version of the same harness (it also catches
/// hangs and exit codes).
@Suite(.serialized) struct PipelineFuzzTests {
  static let sources = ["samples/tiny/clean/clean.q8_0.gguf", "samples/tiny/deployment/deployment.f32.gguf"]

  /// A budget small enough for dozens of behavioural scans of a tiny model.
  static let tinyBudget: BehaviourBudget = {
    var b = BehaviourBudget.quick
    b.prompts = 2
    b.screenTokens = 4
    b.controls = 2
    b.leakagePerScaffold = 1
    b.leakageTokens = 6
    b.motifs = 1
    b.seconds = 1
    b.inversionCandidates = 4
    b.inversionPrompts = 2
    b.inversionSteps = 4
    b.inversionGroup = 4
    b.signalCandidates = 1
    b.signalControls = 2
    b.minimumScreens = 1
    b.minimumInversions = 2
    return b
  }()

  @Test(.timeLimit(.minutes(10)), arguments: sources)
  func hostileValuesNeverTrap(_ source: String) throws {
    let path = CLI.repoRoot + "/" + source
    let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
    let file = try GGUFFile.open(path: path)
    var rng = FixtureRandom(seed: 0xF022 &+ UInt64(source.utf8.count))
    let temp = FileManager.default.temporaryDirectory.appendingPathComponent("scan-pipefuzz-\(getpid())-\(source.utf8.count).gguf").path
    defer { try? FileManager.default.removeItem(atPath: temp) }
    var loaded = 0, refused = 0
    for i in 0..<60 {
      var bytes = original
      var notes: [String] = []
      for _ in 0..<(1 + Int(rng.next() % 3)) {
        if rng.next() % 4 != 0 {
          let entry = file.metadata[Int(rng.next() % UInt64(file.metadata.count))]
          notes.append(Mutator.mutate(entry, in: &bytes, rng: &rng))
        } else {
          let tensor = file.tensors[Int(rng.next() % UInt64(file.tensors.count))]
          notes.append(Mutator.poison(tensor, in: &bytes, rng: &rng))
        }
      }
      try Data(bytes).write(to: URL(fileURLWithPath: temp))
      // The static scan reads everything and always returns a report.
      var options = ScanOptions()
      options.hash = false
      _ = ModelScanner.scanModel(path: temp, options: options)
      // The runtime either loads the model and runs it, or refuses with a message naming the file.
      var runtimeRefused = false
      do {
        let generator = try TextGenerator.load(path: temp, threads: 1, numerics: i % 2 == 0 ? .llamaCpp : .float)
        loaded += 1
        if let prompt = try? generator.promptTokens("Hello, how are you?", chat: generator.chatTemplate != nil) {
          _ = try? generator.complete(prompt: prompt, maxTokens: 2)
        }
      } catch {
        refused += 1
        runtimeRefused = true
        #expect("\(error)".contains(temp), "mutant \(i) (\(notes)): \(error)")
      }
      if i % 6 == 0 {
        var quick = ScanOptions()
        quick.mode = .quick
        quick.hash = false
        quick.threads = 1
        quick.budgetOverride = Self.tinyBudget
        let report = ModelScanner.scanModel(path: temp, options: quick)
        // A model the runtime refuses is never reported as behaviourally tested: the report says why (the file is
        // malformed, FMT-*, or the behaviour stage is listed as not scanned).
        if runtimeRefused {
          #expect(!report.notScanned.isEmpty || report.findings.contains { $0.ruleID.hasPrefix("FMT-") },
                  "mutant \(i) (\(notes)): refused by the runtime, yet the report neither flags the file nor lists what was not scanned")
        }
      }
    }
    // The harness must exercise both outcomes, or it is not testing the runtime.
    #expect(loaded > 5 && refused > 5, "loaded \(loaded), refused \(refused)")
  }
}

/// In-place mutations that keep a GGUF structurally valid (every length and count unchanged).
enum Mutator {
  static func mutate(_ entry: GGUFMetadataEntry, in bytes: inout [UInt8], rng: inout FixtureRandom) -> String {
    let at = entry.valueByteOffset
    switch entry.value {
    case .array(let array):
      // Element type (u32) and count (u64) precede the elements.
      let elementType = GGUFValueType(rawValue: read32(bytes, at))
      let count = array.count
      guard count > 0, let elementType else { return "\(entry.key): empty array" }
      let start = at + 12
      let picks = 1 + Int(rng.next() % 8)
      if let size = elementType.fixedSize {
        for _ in 0..<picks { writeScalar(elementType, at: start + size * Int(rng.next() % UInt64(count)), in: &bytes, rng: &rng) }
      } else if elementType == .string {
        // Walk to random elements through their own length prefixes.
        for _ in 0..<picks {
          var p = start
          for _ in 0..<Int(rng.next() % UInt64(count)) { p += 8 + Int(read64(bytes, p)) }
          flipString(at: p, in: &bytes, rng: &rng)
        }
      }
      return "\(entry.key): \(picks) element(s)"
    case .string:
      flipString(at: at, in: &bytes, rng: &rng)
      return "\(entry.key): string bytes"
    default:
      writeScalar(entry.value.type, at: at, in: &bytes, rng: &rng)
      return "\(entry.key): hostile \(entry.value.type.name)"
    }
  }

  /// Sets some quantisation scales (Q8_0: the f16 at the start of each 34-byte block) or weights to NaN, infinity
  /// or the largest finite value.
  static func poison(_ tensor: GGUFTensorInfo, in bytes: inout [UInt8], rng: inout FixtureRandom) -> String {
    let specials16: [UInt16] = [0x7E00, 0x7C00, 0xFC00, 0x7BFF]
    let specials32: [UInt32] = [0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF]
    let n = [1, 4, 64][Int(rng.next() % 3)]
    for _ in 0..<n {
      switch tensor.type {
      case .q8_0:
        let at = tensor.absoluteOffset + 34 * Int(rng.next() % UInt64(max(1, tensor.byteCount / 34)))
        put(specials16[Int(rng.next() % 4)], at: at, in: &bytes)
      case .f16:
        let at = tensor.absoluteOffset + 2 * Int(rng.next() % UInt64(max(1, tensor.byteCount / 2)))
        put(specials16[Int(rng.next() % 4)], at: at, in: &bytes)
      default:
        let at = tensor.absoluteOffset + 4 * Int(rng.next() % UInt64(max(1, tensor.byteCount / 4)))
        put(specials32[Int(rng.next() % 4)], at: at, in: &bytes)
      }
    }
    return "\(tensor.name): \(n) value(s) poisoned"
  }

  static func writeScalar(_ type: GGUFValueType, at: Int, in bytes: inout [UInt8], rng: inout FixtureRandom) {
    let ints: [UInt64] = [0, 1, 2, 3, 7, UInt64.max, UInt64(Int64.max), 1 << 31, 1 << 40, 65536, 0x7FFF_FFFF, 0xFFFF_FFFF]
    let pick = ints[Int(rng.next() % UInt64(ints.count))]
    switch type {
    case .uint8, .int8: bytes[at] = UInt8(truncatingIfNeeded: pick)
    case .bool: bytes[at] = [0, 1, 2, 255][Int(rng.next() % 4)]
    case .uint16, .int16: put(UInt16(truncatingIfNeeded: pick), at: at, in: &bytes)
    case .uint32, .int32: put(UInt32(truncatingIfNeeded: pick), at: at, in: &bytes)
    case .uint64, .int64: put(pick, at: at, in: &bytes)
    case .float32:
      let f: [Float] = [0, -0, .nan, .infinity, -.infinity, 1e30, -1e30, 1e-30, -1, .greatestFiniteMagnitude]
      put(f[Int(rng.next() % UInt64(f.count))].bitPattern, at: at, in: &bytes)
    case .float64:
      let f: [Double] = [0, .nan, .infinity, -.infinity, 1e300, -1, 1e-300]
      put(f[Int(rng.next() % UInt64(f.count))].bitPattern, at: at, in: &bytes)
    case .string, .array: break
    }
  }

  static func flipString(at lengthOffset: Int, in bytes: inout [UInt8], rng: inout FixtureRandom) {
    let length = Int(read64(bytes, lengthOffset))
    guard length > 0 else { return }
    let choices: [UInt8] = [0, 0xFF, 0xC3, 0x80, UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "%"), UInt8(ascii: " ")]
    for _ in 0..<(1 + Int(rng.next() % 4)) {
      let i = lengthOffset + 8 + Int(rng.next() % UInt64(length))
      bytes[i] = rng.next() % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : choices[Int(rng.next() % UInt64(choices.count))]
    }
  }

  static func put<T: FixedWidthInteger>(_ v: T, at: Int, in bytes: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { for k in 0..<$0.count { bytes[at + k] = $0[k] } }
  }
  static func read32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
  static func read64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
}
