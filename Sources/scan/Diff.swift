import ArgumentParser
import Scanner

struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare a model with its base: per-tensor weight change and the token rows that moved most.",
    discussion: """
      Exit codes: 0 compared; 2 a model could not be opened.

      Examples:
        scan diff base.gguf finetuned.gguf
        scan diff ./base-model/ ./fine-tune/ --top 50
      """)

  @Argument(help: "The base model (file or folder).")
  var base: String

  @Argument(help: "The model to compare with it.")
  var candidate: String

  @Option(help: "Rows and tensors to list.")
  var top = 20

  @Option(help: "Worker threads.")
  var threads = 2

  func run() throws {
    let b: ModelInput
    let c: ModelInput
    do {
      b = try ModelInput.open(path: base)
      c = try ModelInput.open(path: candidate)
    } catch {
      throw failInput(error)
    }
    let out = WeightDelta.compare(base: b, candidate: c, threads: max(1, threads))
    print("base      \(b.path)\ncandidate \(c.path)")
    print("noise floor (relative change of the least-changed tensors): \(out.noiseFloor)")
    print("\ntensors by relative change ||C-B||/||B||:")
    for t in out.tensors.prefix(top) { print("  \(pad(t.name, 40)) \(t.relative)") }
    if !out.unmatched.isEmpty { print("  not compared: \(out.unmatched.prefix(10).joined(separator: ", "))\(out.unmatched.count > 10 ? ", ..." : "")") }
    print("\ntoken rows by change ||C[i]-B[i]||:")
    for (rank, r) in out.rows.prefix(top).enumerated() {
      print("  \(pad("#\(rank + 1)", 4)) id \(pad("\(r.id)", 7)) \(pad(r.text.debugDescription, 24)) \(r.delta)\(r.isNew ? "  (not in base)" : "")")
    }
    print("\nfindings:")
    for f in out.findings { print("  \(f.severity.name) \(f.ruleID) \(f.detail)") }
  }

  func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
