import Foundation
import Formats
import Testing
@testable import Scanner

/// Weight statistics on crafted GGUFs (written by `TinyGGUF`): each planted defect is found with its tensor
/// name and byte offset, and plain random weights raise nothing above info.
@Suite struct WeightStatisticsTests {
  static let vocab = 256
  static let width = 64

  /// A small SentencePiece-style model: tokens `tok0...`, a random embedding, a random matrix.
  static func model(embedding: [Float]? = nil, extra: (inout TinyGGUF) -> Void = { _ in }) -> TinyGGUF {
    var g = TinyGGUF()
    g.string("general.architecture", "llama")
    g.string("tokenizer.ggml.model", "llama")
    g.strings("tokenizer.ggml.tokens", (0..<vocab).map { i in i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "▁tok\(i)" })
    var rng = FixtureRandom(seed: 7)
    g.f32("token_embd.weight", dims: [width, vocab], embedding ?? (0..<(width * vocab)).map { _ in rng.normal(0.02) })
    g.f32("blk.0.attn_q.weight", dims: [width, width], (0..<(width * width)).map { _ in rng.normal(0.05) })
    extra(&g)
    return g
  }

  static func analyze(_ path: String) throws -> WeightStatistics.Outcome {
    WeightStatistics.analyze(try ModelInput.open(path: path), threads: 2)
  }

  /// Random weights of a trained-looking scale give no finding above info.
  @Test func randomWeightsAreQuiet() throws {
    let f = try Self.model().write("quiet")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    #expect(out.findings.allSatisfy { $0.severity <= .info }, "\(out.findings.map { "\($0.ruleID) \($0.detail)" })")
    #expect(out.tensors.count == 2)
    let q = try #require(out.tensors.first { $0.name == "blk.0.attn_q.weight" })
    #expect(abs(q.standardDeviation - 0.05) < 0.005)
    #expect(abs(q.excessKurtosis ?? 99) < 0.5)  // sum of 12 uniforms: excess kurtosis -0.1
  }

  /// An Inf value in an F32 tensor is critical and points at its own 4 bytes.
  @Test func infValueIsCriticalWithItsByteOffset() throws {
    var rng = FixtureRandom(seed: 3)
    var values = (0..<(Self.width * 32)).map { _ in rng.normal(0.05) }
    values[1000] = .infinity
    values[1500] = .nan
    let f = try Self.model { $0.f32("blk.0.ffn_up.weight", dims: [Self.width, 32], values) }.write("inf")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    let hit = try #require(out.findings.first { $0.ruleID == "WGT-001" })
    #expect(hit.severity == .critical)
    #expect(hit.detail.contains("blk.0.ffn_up.weight"))
    #expect(hit.byteOffset == f.offsets["blk.0.ffn_up.weight"]! + 1000 * 4)
    let s = try #require(out.tensors.first { $0.name == "blk.0.ffn_up.weight" })
    #expect(s.nanCount == 1 && s.infCount == 1)
    #expect(s.maxAbs.isFinite)
  }

  /// A NaN float16 scale in a Q8_0 block is critical and points at the scale's two bytes; the block's
  /// values are NaN as well.
  @Test func nanScaleInQ8_0IsCriticalWithItsByteOffset() throws {
    var rng = FixtureRandom(seed: 4)
    var blocks = q8_0Blocks((0..<(Self.width * 16)).map { _ in rng.normal(0.05) })
    let bad = 13
    blocks[bad * 34] = 0x00
    blocks[bad * 34 + 1] = 0x7E  // f16 quiet NaN
    let f = try Self.model { $0.raw("blk.0.ffn_down.weight", dims: [Self.width, 16], type: 8, blocks) }.write("nanscale")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    let scale = try #require(out.findings.first { $0.ruleID == "WGT-002" })
    #expect(scale.severity == .critical)
    #expect(scale.byteOffset == f.offsets["blk.0.ffn_down.weight"]! + bad * 34)
    #expect(scale.detail.contains("blk.0.ffn_down.weight"))
    let values = try #require(out.findings.first { $0.ruleID == "WGT-001" })
    #expect(values.byteOffset == f.offsets["blk.0.ffn_down.weight"]! + bad * 34)
  }

  /// An infinite `dmin` in a Q4_K super-block is found at its byte offset (d at +0, dmin at +2).
  @Test func infDminInQ4_KIsFound() throws {
    var blocks: [UInt8] = []
    for b in 0..<4 {
      var block = [UInt8](repeating: 0x11, count: 144)
      block[0] = 0x00; block[1] = 0x20  // d = 2^-7
      block[2] = 0x00; block[3] = b == 2 ? 0x7C : 0x1C  // dmin: +Inf in block 2
      blocks += block
    }
    let f = try Self.model { $0.raw("blk.0.ffn_gate.weight", dims: [256, 4], type: 12, blocks) }.write("q4k")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    let hit = try #require(out.findings.first { $0.ruleID == "WGT-002" })
    #expect(hit.byteOffset == f.offsets["blk.0.ffn_gate.weight"]! + 2 * 144 + 2)
  }

