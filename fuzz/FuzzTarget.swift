// libFuzzer entry point for both parsers. Built by fuzz/run.sh together with Sources/Formats
// (`swiftc -sanitize=fuzzer,address`), never by SwiftPM.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  if let layout = try? GGUFParser.parse(bytes) {
    for t in layout.tensors {
      // Every accepted tensor must lie inside the input.
      precondition(t.absoluteOffset >= 0 && t.absoluteOffset + t.byteCount <= size)
    }
  }
  if let layout = try? SafetensorsParser.parse(bytes) {
    for t in layout.tensors { precondition(t.absoluteOffset + t.byteCount <= size) }
  }
  // The fast header scanner must accept exactly what the reference path accepts, with the same layout.
  let fast = SafetensorsHeaderScanner.scan(bytes)
  let reference = try? SafetensorsParser.parseReference(bytes)
  precondition(fast == reference, "safetensors fast path and reference path disagree")
  if let fast, let reference {
    for (a, b) in zip(fast.tensors, reference.tensors) { precondition(a.name.utf8.elementsEqual(b.name.utf8)) }
  }
  _ = try? JSONParser.parse(bytes)
  return 0
}
