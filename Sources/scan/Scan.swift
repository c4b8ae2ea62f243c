import ArgumentParser
import Scanner

@main
struct Scan: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan",
    abstract: "Scan open-weight language models for backdoors and malformed files before you deploy them.",
    version: scannerVersion,
    subcommands: []
  )
}
