"""MBPP reference solutions pass in the sandbox, and the same programs with a wrong body fail
on their asserts (a sample of 40 items, to keep the test short on two cores)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY
from shootout.benchmarks.mbpp import build_program
from shootout.data import DataDir
from shootout.scoring.sandbox import Limits, Sandbox


@pytest.mark.slow
def test_reference_code_passes_and_a_wrong_body_fails(data_dir: Path) -> None:
    docs = REGISTRY["mbpp"](data=DataDir(data_dir)).load()[::12]
    assert len(docs) >= 40
    wrong = []
    for d in docs:
        # every top-level function returns None instead: still runs, fails the asserts
        body = re.sub(r"^(def \w+\(.*\)[ \t]*:)", r"\1\n    return None", d.fields["code"],
                      flags=re.M)
        wrong.append(build_program(d.fields, body))
    programs = [build_program(d.fields, d.fields["code"]) for d in docs]
    results = Sandbox(limits=Limits(timeout=20)).run_many(programs + wrong, workers=2)
    right, bad = results[: len(docs)], results[len(docs):]
    assert [d.id for d, r in zip(docs, right, strict=True) if not r.ok] == []
    assert [d.id for d, r in zip(docs, bad, strict=True) if r.ok] == []
    assert all("AssertionError" in r.stderr or "Error" in r.stderr for r in bad)