  /// One block scale 2^12 times the others is flagged (medium) at that scale's offset.
  @Test func outlyingBlockScaleIsFlagged() throws {
    var rng = FixtureRandom(seed: 5)
    var blocks = q8_0Blocks((0..<(Self.width * 64)).map { _ in rng.normal(0.05) })
    let bad = 77
    let d = Float(Float16(bitPattern: UInt16(blocks[bad * 34]) | UInt16(blocks[bad * 34 + 1]) << 8)) * 4096
    let bits = Float16(d).bitPattern
    blocks[bad * 34] = UInt8(bits & 0xFF)
    blocks[bad * 34 + 1] = UInt8(bits >> 8)
    let f = try Self.model { $0.raw("blk.0.ffn_down.weight", dims: [Self.width, 64], type: 8, blocks) }.write("scale")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    let hit = try #require(out.findings.first { $0.ruleID == "WGT-006" })
    #expect(hit.severity == .medium)
    #expect(hit.byteOffset == f.offsets["blk.0.ffn_down.weight"]! + bad * 34)
  }

  /// A token row trained far beyond the others is flagged (medium), and its token becomes the top trigger
  /// candidate (source `weights`) with the row's byte offset.
  @Test func plantedHugeEmbeddingRowIsFlaggedAndProposed() throws {
    var rng = FixtureRandom(seed: 6)
    var emb = (0..<(Self.width * Self.vocab)).map { _ in rng.normal(0.02) }
    let row = 201
    for j in 0..<Self.width { emb[row * Self.width + j] *= 10 }
    let f = try Self.model(embedding: emb).write("row")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    let hit = try #require(out.findings.first { $0.ruleID == "WGT-004" })
    #expect(hit.severity == .medium)
    #expect(hit.byteOffset == f.offsets["token_embd.weight"]! + row * Self.width * 4)
    let top = try #require(out.triggers.first)
    #expect(top.source == "weights")
    #expect(top.tokenIDs == [row])
    #expect(top.text.contains("tok201"))
  }

  /// Hostile numbers in the embedding never trap the report text (found by scripts/fuzz-pipeline.py: `Int(z)` of an
  /// infinite row norm crashed the static scan): an Inf value is WGT-001; a row of huge finite
  /// values among near-zero rows gives a robust z beyond `Int`'s range and is still reported.
  @Test func hostileEmbeddingNumbersNeverTrap() throws {
    var rng = FixtureRandom(seed: 9)
    var emb = (0..<(Self.width * Self.vocab)).map { _ in rng.normal(1e-30) }
    emb[17 * Self.width] = .infinity
    for j in 0..<Self.width { emb[40 * Self.width + j] = 1e15 }
    var tensor = (0..<(Self.width * 64)).map { _ in rng.normal(1e-30) }
    tensor[7] = 60000
    let f = try Self.model(embedding: emb) { $0.f32("blk.0.ffn_up.weight", dims: [Self.width, 64], tensor) }.write("hostile")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    #expect(out.findings.contains { $0.ruleID == "WGT-001" && $0.detail.contains("token_embd.weight") })
    let rows = try #require(out.findings.first { $0.ruleID == "WGT-004" })
    #expect(rows.detail.contains("id 40"))
    #expect(out.findings.contains { $0.ruleID == "WGT-003" && $0.detail.contains("blk.0.ffn_up.weight") })
  }

  /// A single planted weight of 1000 standard deviations makes the matrix heavy-tailed and extreme.
  @Test func singlePlantedWeightGivesKurtosisAndMagnitude() throws {
    var rng = FixtureRandom(seed: 8)
    var values = (0..<(Self.width * 128)).map { _ in rng.normal(0.05) }
    values[4321] = 80
    let f = try Self.model { $0.f32("blk.0.ffn_up.weight", dims: [Self.width, 128], values) }.write("kurt")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    #expect(out.findings.contains { $0.ruleID == "WGT-005" && $0.detail.contains("blk.0.ffn_up.weight") })
    #expect(out.findings.contains { $0.ruleID == "WGT-003" && $0.detail.contains("blk.0.ffn_up.weight") })
  }

  /// A value beyond the float16 range is high even when the tensor is a vector.
  @Test func beyondHalfRangeIsHigh() throws {
    let f = try Self.model { $0.f32("output_norm.weight", dims: [Self.width], (0..<Self.width).map { $0 == 5 ? 1e6 : 1 }) }.write("half")
    defer { unlink(f.path) }
    let out = try Self.analyze(f.path)
    #expect(out.findings.contains { $0.ruleID == "WGT-003" && $0.severity == .high })
  }

  /// Moments combined across chunks and threads equal the direct two-pass values.
  @Test func combinedMomentsMatchDirectComputation() {
    var rng = FixtureRandom(seed: 9)
    let x = (0..<10_000).map { _ in rng.normal(1) * rng.normal(1) + 0.5 }
    var m = WeightStatistics.Moments()
    for part in stride(from: 0, to: x.count, by: 333) {
      let s = Array(x[part..<min(x.count, part + 333)])
      s.withUnsafeBufferPointer { m.combine(WeightStatistics.rowMoments($0.baseAddress!, s.count).moments) }
    }
    let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
    let m2 = x.reduce(0.0) { $0 + pow(Double($1) - mean, 2) }
    let m4 = x.reduce(0.0) { $0 + pow(Double($1) - mean, 4) }
    #expect(abs(m.mean - mean) < 1e-5)
    #expect(abs(m.m2 / m2 - 1) < 1e-4)
    #expect(abs(m.m4 / m4 - 1) < 1e-3)
  }
}
