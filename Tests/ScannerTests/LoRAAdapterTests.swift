import Foundation
import Formats
import Testing
@testable import Scanner

/// PEFT LoRA adapters (crafted by Tests/Fixtures/lora/make_lora.py): recognised, each pair analysed as
/// scale * B * A through its factors, and adapters that train token rows flagged with the planted rows on top.
@Suite struct LoRAAdapterTests {
  static let root = CLI.repoRoot + "/Tests/Fixtures/lora/"

  static func analyze(_ name: String) throws -> LoRAAdapter.Outcome {
    LoRAAdapter.analyze(try ModelInput.open(path: root + name))
  }

  /// An attention-only adapter: four modules, info summary, scale alpha/r = 2, norms equal the dense product's.
  @Test func attentionAdapterIsSummarised() throws {
    let out = try Self.analyze("attn")
    #expect(out.isAdapter)
    #expect(out.config.rank == 4 && out.config.alpha == 8 && out.config.targetModules == ["q_proj", "v_proj"])
    #expect(out.modules.count == 4)
    #expect(out.findings.map(\.ruleID) == ["LORA-001"])
    #expect(out.findings.allSatisfy { $0.severity == .info })
    // Dense check of one module: ||2 * B A||_F and its spectrum from the product itself.
    let input = try ModelInput.open(path: Self.root + "attn")
    let tensors = WeightTensor.all(in: input).tensors
    let prefix = "base_model.model.model.layers.1.self_attn.v_proj"
    let a = try #require(tensors.first { $0.name == prefix + ".lora_A.weight" })
    let b = try #require(tensors.first { $0.name == prefix + ".lora_B.weight" })
    let av = try #require(LoRAAdapter.decode(a)), bv = try #require(LoRAAdapter.decode(b))
    var dense = [Float](repeating: 0, count: b.rowCount * a.rowLength)
    for o in 0..<b.rowCount { for i in 0..<a.rowLength { for k in 0..<4 { dense[o * a.rowLength + i] += 2 * bv[o * 4 + k] * av[k * a.rowLength + i] } } }
    let d = try #require(Spectral.summary(rows: b.rowCount, cols: a.rowLength, seed: 1, source: SpectralTests.source(dense, cols: a.rowLength, chunk: 8)))
    let m = try #require(out.modules.first { $0.name == prefix })
    #expect(m.scale == 2 && m.rank == 4 && m.outputs == 32 && m.inputs == 64)
    #expect(abs(m.norm - d.energy.squareRoot()) < 1e-4 * m.norm, "\(m.norm) vs \(d.energy.squareRoot())")
    #expect(abs(m.top1Share - d.topShare(1)) < 1e-4)
  }

  /// A LoRA on embed_tokens is medium and ranks the planted token columns (300, 301, 512) first.
  @Test func embeddingAdapterRanksTheTrainedRows() throws {
    let out = try Self.analyze("embed")
    let f = try #require(out.findings.first { $0.ruleID == "LORA-002" })
    #expect(f.severity == .medium)
    #expect(Set(out.rows.prefix(3).map(\.id)) == [300, 301, 512], "\(out.rows.prefix(5).map { ($0.id, $0.score) })")
    #expect(out.triggers.prefix(3).allSatisfy { [300, 301, 512].contains($0.tokenIDs?.first ?? -1) })
  }

  /// modules_to_save = ["lm_head"]: the saved full matrix is flagged and its scaled-up rows (97, 640) lead.
  @Test func savedOutputMatrixRanksThePlantedRows() throws {
    let out = try Self.analyze("modules-to-save")
    let f = try #require(out.findings.first { $0.ruleID == "LORA-002" })
    #expect(f.severity == .medium)
    #expect(f.detail.contains("modules_to_save: lm_head"))
    #expect(Set(out.rows.prefix(2).map(\.id)) == [97, 640], "\(out.rows.prefix(4).map { ($0.id, $0.score) })")
  }

  /// A full model is not an adapter: nothing reported.
  @Test func fullModelIsNotAnAdapter() throws {
    let out = LoRAAdapter.analyze(try ModelInput.open(path: CLI.repoRoot + "/samples/tiny/clean/hf"))
    #expect(!out.isAdapter && out.findings.isEmpty)
  }

  /// A hostile "rank" (factors shaped (600, 1) and (1, 600)) is not analysed (O(r^3)), and nothing traps.
  @Test func hugeRankIsSkippedNotTrapped() throws {
    let r = 600
    let header = #"{"x.lora_A.weight":{"dtype":"F32","shape":[\#(r),1],"data_offsets":[0,\#(r * 4)]},"x.lora_B.weight":{"dtype":"F32","shape":[1,\#(r)],"data_offsets":[\#(r * 4),\#(r * 8)]}}"#
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var bytes = withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h
    bytes += [UInt8](repeating: 0, count: r * 8)
    let path = NSTemporaryDirectory() + "scan-lora-rank-\(UUID().uuidString).safetensors"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { unlink(path) }
    let out = LoRAAdapter.analyze(try ModelInput.open(path: path))
    #expect(out.isAdapter)
    #expect(out.modules.isEmpty)
  }

  /// PEFT factor names parse with and without the adapter name.
  @Test func factorNamesParse() {
    #expect(LoRAAdapter.factorName("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")! == ("base_model.model.model.layers.0.self_attn.q_proj", true, false))
    #expect(LoRAAdapter.factorName("m.q_proj.lora_B.default.weight")! == ("m.q_proj", false, false))
    #expect(LoRAAdapter.factorName("base_model.model.model.embed_tokens.lora_embedding_A")! == ("base_model.model.model.embed_tokens", true, true))
    #expect(LoRAAdapter.factorName("model.layers.0.self_attn.q_proj.weight") == nil)
  }

  /// `scan` on an adapter folder reports it (wired into the static scan).
  @Test func scanReportsTheAdapter() throws {
    var options = ScanOptions()
    options.hash = false
    let r = ModelScanner.scanModel(path: Self.root + "embed", options: options)
    #expect(r.findings.contains { $0.ruleID == "LORA-001" })
    #expect(r.findings.contains { $0.ruleID == "LORA-002" && $0.severity == .medium })
    // With --base, the adapter is not compared as if it were a full model (no DELTA-004 mismatch).
    options.basePath = CLI.repoRoot + "/samples/tiny/clean/hf"
    let withBase = ModelScanner.scanModel(path: Self.root + "embed", options: options)
    #expect(!withBase.findings.contains { $0.ruleID.hasPrefix("DELTA") })
    #expect(withBase.notes.contains { $0.contains("LoRA adapter") })
  }
}
