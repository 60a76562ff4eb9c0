"""Two processes writing to one store at once do not corrupt it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from typing import Any

from shootout.testing import FakeOpenAIServer


def test_two_writers(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "shared.sqlite"
    with FakeOpenAIServer(ttft=0.002) as srv:
        procs = [
            subprocess.Popen(
                [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
                 "-b", bench, "--limit", "60", "--protocol", "seed", "--store", str(store),
                 "--data-dir",
                 str(data_dir), "--json", "--no-progress", "--concurrency", "8"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for bench in ("arc_easy", "arc_challenge")
        ]
        outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["results"]
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = dict(db.execute("SELECT benchmark, COUNT(*) FROM samples GROUP BY benchmark"))
    assert counts == {"arc_easy": 180, "arc_challenge": 180}
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def _open_at_the_barrier(path: str, barrier: Any, results: Any) -> None:
    from shootout.store.sqlite import Store

    barrier.wait()
    try:
        Store(path).close()
        results.put("ok")
    except Exception as e:  # the message is the finding
        results.put(str(e))


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """Processes racing to create one store: SQLite tells the loser of the switch to WAL "database
    is locked" at once, without its busy timeout (CI failed on this once). Before the retry,
    about 1 trial in 8 of 4 openers failed; 30 trials must all open."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    failures = []
    for trial in range(30):
        path = str(tmp_path / f"s{trial}.sqlite")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_at_the_barrier, args=(path, barrier, results))
                 for _ in range(4)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
        failures += [o for o in outcomes if o != "ok"]
    assert failures == []
    assert sqlite3.connect(tmp_path / "s0.sqlite").execute(
        "SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
