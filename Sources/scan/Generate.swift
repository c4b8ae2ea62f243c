import ArgumentParser
import Scanner

struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model on a prompt (greedy): a sanity check that it loads and talks.",
    discussion: """
      Without --chat the prompt is tokenized as llama.cpp tokenizes a raw prompt (BOS only where the model
      asks for it; special-token texts such as <|im_start|> become those tokens). With --chat it is sent
      as one user message through the model's chat template. Generation is greedy and stops at the end
      of turn / end of text. Unsupported architectures and malformed files exit with code 2.

      Examples:
        scan generate SmolLM2-135M-Instruct.Q4_1.gguf --chat --prompt "What is the capital of France?"
        scan generate ./my-model/ --prompt "Once upon a time" --max-tokens 64 --format json
      """
  )

  @Argument(help: "A .gguf file or a Hugging Face model folder.")
  var model: String

  @Option(help: "The prompt text.")
  var prompt: String

  @Flag(help: "Wrap the prompt in the model's chat template as a user turn.")
  var chat = false

  @Option(help: "Most tokens to generate.")
  var maxTokens: Int = 128

  @Option(help: "Threads for model execution (default: all cores).")
  var threads: Int?

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  @Option(help: "Rounding model: llamaCpp (default, as llama.cpp's CPU backend) or float.")
  var numerics: String = Numerics.llamaCpp.rawValue

  func run() throws {
    guard maxTokens >= 0 else { throw failInput(ScanError.usage("--max-tokens must be at least 0")) }
    if let threads, threads < 1 { throw failInput(ScanError.usage("--threads must be at least 1")) }
    guard let mode = Numerics(rawValue: numerics) else {
      throw failInput(ScanError.usage("--numerics must be one of \(Numerics.allCases.map(\.rawValue).joined(separator: ", "))"))
    }
    let completion: TextCompletion
    do {
      let generator = try TextGenerator.load(path: model, threads: threads, numerics: mode)
      completion = try generator.complete(prompt, chat: chat, maxTokens: maxTokens)
    } catch {
      throw failInput(error)
    }
    switch format {
    // The model's text, minus terminal escapes and bidi overrides a hostile model could emit (JSON has it exact).
    case .text: print(TerminalText.safe(completion.text))
    case .json: print(completion.json.serialized(pretty: true))
    }
  }
}
