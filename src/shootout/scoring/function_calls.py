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


_FENCE = re.compile(r"```[a-zA-Z]*\n?(.*?)```", re.S)
_LITERAL_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False,
                  "None": None}


class _NotACall(ValueError):
    pass


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise _NotACall("a call's function is not a (dotted) name")


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotACall("** in a dict argument")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)
                if k is not None}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _literal(node.operand)
        if type(v) in (int, float):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Name):  # JSON literals, or a variable: its name (as BFCL reads it)
        return _LITERAL_NAMES.get(node.id, node.id)
    raise _NotACall(f"argument {ast.unparse(node)[:40]!r} is not a literal")


def _calls_of(tree: ast.expr) -> tuple[Call, ...]:
    nodes = tree.elts if isinstance(tree, ast.List | ast.Tuple) else [tree]
    out = []
    for n in nodes:
        if not isinstance(n, ast.Call):
            raise _NotACall("not a list of function calls")
        if n.args:
            raise _NotACall(f"positional arguments to {_dotted(n.func)}")
        if any(k.arg is None for k in n.keywords):
            raise _NotACall(f"** arguments to {_dotted(n.func)}")
        out.append(Call(_dotted(n.func), {str(k.arg): _literal(k.value) for k in n.keywords}))
    return tuple(out)


def decode_prompted(text: str, names: Sequence[str]) -> Decoded:
    """Calls in BFCL's prompted format, `[func(a=1, b="x"), other(c=[1, 2])]` (one bare call
    is read too). Text with no bracketed list and no offered function's name followed by "("
    is an answer without calls (right for irrelevance); a call attempt that does not parse is
    an error."""
    whole = text.strip()
    fence = _FENCE.search(whole)
    candidates: list[str] = []
    for body in ([fence.group(1).strip()] if fence else []) + [whole]:
        candidates += [body, body.split("\n", 1)[0].strip()]  # the calls, or their line
        if "[" in body and "]" in body:
            candidates.append(body[body.index("["): body.rindex("]") + 1])
    body = whole
    error = ""
    for cand in candidates:
        try:
            tree = ast.parse(cand, mode="eval").body
        except (SyntaxError, ValueError):
            error = error or "the calls do not parse as Python"
            continue
        try:
            return Decoded(_calls_of(tree))
        except _NotACall as e:
            error = str(e)
    if body.startswith("[") or any(re.search(re.escape(n) + r"\s*\(", body) for n in names):
        return Decoded((), error or "the calls do not parse")
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
