import Foundation
import Testing
@testable import Formats

/// Loads the committed fixtures of Tests/Fixtures/containers (made by make_fixtures.py).
enum ContainerFixtures {
  static let directory: String = {
    // #filePath = …/Tests/FormatsTests/Containers/ContainerFixtures.swift
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/Fixtures/containers/"
  }()

  static func bytes(_ name: String) throws -> [UInt8] {
    let file = try MappedFile(path: directory + name)
    return file.withBytes { Array($0) }
  }

  static func names() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { !$0.hasSuffix(".py") && !$0.hasSuffix(".json") || $0 == "config.json" }
      .sorted()
  }

  nonisolated(unsafe) static let expected: [String: Any] = {
    guard let data = FileManager.default.contents(atPath: directory + "expected.json"),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    return object
  }()

  static func section(_ key: String) -> [String: Any] { expected[key] as? [String: Any] ?? [:] }
}

/// Runs `body` with the bytes of `array` as a raw buffer, passing typed errors through.
func withRaw<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ContainerError) -> R) throws(ContainerError) -> R {
  try array.withUnsafeBytes { (p) -> Result<R, ContainerError> in Result { () throws(ContainerError) in try body(p) } }.get()
}

/// A seeded ContainerRNG generator for reproducible mutations.
struct ContainerRNG: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
