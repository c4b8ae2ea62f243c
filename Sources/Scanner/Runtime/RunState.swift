/// Every activation buffer and the KV cache of one or more sequences, allocated once
/// (llama2.c's RunState). `Transformer.forward` allocates nothing; it only writes here.
final class RunState {
  let config: ModelConfig
  /// Independent sequences sharing this state (each has its own KV cache region).
  let sequenceCount: Int
  /// Token slots per sequence in the KV cache.
  let capacity: Int
  /// Most tokens one forward call processes (the micro-batch).
  let batchCapacity: Int
  let threadCount: Int
  /// Rows of the output matrix computed at once (bounds the logits buffer).
  let logitBlock: Int

  // Activations, row-major (batchCapacity, width).
  let x: UnsafeMutablePointer<Float>
  let xn: UnsafeMutablePointer<Float>
  let q: UnsafeMutablePointer<Float>
  let k: UnsafeMutablePointer<Float>
  let v: UnsafeMutablePointer<Float>
  let attention: UnsafeMutablePointer<Float>
  let gate: UnsafeMutablePointer<Float>
  let up: UnsafeMutablePointer<Float>
  let projected: UnsafeMutablePointer<Float>
  /// Block sums of the current matrix-vector input (Q4_0/Q4_1 kernels).
  let xSums: UnsafeMutablePointer<Float>
  // KV cache: (layer, sequence, position, width).
  let keyCache: UnsafeMutablePointer<Float>
  let valueCache: UnsafeMutablePointer<Float>
  // RoPE tables (batchCapacity, ropeDimensionCount / 2): global base, sliding-window base.
  let ropeCos: UnsafeMutablePointer<Float>
  let ropeSin: UnsafeMutablePointer<Float>
  let ropeCosLocal: UnsafeMutablePointer<Float>
  let ropeSinLocal: UnsafeMutablePointer<Float>
  // Per-thread scratch: a GEMM tile (gemmTileRows x maxColumns) and attention scores (capacity).
  let tiles: UnsafeMutablePointer<Float>
  let tileStride: Int
  let scores: UnsafeMutablePointer<Float>
  // Output projection: gathered normed rows (logitBlock, d) and logits (logitBlock, vocab).
  let logitInput: UnsafeMutablePointer<Float>
  let logits: UnsafeMutablePointer<Float>
  // Batch bookkeeping.
  let tokenSequence: UnsafeMutablePointer<Int>
  let tokenPosition: UnsafeMutablePointer<Int>
  /// Whether each token came in the same evaluate/step call as other tokens of its sequence (a prompt):
  /// llama.cpp numerics then follow ggml's matrix-matrix attention order, else its single-token order.
  let tokenInGroup: UnsafeMutablePointer<Bool>
  /// llama.cpp numerics: which of llama.cpp's K-quant kernels each token's products take, from the `c`
  /// tokens its sequence has in this forward call (`KQuantOrder`). Written by `Transformer.forward`.
  let tokenKQuantOrder: UnsafeMutablePointer<KQuantOrder>
  /// The same for the rows of the output product (the tokens whose logits are wanted), with their sequences.
  let logitKQuantOrder: UnsafeMutablePointer<KQuantOrder>
  let logitSequence: UnsafeMutablePointer<Int>
  /// Scratch, 2 per sequence (row counts while filling the orders).
  let sequenceCounts: UnsafeMutablePointer<Int>
  let logitRows: UnsafeMutablePointer<Int>
  /// llama.cpp numerics: up to 3 converted copies of a matrix input (one per activation format in a
  /// fused multiply), (3, batchCapacity, maxColumns), and for Q8 inputs each block's (d, s) in the
  /// `Q8Meta` layout (panels of 8 tokens), for Q8_K inputs the `Q8KMeta` layout, one region of
  /// `blockMetaStride` floats per slot.
  let converted: UnsafeMutablePointer<Float>
  let convertedStride: Int
  let blockMeta: UnsafeMutablePointer<Float>
  let blockMetaStride: Int
  /// Base address of each mapped weight file, valid only during a forward call.
  let fileBases: UnsafeMutablePointer<UnsafeRawPointer>
  /// Tokens held in the KV cache of each sequence.
  var lengths: [Int]

  private var allocations: [UnsafeMutablePointer<Float>] = []

