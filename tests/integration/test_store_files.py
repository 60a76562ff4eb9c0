"""A --store that is not a shootout store is refused in one line and left byte for byte as it
was; a store that cannot be written is still read (nothing kept in it)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(cmd: list[str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          **kw)  # type: ignore[call-overload]


def _one_line(p: subprocess.CompletedProcess[str], *needles: str) -> str:
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ") and "internal error" not in lines[0], lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _other_apps_runs(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO runs VALUES (1, 'morning jog')")
    db.commit()
    db.close()


def _other_apps_notes(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('milk')")
    db.commit()
    db.close()


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"\xff\xfe just some bytes, not a database\n" * 10)


READERS = [["runs"], ["results"], ["results", "r1"], ["report"], ["export", "r1", "-o", "-"],
           ["view", "r1", "--port", "0"], ["monitor", "--summary"]]


@pytest.mark.parametrize("make", [_other_apps_runs, _other_apps_notes, _not_sqlite])
@pytest.mark.parametrize("command", READERS, ids=lambda c: "-".join(c[:1]))
def test_a_read_only_command_refuses_a_file_that_is_not_a_store_untouched(
        shootout_cmd, tmp_path, make, command):
    path = tmp_path / "other.db"
    make(path)
    before = path.read_bytes()
    p = _run(shootout_cmd, *command, "--store", str(path))
    assert p.returncode == 5, p.stderr
    _one_line(p, str(path), "is not a shootout results store")
    assert path.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


def test_run_into_another_apps_runs_table_is_one_line_exit_5(shootout_cmd, tmp_path, data_dir):
    path = tmp_path / "other.db"
    _other_apps_runs(path)
    before = path.read_bytes()
    p = _run(shootout_cmd, "run", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1",
             "-b", "arc_easy", "--limit", "2", "--data-dir", str(data_dir),
             "--store", str(path), "--no-progress")
    assert p.returncode == 5, p.stderr
    _one_line(p, f"{path} is not a shootout results store (its runs table has other columns)")
    assert path.read_bytes() == before


def _freeze(paths: list[Path], on: bool) -> None:
    """Make files and folders unwritable even by root (who writes through file modes): the
    immutable attribute, as read-only media would."""
    for p in paths:
        if os.geteuid() == 0:
            r = subprocess.run(["chattr", "+i" if on else "-i", str(p)], capture_output=True)
            if r.returncode and on:
                pytest.skip(f"cannot make {p} immutable: {r.stderr!r}")
        else:
            p.chmod((0o555 if p.is_dir() else 0o444) if on else 0o755)


@pytest.fixture
def read_only_store(tmp_path) -> Iterator[Path]:
    """The report's sample store in a folder that cannot be written, as on read-only media."""
    from shootout.report.sample_data import build_sample_store

    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "s.sqlite"
    build_sample_store(path).close()
    assert sorted(x.name for x in folder.iterdir()) == ["s.sqlite"]
    _freeze([path, folder], True)
    try:
        yield path
    finally:
        _freeze([path, folder], False)


