import Testing
import Formats

/// Every committed sample reads through Formats and matches its MANIFEST.json entry (sha256, size,
/// tensor count, architecture), so the detector tests that rely on the manifest test the files it describes.
@Suite struct SamplesManifestTests {
  static let files: [JSONValue] = {
    (try? readJSON(TestPaths.samples + "/MANIFEST.json"))?["files"]?.array ?? []
  }()

  @Test func manifestListsTheSamples() {
    #expect(Self.files.count >= 60)
    #expect(Self.files.filter { $0["format"]?.string == "gguf" }.count >= 18)
  }

  @Test(arguments: SamplesManifestTests.files.compactMap { $0["path"]?.string })
  func sampleMatchesManifest(_ relPath: String) throws {
    let entry = try #require(Self.files.first { $0["path"]?.string == relPath })
    let path = TestPaths.samples + "/" + relPath
    let file = try MappedFile(path: path)
    #expect(file.count == entry["size"]?.int)
    #expect(file.sha256Hex() == entry["sha256"]?.string)
    switch entry["format"]?.string {
    case "gguf":
      let g = try GGUFFile.open(file)
      #expect(g.tensors.count == entry["tensor_count"]?.int)
      #expect(g["general.architecture"]?.string == entry["architecture"]?.string)
    case "safetensors":
      let s = try SafetensorsFile.open(file)
      #expect(s.tensors.count == entry["tensor_count"]?.int)
    case "json":
      _ = try file.withBytes { (b) throws(JSONError) in try JSONParser.parse(b) }
    default:
      break
    }
  }
}
