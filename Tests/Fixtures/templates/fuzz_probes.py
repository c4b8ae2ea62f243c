# Random (seeded) expressions over a fixed context: a differential fuzz corpus. Rendered by
# make_template_refs.py (step `fuzz`) with transformers' environment into fuzz_refs.json.
import random

VARIABLES = {
    "s": "Héllo Wörld, it's 🎉", "n": 7, "f": 2.5, "l": [3, 1, 2], "e": "", "z": 0, "t": True,
    "m": {"role": "user", "content": " Hi {{x}} <b>&\n"},
    "msgs": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
             {"role": "assistant", "content": "A", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
             {"role": "user", "content": ["part"]}],
    "words": ["b", "A", "a", "c", "B"],
}

NAMES = ["s", "n", "f", "l", "e", "z", "t", "m", "msgs", "words", "s", "l", "n", "m", "u"]
LITERALS = ["0", "1", "2", "3", "-1", "10", "0.5", "1e3", "-2.25", "'a'", "'Ab c'", "'é'", "' x '", "\"it's\"",
            "''", "none", "true", "false", "[1, 2]", "['x', 'y']", "[]", "{'k': 1}", "{}", "(1, 'a')"]
FILTERS = ["length", "upper", "lower", "trim", "first", "last", "join(',')", "join", "default('d')", "d('d', true)",
           "string", "list", "int", "float", "abs", "round", "title", "capitalize", "tojson", "tojson(indent=1)",
           "reverse|list", "sort", "sort(reverse=true)", "unique|list", "replace('l', 'L')", "count", "wordcount",
           "indent(2)", "e", "safe", "selectattr('role', 'equalto', 'user')|list", "map(attribute='role')|list",
           "rejectattr('role', 'in', ['system'])|list", "items|list", "select('odd')|list", "batch(2)|list",
           "map('upper')|list", "min", "max", "sum", "dictsort", "trim('H')", "center(3)"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "odd", "even", "divisibleby(3)",
         "divisibleby 2", "in [1, 2, 'a']", "equalto 1", "eq 'user'", "iterable", "mapping", "sequence", "lower",
         "upper", "true", "false", "boolean", "sameas none", "gt 1", "callable", "escaped"]
METHODS = ["upper()", "lower()", "split()", "split(',')", "strip()", "strip('H')", "startswith('H')",
           "endswith('🎉')", "replace('l', 'L')", "title()", "find('o')", "count('l')", "lstrip()", "rstrip('🎉')",
           "capitalize()", "split(' ', 1)", "rsplit(' ', 1)", "splitlines()", "isdigit()", "format(1)",
           "get('role')", "get('x', 5)", "items()|list", "keys()|list", "values()|list", "index(1)", "count(1)"]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "~", "and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "not in"]


def atom(r, depth):
    k = r.random()
    if depth <= 0 or k < 0.45:
        return r.choice(NAMES) if r.random() < 0.55 else r.choice(LITERALS)
    if k < 0.55:
        base = r.choice(["m", "msgs[0]", "msgs[-1]", "msgs[2]"])
        return r.choice([f"{base}.role", f"{base}['content']", f"{base}.content", f"{base}.tool_calls", f"{base}.nope"])
    if k < 0.62:
        seq = r.choice(["s", "l", "msgs", "words", "'abcdef'"])
        a, b, c = (r.choice(["", "1", "-1", "2", "-2", "0"]) for _ in range(3))
        return r.choice([f"{seq}[{a}:{b}]", f"{seq}[{a}:{b}:{c or '1'}]", f"{seq}[::-1]", f"{seq}[{a or '0'}]"])
    if k < 0.72:
        return f"({expr(r, depth - 1)})|{r.choice(FILTERS)}"
    if k < 0.8:
        neg = " not" if r.random() < 0.3 else ""
        return f"(({expr(r, depth - 1)}) is{neg} {r.choice(TESTS)})"
    if k < 0.9:
        recv = r.choice(["s", "m", "l", "e", "'a,b, c'", "words", "m.content", "u"])
        return f"{recv}.{r.choice(METHODS)}"
    return f"[{expr(r, depth - 1)}, {expr(r, depth - 1)}]"


def expr(r, depth):
    k = r.random()
    if depth > 0 and k < 0.35:
        return f"({expr(r, depth - 1)} {r.choice(BINOPS)} {expr(r, depth - 1)})"
    if depth > 0 and k < 0.42:
        return f"({expr(r, depth - 1)} if {expr(r, depth - 1)} else {expr(r, depth - 1)})"
    if depth > 0 and k < 0.47:
        return f"(not {expr(r, depth - 1)})"
    if depth > 0 and k < 0.5:
        return f"(-{atom(r, depth - 1)})"
    return atom(r, depth)


def statement(r):
    k = r.random()
    if k < 0.6:
        return "{{ " + expr(r, 3) + " }}"
    if k < 0.8:
        it = r.choice(["l", "msgs", "s", "m", "words", "range(3)", "m.items()", "u", "none"])
        cond = f" if {expr(r, 1)}" if r.random() < 0.3 else ""
        body = r.choice(["{{ loop.index }}{{ x }}", "{{ loop.revindex }}{{ loop.first }}{{ loop.last }}",
                         "[{{ loop.previtem }}|{{ loop.nextitem }}]", "{% if loop.index > 2 %}{% break %}{% endif %}{{ x }}"])
        return "{% for x in " + it + cond + " %}" + body + "{% else %}E{% endfor %}"
    return "{% if " + expr(r, 2) + " %}Y{% elif " + expr(r, 2) + " %}M{% else %}N{% endif %}"


def probes(count=1000, seed=20241126):
    r = random.Random(seed)
    return [(f"fuzz_{i:04d}", statement(r) + "|" + statement(r), VARIABLES) for i in range(count)]


WS = ["", " ", "  ", "\n", "\n\n", "\t", " \n ", "\n    ", "x", " y ", "\u00a0", "\r\n", "\n  z\n"]


def tag(r, body):
    left = r.choice(["", "", "-", "+"])
    right = r.choice(["", "", "-", "+"])
    return "{%" + left + " " + body + " " + right + "%}"


def ws_node(r, depth):
    k = r.random()
    if depth <= 0 or k < 0.3:
        return r.choice(WS)
    if k < 0.45:
        return "{{" + r.choice(["", "-"]) + " 'v' " + r.choice(["", "-"]) + "}}"
    if k < 0.55:
        return "{#" + r.choice(["", "-", "+"]) + " c " + r.choice(["", "-", "+"]) + "#}"
    inner = "".join(ws_node(r, depth - 1) for _ in range(r.randint(1, 4)))
    if k < 0.75:
        other = "".join(ws_node(r, depth - 1) for _ in range(r.randint(0, 2)))
        return tag(r, "if " + r.choice(["true", "false"])) + inner + tag(r, "else") + other + tag(r, "endif")
    if k < 0.9:
        return tag(r, "for i in [1, 2]") + inner + tag(r, "endfor")
    return tag(r, "set b") + inner + tag(r, "endset") + "{{ b }}"


def whitespace_probes(count=600, seed=424242):
    r = random.Random(seed)
    return [(f"ws_{i:04d}", "".join(ws_node(r, 3) for _ in range(r.randint(1, 5))), VARIABLES) for i in range(count)]
