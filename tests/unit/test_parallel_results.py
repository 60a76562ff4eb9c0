"""A run's results built in several processes (`analysis.parallel`): the same results JSON as
one process builds, and one process wherever the split cannot be trusted."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from shootout.analysis import parallel
from shootout.analysis.parallel import partition, summary_results, workers
from shootout.analysis.results import build_results
from shootout.cli import results as results_cli
from shootout.cli.main import main
from shootout.errors import ConfigError
from shootout.report.sample_data import RUN_ID, build_sample_store
from shootout.store import SampleRow, Store

MODELS = ("kimi-k2", "llama-3.1-70b", "mixtral-8x7b", "qwen-72b", "gemma-27b")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parallel") / "s.sqlite"
    build_sample_store(path, models=MODELS).close()
    return path


@pytest.fixture
def store(store_path: Path, tmp_path: Path) -> Store:
    copy = tmp_path / "s.sqlite"
    copy.write_bytes(store_path.read_bytes())
    return Store(copy)


def _one_process(store: Store) -> dict:
    return results_cli.payload(build_results(store, [RUN_ID]).runs[0])


@pytest.mark.parametrize("n", ["2", "3", "5"])
def test_the_shares_give_what_one_process_gives(store: Store, n: str, monkeypatch) -> None:
    """Scores (with failed samples: failed = wrong), breakdowns, analyses and efficiency rows,
    field for field and in the same order, for 2, 3 and 5 processes over 5 models."""
    monkeypatch.setenv(parallel.WORKERS_ENV, n)
    split = summary_results(store, RUN_ID)
    assert split is not None and split.samples == {}
    got, want = results_cli.payload(split), _one_process(store)
    assert any(r.get("n_failed") for r in want["results"])
    assert {e["scope"] for e in want["efficiency"]} == {"benchmark", "model"}
    assert want["breakdowns"] and want["analyses"]
    assert json.dumps(got) == json.dumps(want)


def test_results_payload_builds_in_shares_and_keeps_the_build(store: Store, monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    shares: list[object] = []
    real = parallel.summary_results

    def counted(db: Store, run_id: str):
        got = real(db, run_id)
        shares.append(got)
        return got

    monkeypatch.setattr(parallel, "summary_results", counted)
    built = results_cli.results_payload(store, RUN_ID, rebuild=True)
    assert len(shares) == 1 and shares[0] is not None
    monkeypatch.setenv(parallel.WORKERS_ENV, "1")
    assert results_cli.results_payload(store, RUN_ID, rebuild=True) == built
    assert results_cli.results_payload(store, RUN_ID) == built  # the kept copy
    assert len(shares) == 2 and shares[1] is None


def test_a_benchmark_that_scores_the_models_together_is_built_in_one_process(
        store: Store, monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    row = SampleRow(model=MODELS[0], benchmark="needle", item_id="n0", repeat=0, group="",
                    status="failed", metrics={}, extracted=None, reason="",
                    extraction_failed=False, error="x", response_key=None)
    store.put_sample(RUN_ID, row)
    assert summary_results(store, RUN_ID) is None
    store.put_sample(RUN_ID, replace(row, benchmark="gsm8k", item_id="extra"))
    assert summary_results(store, RUN_ID) is None  # the needle sample is still there


def _killed(args: object) -> None:
    os._exit(3)


def test_a_killed_worker_or_a_failed_build_falls_back_to_one_process(
        store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    with monkeypatch.context() as mp:
        mp.setattr(parallel, "_build_share", _killed)
        assert summary_results(store, RUN_ID) is None
    # a price file that the efficiency rows reject: the one-process build says why
    bad = tmp_path / "prices.yaml"
    bad.write_text("models:\n  kimi-k2: {input_per_m: lots, output_per_m: 2}\n")
    monkeypatch.setenv("SHOOTOUT_PRICES", str(bad))
    assert summary_results(store, RUN_ID) is None
    with pytest.raises(Exception) as split:
        results_cli.results_payload(store, RUN_ID, rebuild=True)
    monkeypatch.setenv(parallel.WORKERS_ENV, "1")
    with pytest.raises(Exception) as single:
        results_cli.results_payload(store, RUN_ID, rebuild=True)
    assert type(split.value) is type(single.value) and str(split.value) == str(single.value)


def test_workers(monkeypatch) -> None:
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    assert workers(parallel.MIN_SAMPLES - 1, 10) == 1
    assert 1 <= workers(parallel.MIN_SAMPLES, 10) <= min(len(os.sched_getaffinity(0)), 8)
    assert workers(10**6, 1) == 1
    monkeypatch.setenv(parallel.WORKERS_ENV, "4")
    assert workers(10, 10) == 4 and workers(10, 3) == 3
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(parallel.WORKERS_ENV, bad)
        with pytest.raises(ConfigError, match="SHOOTOUT_WORKERS must be a whole number"):
            workers(10, 10)


def test_a_bad_workers_setting_is_a_one_line_error(store: Store, monkeypatch, capsys) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "many")
    with pytest.raises(SystemExit) as exc:
        main(["results", RUN_ID, "--store", str(store.path), "--json", "--rebuild"])
    err = capsys.readouterr().err
    assert exc.value.code not in (0, None)
    assert err.startswith("error: SHOOTOUT_WORKERS must be a whole number of processes")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("sizes", "n", "want"), [
    ({"a": 1, "b": 1, "c": 1, "d": 1}, 2, [["a", "b"], ["c", "d"]]),
    ({"a": 1, "b": 1, "c": 1, "d": 1}, 3, [["a", "b"], ["c"], ["d"]]),
    ({"b": 9, "a": 1, "c": 1, "d": 1}, 2, [["a", "b"], ["c", "d"]]),
    ({"a": 10, "b": 1, "c": 1}, 2, [["a"], ["b", "c"]]),
    ({"a": 1, "b": 1}, 8, [["a"], ["b"]]),
    ({"a": 5}, 4, [["a"]]),
])
def test_partition(sizes: dict[str, int], n: int, want: list[list[str]]) -> None:
    assert partition(sizes, n) == want


def test_read_run_of_some_models_is_the_whole_read_filtered(store: Store) -> None:
    whole = store.read_run(RUN_ID)
    some = store.read_run(RUN_ID, models=[MODELS[3], MODELS[0]])
    assert whole is not None and some is not None
    kept = {MODELS[0], MODELS[3]}
    assert some.samples == tuple(s for s in whole.samples if s.model in kept)
    assert set(some.responses) == {s.response_key for s in some.samples if s.response_key}
    assert all(some.responses[k] == whole.responses[k] for k in some.responses)
    reader = Store.reader(store.path)
    try:
        assert reader.read_run(RUN_ID, models=[MODELS[1]]) == store.read_run(
            RUN_ID, models=[MODELS[1]])
    finally:
        reader.close()


def test_spawned_workers_give_the_same(store: Store, monkeypatch) -> None:
    """Where the process has other threads, the workers are spawned (fresh interpreters that
    import what they need): the same results."""
    import multiprocessing

    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    split = summary_results(store, RUN_ID)
    assert split is not None
    assert json.dumps(results_cli.payload(split)) == json.dumps(_one_process(store))


def test_a_spawned_worker_importing_python_m_shootout_runs_no_command(capsys) -> None:
    """spawn imports the parent's `python -m shootout` module again as `__mp_main__`: that
    must not run the command line a second time."""
    import runpy

    runpy.run_module("shootout.__main__", run_name="__mp_main__")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_a_benchmark_from_outside_shootout_is_built_in_one_process(store: Store,
                                                                   monkeypatch) -> None:
    """A plug-in registered at run time is not registered in a spawned worker."""
    from toy_run import Colours

    from shootout.benchmarks import REGISTRY, register_benchmark

    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    assert summary_results(store, RUN_ID) is not None
    register_benchmark(Colours)
    try:
        row = SampleRow(model=MODELS[0], benchmark=Colours.name, item_id="c0", repeat=0,
                        group="", status="failed", metrics={}, extracted=None, reason="",
                        extraction_failed=False, error="x", response_key=None)
        store.put_sample(RUN_ID, row)
        assert summary_results(store, RUN_ID) is None
    finally:
        REGISTRY.pop(Colours.name, None)


def test_a_build_from_many_samples_says_so_on_stderr(store: Store, tmp_path: Path, capsys,
                                                     monkeypatch) -> None:
    """One line before a build that reads a large run (tens of seconds at 500k samples), none
    when the kept copy is served or the run is small."""
    from shootout.cli import console

    n = store.count_samples(RUN_ID)
    assert n == len(store.read_run(RUN_ID).samples) > 1000
    results_cli.results_payload(store, RUN_ID, rebuild=True)
    assert capsys.readouterr().err == ""  # below LARGE_RUN
    monkeypatch.setattr(console, "LARGE_RUN", 1000)
    results_cli.results_payload(store, RUN_ID, rebuild=True)
    assert capsys.readouterr().err == (
        f"building the results of {RUN_ID} from {n:,} samples (kept in the store for the "
        "next call)...\n")
    results_cli.results_payload(store, RUN_ID)
    assert capsys.readouterr().err == ""
    md = tmp_path / "r.md"
    argv = ["report", RUN_ID, "--store", str(store.path), "--md", str(md), "--no-charts"]
    for expected in (f"building the report from {n:,} samples", None):
        main(argv)
        err = capsys.readouterr().err
        assert (expected in err) if expected else ("building" not in err)
        assert md.is_file()


def test_runs_says_a_bad_workers_setting_instead_of_listing_no_cost(store: Store, monkeypatch,
                                                                     capsys) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "abc")
    with pytest.raises(SystemExit) as exc:
        main(["runs", "--store", str(store.path)])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err == ("error: SHOOTOUT_WORKERS must be a whole number of processes (1 or more), "
                   "got 'abc'\n")


def test_the_plan_reads_the_cells_from_the_index(store: Store, monkeypatch) -> None:
    """`Store.cell_sizes` (a covering index, no sample read) gives the cells and sizes that
    `sample_counts` gives, in its order; the plan's cells are the results' cells in order."""
    counts = store.sample_counts(RUN_ID)
    assert store.cell_sizes(RUN_ID) == [(m, b, n) for m, b, _, n, _ in counts]
    assert store.cell_sizes("no-such-run") == []
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    planned = parallel.plan(store, RUN_ID)
    assert planned is not None
    assert planned.cells == list(build_results(store, [RUN_ID]).runs[0].samples)
    assert [m for share in planned.shares for m in share] == sorted(MODELS)


def test_beside_computes_in_another_process_and_falls_back_to_this_one() -> None:
    """`beside` (the report's HTML rendered while its Markdown is): the value of fn, from a
    forked process; fn run here where the process could not give it back (a value that
    cannot be sent, an error: raised here as fn raises it), or where other threads run. In
    a fresh interpreter: this one may have threads left by other tests (then no fork)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import os, threading
        from shootout.analysis.parallel import beside
        here = os.getpid()
        assert beside(os.getpid)() != here
        assert beside(lambda: "x" * 100_000)() == "x" * 100_000
        assert beside(lambda: (os.getpid(), lambda: None))()[0] == here  # cannot be sent
        try:
            beside(lambda: 1 // 0)()
            raise SystemExit("no error")
        except ZeroDivisionError:
            pass
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:  # fork is not used in a process with other threads
            assert beside(os.getpid)() == here
        finally:
            stop.set()
            other.join()
        print("ok")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and p.stdout == "ok\n", p.stderr


def _sigint_handler(_: object) -> str:
    """In a worker: what it does on Ctrl-C (a module-level function: a worker imports it)."""
    import signal

    handler = signal.getsignal(signal.SIGINT)
    return getattr(handler, "__name__", str(handler))


def _ended_at(pause: float) -> float:
    """In a worker: the time it ends, after `pause` seconds."""
    import time

    time.sleep(pause)
    return time.time()


def test_meanwhile_is_done_here_while_the_workers_work() -> None:
    """`meanwhile` (a report's imports) is done in this process before the workers' results
    are awaited, and what it raises is ignored."""
    import os
    import time

    done: list[tuple[int, float]] = []

    def meanwhile() -> None:
        done.append((os.getpid(), time.time()))
        raise RuntimeError("ignored: work done ahead")

    ended = parallel.in_processes(_ended_at, [0.5, 0.5], meanwhile)
    assert ended is not None and len(done) == 1
    assert done[0][0] == os.getpid() and done[0][1] < min(ended)


def test_workers_end_quietly_on_ctrl_c() -> None:
    """Ctrl-C reaches the whole process group: a worker's own KeyboardInterrupt printed its
    traceback over the command's one line. A worker now ends at once without a word (one
    that ignored it held up the command's exit until it finished its work)."""
    assert parallel.in_processes(_sigint_handler, [None, None]) == ["_end_quietly"] * 2
    got = parallel.beside(lambda: _sigint_handler(None))()
    assert got == "_end_quietly" or parallel._context().get_start_method() != "fork"


def test_an_interrupted_command_does_not_wait_for_its_worker(tmp_path) -> None:
    """Ctrl-C while a `beside` worker computes: the command ends at once (8.8 s for an 8 s
    worker that ignored Ctrl-C), and says nothing of the worker."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "w.py"
    # Ctrl-C as a terminal delivers it: a command started in the background of a
    # non-interactive shell (nohup, a CI script's `&`) inherits SIGINT ignored
    script.write_text(
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from shootout.analysis.parallel import beside\n"
        "r = beside(lambda: time.sleep(8))\n"
        "print('started', flush=True)\n"
        "time.sleep(30)\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 4.0
    assert "Process ForkProcess" not in err and err.count("Traceback") <= 1, err


def test_a_share_is_held_only_in_a_forked_worker_and_released_before_the_next():
    """A forked worker keeps its share's records to its end (`os._exit` frees nothing); a
    spawned one ends with the interpreter's shutdown, which freed them while the pool's
    shutdown waited (1.5 s more at 600k records, a review's): it holds nothing. A worker
    that takes a second share frees the first before reading it."""
    import gc
    import signal

    from shootout.analysis import parallel

    records = [object()]
    was_on = gc.isenabled()
    try:
        gc.enable()
        parallel._worker_start(False)
        assert gc.isenabled()
        assert parallel.held(records) is records and parallel._HELD == []
        parallel._worker_start(True)
        assert not gc.isenabled()  # nothing walks the held records when the share returns
        assert parallel.held(records) is records
        assert len(parallel._HELD) == 1 and parallel._HELD[0] is records
        parallel.release()
        assert parallel._HELD == []
    finally:
        parallel._FORKED = False
        parallel._HELD.clear()
        if was_on:
            gc.enable()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _children(pid: int) -> list[int]:
    import os

    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(name))
    return out


def test_workers_end_with_their_command_killed() -> None:
    """A build's workers, their command killed (SIGKILL), stayed blocked on their pipes,
    holding their shares' memory and the store open (a store audit's): they end with it."""
    import os
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    script = ("import time\nfrom shootout.analysis import parallel\n"
              "parallel.in_processes(time.sleep, [60, 60])\n")
    p = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while len(kids := _children(p.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(kids) >= 2, kids
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.1)
    left = [k for k in kids if _alive(k)]
    for k in left:  # (not to leave them behind when the test fails)
        os.kill(k, 9)
    assert left == []


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, ended and not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
