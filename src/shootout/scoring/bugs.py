"""Deterministic single-bug mutations of a Python function, for the humanevalfix benchmark.

Three kinds, as in HumanEvalFix (Muennighoff et al., 2023): an operator swap (`<` and `<=`,
`>` and `>=`, `==` and `!=`, `+` and `-`, `and` and `or`), an off-by-one (an integer literal
n becomes n + 1) and a wrong variable (a read of one local name becomes another local name).
Each mutation is a text edit of one span of the solution, located through the AST, so the rest
of the code (comments, layout) is untouched. `candidates` lists every mutation of a solution in
a fixed order; the order depends only on the task id, so the same data always yields the same
bug (scripts/make_humanevalfix.py keeps the first one whose program fails its tests).
"""

from __future__ import annotations

import ast
import hashlib
import random
from dataclasses import dataclass

KINDS = ("operator", "off_by_one", "variable")
_SWAPS = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
          ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Add: ("+", "-"),
          ast.Sub: ("-", "+"), ast.And: ("and", "or"), ast.Or: ("or", "and")}


@dataclass(frozen=True)
class Bug:
    kind: str
    line: int  # 1-based, within the solution
    old: str
    new: str
    solution: str  # the whole solution with the bug

    @property
    def description(self) -> str:
        return f"{self.kind}: `{self.old}` -> `{self.new}` on line {self.line}"


def candidates(task_id: str, prompt: str, solution: str) -> list[Bug]:
    """Every single-span mutation of `solution` (which continues `prompt`), in the order fixed
    by `task_id`: kinds rotated by the id's hash, each kind's mutations shuffled by it."""
    source = prompt + solution
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    offsets = _line_offsets(source)
    start = len(prompt)
    found: dict[str, list[Bug]] = {k: [] for k in KINDS}
    locals_ = _local_names(tree)
    for node in ast.walk(tree):
        for kind, span, old, new in _edits(node, source, offsets, locals_):
            a, b = span
            if a < start or source[a:b] != old:
                continue
            text = source[:a] + new + source[b:]
            try:
                ast.parse(text)
            except SyntaxError:
                continue
            line = source.count("\n", start, a) + 1
            found[kind].append(Bug(kind, line, old, new, text[start:]))
    digest = int(hashlib.sha256(task_id.encode()).hexdigest(), 16)
    rng = random.Random(task_id)
    first = digest % len(KINDS)
    out: list[Bug] = []
    for kind in KINDS[first:] + KINDS[:first]:
        bugs = sorted(found[kind], key=lambda g: (g.line, g.old, g.new, g.solution))
        rng.shuffle(bugs)
        out.extend(bugs)
    return out


def _edits(node: ast.AST, source: str, offsets: list[int], locals_: dict[str, int]
           ) -> list[tuple[str, tuple[int, int], str, str]]:
    out: list[tuple[str, tuple[int, int], str, str]] = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _SWAPS:
        out += _op_edit(node.left, node.comparators[0], type(node.ops[0]), source, offsets)
    elif isinstance(node, ast.BinOp) and type(node.op) in _SWAPS:
        out += _op_edit(node.left, node.right, type(node.op), source, offsets)
    elif isinstance(node, ast.BoolOp) and len(node.values) == 2:
        out += _op_edit(node.values[0], node.values[1], type(node.op), source, offsets)
    elif (isinstance(node, ast.Constant) and type(node.value) is int
          and node.end_col_offset is not None):
        span = _span(node, offsets)
        out.append(("off_by_one", span, source[span[0]:span[1]], str(node.value + 1)))
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in locals_:
        span = _span(node, offsets)
        # only names already bound above this line: a wrong value, not an unbound name
        for other in sorted(n for n, line in locals_.items()
                            if n != node.id and line < node.lineno):
            out.append(("variable", span, node.id, other))
    return out


def _op_edit(left: ast.AST, right: ast.AST, op: type[ast.AST], source: str, offsets: list[int]
             ) -> list[tuple[str, tuple[int, int], str, str]]:
    """The operator token sits between the end of `left` and the start of `right`."""
    old, new = _SWAPS[op]
    a, b = _span(left, offsets)[1], _span(right, offsets)[0]
    between = source[a:b]
    at = between.find(old)
    if at == -1 or between.count(old) != 1 or (old in ("<", ">") and f"{old}=" in between):
        return []
    return [("operator", (a + at, a + at + len(old)), old, new)]


def _span(node: ast.AST, offsets: list[int]) -> tuple[int, int]:
    start = offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
    end = offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
    return start, end


def _line_offsets(source: str) -> list[int]:
    """Character offset of each line's start (the AST counts columns in UTF-8 bytes; HumanEval
    solutions are ASCII, and a non-ASCII line simply yields no matching span)."""
    out, pos = [], 0
    for line in source.splitlines(keepends=True):
        out.append(pos)
        pos += len(line)
    return [*out, pos]


def _local_names(tree: ast.Module) -> dict[str, int]:
    """Names bound in the function the solution completes (the prompt's last top-level
    function): its parameters and assigned names, each with the line it is first bound on."""
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not funcs:
        return {}
    fn = funcs[-1]
    names = {a.arg: fn.lineno for a in fn.args.args}
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names[n.id] = min(names.get(n.id, n.lineno), n.lineno)
    return names
