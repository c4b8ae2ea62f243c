import Formats

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A model ready to run on the CPU: config, weights left in the mapped file, and a thread pool.
///
/// Use it from one task at a time (sessions share the pool). Typical use:
/// ```swift
/// let model = try LanguageModel.load(gguf: file, threads: 2)
/// let session = model.makeSession(maxTokens: 512)
/// let out = try session.evaluate(tokens: prompt)        // out.logits: last position
/// let gen = try model.generate(prompt: prompt, maxTokens: 32, sampler: .greedy, stopAt: [eos])
/// let many = try model.evaluateBatch(prompts: prompts)  // one Evaluation per prompt
/// ```
public final class LanguageModel: @unchecked Sendable {
  // @unchecked: immutable; see Transformer.
  /// Hyper-parameters read from the file.
  public let config: ModelConfig
  let transformer: Transformer

  /// Threads each forward pass uses.
  public var threadCount: Int { transformer.pool.runningThreadCount }
  /// Whether the output projection reuses the token embedding (no `output.weight`).
  public var hasTiedOutput: Bool { transformer.weights.tiedOutput }

  /// The rounding model the forward pass follows.
  public var numerics: Numerics { transformer.numerics }

  /// Multiply-adds done by this model's forward passes so far: every token through every weight matrix,
  /// every attended key, every output-head row computed. Counts work, not time, so a budget in it gives the
  /// same result on a loaded machine, a fast one, or with any thread count.
  public var workDone: Int { transformer.workDone }
  /// Multiply-adds of one token through the layers and the output head, attention not included.
  public var workPerToken: Int { transformer.layerWorkPerToken &+ transformer.weights.output.rows &* transformer.weights.output.columns }

  init(source: ModelSource, threads: Int?, numerics: Numerics = .llamaCpp) throws(ModelError) {
    let config = try ModelConfig.read(from: source)
    let weights = try ModelWeights.load(source, config)
    self.config = config
    self.transformer = Transformer(
      config: config, weights: weights, files: source.files, threads: threads ?? onlineCPUCount(), numerics: numerics)
  }

  /// A session holding one sequence's KV cache for up to `maxTokens` tokens.
  /// - Parameters:
  ///   - maxTokens: KV-cache capacity (memory: layers x maxTokens x (K+V width) x 4 bytes).
  ///   - batchSize: most tokens evaluated in one forward pass (longer inputs are split).
  public func makeSession(maxTokens: Int, batchSize: Int = 256) -> InferenceSession {
    InferenceSession(model: self, maxTokens: maxTokens, batchSize: batchSize)
  }

  /// Evaluates a prompt and continues it.
  /// - Parameters:
  ///   - prompt: token ids (at least one).
  ///   - maxTokens: most tokens to generate.
  ///   - sampler: `.greedy` or a seeded `Sampler`.
  ///   - stopAt: ids that end generation (included in `tokens`).
  /// - Returns: the generated ids and the logits that chose the first one.
  /// - Throws: `ModelError.tokenOutOfRange`.
  public func generate(prompt: [Int32], maxTokens: Int, sampler: Sampler = .greedy, stopAt: Set<Int32> = []) throws(ModelError) -> Generation {
    var sampler = sampler
    let session = makeSession(maxTokens: prompt.count + max(0, maxTokens), batchSize: min(256, max(1, prompt.count)))
    var evaluation = try session.evaluate(tokens: prompt)
    let firstLogits = evaluation.logits
    var out: [Int32] = []
    var stopped = false
    while out.count < maxTokens {
      let next = sampler.sample(evaluation.logits)
      out.append(next)
      if stopAt.contains(next) {
        stopped = true
        break
      }
      if out.count == maxTokens { break }
      evaluation = try session.evaluate(tokens: [next])
    }
    return Generation(tokens: out, firstLogits: firstLogits, stoppedAtStopToken: stopped)
  }

  /// Evaluates independent prompts together: their tokens share every matrix multiplication, each
  /// prompt attends only to itself.
  /// - Returns: one `Evaluation` per prompt, in order.
  /// - Throws: `ModelError.tokenOutOfRange`.
  public func evaluateBatch(prompts: [[Int32]], capture: CaptureRequest = .lastLogits, batchSize: Int = 256) throws(ModelError) -> [Evaluation] {
    guard !prompts.isEmpty else { return [] }
    let longest = prompts.map(\.count).max() ?? 1
    let state = transformer.makeState(sequences: prompts.count, capacity: max(1, longest), batchCapacity: batchSize)
    var flat: [(sequence: Int, token: Int32)] = []
    for (s, p) in prompts.enumerated() {
      for t in p {
        try checkToken(t)
        flat.append((s, t))
      }
    }
    let sink = CaptureSink(request: capture, sequenceCount: prompts.count)
    for (s, p) in prompts.enumerated() { sink.lastPosition[s] = p.count - 1 }
    var tokens = [Int32](repeating: 0, count: state.batchCapacity)
    var next = [Int](repeating: 0, count: prompts.count)
    var start = 0
    while start < flat.count {
      let n = min(state.batchCapacity, flat.count - start)
      for j in 0..<n {
        let (s, t) = flat[start + j]
        tokens[j] = t
        state.tokenSequence[j] = s
        state.tokenPosition[j] = next[s]
        state.tokenInGroup[j] = prompts[s].count > 1
        next[s] += 1
      }
      tokens.withUnsafeBufferPointer { tb in
        // safe: tokens has batchCapacity >= n elements
        transformer.forward(state, tokens: tb.baseAddress!, count: n, sink: sink)
      }
      start += n
    }
    return (0..<prompts.count).map { s in
      Evaluation(logits: sink.lastLogits[s], positionLogits: sink.positionLogits[s], residuals: sink.residuals[s], attention: sink.attention[s])
    }
  }

