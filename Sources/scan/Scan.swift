#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Scanner

@main
struct Scan: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan",
    abstract: "Scan open-weight language models for backdoors and malformed files before you deploy them.",
    version: scannerVersion,
    subcommands: [Check.self, Inspect.self, Diff.self, Generate.self, RulesCommand.self],
    defaultSubcommand: Check.self
  )

  /// Checks the CPU before any Scanner code runs (see `CPUCheck`), then parses and runs the command.
  static func main() {
    CPUCheck.requireKernelFeatures()
    main(nil)
  }
}

/// Output formats shared by the subcommands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json, sarif
}

/// Prints `error` to stderr and exits with code 2: the input could not be (fully) read.
func failInput(_ error: any Error) -> ExitCode {
  // Error messages quote the file (keys, values): no terminal escapes from it reach the screen.
  printError("error: " + TerminalText.safe("\(error)"))
  return ExitCode(2)
}

func printError(_ s: String, terminator: String = "\n") {
  var stderr = StandardError()
  print(s, terminator: terminator, to: &stderr)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    var s = string
    s.withUTF8 { buf in _ = write2(buf) }
  }
}

/// Writes bytes to file descriptor 2 (stderr) without touching the C `stderr` global.
func write2(_ buf: UnsafeBufferPointer<UInt8>) -> Int {
  guard let base = buf.baseAddress else { return 0 }
  return Glibc.write(2, base, buf.count)
}