def _as_reader(cmd: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run(cmd, *args, cwd=str(cwd))


@pytest.mark.parametrize("command", [["runs"], ["results"], ["results", "--json"],
                                     ["report"], ["export", "-o", "-"]],
                         ids=lambda c: "-".join(c))
def test_a_store_that_cannot_be_written_is_read(read_only_store, command):
    cmd = [sys.executable, "-m", "shootout"]  # run from the store's folder: cwd unwritable
    before = read_only_store.read_bytes()
    if command[0] == "export":
        runs = _as_reader(cmd, "runs", "--json", "--store", str(read_only_store),
                          cwd=read_only_store.parent)
        command = ["export", json.loads(runs.stdout)["runs"][0]["run_id"], *command[1:]]
    p = _as_reader(cmd, *command, "--store", str(read_only_store), cwd=read_only_store.parent)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip()
    assert "error" not in p.stderr
    assert read_only_store.read_bytes() == before
    assert sorted(x.name for x in read_only_store.parent.iterdir()) == ["s.sqlite"]
    assert not os.access(read_only_store, os.W_OK)


def test_a_wal_that_cannot_be_read_on_read_only_media_is_said(tmp_path):
    """A store copied to read-only media with its -wal but not its -shm was read as
    immutable: without the WAL's writes (20 samples of 48, exit 0), or "empty" where all of
    it was in the WAL (a store audit's). It is refused with one line saying why."""
    import shutil
    import sqlite3

    from shootout.report.sample_data import build_sample_store

    src = tmp_path / "src.sqlite"
    build_sample_store(src).close()
    db = sqlite3.connect(src)  # writes left in the WAL, as a killed run leaves them
    db.execute("PRAGMA wal_autocheckpoint=0")
    with db:
        db.execute("UPDATE samples SET reason = 'in the WAL'")
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(src, folder / "s.sqlite")
    shutil.copy(f"{src}-wal", folder / "s.sqlite-wal")
    db.close()
    _freeze([folder / "s.sqlite", folder / "s.sqlite-wal", folder], True)
    try:
        p = _run([sys.executable, "-m", "shootout"], "runs", "--store",
                 str(folder / "s.sqlite"), cwd=str(tmp_path))
    finally:
        _freeze([folder / "s.sqlite", folder / "s.sqlite-wal", folder], False)
    assert p.returncode == 5, (p.stdout, p.stderr)
    _one_line(p, "s.sqlite-wal may hold writes that are not in it yet")


def test_side_files_a_read_left_read_only_are_writable_with_their_store(tmp_path):
    """SQLite makes a store's -wal and -shm with the store file's mode: read while it was
    `chmod 444`, they stayed read-only once it was writable again, and every command failed
    on them, "attempt to write a readonly database" (a store audit's)."""
    from shootout.errors import StoreError
    from shootout.report.sample_data import build_sample_store
    from shootout.store import Store
    from shootout.store.files import inspect_file

    path = tmp_path / "s.sqlite"
    build_sample_store(path).close()
    path.chmod(0o444)
    assert inspect_file(path)[0] == "store"  # a read: SQLite makes the side files, 0444
    sides = [path.with_name(path.name + x) for x in ("-wal", "-shm")]
    assert all(x.exists() and not x.stat().st_mode & 0o200 for x in sides)
    path.chmod(0o644)
    # a link named as a side file is not followed: its target keeps its mode (a review's)
    target = tmp_path / "key.pem"
    target.write_text("secret")
    target.chmod(0o400)
    other = tmp_path / "o.sqlite"
    build_sample_store(other).close()
    Path(f"{other}-wal").symlink_to(target)
    with pytest.raises(StoreError):  # (SQLite does not open a WAL that is a link)
        Store(other)
    assert target.stat().st_mode & 0o777 == 0o400
    store = Store(path)  # open: its side files are there, as SQLite uses them
    try:
        assert [x.stat().st_mode & 0o777 for x in sides] == [0o644, 0o644]
    finally:
        store.close()


def test_a_stores_file_is_looked_at_through_sqlite_only(tmp_path, monkeypatch):
    """Telling a store from another file must not open the file with a descriptor of its
    own: closing it would drop the POSIX locks this process's open connections hold on it
    (sqlite.org, "How To Corrupt An SQLite Database File", 2.2); a run of the test suite
    found a store malformed so."""
    import builtins
    import io

    from shootout.store.sqlite import Store

    path = tmp_path / "s.sqlite"
    first = Store(path)  # a connection of this process, open on the file
    real_open = builtins.open

    def guarded(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert Path(str(file)).resolve() != path.resolve(), "the store was opened directly"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)
    second = Store(path)
    assert second.integrity_check() == "ok" and first.integrity_check() == "ok"
    second.close()
    first.close()


@pytest.fixture
def frozen_store_file(tmp_path) -> Iterator[Path]:
    """The report's sample store, the file read-only (its folder writable): a user's
    `chmod 444`, or an immutable file."""
    from shootout.report.sample_data import build_sample_store

    path = tmp_path / "s.sqlite"
    build_sample_store(path).close()
    _freeze([path], True)
    try:
        yield path
    finally:
        _freeze([path], False)


def test_commands_that_write_to_a_read_only_store_file_say_so_in_one_line(
        shootout_cmd, frozen_store_file, data_dir):
    """`run`, `rescore` and `perf` on a read-only store file: one line, exit 5 (they
    stopped with "internal error OperationalError: attempt to write a readonly database",
    exit 70); `perf` says it before sending a request (it sent the whole load test, then
    lost its figures)."""
    from shootout.report.sample_data import RUN_ID
    from shootout.testing import FakeOpenAIServer

    store = ["--store", str(frozen_store_file)]
    p = _run(shootout_cmd, "run", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1",
             "-b", "arc_easy", "--limit", "2", "--data-dir", str(data_dir), "--no-progress",
             *store)
    assert p.returncode == 5, p.stderr
    _one_line(p, f"cannot write the results store {frozen_store_file}: it is read-only")
    p = _run(shootout_cmd, "rescore", RUN_ID, "--data-dir", str(data_dir), *store)
    assert p.returncode == 5, p.stderr
    _one_line(p, "cannot write the results store")
    with FakeOpenAIServer() as srv:
        p = _run(shootout_cmd, "perf", "-m", "openai:fake", "--base-url", srv.base_url,
                 "-n", "2", *store)
        assert srv.requests == []
    assert p.returncode == 5, p.stderr
    _one_line(p, f"cannot write the results store {frozen_store_file}: it is read-only")


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    from shootout.report.sample_data import build_sample_store

    path = tmp_path_factory.mktemp("corrupt") / "good.sqlite"
    build_sample_store(path).close()
    return path


@pytest.mark.parametrize(("table", "change"), [
    ("runs", "spec_json = '{garbage'"), ("runs", "manifest_json = '5'"),
    ("runs", "created_at = 'abc'"), ("samples", "metrics_json = '{garbage'"),
    ("samples", "detail_json = '[1]'"), ("responses", "response_json = '{garbage'"),
    # valid JSON, not what shootout writes (an internal error where the results used it)
    ("samples", """metrics_json = '{"acc": "high"}'"""), ("samples", "repeat = 'x'"),
])
def test_a_store_with_a_row_it_cannot_read_says_so_in_one_line(shootout_cmd, good_store,
                                                                tmp_path, table, change):
    """One damaged row (or one written by another program): one line, exit 5, for every
    command that reads it (it was "internal error JSONDecodeError ...", exit 70: an
    audit's finding)."""
    import shutil

    from shootout.report.sample_data import RUN_ID

    path = tmp_path / "c.sqlite"
    shutil.copy(good_store, path)
    db = sqlite3.connect(path)
    db.execute(f"UPDATE {table} SET {change} WHERE rowid = (SELECT min(rowid) FROM {table})")
    db.commit()
    db.close()
    for command in (["results", RUN_ID, "--json"], ["report", RUN_ID, "--no-charts"]):
        p = _run(shootout_cmd, *command, "--store", str(path))
        assert p.returncode == 5, (command, p.stderr)
        _one_line(p, "the results store has a row that cannot be read")


def test_rescore_on_an_empty_file_leaves_it_empty(shootout_cmd, tmp_path):
    """`rescore` made a 0-byte file a store (112 KB of schema) and said there was no such
    run; every other command says the file is not a store (an audit's finding)."""
    path = tmp_path / "empty.sqlite"
    path.touch()
    p = _run(shootout_cmd, "rescore", "r-x", "--store", str(path))
    assert p.returncode == 5, p.stderr
    _one_line(p, f"{path} is not a shootout results store (it is empty)")
    assert path.stat().st_size == 0


def test_rescore_skips_a_stored_response_that_is_not_one(shootout_cmd, tmp_path, data_dir):
    """A stored response that is JSON but not a response ('{}'): rescore says it skipped it
    (it was an internal error, KeyError 'text'), and a rerun asks for it again instead of
    serving it from the cache."""
    from shootout.testing import FakeOpenAIServer

    path = tmp_path / "c.sqlite"
    store = ["--store", str(path), "--data-dir", str(data_dir)]
    with FakeOpenAIServer() as srv:
        run = ["run", "-m", "openai:m", "--base-url", srv.base_url, "-b", "gsm8k", "--limit",
               "2", "--no-progress", *store]
        p = _run(shootout_cmd, *run)
        assert p.returncode == 0, p.stderr
        db = sqlite3.connect(path)
        run_id, = db.execute("SELECT run_id FROM runs").fetchone()
        db.execute("UPDATE responses SET response_json = '{}' WHERE rowid = "
                   "(SELECT min(rowid) FROM responses)")
        db.commit()
        db.close()
        p = _run(shootout_cmd, "rescore", run_id, *store)
        assert p.returncode == 0, p.stderr
        assert "stored response cannot be read" in p.stdout + p.stderr
        asked = len(srv.requests)
        run[run.index("openai:m")] = "again=openai:m"  # another run, the same requests
        p = _run(shootout_cmd, *run)
        assert p.returncode == 0, p.stderr
        assert len(srv.requests) == asked + 1


def test_a_writer_of_a_store_deleted_meanwhile_makes_no_empty_one(tmp_path):
    """`Store.writer` (a forked process's own connection to its parent's store) made an
    empty file where the store had been deleted meanwhile (a review's)."""
    from shootout.errors import StoreError
    from shootout.store import Store

    with pytest.raises(StoreError):
        Store.writer(tmp_path / "gone.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_a_store_whose_folder_cannot_be_written_says_the_folder(shootout_cmd, tmp_path,
                                                                  data_dir):
    """A writable store in a folder that cannot be written was called "read-only" (SQLite
    needs the folder for its -wal and -shm files), and a new store there failed with
    SQLite's "unable to open database file" (an audit's): both name the folder."""
    from shootout.report.sample_data import build_sample_store

    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "s.sqlite"
    build_sample_store(path).close()
    for side in folder.glob("s.sqlite-*"):
        side.unlink()
    _freeze([folder], True)
    try:
        args = ["run", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "-b",
                "arc_easy", "--limit", "2", "--data-dir", str(data_dir), "--no-progress"]
        p = _run(shootout_cmd, *args, "--store", str(path))
        assert p.returncode == 5, p.stderr
        line = _one_line(p, f"its folder {folder} cannot be written", "-wal")
        assert "read-only" not in line
        p = _run(shootout_cmd, *args, "--store", str(folder / "new.sqlite"))
        assert p.returncode == 5, p.stderr
        _one_line(p, f"cannot create results store {folder / 'new.sqlite'}: its folder "
                     f"{folder} cannot be written")
    finally:
        _freeze([folder], False)
