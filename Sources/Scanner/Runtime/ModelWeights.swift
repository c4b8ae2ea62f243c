import Formats

/// One transformer block's tensors. Matrices stay in the mapped file; norm vectors and biases
/// (a few KB) are copied to Float arrays at load.
struct LayerWeights: Sendable {
  let attentionNorm: [Float]
  let query: WeightMatrix
  let key: WeightMatrix
  let value: WeightMatrix
  let queryBias: [Float]?
  let keyBias: [Float]?
  let valueBias: [Float]?
  let queryNorm: [Float]?
  let keyNorm: [Float]?
  let attentionOutput: WeightMatrix
  let postAttentionNorm: [Float]?
  let ffnNorm: [Float]
  let gate: WeightMatrix
  let up: WeightMatrix
  let down: WeightMatrix
  let postFFNNorm: [Float]?
}

/// All tensors a forward pass reads.
struct ModelWeights: Sendable {
  let tokenEmbedding: WeightMatrix
  let outputNorm: [Float]
  /// `output.weight`, or the token embedding when the model ties them (no `output.weight`).
  let output: WeightMatrix
  let layers: [LayerWeights]
  /// Whether `output` is the tied token embedding.
  let tiedOutput: Bool

  static func load(_ s: ModelSource, _ c: ModelConfig) throws(ModelError) -> ModelWeights {
    func entry(_ name: String) throws(ModelError) -> TensorEntry {
      guard let e = s.tensors[name] else { throw .missingTensor(name: name) }
      guard runtimeSupportedTypes.contains(e.type) else { throw .unsupportedTensorType(name: name, type: e.type.name) }
      let (end, overflow) = e.absoluteOffset.addingReportingOverflow(e.byteCount)
      guard e.fileIndex >= 0, e.fileIndex < s.files.count, e.absoluteOffset >= 0, !overflow, end <= s.files[e.fileIndex].count,
        e.type != .f32 || e.absoluteOffset % 4 == 0
      else { throw .badTensorData(name: name, byteOffset: e.absoluteOffset, byteCount: e.byteCount) }
      return e
    }
    func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> WeightMatrix {
      let e = try entry(name)
      guard e.dimensions == [columns, rows] else { throw .shapeMismatch(name: name, found: e.dimensions, expected: [columns, rows]) }
      guard let rowBytes = e.type.byteCount(elements: columns), rowBytes.multipliedReportingOverflow(by: rows) == (e.byteCount, false)
      else { throw .badTensorData(name: name, byteOffset: e.absoluteOffset, byteCount: e.byteCount) }
      return WeightMatrix(
        name: name, type: e.type, rows: rows, columns: columns, fileIndex: e.fileIndex, byteOffset: e.absoluteOffset,
        rowByteCount: rowBytes)
    }
    func vector(_ name: String, count: Int) throws(ModelError) -> [Float] {
      let e = try entry(name)
      guard e.dimensions == [count] else { throw .shapeMismatch(name: name, found: e.dimensions, expected: [count]) }
      guard e.type.byteCount(elements: count) == e.byteCount else {
        throw .badTensorData(name: name, byteOffset: e.absoluteOffset, byteCount: e.byteCount)
      }
      var out = [Float](repeating: 0, count: count)
      s.files[e.fileIndex].withBytes { raw in
        out.withUnsafeMutableBufferPointer { dst in
          // safe: entry() checked absoluteOffset + byteCount <= file size
          dequantizeRow(e.type, raw.baseAddress! + e.absoluteOffset, dst.baseAddress!, count)
        }
      }
      return out
    }
    func optionalVector(_ name: String, count: Int) throws(ModelError) -> [Float]? {
      s.tensors[name] == nil ? nil : try vector(name, count: count)
    }
    /// An RMSNorm weight, with the source's shift (Gemma checkpoints) applied.
    func norm(_ name: String, count: Int) throws(ModelError) -> [Float] {
      var v = try vector(name, count: count)
      if s.normWeightShift != 0 { for i in v.indices { v[i] += s.normWeightShift } }
      return v
    }
    func optionalNorm(_ name: String, count: Int) throws(ModelError) -> [Float]? {
      s.tensors[name] == nil ? nil : try norm(name, count: count)
    }

    let d = c.embeddingLength
    let embedding = try matrix(TensorName.tokenEmbedding, rows: c.vocabularySize, columns: d)
    var layers: [LayerWeights] = []
    for l in 0..<c.layerCount {
      func n(_ suffix: String) -> String { TensorName.block(l, suffix) }
      layers.append(
        LayerWeights(
          attentionNorm: try norm(n(TensorName.attentionNorm), count: d),
          query: try matrix(n(TensorName.query), rows: c.queryLength, columns: d),
          key: try matrix(n(TensorName.key), rows: c.keyLength, columns: d),
          value: try matrix(n(TensorName.value), rows: c.valueLength, columns: d),
          queryBias: try optionalVector(n(TensorName.queryBias), count: c.queryLength),
          keyBias: try optionalVector(n(TensorName.keyBias), count: c.keyLength),
          valueBias: try optionalVector(n(TensorName.valueBias), count: c.valueLength),
          queryNorm: try optionalNorm(n(TensorName.queryNorm), count: c.headDimension),
          keyNorm: try optionalNorm(n(TensorName.keyNorm), count: c.headDimension),
          attentionOutput: try matrix(n(TensorName.attentionOutput), rows: d, columns: c.headCount &* c.valueHeadDimension),
          postAttentionNorm: try optionalNorm(n(TensorName.postAttentionNorm), count: d),
          ffnNorm: try norm(n(TensorName.ffnNorm), count: d),
          gate: try matrix(n(TensorName.ffnGate), rows: c.feedForwardLength, columns: d),
          up: try matrix(n(TensorName.ffnUp), rows: c.feedForwardLength, columns: d),
          down: try matrix(n(TensorName.ffnDown), rows: d, columns: c.feedForwardLength),
          postFFNNorm: try optionalNorm(n(TensorName.postFFNNorm), count: d)))
    }
    let tied = s.tensors[TensorName.output] == nil
    let output = tied ? embedding : try matrix(TensorName.output, rows: c.vocabularySize, columns: d)
    return ModelWeights(
      tokenEmbedding: embedding, outputNorm: try norm(TensorName.outputNorm, count: d), output: output,
      layers: layers, tiedOutput: tied)
  }

  /// Lowest byte offset of any matrix a forward pass reads in file `index` (`Int.max` when none); norm
  /// vectors and biases were copied at load.
  func firstTensorOffset(inFile index: Int) -> Int {
    var lowest = Int.max
    func see(_ w: WeightMatrix) { if w.fileIndex == index { lowest = min(lowest, w.byteOffset) } }
    see(tokenEmbedding)
    see(output)
    for l in layers {
      for w in [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down] { see(w) }
    }
    return lowest
  }

  /// The largest input width of any matrix (sizes per-thread scratch).
  var maxColumns: Int {
    var m = max(tokenEmbedding.columns, output.columns)
    for l in layers { m = max(m, l.query.columns, l.attentionOutput.columns, l.down.columns, l.gate.columns) }
    return m
  }
}
