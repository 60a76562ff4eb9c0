"""`shootout runs` lists stored runs, most recently updated first; `results` and `report`
default to that run, so resuming an old run makes it the one they show (issue 20)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from toy_run import N_ITEMS, Colours, toy_run

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.cli.main import main
from shootout.store import Store


@pytest.fixture(autouse=True)
def toy_benchmark() -> Iterator[None]:
    register_benchmark(Colours)
    yield
    REGISTRY.pop(Colours.name, None)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


def test_runs_lists_each_run_with_counts_failures_and_cost(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    first = toy_run(store, model="alpha")
    second = toy_run(store, model="beta", limit=5)
    store.set_run_times(first, 100.0, 200.0)
    store.set_run_times(second, 150.0, 160.0)
    data = json.loads(_cli(capsys, "runs", "--json", "--store", str(path)))
    assert [r["run_id"] for r in data["runs"]] == [first, second]
    alpha = data["runs"][0]
    assert alpha["models"] == ["alpha"] and alpha["benchmarks"] == ["toy_colours"]
    assert alpha["items"] == {"toy_colours": N_ITEMS} and alpha["samples"] == N_ITEMS
    assert alpha["failed"] == 0 and alpha["status"] == "complete"
    assert alpha["created_at"] == "1970-01-01T00:01:40Z"
    assert alpha["updated_at"] == "1970-01-01T00:03:20Z"
    # FakeProvider counts words: the cost is the one `shootout results` computes
    results = json.loads(_cli(capsys, "results", first, "--json", "--store", str(path)))
    total = next(e for e in results["efficiency"] if e["scope"] == "model")["cost_usd"]
    assert alpha["cost_usd"] == pytest.approx(total) and total > 0
    assert data["runs"][1]["items"] == {"toy_colours": 5}
    table = _cli(capsys, "runs", "--store", str(path))
    assert first in table and second in table and "1970-01-01 00:03" in table


def test_results_and_report_default_to_the_most_recently_updated_run(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    old = toy_run(store, model="alpha")
    new = toy_run(store, model="beta")
    store.set_run_times(old, 100.0, 110.0)
    store.set_run_times(new, 200.0, 210.0)
    assert json.loads(_cli(capsys, "results", "--json", "--store", str(path)))["run_id"] == new
    # resuming the older run (the runner upserts it) makes it the most recently updated
    assert toy_run(store, model="alpha") == old
    assert store.latest_run_id() == old
    assert json.loads(_cli(capsys, "results", "--json", "--store", str(path)))["run_id"] == old
    assert f"Runs: `{old}`" in _cli(capsys, "report", "--store", str(path))


def test_runs_on_a_missing_store_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["runs", "--store", str(tmp_path / "none.sqlite")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no results store" in err
