import Formats

/// An error the CLI reports with exit code 2: the input could not be (fully) read.
public enum ScanError: Error, Sendable, CustomStringConvertible {
  /// A file was malformed or unreadable; the wrapped error names the file, offset and rule.
  case format(FormatError)
  /// The path is not something we know how to scan.
  case unrecognized(path: String, detail: String)
  /// A usage problem (bad flag combination, missing file).
  case usage(String)

  public var description: String {
    switch self {
    case .format(let e): e.description
    case .unrecognized(let p, let d): "\(p): \(d)"
    case .usage(let m): m
    }
  }
}
