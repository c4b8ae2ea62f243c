/// How much work the behavioural detectors may do (`--mode quick|full`).
public struct BehaviourBudget: Sendable, Equatable {
  /// Battery requests used.
  public var prompts: Int
  /// Answer tokens generated and compared per request when screening a candidate.
  public var screenTokens: Int
  /// Random control insertions per site (the null distribution).
  public var controls: Int
  /// Leakage samples per scaffold prompt, and their length.
  public var leakagePerScaffold: Int
  public var leakageTokens: Int
  /// Leaked motifs tried as candidates.
  public var motifs: Int
  /// Wall-clock budget for screening (seconds); candidates beyond it are listed as not tested.
  public var seconds: Double

  public static let quick = BehaviourBudget(
    prompts: 12, screenTokens: 32, controls: 16, leakagePerScaffold: 12, leakageTokens: 40, motifs: 12, seconds: 40)
  public static let full = BehaviourBudget(
    prompts: 20, screenTokens: 64, controls: 24, leakagePerScaffold: 48, leakageTokens: 64, motifs: 40, seconds: 1200)
}
