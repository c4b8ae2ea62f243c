import Formats
import Synchronization

/// Where one forward call delivers captures; per sequence. Only touched when something is requested
/// (and for the last-position logits, one copy per sequence per call).
final class CaptureSink {
  let request: CaptureRequest
  /// Last absolute position this evaluate call will reach, per sequence (for `.last`).
  var lastPosition: [Int]
  var lastLogits: [[Float]]
  var positionLogits: [[PositionLogits]]
  var residuals: [[ResidualCapture]]
  var attention: [[AttentionCapture]]
  /// Per sequence, the first absolute position whose logits are also delivered to `positionLogits`
  /// (multi-sequence sessions, where prompts differ in length); `nil`: only `request.logitPositions`.
  var logitsFrom: [Int]?

  init(request: CaptureRequest, sequenceCount: Int) {
    self.request = request
    lastPosition = Array(repeating: -1, count: sequenceCount)
    lastLogits = Array(repeating: [], count: sequenceCount)
    positionLogits = Array(repeating: [], count: sequenceCount)
    residuals = Array(repeating: [], count: sequenceCount)
    attention = Array(repeating: [], count: sequenceCount)
  }

  @inline(__always)
  func wantsLogits(_ pos: Int, sequence seq: Int) -> Bool {
    if let from = logitsFrom, pos >= from[seq] { return true }
    return request.logitPositions.contains(pos, last: lastPosition[seq])
  }
}

/// The forward pass shared by every supported architecture (the differences are config flags and
/// optional tensors; see Models/). Holds the mapped file, the weights and the thread pool.
final class Transformer: @unchecked Sendable {
  // @unchecked: immutable after init; the pool serializes its own use, and a Transformer is used by one
  // caller at a time (LanguageModel documents this).
  let config: ModelConfig
  let weights: ModelWeights
  let files: [MappedFile]
  let pool: ThreadPool
  let numerics: Numerics
  /// Multiply-adds of the forward passes run so far (see `LanguageModel.workDone`).
  let work = Atomic<Int>(0)
  /// Multiply-adds of the weight matrices one token passes through (every layer; not the output head).
  let layerWorkPerToken: Int
  /// Multiply-adds of one key (Q.K) plus one value (weighted sum) over every head of every layer.
  let attentionWorkPerKey: Int
  var workDone: Int { work.load(ordering: .relaxed) }

  init(config: ModelConfig, weights: ModelWeights, files: [MappedFile], threads: Int, numerics: Numerics) {
    self.numerics = numerics
    self.config = config
    self.weights = weights
    self.files = files
    self.pool = ThreadPool(threadCount: threads)
    layerWorkPerToken = weights.layers.reduce(0) { sum, l in
      [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down].reduce(sum) { $0 &+ $1.rows &* $1.columns }
    }
    attentionWorkPerKey = config.layerCount &* config.headCount &* (config.headDimension &+ config.valueHeadDimension)
  }

  deinit { pool.shutdown() }

  func makeState(sequences: Int, capacity: Int, batchCapacity: Int) -> RunState {
    RunState(
      config: config, maxColumns: weights.maxColumns, sequenceCount: sequences, capacity: capacity,
      batchCapacity: batchCapacity, threadCount: pool.runningThreadCount, fileCount: files.count,
      numerics: numerics)
  }

  // MARK: - Forward

  /// Runs `n` tokens (`n <= state.batchCapacity`) whose sequence and position are in
  /// `state.tokenSequence` / `state.tokenPosition`; appends their K/V to the cache and delivers the
  /// requested outputs to `sink`. Token ids must already be checked against the vocabulary, and each
  /// position must be < `state.capacity`.
  func forward(_ state: RunState, tokens: UnsafePointer<Int32>, count n: Int, sink: CaptureSink) {
    withMappedBases(0, state) {
      forward(state, base: UnsafePointer(state.fileBases), tokens: tokens, count: n, sink: sink)
    }
  }

  /// Maps every weight file in turn and runs `body` with all their base addresses in `s.fileBases`.
  /// The addresses are used only inside `body`, while every mapping is lent out.
  private func withMappedBases(_ i: Int, _ s: RunState, _ body: () -> Void) {
    if i == files.count {
      body()
      return
    }
    files[i].withBytes { raw in
      // safe: an empty file has no tensors, and loading checked every tensor range against the size.
      guard let b = raw.baseAddress else { return }
      s.fileBases[i] = b
      withMappedBases(i &+ 1, s, body)
    }
  }

