import Formats
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reader for Tests/Fixtures/dequant (written by make_dequant_vectors.py; see its docstring for the format).
enum DequantFixtures {
  /// Tests/Fixtures/dequant/, found from this source file's path.
  static let directory: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(2)  // FormatsTests/DequantizeFixtures.swift
    return parts.joined(separator: "/") + "/Fixtures/dequant/"
  }()

  struct Line: Sendable, CustomTestStringConvertible {
    let fields: [String]
    var kind: String { fields[0] }
    var testDescription: String { fields.prefix(4).joined(separator: " ") }
  }

  static let lines: [Line] = {
    guard let text = try? readText(directory + "manifest.txt") else { return [] }
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }
      .map { Line(fields: $0.split(separator: " ").map(String.init)) }
  }()

  static func lines(_ kind: String) -> [Line] { lines.filter { $0.kind == kind } }

  static func readText(_ path: String) throws -> String {
    let bytes = try readBytes(path)
    return String(decoding: bytes, as: UTF8.self)
  }

  static func readBytes(_ path: String) throws -> [UInt8] {
    let file = try MappedFile(path: path)
    return file.withBytes { Array($0) }
  }

  static func readFloats(_ path: String) throws -> [Float] {
    let bytes = try readBytes(path)
    var floats = [Float]()
    floats.reserveCapacity(bytes.count / 4)
    var i = 0
    while i + 4 <= bytes.count {
      var bits = UInt32(bytes[i])
      bits |= UInt32(bytes[i + 1]) << 8
      bits |= UInt32(bytes[i + 2]) << 16
      bits |= UInt32(bytes[i + 3]) << 24
      floats.append(Float(bitPattern: bits))
      i += 4
    }
    return floats
  }

  static func ggmlType(named name: String) -> GGMLType? { GGMLType.allCases.first { $0.name == name } }

  /// Whether the environment variable `name` is set to "1" (gates for slow or machine-specific suites).
  static func flag(_ name: String) -> Bool { getenv(name).map { String(cString: $0) == "1" } ?? false }

  /// The script's checksum: sum of mix(bits_i | i << 32) mod 2^64.
  static func checksum(_ values: UnsafeBufferPointer<Float>) -> UInt64 {
    var sum: UInt64 = 0
    for (i, v) in values.enumerated() {
      var m = (UInt64(v.bitPattern) | UInt64(i) << 32) &* 0x9E37_79B9_7F4A_7C15
      m ^= m >> 29
      m = m &* 0xBF58_476D_1CE4_E5B9
      m ^= m >> 32
      sum = sum &+ m
    }
    return sum
  }

  /// Index of the first element whose bits differ, or nil when all are equal.
  static func firstBitMismatch(_ a: [Float], _ b: [Float]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
  }
}

/// Lets parameterized tests show the manifest line instead of a struct dump.
protocol CustomTestStringConvertible {}
