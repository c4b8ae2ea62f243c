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
  /// Work allowed for the behavioural scan after loading (baseline, leakage, controls, candidates, inversion,
  /// signals), in seconds of the reference machine: `seconds * referenceRate` multiply-adds of forward passes
  /// (`LanguageModel.workDone`). Candidates beyond it are listed as not screened. A budget in work, not in
  /// wall-clock time, gives the same candidates, evidence and verdict on a loaded machine, a fast one, or with
  /// any thread count; only the time taken differs.
  public var seconds: Double
  /// Target inversion: first-token candidates tried, clean prompts they are forced after, extension steps,
  /// and candidates extended together.
  public var inversionCandidates: Int = 256
  public var inversionPrompts: Int = 12
  public var inversionSteps: Int = 20
  public var inversionGroup: Int = 16
  /// Most probable first tokens screened by two forced steps before the inversion (`TargetInversion.firstStepScreen`);
  /// the most certain continuations lead the first-step statistics' half of the first tokens.
  public var inversionScreen: Int = 128
  /// Activation signals (attention hijacking, layer consistency) and the base differential: candidates
  /// measured, and random controls they are compared with.
  public var signalCandidates: Int = 3
  public var signalControls: Int = 8
  /// Candidates screened whatever the budget says: the first ones in priority order (the user's list, the static
  /// detectors' structural candidates, the head of the published list). Without a floor a model large enough for
  /// the baseline and the controls to use the budget would screen nothing and still be reported clean.
  public var minimumScreens: Int = 8
  /// First tokens target inversion tries whatever the budget says (the first ones in proposal order: targets
  /// the screening already saw shared across requests, leaked message starts, ...); the floor keeps the
  /// trigger-free detector from being starved by screening on a large model.
  public var minimumInversions: Int = 16
  /// Target-conditioned trigger search (`TriggerSearch`, only when inversion found a hidden target that no screened
  /// candidate produces): its own work (reference seconds, as `seconds`), and the random single tokens it scores
  /// first.
  public var searchSeconds: Double = 12
  public var searchPool: Int = 48

  /// Multiply-adds per second of the reference machine, which converts `seconds` to work. Conservative: 2 idle
  /// Zen 3 cores run the scan's forward passes (float numerics, batched prompts and generation) at ~27-30 G/s
  /// (SmolLM2-135M, the 1.1B synthetic model), so the quick plan's 50 s take ~35-40 s there (docs/BEHAVIOUR.md).
  public static let referenceRate: Double = 20e9

  /// `seconds` as multiply-adds.
  public var work: Int { Self.work(seconds: seconds) }
  /// `searchSeconds` as multiply-adds.
  public var searchWork: Int { Self.work(seconds: searchSeconds) }
  static func work(seconds: Double) -> Int { Int(min(max(0, seconds * referenceRate), Double(Int.max / 4))) }

  public static let quick = BehaviourBudget(
    prompts: 12, screenTokens: 32, controls: 16, leakagePerScaffold: 12, leakageTokens: 40, motifs: 12, seconds: 40,
    inversionCandidates: 256, inversionPrompts: 12, inversionSteps: 20, inversionGroup: 16, signalCandidates: 3, signalControls: 8)
  public static let full = BehaviourBudget(
    prompts: 20, screenTokens: 64, controls: 24, leakagePerScaffold: 48, leakageTokens: 64, motifs: 40, seconds: 1200,
    inversionCandidates: 512, inversionPrompts: 20, inversionSteps: 24, inversionGroup: 16, inversionScreen: 512, signalCandidates: 5, signalControls: 16, minimumScreens: 16,
    minimumInversions: 32, searchSeconds: 120, searchPool: 256)
}
