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
  /// Target inversion: first-token candidates tried, clean prompts they are forced after, extension steps,
  /// and candidates extended together.
  public var inversionCandidates: Int = 256
  public var inversionPrompts: Int = 12
  public var inversionSteps: Int = 20
  public var inversionGroup: Int = 16
  /// Activation signals (attention hijacking, layer consistency) and the base differential: candidates
  /// measured, and random controls they are compared with.
  public var signalCandidates: Int = 3
  public var signalControls: Int = 8
  /// Candidates screened whatever the clock says: the first ones in priority order (the user's list, the static
  /// detectors' structural candidates, the head of the published list). The wall-clock budget is shared with the
  /// machine's other work; without a floor a loaded machine screened nothing and still reported clean.
  public var minimumScreens: Int = 8
  /// First tokens target inversion tries whatever the clock says (the first ones in proposal order: targets
  /// the screening already saw shared across requests, leaked message starts, ...); the floor keeps the
  /// trigger-free detector from being starved by screening on a loaded machine.
  public var minimumInversions: Int = 16
  /// Target-conditioned trigger search (`TriggerSearch`, only when inversion found a hidden target that no screened
  /// candidate produces): its own time, and the random single tokens it scores first.
  public var searchSeconds: Double = 12
  public var searchPool: Int = 48

  public static let quick = BehaviourBudget(
    prompts: 12, screenTokens: 32, controls: 16, leakagePerScaffold: 12, leakageTokens: 40, motifs: 12, seconds: 40,
    inversionCandidates: 256, inversionPrompts: 12, inversionSteps: 20, inversionGroup: 16, signalCandidates: 3, signalControls: 8)
  public static let full = BehaviourBudget(
    prompts: 20, screenTokens: 64, controls: 24, leakagePerScaffold: 48, leakageTokens: 64, motifs: 40, seconds: 1200,
    inversionCandidates: 512, inversionPrompts: 20, inversionSteps: 24, inversionGroup: 16, signalCandidates: 5, signalControls: 16, minimumScreens: 16,
    minimumInversions: 32, searchSeconds: 120, searchPool: 256)
}
