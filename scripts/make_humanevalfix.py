"""Build src/shootout/benchmarks/humanevalfix.json: one injected bug per HumanEval problem.

For each problem, the mutations of its canonical solution (shootout.scoring.bugs.candidates,
an order fixed by the task id) are tried in order in the sandbox; the first whose program
fails its tests on an error or assertion (not a timeout) is kept, with the test output.
Deterministic: the same HumanEval file gives the same file here.

    .venv/bin/python scripts/make_humanevalfix.py [DATA_DIR]
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from shootout.benchmarks.humanevalfix import DATA_FILE, test_output
from shootout.data import DataDir
from shootout.data.files import read_jsonl
from shootout.scoring.bugs import Bug, candidates
from shootout.scoring.code import build_program
from shootout.scoring.sandbox import Limits, Sandbox

TRIES = 12


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["SHOOTOUT_DATA"])
    path = DataDir(root).path("humaneval/HumanEval.jsonl.gz")
    sandbox = Sandbox(limits=Limits(timeout=10))
    out = []
    for _, p in read_jsonl(path):
        bugs = candidates(p["task_id"], p["prompt"], p["canonical_solution"])[:TRIES]
        chosen = _first_failing(sandbox, p, bugs)
        if chosen is None:
            print(f"{p['task_id']}: no failing mutation among {len(bugs)}", file=sys.stderr)
            continue
        bug, stderr = chosen
        out.append({"task_id": p["task_id"], "bug_kind": bug.kind, "bug": bug.description,
                    "buggy_solution": bug.solution, "test_output": test_output(stderr)})
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in out) + "\n]\n"
    DATA_FILE.write_text(text, encoding="utf-8")
    kinds = {k: sum(r["bug_kind"] == k for r in out) for k in ("operator", "off_by_one",
                                                                 "variable")}
    print(f"{len(out)} problems written to {DATA_FILE}: {kinds}")
    assert all(re.search(r"\S", r["test_output"]) for r in out)


def _first_failing(sandbox: Sandbox, problem: dict, bugs: list[Bug]) -> tuple[Bug, str] | None:
    """The first bug (in order) whose program fails on an error or assertion; two at a time."""
    for i in range(0, len(bugs), 2):
        batch = bugs[i:i + 2]
        programs = [build_program(problem, problem["prompt"] + b.solution) for b in batch]
        for bug, result in zip(batch, sandbox.run_many(programs, workers=2), strict=True):
            if result.status == "failed":
                return bug, result.stderr
    return None


if __name__ == "__main__":
    main()
