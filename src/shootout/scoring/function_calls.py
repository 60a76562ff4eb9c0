"""Function calls: BFCL's AST checker, written from its definition, and the decoders of a
model's calls (BFCL's prompted format `[f(a=1), g(b="x")]`, and native `tool_calls`).

The checker (Patil et al. 2025, "The Berkeley Function Calling Leaderboard") accepts a call
when the function name is the expected one, every required parameter is present, every
parameter given is declared and expected, each value has its declared type (an integer is
accepted where a float is declared: Python's own int→float conversion, also inside arrays)
and is among the accepted values ("" among them: the parameter may be left out). Strings are
compared with spaces and `,./-_*^` removed, case-folded, so "April 1, 2024" matches "april 1
2024". Parallel calls match order-free: any one-to-one pairing of calls with expected calls.
Irrelevance is right only when no call is made.

Where the accepted values of a parameter have another type than the declared one (a
variable name given as a string), a value of the accepted values' type is type-correct, as
BFCL's checker allows.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "float": float, "boolean": bool,
    "array": list, "tuple": list, "dict": dict,
}
_STRIP = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Call:
    """One function call: its name and its arguments by parameter name."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    valid: bool
    # "" when valid; else wrong_count, wrong_name, missing_required, unexpected_param, type,
    # value, missing_optional, made_call (irrelevance)
    kind: str = ""
    reason: str = ""


OK = Verdict(True)


def _bad(kind: str, reason: str) -> Verdict:
    return Verdict(False, kind, reason)


def _norm(s: str) -> str:
    return _STRIP.sub("", s).lower().replace("'", '"')


def _type_ok(value: Any, declared: str) -> bool:
    """`value` has the declared BFCL type (bool is not an integer; int passes as float)."""
    if declared == "any":
        return True
    if declared == "float" and type(value) is int:
        return True
    want = _PY_TYPES.get(declared)
    return want is not None and type(value) is want


def _value_type_ok(value: Any, schema: Mapping[str, Any], accepted: Sequence[Any]) -> bool:
    declared = str(schema.get("type", "any"))
    if _type_ok(value, declared):
        if declared in ("array", "tuple") and isinstance(schema.get("items"), Mapping):
            inner = str(schema["items"].get("type", "any"))
            return all(_type_ok(v, inner) for v in value) or any(
                isinstance(a, list) and all(_like_accepted(v, a) for v in value)
                for a in accepted)
        return True
    return _like_accepted(value, accepted)


def _like_accepted(value: Any, accepted: Sequence[Any]) -> bool:
    """The accepted values' own type, where it is not the declared one (a variable name)."""
    kinds = {type(a) for a in accepted if a != ""}
    return type(value) in kinds


