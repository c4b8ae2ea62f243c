// In-process timings of our Formats parsers, for Benchmarks/bench-formats.sh.
//
//   bench-formats gguf-open PATH          open (mmap) + parse + fully validate a GGUF file, repeated; median
//   bench-formats st-open PATH            the same for a safetensors file
//   bench-formats dequant PATH            one full dequantizing pass over every tensor of a GGUF file, single thread
//
// Prints one JSON object. BENCH_MIN_SECONDS (default 2) and BENCH_MAX_ITERATIONS (default 10000) bound repetitions.
import Formats

#if canImport(Glibc)
  import Glibc
#endif

/// Seconds on the monotonic clock.
func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func environmentDouble(_ name: String, _ fallback: Double) -> Double {
  guard let raw = getenv(name), let value = Double(String(cString: raw)) else { return fallback }
  return value
}

/// Keeps a result alive so the optimiser cannot drop the work that produced it.
@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

struct Measurement {
  var samples: [Double] = []
  var median: Double {
    let s = samples.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
  }
  var minimum: Double { samples.min() ?? .nan }
  var json: String { "{\"median_s\": \(median), \"min_s\": \(minimum), \"iterations\": \(samples.count)}" }
}

/// Runs `body` until BENCH_MIN_SECONDS have passed and at least 5 samples exist (after 3 warm-up calls).
func measure(_ body: () throws -> Void) rethrows -> Measurement {
  let minSeconds = environmentDouble("BENCH_MIN_SECONDS", 2)
  let maxIterations = Int(environmentDouble("BENCH_MAX_ITERATIONS", 10_000))
  for _ in 0..<3 { try body() }
  var m = Measurement()
  let start = now()
  while m.samples.count < maxIterations {
    let t0 = now()
    try body()
    m.samples.append(now() - t0)
    if now() - start >= minSeconds, m.samples.count >= 5 { break }
  }
  return m
}

func jsonString(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    default:
      if scalar.value < 0x20 { out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4) } else { out.unicodeScalars.append(scalar) }
    }
  }
  return out + "\""
}

extension String {
  func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

func fail(_ message: String) -> Never {
  let line = Array("bench-formats: \(message)\n".utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  exit(2)
}

// MARK: - commands

func benchGGUFOpen(_ path: String) throws {
  let first = try GGUFFile.open(path: path)
  let tensorCount = first.tensors.count
  let full = try measure { blackHole(try GGUFFile.open(path: path).tensors.count) }
  // validation alone on an already mapped file: separates the parse from mmap/munmap
  let mapped = first.file
  let parseOnly = try measure { blackHole(try GGUFFile.open(mapped).tensors.count) }
  print(
    "{\"file\": \(jsonString(path)), \"tensor_count\": \(tensorCount), \"kv_count\": \(first.metadata.count), "
      + "\"anomalies\": \(first.anomalies.count), \"ours\": \(full.json), \"ours_parse_only\": \(parseOnly.json)}")
}

func benchSafetensorsOpen(_ path: String) throws {
  let first = try SafetensorsFile.open(path: path)
  let full = try measure { blackHole(try SafetensorsFile.open(path: path).tensors.count) }
  let mapped = first.file
  let parseOnly = try measure { blackHole(try SafetensorsFile.open(mapped).tensors.count) }
  print(
    "{\"file\": \(jsonString(path)), \"tensor_count\": \(first.tensors.count), \"anomalies\": \(first.anomalies.count), "
      + "\"ours\": \(full.json), \"ours_parse_only\": \(parseOnly.json)}")
}

func benchDequantize(_ path: String) throws {
  let model = try GGUFFile.open(path: path)
  let totalBytes = model.tensors.reduce(0) { $0 + $1.byteCount }
  #if HAVE_DEQUANTIZE
    let maxElements = model.tensors.map(\.elementCount).max() ?? 0
    var output = [Float](repeating: 0, count: maxElements)
    var perType: [String: (seconds: Double, bytes: Int)] = [:]
    var unsupported: Set<String> = []
    func pass(record: Bool) throws {
      try output.withUnsafeMutableBufferPointer { out in
        for tensor in model.tensors {
          let t0 = now()
          let done = try model.withTensorBytes(tensor) { bytes in
            try dequantizeForBenchmark(bytes, type: tensor.type, elementCount: tensor.elementCount, into: out)
          }
          if !done { unsupported.insert(tensor.type.name); continue }
          if record {
            let dt = now() - t0
            let old = perType[tensor.type.name] ?? (0, 0)
            perType[tensor.type.name] = (old.seconds + dt, old.bytes + tensor.byteCount)
          }
        }
      }
    }
    try pass(record: false)  // warm-up: faults the mapping in, like the peers' warm-up
    var best = Double.infinity
    var bestPerType = perType
    for _ in 0..<3 {
      perType = [:]
      let t0 = now()
      try pass(record: true)
      let dt = now() - t0
      if dt < best { best = dt; bestPerType = perType }
    }
    blackHole(output)
    let decodedBytes = bestPerType.values.reduce(0) { $0 + $1.bytes }
    let types = bestPerType.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)): \(Double($0.value.bytes) / $0.value.seconds / 1e9)" }
    print(
      "{\"file\": \(jsonString(path)), \"tensor_bytes\": \(totalBytes), \"ours\": {\"seconds\": \(best), "
        + "\"gbps\": \(Double(decodedBytes) / best / 1e9), \"decoded_bytes\": \(decodedBytes), "
        + "\"unsupported_types\": [\(unsupported.sorted().map(jsonString).joined(separator: ", "))], "
        + "\"per_type_gbps\": {\(types.joined(separator: ", "))}}}")
  #else
    print(
      "{\"file\": \(jsonString(path)), \"tensor_bytes\": \(totalBytes), \"ours\": {\"error\": "
        + "\"no dequantizer in Formats yet (built without HAVE_DEQUANTIZE)\"}}")
  #endif
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: bench-formats gguf-open|st-open|dequant PATH") }
do {
  switch arguments[1] {
  case "gguf-open": try benchGGUFOpen(arguments[2])
  case "st-open": try benchSafetensorsOpen(arguments[2])
  case "dequant": try benchDequantize(arguments[2])
  default: fail("unknown command \(arguments[1])")
  }
} catch {
  fail("\(error)")
}
