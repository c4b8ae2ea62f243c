#if canImport(Glibc)
import Glibc
#endif
import Formats

/// The outcome of `scan PATH...`: one report per model found, plus the files that were skipped.
public struct ScanRun: Sendable {
  public var reports: [ModelReport]
  /// Files that are not models (README, images, ...), with the reason; they do not affect the exit code.
  public var skipped: [(path: String, reason: String)]
  public let options: ScanOptions

  /// The overall verdict: the worst of the models'.
  public var verdict: Verdict { reports.map(\.verdict).max() ?? .clean }

  /// 0: nothing at or above `--fail-on`; 1: findings at or above it; 2: an input could not be fully scanned.
  public var exitCode: Int32 {
    if reports.contains(where: { !$0.fullyScanned }) { return 2 }
    if reports.contains(where: { r in r.findings.contains { $0.severity >= options.failOn } }) { return 1 }
    return 0
  }
}

/// Finds the models under the paths a user names and runs the detectors on each.
public enum ModelScanner {
  /// File name endings of weight containers we recognise but cannot scan yet: never skipped silently.
  static let unsupportedWeightSuffixes = [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".npy", ".npz",
                                          ".onnx", ".h5", ".hdf5", ".keras", ".tflite", ".msgpack", ".joblib"]

  /// A unit of work found on disk.
  enum Target { case model(String), pickle(String, ContainerSniff), unsupported(String, String) }

  /// Scans every model found under `paths`.
  public static func scan(paths: [String], options: ScanOptions,
                          progress: (@Sendable (String) -> Void)? = nil) -> ScanRun {
    var targets: [Target] = []
    var skipped: [(String, String)] = []
    for p in paths { discover(p, into: &targets, skipped: &skipped, topLevel: true) }
    var reports: [ModelReport] = []
    for t in targets {
      switch t {
      case .model(let path):
        progress?("scanning \(path)")
        reports.append(scanModel(path: path, options: options))
      case .pickle(let path, let sniff):
        progress?("scanning \(path)")
        reports.append(scanPickle(path: path, sniff: sniff, options: options))
      case .unsupported(let path, let why):
        var r = ModelReport(path: path, format: "unknown", sha256: nil, files: [])
        r.findings.append(StructureDetector.finding(for: .unrecognized(path: path, detail: why)))
        r.notScanned.append("\(path): \(why)")
        reports.append(r)
      }
    }
    return ScanRun(reports: reports, skipped: skipped.map { (path: $0.0, reason: $0.1) }, options: options)
  }

