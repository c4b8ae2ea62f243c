/// A ggml tensor type as stored in a GGUF tensor-info record (ggml.h `enum ggml_type`).
///
/// Every id 0-42 is known: live types carry their block geometry, removed ids (4, 5, 31-33, 36-38)
/// are named so a report can say what the file asked for, and are rejected by the parser as ggml does.
public enum GGMLType: UInt32, Sendable, CaseIterable, Hashable {
  case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3
  case q4_2Removed = 4, q4_3Removed = 5
  case q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
  case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
  case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
  case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
  case q4_0_4_4Removed = 31, q4_0_4_8Removed = 32, q4_0_8_8Removed = 33
  case tq1_0 = 34, tq2_0 = 35
  case iq4_NL_4_4Removed = 36, iq4_NL_4_8Removed = 37, iq4_NL_8_8Removed = 38
  case mxfp4 = 39, nvfp4 = 40, q1_0 = 41, q2_0 = 42

  /// Elements per block and bytes per block (ggml-common.h static_asserts); `nil` for removed ids.
  public var geometry: (blockSize: Int, typeSize: Int)? {
    switch self {
    case .f32: (1, 4)
    case .f16, .bf16: (1, 2)
    case .q4_0: (32, 18)
    case .q4_1: (32, 20)
    case .q5_0: (32, 22)
    case .q5_1: (32, 24)
    case .q8_0: (32, 34)
    case .q8_1: (32, 36)
    case .q2_K: (256, 84)
    case .q3_K: (256, 110)
    case .q4_K: (256, 144)
    case .q5_K: (256, 176)
    case .q6_K: (256, 210)
    case .q8_K: (256, 292)
    case .iq2_XXS: (256, 66)
    case .iq2_XS: (256, 74)
    case .iq3_XXS: (256, 98)
    case .iq1_S: (256, 50)
    case .iq4_NL: (32, 18)
    case .iq3_S: (256, 110)
    case .iq2_S: (256, 82)
    case .iq4_XS: (256, 136)
    case .i8: (1, 1)
    case .i16: (1, 2)
    case .i32: (1, 4)
    case .i64, .f64: (1, 8)
    case .iq1_M: (256, 56)
    case .tq1_0: (256, 54)
    case .tq2_0: (256, 66)
    case .mxfp4: (32, 17)
    case .nvfp4: (64, 36)
    case .q1_0: (128, 18)
    case .q2_0: (64, 18)
    case .q4_2Removed, .q4_3Removed, .q4_0_4_4Removed, .q4_0_4_8Removed, .q4_0_8_8Removed,
      .iq4_NL_4_4Removed, .iq4_NL_4_8Removed, .iq4_NL_8_8Removed:
      nil
    }
  }

  /// Elements per block (1 for plain types); 0 for removed ids.
  public var blockSize: Int { geometry?.blockSize ?? 0 }
  /// Bytes per block; 0 for removed ids.
  public var typeSize: Int { geometry?.typeSize ?? 0 }
  /// Whether the id was removed from ggml and must not appear in a file.
  public var isRemoved: Bool { geometry == nil }
  /// Whether the type is block-quantized (block size > 1).
  public var isQuantized: Bool { blockSize > 1 }

  /// The name gguf-py and llama.cpp print (`Q4_K`, `IQ2_XXS`, `BF16`).
  public var name: String {
    switch self {
    case .f32: "F32"
    case .f16: "F16"
    case .q4_0: "Q4_0"
    case .q4_1: "Q4_1"
    case .q4_2Removed: "Q4_2"
    case .q4_3Removed: "Q4_3"
    case .q5_0: "Q5_0"
    case .q5_1: "Q5_1"
    case .q8_0: "Q8_0"
    case .q8_1: "Q8_1"
    case .q2_K: "Q2_K"
    case .q3_K: "Q3_K"
    case .q4_K: "Q4_K"
    case .q5_K: "Q5_K"
    case .q6_K: "Q6_K"
    case .q8_K: "Q8_K"
    case .iq2_XXS: "IQ2_XXS"
    case .iq2_XS: "IQ2_XS"
    case .iq3_XXS: "IQ3_XXS"
    case .iq1_S: "IQ1_S"
    case .iq4_NL: "IQ4_NL"
    case .iq3_S: "IQ3_S"
    case .iq2_S: "IQ2_S"
    case .iq4_XS: "IQ4_XS"
    case .i8: "I8"
    case .i16: "I16"
    case .i32: "I32"
    case .i64: "I64"
    case .f64: "F64"
    case .iq1_M: "IQ1_M"
    case .bf16: "BF16"
    case .q4_0_4_4Removed: "Q4_0_4_4"
    case .q4_0_4_8Removed: "Q4_0_4_8"
    case .q4_0_8_8Removed: "Q4_0_8_8"
    case .tq1_0: "TQ1_0"
    case .tq2_0: "TQ2_0"
    case .iq4_NL_4_4Removed: "IQ4_NL_4_4"
    case .iq4_NL_4_8Removed: "IQ4_NL_4_8"
    case .iq4_NL_8_8Removed: "IQ4_NL_8_8"
    case .mxfp4: "MXFP4"
    case .nvfp4: "NVFP4"
    case .q1_0: "Q1_0"
    case .q2_0: "Q2_0"
    }
  }

  /// Bytes needed for `elementCount` elements, or `nil` if the count is not a whole number of blocks
  /// or the size overflows.
  public func byteCount(elements elementCount: Int) -> Int? {
    guard let (block, size) = geometry, elementCount >= 0, elementCount % block == 0 else { return nil }
    let (bytes, overflow) = (elementCount / block).multipliedReportingOverflow(by: size)
    return overflow ? nil : bytes
  }
}
