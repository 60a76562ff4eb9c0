"""A store that cannot be written, or is deleted, in the middle of a run.

Locked past the busy wait by another process (a full disk is the same error class): one
line, exit 5, and what was stored before is kept (an audit saw "internal error
OperationalError ... This is a bug", exit 70). Deleted: said, not reported as kept."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from shootout.cli.main import main
from shootout.store import Store
from shootout.testing import FakeOpenAIServer


def test_a_store_locked_mid_run_is_one_line_and_exit_5(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setattr("shootout.store.sqlite.BUSY_TIMEOUT", 0.3)
    store = tmp_path / "s.sqlite"
    held: list[sqlite3.Connection] = []
    lock = threading.Lock()

    def answer(body):  # the third request takes the store's lock, and keeps it
        with lock:
            if len(answer.seen) == 2 and not held:
                db = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
                db.execute("BEGIN EXCLUSIVE")
                held.append(db)
            answer.seen.append(body)
        return "The answer is 42."

    answer.seen = []
    with FakeOpenAIServer(answer_fn=answer) as srv, pytest.raises(SystemExit) as e:
        main(["run", "-m", "openai:fake-model", "--base-url", srv.base_url, "-b", "gsm8k",
              "--limit", "4", "--concurrency", "1", "--store", str(store),
              "--data-dir", str(data_dir), "--no-progress"])
    assert held, "the lock was never taken"
    held[0].execute("ROLLBACK")
    held[0].close()
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 5, err
    assert len(err) == 1 and err[0].startswith("error: cannot write the results store: "
                                               "database is locked"), err
    assert "bug" not in err[0]
    # the two answers stored before the lock are kept
    run_id = Store(store).latest_run_id()
    assert run_id is not None and Store(store).count_samples(run_id) >= 1


def test_a_store_deleted_mid_run_is_not_reported_as_kept(tmp_path, data_dir, capsys):
    """The store's files removed while the run writes (SQLite goes on writing to the unlinked
    file): the run printed a complete results table and exited 0, and nothing was kept."""
    store = tmp_path / "s.sqlite"

    def answer(body):
        answer.seen += 1
        if answer.seen == 2:
            for suffix in ("", "-wal", "-shm"):
                (tmp_path / f"s.sqlite{suffix}").unlink(missing_ok=True)
        return "The answer is 42."

    answer.seen = 0
    with FakeOpenAIServer(answer_fn=answer) as srv, pytest.raises(SystemExit) as e:
        main(["run", "-m", "openai:fake-model", "--base-url", srv.base_url, "-b", "gsm8k",
              "--limit", "3", "--concurrency", "1", "--store", str(store),
              "--data-dir", str(data_dir), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 5 and len(err) == 1, err
    assert f"the results store {store} was deleted or replaced while this run wrote" in err[0]
