import ArgumentParser
import Scanner

struct RulesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rules",
    abstract: "List every finding rule: id, default severity, what it means and what to do.",
    discussion: "Example:\n  scan rules\n  scan rules --format json"
  )

  @Option(help: "text or json.")
  var format: OutputFormat = .text

  func run() {
    switch format {
    case .json:
      let node = JSONNode.array(Rules.all.map { r in
        .object([("id", .string(r.id)), ("severity", .string(r.severity.name)), ("title", .string(r.title)),
                 ("summary", .string(r.summary)), ("remedy", .string(r.remedy))])
      })
      print(node.serialized(pretty: true))
    case .text:
      for r in Rules.all {
        print("\(r.id)  [\(r.severity.name)]  \(r.title)")
        print("    \(r.summary)")
        print("    What to do: \(r.remedy)\n")
      }
    }
  }
}
