"""A large run's report basis (`report.basis`): kept with its results at the end of
`shootout run` and by any report built in shares, it gives the same report as the samples,
read none of them again, and is used only for the state of the run it was built from."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from shootout.analysis.fingerprint import results_fingerprint
from shootout.cli.main import main
from shootout.report import basis, split
from shootout.report.sample_data import RUN_ID, build_sample_store
from shootout.scores import Score
from shootout.store import Store
from shootout.testing import FakeOpenAIServer

# --------------------------------------------------------------------------- the codec


def _same(a, b) -> bool:
    """Equal, of the same types all the way down, floats bit for bit (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return np.float64(a).tobytes() == np.float64(b).tobytes() or \
            (math.isnan(a) and math.isnan(b))
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if type(a) is Score:
        return all(_same(getattr(a, f), getattr(b, f)) for f in basis._SCORE_FIELDS)
    return a == b


def _value(rng: random.Random, depth: int = 0):
    floats = [0.1, -0.0, 0.0, math.nan, math.inf, -math.inf, 1e-300, 2 / 3, 1e300]
    kind = rng.randrange(9 if depth < 3 else 5)
    if kind == 0:
        return rng.choice(floats) if rng.random() < 0.5 else rng.uniform(-1e6, 1e6)
    if kind == 1:
        return rng.choice([None, True, False, 0, -7, 2**70, "", "é\t\"x\"", "NaN"])
    if kind == 2:
        return [rng.choice([*floats, rng.random()]) for _ in range(rng.randrange(12))]
    if kind == 3:  # a cell's item scores
        return {f"item/{i}": [rng.choice([*floats, 1.0]) for _ in range(rng.randrange(1, 4))]
                for i in range(rng.randrange(12))}
    if kind == 4:
        return Score("acc", rng.random(), rng.choice([None, math.nan, 0.01]), 5, None, 0.9,
                     {"ci_method": "wilson", "k": (1, 2.5)}, model="m", benchmark="b")
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    if kind == 6:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randrange(6)))
    return {f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(6))}


@pytest.mark.parametrize("seed", range(40))
def test_the_basis_gives_back_what_it_was_given(seed):
    value = _value(random.Random(seed))
    assert _same(basis.decode(basis.encode(value)), value)


@pytest.mark.parametrize("value", [np.float64(0.5), {1: 2.0}, {"a": {3}}, [object()],
                                   {"x": [np.int64(3)]}, frozenset()])
def test_what_the_basis_does_not_keep_is_refused(value):
    with pytest.raises(basis.Unencodable):
        basis.encode({"deep": [value]})


@pytest.mark.parametrize("text", ['{"v": 1}', '{"v": 99, "b": 1}', '[]',
                                  '{"v": 1, "b": {"pickle": "x"}}',
                                  '{"v": 1, "b": {"s": {"metric": "acc"}}}'])
def test_a_basis_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        basis.decode(text)


# --------------------------------------------------------------------------- in a report


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SHOOTOUT_WORKERS", "2")  # built in shares, as a large run is
    path = tmp_path / "s.sqlite"
    build_sample_store(path).close()
    return path


def _report(store: Path, out: Path, *extra: str) -> dict[str, bytes]:
    """The report's files (Markdown, HTML, charts) by name."""
    main(["report", RUN_ID, "--store", str(store), "--md", str(out / "r.md"), "--html",
          str(out / "r.html"), *extra])
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
            if p.is_file()}


def _counting(monkeypatch) -> list[int]:
    """How many times the shares read the run's samples."""
    calls: list[int] = []
    real = split.in_processes

    def counted(fn, args, *rest):
        calls.append(len(args))
        return real(fn, args, *rest)

    monkeypatch.setattr(split, "in_processes", counted)
    return calls


def _kept_basis(store: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT fingerprint, revision FROM built_results WHERE fingerprint "
                          "LIKE '%' || ?", (basis.BASIS,)).fetchall()
    finally:
        db.close()


def test_a_report_from_the_basis_is_the_report_from_the_samples(store, tmp_path,
                                                                monkeypatch):
    calls = _counting(monkeypatch)
    first = _report(store, tmp_path / "a", "--rebuild")  # from the samples; keeps the basis
    assert calls == [2]
    assert _kept_basis(store) == [(results_fingerprint() + basis.BASIS,
                                   Store(store).revision(RUN_ID))]
    db = sqlite3.connect(store)  # the kept report dropped: the next is built again
    db.execute("DELETE FROM built_reports")
    db.commit()
    db.close()
    again = _report(store, tmp_path / "b")
    assert calls == [2]  # from the basis: no sample read for the figures
    assert again == first
    _report(store, tmp_path / "c", "--rebuild")  # --rebuild reads the samples again
    assert calls == [2, 2]