  private func forward(_ s: RunState, base: UnsafePointer<UnsafeRawPointer>, tokens: UnsafePointer<Int32>, count n: Int, sink: CaptureSink) {
    let c = config
    let d = c.embeddingLength
    let w = weights

    // Embeddings.
    for i in 0..<n {
      let row = base[w.tokenEmbedding.fileIndex] + w.tokenEmbedding.byteOffset + Int(tokens[i]) &* w.tokenEmbedding.rowByteCount
      dequantizeRow(w.tokenEmbedding.type, row, s.x + i &* d, d)
      if c.embeddingScale != 1 {
        for j in 0..<d { s.x[i &* d &+ j] *= c.embeddingScale }
      }
    }
    fillRopeTables(s, n)
    if numerics == .llamaCpp { markKQuantOrder(s, rows: UnsafePointer(s.tokenSequence), n, into: s.tokenKQuantOrder) }

    for l in 0..<c.layerCount {
      let layer = w.layers[l]
      // Attention block.
      rmsNormRows(s.x, layer.attentionNorm, s.xn, rows: n, width: d)
      multiply(layer.query, s.q, layer.key, s.k, layer.value, s.v, input: s.xn, n: n, s: s, base: base)
      prepareQK(s, layer: layer, layerIndex: l, n: n)
      attend(s, layerIndex: l, n: n)
      if !sink.request.attentionLayers.isEmpty, sink.request.attentionLayers.contains(l) {
        captureAttention(s, layerIndex: l, n: n, sink: sink)
      }
      multiply(layer.attentionOutput, s.projected, input: s.attention, n: n, s: s, base: base)
      if let post = layer.postAttentionNorm { rmsNormRows(s.projected, post, s.projected, rows: n, width: d) }
      addRows(s.projected, into: s.x, count: n &* d)

      // Feed-forward block.
      rmsNormRows(s.x, layer.ffnNorm, s.xn, rows: n, width: d)
      multiply(layer.gate, s.gate, layer.up, s.up, input: s.xn, n: n, s: s, base: base, gated: true)
      multiply(layer.down, s.projected, input: s.gate, n: n, s: s, base: base)
      if let post = layer.postFFNNorm { rmsNormRows(s.projected, post, s.projected, rows: n, width: d) }
      addRows(s.projected, into: s.x, count: n &* d)

      if !sink.request.residualLayers.isEmpty, sink.request.residualLayers.contains(l) {
        for i in 0..<n {
          let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
          if sink.request.residualPositions.contains(pos, last: sink.lastPosition[seq]) {
            let values = Array(UnsafeBufferPointer(start: s.x + i &* d, count: d))
            sink.residuals[seq].append(ResidualCapture(layer: l, position: pos, values: values))
          }
        }
      }
    }

    // Output: only rows whose logits someone wants.
    var wanted = 0
    for i in 0..<n {
      let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
      if pos == sink.lastPosition[seq] || sink.wantsLogits(pos, sequence: seq) {
        s.logitRows[wanted] = i
        wanted &+= 1
      }
    }
    if numerics == .llamaCpp {
      // llama.cpp multiplies the output matrix by the ubatch's output rows only: their count sets its orders.
      for j in 0..<wanted { s.logitSequence[j] = s.tokenSequence[s.logitRows[j]] }
      markKQuantOrder(s, rows: UnsafePointer(s.logitSequence), wanted, into: s.logitKQuantOrder)
    }
    var done = 0
    while done < wanted {
      let m = min(s.logitBlock, wanted &- done)
      for j in 0..<m {
        let i = s.logitRows[done &+ j]
        rmsNormRows(s.x + i &* d, w.outputNorm, s.logitInput + j &* d, rows: 1, width: d)
      }
      multiply(w.output, s.logits, input: s.logitInput, n: m, s: s, base: base, kQuantOrder: s.logitKQuantOrder + done)
      for j in 0..<m {
        let i = s.logitRows[done &+ j]
        let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
        let row = s.logits + j &* c.vocabularySize
        if let cap = c.finalLogitSoftcap {
          for t in 0..<c.vocabularySize { row[t] = cap * _tanhf(row[t] / cap) }
        }
        let logits = Array(UnsafeBufferPointer(start: row, count: c.vocabularySize))
        if pos == sink.lastPosition[seq] { sink.lastLogits[seq] = logits }
        if sink.wantsLogits(pos, sequence: seq) {
          sink.positionLogits[seq].append(
            PositionLogits(position: pos, logits: logits, logProbabilities: sink.request.logProbabilities ? logits.logSoftmax() : nil))
        }
      }
      done &+= m
    }
    var keys = 0
    for i in 0..<n {
      let seq = s.tokenSequence[i]
      s.lengths[seq] = max(s.lengths[seq], s.tokenPosition[i] &+ 1)
      keys &+= s.tokenPosition[i] &+ 1
    }
    // Sliding-window layers attend to fewer keys; counted as full (an estimate of work, not a measurement).
    work.add(n &* layerWorkPerToken &+ keys &* attentionWorkPerKey &+ wanted &* w.output.rows &* w.output.columns, ordering: .relaxed)
  }

  // MARK: - Steps

