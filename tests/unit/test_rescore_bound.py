"""`shootout rescore` of benchmarks that bind to each model: those whose items `bind` makes
without the model's help (bfcl, structured, multipl_e) are rescored; one whose items are
fitted to the model (needle) is left out of "every benchmark" with a line, and refused when
named; a stored answer that cannot be scored here (a language's toolchain not installed) is
skipped with its reason, never scored as a failure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from toy_run import Colours, answers

from shootout.benchmarks import REGISTRY, multipl_e as multipl_e_module, register_benchmark
from shootout.cli.main import main
from shootout.config import validate_config
from shootout.runner.rescore import rescore_run
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.store import Store
from shootout.testing import FakeProvider


class Fitted(Colours):
    """A toy benchmark whose items would be fitted to each model (as needle's are)."""

    name: ClassVar[str] = "toy_fitted"
    items_fitted_to_model: ClassVar[bool] = True


@pytest.fixture(autouse=True)
def toy_benchmarks() -> Iterator[None]:
    register_benchmark(Colours)
    register_benchmark(Fitted)
    yield
    REGISTRY.pop(Colours.name, None)
    REGISTRY.pop(Fitted.name, None)


def _run(store: Store, benchmarks: list[str], data_dir: Path | None = None,
         answer=answers, **extra) -> str:
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "fake",
                                       "scoring": "generative"}],
                           "benchmarks": benchmarks, **extra}, "test")
    runner = Runner(cfg, store, policy=RetryPolicy(base_delay=0.0),
                    data_dir=str(data_dir) if data_dir else None)
    return asyncio.run(runner.run({"fake": FakeProvider(answer=answer)}))


def test_every_benchmark_leaves_a_fitted_one_out_and_says_so(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    run_id = _run(Store(path), ["toy_colours", "toy_fitted"])
    main(["rescore", run_id, "--json", "--store", str(path)])
    got = json.loads(capsys.readouterr().out)
    assert got["left_out"] == {"toy_fitted": "its items are fitted to each model at run time"}
    assert {s["benchmark"] for s in got["scores"]} == {"toy_colours"}
    assert got["samples"] == 12
    main(["rescore", run_id, "--store", str(path)])
    assert ("not rescored: toy_fitted (its items are fitted to each model at run time)"
            in capsys.readouterr().out)
    log = Store(path).get_run(run_id)["manifest"]["rescores"][-1]
    assert log["left_out"] == {"toy_fitted": "its items are fitted to each model at run time"}
    # named, it is refused in one line
    with pytest.raises(SystemExit) as e:
        main(["rescore", run_id, "-b", "toy_fitted", "--store", str(path)])
    assert e.value.code == 2
    assert "toy_fitted cannot be rescored: its items are fitted" in capsys.readouterr().err


def test_bfcl_and_structured_are_rescored(tmp_path, data_dir):
    """Both override `bind` (bfcl checks the tools mode; structured runs each task in each
    mode the endpoint takes), and neither fits its items to the model: every stored answer
    is scored again, to the same score."""
    store = Store(tmp_path / "s.sqlite")
    run_id = _run(store, ["bfcl", "structured"], data_dir, answer='{"answer": "A"}', limit=4)
    stored = {(s.benchmark, s.item_id): s.metrics for s in store.samples(run_id)}
    assert {b for b, _ in stored} == {"bfcl", "structured"}
    assert any("@" in i for b, i in stored if b == "structured")  # the task's mode in its id
    out = rescore_run(store, run_id, data_dir=str(data_dir))
    assert out.samples == len(stored) and not out.skipped and not out.left_out
    assert not out.changes


def test_a_language_without_its_toolchain_is_skipped_not_failed(tmp_path, data_dir,
                                                                 monkeypatch):
    store = Store(tmp_path / "s.sqlite")
    run_id = _run(store, [{"name": "multipl_e", "options": {"languages": "js"}}], data_dir,
                  answer="```javascript\nfunction f() { return 1; }\n```", limit=2)
    assert len(list(store.samples(run_id))) == 2
    assert rescore_run(store, run_id, data_dir=str(data_dir)).samples == 2
    monkeypatch.setattr(multipl_e_module, "missing_tools",
                        lambda lang: f"{lang.label} toolchain not found (node)")
    out = rescore_run(store, run_id, data_dir=str(data_dir))
    assert out.samples == 0 and not out.changes
    assert out.skipped == {"JavaScript toolchain not found (node)": 2}


def test_export_gives_structured_its_gold(tmp_path, data_dir):
    """Export looked gold up only for benchmarks without a `bind`; structured's items (each
    task in a mode) have a gold, needle's have none (a review)."""
    from shootout.export import export_rows

    store = Store(tmp_path / "s.sqlite")
    run_id = _run(store, ["structured"], data_dir, answer='{"answer": "A"}', limit=3)
    rows = list(export_rows(store, run_id, data_dir=str(data_dir)))
    assert len(rows) == 3 and all(r["gold"] and json.loads(r["gold"]) for r in rows)


def test_every_benchmark_leaves_a_judged_one_out():
    """MT-Bench, scored by a judge once every model answered, is left out of "every
    benchmark" (rerun instead), as a fitted one is; named, it is refused."""
    from shootout.errors import ConfigError
    from shootout.runner.rescore import _chosen

    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                           "benchmarks": ["toy_colours", {"name": "mt_bench",
                                                          "options": {"judge": "fake"}}]},
                          "test")
    names, only, left_out = _chosen(cfg, None)
    assert names == ["toy_colours"] and only is None
    assert list(left_out) == ["mt_bench"] and "a judge scores it" in left_out["mt_bench"]
    with pytest.raises(ConfigError, match="mt_bench cannot be rescored: a judge"):
        _chosen(cfg, ["mt_bench"])