def _forget(store: Path, table: str) -> None:
    """Every row of `table` (`built_results`, `built_reports`) dropped from the store."""
    db = sqlite3.connect(store)
    db.execute(f"DELETE FROM {table}")
    db.commit()
    db.close()


def test_a_reports_basis_is_kept_once_its_charts_data_is_sent(store, tmp_path, monkeypatch):
    """A report built in shares sends its charts' data to the process that draws them, and
    then encodes and writes its basis (0.7 s at 516k samples, which the charts waited for);
    a build that fails before its end keeps none."""
    from shootout.report import kept

    seen: list[list[tuple[str, str]]] = []
    real = kept.early_charts

    def early(*args, **kw):
        seen.append(_kept_basis(store))
        return real(*args, **kw)

    monkeypatch.setattr(kept, "early_charts", early)
    _report(store, tmp_path / "a", "--rebuild")
    assert seen == [[]]
    assert _kept_basis(store) == [(results_fingerprint() + basis.BASIS,
                                   Store(store).revision(RUN_ID))]

    _forget(store, "built_results")

    def broken(*args, **kw):
        raise RuntimeError("charts")

    monkeypatch.setattr(kept, "early_charts", broken)
    with pytest.raises(SystemExit):
        _report(store, tmp_path / "b", "--rebuild")
    assert _kept_basis(store) == []


def test_a_reports_basis_is_kept_beside_the_rest_of_its_build(store, tmp_path, monkeypatch):
    """The basis is encoded and written in a forked process while this one builds the rest
    of the report (the build does not wait for it), and is kept by the command's end; a
    build that fails after the keep was started still keeps it (what it keeps was whole)."""
    import os

    from shootout.report import build as report_build

    pids = tmp_path / "pids"
    real_keep = basis.keep

    def keep(*args, **kw):
        with open(pids, "a") as f:  # the process that keeps (a forked one has no memory here)
            f.write(f"{os.getpid()}\n")
        return real_keep(*args, **kw)

    from shootout.analysis import parallel

    monkeypatch.setattr(basis, "keep", keep)
    # where this process runs other threads (a test before this one left some), it does not
    # fork (`parallel._context`): the keep is then done here, at the block's end
    forks = parallel._context().get_start_method() == "fork"
    _report(store, tmp_path / "a", "--rebuild")
    kept_by = [int(x) for x in pids.read_text().split()]
    assert len(kept_by) == 2  # asked for here (deferred), then kept by the forked process
    assert kept_by[0] == os.getpid() and (kept_by[1] != os.getpid()) is forks
    assert _kept_basis(store) == [(results_fingerprint() + basis.BASIS,
                                   Store(store).revision(RUN_ID))]

    _forget(store, "built_results")

    def broken(*args, **kw):
        raise RuntimeError("the rest of the build")

    monkeypatch.setattr(report_build, "build_report", broken)
    with pytest.raises(SystemExit):
        _report(store, tmp_path / "b", "--rebuild")
    assert _kept_basis(store) == [(results_fingerprint() + basis.BASIS,
                                   Store(store).revision(RUN_ID))]


def test_a_process_forked_inside_a_later_block_keeps_at_once(store):
    """`basis.later` defers the keeps of the process that opened it; a process forked inside
    it (a share's worker, a `beside` child) has its own copy of the pending list, where a
    deferred keep would be lost with it: it keeps at once."""
    import os

    db = Store(store)
    with basis.later():
        got = split.report_shares(db, RUN_ID, kept=False)
        assert got is not None and _kept_basis(store) == []  # deferred here
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                child = Store(store)
                code = 0 if basis.keep(child, RUN_ID, child.revision(RUN_ID), got[0]) else 2
                child.close()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(_kept_basis(store)) == 1  # kept by the child, before the block's end
    db.close()


