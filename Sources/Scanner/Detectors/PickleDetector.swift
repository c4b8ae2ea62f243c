import Formats

/// Finds code execution in pickle-based checkpoints (PyTorch zip `.bin/.pt/.pth`, legacy torch files,
/// raw pickles, NumPy object arrays) by reading opcodes, never unpickling.
///
/// Judgement (as the established scanners do, deny list first): a global from a module or function that
/// can run commands, code, files or network on load is `PKL-001` critical (verdict `unsafe`); a global
/// outside the allow list of what PyTorch/NumPy checkpoints legitimately import is `PKL-002` medium;
/// a pickle or archive that cannot be read to the end is `PKL-003` high and the file counts as not fully scanned.
public enum PickleDetector {
  public static let name = "pickle"

  /// Modules whose every member is dangerous to import during unpickling.
  static let dangerousModules: Set<String> = [
    "os", "posix", "nt", "subprocess", "sys", "runpy", "socket", "shutil", "pty", "commands", "webbrowser",
    "http", "http.client", "httplib", "urllib", "urllib.request", "urllib2", "requests", "importlib", "code",
    "codeop", "ctypes", "marshal", "pickle", "_pickle", "cPickle", "dill", "multiprocessing", "asyncio",
    "tempfile", "pip", "setuptools", "distutils", "platform", "signal", "threading", "_thread", "pdb", "bdb",
    "timeit", "telnetlib", "ftplib", "smtplib", "xmlrpc", "paramiko", "torch.hub", "ssl",
  ]
  /// Individual dangerous globals in otherwise ordinary modules.
  static let dangerousGlobals: Set<String> = [
    "builtins.eval", "builtins.exec", "builtins.compile", "builtins.open", "builtins.__import__",
    "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.globals", "builtins.locals",
    "builtins.vars", "builtins.input", "builtins.breakpoint", "builtins.help", "builtins.apply", "builtins.execfile",
    "operator.attrgetter", "operator.methodcaller", "functools.partial", "numpy.load", "numpy.testing._private.utils.runstring",
    "torch.load", "torch.serialization.load", "torch._C._jit_pass_onnx", "torch.jit.load",
  ]
  /// Globals a plain PyTorch / NumPy checkpoint imports.
  static let allowedPrefixes = ["torch._utils._rebuild_", "torch.storage._load_from_bytes", "torch._tensor._rebuild_",
                                "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                                "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"]
  static let allowedGlobals: Set<String> = [
    "collections.OrderedDict", "collections.defaultdict", "torch.Size", "torch.device", "torch.dtype",
    "torch.float32", "torch.float16", "torch.bfloat16", "torch.int64", "torch.FloatStorage", "torch.HalfStorage",
    "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage",
    "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage", "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage", "torch.nn.parameter.Parameter", "numpy.ndarray", "numpy.dtype", "_codecs.encode",
    "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex", "builtins.bytearray", "builtins.tuple",
    "builtins.list", "builtins.dict", "builtins.int", "builtins.float", "builtins.str", "builtins.bytes", "builtins.object",
    "__builtin__.set", "copy_reg._reconstructor", "copyreg._reconstructor", "argparse.Namespace",
  ]

  enum Judgement { case dangerous, unknown, allowed }

  static func judge(_ g: PickleGlobalReference) -> Judgement {
    let q = g.importedQualifiedName
    let module = g.importedModule
    if dangerousGlobals.contains(q) { return .dangerous }
    let topModule = String(module.split(separator: ".").first ?? Substring(module))
    if dangerousModules.contains(module) || dangerousModules.contains(topModule) { return .dangerous }
    if allowedGlobals.contains(q) || allowedPrefixes.contains(where: { q.hasPrefix($0) }) { return .allowed }
    if module.hasPrefix("torch") && (g.importedName.hasSuffix("Storage") || g.importedName.hasSuffix("Tensor")) { return .allowed }
    return .unknown
  }

  /// Result of scanning one file: findings, and what could not be read.
  public struct Outcome: Sendable {
    public var findings: [Finding] = []
    public var notScanned: [String] = []
    public var format: String
  }

  /// Scans `file` according to what its magic says it is.
  public static func scan(_ file: MappedFile, sniff: ContainerSniff) -> Outcome {
    switch sniff.kind {
    case .pytorchZip, .zip, .numpyNPZ:
      return scanZip(file, format: sniff.kind == .pytorchZip ? "pytorch-zip" : "zip")
    case .pickle, .pytorchLegacy:
      var out = Outcome(format: sniff.kind == .pickle ? "pickle" : "pytorch-legacy")
      let ds = file.withBytes { PickleDisassembler.scanSequence($0) }
      judge(ds, file: file.path, member: nil, into: &out)
      return out
    default:
      return Outcome(format: "\(sniff.kind)")
    }
  }

  static func scanZip(_ file: MappedFile, format: String) -> Outcome {
    var out = Outcome(format: format)
    let archive: ZipArchive
    do { archive = try ZipArchive.open(file) } catch {
      out.findings.append(Finding(rule: Rules.pickleUnreadable, detector: name, detail: "ZIP archive cannot be read: \(error)", file: file.path))
      out.notScanned.append("\(file.path): ZIP archive cannot be read")
      return out
    }
    for e in archive.entries where !e.isDirectory {
      let lower = e.name.lowercased()
      guard lower.hasSuffix(".pkl") || lower.hasSuffix(".pickle") || lower.hasSuffix("data") && !lower.contains("/data/") || lower.hasSuffix(".npy") else { continue }
      let bytes: [UInt8]
      do { bytes = try archive.extract(e, from: file, limits: ZipExtractionLimits(maxOutputBytes: 512 << 20)) } catch {
        out.findings.append(Finding(rule: Rules.pickleUnreadable, detector: name,
          detail: "member '\(e.name)' cannot be extracted: \(error)", file: file.path, byteOffset: e.localHeaderOffset))
        out.notScanned.append("\(file.path): member \(e.name) not extracted")
        continue
      }
      if lower.hasSuffix(".npy") {
        guard let h = try? NPYHeader.parse(bytes), h.containsObjects else { continue }
        let ds = bytes.withUnsafeBytes { PickleDisassembler.scanSequence($0, startOffset: h.dataOffset) }
        judge(ds, file: file.path, member: e.name, into: &out)
      } else {
        let ds = bytes.withUnsafeBytes { PickleDisassembler.scanSequence($0) }
        judge(ds, file: file.path, member: e.name, into: &out)
      }
    }
    return out
  }

  static func judge(_ ds: [PickleDisassembly], file: String, member: String?, into out: inout Outcome) {
    let place = member.map { " (member \($0))" } ?? ""
    var dangerous: [PickleGlobalReference] = []
    var unknown: [PickleGlobalReference] = []
    for d in ds {
      for g in d.globals {
        switch judge(g) {
        case .dangerous: if !dangerous.contains(where: { $0.importedQualifiedName == g.importedQualifiedName }) { dangerous.append(g) }
        case .unknown: if !unknown.contains(where: { $0.importedQualifiedName == g.importedQualifiedName }) { unknown.append(g) }
        case .allowed: break
        }
      }
    }
    if let first = dangerous.first {
      let names = dangerous.map(\.importedQualifiedName)
      let calls = ds.flatMap(\.calls).filter { c in dangerous.contains { $0 == c.callee.global } }
      out.findings.append(Finding(rule: Rules.pickleCodeExecution, detector: name,
        detail: "unpickling\(place) imports \(names.joined(separator: ", "))\(calls.isEmpty ? "" : " and calls it") — loading this file runs code",
        file: file, byteOffset: member == nil ? first.byteOffset : nil,
        evidence: [Evidence("globals", .array(names.map { .string($0) })),
                   Evidence("first_global_offset", first.byteOffset),
                   Evidence("calls", calls.count)] + (member.map { [Evidence("member", $0)] } ?? [])))
    }
    if !unknown.isEmpty {
      out.findings.append(Finding(rule: Rules.pickleUnknownGlobal, detector: name,
        detail: "unpickling\(place) imports globals outside the checkpoint allow list: \(unknown.map(\.importedQualifiedName).prefix(10).joined(separator: ", "))",
        file: file, evidence: [Evidence("globals", .array(unknown.map { .string($0.importedQualifiedName) }))]))
    }
    // scanSequence stops at the first failure, so only the last pickle can carry an error. A failure after
    // complete pickles that imported nothing is the raw storage bytes of a legacy torch file, not a fault.
    if let last = ds.last, let bad = last.error, ds.count == 1 || !last.globals.isEmpty {
      out.findings.append(Finding(rule: Rules.pickleUnreadable, detector: name,
        detail: "pickle\(place) cannot be read to its end: \(bad)", file: file))
      out.notScanned.append("\(file)\(place): pickle not readable to the end")
    }
  }
}
