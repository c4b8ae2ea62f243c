import Formats

/// One floating-point tensor of a model input, seen as rows of `rowLength` elements that Dequantize can
/// decode straight from the mapping (GGUF: `ne[0]` per row, so `token_embd.weight` has one row per token;
/// safetensors: the innermost dimension, so `embed_tokens.weight` `(vocab, d)` has one row per token as well).
struct WeightTensor: Sendable {
  enum Encoding: Sendable, Equatable {
    case gguf(GGMLType)
    case safetensors(SafetensorsDType)
  }

  let name: String
  let file: MappedFile
  let encoding: Encoding
  /// Absolute byte offset of the tensor's data in `file`.
  let byteOffset: Int
  let byteCount: Int
  let dimensions: [Int]
  let rowLength: Int
  let rowCount: Int

  /// Bytes per row (rows are whole blocks for quantized types).
  var rowByteCount: Int { rowCount == 0 ? 0 : byteCount / rowCount }

  var typeName: String {
    switch encoding {
    case .gguf(let t): t.name
    case .safetensors(let d): d.rawValue
    }
  }

  /// Quantization block geometry (GGUF quantized types only).
  var block: (elements: Int, bytes: Int)? {
    guard case .gguf(let t) = encoding, t.isQuantized, let g = t.geometry else { return nil }
    return (g.blockSize, g.typeSize)
  }

  /// Every tensor of `input` that decodes to real floating-point values (integer and boolean tensors and types
  /// without a decoder are returned in `skipped` with the reason).
  static func all(in input: ModelInput) -> (tensors: [WeightTensor], skipped: [(String, String)]) {
    var out: [WeightTensor] = []
    var skipped: [(String, String)] = []
    switch input {
    case .gguf(let set):
      for g in set.shards {
        for t in g.tensors {
          switch t.type {
          case .i8, .i16, .i32, .i64: continue
          default: break
          }
          guard Dequantize.isSupported(t.type) else { skipped.append((t.name, "no decoder for \(t.type.name)")); continue }
          let rowLength = t.rowLength
          guard rowLength > 0, t.elementCount > 0, t.elementCount % rowLength == 0 else { continue }
          out.append(WeightTensor(name: t.name, file: g.file, encoding: .gguf(t.type), byteOffset: t.absoluteOffset,
            byteCount: t.byteCount, dimensions: t.dimensions, rowLength: rowLength, rowCount: t.elementCount / rowLength))
        }
      }
    case .safetensors(let files, _, _):
      for f in files {
        for t in f.tensors {
          switch t.dtype {
          case .f16, .bf16, .f32, .f64, .f8_E4M3, .f8_E5M2, .f8_E4M3FNUZ, .f8_E5M2FNUZ: break
          default: continue
          }
          let rowLength = t.shape.last ?? 1
          guard rowLength > 0, t.elementCount > 0, t.elementCount % rowLength == 0 else { continue }
          out.append(WeightTensor(name: t.name, file: f.file, encoding: .safetensors(t.dtype), byteOffset: t.absoluteOffset,
            byteCount: t.byteCount, dimensions: t.shape, rowLength: rowLength, rowCount: t.elementCount / rowLength))
        }
      }
    }
    return (out, skipped)
  }

  /// Decodes rows `rows` into `destination` (`rows.count * rowLength` floats).
  func decodeRows(_ rows: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>) throws(DequantizeError) {
    let result = file.withBytes(byteOffset: byteOffset, count: byteCount) { (bytes) -> Result<Void, DequantizeError> in
      do throws(DequantizeError) {
        switch encoding {
        case .gguf(let t): try Dequantize.decodeRows(t, from: bytes, rowLength: rowLength, rows: rows, into: destination)
        case .safetensors(let d): try Dequantize.decodeRows(d, from: bytes, rowLength: rowLength, rows: rows, into: destination)
        }
        return .success(())
      } catch {
        return .failure(error)
      }
    }
    guard let result else { throw .sourceTooShort(needed: byteOffset &+ byteCount, available: file.count) }
    try result.get()
  }

  /// Whether this is the token embedding or the output (unembedding) matrix, whose rows are tokens.
  var isTokenMatrix: Bool {
    ["token_embd.weight", "output.weight", "lm_head.weight"].contains(name) || name.hasSuffix("embed_tokens.weight")
      || name.hasSuffix(".lm_head.weight") || name.hasSuffix("wte.weight") || name.hasSuffix("word_embeddings.weight")
  }
}
