"""Issue 13's layout rules for `src/`, checked so that later work does not creep past them:
no function whose code (its body after the docstring; a typer command's option declarations
are its signature, not its body) is over 60 lines, and `run_command` takes at most 25
parameters."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "shootout"
MOST_LINES = 60


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    docstring = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                 and isinstance(first.value.value, str) and len(body) > 1)
    start = body[1].lineno if docstring else first.lineno
    assert node.end_lineno is not None
    return node.end_lineno - start + 1


def long_functions(root: Path = SRC, most: int = MOST_LINES) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and (n := _body_lines(node)) > most:
                out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_in_src_is_over_60_lines() -> None:
    assert long_functions() == []


def test_the_scan_finds_a_long_function(tmp_path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (tmp_path / "m.py").write_text(f'def f():\n    """Doc."""\n{body}\n\n'
                                   f"def g():\n{body[: body.rindex(chr(10))]}\n")
    assert long_functions(tmp_path) == ["m.py:1 f (61 lines)"]


def test_run_command_takes_at_most_25_parameters() -> None:
    tree = ast.parse((SRC / "cli" / "run.py").read_text(encoding="utf-8"))
    run = next(n for n in ast.walk(tree)
               if isinstance(n, ast.FunctionDef) and n.name == "run_command")
    assert len(run.args.args) + len(run.args.kwonlyargs) <= 25
