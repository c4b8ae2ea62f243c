import Testing
@testable import Formats

@Suite struct NPYHeaderTests {
  static let fixtures = ContainerFixtures.section("npy").keys.sorted()

  static func parse(_ bytes: [UInt8]) throws(ContainerError) -> NPYHeader {
    try withRaw(bytes) { (p) throws(ContainerError) in try NPYHeader.parse(p) }
  }

  /// Headers written by NumPy (versions 1.0, 2.0, 3.0; C and Fortran order; scalar; structured;
  /// object arrays) parse to the descr, order and shape NumPy wrote, with the data filling the file.
  @Test(arguments: fixtures)
  func numpyWrittenHeadersParse(_ name: String) throws {
    let expected = try #require(ContainerFixtures.section("npy")[name] as? [String: Any])
    let bytes = try ContainerFixtures.bytes(name)
    let h = try Self.parse(bytes)
    #expect(Int(h.majorVersion) == expected["version"] as? Int)
    if let descr = expected["descr"] as? String { #expect(h.descr == descr) } else { #expect(h.isStructured) }
    #expect(h.fortranOrder == expected["fortran"] as? Bool)
    #expect(h.shape == expected["shape"] as? [Int])
    #expect(h.containsObjects == expected["objects"] as? Bool)
    if let item = expected["item"] as? Int { #expect(h.itemByteCount == item) }
    #expect(h.dataOffset % 64 == 0)
    if !h.containsObjects {
      #expect(h.dataByteCount == bytes.count - h.dataOffset)
      #expect(h.anomalies.isEmpty, "\(h.anomalies)")
    }
  }

  /// An object array's data is a pickle that the disassembler reads from the header's data offset.
  @Test func objectArrayDataIsAPickle() throws {
    let bytes = try ContainerFixtures.bytes("objects.npy")
    let h = try Self.parse(bytes)
    let d = bytes.withUnsafeBytes { PickleDisassembler.scan($0, startOffset: h.dataOffset) }
    #expect(d.isComplete)
    #expect(d.globals.contains { $0.qualifiedName == "numpy.core.multiarray._reconstruct" || $0.module.hasPrefix("numpy") })
  }

  /// Bad magic, versions, missing or extra keys, negative dims and deep nesting are typed errors.
  @Test func malformedHeadersAreRejected() throws {
    func npy(_ dict: String, major: UInt8 = 1) -> [UInt8] {
      let text = Array(dict.utf8) + [0x0A]
      return [0x93] + Array("NUMPY".utf8) + [major, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text
    }
    #expect(throws: ContainerError.npyBadMagic(offset: 0)) { try Self.parse(Array("NUMPY!!!".utf8)) }
    #expect(throws: ContainerError.npyUnsupportedVersion(offset: 6, major: 4, minor: 0)) { try Self.parse(npy("{}", major: 4)) }
    #expect(throws: ContainerError.npyMalformedHeader(offset: 10, detail: "keys are [\"descr\", \"shape\"], not descr, fortran_order, shape")) {
      try Self.parse(npy("{'descr': '<f4', 'shape': (1,)}"))
    }
    #expect(throws: ContainerError.npyMalformedHeader(offset: 10, detail: "shape holds a value that is not a non-negative int")) {
      try Self.parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"))
    }
    #expect(throws: ContainerError.npyMalformedHeader(offset: 75, detail: "nesting deeper than 32")) {
      try Self.parse(npy("{'descr': '<f4', 'fortran_order': " + String(repeating: "[", count: 40)))
    }
    #expect(throws: ContainerError.npyMalformedHeader(offset: 10, detail: "header is not a dict")) { try Self.parse(npy("[1, 2]")) }
    // Shape products that overflow are reported, not trapped on.
    let h = try Self.parse(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
    #expect(h.elementCount == nil && h.dataByteCount == nil)
  }

  /// .npz archives (stored and deflated) list their arrays with parsed headers.
  @Test(arguments: ["arrays.npz", "arrays_compressed.npz"])
  func npzListsArrays(_ name: String) throws {
    let bytes = try ContainerFixtures.bytes(name)
    let npz = try withRaw(bytes) { (p) throws(ContainerError) in try NPZArchive(bytes: p) }
    #expect(npz.arrays.map(\.name) == ["weights", "bias"])
    #expect(npz.arrays[0].header?.descr == "<f2" && npz.arrays[0].header?.shape == [2, 2])
    #expect(npz.arrays[1].header?.descr == "<f8" && npz.arrays[1].header?.shape == [3])
    #expect(npz.arrays.allSatisfy { $0.header?.anomalies.isEmpty == true })
    #expect(npz.zip.entries.allSatisfy { $0.method == (name == "arrays.npz" ? 0 : 8) })
  }
}

@Suite struct NPYHeaderEdgeTests {
  static func npy(_ dict: String, major: UInt8 = 1, data: Int = 0) -> [UInt8] {
    let text = Array(dict.utf8) + [0x0A]
    let lengthBytes: [UInt8] = major == 1 ? [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
      : [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + lengthBytes + text + [UInt8](repeating: 0, count: data)
  }

  /// Python 2 wrote shapes as longs (`(3L, 4L)`); NumPy still reads them, so do we.
  @Test func python2LongSuffixIsAccepted() throws {
    let h = try NPYHeader.parse(Self.npy("{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }", data: 12))
    #expect(h.shape == [3, 2] && h.dataByteCount == 12)
  }

  /// Odd but readable headers are anomalies: over NumPy's 10,000-byte default, unaligned, short data.
  @Test func oddHeadersAreAnomalies() throws {
    let pad = String(repeating: " ", count: 10_050)
    let h = try NPYHeader.parse(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + pad, major: 2, data: 4))
    let details = h.anomalies.map(\.detail)
    #expect(details.contains { $0.contains("max_header_size") })
    #expect(details.contains { $0.contains("not a multiple of 16") })
    #expect(details.contains { $0.contains("need 8 data bytes, 4 follow") })
  }

  /// Type strings size correctly: unicode is 4 bytes per char, datetimes by their width, objects 8.
  @Test func typeStringSizes() {
    #expect(NPYDType.typeStringSize("<U10") == 40)
    #expect(NPYDType.typeStringSize("<M8[ns]") == 8)
    #expect(NPYDType.typeStringSize("|O") == 8)
    #expect(NPYDType.typeStringSize("|S0") == 0)
    #expect(NPYDType.typeStringSize("<x4") == nil)
  }

  /// [UInt8] conveniences parse the same header.
  @Test func arrayConvenience() throws {
    let bytes = try ContainerFixtures.bytes("f32_3x4.npy")
    #expect(try NPYHeader.parse(bytes) == NPYHeaderTests.parse(bytes))
    let zipBytes = try ContainerFixtures.bytes("arrays.npz")
    let zip = try ZipArchive(bytes: zipBytes)
    #expect(try zip.extract(zip.entries[0], from: zipBytes, limits: .init(maxOutputBytes: 1 << 16)).count == Int(zip.entries[0].uncompressedSize))
  }
}
