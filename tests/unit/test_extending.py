"""docs/extending.md runs: every Python block, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY
from shootout.providers import registry
from shootout.report.sections import unregister_section

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_docs_have_code_for_each_extension_point():
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## Add a benchmark", "## Add a provider", "## Add a report section"):
        assert heading in text
    assert len(blocks()) >= 5


def test_every_python_block_runs(tmp_path):
    namespace: dict[str, object] = {"tmp_path": tmp_path, "__name__": "docs_extending"}
    try:
        for i, code in enumerate(blocks()):
            try:
                exec(compile(code, f"{DOC.name}[block {i}]", "exec"), namespace)
            except Exception as e:  # name the block that failed
                pytest.fail(f"docs/extending.md block {i} failed: {type(e).__name__}: {e}")
    finally:
        REGISTRY.pop("capitals", None)
        registry._REGISTERED.pop("echo", None)
        unregister_section("Items per model")


def test_the_example_benchmark_is_at_most_40_lines():
    """Issue 13's bar: a new multiple-choice benchmark in <= 40 lines of one file."""
    first = blocks()[0]
    assert "class Capitals(MultipleChoiceBenchmark)" in first
    assert len(first.strip().splitlines()) <= 40
