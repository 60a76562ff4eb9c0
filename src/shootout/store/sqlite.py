"""SQLite store (WAL): runs, cached responses, scored samples.

Every response is committed as soon as it arrives, keyed by a hash of (model, request, repeat),
so a killed run loses at most the requests in flight, and a rerun serves the rest from here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoreError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    manifest_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_json TEXT NOT NULL,
    response_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL,
    model TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    item_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    item_group TEXT NOT NULL DEFAULT '',
    response_key TEXT,
    status TEXT NOT NULL,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    extracted TEXT,
    reason TEXT NOT NULL DEFAULT '',
    extraction_failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, model, benchmark, item_id, repeat)
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_id, model, benchmark);
"""


def default_store_path() -> Path:
    return Path(os.environ.get("SHOOTOUT_STORE", ".shootout/results.sqlite"))


@dataclass(frozen=True)
class SampleRow:
    model: str
    benchmark: str
    item_id: str
    repeat: int
    group: str
    status: str
    metrics: dict[str, float]
    extracted: str | None
    reason: str
    extraction_failed: bool
    error: str | None
    response_key: str | None
    detail: dict[str, Any] = field(default_factory=dict)


class Store:
    """One SQLite file. Safe for several processes: WAL plus a busy timeout."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version()
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open results store {self.path}: {e}") from e
        except OSError as e:
            raise StoreError(f"cannot create results store {self.path}: {e.strerror}") from e

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {row[0]}, this shootout expects {SCHEMA_VERSION}"
            )

    def _migrate(self) -> None:
        """Columns added after the first release of schema 1."""
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(samples)")}
        if "detail_json" not in cols:
            self._db.execute(
                "ALTER TABLE samples ADD COLUMN detail_json TEXT NOT NULL DEFAULT '{}'"
            )

    def close(self) -> None:
        self._db.close()

    # -- runs -----------------------------------------------------------------------------
    def upsert_run(self, run_id: str, spec: dict[str, Any], status: str = "running") -> bool:
        """Create the run if new; return True if it already existed (a resume)."""
        now = time.time()
        cur = self._db.execute(
            "INSERT OR IGNORE INTO runs (run_id, created_at, updated_at, status, spec_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (run_id, now, now, status, json.dumps(spec, sort_keys=True)),
        )
        if cur.rowcount == 0:
            self._db.execute(
                "UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, now, run_id)
            )
            return True
        return False

    def set_run_status(self, run_id: str, status: str) -> None:
        self._db.execute(
            "UPDATE runs SET status=?, updated_at=? WHERE run_id=?", (status, time.time(), run_id)
        )

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
        return {
            "run_id": row[0],
            "created_at": row[1],
            "updated_at": row[2],
            "status": row[3],
            "spec": json.loads(row[4]),
            "manifest": json.loads(row[5]),
        }

    def list_runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT run_id, created_at, status FROM runs ORDER BY created_at"
        ).fetchall()
        return [{"run_id": r[0], "created_at": r[1], "status": r[2]} for r in rows]

    # -- responses (the cache) ------------------------------------------------------------
    def get_response(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT response_json FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def get_request(self, key: str) -> dict[str, Any] | None:
        """The request stored with a response (what the model was sent), or None."""
        row = self._db.execute("SELECT request_json FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_response(
        self, key: str, model: str, kind: str, request: dict[str, Any], response: dict[str, Any]
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (key, model, kind, json.dumps(request), json.dumps(response), time.time()),
        )

    def response_keys(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT key FROM responses")}

    # -- samples --------------------------------------------------------------------------
    def done_samples(self, run_id: str, model: str, benchmark: str) -> set[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT item_id, repeat FROM samples WHERE run_id=? AND model=? AND benchmark=? "
            "AND status='ok'",
            (run_id, model, benchmark),
        )
        return {(r[0], r[1]) for r in rows}

    def count_failed(self, run_id: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM samples WHERE run_id=? AND status!='ok'", (run_id,)
        ).fetchone()
        return int(row[0])

    def put_sample(self, run_id: str, row: SampleRow, attempts: int = 0) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                row.extracted,
                row.reason,
                int(row.extraction_failed),
                row.error,
                attempts,
                time.time(),
                json.dumps(row.detail, ensure_ascii=False),
            ),
        )

    def samples(
        self, run_id: str, model: str | None = None, benchmark: str | None = None
    ) -> Iterator[SampleRow]:
        sql = (
            "SELECT model, benchmark, item_id, repeat, item_group, status, metrics_json, "
            "extracted, reason, extraction_failed, error, response_key, detail_json "
            "FROM samples WHERE run_id=?"
        )
        args: list[Any] = [run_id]
        if model is not None:
            sql += " AND model=?"
            args.append(model)
        if benchmark is not None:
            sql += " AND benchmark=?"
            args.append(benchmark)
        sql += " ORDER BY model, benchmark, item_id, repeat"
        for r in self._db.execute(sql, args):
            yield SampleRow(
                model=r[0],
                benchmark=r[1],
                item_id=r[2],
                repeat=r[3],
                group=r[4],
                status=r[5],
                metrics=json.loads(r[6]),
                extracted=r[7],
                reason=r[8],
                extraction_failed=bool(r[9]),
                error=r[10],
                response_key=r[11],
                detail=json.loads(r[12]),
            )

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