def test_a_basis_of_an_older_state_is_not_used(store, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    before = _report(store, tmp_path / "a", "--no-charts")
    db = sqlite3.connect(store)
    db.execute("UPDATE samples SET metrics_json = '{\"acc\": 0.0}' WHERE model = 'kimi-k2' "
               "AND benchmark = 'mmlu'")
    db.commit()
    db.close()
    after = _report(store, tmp_path / "b", "--no-charts")
    assert calls == [2, 2]
    assert after["r.md"] != before["r.md"]
    assert _kept_basis(store)[0][1] == Store(store).revision(RUN_ID)  # kept anew


def test_a_basis_edited_by_hand_is_not_trusted(store, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    first = _report(store, tmp_path / "a", "--no-charts")
    db = sqlite3.connect(store)
    db.execute("UPDATE built_results SET payload_json = '{\"v\": 1, \"b\": {\"d\": {}}}' "
               "WHERE fingerprint LIKE '%' || ?", (basis.BASIS,))
    db.execute("DELETE FROM built_reports")
    db.commit()
    db.close()
    assert _report(store, tmp_path / "b", "--no-charts") == first
    assert calls == [2, 2]
    db = sqlite3.connect(store)
    db.execute("DELETE FROM built_reports")
    db.commit()
    db.close()
    assert _report(store, tmp_path / "c", "--no-charts") == first
    assert calls == [2, 2]  # replaced by one that reads back


def test_a_run_that_has_what_the_basis_does_not_keep_has_none(store, tmp_path, monkeypatch):
    real = basis.sendable_figures

    def with_a_set(figures):
        out = real(figures)
        next(iter(out.values()))["x"] = {1, 2}
        return out

    monkeypatch.setattr(basis, "sendable_figures", with_a_set)
    _report(store, tmp_path / "a", "--no-charts")
    assert _kept_basis(store) == []


def _two_model_run(tmp_path: Path, monkeypatch, data_dir: Path) -> tuple[Path, str]:
    """Two models' GSM8K run (4 items) through the command line, built in shares: its store
    and run id."""
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    monkeypatch.setenv("SHOOTOUT_WORKERS", "2")
    path = tmp_path / "run.sqlite"
    with FakeOpenAIServer() as srv:
        main(["run", "-m", "a=openai:fake-a", "-m", "b=openai:fake-b", "--base-url",
              srv.base_url, "-b", "gsm8k", "--limit", "4", "--store", str(path),
              "--no-progress", "--json"])
    run_id = Store(path).latest_run_id()
    assert run_id is not None
    return path, run_id


def test_the_end_of_a_run_keeps_its_basis(tmp_path, monkeypatch, data_dir, capsys):
    path, run_id = _two_model_run(tmp_path, monkeypatch, data_dir)
    capsys.readouterr()
    assert _kept_basis(path) == [(results_fingerprint() + basis.BASIS,
                                  Store(path).revision(run_id))]
    calls = _counting(monkeypatch)
    main(["report", run_id, "--store", str(path), "--no-charts"])
    assert calls == []  # the first report reads no sample for its figures
    assert "## Key takeaways" in capsys.readouterr().out


def test_the_end_of_a_run_keeps_its_first_report(tmp_path, monkeypatch, data_dir, capsys):
    """A large run's end (one with a report basis) keeps the report that `shootout report`
    gives with the default options: the first report, as any of its outputs, is served
    without a build; one that cannot be built leaves the run standing, with one warning."""
    from shootout.report import build as report_build

    path, run_id = _two_model_run(tmp_path, monkeypatch, data_dir)
    err = capsys.readouterr().err
    assert f"rendering the report of {run_id} (kept in the store for `shootout report`)" \
        in err
    builds: list[object] = []
    real = report_build.build_report
    monkeypatch.setattr(report_build, "build_report",
                        lambda *a, **k: builds.append(a) or real(*a, **k))
    main(["report", run_id, "--store", str(path), "--md", str(tmp_path / "r.md"), "--html",
          str(tmp_path / "r.html")])
    main(["report", "--store", str(path)])  # the latest run, printed
    assert builds == []
    assert "## Key takeaways" in capsys.readouterr().out
    assert "](r_files/scores.png)" in (tmp_path / "r.md").read_text()

    def broken(*a, **k):
        raise RuntimeError("no report today")

    monkeypatch.setattr(report_build, "build_report", broken)
    path2, run2 = _two_model_run(tmp_path / "again", monkeypatch, data_dir)
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"rendering the report of {run2}") for line in err)
    assert f"warning: the report of {run2} was not kept: RuntimeError: no report today" in err
    assert Store(path2).get_run(run2)["status"] == "complete"


def test_a_run_to_resume_keeps_no_report(tmp_path, monkeypatch, data_dir, capsys):
    """A run with failed samples (to be resumed: what its report is built from changes)
    does not render its report at its end, nor say it is complete on Ctrl-C there."""
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    monkeypatch.setenv("SHOOTOUT_WORKERS", "2")
    path = tmp_path / "run.sqlite"
    def refuse(body):  # model b's requests refused (400: not retried)
        return {"error": {"message": "no"}} if body.get("model") == "fake-b" else None

    with FakeOpenAIServer(reject_fn=refuse) as srv, pytest.raises(SystemExit) as e:
        main(["run", "-m", "a=openai:fake-a", "-m", "b=openai:fake-b", "--base-url",
              srv.base_url, "-b", "gsm8k", "--limit", "2", "--store", str(path),
              "--no-progress", "--json"])
    assert e.value.code != 0
    assert "rendering the report" not in capsys.readouterr().err
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM built_reports").fetchone() \
        == (0,)


