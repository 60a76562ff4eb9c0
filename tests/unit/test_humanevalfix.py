"""humanevalfix: the stored bugs are the generator's, one per problem; the prompts show the
buggy code and its failing test output; a fixed answer is extracted like HumanEval's."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.benchmarks.humanevalfix import DATA_FILE
from shootout.data import DataDir
from shootout.providers.base import Sampling
from shootout.scoring.bugs import KINDS, candidates


def _humaneval(data_dir: Path) -> dict[str, dict]:
    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        return {p["task_id"]: p for p in map(json.loads, fh)}


def test_each_stored_bug_is_a_generated_mutation_of_the_canonical_solution(data_dir) -> None:
    problems = _humaneval(data_dir)
    stored = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert len(stored) >= 150 and len({r["task_id"] for r in stored}) == len(stored)
    assert {r["bug_kind"] for r in stored} == set(KINDS)
    for r in stored:
        p = problems[r["task_id"]]
        bugs = candidates(r["task_id"], p["prompt"], p["canonical_solution"])
        match = [b for b in bugs if b.solution == r["buggy_solution"]]
        assert match and match[0].kind == r["bug_kind"], r["task_id"]
        assert r["buggy_solution"] != p["canonical_solution"]
        assert "Traceback" in r["test_output"] and "/sandbox" not in r["test_output"]


def test_candidates_are_deterministic_and_cover_the_three_kinds() -> None:
    prompt = 'def f(xs, k):\n    """doc"""\n'
    solution = "    total = 0\n    for x in xs:\n        if x < k:\n            total += x\n" \
               "    return total\n"
    bugs = candidates("T/1", prompt, solution)
    assert bugs == candidates("T/1", prompt, solution)
    assert {b.kind for b in bugs} == set(KINDS)
    ops = {(b.old, b.new) for b in bugs if b.kind == "operator"}
    assert ("<", "<=") in ops
    assert any(b.kind == "off_by_one" and b.new == "1" for b in bugs)
    # a wrong variable is one already bound above the line, never an unbound one
    assert all(b.new in ("xs", "k", "total", "x") for b in bugs if b.kind == "variable")


@pytest.mark.parametrize("chat", [False, True])
def test_prompt_shows_the_buggy_code_and_the_test_output(data_dir, chat: bool) -> None:
    bench = REGISTRY["humanevalfix"](data=DataDir(data_dir))
    doc = bench.load()[0]
    req = bench.request(doc, PromptContext("generative", chat, Sampling(), 0))
    text = req.messages[0].content if chat else req.prompt
    assert doc.fields["buggy_solution"].strip() in text
    assert "AssertionError" in text or "Error" in text
    if not chat:
        assert text.endswith("# Fixed version:\n\n" + doc.fields["prompt"])
        assert req.sampling.stop and "\ndef" in req.sampling.stop
