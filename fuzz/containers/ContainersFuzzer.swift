// libFuzzer harness for the container readers (sniffing, ZIP listing + bounded extraction, pickle
// disassembly, NPY/NPZ headers). Built outside SwiftPM by scripts/fuzz-containers.sh, which compiles
// Sources/Formats/Containers with this file and -sanitize=fuzzer,address. A trap, an out-of-bounds read
// or an allocation above libFuzzer's -rss_limit_mb is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContainers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  _ = ContainerKind.sniff(bytes)
  _ = PickleDisassembler.scanSequence(bytes, maxPickles: 4, limits: PickleLimits(maxInstructions: 200_000))
  _ = try? NPYHeader.parse(bytes)
  _ = try? NPZArchive(bytes: bytes)
  if let zip = try? ZipArchive(bytes: bytes) {
    for entry in zip.entries.prefix(32) {
      _ = try? zip.extract(entry, from: bytes, limits: ZipExtractionLimits(maxOutputBytes: 1 << 22))
      _ = try? zip.extractPrefix(entry, from: bytes, byteCount: 4096)
    }
  }
  return 0
}
