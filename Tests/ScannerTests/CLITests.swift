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

  static func run(_ args: [String]) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
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
