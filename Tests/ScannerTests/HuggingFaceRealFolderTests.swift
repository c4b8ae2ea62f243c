import Foundation
import Formats
import Testing

@testable import Scanner

/// The Hugging Face loader on real checkpoints: samples/make/gguf_to_hf.py writes a transformers folder
/// (config.json + float32 model.safetensors; llama Q/K un-permuted, Gemma norms stored as w for x * (1 + w)) from
/// each real GGUF, and our runtime on that folder must reproduce transformers' logits on the same weights: the
/// committed transformers references (Tests/Fixtures/runtime/*-refs.json, made from the GGUF dequantized to
/// float32). samples/make/check_hf_folder.py shows that transformers itself, loading the folder, gives those
/// references (hf-folder-check.json). Gated by SCAN_REAL_MODELS=1; scripts/fetch-real-models.sh writes the folders.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCAN_REAL_MODELS"] == "1"))
struct HuggingFaceRealFolderTests {
  static let cases: [(folder: String, refs: String, architecture: Architecture)] = [
    ("smollm2-135m-hf", "smollm2-q4_1-refs.json", .llama),
    ("gemma3-270m-hf", "gemma3-270m-q4_k_m-refs.json", .gemma3),
  ]

  static func load(_ folder: String) throws -> LanguageModel {
    let path = RuntimeRealModelTests.modelDirectory + "/" + folder
    let recognised = try #require(HuggingFaceFolder.recognise(path), "\(path): run scripts/fetch-real-models.sh")
    return try LanguageModel.load(huggingFace: recognised, threads: 2, numerics: .float)
  }

  /// Every position of the ~1000-token passage: the same top-1 token as transformers, and the logits of the
  /// reference's 10 best tokens within float32 summation-order noise.
  @Test(arguments: cases.map(\.folder))
  func passageMatchesTransformers(folder: String) throws {
    let c = try #require(Self.cases.first { $0.folder == folder })
    let refs = try RuntimeRealModelTests.loadRefs(c.refs)
    let model = try Self.load(folder)
    #expect(model.config.architecture == c.architecture)
    let (agree, meanDiff, maxDiff) = try RuntimeRealModelTests.passageAgreement(model, refs, chunk: 128)
    print("\(folder) vs transformers: top-1 \(agree)/\(refs.passage.count), mean |logit diff| (ref top-10) \(meanDiff), max \(maxDiff)")
    // A near-tie may flip under a different float32 summation order; more than one in a thousand would not.
    #expect(agree >= refs.passage.count - 1)
    #expect(meanDiff < 0.01)
    #expect(maxDiff < 0.1)
  }

  /// The greedy 32-token continuations of the reference prompts are transformers' (EOS not special, as there).
  @Test(arguments: cases.map(\.folder))
  func greedyContinuationsMatchTransformers(folder: String) throws {
    let c = try #require(Self.cases.first { $0.folder == folder })
    let refs = try RuntimeRealModelTests.loadRefs(c.refs)
    let model = try Self.load(folder)
    var same = 0
    for p in refs.prompts {
      let gen = try model.generate(prompt: p.tokens, maxTokens: p.greedy.count)
      if gen.tokens == p.greedy { same += 1 }
    }
    print("\(folder) greedy continuations identical to transformers: \(same)/\(refs.prompts.count)")
    #expect(same == refs.prompts.count)
  }
}
