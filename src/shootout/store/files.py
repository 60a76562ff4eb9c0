"""The store's file on disk: what a file is (found without writing to it), and how it is
opened read-only."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

BUSY_TIMEOUT = 30.0  # seconds a connection waits for another process's write lock


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that writes nothing, not even WAL's shared-memory file: where
    that file cannot be created (read-only media), the database is read as immutable."""
    uri = path.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT,
                         isolation_level=None)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return db
    except sqlite3.OperationalError as e:
        db.close()
        if "unable to open" not in str(e) and "readonly" not in str(e):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        # read as immutable, the WAL's writes are not read: the store was read as it was
        # before them, with no word (20 samples of 48; an audit's)
        raise sqlite3.OperationalError(
            f"its WAL file {wal.name} may hold writes that are not in it yet, and SQLite "
            "cannot read them where it cannot make the -shm file beside it: copy the store "
            "with its -wal to a folder that can be written")
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=BUSY_TIMEOUT,
                           isolation_level=None)


def restore_side_modes(path: Path) -> None:
    """WAL's side files given the store's own mode where an earlier read left them without
    it: SQLite makes them with the store file's mode, so a read while the file was read-only
    (`chmod 444`) left them read-only, and once the file was writable again every command
    failed on them ("attempt to write a readonly database"; a store audit's). Only where
    this user owns them, and the store itself can be written by its owner."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if not mode & stat.S_IWUSR:
        return
    for side in (path.with_name(path.name + s) for s in ("-wal", "-shm")):
        try:  # the file itself, never a link's target (a folder others can write may hold
            # a link named so to a file of this user's: a review's)
            fd = os.open(side, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() \
                    and not st.st_mode & stat.S_IWUSR:
                os.fchmod(fd, mode)
        except OSError:
            pass
        finally:
            os.close(fd)


def can_write(path: Path) -> bool:
    """Whether the store and (for WAL's two side files) its folder, or the side files that
    are there, can be written."""
    if not os.access(path, os.W_OK):
        return False
    sides = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
    if any(p.exists() and not os.access(p, os.W_OK) for p in sides):
        return False
    return os.access(path.parent, os.W_OK) or all(os.access(p, os.W_OK) for p in sides)


def inspect_file(path: Path) -> tuple[str, str]:
    """What the file at `path` is, found without writing to it: ("store", ""), ("empty", "")
    (no file, an empty one, or an SQLite database with no tables yet), ("foreign", why), or
    ("unknown", why) where it cannot be read (the caller's own open then says why)."""
    # read through SQLite only: opening and closing the file with a descriptor of our own
    # would drop the POSIX locks this process's open connections hold on it (sqlite.org,
    # "How To Corrupt An SQLite Database File", 2.2), and corrupt the store
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return "empty", ""
    except OSError as e:
        return "unknown", str(e.strerror)
    try:
        db = read_only(path)
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            return "foreign", "not an SQLite database"
        return "unknown", str(e)
    try:
        names = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if not names:
            return "empty", ""
        runs = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
        if runs and not {"run_id", "status", "spec_json"} <= runs:
            return "foreign", "its runs table has other columns"
        if "meta" not in names or "runs" not in names:
            return "foreign", f"its tables are not shootout's: {', '.join(sorted(names)[:5])}"
        if db.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is None:
            return "foreign", "its meta table has no shootout schema version"
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            return "foreign", "not an SQLite database"
        return "unknown", str(e)
    finally:
        db.close()
    return "store", ""


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file at `path` (device and inode), None where there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_overwriting_a_database(out: Path, store: Path, flag: str) -> None:
    """A command would replace `out` whole: not the store it reads (an audit's `-o` named
    the store, and every run in it was gone), nor any other SQLite database (ConfigError)."""
    from ..errors import ConfigError

    try:
        if not out.is_file():
            return
        with out.open("rb") as f:
            head = f.read(16)
        same = store.exists() and out.samefile(store)
    except OSError:  # (a name too long...): the write says what is wrong with the path
        return
    if same or head == b"SQLite format 3\x00":
        what = "the results store this command reads" if same else "a SQLite database"
        raise ConfigError(f"{flag} {out} is {what}: not overwritten (give another file)")
