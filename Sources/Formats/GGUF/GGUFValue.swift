/// A GGUF metadata value type id (gguf.h `enum gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
  case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
  case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

  /// The name gguf-py prints (`UINT32`, `STRING`, ...).
  public var name: String {
    switch self {
    case .uint8: "UINT8"
    case .int8: "INT8"
    case .uint16: "UINT16"
    case .int16: "INT16"
    case .uint32: "UINT32"
    case .int32: "INT32"
    case .float32: "FLOAT32"
    case .bool: "BOOL"
    case .string: "STRING"
    case .array: "ARRAY"
    case .uint64: "UINT64"
    case .int64: "INT64"
    case .float64: "FLOAT64"
    }
  }

  /// Bytes of one value of a fixed-size type; `nil` for strings and arrays.
  var fixedSize: Int? {
    switch self {
    case .uint8, .int8, .bool: 1
    case .uint16, .int16: 2
    case .uint32, .int32, .float32: 4
    case .uint64, .int64, .float64: 8
    case .string, .array: nil
    }
  }
}

/// A GGUF metadata value.
public indirect enum GGUFValue: Sendable, Equatable {
  case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
  case float32(Float), bool(Bool), string(String), array(GGUFArray)
  case uint64(UInt64), int64(Int64), float64(Double)

  /// The value's type id.
  public var type: GGUFValueType {
    switch self {
    case .uint8: .uint8
    case .int8: .int8
    case .uint16: .uint16
    case .int16: .int16
    case .uint32: .uint32
    case .int32: .int32
    case .float32: .float32
    case .bool: .bool
    case .string: .string
    case .array: .array
    case .uint64: .uint64
    case .int64: .int64
    case .float64: .float64
    }
  }

  /// Any integer type as `Int`, when it fits (bools are not integers here).
  public var int: Int? {
    switch self {
    case .uint8(let v): Int(v)
    case .int8(let v): Int(v)
    case .uint16(let v): Int(v)
    case .int16(let v): Int(v)
    case .uint32(let v): Int(v)
    case .int32(let v): Int(v)
    case .uint64(let v): Int(exactly: v)
    case .int64(let v): Int(exactly: v)
    default: nil
    }
  }

  /// Any numeric type as `Double`.
  public var double: Double? {
    switch self {
    case .float32(let v): Double(v)
    case .float64(let v): v
    default: int.map(Double.init)
    }
  }

  /// The string payload.
  public var string: String? { if case .string(let s) = self { s } else { nil } }
  /// The boolean payload.
  public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
  /// The array payload.
  public var array: GGUFArray? { if case .array(let a) = self { a } else { nil } }
  /// A string array's elements.
  public var strings: [String]? { if case .array(.string(let s)) = self { s } else { nil } }
  /// A float32 array's elements.
  public var floats: [Float]? { if case .array(.float32(let f)) = self { f } else { nil } }
  /// An integer array's elements as `Int` (any integer element type).
  public var ints: [Int]? { array?.ints }
}

/// A GGUF metadata array: homogeneous, stored with its element type.
public indirect enum GGUFArray: Sendable, Equatable {
  case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
  case float32([Float]), bool([Bool]), string([String]), uint64([UInt64]), int64([Int64]), float64([Double])
  /// Arrays of arrays (the spec allows them; llama.cpp's loader refuses them).
  case array([GGUFArray])

  /// The element type.
  public var elementType: GGUFValueType {
    switch self {
    case .uint8: .uint8
    case .int8: .int8
    case .uint16: .uint16
    case .int16: .int16
    case .uint32: .uint32
    case .int32: .int32
    case .float32: .float32
    case .bool: .bool
    case .string: .string
    case .uint64: .uint64
    case .int64: .int64
    case .float64: .float64
    case .array: .array
    }
  }

  /// Number of elements.
  public var count: Int {
    switch self {
    case .uint8(let a): a.count
    case .int8(let a): a.count
    case .uint16(let a): a.count
    case .int16(let a): a.count
    case .uint32(let a): a.count
    case .int32(let a): a.count
    case .float32(let a): a.count
    case .bool(let a): a.count
    case .string(let a): a.count
    case .uint64(let a): a.count
    case .int64(let a): a.count
    case .float64(let a): a.count
    case .array(let a): a.count
    }
  }

  /// Integer elements as `Int` (nil for non-integer arrays or values that do not fit).
  public var ints: [Int]? {
    switch self {
    case .uint8(let a): a.map { Int($0) }
    case .int8(let a): a.map { Int($0) }
    case .uint16(let a): a.map { Int($0) }
    case .int16(let a): a.map { Int($0) }
    case .uint32(let a): a.map { Int($0) }
    case .int32(let a): a.map { Int($0) }
    case .uint64(let a):
      a.allSatisfy { $0 <= UInt64(Int.max) } ? a.map { Int($0) } : nil
    case .int64(let a): a.map { Int($0) }
    default: nil
    }
  }
}
