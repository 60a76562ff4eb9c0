"""The response cache policy: `use` stored answers, `refresh` them, or `off` (this run's
answers are its own). Runs of the same requests under different model names (so different
runs), by the in-process FakeProvider whose answer can change between runs."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterator
from typing import ClassVar

import pytest

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.benchmarks.base import Doc
from shootout.benchmarks.multiple_choice import MCQuestion, MultipleChoiceBenchmark
from shootout.cli.main import main
from shootout.config import validate_config
from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider


class Shapes(MultipleChoiceBenchmark):
    name: ClassVar[str] = "toy_shapes"
    version: ClassVar[str] = "1"
    citation: ClassVar[str] = "test"
    description: ClassVar[str] = "toy"
    domain: ClassVar[str] = "knowledge"

    def load(self) -> list[Doc]:
        return [Doc(str(i), {"gold": 0}) for i in range(6)]

    def mc(self, doc: Doc, fewshot: int) -> MCQuestion:
        return MCQuestion.simple(f"Shape {doc.id}?", ["circle", "square"], 0)


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    register_benchmark(Shapes)
    yield
    REGISTRY.pop(Shapes.name, None)


def _run(store: Store, provider: FakeProvider, name: str, **model: object) -> tuple[str, float]:
    """(run id, accuracy) of one run of the toy benchmark."""
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": name, **model}],
                           "benchmarks": ["toy_shapes"]}, "test")
    run_id = asyncio.run(Runner(cfg, store).run({name: provider}))
    scores = [s.metrics["acc"] for s in store.samples(run_id)]
    return run_id, sum(scores) / len(scores)


def test_use_refresh_and_off(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    right, wrong = FakeProvider(answer="Answer: A"), FakeProvider(answer="Answer: B")
    first, acc = _run(store, right, "first")
    assert (len(right.calls), acc) == (6, 1.0)
    # use (the default): the same requests are answered from the cache, not asked again
    _, acc = _run(store, wrong, "again")
    assert (len(wrong.calls), acc) == (0, 1.0)
    # off: asked again; this run's answers are its own, the cache keeps the first ones
    off, acc = _run(store, wrong, "off", cache="off")
    assert (len(wrong.calls), acc) == (6, 0.0)
    _, acc = _run(store, wrong, "after-off")
    assert (len(wrong.calls), acc) == (6, 1.0)
    # refresh: asked again, and the new answers replace the stored ones for later runs
    _, acc = _run(store, wrong, "refresh", cache="refresh")
    assert (len(wrong.calls), acc) == (12, 0.0)
    _, acc = _run(store, right, "after-refresh")
    assert (len(right.calls), acc) == (6, 0.0)
    manifest = store.get_run(off)["manifest"]
    assert manifest["cache"] == {"off": {"policy": "off", "answers_from_cache": 0, "answers": 6}}
    report = render_markdown(build_report(store, [first, off]), charts=False)
    assert "- Response cache: first: 0 of 6 answers from the cache (policy use)." in report
    assert "- Response cache: off: 0 of 6 answers from the cache (policy off)." in report


def test_an_off_run_resumes_from_its_own_answers(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    flaky = FakeProvider(answer="Answer: A")
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "m"}], "cache": "off",
                           "benchmarks": ["toy_shapes"]}, "test")
    run_id = asyncio.run(Runner(cfg, store).run({"m": flaky}))
    assert asyncio.run(Runner(cfg, store).run({"m": flaky})) == run_id
    assert len(flaky.calls) == 6


def test_the_default_keeps_run_ids_and_a_policy_changes_them():
    base = {"models": ["openai:x"], "benchmarks": ["mmlu"], "limit": 5}
    plain = validate_config(base, "t").run_id()
    assert validate_config({**base, "cache": "use"}, "t").run_id() == plain
    assert validate_config({**base, "cache": "refresh"}, "t").run_id() != plain
    per_model = {**base, "models": [{"spec": "openai:x", "cache": "off"}]}
    assert validate_config(per_model, "t").run_id() != plain


def test_cache_flag_is_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(shlex.split("run -m openai:x --cache sometimes"))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert err.startswith("error: Invalid value for '--cache': ")
