/// Several independent sequences, each with its own KV cache, advanced together: every `step` call
/// runs the new tokens of all sequences in shared matrix multiplications. This is what batched
/// generation and the behavioural detectors' prompt batteries use.
///
/// ```swift
/// let batch = model.makeMultiSequenceSession(sequences: prompts.count, capacity: 128)
/// var out = try batch.step(prompts.enumerated().map { ($0.offset, $0.element) })
/// ```
public final class MultiSequenceSession {
  public let model: LanguageModel
  let state: RunState
  /// Number of sequences.
  public var sequenceCount: Int { state.sequenceCount }
  /// KV-cache capacity of each sequence, in tokens.
  public var capacity: Int { state.capacity }
  /// Tokens held by each sequence (its next position).
  public private(set) var lengths: [Int]

  init(model: LanguageModel, sequences: Int, capacity: Int, batchSize: Int) {
    self.model = model
    state = model.transformer.makeState(sequences: max(1, sequences), capacity: max(1, capacity), batchCapacity: max(1, batchSize))
    lengths = Array(repeating: 0, count: max(1, sequences))
  }

  /// Drops every token of `sequence` from position `length` on (keeps a shared prefix for reuse).
  public func truncate(sequence: Int, to length: Int) {
    guard sequence >= 0, sequence < lengths.count else { return }
    lengths[sequence] = max(0, min(lengths[sequence], length))
    state.lengths[sequence] = lengths[sequence]
  }

  /// Makes the first `length` tokens of `target` those of `source` by copying their cached keys and values (a
  /// memory copy, no model evaluation), and drops the rest of `target`: prompts that share a prefix compute it once.
  /// `length` is clamped to what `source` holds.
  public func copyPrefix(from source: Int, to target: Int, length: Int) {
    guard source != target, source >= 0, source < lengths.count, target >= 0, target < lengths.count else { return }
    let n = max(0, min(length, lengths[source]))
    state.copyCache(from: source, to: target, tokens: n)
    lengths[target] = n
    state.lengths[target] = n
  }

  /// Prefills prompt k into sequence k (all sequences empty), evaluating the prompts' longest common prefix once
  /// and copying it into the other sequences (a chat template's system turn and user header; a candidate inserted at
  /// the start of the user turn). Every prompt keeps at least one token of its own, so each output has its logits.
  /// Under `.llamaCpp` numerics nothing is shared: llama.cpp evaluates each prompt whole, and the attention order
  /// of a prompt's tokens depends on that grouping.
  /// - Returns: one output per prompt (empty for an empty prompt).
  func prefill(_ prompts: [[Int32]], sharePrefix: Bool = true) throws(ModelError) -> [Output] {
    let used = prompts.indices.filter { !prompts[$0].isEmpty }
    var shared = 0
    if sharePrefix, model.numerics == .float, used.count >= 2, let first = used.first {
      let reference = prompts[first]
      shared = used.map { prompts[$0].count - 1 }.min() ?? 0
      for s in used.dropFirst() {
        let p = prompts[s]
        var n = 0
        while n < shared, p[n] == reference[n] { n += 1 }
        shared = n
      }
      // A short common prefix is not worth a separate pass.
      if shared < Self.minimumSharedPrefix { shared = 0 }
      if shared > 0 {
        _ = try step([(sequence: first, tokens: Array(reference[0..<shared]))])
        for s in used.dropFirst() { copyPrefix(from: first, to: s, length: shared) }
      }
    }
    return try step(prompts.indices.map { k in (sequence: k, tokens: prompts[k].isEmpty ? [] : Array(prompts[k][shared...])) })
  }

  /// Shortest common prefix `prefill` evaluates separately.
  static let minimumSharedPrefix = 4

  /// Forgets every token of every sequence.
  public func reset() {
    for s in 0..<lengths.count { truncate(sequence: s, to: 0) }
  }

  /// What one step returns for one sequence.
  public struct Output: Sendable {
    /// Logits after the sequence's last new token.
    public var lastLogits: [Float]
    /// Logits at every new position from `logitsFrom` on (absolute positions), in order.
    public var positionLogits: [PositionLogits]
    public var residuals: [ResidualCapture]
    public var attention: [AttentionCapture]
  }