def _same(value: Any, want: Any) -> bool:
    if isinstance(want, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(want, str) and _norm(value) == _norm(want)
    if isinstance(want, list):
        return (isinstance(value, list) and len(value) == len(want)
                and all(_same(v, w) for v, w in zip(value, want, strict=True)))
    if isinstance(want, dict):
        return isinstance(value, dict) and _dict_ok(value, want)
    if isinstance(value, bool) or isinstance(want, bool):
        return type(value) is type(want) and value == want
    return bool(value == want)


def _dict_ok(value: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    """A dict argument: each key expected and its value accepted; each key whose accepted
    values lack "" present."""
    for k, v in value.items():
        options = want.get(k)
        if not isinstance(options, list) or not any(_same(v, o) for o in options if o != ""):
            return False
    return all(k in value or "" in opts for k, opts in want.items() if isinstance(opts, list))


def check_call(function: Mapping[str, Any], call: Call,
               expected: Mapping[str, Mapping[str, list[Any]]]) -> Verdict:
    """One call against one expected call `{name: {param: [accepted values…]}}`, with the
    function's documentation `function` (BFCL's JSON-schema-like docs)."""
    (name, accepted), = expected.items()
    if call.name != name:
        return _bad("wrong_name", f"called {call.name!r}, expected {name!r}")
    params = function.get("parameters", {})
    props: Mapping[str, Any] = params.get("properties", {})
    for p in params.get("required", []):
        if p not in call.args:
            return _bad("missing_required", f"{name}: required parameter {p!r} missing")
    for p, v in call.args.items():
        if p not in props or p not in accepted:
            return _bad("unexpected_param", f"{name}: unexpected parameter {p!r}")
        if not _value_type_ok(v, props[p], accepted[p]):
            return _bad("type", f"{name}: {p}={v!r} is not of type {props[p].get('type')}")
        if not any(_same(v, a) for a in accepted[p] if a != ""):
            return _bad("value", f"{name}: {p}={v!r} not among {accepted[p]!r}")
    for p, options in accepted.items():
        if p not in call.args and "" not in options:
            return _bad("missing_optional", f"{name}: parameter {p!r} expected, not given")
    return OK


def _doc(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    return next((f for f in functions if f.get("name") == name), {"name": name})


def check_calls(category: str, functions: Sequence[Mapping[str, Any]], calls: Sequence[Call],
                ground_truth: Sequence[Mapping[str, Mapping[str, list[Any]]]]) -> Verdict:
    """The AST verdict of a model's calls on one BFCL item of `category` (simple, multiple,
    parallel, parallel_multiple, irrelevance)."""
    if category == "irrelevance":
        if calls:
            return _bad("made_call", f"called {', '.join(c.name for c in calls)}; "
                        "no function fits the question")
        return OK
    if len(calls) != len(ground_truth):
        return _bad("wrong_count", f"{len(calls)} call(s), expected {len(ground_truth)}")
    if not category.startswith("parallel"):
        exp = ground_truth[0]
        return check_call(_doc(functions, next(iter(exp))), calls[0], exp)
    return _match_unordered(functions, calls, ground_truth)


def _match_unordered(functions: Sequence[Mapping[str, Any]], calls: Sequence[Call],
                     ground_truth: Sequence[Mapping[str, Mapping[str, list[Any]]]]) -> Verdict:
    """Order-free: valid when some one-to-one pairing of calls with expected calls passes
    (BFCL pairs greedily; a full search never rejects a pairing that exists)."""
    ok = [[check_call(_doc(functions, next(iter(exp))), c, exp).valid for c in calls]
          for exp in ground_truth]
    n = len(calls)
    if n <= 8:
        if any(all(ok[i][p[i]] for i in range(n)) for p in permutations(range(n))):
            return OK
    elif _bipartite(ok):
        return OK
    first = next((i for i, row in enumerate(ok) if not any(row)), None)
    if first is not None:
        exp = ground_truth[first]
        why = [check_call(_doc(functions, next(iter(exp))), c, exp).reason for c in calls]
        return _bad("no_match", f"no call matches expected call {first}: {'; '.join(why)}")
    return _bad("no_match", "the calls cannot be paired one-to-one with the expected calls")


def _bipartite(ok: list[list[bool]]) -> bool:
    match: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j, good in enumerate(ok[i]):
            if good and j not in seen:
                seen.add(j)
                if j not in match or augment(match[j], seen):
                    match[j] = i
                    return True
        return False

    return all(augment(i, set()) for i in range(len(ok)))


# --------------------------------------------------------------------------- malformed calls


def malformed(functions: Sequence[Mapping[str, Any]], calls: Sequence[Call],
              ground_truth: Sequence[Mapping[str, Mapping[str, list[Any]]]] = ()) -> str:
    """Why the calls are malformed against the offered functions, whatever the question
    asked: "unknown_function" (a name not offered) or "wrong_type" (a declared parameter
    given a value of another type; null for an optional one is no value; a value of the
    type of an accepted answer, `ground_truth`, is not wrong either); "" when well-formed."""
    docs = {str(f.get("name")): f for f in functions}
    accepted: dict[tuple[str, str], list[Any]] = {}
    for exp in ground_truth:
        for name, params in exp.items():
            for p, values in params.items():
                accepted.setdefault((name, p), []).extend(values)
    for c in calls:
        if c.name not in docs:
            return "unknown_function"
        params = docs[c.name].get("parameters", {})
        props, required = params.get("properties", {}), params.get("required", [])
        for p, v in c.args.items():
            if v is None and p not in required:  # an optional parameter left unset
                continue
            if p in props and not _value_type_ok(v, props[p], accepted.get((c.name, p), [])):
                return "wrong_type"
    return ""


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Decoded:
    """The calls read from a response; `error` says why calls that were attempted could not
    be read (then `calls` is empty)."""

    calls: tuple[Call, ...] = ()
    error: str = ""


_ATTEMPT = re.compile(r"\s*[`\s]*\[")
_MAX_POWER = 64  # the largest exponent an argument's arithmetic may use


class _NotACall(ValueError):
    pass


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise _NotACall("a call's function is not a (dotted) name")


_ARITH: dict[type, Any] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: a ** b,
}


def _arithmetic(node: ast.expr) -> Any:
    """An argument's arithmetic on constants (`base=3*4`, `name="a" + "b"`), which BFCL
    evaluates; computed here without `eval`: the answer is the model's, untrusted."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _arithmetic(node.operand)
        if type(v) in (int, float):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        a, b = _arithmetic(node.left), _arithmetic(node.right)
        if isinstance(node.op, ast.Pow) and not (type(b) in (int, float) and abs(b) <= _MAX_POWER):
            raise _NotACall("an exponent too large")
        if (isinstance(a, str) or isinstance(b, str)) and not isinstance(node.op, ast.Add):
            raise _NotACall("string arithmetic other than +")
        try:
            return _ARITH[type(node.op)](a, b)
        except (TypeError, ZeroDivisionError, OverflowError) as e:
            raise _NotACall(f"argument arithmetic fails: {e}") from e
    raise _NotACall(f"argument {ast.unparse(node)[:40]!r} is not arithmetic on constants")


def _literal(node: ast.expr) -> Any:
    """An argument's value as BFCL's decoder (`resolve_ast_by_type`) reads it: constants,
    lists and tuples (as lists), dicts, negative numbers, arithmetic on constants (its
    value), a bare name (its name as a string: `true` is "true"), a subscript (its text), a
    call (its text without keyword arguments, else the nested call as {name: arguments})."""
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotACall("** in a dict argument")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)
                if k is not None}
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        return _arithmetic(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        return f"{ast.unparse(node.value)}[{ast.unparse(node.slice)}]"
    if isinstance(node, ast.Call):
        if not node.keywords:
            return ast.unparse(node)
        inner = _call(node)
        return {inner.name: dict(inner.args)}
    raise _NotACall(f"argument {ast.unparse(node)[:40]!r} is not a value")


def _call(node: ast.Call) -> Call:
    """A call as BFCL reads it: its keyword arguments (positional ones are not read)."""
    if any(k.arg is None for k in node.keywords):
        raise _NotACall(f"** arguments to {_dotted(node.func)}")
    return Call(_dotted(node.func), {str(k.arg): _literal(k.value) for k in node.keywords})


def _calls_of(tree: ast.expr) -> tuple[Call, ...]:
    if isinstance(tree, ast.Call):
        return (_call(tree),)
    elts = getattr(tree, "elts", None)
    if elts is None:
        raise _NotACall("not a list of function calls")
    out = []
    for n in elts:
        if not isinstance(n, ast.Call):
            raise _NotACall("not a list of function calls")
        out.append(_call(n))
    return tuple(out)


def decode_prompted(text: str, names: Sequence[str]) -> Decoded:
    """Calls in BFCL's prompted format, `[func(a=1, b="x"), other(c=[1, 2])]`, read exactly as
    BFCL's `default_decode_ast_prompting` reads them: backticks, newlines and spaces stripped
    from both ends, the text put in brackets where it is not, then parsed as one Python list
    of calls. Anything else (prose around the calls, a fenced block with a language tag, a
    second line) does not decode: wrong on the call categories, no call (right) on
    irrelevance. `error` says why where the answer looks like an attempted call (it starts
    with "[" or names an offered function followed by "("), so that prose is not counted
    as malformed."""
    body = text.strip("`\n ")
    if not body.startswith("["):
        body = "[" + body
    if not body.endswith("]"):
        body = body + "]"
    try:
        tree = ast.parse(body.strip().strip("'"), mode="eval").body
        return Decoded(_calls_of(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        error = str(e) if isinstance(e, _NotACall) else "the calls do not parse as Python"
    if _ATTEMPT.match(text) or any(re.search(re.escape(n) + r"\s*\(", text) for n in names):
        return Decoded((), error)
    return Decoded()


def decode_native(tool_calls: Sequence[tuple[str, str]], names: Mapping[str, str]) -> Decoded:
    """Native calls, each (name, JSON arguments), with `names` mapping the names sent to the
    API back to the documented ones (OpenAI allows no "." in a name)."""
    out = []
    for name, arguments in tool_calls:
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return Decoded((), f"arguments of {name} are not JSON: {arguments[:60]!r}")
        if not isinstance(args, dict):
            return Decoded((), f"arguments of {name} are not a JSON object")
        out.append(Call(names.get(name, name), args))
    return Decoded(tuple(out))
