#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Scanner

extension ScanMode: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
}

struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Scan model files, split sets, Hugging Face folders or whole download folders (the default command).",
    discussion: """
      Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or I/O error, or an
      input that could not be fully scanned (malformed, unsupported, skipped). Text, JSON and SARIF reports
      always agree with the exit code.

      Examples:
        scan model.gguf                      # static checks + behavioural detectors (quick)
        scan model.gguf --mode static        # no model execution
        scan model.gguf --triggers my-triggers.txt --mode full
        scan ~/Downloads/models --format sarif --output scan.sarif
        scan ./hf-model/ --fail-on medium --baseline accepted.json
      """
  )

  @Argument(help: "Files or folders to scan (folders are searched recursively).")
  var paths: [String]

  @Option(help: "static (no model execution), quick (default: behavioural detectors, under a minute for a 135M model on 2 cores) or full.")
  var mode: ScanMode = .quick

  @Option(help: "File of extra candidate triggers to test, one per line.")
  var triggers: String?

  @Option(help: "File of extra probe requests (one per line), used before the built-in battery.")
  var prompts: String?

  @Option(help: "Report format: text, json or sarif.")
  var format: ReportFormat = .text

  @Option(help: "Write the report to this file instead of standard output.")
  var output: String?

  @Option(help: "Exit 1 when a finding is at or above this severity: info, low, medium, high, critical.")
  var failOn: Severity = .high

  @Option(help: "JSON file of accepted findings: {\"entries\": [{\"sha256\", \"rule\", \"justification\"}]}.")
  var baseline: String?

  @Option(help: "The base model the scanned model claims to be fine-tuned from: adds the weight delta (DELTA-*).")
  var base: String?

  @Option(help: "Threads for model execution (default: all cores).")
  var threads: Int?

  @Flag(help: "Skip SHA-256 of the files.")
  var noHash = false

  func run() throws {
    var options = ScanOptions()
    options.mode = mode
    options.failOn = failOn
    options.threads = threads
    options.hash = !noHash
    options.basePath = base
    if let threads, threads < 1 { throw failUsage("--threads must be at least 1") }
    do {
      if let triggers { options.userTriggers = try ScanOptions.readList(path: triggers) }
      if let prompts { options.userPrompts = try ScanOptions.readList(path: prompts) }
    } catch { throw failUsage("\(error)") }
    if getenv("SCAN_BEHAVIOUR_TRACE") != nil { options.behaviourLog = { printError("[behaviour] " + $0) } }
    if let baseline {
      do { options.baseline = try Baseline.load(path: baseline) } catch { throw failUsage("\(error)") }
    }
    let interactive = isatty(2) == 1
    var progress: (@Sendable (String) -> Void)? = nil
    if interactive { progress = showProgress }
    let result = ModelScanner.scan(paths: paths, options: options, progress: progress)
    if interactive { printError("\u{1B}[2K\r", terminator: "") }
    let text: String
    switch format {
    case .text: text = result.text(color: output == nil && isatty(1) == 1)
    case .json: text = result.json.serialized(pretty: true) + "\n"
    case .sarif: text = result.sarif.serialized(pretty: true) + "\n"
    }
    if let output {
      guard writeFile(output, text) else { throw failUsage("cannot write \(output)") }
    } else {
      print(text, terminator: "")
    }
    if result.exitCode != 0 { throw ExitCode(result.exitCode) }
  }
}

func failUsage(_ message: String) -> ExitCode {
  printError("error: \(message)")
  return ExitCode(2)
}

func writeFile(_ path: String, _ text: String) -> Bool {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var s = text
  return s.withUTF8 { buf in Glibc.write(fd, buf.baseAddress, buf.count) == buf.count }
}

/// Rewrites the current stderr line (only called when stderr is a terminal).
func showProgress(_ message: String) {
  printError("\u{1B}[2K\r" + message, terminator: "")
}
