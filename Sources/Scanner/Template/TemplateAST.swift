// The public syntax tree of a Jinja2 chat template. The static chat-template audit walks it
// (see ChatTemplate+Walk.swift); the interpreter renders it. Every node keeps its source location.

/// An expression in a template (inside `{{ }}` or a statement).
public struct TemplateExpression: Sendable {
  /// Where the expression starts in the source.
  public let location: SourceLocation
  /// What the expression is.
  public let kind: Kind

  /// Creates an expression node.
  public init(_ kind: Kind, at location: SourceLocation) {
    self.kind = kind
    self.location = location
  }

  /// The expression forms of the supported Jinja subset.
  public indirect enum Kind: Sendable {
    /// A string literal (escapes already decoded; adjacent literals joined).
    case string(String)
    /// An integer literal.
    case integer(Int)
    /// A float literal.
    case float(Double)
    /// `true`/`false` (any case Jinja accepts: `true`, `True`).
    case boolean(Bool)
    /// `none`/`None`.
    case none
    /// A variable reference.
    case name(String)
    /// `[a, b]`.
    case list([TemplateExpression])
    /// `(a, b)` or an implicit tuple `a, b`.
    case tuple([TemplateExpression])
    /// `{k: v, ...}`.
    case dict([TemplateDictEntry])
    /// `object.name` (Jinja: attribute first, then item).
    case attribute(TemplateExpression, name: String)
    /// `object[index]` (Jinja: item first, then attribute).
    case item(TemplateExpression, index: TemplateExpression)
    /// `object[start:stop:step]`.
    case slice(TemplateExpression, start: TemplateExpression?, stop: TemplateExpression?, step: TemplateExpression?)
    /// `callee(arguments)`.
    case call(TemplateExpression, arguments: [TemplateArgument])
    /// `value | name(arguments)`.
    case filter(TemplateExpression, name: String, arguments: [TemplateArgument])
    /// `value is [not] name(arguments)`.
    case test(TemplateExpression, name: String, arguments: [TemplateArgument], negated: Bool)
    /// `not x`, `-x`, `+x`.
    case unary(TemplateUnaryOperator, TemplateExpression)
    /// Arithmetic, `~`, `and`, `or`.
    case binary(TemplateBinaryOperator, TemplateExpression, TemplateExpression)
    /// A comparison chain `a < b <= c` (also `==`, `!=`, `in`, `not in`).
    case compare(TemplateExpression, [TemplateComparison])
    /// `then if condition else otherwise` (`otherwise` nil: undefined when false).
    case conditional(then: TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
  }
}

/// One `key: value` pair of a dict literal.
public struct TemplateDictEntry: Sendable {
  /// The key expression.
  public let key: TemplateExpression
  /// The value expression.
  public let value: TemplateExpression
}

/// One link of a comparison chain.
public struct TemplateComparison: Sendable {
  /// The operator.
  public let op: TemplateComparisonOperator
  /// The right-hand operand.
  public let operand: TemplateExpression
}

/// A call, filter or test argument; `name` is set for keyword arguments.
public struct TemplateArgument: Sendable {
  /// Keyword name, or nil for a positional argument.
  public let name: String?
  /// The argument value.
  public let value: TemplateExpression
}

/// Prefix operators.
public enum TemplateUnaryOperator: String, Sendable {
  /// `not`
  case not
  /// `-`
  case negate = "-"
  /// `+`
  case plus = "+"
}

/// Infix operators other than comparisons.
public enum TemplateBinaryOperator: String, Sendable {
  /// `+`
  case add = "+"
  /// `-`
  case subtract = "-"
  /// `*`
  case multiply = "*"
  /// `/` (true division, always a float)
  case divide = "/"
  /// `//` (floor division)
  case floorDivide = "//"
  /// `%` (Python modulo)
  case modulo = "%"
  /// `**`
  case power = "**"
  /// `~` (string concatenation)
  case concat = "~"
  /// `and` (short-circuit, returns an operand)
  case and
  /// `or` (short-circuit, returns an operand)
  case or
}

/// Comparison operators.
public enum TemplateComparisonOperator: String, Sendable {
  /// `==`
  case equal = "=="
  /// `!=`
  case notEqual = "!="
  /// `<`
  case less = "<"
  /// `<=`
  case lessOrEqual = "<="
  /// `>`
  case greater = ">"
  /// `>=`
  case greaterOrEqual = ">="
  /// `in`
  case `in`
  /// `not in`
  case notIn = "not in"
}

/// The left side of a `{% set %}` or a `{% for %}` target.
public enum TemplateAssignTarget: Sendable, Equatable {
  /// A plain variable.
  case name(String)
  /// `namespace.attribute` (only namespaces accept it at run time).
  case attribute(object: String, name: String)
  /// `a, b` unpacking.
  case tuple([String])
}

/// A macro parameter, with an optional default value.
public struct TemplateParameter: Sendable {
  /// Parameter name.
  public let name: String
  /// Default value expression, if any.
  public let defaultValue: TemplateExpression?
}

/// A filter applied by `{% filter %}` or a block `{% set x | f %}`.
public struct TemplateFilterCall: Sendable {
  /// Filter name.
  public let name: String
  /// Filter arguments (after the filtered value).
  public let arguments: [TemplateArgument]
  /// Where the filter name is.
  public let location: SourceLocation
}

/// One `if`/`elif` branch.
public struct TemplateBranch: Sendable {
  /// The branch condition.
  public let condition: TemplateExpression
  /// The branch body.
  public let body: [TemplateNode]
}

/// A `{% for %}` loop.
public struct TemplateForLoop: Sendable {
  /// The loop variable(s).
  public let target: TemplateAssignTarget
  /// The iterated expression.
  public let iterable: TemplateExpression
  /// The inline filter `for x in y if condition`.
  public let condition: TemplateExpression?
  /// The loop body.
  public let body: [TemplateNode]
  /// The `{% else %}` body, rendered when no item was iterated.
  public let otherwise: [TemplateNode]?
  /// Whether the loop was declared `recursive` (unsupported at run time).
  public let recursive: Bool
}

/// A statement or piece of output in a template.
public struct TemplateNode: Sendable {
  /// Where the node starts (for tags: the `{%`/`{{` delimiter).
  public let location: SourceLocation
  /// What the node is.
  public let kind: Kind