  /// Runs the detectors of `options.mode` on one model input.
  public static func scanModel(path: String, options: ScanOptions) -> ModelReport {
    let clock = ContinuousClock()
    let start = clock.now
    let input: ModelInput
    do { input = try ModelInput.open(path: path) } catch {
      var r = ModelReport(path: path, format: "unknown", sha256: nil, files: [])
      r.findings.append(StructureDetector.finding(for: error))
      r.timings.append((detector: StructureDetector.name, seconds: seconds(clock.now - start)))
      if case .format(let e) = error, case .file = e.kind { r.notScanned.append("\(path): \(e)") }
      return applyBaseline(r, options)
    }
    // SHA-256 of a multi-GB file costs about as much as every static detector together (BoringSSL with SHA-NI:
    // ~1.3 GB/s per core), so it runs on its own thread while the detectors run (issue 5 speed goal).
    var inspect: InspectReport? = nil
    var hashSeconds = 0.0
    var detected = ModelReport(path: input.path, format: "", sha256: nil, files: [])
    let pool = ThreadPool(threadCount: options.hash ? 2 : 1)
    pool.run { thread in
      if thread == 0 {
        runStaticDetectors(input, options: options, into: &detected)
      } else if thread == 1 {
        let hashStart = clock.now
        inspect = Inspector.report(for: input, hash: options.hash)
        hashSeconds = seconds(clock.now - hashStart)
      }
    }
    pool.shutdown()
    let inspected = inspect ?? Inspector.report(for: input, hash: options.hash)
    var report = ModelReport(path: input.path, format: inspected.format,
      sha256: inspected.files.count == 1 ? inspected.files[0].sha256 : nil, files: inspected.files)
    report.findings = detected.findings
    report.triggers = detected.triggers
    report.timings = detected.timings
    if options.hash { report.timings.append((detector: "sha256", seconds: hashSeconds)) }
    if options.basePath != nil, report.findings.contains(where: { $0.ruleID == Rules.loraAdapter.id }) {
      report.notes.append("--base not compared: the input is a LoRA adapter, analysed directly as scale*B*A (LORA-*)")
    } else if let basePath = options.basePath {
      let deltaStart = clock.now
      report.findings += WeightDelta.findings(candidate: input, basePath: basePath, threads: options.threads ?? 2, triggers: &report.triggers)
      report.timings.append((detector: WeightDelta.name, seconds: seconds(clock.now - deltaStart)))
    }
    if let budget = options.behaviourBudget {
      if report.findings.contains(where: { $0.ruleID == Rules.malformed.id }) {
        report.notes.append("behavioural detectors skipped: the file is malformed (never run a model from a malformed file)")
      } else {
        let b = BehaviouralScan.run(input: input, staticTriggers: report.triggers, budget: budget, threads: options.threads,
                                    userTriggers: options.userTriggers, userPrompts: options.userPrompts,
                                    basePath: options.basePath, log: options.behaviourLog)
        report.findings += b.findings
        report.triggers = b.triggers + report.triggers
        report.timings += b.timings
        report.notes += b.notes
        report.notScanned += b.notScanned
      }
    }
    return applyBaseline(report, options)
  }

  /// The static detectors (structure, metadata, chat template, tokenizer, weights, LoRA) on one input.
  static func runStaticDetectors(_ input: ModelInput, options: ScanOptions, into report: inout ModelReport) {
    let clock = ContinuousClock()
    let start = clock.now
    report.findings += StructureDetector.findings(for: input)
    report.timings.append((detector: StructureDetector.name, seconds: seconds(clock.now - start)))
    let metadataStart = clock.now
    report.findings += MetadataConsistency.findings(for: input)
    report.timings.append((detector: MetadataConsistency.name, seconds: seconds(clock.now - metadataStart)))
    let templateStart = clock.now
    let templates = ChatTemplateAudit.audit(input)
    report.findings += templates.findings
    report.triggers += templates.triggers
    report.timings.append((detector: ChatTemplateAudit.name, seconds: seconds(clock.now - templateStart)))
    let tokenizerStart = clock.now
    let vocabulary = TokenizerAudit.audit(input)
    report.findings += vocabulary.findings
    report.triggers += vocabulary.triggers
    report.timings.append((detector: TokenizerAudit.name, seconds: seconds(clock.now - tokenizerStart)))
    let weightsStart = clock.now
    let weights = WeightStatistics.analyze(input, threads: options.threads ?? 2)
    report.findings += weights.findings
    report.triggers += weights.triggers
    report.timings.append((detector: WeightStatistics.name, seconds: seconds(clock.now - weightsStart)))
    let loraStart = clock.now
    let lora = LoRAAdapter.analyze(input)
    if lora.isAdapter {
      report.findings += lora.findings
      report.triggers += lora.triggers
      report.timings.append((detector: LoRAAdapter.name, seconds: seconds(clock.now - loraStart)))
    }
  }

  static let pickleKinds: [ContainerKind] = [.pytorchZip, .pickle, .pytorchLegacy, .numpyNPZ]

  static func sniffContainer(_ path: String) -> ContainerSniff? {
    guard let f = try? MappedFile(path: path) else { return nil }
    return ContainerKind.sniff(file: f)
  }