  /// `out_m = input @ W_m^T` for up to three matrices sharing one input, in one parallel job (each
  /// thread takes a slice of every matrix's rows). With `gated`, (a, b) are (gate, up) and the job
  /// finishes with `outA = act(outA) * outB` on the thread's slice. Allocation-free: no arrays.
  private func multiply(
    _ a: WeightMatrix, _ outA: UnsafeMutablePointer<Float>,
    _ b: WeightMatrix? = nil, _ outB: UnsafeMutablePointer<Float>? = nil,
    _ c3: WeightMatrix? = nil, _ outC: UnsafeMutablePointer<Float>? = nil,
    input: UnsafeMutablePointer<Float>, n: Int, s: RunState, base: UnsafePointer<UnsafeRawPointer>, gated: Bool = false,
    kQuantOrder: UnsafePointer<KQuantOrder>? = nil
  ) {
    let k = a.columns
    // Each matrix's input: the activations as they are, or (llama.cpp numerics) converted to the
    // format its weight type's dot product uses; matrices sharing a format share one conversion.
    var formats = ConversionSlots()
    let inA = prepareInput(a, input, n: n, k: k, s: s, formats: &formats)
    let inB = b.map { prepareInput($0, input, n: n, k: k, s: s, formats: &formats) }
    let inC = c3.map { prepareInput($0, input, n: n, k: k, s: s, formats: &formats) }
    if formats.count > 0 { convertInputs(formats, input, n: n, k: k, s: s) }
    let activation = config.activation
    let llamaGELU = numerics == .llamaCpp
    let rowOrder = numerics == .llamaCpp
    // Which of llama.cpp's K-quant kernels each input row's products take (default: the call's tokens).
    let orders = kQuantOrder ?? UnsafePointer(s.tokenKQuantOrder)
    // Multiply-adds of the whole job (saturating: the count only chooses inline vs parallel).
    let work = n.multipliedReportingOverflow(by: k &* (a.rows &+ (b?.rows ?? 0) &+ (c3?.rows ?? 0)))
    // Chunks of `step` rows of every matrix (gated: of gate and up together, then the activation), taken by
    // the threads as they come (ThreadPool.run). Each output row is computed by the same kernel whichever
    // chunk holds it, so the chunking never changes a bit.
    let step = Self.chunkRows(rows: max(a.rows, gated ? 0 : max(b?.rows ?? 0, c3?.rows ?? 0)), perRow: n &* k)
    let chunksA = (a.rows &+ step &- 1) / step
    let chunksB = gated ? 0 : ((b?.rows ?? 0) &+ step &- 1) / step
    let chunksC = ((c3?.rows ?? 0) &+ step &- 1) / step
    pool.run(work: work.overflow ? .max : work.partialValue, chunks: chunksA &+ chunksB &+ chunksC) { chunk, t in
      let tile = s.tiles + t &* s.tileStride
      @inline(__always) func one(_ w: WeightMatrix, _ out: UnsafeMutablePointer<Float>, _ x: PreparedInput, _ rows: Range<Int>) {
        if rows.isEmpty { return }
        if n == 1 {
          matVec(w, base, x.values, x.sums, out, rows: rows, scratch: tile, q8: x.q8, q8K: x.q8K)
        } else {
          matMat(w, base, x.values, tokens: n, out, ldOut: w.rows, rows: rows, tile: tile, q8: x.q8, q8K: x.q8K,
            kQuantOrder: orders, rowOrder: rowOrder)
        }
      }
      @inline(__always) func range(_ index: Int, _ rows: Int) -> Range<Int> {
        let lo = index &* step
        return lo..<min(rows, lo &+ step)
      }
      if chunk >= chunksA &+ chunksB {
        if let c3, let outC, let inC { one(c3, outC, inC, range(chunk &- chunksA &- chunksB, c3.rows)) }
        return
      }
      if chunk >= chunksA {
        if let b, let outB, let inB { one(b, outB, inB, range(chunk &- chunksA, b.rows)) }
        return
      }
      let rows = range(chunk, a.rows)
      one(a, outA, inA, rows)
      guard gated, let b, let outB, let inB else { return }
      one(b, outB, inB, rows)
      let width = a.rows
      if llamaGELU && activation == .silu {
        // ggml_vec_swiglu_f32: ggml's vector exp, 8 lanes at a time (lane-wise, so the grouping of the
        // rows into chunks does not change a value).
        for i in 0..<n { ggmlSwiGLU(outA + i &* width, outB + i &* width, rows) }
        return
      }
      for i in 0..<n {
        let g = outA + i &* width, u = outB + i &* width
        for r in rows {
          let x = g[r]
          let act: Float
          switch activation {
          case .silu: act = x / (1 + _expf(-x))
          case .geluTanh:
            act = llamaGELU ? ggmlGELU(x) : 0.5 * x * (1 + _tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
          }
          g[r] = act * u[r]
        }
      }
    }
  }

  /// Multiply-adds a product chunk aims at (`chunkRows`): a few µs of one core for a quantized matrix-vector
  /// product, so a 576-row product of SmolLM2's decode is ~9 chunks and the threads finish within a chunk
  /// of each other.
  static let chunkWork = runtimeTuning("SCAN_CHUNK_WORK", default: 1 << 15)

  /// Rows per chunk of a product whose rows each cost `perRow` multiply-adds: ~`chunkWork`, a multiple of 16
  /// (the kernels' 4-row groups stay whole, and two chunks never write the same 64-byte line of an output
  /// row: with 8-row chunks the threads fought over shared lines, +40% on a 12-sequence decode step), and
  /// few enough chunks for the pool (<= 4096 per matrix).
  static func chunkRows(rows: Int, perRow: Int) -> Int {
    var step = max(1, chunkWork / max(1, perRow))
    step = max(step, (rows &+ 4095) / 4096)
    return (step &+ 15) & ~15
  }

  /// The input `w` multiplies: `input` itself under float numerics or for F32 weights; otherwise its
  /// conversion to `w.type.activationFormat` in one of the state's slots (converted once per format).
  private func prepareInput(
    _ w: WeightMatrix, _ input: UnsafeMutablePointer<Float>, n: Int, k: Int, s: RunState, formats: inout ConversionSlots
  ) -> PreparedInput {
    let format = numerics == .llamaCpp ? w.type.activationFormat : .exact
    if format == .exact {
      if !formats.rawSumsReady, n == 1 {
        blockSums(input, k, s.xSums)
        formats.rawSumsReady = true
      }
      return PreparedInput(values: input, sums: s.xSums, q8: nil, q8K: nil)
    }
    var slot = formats.slot(of: format)
    if slot < 0 { slot = formats.add(format) }  // converted by convertInputs before the product
    return PreparedInput(
      values: s.converted + slot &* s.convertedStride, sums: s.xSums,
      q8: format == .q8 ? Q8Meta(base: s.blockMeta + slot &* s.blockMetaStride, blockCount: k / 32) : nil,
      q8K: format == .q8KBlocks ? Q8KMeta(base: s.blockMeta + slot &* s.blockMetaStride, blockCount: k / 256) : nil)
  }

  /// Converts the `n` input rows to every format in `formats` (llama.cpp numerics), into the state's
  /// slots (Q8: integer quants, per-block (d, s) in `blockMeta`). Several rows are split across the pool
  /// (one job before the product's job), one row is converted by the caller.
  private func convertInputs(_ formats: ConversionSlots, _ input: UnsafeMutablePointer<Float>, n: Int, k: Int, s: RunState) {
    @inline(__always) func convert(_ slot: Int, _ rows: Range<Int>) {
      guard let format = formats.format(at: slot), !rows.isEmpty else { return }
      let lo = rows.lowerBound
      quantizeActivations(
        format, input + lo &* k, s.converted + (slot &* s.convertedStride &+ lo &* k),
        s.blockMeta + slot &* s.blockMetaStride, rows: rows.count, width: k, firstRow: lo)
    }
    // One row, or a few short ones, is converted by the caller (`run(work:)`'s inline rule).
    // Chunks of whole 8-token panels: the panel's tokens share the lines of their block scales (Q8Meta).
    let chunks = min((n &+ 7) / 8, 64)
    pool.run(work: n &* k &* formats.count, chunks: chunks) { chunk, _ in
      let rows = partition(n, parts: chunks, index: chunk, granule: 8)
      for slot in 0..<formats.count { convert(slot, rows) }
    }
  }

  /// Fills cos/sin tables for every token's position (both RoPE bases when the model has two).
  private func fillRopeTables(_ s: RunState, _ n: Int) {
    let c = config
    let half = c.ropeDimensionCount / 2
    guard half > 0 else { return }
    let ggml = numerics == .llamaCpp
    func fill(_ base: Float, _ cosT: UnsafeMutablePointer<Float>, _ sinT: UnsafeMutablePointer<Float>) {
      if ggml {
        // ggml_rope_cache_init: theta starts at the position and is multiplied by
        // powf(base, -2 / n_dims) once per pair, all in float; cosf/sinf of it.
        let thetaScale = _powf(base, -2 / Float(c.ropeDimensionCount))
        for i in 0..<n {
          var theta = Float(s.tokenPosition[i])
          for j in 0..<half {
            cosT[i &* half &+ j] = _cosf(theta)
            sinT[i &* half &+ j] = _sinf(theta)
            theta *= thetaScale
          }
        }
        return
      }
      for i in 0..<n {
        let pos = Double(s.tokenPosition[i])
        for j in 0..<half {
          let theta = pos * _pow(Double(base), -2.0 * Double(j) / Double(c.ropeDimensionCount))
          cosT[i &* half &+ j] = Float(_cos(theta))
          sinT[i &* half &+ j] = Float(_sin(theta))
        }
      }
    }
    fill(c.ropeBase, s.ropeCos, s.ropeSin)
    if let local = c.ropeBaseSlidingWindow { fill(local, s.ropeCosLocal, s.ropeSinLocal) }
  }

  /// Adds biases, applies Q/K norms and RoPE, and stores K and V into the cache.
  private func prepareQK(_ s: RunState, layer: LayerWeights, layerIndex l: Int, n: Int) {
    let c = config
    let hd = c.headDimension
    let half = c.ropeDimensionCount / 2
    let local = c.slidingWindowLayers[l] && c.ropeBaseSlidingWindow != nil
    let cosT = local ? s.ropeCosLocal : s.ropeCos
    let sinT = local ? s.ropeSinLocal : s.ropeSin
    for i in 0..<n {
      let q = s.q + i &* c.queryLength
      let k = s.k + i &* c.keyLength
      let v = s.v + i &* c.valueLength
      if let b = layer.queryBias { for j in 0..<c.queryLength { q[j] += b[j] } }
      if let b = layer.keyBias { for j in 0..<c.keyLength { k[j] += b[j] } }
      if let b = layer.valueBias { for j in 0..<c.valueLength { v[j] += b[j] } }
      if let norm = layer.queryNorm { rmsNormRows(q, norm, q, rows: c.headCount, width: hd) }
      if let norm = layer.keyNorm { rmsNormRows(k, norm, k, rows: c.kvHeadCount, width: hd) }
      let cs = cosT + i &* half, sn = sinT + i &* half
      for h in 0..<c.headCount { rope(q + h &* hd, cs, sn, half) }
      for h in 0..<c.kvHeadCount { rope(k + h &* hd, cs, sn, half) }
      let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
      if numerics == .llamaCpp {
        // llama.cpp: F16 KV cache; Q converted to F16 for the F16 K.Q product. Gemma 3 scales Q itself
        // (ggml_scale before build_attn with kq_scale 1), so the scale comes before the F16 rounding there.
        if prescalesQuery {
          let scale = c.attentionScale
          for j in 0..<c.queryLength { q[j] *= scale }
        }
        roundToF16(q, q, c.queryLength)
        roundToF16(k, s.keys(layer: l, sequence: seq) + pos &* c.keyLength, c.keyLength)
        roundToF16(v, s.values(layer: l, sequence: seq) + pos &* c.valueLength, c.valueLength)
        continue
      }
      (s.keys(layer: l, sequence: seq) + pos &* c.keyLength).update(from: k, count: c.keyLength)
      (s.values(layer: l, sequence: seq) + pos &* c.valueLength).update(from: v, count: c.valueLength)
    }
  }

  /// llama.cpp's gemma3 graph multiplies Q by the attention scale (`ggml_scale`) and runs the attention
  /// with kq_scale 1; the other architectures scale the K.Q scores in the softmax.
  var prescalesQuery: Bool { numerics == .llamaCpp && config.architecture == .gemma3 }

  /// The factor on K.Q scores in `ggmlAttention` (1 when Q was pre-scaled).
  var scoreScale: Float { prescalesQuery ? 1 : config.attentionScale }

  /// Fills `orders` for `n` matrix input rows of sequences `rows[i]` from the count `c` of rows each one's
  /// sequence has among them (llama.cpp's ubatch of that sequence alone): repacked Q4_K takes its gemm
  /// order for the first `c - c % 4`, Q6_K the tiled matmul when `c >= 8`. A batch of sequences thus
  /// orders each row as that sequence's own call would.
  private func markKQuantOrder(_ s: RunState, rows: UnsafePointer<Int>, _ n: Int, into orders: UnsafeMutablePointer<KQuantOrder>) {
    // (total, seen so far) per sequence
    let counts = s.sequenceCounts
    for i in 0..<n {
      counts[2 &* rows[i]] = 0
      counts[2 &* rows[i] &+ 1] = 0
    }
    for i in 0..<n { counts[2 &* rows[i]] &+= 1 }
    for i in 0..<n {
      let seq = rows[i]
      let total = counts[2 &* seq], index = counts[2 &* seq &+ 1]
      var order: KQuantOrder = []
      if index < total &- total % 4 { order.insert(.gemm) }
      if total >= 8 { order.insert(.tiled) }
      orders[i] = order
      counts[2 &* seq &+ 1] = index &+ 1
    }
  }

  @inline(__always)
  private func rope(_ x: UnsafeMutablePointer<Float>, _ cs: UnsafeMutablePointer<Float>, _ sn: UnsafeMutablePointer<Float>, _ half: Int) {
    if numerics == .llamaCpp {
      // ggml's rotate_pairs as GCC compiles it (FMA contraction of the first product of each line):
      // x0' = fma(x0, cos, -(x1 sin)), x1' = fma(x0, sin, x1 cos).
      let (stride, offset) = config.ropeStyle == .interleaved ? (2, 1) : (1, half)
      for j in 0..<half {
        let i0 = stride &* j
        let a = x[i0], b = x[i0 &+ offset]
        x[i0] = (-(b * sn[j])).addingProduct(a, cs[j])
        x[i0 &+ offset] = (b * cs[j]).addingProduct(a, sn[j])
      }
      return
    }
    switch config.ropeStyle {
    case .interleaved:
      for j in 0..<half {
        let a = x[2 &* j], b = x[2 &* j &+ 1]
        x[2 &* j] = a * cs[j] - b * sn[j]
        x[2 &* j &+ 1] = a * sn[j] + b * cs[j]
      }
    case .neox:
      for j in 0..<half {
        let a = x[j], b = x[j &+ half]
        x[j] = a * cs[j] - b * sn[j]
        x[j &+ half] = a * sn[j] + b * cs[j]
      }
    }
  }

  /// First key position token `i` may attend to in layer `l` (sliding window, llama.cpp's
  /// LLAMA_SWA_TYPE_STANDARD: key p0 is masked when pos - p0 >= window).
  @inline(__always)
  private func firstKey(_ pos: Int, layer l: Int) -> Int {
    if config.slidingWindowLayers[l], let window = config.slidingWindow { return max(0, pos &- window &+ 1) }
    return 0
  }

  /// Causal attention for every (token, head) pair, split across threads.
  private func attend(_ s: RunState, layerIndex l: Int, n: Int) {
    let c = config
    let group = c.headCount / c.kvHeadCount
    let items = n &* c.headCount
    let f16Weights = numerics == .llamaCpp
    let ggmlOrder = f16Weights && c.headDimension % 32 == 0 && c.valueHeadDimension % 8 == 0
      && 32 &* c.valueHeadDimension <= s.tileStride
    // Multiply-adds, bounded above by every token attending to as many keys as the furthest one, weighted x8:
    // per multiply-add attention also pays the softmax, F16 roundings and scattered cache reads, so one decode
    // step's attention of a 135M model (9 heads, ~100 keys) stays parallel (measured on an idle machine, tg64
    // t/s, 3 runs each: unweighted, inline `.llamaCpp` 61-65 vs 68-87 all-parallel; weighted x8, `.llamaCpp`
    // 75-81 and `.float` 79-85 vs 58-76 and 71-79 all-parallel in the same session).
    var keys = 1
    for i in 0..<n { keys = max(keys, s.tokenPosition[i] &+ 1) }
    let chunks = min(items, 4096)
    pool.run(work: items &* min(keys, s.capacity) &* (c.headDimension &+ c.valueHeadDimension) &* 8, chunks: chunks) { chunk, t in
      let scores = s.scores + t &* s.capacity
      for item in partition(items, parts: chunks, index: chunk, granule: 1) {
        let i = item / c.headCount, h = item % c.headCount
        let out = s.attention + (i &* (c.headCount &* c.valueHeadDimension) &+ h &* c.valueHeadDimension)
        if ggmlOrder {
          self.ggmlAttention(s, layer: l, token: i, head: h, group: group, scores: scores, lanes: s.tiles + t &* s.tileStride, out: out)
          continue
        }
        self.attentionWeights(s, layer: l, token: i, head: h, group: group, scores: scores) { first, count in
          out.initialize(repeating: 0, count: c.valueHeadDimension)
          let seq = s.tokenSequence[i]
          let values = s.values(layer: l, sequence: seq) + (h / group) &* c.valueHeadDimension
          // llama.cpp multiplies the F16 V cache by the attention weights converted to F16.
          if f16Weights { roundToF16(scores, scores, count) }
          for j in 0..<count {
            axpy(scores[j], values + (first &+ j) &* c.valueLength, out, c.valueHeadDimension)
          }
        }
      }
    }
  }

  /// Softmax attention weights of token `i`, head `h` over its visible keys, written to `scores`;
  /// calls `body(firstKeyPosition, count)`.
  @inline(__always)
  private func attentionWeights(
    _ s: RunState, layer l: Int, token i: Int, head h: Int, group: Int, scores: UnsafeMutablePointer<Float>,
    _ body: (Int, Int) -> Void
  ) {
    let c = config
    let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
    let first = firstKey(pos, layer: l)
    let count = pos &- first &+ 1
    let q = s.q + (i &* c.queryLength &+ h &* c.headDimension)
    let keys = s.keys(layer: l, sequence: seq) + (h / group) &* c.headDimension
    var maxScore = -Float.infinity
    for j in 0..<count {
      // (scoreScale: under llama.cpp numerics Gemma's Q is already scaled)
      let score = dotF32(q, keys + (first &+ j) &* c.keyLength, c.headDimension) * scoreScale
      scores[j] = score
      maxScore = max(maxScore, score)
    }
    var sum: Float = 0
    for j in 0..<count {
      let e = _expf(scores[j] - maxScore)
      scores[j] = e
      sum += e
    }
    let inv = 1 / sum
    for j in 0..<count { scores[j] *= inv }
    body(first, count)
  }

  /// One (token, head) of attention in llama.cpp's float order (non-flash path, F16 KV cache): scores
  /// K.Q (Q rounded to F16) times the scale, `ggml_soft_max_f32`, weights rounded to F16, then the
  /// weighted sum of V. ggml multiplies with tinyBLAS when the ubatch has >= 2 tokens (one 8-lane
  /// accumulator per output, lane = key index mod 8, then `hsum`) and with `ggml_vec_dot_f16` for a
  /// single token (4 x 8 lanes over steps of 32 keys, GGML_F32x8_REDUCE). We pick the order by whether
  /// the token came with others of its sequence (`tokenInGroup`), so a batched decode step of N
  /// sequences computes each one as its own single-token step would. Keys are absolute positions;
  /// the cells llama.cpp pads with (masked, weight 0) add exact zeros. `lanes`: 32 x valueHeadDimension.
  @inline(__always)
  private func ggmlAttention(
    _ s: RunState, layer l: Int, token i: Int, head h: Int, group: Int, scores: UnsafeMutablePointer<Float>,
    lanes: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
  ) {
    let c = config
    let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
    let first = firstKey(pos, layer: l)
    let count = pos &- first &+ 1
    let hd = c.headDimension, vd = c.valueHeadDimension
    let q = s.q + (i &* c.queryLength &+ h &* hd)
    let keys = s.keys(layer: l, sequence: seq) + (h / group) &* hd
    let grouped = s.tokenInGroup[i]
    // ggml's softmax sums exponentials in groups of 8 cells from cell 0: masked cells before a sliding
    // window's first key lead the row as -inf (exp 0), so the groups line up with llama.cpp's.
    let lead = first & 7
    for j in 0..<lead { scores[j] = -.infinity }
    let row = scores + lead
    var j = 0
    if grouped {
      // 4 keys at a time: 4 independent FMA chains (each key's own order is tinyBLAS's).
      let kl = c.keyLength
      while j &+ 4 <= count {
        let key = keys + (first &+ j) &* kl
        let d = tinyBLASDot4(key, key + kl, key + 2 &* kl, key + 3 &* kl, q, hd)
        row[j] = d.0 * scoreScale
        row[j &+ 1] = d.1 * scoreScale
        row[j &+ 2] = d.2 * scoreScale
        row[j &+ 3] = d.3 * scoreScale
        j &+= 4
      }
    }
    while j < count {
      let key = keys + (first &+ j) &* c.keyLength
      row[j] = (grouped ? tinyBLASDot(key, q, hd) : vecDotF16(key, q, hd)) * scoreScale
      j &+= 1
    }
    ggmlSoftmax(scores, lead &+ count)
    roundToF16(row, row, count)
    let values = s.values(layer: l, sequence: seq) + (h / group) &* vd
    if grouped {
      // tinyBLAS order: lane = key mod 8 (absolute key position), one accumulator per lane and 8
      // columns, keys in increasing order. The keys before the first multiple of 8 and after the last
      // one go through 8 lane vectors in `lanes` (memory); the aligned runs of 8 keys, nearly all of
      // them, keep the 8 accumulators in registers (no closure captures them).
      let ld = c.valueLength
      var e = 0
      while e < vd {
        let ve = values + e
        for k in 0..<8 { store8(SIMD8<Float>(), lanes + k &* 8) }
        // One key into its lane vector in memory (captures no accumulator, so l0...l7 stay in registers).
        @inline(__always) func addThroughMemory(_ j: Int) {
          let key = first &+ j, acc = lanes + (key & 7) &* 8
          store8(fma8(load8(acc), load8(ve + key &* ld), row[j]), acc)
        }
        var j = 0
        while j < count && (first &+ j) & 7 != 0 {
          addThroughMemory(j)
          j &+= 1
        }
        var l0 = load8(lanes), l1 = load8(lanes + 8), l2 = load8(lanes + 16), l3 = load8(lanes + 24)
        var l4 = load8(lanes + 32), l5 = load8(lanes + 40), l6 = load8(lanes + 48), l7 = load8(lanes + 56)
        while j &+ 8 <= count {
          // Keys first + j ... + 7 have lanes 0 ... 7.
          let v = ve + (first &+ j) &* ld, w = row + j
          l0 = fma8(l0, load8(v), w[0])
          l1 = fma8(l1, load8(v + ld), w[1])
          l2 = fma8(l2, load8(v + 2 &* ld), w[2])
          l3 = fma8(l3, load8(v + 3 &* ld), w[3])
          l4 = fma8(l4, load8(v + 4 &* ld), w[4])
          l5 = fma8(l5, load8(v + 5 &* ld), w[5])
          l6 = fma8(l6, load8(v + 6 &* ld), w[6])
          l7 = fma8(l7, load8(v + 7 &* ld), w[7])
          j &+= 8
        }
        if j < count {
          store8(l0, lanes)
          store8(l1, lanes + 8)
          store8(l2, lanes + 16)
          store8(l3, lanes + 24)
          store8(l4, lanes + 32)
          store8(l5, lanes + 40)
          store8(l6, lanes + 48)
          store8(l7, lanes + 56)
          while j < count {
            addThroughMemory(j)
            j &+= 1
          }
          l0 = load8(lanes)
          l1 = load8(lanes + 8)
          l2 = load8(lanes + 16)
          l3 = load8(lanes + 24)
          l4 = load8(lanes + 32)
          l5 = load8(lanes + 40)
          l6 = load8(lanes + 48)
          l7 = load8(lanes + 56)
        }
        // hsum: (l0 + l4) + (l2 + l6), (l1 + l5) + (l3 + l7), then their sum.
        let t0 = (l4 + l0) + (l6 + l2)
        let t1 = (l5 + l1) + (l7 + l3)
        store8(t0 + t1, out + e)
        e &+= 8
      }
      return
    }
    // ggml_vec_dot_f16 order (one token): 32 lanes (4 accumulators of 8), lane = key mod 32.
    let laneCount = 32
    lanes.initialize(repeating: 0, count: laneCount &* vd)
    for j in 0..<count {
      let key = first &+ j
      let acc = lanes + (key % laneCount) &* vd
      let v = values + key &* c.valueLength
      let wj = row[j]
      var e = 0
      while e < vd {
        store8(fma8(load8(acc + e), load8(v + e), wj), acc + e)
        e &+= 8
      }
    }
    var e = 0
    while e < vd {
      @inline(__always) func lane(_ k: Int) -> SIMD8<Float> { load8(lanes + (k &* vd &+ e)) }
      // lane k = 8 a + b: accumulator a, lane b. (s0 + s2) + (s1 + s3) per lane b, then
      // t_b = x_b + x_{b+4}, result (t0 + t1) + (t2 + t3).
      @inline(__always) func x(_ b: Int) -> SIMD8<Float> {
        (lane(b) + lane(16 &+ b)) + (lane(8 &+ b) + lane(24 &+ b))
      }
      let t0 = x(0) + x(4), t1 = x(1) + x(5), t2 = x(2) + x(6), t3 = x(3) + x(7)
      store8((t0 + t1) + (t2 + t3), out + e)
      e &+= 8
    }
  }

  private func captureAttention(_ s: RunState, layerIndex l: Int, n: Int, sink: CaptureSink) {
    let c = config
    let group = c.headCount / c.kvHeadCount
    for i in 0..<n {
      let seq = s.tokenSequence[i], pos = s.tokenPosition[i]
      guard sink.request.attentionPositions.contains(pos, last: sink.lastPosition[seq]) else { continue }
      for h in 0..<c.headCount where sink.request.attentionHeads?.contains(h) ?? true {
        attentionWeights(s, layer: l, token: i, head: h, group: group, scores: s.scores) { first, count in
          let weights = Array(UnsafeBufferPointer(start: s.scores, count: count))
          sink.attention[seq].append(
            AttentionCapture(layer: l, head: h, position: pos, firstKeyPosition: first, weights: weights))
        }
      }
    }
  }
}

/// A matrix input ready for the kernels: values, their per-32 block sums (matrix-vector, float inputs
/// only) and, for Q8 integer quants, the per-block (d, s).
struct PreparedInput {
  let values: UnsafeMutablePointer<Float>
  let sums: UnsafeMutablePointer<Float>
  let q8: Q8Meta?
  let q8K: Q8KMeta?
}

/// Which activation formats a fused multiply has converted its input to (at most 3 matrices).
struct ConversionSlots {
  var formats: (ActivationFormat?, ActivationFormat?, ActivationFormat?) = (nil, nil, nil)
  var count = 0
  var rawSumsReady = false