  /// Appends tokens to some sequences and runs them together.
  /// - Parameters:
  ///   - inputs: (sequence index, new tokens); a sequence may appear at most once; empty token lists are ignored.
  ///   - logitsFrom: optional per-input absolute position from which every new position's logits are returned
  ///     (teacher-forced scoring of a continuation); same order as `inputs`.
  ///   - capture: residual / attention captures (positions absolute).
  /// - Returns: one output per input, in the same order.
  /// - Throws: `ModelError.contextFull` when a sequence would exceed `capacity`, `.tokenOutOfRange`.
  public func step(_ inputs: [(sequence: Int, tokens: [Int32])], logitsFrom: [Int]? = nil,
                   capture: CaptureRequest = .lastLogits) throws(ModelError) -> [Output] {
    let sink = CaptureSink(request: capture, sequenceCount: state.sequenceCount)
    var from = Array(repeating: Int.max, count: state.sequenceCount)
    var flat: [(sequence: Int, token: Int32, position: Int, grouped: Bool)] = []
    var seen = Set<Int>()
    for (k, input) in inputs.enumerated() where !input.tokens.isEmpty {
      let s = input.sequence
      guard s >= 0, s < state.sequenceCount, seen.insert(s).inserted else { continue }
      guard input.tokens.count <= state.capacity - lengths[s] else {
        throw .contextFull(needed: lengths[s] + input.tokens.count, capacity: state.capacity)
      }
      for t in input.tokens { try model.checkToken(t) }
      for (j, t) in input.tokens.enumerated() { flat.append((s, t, lengths[s] + j, input.tokens.count > 1)) }
      sink.lastPosition[s] = lengths[s] + input.tokens.count - 1
      if let logitsFrom, k < logitsFrom.count { from[s] = logitsFrom[k] }
    }
    if logitsFrom != nil { sink.logitsFrom = from }
    var tokens = [Int32](repeating: 0, count: state.batchCapacity)
    var start = 0
    while start < flat.count {
      let n = min(state.batchCapacity, flat.count - start)
      for j in 0..<n {
        let e = flat[start + j]
        tokens[j] = e.token
        state.tokenSequence[j] = e.sequence
        state.tokenPosition[j] = e.position
        state.tokenInGroup[j] = e.grouped
      }
      tokens.withUnsafeBufferPointer { tb in
        // safe: tokens has batchCapacity >= n elements
        model.transformer.forward(state, tokens: tb.baseAddress!, count: n, sink: sink)
      }
      start += n
    }
    for input in inputs where !input.tokens.isEmpty && input.sequence >= 0 && input.sequence < state.sequenceCount {
      lengths[input.sequence] = sink.lastPosition[input.sequence] + 1
    }
    return inputs.map { input in
      let s = input.sequence
      guard s >= 0, s < state.sequenceCount, !input.tokens.isEmpty else {
        return Output(lastLogits: [], positionLogits: [], residuals: [], attention: [])
      }
      return Output(lastLogits: sink.lastLogits[s], positionLogits: sink.positionLogits[s],
                    residuals: sink.residuals[s], attention: sink.attention[s])
    }
  }
}

extension LanguageModel {
  /// A session of `sequences` independent sequences of up to `capacity` tokens each, advanced together.
  /// - Parameter batchSize: most tokens in one forward pass (longer steps are split).
  public func makeMultiSequenceSession(sequences: Int, capacity: Int, batchSize: Int = 256) -> MultiSequenceSession {
    MultiSequenceSession(model: self, sequences: sequences, capacity: capacity, batchSize: batchSize)
  }

  /// Greedy or sampled continuation of several prompts at once (each prompt its own sequence).
  /// - Parameters:
  ///   - prompts: token ids (each non-empty).
  ///   - maxTokens: most tokens generated per prompt.
  ///   - samplers: one per prompt (or one for all), e.g. `.greedy` or seeded samplers.
  ///   - stopAt: ids that end a sequence (included in its tokens).
  ///   - observe: called with (prompt index, step, logits) for the logits that choose each token, so a caller can
  ///     score them without the batch keeping every vocabulary-sized vector.
  /// - Returns: per prompt, the generated ids.
  ///   - sharePrefix: evaluate the prompts' common prefix once (`MultiSequenceSession.prefill`; `.float` numerics).
  public func generateBatch(prompts: [[Int32]], maxTokens: Int, samplers: [Sampler] = [.greedy], stopAt: Set<Int32> = [],
                            sharePrefix: Bool = true,
                            observe: ((_ prompt: Int, _ step: Int, _ logits: [Float]) -> Void)? = nil) throws(ModelError) -> [BatchGeneration] {
    guard !prompts.isEmpty else { return [] }
    let longest = prompts.map(\.count).max() ?? 1
    let session = makeMultiSequenceSession(sequences: prompts.count, capacity: longest + max(1, maxTokens),
                                           batchSize: min(512, max(prompts.count, prompts.reduce(0) { $0 + $1.count })))
    var samplers = samplers.isEmpty ? [Sampler.greedy] : samplers
    if samplers.count < prompts.count {
      samplers += Array(repeating: samplers[samplers.count - 1], count: prompts.count - samplers.count)
    }
    var results = prompts.map { _ in BatchGeneration(tokens: [], stoppedAtStopToken: false) }
    var outputs = try session.prefill(prompts, sharePrefix: sharePrefix)
    var active = Array(0..<prompts.count).filter { !prompts[$0].isEmpty }
    var lastLogits = Array(repeating: [Float](), count: prompts.count)
    for s in active { lastLogits[s] = outputs[s].lastLogits }
    while !active.isEmpty {
      var next: [(sequence: Int, tokens: [Int32])] = []
      for s in active {
        observe?(s, results[s].tokens.count, lastLogits[s])
        let t = samplers[s].sample(lastLogits[s])
        results[s].tokens.append(t)
        if stopAt.contains(t) {
          results[s].stoppedAtStopToken = true
        } else if results[s].tokens.count < maxTokens {
          next.append((s, [t]))
        }
      }
      if next.isEmpty { break }
      outputs = try session.step(next)
      for (k, n) in next.enumerated() { lastLogits[n.sequence] = outputs[k].lastLogits }
      active = next.map(\.sequence)
    }
    return results
  }
}

/// One prompt's result from `LanguageModel.generateBatch`.
public struct BatchGeneration: Sendable {
  public var tokens: [Int32]
  public var stoppedAtStopToken: Bool
}