  /// Creates a node.
  public init(_ kind: Kind, at location: SourceLocation) {
    self.kind = kind
    self.location = location
  }

  /// The statement forms of the supported Jinja subset.
  public indirect enum Kind: Sendable {
    /// Literal text, after whitespace control.
    case text(String)
    /// `{{ expression }}`.
    case output(TemplateExpression)
    /// `{# comment #}` (kept for the audit; renders nothing).
    case comment(String)
    /// `{% if %}{% elif %}...{% else %}{% endif %}`.
    case conditional(branches: [TemplateBranch], otherwise: [TemplateNode]?)
    /// `{% for %}`.
    case forLoop(TemplateForLoop)
    /// `{% set target = value %}`.
    case set(target: TemplateAssignTarget, value: TemplateExpression)
    /// `{% set target %}body{% endset %}`, optionally filtered.
    case setBlock(target: TemplateAssignTarget, filters: [TemplateFilterCall], body: [TemplateNode])
    /// `{% macro name(parameters) %}body{% endmacro %}`.
    case macro(name: String, parameters: [TemplateParameter], body: [TemplateNode])
    /// `{% call(parameters) callee(...) %}body{% endcall %}`.
    case callBlock(call: TemplateExpression, parameters: [TemplateParameter], body: [TemplateNode])
    /// `{% filter name %}body{% endfilter %}`.
    case filterBlock(filters: [TemplateFilterCall], body: [TemplateNode])
    /// `{% break %}`.
    case breakLoop
    /// `{% continue %}`.
    case continueLoop
    /// transformers' `{% generation %}...{% endgeneration %}` (renders its body).
    case generation(body: [TemplateNode])
  }
}
