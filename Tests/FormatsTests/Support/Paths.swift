import Formats

/// Locations of test inputs, found relative to this source file so tests run from any directory.
enum TestPaths {
  /// The repository root (three levels above this file).
  static let repoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)  // Support/Paths.swift, FormatsTests, Tests
    return parts.joined(separator: "/")
  }()
  /// `../shared/realfiles` beside the repository (CI lays shared/ next to the clone).
  static let realfiles = repoRoot + "/../shared/realfiles"
  static let fixtures = repoRoot + "/Tests/Fixtures"
  static let samples = repoRoot + "/samples"
  /// Real models fetched by scripts/fetch-real-models.sh.
  static let realModels = repoRoot + "/samples/.cache/real"
}

/// Reads a whole file into bytes through our own mapping.
func readBytes(_ path: String) throws -> [UInt8] {
  let f = try MappedFile(path: path)
  return f.withBytes { Array($0) }
}

/// Parses a JSON file with our strict parser.
func readJSON(_ path: String) throws -> JSONValue {
  try JSONParser.parse(try readBytes(path)).value
}
