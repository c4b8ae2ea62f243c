import Foundation

/// Writes small GGUF v3 files for detector tests: string/int metadata, string arrays, and tensors given as raw
/// bytes (F32 values or hand-built quantized blocks), each aligned to 32 bytes. Records every tensor's absolute
/// data offset so tests can check the byte offsets findings report.
struct TinyGGUF {
  private var kvs: [[UInt8]] = []
  private var infos: [(name: String, dims: [Int], type: UInt32, bytes: [UInt8])] = []

  static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
  static func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

  mutating func string(_ key: String, _ value: String) { kvs.append(Self.str(key) + Self.le(UInt32(8)) + Self.str(value)) }
  mutating func u32(_ key: String, _ value: UInt32) { kvs.append(Self.str(key) + Self.le(UInt32(4)) + Self.le(value)) }
  mutating func bool(_ key: String, _ value: Bool) { kvs.append(Self.str(key) + Self.le(UInt32(7)) + [value ? 1 : 0]) }
  mutating func strings(_ key: String, _ values: [String]) {
    kvs.append(Self.str(key) + Self.le(UInt32(9)) + Self.le(UInt32(8)) + Self.le(UInt64(values.count)) + values.flatMap(Self.str))
  }
  mutating func int32s(_ key: String, _ values: [Int32]) {
    kvs.append(Self.str(key) + Self.le(UInt32(9)) + Self.le(UInt32(5)) + Self.le(UInt64(values.count)) + values.flatMap { Self.le($0) })
  }

  /// Adds an F32 tensor; `dims` in GGUF order (`ne[0]` first).
  mutating func f32(_ name: String, dims: [Int], _ values: [Float]) {
    infos.append((name, dims, 0, values.flatMap { Self.le($0.bitPattern) }))
  }
  /// Adds a tensor of ggml type `type` from raw block bytes.
  mutating func raw(_ name: String, dims: [Int], type: UInt32, _ bytes: [UInt8]) { infos.append((name, dims, type, bytes)) }

  /// The file bytes and the absolute data offset of each tensor, by name.
  func build() -> (bytes: [UInt8], offsets: [String: Int]) {
    var header: [UInt8] = Array("GGUF".utf8) + Self.le(UInt32(3)) + Self.le(UInt64(infos.count)) + Self.le(UInt64(kvs.count))
    for k in kvs { header += k }
    var relative: [Int] = []
    var data: [UInt8] = []
    for t in infos {
      while data.count % 32 != 0 { data.append(0) }
      relative.append(data.count)
      data += t.bytes
    }
    for (t, off) in zip(infos, relative) {
      header += Self.str(t.name) + Self.le(UInt32(t.dims.count)) + t.dims.flatMap { Self.le(UInt64($0)) } + Self.le(t.type) + Self.le(UInt64(off))
    }
    while header.count % 32 != 0 { header.append(0) }
    var offsets: [String: Int] = [:]
    for (t, off) in zip(infos, relative) { offsets[t.name] = header.count + off }
    return (header + data, offsets)
  }

  /// Writes the file to a fresh temporary path.
  func write(_ label: String) throws -> (path: String, offsets: [String: Int]) {
    let (bytes, offsets) = build()
    let path = NSTemporaryDirectory() + "scan-\(label)-\(UUID().uuidString).gguf"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return (path, offsets)
  }
}

/// Deterministic Gaussian-ish values (sum of uniforms from a fixed LCG) for fixture weights.
struct FixtureRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  /// The next 64 raw bits (SplitMix64 output of the LCG state).
  mutating func next() -> UInt64 {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(state >> 40) / Float(1 << 24)
  }
  mutating func normal(_ std: Float = 1) -> Float {
    var s: Float = 0
    for _ in 0..<12 { s += uniform() }
    return (s - 6) * std
  }
}

/// Q8_0 blocks (32 elements: f16 d, 32 x i8) for `values`, quantized as ggml does (d = max|x| / 127).
func q8_0Blocks(_ values: [Float]) -> [UInt8] {
  var out: [UInt8] = []
  for b in stride(from: 0, to: values.count, by: 32) {
    let block = values[b..<min(values.count, b + 32)]
    let amax = block.map(abs).max() ?? 0
    let d = amax / 127
    out += TinyGGUF.le(Float16(d).bitPattern)
    for x in block { out.append(UInt8(bitPattern: Int8(d == 0 ? 0 : (x / d).rounded()))) }
  }
  return out
}
