"""SQLite store (WAL): runs, cached responses, scored samples, load tests, availability probes
(their SQL in `store.probes`).

Every response is committed as soon as it arrives, keyed by a hash of (model, request, repeat),
so a killed run loses at most the requests in flight, and a rerun serves the rest from here.
No module outside `shootout.store` touches SQLite: everything goes through `Store`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StoreError, why_not_made
from ..utf8 import well_formed, well_formed_or_none
from .browse import BrowseStore
from .built import BuiltStore
from .copying import CopyingStore
from .decode import fast_loads, lean_facts, sample_row
from .files import (
    BUSY_TIMEOUT,
    can_write,
    file_identity,
    inspect_file,
    read_only,
    restore_side_modes,
)
from .nums import pack
from .owner import RunBusyError, is_alive, is_gone, this_process
from .perf import PerfStore
from .probes import ProbeStore
from .reading import _SAMPLE_COLUMNS, ReadingStore
from .rows import (
    ANSWERED,
    ANSWERED_SQL,
    SampleRow,
    StoredResponse,
)
from .schema import SCHEMA, SCHEMA_VERSION, STORE_TABLES, migrate, statements

__all__ = ["SCHEMA_VERSION", "SampleRow", "Store", "StoredResponse", "default_store_path"]

_OWNER = "run_owner:"  # meta key prefix: the process running a run (`store.owner`)
# the statuses of a run a process is working on: one whose process is gone is "interrupted"
# (a merge killed midway too: `shootout merge` again finishes it)
_OWNED = ("running", "merging")


def default_store_path() -> Path:
    return Path(os.environ.get("SHOOTOUT_STORE") or ".shootout/results.sqlite")


class Store(ReadingStore, ProbeStore, PerfStore, BuiltStore, BrowseStore, CopyingStore):
    """One SQLite file. Safe for several processes: WAL plus a busy timeout."""

    writable = True  # False where opened read-only (`reader`, `open_existing`)

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if self.path.is_dir():  # SQLite's own word was "unable to open database file"
            # a bad path given: exit 2 as every command that checks it first says it
            raise ConfigError(f"{self.path} is a folder, not a results store")
        kind, reason = inspect_file(self.path)
        if kind == "foreign":  # another application's file: not a byte of it is changed
            raise StoreError(f"{self.path} is not a shootout results store ({reason})")
        restore_side_modes(self.path)
        self.check_writable()  # a file that cannot be written is not opened for writing
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self._initialise()
            self._file = file_identity(self.path)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open results store {self.path}: {e}") from e
        except OSError as e:
            raise StoreError(f"cannot create results store {self.path}: "
                             f"{why_not_made(self.path, e)}") from e

    def check_writable(self) -> None:
        """Raise StoreError where the store cannot be written (a read-only file, or a
        folder that cannot hold its WAL files): a command that measures before it writes
        (a load test) says so before it starts, not after."""
        if self.path.is_file() and not can_write(self.path):
            if os.access(self.path, os.W_OK):  # the file is: its folder is not (the file
                # was called read-only: an audit's)
                raise StoreError(
                    f"cannot write the results store {self.path}: its folder "
                    f"{self.path.parent} cannot be written, and SQLite writes the store's "
                    "-wal and -shm files beside it (make the folder writable, or give "
                    "--store a path in one that is)")
            raise StoreError(f"cannot write the results store {self.path}: it is read-only "
                             "(make it writable, or give --store a path that is)")
        parent = self.path.parent
        if not self.path.exists() and parent.is_dir() and not os.access(parent, os.W_OK):
            raise StoreError(f"cannot create results store {self.path}: its folder {parent} "
                             "cannot be written (give --store a path in one that can)")

    def holds_nothing(self) -> bool:
        """Whether the store holds no run, load test or monitor (where it cannot be read:
        False, it is not to be removed)."""
        try:
            return not any(self._db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                           for t in ("runs", "perf_runs", "monitors"))
        except sqlite3.Error:
            return False

    def check_still_there(self) -> None:
        """Raise StoreError where the store's file was deleted or replaced since it was
        opened: what was written went to a file no path leads to any more."""
        if getattr(self, "_file", None) is not None and file_identity(self.path) != self._file:
            raise StoreError(f"the results store {self.path} was deleted or replaced while "
                             "this run wrote to it: its results are lost with it (rerun the "
                             "same command to start again)")

    def _initialise(self) -> None:
        """WAL mode, then the schema and its migrations in one write transaction.

        Processes that open a new file at the same moment race to switch it to WAL, and SQLite
        answers the loser "database is locked" at once, without waiting on the busy timeout; so
        the set-up is retried (with a growing pause) until the timeout is spent.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT
        pause = 0.01
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self._transaction() as db:
                    for statement in statements(SCHEMA):
                        db.execute(statement)
                    self._check_version()
                    migrate(db)
                return
            except sqlite3.OperationalError as e:
                busy = "locked" in str(e) or "busy" in str(e)
                if not busy or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}, this shootout expects {SCHEMA_VERSION}"
            )

    @classmethod
    def writer(cls, path: Path | str) -> Store:
        """The store at `path` opened for writing without its set-up (WAL, schema, migrations:
        done by the process that opened it first), for a process forked from one that has it
        open (a forked process must not use its parent's connection: `report.basis`)."""
        self = cls.__new__(cls)
        self.path = Path(path)
        try:  # (mode=rw: a store deleted meanwhile is not made again, empty)
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True,
                                       timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open results store {self.path}: {e}") from e
        return self

    @classmethod
    def reader(cls, path: Path | str) -> Store:
        """The store at `path` opened read-only, without its set-up (WAL, schema, migrations),
        for a process that only reads a store another has opened (`analysis.parallel`), or a
        store on read-only media (`open_existing`)."""
        self = cls.__new__(cls)
        self.path = Path(path)
        self.writable = False
        try:
            self._db = read_only(self.path)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open results store {self.path}: {e}") from e
        return self

    @classmethod
    def open_existing(cls, path: Path | str) -> Store:
        """An existing store, for a command that only reads it: a file that is not a
        shootout store is refused untouched; one that cannot be written (read-only file or
        media) is opened read-only, and what the command would keep in it is not kept."""
        path = Path(path)
        kind, reason = inspect_file(path)
        if kind == "unknown":  # a damaged (truncated) store is not an empty one
            raise StoreError(f"cannot read results store {path}: {reason}")
        if kind != "store":
            why = reason if kind == "foreign" else "it is empty"
            raise StoreError(f"{path} is not a shootout results store ({why})")
        restore_side_modes(path)
        if can_write(path):
            return cls(path)
        self = cls.reader(path)
        try:
            self._check_version()
            have = {r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreError(f"cannot read results store {path}: {e}") from e
        missing = [t for t in STORE_TABLES if t not in have]
        if missing:
            self.close()
            raise StoreError(f"{path} cannot be written and was made by an older shootout "
                             f"(no {', '.join(missing)} table): open it once where it can be "
                             "written, or copy it somewhere writable")
        return self

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Several writes that land together or not at all (the connection autocommits)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs -----------------------------------------------------------------------------
    def upsert_run(self, run_id: str, spec: dict[str, Any], status: str = "running") -> bool:
        """Create the run if new; return True if it already existed (a resume). Starting to
        run it ("running") is refused while another process that is certainly alive runs it
        (`RunBusyError`): both would send every request not yet answered."""
        now = time.time()
        with nullcontext(self._db) if self._db.in_transaction else self._transaction() as db:
            if status in _OWNED:  # who runs (or merges) it: see `store.owner`
                me = this_process()
                row = db.execute("SELECT r.status, m.value FROM runs r LEFT JOIN meta m "
                                 "ON m.key = ? WHERE r.run_id = ?",
                                 (_OWNER + run_id, run_id)).fetchone()
                if row is not None and row[0] in _OWNED and row[1] not in (None, me) \
                        and is_alive(row[1]):
                    raise RunBusyError(run_id, row[1], row[0])
            cur = db.execute(
                "INSERT OR IGNORE INTO runs (run_id, created_at, updated_at, status, spec_json) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, now, now, status, json.dumps(spec, sort_keys=True)),
            )
            if status in _OWNED:
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           (_OWNER + run_id, me))
            if cur.rowcount == 0:
                db.execute(
                    "UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, now, run_id)
                )
                return True
            return False

    def check_not_busy(self, run_id: str, why: str | None = None) -> None:
        """`RunBusyError` where another process that is certainly alive runs (or merges)
        the run: a command that writes its manifest would lose its record to that
        process's next write (a rescore of a running run said "rescored 22", then the run's
        end dropped its log; an audit's)."""
        row = self._db.execute("SELECT r.status, m.value FROM runs r LEFT JOIN meta m "
                               "ON m.key = ? WHERE r.run_id = ?",
                               (_OWNER + run_id, run_id)).fetchone()
        if row is not None and row[0] in _OWNED and row[1] not in (None, this_process()) \
                and is_alive(row[1]):
            raise RunBusyError(run_id, row[1], row[0], why)

    def _live_status(self, run_id: str, status: str) -> str:
        """The run's status, where a "running" run's process is certainly gone (killed
        outright, so it could not say so) "interrupted", and so marked in the store where
        it can be written (its `updated_at`, the last time it did something, is kept).
        A "complete" run in which not one sample was answered is "failed" (`nothing_answered`):
        it went through its plan, but has no result of any kind to show."""
        if status == "complete":
            return "failed" if self.nothing_answered(run_id) else status
        if status not in _OWNED:
            return status
        row = self._db.execute("SELECT value FROM meta WHERE key=?",
                               (_OWNER + run_id,)).fetchone()
        if row is None or not is_gone(row[0]):
            return status
        if self.writable:  # not where it cannot be written (read-only media, a lock)
            with suppress(sqlite3.OperationalError):
                self._db.execute("UPDATE runs SET status='interrupted' "
                                 "WHERE run_id=? AND status=?", (run_id, status))
        return "interrupted"

    def set_run_status(self, run_id: str, status: str) -> None:
        self._db.execute(
            "UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, time.time(), run_id)
        )

    def set_run_times(self, run_id: str, created_at: float, updated_at: float) -> None:
        """Set a run's timestamps (a synthetic run with fixed dates, for goldens and demos)."""
        self._db.execute("UPDATE runs SET created_at=?, updated_at=? WHERE run_id=?",
                         (created_at, updated_at, run_id))

    def set_manifest(self, run_id: str, manifest: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE runs SET manifest_json=? WHERE run_id=?",
            (json.dumps(manifest, sort_keys=True), run_id),
        )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT run_id, created_at, updated_at, status, spec_json, manifest_json "
            "FROM runs WHERE run_id=?",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        spec, manifest = json.loads(row[4]), json.loads(row[5])
        if not isinstance(spec, dict) or not isinstance(manifest, dict):
            raise ValueError(f"run {row[0]}'s spec_json or manifest_json is not a JSON object")
        return {
            "run_id": row[0],
            "created_at": _time(row[1], row[0]),
            "updated_at": _time(row[2], row[0]),
            "status": self._live_status(row[0], row[3]),
            "spec": spec,
            "manifest": manifest,
        }

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first (by creation), with both its times and its status."""
        rows = self._db.execute(
            "SELECT run_id, created_at, updated_at, status FROM runs ORDER BY created_at"
        ).fetchall()
        return [{"run_id": r[0], "created_at": _time(r[1], r[0]),
                 "updated_at": _time(r[2], r[0]),
                 "status": self._live_status(r[0], r[3])} for r in rows]

    def latest_run_id(self, *, scored: bool = False) -> str | None:
        """The run most recently updated (a resumed old run counts as recent), or None;
        `scored`: a run that was not a dry run (which scores nothing) where there is one."""
        order = "status = 'dry-run', " if scored else ""
        row = self._db.execute(
            f"SELECT run_id FROM runs ORDER BY {order}updated_at DESC, created_at DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def forget_run(self, run_id: str) -> None:
        """Remove a run that has no samples (one that never started), and its owner mark."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM samples WHERE run_id=? LIMIT 1",
                          (run_id,)).fetchone() is None:
                db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
                db.execute("DELETE FROM meta WHERE key=?", (_OWNER + run_id,))

    def count_samples(self, run_id: str) -> int:
        """How many samples a run has (from the index: no sample is read)."""
        row = self._db.execute("SELECT COUNT(*) FROM samples WHERE run_id=?", (run_id,)).fetchone()
        return int(row[0])

    def sample_counts(self, run_id: str) -> list[tuple[str, str, int, int, int]]:
        """Per model x benchmark of a run: (model, benchmark, items, samples, failed samples).
        An answer cut off by the output limit ("truncated") was scored: it is not failed."""
        answered = ", ".join("?" * len(ANSWERED))
        rows = self._db.execute(
            "SELECT model, benchmark, COUNT(DISTINCT item_id), COUNT(*), "
            f"SUM(status NOT IN ({answered})) FROM samples WHERE run_id=? "
            "GROUP BY model, benchmark ORDER BY model, benchmark",
            (*ANSWERED, run_id),
        )
        return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4] or 0)) for r in rows]

    # -- responses (the cache) ------------------------------------------------------------
    def get_response(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT response_json FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def response_identity(self, key: str) -> str | None:
        """The cache identity a stored response was answered under (its `model` column)."""
        row = self._db.execute("SELECT model FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def get_request(self, key: str) -> dict[str, Any] | None:
        """The request stored with a response (what the model was sent), or None."""
        row = self._db.execute("SELECT request_json FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_response(
        self, key: str, model: str, kind: str, request: dict[str, Any], response: dict[str, Any]
    ) -> None:
        now = time.time()
        row = (key, model, kind, json.dumps(request), json.dumps(response), now)
        # `response_lean` written here, the chunk times as bytes: its trigger then finds the
        # row (same key and time) and leaves it (it would parse the whole response again)
        facts, chunks = lean_facts(response)
        # ... and `response_nums` (`store.nums`), where the response's figures fit it
        nums = pack(kind, now, response)
        with nullcontext(self._db) if self._db.in_transaction else self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO response_lean (key, kind, created_at, facts_json, "
                       "chunks) VALUES (?, ?, ?, ?, ?)",
                       (key, kind, now, facts, chunks))
            if nums is not None and (chunks is None or isinstance(chunks, bytes)):
                db.execute("INSERT OR REPLACE INTO response_nums (key, created_at, nums, chunks) "
                           "VALUES (?, ?, ?, ?)",
                           (key, now, nums, chunks))
            db.execute("INSERT OR REPLACE INTO responses (key, model, kind, request_json, "
                       "response_json, created_at) VALUES (?, ?, ?, ?, ?, ?)", row)

    # -- samples --------------------------------------------------------------------------
    def done_samples(self, run_id: str, model: str, benchmark: str) -> set[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT item_id, repeat FROM samples WHERE run_id=? AND model=? AND benchmark=? "
            f"AND status IN {ANSWERED_SQL}",
            (run_id, model, benchmark),
        )
        return {(r[0], r[1]) for r in rows}

    def failed_samples(self, run_id: str, model: str, benchmark: str) -> set[tuple[str, int]]:
        """(item, repeat) of the samples of `model` on `benchmark` that failed (a rerun asks
        them again)."""
        rows = self._db.execute(
            "SELECT item_id, repeat FROM samples WHERE run_id=? AND model=? AND benchmark=? "
            f"AND status NOT IN {ANSWERED_SQL}", (run_id, model, benchmark))
        return {(r[0], r[1]) for r in rows}

    def recorded_models(self) -> Iterator[dict[str, Any]]:
        """Each model's entry in each stored run's manifest (what its provider's `info` said),
        each distinct entry once."""
        seen: set[str] = set()
        for (text,) in self._db.execute(
                "SELECT json_extract(manifest_json, '$.models') FROM runs"):
            try:
                models = json.loads(text) if text else None
            except ValueError:
                continue
            for entry in (models.values() if isinstance(models, dict) else ()):
                blob = json.dumps(entry, sort_keys=True)
                if isinstance(entry, dict) and blob not in seen:
                    seen.add(blob)
                    yield entry

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` have a stored response."""
        out: set[str] = set()
        for i in range(0, len(keys), 500):
            part = list(keys[i:i + 500])
            out.update(r[0] for r in self._db.execute(
                f"SELECT key FROM responses WHERE key IN ({', '.join('?' * len(part))})", part))
        return out

    def cached_counts(self, run_id: str) -> dict[str, tuple[int, int]]:
        """Per model: (answers found in the cache, answers) of a run's samples (an answer
        found in the cache took no attempt)."""
        rows = self._db.execute(
            "SELECT model, SUM(attempts = 0), COUNT(*) FROM samples WHERE run_id=? "
            "AND response_key IS NOT NULL GROUP BY model", (run_id,))
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    def nothing_answered(self, run_id: str) -> bool:
        """Whether the run has samples and every one of them failed. Read from the samples,
        not stored with the run: a rerun or a rescore that answers one is seen at once, and
        so are such runs stored before the "failed" status was."""
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM samples WHERE run_id=?), EXISTS (SELECT 1 FROM "
            f"samples WHERE run_id=? AND status IN {ANSWERED_SQL})", (run_id, run_id),
        ).fetchone()
        return bool(row[0]) and not row[1]

    def count_failed(self, run_id: str) -> int:
        row = self._db.execute(
            f"SELECT COUNT(*) FROM samples WHERE run_id=? AND status NOT IN {ANSWERED_SQL}",
            (run_id,),
        ).fetchone()
        return int(row[0])

    def failure_reasons(self, run_id: str, limit: int = 3) -> list[tuple[str, str, int]]:
        """(model, error, samples) of a run's failed samples, the most common first."""
        return [(str(m), str(e or "no error stored"), int(n)) for m, e, n in self._db.execute(
            "SELECT model, error, COUNT(*) FROM samples WHERE run_id=? AND status NOT IN "
            f"{ANSWERED_SQL} GROUP BY model, error ORDER BY COUNT(*) DESC, model LIMIT ?",
            (run_id, limit))]

    def put_sample(self, run_id: str, row: SampleRow, attempts: int = 0) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO samples (run_id, model, benchmark, item_id, repeat, "
            "item_group, response_key, status, metrics_json, extracted, reason, "
            "extraction_failed, error, attempts, created_at, detail_json) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                row.model,
                row.benchmark,
                row.item_id,
                row.repeat,
                row.group,
                row.response_key,
                row.status,
                json.dumps(row.metrics),
                # texts a scorer made of a model's answer (a JSON `\ud800` escape it parsed)
                # or a server's error: as UTF-8 can hold them (`utf8.well_formed`)
                well_formed_or_none(row.extracted),
                well_formed(row.reason),
                int(row.extraction_failed),
                well_formed_or_none(row.error),
                attempts,
                time.time(),
                well_formed(json.dumps(row.detail, ensure_ascii=False)),
            ),
        )

    def samples(
        self, run_id: str, model: str | None = None, benchmark: str | None = None, *,
        items: Collection[str] | None = None,
    ) -> Iterator[SampleRow]:
        """A run's samples (of a model, a benchmark, `items`: those item ids), in the store's
        order."""
        sql = f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE run_id=?"
        args: list[Any] = [run_id]
        if model is not None:
            sql += " AND model=?"
            args.append(model)
        if benchmark is not None:
            sql += " AND benchmark=?"
            args.append(benchmark)
        order = " ORDER BY model, benchmark, item_id, repeat"
        if items is None:
            for r in self._db.execute(sql + order, args):
                yield sample_row(r)
            return
        wanted = sorted(set(items))  # SQLite's order of text: UTF-8's, Python's for str
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            for r in self._db.execute(
                    f"{sql} AND item_id IN ({', '.join('?' * len(part))}){order}",
                    [*args, *part]):
                yield sample_row(r)

    def get_sample(self, run_id: str, model: str, benchmark: str, item_id: str, repeat: int
                   ) -> SampleRow | None:
        row = self._db.execute(
            f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE run_id=? AND model=? AND benchmark=? "
            "AND item_id=? AND repeat=?", (run_id, model, benchmark, item_id, repeat)).fetchone()
        return None if row is None else sample_row(row)

    def iter_samples_with_responses(
        self, run_id: str, benchmarks: Sequence[str] | None = None
    ) -> Iterator[tuple[SampleRow, dict[str, Any] | None, dict[str, Any] | None]]:
        """Each sample of a run with its stored request and response (None where none is
        stored), in the store's order, one at a time: the cursor streams, so a run of any
        size is read in constant memory."""
        sql = (f"SELECT {', '.join(f's.{c.strip()}' for c in _SAMPLE_COLUMNS.split(','))}, "
               "r.request_json, r.response_json FROM samples s "
               "LEFT JOIN responses r ON r.key = s.response_key WHERE s.run_id = ?")
        args: list[Any] = [run_id]
        if benchmarks:
            sql += f" AND s.benchmark IN ({','.join('?' * len(benchmarks))})"
            args += list(benchmarks)
        sql += " ORDER BY s.model, s.benchmark, s.item_id, s.repeat"
        # a cursor of its own: the caller may write (rescore) while this one is read
        own = (sqlite3.connect(self.path, timeout=BUSY_TIMEOUT) if self.writable
               else read_only(self.path))
        cur = own.execute(sql, args)
        try:
            for r in cur:
                yield (sample_row(r), None if r[13] is None else fast_loads(r[13]),
                       None if r[14] is None else fast_loads(r[14]))
        finally:
            cur.connection.close()

    def update_sample_scores(self, run_id: str, rows: Sequence[SampleRow],
                             manifest: dict[str, Any] | None = None) -> None:
        """Replace samples' scores (status, metrics, extraction, reason, detail, error), keeping
        their responses and attempt counts, together or not at all: `shootout rescore`, whose
        record in the run's `manifest` (where given) lands with them, the run counted as
        updated (a rescore killed between the two had changed scores and recorded nothing,
        and the next one then recorded no change; an audit's)."""
        with self._transaction() as db:
            if manifest is not None:  # a run resumed since the rescore began: its end would
                # write over this record (a review's); checked under the write lock
                self.check_not_busy(run_id, "its end would write over the record of a "
                                    "rescore made now")
                db.execute("UPDATE runs SET manifest_json=?, updated_at=? WHERE run_id=?",
                           (json.dumps(manifest, sort_keys=True), time.time(), run_id))
            db.executemany(
                "UPDATE samples SET status=?, metrics_json=?, extracted=?, reason=?, "
                "extraction_failed=?, error=?, detail_json=? "
                "WHERE run_id=? AND model=? AND benchmark=? AND item_id=? AND repeat=?",
                [(r.status, json.dumps(r.metrics), well_formed_or_none(r.extracted),
                  well_formed(r.reason), int(r.extraction_failed), well_formed_or_none(r.error),
                  well_formed(json.dumps(r.detail, ensure_ascii=False)),
                  run_id, r.model, r.benchmark, r.item_id, r.repeat) for r in rows],
            )

    def delete_run_samples(self, run_id: str) -> None:
        """Remove a run's samples (a merged run about to be merged again)."""
        self._db.execute("DELETE FROM samples WHERE run_id=?", (run_id,))

    def touch_run(self, run_id: str) -> None:
        """Mark a run as updated now, keeping its status."""
        self._db.execute("UPDATE runs SET updated_at=? WHERE run_id=?", (time.time(), run_id))

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _time(value: Any, run_id: str) -> float | int:
    """A run's stored time, as stored: a number (a row written by something else, or
    damaged, is said to be)."""
    if type(value) not in (int, float):
        raise ValueError(f"run {run_id}'s time is not a number: {value!r}")
    return value
