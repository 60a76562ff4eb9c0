"""A run whose process was killed outright reads as interrupted, not running (store.owner)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from shootout.store import Store
from shootout.store.owner import _start_ticks, is_gone, this_process


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _record(**over: object) -> str:
    return json.dumps({**json.loads(this_process()), **over})


def test_this_process_is_not_gone():
    assert not is_gone(this_process())


def test_a_dead_pid_is_gone():
    assert is_gone(_record(pid=_dead_pid()))


def test_a_reused_pid_is_gone():
    # our own pid, but started at another moment: another process now has the pid
    start = _start_ticks(os.getpid())
    assert start is not None
    assert is_gone(_record(start=str(int(start) + 1)))


def test_another_boot_is_gone():
    assert is_gone(_record(boot="00000000-0000-0000-0000-000000000000"))


def test_what_cannot_be_told_is_not_gone():
    assert not is_gone(_record(host=socket.gethostname() + "-elsewhere", pid=_dead_pid()))
    assert not is_gone(None)
    assert not is_gone("not json")
    assert not is_gone(json.dumps([1, 2]))
    assert not is_gone(_record(pid="12"))
    assert not is_gone(_record(pid=True))


def _own(path, run_id: str, record: str) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key=?", (record, f"run_owner:{run_id}"))
    db.commit()
    db.close()


def _raw_status(path, run_id: str) -> str:
    db = sqlite3.connect(path)
    (status,) = db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
    db.close()
    return str(status)


def test_a_killed_run_is_listed_and_marked_interrupted(tmp_path):
    path = tmp_path / "s.sqlite"
    db = Store(path)
    db.upsert_run("r-live", {"x": 1})
    db.upsert_run("r-dead", {"x": 2})
    db.upsert_run("r-done", {"x": 3})
    db.set_run_status("r-done", "complete")
    before = {r["run_id"]: r for r in db.list_runs()}
    _own(path, "r-dead", _record(pid=_dead_pid()))
    statuses = {r["run_id"]: r["status"] for r in db.list_runs()}
    assert statuses == {"r-live": "running", "r-dead": "interrupted", "r-done": "complete"}
    assert _raw_status(path, "r-dead") == "interrupted"  # marked, so kept builds go stale
    after = {r["run_id"]: r for r in db.list_runs()}
    assert after["r-dead"]["updated_at"] == before["r-dead"]["updated_at"]
    run = db.get_run("r-dead")
    assert run is not None and run["status"] == "interrupted"
    # a resumed run is running again, owned by its new process
    db.upsert_run("r-dead", {"x": 2})
    assert db.get_run("r-dead")["status"] == "running"  # type: ignore[index]
    db.close()


def test_a_read_only_store_reads_interrupted_unmarked(tmp_path):
    path = tmp_path / "s.sqlite"
    db = Store(path)
    db.upsert_run("r-dead", {"x": 2})
    db.close()
    _own(path, "r-dead", _record(pid=_dead_pid()))
    ro = Store.reader(path)
    assert ro.get_run("r-dead")["status"] == "interrupted"  # type: ignore[index]
    ro.close()
    assert _raw_status(path, "r-dead") == "running"


def test_another_pid_namespace_cannot_be_told():
    # a run in a container that shares the host name: its pids mean nothing here
    assert not is_gone(_record(pid=_dead_pid(), pidns="pid:[1]"))


def test_an_unknown_run_id_names_the_latest_runs_newest_first(tmp_path):
    from shootout.analysis.results import build_results
    from shootout.errors import ConfigError

    db = Store(tmp_path / "s.sqlite")
    for i, run_id in enumerate(("r-a", "r-b", "r-c")):
        db.upsert_run(run_id, {"x": i})
        db.set_run_times(run_id, 100.0 + i, 100.0 + i)
    db.set_run_times("r-a", 100.0, 200.0)  # resumed last
    with pytest.raises(ConfigError, match=r"latest first: r-a, r-c, r-b\)"):
        build_results(db, ["r-missing"])


def test_a_run_being_merged_is_refused_as_one():
    """A second merge of the same run was refused with the run's own reason, "a second
    process would send again every request it has not answered yet" (a store audit's)."""
    from shootout.store.owner import RunBusyError

    owner = json.dumps({"pid": 4242})
    merging = str(RunBusyError("r-1", owner, "merging"))
    assert merging.startswith("run r-1 is being merged (process 4242 on this machine): "
                              "another process is merging its shards into this store")
    assert "send again" not in merging
    assert "send again every request" in str(RunBusyError("r-1", owner))
