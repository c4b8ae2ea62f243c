/// Writes GGUF bytes field by field for tests, in either byte order and any version.
struct GGUFBuilder {
  var version: UInt32 = 3
  var bigEndian = false
  var alignment = 32
  private(set) var kvs: [[UInt8]] = []
  private(set) var infos: [[UInt8]] = []
  var data: [UInt8] = []

  init(version: UInt32 = 3, bigEndian: Bool = false) {
    self.version = version
    self.bigEndian = bigEndian
  }

  func int<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian, Array.init)
  }
  func count(_ n: Int) -> [UInt8] { version == 1 ? int(UInt32(n)) : int(UInt64(n)) }
  func str(_ s: String) -> [UInt8] { count(s.utf8.count) + Array(s.utf8) }

  mutating func kv(_ key: String, string: String) { kvs.append(str(key) + int(UInt32(8)) + str(string)) }
  mutating func kv(_ key: String, u32: UInt32) { kvs.append(str(key) + int(UInt32(4)) + int(u32)) }
  mutating func kv(_ key: String, rawType: UInt32, payload: [UInt8]) { kvs.append(str(key) + int(rawType) + payload) }
  mutating func kv(_ key: String, u32Array: [UInt32]) {
    kvs.append(str(key) + int(UInt32(9)) + int(UInt32(4)) + count(u32Array.count) + u32Array.flatMap { int($0) })
  }

  mutating func tensor(_ name: String, dims: [Int], type: UInt32 = 0, offset: Int) {
    infos.append(str(name) + int(UInt32(dims.count)) + dims.flatMap { count($0) } + int(type) + int(UInt64(offset)))
  }

  func build() -> [UInt8] {
    var out: [UInt8] = Array("GGUF".utf8) + int(version) + count(infos.count) + count(kvs.count)
    for k in kvs { out += k }
    for t in infos { out += t }
    if !infos.isEmpty { while out.count % alignment != 0 { out.append(0) } }
    return out + data
  }
}