  /// Lets the kernel drop the resident pages of each weight file below its first tensor (the GGUF
  /// header, metadata and tensor table: 1.7 MB for SmolLM2, 6.2 MB for Gemma 3 with their vocabularies),
  /// which the loader and the tokenizer read once and a forward pass never touches. The mapping is
  /// private and read-only, so a later read simply faults the same bytes back in. Also returns freed
  /// heap pages to the system (glibc). Peak-memory hygiene for `scan generate` (issue 4: peak RSS <= 1.3x
  /// the file).
  public func releaseMetadataPages() {
    let page = max(1, sysconf(Int32(_SC_PAGESIZE)))
    for (index, file) in transformer.files.enumerated() {
      let tensorStart = transformer.weights.firstTensorOffset(inFile: index)
      let length = tensorStart / page * page
      guard length > 0 else { continue }
      file.withBytes { raw in
        // safe: length <= tensorStart <= the file size (loading checked every tensor range), and the
        // mapping's base is page-aligned (mmap); MADV_DONTNEED only discards clean private pages.
        guard let base = raw.baseAddress, length <= raw.count else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_DONTNEED)
      }
    }
    #if os(Linux)
      // The parsed metadata (vocabulary strings, merges) was freed after the tokenizer was built; give the
      // freed heap pages back instead of keeping them resident for the whole run.
      _ = glibcMallocTrim(0)
    #endif
  }

  func checkToken(_ t: Int32) throws(ModelError) {
    guard t >= 0, Int(t) < config.vocabularySize else { throw .tokenOutOfRange(token: t, vocabularySize: config.vocabularySize) }
  }
}

/// The result of `LanguageModel.generate`.
public struct Generation: Sendable {
  /// Generated ids (including the stop token when one ended generation).
  public var tokens: [Int32]
  /// Logits at the last prompt position (what chose `tokens[0]`).
  public var firstLogits: [Float]
  public var stoppedAtStopToken: Bool
}

/// One sequence with its KV cache: evaluate tokens incrementally, with optional captures.
public final class InferenceSession {
  public let model: LanguageModel
  let state: RunState
  /// Tokens evaluated so far (the next token's position).
  public private(set) var position = 0
  /// KV-cache capacity in tokens.
  public var capacity: Int { state.capacity }

  init(model: LanguageModel, maxTokens: Int, batchSize: Int) {
    self.model = model
    state = model.transformer.makeState(sequences: 1, capacity: max(1, maxTokens), batchCapacity: max(1, batchSize))
  }

  /// Forgets every evaluated token.
  public func reset() {
    position = 0
    state.lengths[0] = 0
  }

  /// Appends `tokens` to the sequence and runs them (in chunks of the session's batch size).
  /// - Parameters:
  ///   - tokens: ids (non-empty).
  ///   - capture: what to record; positions in it are absolute.
  /// - Returns: last-position logits plus the requested captures.
  /// - Throws: `ModelError.contextFull` if the KV cache would overflow, `.tokenOutOfRange`.
  public func evaluate(tokens: [Int32], capture: CaptureRequest = .lastLogits) throws(ModelError) -> Evaluation {
    guard !tokens.isEmpty else {
      return Evaluation(logits: [], positionLogits: [], residuals: [], attention: [])
    }
    guard tokens.count <= state.capacity - position else { throw .contextFull(needed: position + tokens.count, capacity: state.capacity) }
    for t in tokens { try model.checkToken(t) }
    let sink = CaptureSink(request: capture, sequenceCount: 1)
    sink.lastPosition[0] = position + tokens.count - 1
    var start = 0
    tokens.withUnsafeBufferPointer { tb in
      while start < tokens.count {
        let n = min(state.batchCapacity, tokens.count - start)
        for j in 0..<n {
          state.tokenSequence[j] = 0
          state.tokenPosition[j] = position + start + j
          state.tokenInGroup[j] = tokens.count > 1
        }
        // safe: tokens is non-empty
        model.transformer.forward(state, tokens: tb.baseAddress! + start, count: n, sink: sink)
        start += n
      }
    }
    position += tokens.count
    return Evaluation(logits: sink.lastLogits[0], positionLogits: sink.positionLogits[0], residuals: sink.residuals[0], attention: sink.attention[0])
  }
}

#if os(Linux)
  /// glibc's `int malloc_trim(size_t pad)` (<malloc.h>, not exported by the Glibc module).
  @_silgen_name("malloc_trim")
  private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