  func slot(of f: ActivationFormat) -> Int {
    if formats.0 == f { return 0 }
    if formats.1 == f { return 1 }
    if formats.2 == f { return 2 }
    return -1
  }

  func format(at slot: Int) -> ActivationFormat? {
    switch slot {
    case 0: formats.0
    case 1: formats.1
    case 2: formats.2
    default: nil
    }
  }

  mutating func add(_ f: ActivationFormat) -> Int {
    switch count {
    case 0: formats.0 = f
    case 1: formats.1 = f
    default: formats.2 = f
    }
    count &+= 1
    return count &- 1
  }
}

/// GELU as ggml's F16 table gives it (`ggml_vec_geglu_f32` with GGML_GELU_FP16): 0 below -10, x above
/// 10, else the F16 rounding of gelu(F16 rounding of x), with gelu in float as `ggml_gelu_f32` writes it.
@inline(__always)
func ggmlGELU(_ x: Float) -> Float {
  if x <= -10 { return 0 }
  if x >= 10 { return x }
  let h = Float(Float16(x))
  // GCC contracts `1 + 0.044715 * x * x` into fma(0.044715 * x, x, 1) in the table ggml builds (checked
  // against the shipped ggml_table_gelu_f16: the fused form matches all 63488 finite halves, the plain one not)
  let inner = Float(1).addingProduct(0.044715 * h, h)
  let g: Float = 0.5 * h * (1 + _tanhf(0.79788456080286535587989211986876 * h * inner))
  return Float(Float16(g))
}

// MARK: - Row kernels

/// RMSNorm of `rows` rows of `width` floats: out = x / sqrt(mean(x^2) + eps) * weight.
/// `out` may equal `x`. (llama.cpp ggml_rms_norm followed by ggml_mul with the norm weight.)
// x (rows, width), weight (width,) -> out (rows, width)
func rmsNormRows(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
  weight.withUnsafeBufferPointer { wb in
    // safe: weight.count == width was checked at load
    let wp = wb.baseAddress!
    for r in 0..<rows {
      let xr = x + r &* width, o = out + r &* width
      let ss = dotF32(xr, xr, width)
      let scale = 1 / (ss / Float(width) + eps).squareRoot()
      for j in 0..<width { o[j] = xr[j] * scale * wp[j] }
    }
  }
}

/// RMSNorm as ggml_rms_norm computes it: squares summed in double, mean and scale in float.
// x (rows, width), weight (width,) -> out (rows, width)
func ggmlRMSNormRows(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
  weight.withUnsafeBufferPointer { wb in
    // safe: weight.count == width was checked at load
    let wp = wb.baseAddress!
    for r in 0..<rows {
      let xr = x + r &* width, o = out + r &* width
      let mean = Float(sumOfSquaresInDouble(xr, width) / Double(width))
      let scale = 1 / (mean + eps).squareRoot()
      for j in 0..<width { o[j] = xr[j] * scale * wp[j] }
    }
  }
}

/// sum(Float(x * x)) accumulated in double in element order, as ggml_rms_norm's ggml_float loop (no
/// fast-math, so GCC keeps it sequential): the order matters when the float mean lands near a tie.
// x (n,) -> scalar
@inline(__always)
func sumOfSquaresInDouble(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
  var sum: Double = 0
  var i = 0
  while i &+ 8 <= n {
    let v = load8(x + i)
    let sq = v * v
    for l in 0..<8 { sum += Double(sq[l]) }
    i &+= 8
  }
  while i < n {
    sum += Double(x[i] * x[i])
    i &+= 1
  }
  return sum
}

extension Transformer {
  @inline(__always)
  func rmsNormRows(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    if numerics == .llamaCpp {
      ggmlRMSNormRows(x, weight, out, rows: rows, width: width, eps: config.rmsEpsilon)
    } else {
      Scanner.rmsNormRows(x, weight, out, rows: rows, width: width, eps: config.rmsEpsilon)
    }
  }

  @inline(__always)
  func addRows(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    axpy(1, src, dst, count)
  }
}
