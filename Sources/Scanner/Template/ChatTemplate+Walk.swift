// Traversal of the template syntax tree for static analysis.

/// What a top-level expression of a statement is used for.
public enum TemplateExpressionRole: Sendable, Equatable {
  /// Printed by `{{ }}` or `{% print %}`.
  case output
  /// An `if`/`elif` condition.
  case condition
  /// The iterated value of a `for`.
  case loopIterable
  /// The inline `for ... if condition`.
  case loopFilter
  /// The value of `{% set x = value %}`.
  case assignment
  /// A macro parameter default.
  case parameterDefault
  /// The call of a `{% call %}` block.
  case callBlock
  /// An argument of a block-level filter (`{% filter f(arg) %}`, `{% set x | f(arg) %}`).
  case filterArgument
}

/// A condition that holds wherever a visited element executes.
public struct TemplateGuard: Sendable {
  /// The condition expression.
  public let condition: TemplateExpression
  /// True when the element runs only if the condition is false (a later `elif`/`else` branch).
  public let negated: Bool
}

/// Where a visited element sits in the template.
public struct TemplateWalkContext: Sendable {
  /// Enclosing statements (`if`, `for`, `macro`, `set` blocks, ...), outermost first.
  public let ancestors: [TemplateNode]
  /// Branch conditions that must hold (or fail, when `negated`) for the element to run, outermost first.
  public let guards: [TemplateGuard]
}

/// One element visited by ``ChatTemplate/walk(_:)``.
public enum TemplateWalkEvent: Sendable {
  /// A statement or text node.
  case node(TemplateNode)
  /// A top-level expression of a statement, with its role. Use ``TemplateExpression/walk(_:)``
  /// for its sub-expressions.
  case expression(TemplateExpression, role: TemplateExpressionRole)
}

extension ChatTemplate {
  /// Visits every node and every statement-level expression, depth-first in source order.
  ///
  /// - Parameter visit: Called with each element and its context (ancestors and guarding conditions).
  /// - Complexity: O(number of nodes and expressions).
  public func walk(_ visit: (TemplateWalkEvent, TemplateWalkContext) -> Void) {
    var ancestors: [TemplateNode] = []
    var guards: [TemplateGuard] = []
    Self.walk(nodes, &ancestors, &guards, visit)
  }

  /// Visits every expression and sub-expression in the template, pre-order.
  ///
  /// - Parameter visit: Called with each expression.
  public func walkExpressions(_ visit: (TemplateExpression) -> Void) {
    walk { event, _ in
      if case .expression(let e, _) = event { e.walk(visit) }
    }
  }

  private static func walk(
    _ nodes: [TemplateNode], _ ancestors: inout [TemplateNode], _ guards: inout [TemplateGuard],
    _ visit: (TemplateWalkEvent, TemplateWalkContext) -> Void
  ) {
    for node in nodes {
      var context: TemplateWalkContext { TemplateWalkContext(ancestors: ancestors, guards: guards) }
      visit(.node(node), context)
      ancestors.append(node)
      defer { ancestors.removeLast() }
      switch node.kind {
      case .text, .comment, .breakLoop, .continueLoop:
        break
      case .output(let e):
        visit(.expression(e, role: .output), context)
      case .conditional(let branches, let otherwise):
        let saved = guards.count
        for branch in branches {
          visit(.expression(branch.condition, role: .condition), context)
          guards.append(TemplateGuard(condition: branch.condition, negated: false))
          walk(branch.body, &ancestors, &guards, visit)
          guards.removeLast()
          guards.append(TemplateGuard(condition: branch.condition, negated: true))
        }
        if let otherwise { walk(otherwise, &ancestors, &guards, visit) }
        guards.removeSubrange(saved...)
      case .forLoop(let loop):
        visit(.expression(loop.iterable, role: .loopIterable), context)
        if let c = loop.condition { visit(.expression(c, role: .loopFilter), context) }
        walk(loop.body, &ancestors, &guards, visit)
        if let otherwise = loop.otherwise { walk(otherwise, &ancestors, &guards, visit) }
      case .set(_, let value):
        visit(.expression(value, role: .assignment), context)
      case .setBlock(_, let filters, let body), .filterBlock(let filters, let body):
        for f in filters { for a in f.arguments { visit(.expression(a.value, role: .filterArgument), context) } }
        walk(body, &ancestors, &guards, visit)
      case .macro(_, let parameters, let body):
        for p in parameters { if let d = p.defaultValue { visit(.expression(d, role: .parameterDefault), context) } }
        walk(body, &ancestors, &guards, visit)
      case .callBlock(let call, let parameters, let body):
        visit(.expression(call, role: .callBlock), context)
        for p in parameters { if let d = p.defaultValue { visit(.expression(d, role: .parameterDefault), context) } }
        walk(body, &ancestors, &guards, visit)
      case .generation(let body):
        walk(body, &ancestors, &guards, visit)
      }
    }
  }
}

extension TemplateExpression {
  /// The direct sub-expressions, in source order.
  public var children: [TemplateExpression] {
    switch kind {
    case .string, .integer, .float, .boolean, .none, .name: return []
    case .list(let items), .tuple(let items): return items
    case .dict(let entries): return entries.flatMap { [$0.key, $0.value] }
    case .attribute(let o, _): return [o]
    case .item(let o, let i): return [o, i]
    case .slice(let o, let a, let b, let c): return [o] + [a, b, c].compactMap { $0 }
    case .call(let callee, let args): return [callee] + args.map(\.value)
    case .filter(let v, _, let args), .test(let v, _, let args, _): return [v] + args.map(\.value)
    case .unary(_, let v): return [v]
    case .binary(_, let a, let b): return [a, b]
    case .compare(let first, let ops): return [first] + ops.map(\.operand)
    case .conditional(let t, let c, let o): return [t, c] + (o.map { [$0] } ?? [])
    }
  }

  /// Visits this expression and all its sub-expressions, pre-order.
  ///
  /// - Parameter visit: Called with each expression.
  public func walk(_ visit: (TemplateExpression) -> Void) {
    visit(self)
    for c in children { c.walk(visit) }
  }
}

enum TemplateNames {
  /// Every variable name referenced by expressions in `nodes` (used to decide whether a macro
  /// accepts `varargs`/`kwargs`, as Jinja does at compile time).
  static func mentioned(in nodes: [TemplateNode]) -> Set<String> {
    var names: Set<String> = []
    ChatTemplate(source: "", nodes: nodes).walkExpressions { e in
      if case .name(let n) = e.kind { names.insert(n) }
    }
    return names
  }
}
