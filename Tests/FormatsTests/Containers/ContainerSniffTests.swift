import Foundation
import Testing
@testable import Formats

@Suite struct ContainerSniffTests {
  static func sniff(_ bytes: [UInt8]) -> ContainerSniff { bytes.withUnsafeBytes { ContainerKind.sniff($0) } }

  /// Every committed fixture sniffs to the kind its generator wrote.
  @Test func fixturesSniffToTheirKind() throws {
    let expected = ContainerFixtures.section("sniff")
    #expect(expected.count > 30)
    for (name, kind) in expected {
      guard let kind = kind as? String, let want = ContainerKind(rawValue: kind) else { continue }
      let s = Self.sniff(try ContainerFixtures.bytes(name))
      #expect(s.kind == want, "\(name): \(s)")
      #expect(s.confidence >= .medium, "\(name): \(s)")
      #expect(!s.evidence.isEmpty)
    }
  }

  /// Magic numbers at their offsets, with evidence naming the bytes.
  @Test func magicNumbersAreRecognised() {
    var gguf = Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16)
    #expect(Self.sniff(gguf).kind == .gguf && Self.sniff(gguf).confidence == .certain)
    gguf[4] = 0; gguf[7] = 3
    #expect(Self.sniff(gguf).kind == .ggufBigEndian)
    #expect(Self.sniff(gguf).evidence.contains("big-endian"))
    #expect(Self.sniff(Array("FUGG".utf8) + [0, 0, 0, 3, 0, 0]).kind == .ggufBigEndian)
    var h5 = [UInt8](repeating: 0, count: 1100)
    h5.replaceSubrange(1024..<1032, with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A])
    #expect(Self.sniff(h5).kind == .hdf5 && Self.sniff(h5).evidenceByteOffset == 1024)
    var tar = [UInt8](repeating: 0, count: 600)
    tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
    #expect(Self.sniff(tar).kind == .tar)
    #expect(Self.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1]).kind == .elf)
    #expect(Self.sniff([0, 0, 0, 0] + Array("TFL3".utf8) + [0, 0]).kind == .tflite)
    #expect(Self.sniff([]).kind == .empty)
    #expect(Self.sniff(Array("lmgg".utf8) + [1, 2]).kind == .ggmlLegacy)
    #expect(Self.sniff([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1]).kind == .xz)
    #expect(Self.sniff([0x00, 0x01, 0xFE, 0xFF, 0x10]).kind == .unknown)
  }

  /// A safetensors header length whose low bytes spell a pickle PROTO or gzip magic is still safetensors.
  @Test func safetensorsWinsOverShortMagics() {
    for len in [0x0280, 0x8B1F] {
      var header = Array("{\"a\":1}".utf8)
      header += [UInt8](repeating: 0x20, count: len - header.count)
      let file = withUnsafeBytes(of: UInt64(len).littleEndian, Array.init) + header
      #expect(Self.sniff(file).kind == .safetensors)
    }
  }

  /// Protocol 0 pickles need a full disassembly to STOP: text starting with a pickle opcode is not one.
  @Test func protocolZeroPicklesAreValidatedNotGuessed() {
    #expect(Self.sniff(Array("(dp0\nS'a'\np1\nI1\ns.".utf8)).kind == .pickle)
    #expect(Self.sniff(Array("(a) first point\n".utf8)).kind == .text)
    #expect(Self.sniff(Array("Sure, here it is.\n".utf8)).kind == .text)
    #expect(Self.sniff(Array("[1, 2, 3]\n".utf8)).kind == .json)
  }

  /// A ZIP appended to another file is reported alongside the primary kind.
  @Test func appendedZipIsReported() throws {
    let zip = try ContainerFixtures.bytes("torch_checkpoint.pt")
    let s = Self.sniff(Array("GGUF".utf8) + [3, 0, 0, 0] + zip)
    #expect(s.kind == .gguf)
    #expect(s.appendedZipEndRecordOffset != nil)
  }

  /// ONNX needs ir_version first and a graph/opset field; a lone 0x08 byte is not ONNX.
  @Test func onnxHeuristicNeedsStructure() throws {
    let onnx = try ContainerFixtures.bytes("tiny.onnx")
    #expect(Self.sniff(onnx).confidence == .high)
    #expect(Self.sniff([0x08, 0x07, 0x12, 0x01, 0x41]).kind != .onnx)  // ir_version + producer, no graph
    #expect(Self.sniff(Array(onnx.dropLast())).kind != .onnx)  // a length runs past the end
  }
}

@Suite struct ContainerSniffRealFilesTests {
  /// The 42 real model files in ../shared/realfiles (when present) sniff as their format: every
  /// `.safetensors` as safetensors, every `.gguf` that starts with the magic as GGUF, and none is
  /// "unknown" (a file named .gguf that holds text is recognised as text).
  @Test func realModelFilesSniffAsTheirFormat() throws {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)
    let root = parts.joined(separator: "/") + "/../shared/realfiles"
    guard let walker = FileManager.default.enumerator(atPath: root) else { return }
    var count = 0
    while let rel = walker.nextObject() as? String {
      let path = root + "/" + rel
      guard rel.hasSuffix(".gguf") || rel.hasSuffix(".safetensors"), let f = try? MappedFile(path: path) else { continue }
      count += 1
      let s = ContainerKind.sniff(file: f)
      let startsWithMagic = f.withBytes { $0.count >= 4 && $0[0] == 0x47 && $0[1] == 0x47 && $0[2] == 0x55 && $0[3] == 0x46 }
      if rel.hasSuffix(".safetensors") {
        #expect(s.kind == .safetensors, "\(rel): \(s)")
      } else if startsWithMagic {
        #expect(s.kind == .gguf || s.kind == .ggufBigEndian, "\(rel): \(s)")
      }
      #expect(s.kind != .unknown, "\(rel): \(s)")
    }
    #expect(count >= 30)
  }
}
