import ArgumentParser
import Scanner

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a model file's structure: format, metadata, tensor table, totals and SHA-256.",
    discussion: """
      Validates the whole file (every header field, every tensor's bounds) without reading tensor data,
      except to hash it. Malformed files exit with code 2 and a message naming the byte offset.

      Examples:
        scan inspect SmolLM2-135M-Instruct.Q4_1.gguf
        scan inspect ./my-model/ --format json > model.json
      """
  )

  @Argument(help: "A .gguf file (split sets are gathered), a .safetensors file, an index.json, or a model folder.")
  var path: String

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  @Flag(help: "Skip the SHA-256 of the files (faster on very large files).")
  var noHash = false

  func run() throws {
    do {
      let report = try Inspector.inspect(path: path, hash: !noHash)
      switch format {
      case .text: print(report.text(), terminator: "")
      case .json: print(report.json.serialized(pretty: true))
      }
    } catch {
      throw failInput(error)
    }
  }
}