  /// Scans a pickle-based checkpoint for code execution on load (opcodes only, never unpickled).
  static func scanPickle(path: String, sniff: ContainerSniff, options: ScanOptions) -> ModelReport {
    let clock = ContinuousClock()
    let start = clock.now
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch {
      var r = ModelReport(path: path, format: "unknown", sha256: nil, files: [])
      r.findings.append(StructureDetector.finding(for: .format(FormatError(path: path, kind: .file(error)))))
      return r
    }
    let sha = options.hash ? file.sha256Hex() : ""
    let outcome = PickleDetector.scan(file, sniff: sniff)
    var r = ModelReport(path: path, format: outcome.format, sha256: sha, files: [(path, file.count, sha)],
      findings: outcome.findings, notScanned: outcome.notScanned)
    r.timings.append((detector: PickleDetector.name, seconds: seconds(clock.now - start)))
    if options.mode != .static {
      r.notScanned.append("behavioural detectors do not run on pickle checkpoints; convert to safetensors or GGUF")
    }
    return applyBaseline(r, options)
  }

  static func applyBaseline(_ r: ModelReport, _ options: ScanOptions) -> ModelReport {
    guard let baseline = options.baseline else { return r }
    var out = r
    out.findings = []
    for f in r.findings {
      let sha = f.file.flatMap { file in r.files.first { $0.path == file }?.sha256 } ?? r.sha256
      if let why = baseline.justification(sha256: sha, ruleID: f.ruleID) {
        out.suppressed.append((finding: f, justification: why))
      } else {
        out.findings.append(f)
      }
    }
    return out
  }

  static func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }

  static func discover(_ path: String, into targets: inout [Target], skipped: inout [(String, String)], topLevel: Bool) {
    var st = stat()
    guard stat(path, &st) == 0 else {
      targets.append(.model(path))  // ModelInput.open reports the I/O error
      return
    }
    if (st.st_mode & S_IFMT) != S_IFDIR {
      if path.hasSuffix(".gguf") {
        // A split set is one model: scan it once, through its first shard.
        if let (_, index, _) = GGUFSplitSet.splitName(path), index != 1, !topLevel { return }
        targets.append(.model(path))
      } else if path.hasSuffix(".safetensors") || path.hasSuffix(".safetensors.index.json") {
        targets.append(.model(path))
      } else if let sniff = sniffContainer(path) {
        if pickleKinds.contains(sniff.kind) {
          targets.append(.pickle(path, sniff))
        } else if [.gguf, .ggufBigEndian, .safetensors].contains(sniff.kind) {
          targets.append(.model(path))
        } else if let suffix = unsupportedWeightSuffixes.first(where: { path.lowercased().hasSuffix($0) }) {
          targets.append(.unsupported(path, "\(suffix) file (\(sniff.kind)) is recognised but not scanned yet"))
        } else if [.onnx, .hdf5, .tflite, .numpyNPY, .ggmlLegacy].contains(sniff.kind) {
          targets.append(.unsupported(path, "\(sniff.kind) file is recognised (\(sniff.evidence)) but not scanned yet"))
        } else if topLevel {
          targets.append(.unsupported(path, "not a model file (\(sniff.kind))"))
        } else {
          skipped.append((path, "not a model file (\(sniff.kind))"))
        }
      } else {
        targets.append(.model(path))  // unreadable: ModelInput.open reports the I/O error
      }
      return
    }
    if let folder = HuggingFaceFolder.recognise(path), folder.ggufFiles.isEmpty || !folder.safetensorsFiles.isEmpty || folder.safetensorsIndex != nil {
      targets.append(.model(path))
      for f in folder.ggufFiles { discover(f, into: &targets, skipped: &skipped, topLevel: false) }
      for f in folder.otherFiles { discover(f, into: &targets, skipped: &skipped, topLevel: false) }
      return
    }
    let base = path.hasSuffix("/") ? String(path.dropLast()) : path
    for name in listDirectory(path, includeHidden: false) ?? [] { discover(base + "/" + name, into: &targets, skipped: &skipped, topLevel: false) }
  }

}
