/// Which positions of a sequence a capture applies to. Positions are absolute (0 = first token the
/// session ever evaluated), so a detector can evaluate a prompt in several calls and still name them.
public enum PositionSelection: Sendable, Equatable {
  /// Every position evaluated in this call.
  case all
  /// The last position evaluated in this call.
  case last
  /// These absolute positions, where evaluated in this call.
  case positions(Set<Int>)

  @inline(__always)
  func contains(_ position: Int, last: Int) -> Bool {
    switch self {
    case .all: true
    case .last: position == last
    case .positions(let set): set.contains(position)
    }
  }
}

/// What a detector wants recorded during a forward pass. The default captures only the last
/// position's logits, which is what generation needs; nothing else costs anything unless asked for.
public struct CaptureRequest: Sendable, Equatable {
  /// Layers (0-based) after which to copy the residual stream (the block's output, before the final norm).
  public var residualLayers: Set<Int>
  /// Positions at which residuals are copied.
  public var residualPositions: PositionSelection
  /// Layers whose attention weights (post-softmax) are copied.
  public var attentionLayers: Set<Int>
  /// Heads to copy in those layers (`nil`: all heads).
  public var attentionHeads: Set<Int>?
  /// Query positions at which attention weights are copied.
  public var attentionPositions: PositionSelection
  /// Positions whose final logits are returned.
  public var logitPositions: PositionSelection
  /// Also return log-softmax of those logits.
  public var logProbabilities: Bool

  /// - Parameters: see the properties; every default asks for nothing beyond last-position logits.
  public init(
    residualLayers: Set<Int> = [], residualPositions: PositionSelection = .all,
    attentionLayers: Set<Int> = [], attentionHeads: Set<Int>? = nil, attentionPositions: PositionSelection = .last,
    logitPositions: PositionSelection = .last, logProbabilities: Bool = false
  ) {
    self.residualLayers = residualLayers
    self.residualPositions = residualPositions
    self.attentionLayers = attentionLayers
    self.attentionHeads = attentionHeads
    self.attentionPositions = attentionPositions
    self.logitPositions = logitPositions
    self.logProbabilities = logProbabilities
  }

  /// Last-position logits only.
  public static let lastLogits = CaptureRequest()
}

/// The residual stream after `layer` at `position`: `embeddingLength` floats.
public struct ResidualCapture: Sendable, Equatable {
  public var layer: Int
  public var position: Int
  public var values: [Float]
}

/// Attention weights of one head at one query position: `weights[j]` is the weight on key position
/// `firstKeyPosition + j` (sliding-window layers start later than 0); they sum to 1.
public struct AttentionCapture: Sendable, Equatable {
  public var layer: Int
  public var head: Int
  public var position: Int
  public var firstKeyPosition: Int
  public var weights: [Float]
}

/// Final logits (and optionally log-probabilities) at one position: `vocabularySize` floats each.
public struct PositionLogits: Sendable, Equatable {
  public var position: Int
  public var logits: [Float]
  public var logProbabilities: [Float]?
}

/// What one `evaluate` call returns for one sequence.
public struct Evaluation: Sendable {
  /// Logits at the last evaluated position (`vocabularySize` floats).
  public var logits: [Float]
  /// Logits at the positions `CaptureRequest.logitPositions` selected, in position order.
  public var positionLogits: [PositionLogits]
  public var residuals: [ResidualCapture]
  public var attention: [AttentionCapture]
}

extension Array where Element == Float {
  /// log-softmax, computed in Double for the normalizer.
  func logSoftmax() -> [Float] {
    guard let m = self.max() else { return [] }
    var s = 0.0
    for v in self { s += _exp(Double(v - m)) }
    let l = Float(_log(s)) + m
    return map { $0 - l }
  }
}