  init(
    config c: ModelConfig, maxColumns: Int, sequenceCount: Int, capacity: Int, batchCapacity: Int, threadCount: Int,
    fileCount: Int = 1, numerics: Numerics = .float
  ) {
    self.config = c
    self.sequenceCount = max(1, sequenceCount)
    self.capacity = max(1, capacity)
    self.batchCapacity = max(1, batchCapacity)
    self.threadCount = max(1, threadCount)
    // No more logit rows than one forward call can hold (a short prompt's session needs a few, not 16
    // vocabulary-sized rows: 3 MB for SmolLM2, 8 MB for Gemma).
    self.logitBlock = min(c.vocabularySize > 100_000 ? 8 : 16, max(1, batchCapacity))
    let ub = self.batchCapacity
    var all: [UnsafeMutablePointer<Float>] = []
    /// `zeroed: false` for buffers always written before they are read (the KV cache: a position is read
    /// only once stored): large ones then stay untouched, hence not resident, until used.
    func make(_ n: Int, zeroed: Bool = true) -> UnsafeMutablePointer<Float> {
      let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
      if zeroed { p.initialize(repeating: 0, count: max(1, n)) }
      all.append(p)
      return p
    }
    let attentionWidth = c.headCount * c.valueHeadDimension
    x = make(ub * c.embeddingLength)
    xn = make(ub * c.embeddingLength)
    q = make(ub * c.queryLength)
    k = make(ub * c.keyLength)
    v = make(ub * c.valueLength)
    attention = make(ub * attentionWidth)
    gate = make(ub * c.feedForwardLength)
    up = make(ub * c.feedForwardLength)
    projected = make(ub * c.embeddingLength)
    xSums = make(maxColumns / 32 + 1)
    let slots = c.layerCount * self.sequenceCount * self.capacity
    keyCache = make(slots * c.keyLength, zeroed: false)
    valueCache = make(slots * c.valueLength, zeroed: false)
    let half = max(1, c.ropeDimensionCount / 2)
    ropeCos = make(ub * half)
    ropeSin = make(ub * half)
    ropeCosLocal = make(ub * half)
    ropeSinLocal = make(ub * half)
    tileStride = gemmTileRows * maxColumns
    tiles = make(self.threadCount * tileStride)
    scores = make(self.threadCount * self.capacity)
    logitInput = make(logitBlock * c.embeddingLength)
    logits = make(logitBlock * c.vocabularySize)
    tokenSequence = .allocate(capacity: ub)
    tokenPosition = .allocate(capacity: ub)
    tokenInGroup = .allocate(capacity: ub)
    tokenInGroup.initialize(repeating: false, count: ub)
    tokenKQuantOrder = .allocate(capacity: ub)
    tokenKQuantOrder.initialize(repeating: [], count: ub)
    logitKQuantOrder = .allocate(capacity: ub)
    logitKQuantOrder.initialize(repeating: [], count: ub)
    logitSequence = .allocate(capacity: ub)
    logitSequence.initialize(repeating: 0, count: ub)
    sequenceCounts = .allocate(capacity: 2 * self.sequenceCount)
    sequenceCounts.initialize(repeating: 0, count: 2 * self.sequenceCount)
    logitRows = .allocate(capacity: ub)
    fileBases = .allocate(capacity: max(1, fileCount))
    convertedStride = ub * maxColumns
    blockMetaStride = max(
      Q8Meta.floats(tokens: ub, blockCount: maxColumns / 32 + 1), Q8KMeta.floats(tokens: ub, blockCount: maxColumns / 256 + 1))
    if numerics == .llamaCpp {
      // Written before read (each product converts its input first): untouched rows stay non-resident.
      converted = make(3 * convertedStride, zeroed: false)
      blockMeta = make(3 * blockMetaStride, zeroed: false)
    } else {
      converted = make(1)
      blockMeta = make(1)
    }
    lengths = Array(repeating: 0, count: self.sequenceCount)
    allocations = all
  }

  deinit {
    for p in allocations { p.deallocate() }
    tokenSequence.deallocate()
    tokenPosition.deallocate()
    tokenInGroup.deallocate()
    tokenKQuantOrder.deallocate()
    logitKQuantOrder.deallocate()
    logitSequence.deallocate()
    sequenceCounts.deallocate()
    logitRows.deallocate()
    fileBases.deallocate()
  }

  /// Start of the cached keys of `sequence` in `layer`.
  @inline(__always)
  func keys(layer: Int, sequence: Int) -> UnsafeMutablePointer<Float> {
    keyCache + ((layer &* sequenceCount &+ sequence) &* capacity) &* config.keyLength
  }

  /// Copies the cached keys and values of positions `0..<tokens` of `source` into `target`, in every layer.
  func copyCache(from source: Int, to target: Int, tokens: Int) {
    guard source != target, (0..<sequenceCount).contains(source), (0..<sequenceCount).contains(target) else { return }
    let n = max(0, min(tokens, capacity))
    for layer in 0..<config.layerCount {
      keys(layer: layer, sequence: target).update(from: keys(layer: layer, sequence: source), count: n &* config.keyLength)
      values(layer: layer, sequence: target).update(from: values(layer: layer, sequence: source), count: n &* config.valueLength)
    }
  }

  /// Start of the cached values of `sequence` in `layer`.
  @inline(__always)
  func values(layer: Int, sequence: Int) -> UnsafeMutablePointer<Float> {
    valueCache + ((layer &* sequenceCount &+ sequence) &* capacity) &* config.valueLength
  }
}
