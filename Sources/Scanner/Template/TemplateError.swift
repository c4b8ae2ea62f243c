/// A position in a chat template's source text.
///
/// `line` and `column` are 1-based; `column` counts Unicode scalars from the start of the line.
/// `byteOffset` is the 0-based UTF-8 byte offset into the template source exactly as given to
/// ``ChatTemplate/parse(_:)`` (before Jinja's newline normalisation).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
  /// 1-based line number.
  public let line: Int
  /// 1-based column, in Unicode scalars.
  public let column: Int
  /// 0-based UTF-8 byte offset into the original source.
  public let byteOffset: Int

  /// Creates a location.
  public init(line: Int, column: Int, byteOffset: Int) {
    self.line = line
    self.column = column
    self.byteOffset = byteOffset
  }

  /// `line:column (byte N)`.
  public var description: String { "\(line):\(column) (byte \(byteOffset))" }
}

/// Why a chat template could not be parsed or rendered.
///
/// Every case names where in the template source the problem is, so a report can point at it.
public enum TemplateError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The source is not valid Jinja (what Jinja itself would reject with `TemplateSyntaxError`).
  case syntax(message: String, location: SourceLocation)
  /// A valid Jinja construct this interpreter does not implement. Rendering refuses rather than
  /// produce a prompt that might differ from `transformers`.
  case unsupported(construct: String, location: SourceLocation)
  /// The template called `raise_exception(message)`.
  case raised(message: String, location: SourceLocation)
  /// A runtime error Jinja would also raise (type error, undefined attribute of an undefined value,
  /// sandbox security error, ...).
  case runtime(message: String, location: SourceLocation)
  /// A resource cap was hit (source size, nesting depth, output size, evaluation steps).
  case limitExceeded(what: String, limit: Int, location: SourceLocation)

  /// Where the error happened.
  public var location: SourceLocation {
    switch self {
    case .syntax(_, let l), .unsupported(_, let l), .raised(_, let l), .runtime(_, let l),
      .limitExceeded(_, _, let l):
      return l
    }
  }

  /// A one-line human readable message.
  public var description: String {
    switch self {
    case .syntax(let m, let l): return "template syntax error at \(l): \(m)"
    case .unsupported(let c, let l): return "unsupported template construct at \(l): \(c)"
    case .raised(let m, let l): return "template raised an exception at \(l): \(m)"
    case .runtime(let m, let l): return "template runtime error at \(l): \(m)"
    case .limitExceeded(let w, let n, let l): return "template limit exceeded at \(l): \(w) (limit \(n))"
    }
  }
}