def test_a_rescore_keeps_the_basis_of_what_it_wrote(tmp_path, monkeypatch, data_dir, capsys):
    """`shootout rescore` builds the results it shows with the report basis, as a run's
    end does: the next report reads no sample."""
    path, run_id = _two_model_run(tmp_path, monkeypatch, data_dir)
    capsys.readouterr()
    db = sqlite3.connect(path)  # a score the scorer does not give: the rescore writes it
    db.execute("UPDATE samples SET metrics_json = '{\"acc\": 0.5}' WHERE model = 'a'")
    db.commit()
    db.close()
    main(["rescore", run_id, "--store", str(path)])
    assert "0.5" in capsys.readouterr().out
    assert _kept_basis(path) == [(results_fingerprint() + basis.BASIS,
                                  Store(path).revision(run_id))]
    calls = _counting(monkeypatch)
    main(["report", run_id, "--store", str(path), "--no-charts"])
    assert calls == []
    assert "## Key takeaways" in capsys.readouterr().out

def test_results_rebuilt_at_a_runs_end_read_the_samples(store, tmp_path, monkeypatch):
    """`results_payload(keep_basis=True)` (the end of `shootout run`) takes a current basis
    where the results JSON is not kept, and reads the samples under --rebuild."""
    from shootout.cli.results import results_payload

    calls = _counting(monkeypatch)
    _report(store, tmp_path / "a", "--no-charts")  # keeps the basis, not the results JSON
    assert calls == [2]
    db = Store(store)
    try:
        built = results_payload(db, RUN_ID, keep_basis=True)
        assert calls == [2]
        assert results_payload(db, RUN_ID, rebuild=True, keep_basis=True) == built
        assert calls == [2, 2]
        assert results_payload(db, RUN_ID, rebuild=True) == built
    finally:
        db.close()


def _edit_basis(store: Path, change) -> None:
    """The kept basis decoded, changed by `change`, encoded back (the kept report dropped)."""
    db = sqlite3.connect(store)
    (fp, text), = db.execute("SELECT fingerprint, payload_json FROM built_results WHERE "
                             "fingerprint LIKE '%' || ?", (basis.BASIS,)).fetchall()
    got = basis.decode(text)
    change(got)
    db.execute("UPDATE built_results SET payload_json=? WHERE fingerprint=?",
               (basis.encode(got), fp))
    db.execute("DELETE FROM built_reports")
    db.commit()
    db.close()


def _first_score(value):
    from dataclasses import replace

    def change(got):
        got["scores"] = (replace(got["scores"][0], score=value), *got["scores"][1:])
    return change


def test_a_rebuild_replaces_a_basis_that_reads_back_but_is_wrong(store, tmp_path):
    """A basis that decodes but holds other figures (edited, or copied from elsewhere) is
    what `--rebuild` is for: it writes the basis anew (it left one kept for the same state,
    and the next plain report served the wrong figures again: a review's finding)."""
    first = _report(store, tmp_path / "a", "--no-charts")
    _edit_basis(store, _first_score(0.987654))
    assert _report(store, tmp_path / "b", "--no-charts") != first
    assert _report(store, tmp_path / "c", "--no-charts", "--rebuild") == first
    db = sqlite3.connect(store)
    db.execute("DELETE FROM built_reports")
    db.commit()
    db.close()
    assert _report(store, tmp_path / "d", "--no-charts") == first


@pytest.mark.parametrize("bad", ["oops", None, True])
def test_a_basis_with_a_wrong_type_inside_is_not_used(store, tmp_path, monkeypatch, bad):
    """A score that is not a number (a field of another type) in a basis that decodes:
    not used, the report built from the samples (it was an internal error, exit 70)."""
    calls = _counting(monkeypatch)
    first = _report(store, tmp_path / "a", "--no-charts")
    _edit_basis(store, _first_score(bad))
    assert _report(store, tmp_path / "b", "--no-charts") == first
    assert calls == [2, 2]


def _first_item_score(value):
    def change(got):
        by_metric = next(iter(got["figures"].values()))
        scores = next(v for v in by_metric.values() if isinstance(v, dict))
        item = next(iter(scores))
        scores[item] = [value, *scores[item][1:]]
    return change


def _first_latency(value):
    def change(got):
        lat = next(iter(got["latency"].values()))
        key = next(k for k, v in lat.items() if v)
        lat[key] = [*lat[key][:-1], value]
    return change


@pytest.mark.parametrize("change", [_first_item_score("0.5"), _first_item_score(1),
                                    _first_item_score(None), _first_latency("9"),
                                    _first_latency(3)])
def test_a_basis_with_a_figure_not_a_float_is_not_used(store, tmp_path, monkeypatch, change):
    """An item score or a latency that is not a float (a basis edited, or written by
    something else): not used, the report built from the samples."""
    calls = _counting(monkeypatch)
    first = _report(store, tmp_path / "a", "--no-charts")
    _edit_basis(store, change)
    assert _report(store, tmp_path / "b", "--no-charts") == first
    assert calls == [2, 2]
