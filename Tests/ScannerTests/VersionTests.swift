import Testing
@testable import Scanner

@Suite struct VersionTests {
  /// The version string is semver-shaped so reports can be compared across releases.
  @Test func versionIsSemver() {
    #expect(scannerVersion.split(separator: ".").count == 3)
  }
}
