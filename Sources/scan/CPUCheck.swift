import Foundation

/// The Scanner module is compiled with AVX2, FMA and F16C code generation on x86_64 (Package.swift,
/// `kernelSettings`): any of its functions may contain those instructions. On an older x86_64 CPU the first such
/// instruction would kill the process with SIGILL, which a CI gate reads as a crash, not as a verdict. So the
/// executable (compiled without those flags) checks the CPU before it calls into Scanner and exits 2 with a
/// sentence instead.
enum CPUCheck {
  /// The instruction-set extensions Package.swift enables for Scanner on this architecture.
  static let required: [String] = {
    #if arch(x86_64)
    ["avx2", "fma", "f16c"]
    #else
    []
    #endif
  }()

  /// The required extensions the CPU does not report; empty when all are there or when the CPU cannot be asked
  /// (no /proc/cpuinfo: then we run, as before this check existed). `SCAN_CPUINFO` names another file to read
  /// instead, so that tests can play an older CPU.
  static func missing() -> [String] {
    let path = ProcessInfo.processInfo.environment["SCAN_CPUINFO"] ?? "/proc/cpuinfo"
    guard !required.isEmpty, let cpuinfo = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return missing(required: required, cpuinfo: cpuinfo)
  }

  /// The entries of `required` absent from the first `flags` line of a /proc/cpuinfo text.
  static func missing(required: [String], cpuinfo: String) -> [String] {
    guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
          let colon = line.firstIndex(of: ":") else { return [] }
    let flags = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    return required.filter { !flags.contains($0) }
  }

  /// Exits with status 2 and a message on stderr when the CPU lacks what the build needs.
  static func requireKernelFeatures() {
    let absent = missing()
    guard !absent.isEmpty else { return }
    let message = "scan: this build needs a CPU with \(required.joined(separator: ", ")) (x86-64-v3); "
      + "this one lacks \(absent.joined(separator: ", ")). Nothing was scanned.\n"
    FileHandle.standardError.write(Data(message.utf8))
    exit(2)
  }
}
