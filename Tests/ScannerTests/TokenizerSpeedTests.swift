import Foundation
import Formats
import Scanner
import Testing

/// Encode throughput on a ~100 KB mixed text (English prose, code, numbers, CJK, emoji).
/// Runs only with SCAN_TOKENIZER_BENCH=1; meaningful in a release build:
/// `SCAN_TOKENIZER_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter TokenizerSpeedTests`.
@Suite struct TokenizerSpeedTests {
  static var enabled: Bool { ProcessInfo.processInfo.environment["SCAN_TOKENIZER_BENCH"] == "1" }

  static func benchmarkText() -> String {
    let paragraph = """
      The quick brown fox jumps over the lazy dog. It's 3.14159 o'clock, and we've counted 1,234,567 sheep.
      def fibonacci(n: Int) -> Int { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2) }
      日本語のテキストと中文测试，还有 한국어 and Ελληνικά. Emoji: 🙂👍🏽👨‍👩‍👧‍👦 — "quotes" and ‘apostrophes’.
          indented code\twith\ttabs\n

      """
    var text = ""
    while text.utf8.count < 100_000 { text += paragraph }
    return text
  }

  /// Prints tokens per second for each available vocabulary; fails only if encoding fails.
  @Test(.enabled(if: enabled))
  func encodeThroughput() throws {
    let text = Self.benchmarkText()
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let realDir =
      ProcessInfo.processInfo.environment["SCAN_REAL_MODEL_DIR"] ?? root.appendingPathComponent("samples/.cache/real").path
    let files = [
      realDir + "/SmolLM2-135M-Instruct.Q4_1.gguf", realDir + "/gemma-3-270m-q4_k_m.gguf",
      root.appendingPathComponent("../shared/realfiles/gguf/llama-vocab/ggml-vocab-gpt-2.gguf").path,
      root.appendingPathComponent("../shared/realfiles/gguf/llama-vocab/ggml-vocab-llama-spm.gguf").path,
    ]
    for path in files where FileManager.default.fileExists(atPath: path) {
      let loadStart = Date()
      let tokenizer = try Tokenizer(gguf: try GGUFFile.open(path: path))
      let loadSeconds = Date().timeIntervalSince(loadStart)
      var ids: [Int32] = []
      let start = Date()
      let rounds = 3
      for _ in 0..<rounds { ids = try tokenizer.encode(text) }
      let seconds = Date().timeIntervalSince(start) / Double(rounds)
      let decodeStart = Date()
      let bytes = try tokenizer.decode(ids)
      let decodeSeconds = Date().timeIntervalSince(decodeStart)
      print(
        String(
          format: "tokenizer speed %@: %d bytes -> %d tokens in %.4f s = %.0f tokens/s (%.2f MB/s); decode %.4f s; load %.2f s",
          (path as NSString).lastPathComponent, text.utf8.count, ids.count, seconds, Double(ids.count) / seconds,
          Double(text.utf8.count) / seconds / 1e6, decodeSeconds, loadSeconds))
      #expect(bytes.count >= text.utf8.count)
    }
  }
}
