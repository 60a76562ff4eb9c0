"""Load-test results in the results store: two tables of this module's own."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from ..store.sqlite import Store
from .load import LevelResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS perf_runs (
    perf_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    model TEXT NOT NULL,
    base_url TEXT NOT NULL,
    config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS perf_levels (
    perf_id TEXT NOT NULL,
    level INTEGER NOT NULL,
    mode TEXT NOT NULL,
    value REAL NOT NULL,
    summary_json TEXT NOT NULL,
    records_json TEXT NOT NULL,
    PRIMARY KEY (perf_id, level)
);
"""


def ensure_schema(store: Store) -> None:
    store._db.executescript(_SCHEMA)


def save_perf(
    store: Store,
    perf_id: str,
    model: str,
    base_url: str,
    config: dict[str, Any],
    levels: list[LevelResult],
) -> None:
    """Store one load test: its configuration, each level's summary and per-request records."""
    ensure_schema(store)
    db = store._db
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "INSERT OR REPLACE INTO perf_runs VALUES (?, ?, ?, ?, ?)",
            (perf_id, time.time(), model, base_url, json.dumps(config, sort_keys=True)),
        )
        for i, lv in enumerate(levels):
            records = [_record(r) for r in lv.records]
            db.execute(
                "INSERT OR REPLACE INTO perf_levels VALUES (?, ?, ?, ?, ?, ?)",
                (perf_id, i, lv.level.mode, lv.level.value, json.dumps(lv.summary()),
                 json.dumps(records, separators=(",", ":"))),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _record(r: Any) -> dict[str, Any]:
    d = asdict(r)
    d.pop("timing", None)  # its chunk times are in the metrics as gaps
    if d.get("metrics"):
        d["metrics"]["itls"] = [round(x, 6) for x in d["metrics"]["itls"]]
    return d


def load_perf(store: Store, perf_id: str) -> dict[str, Any] | None:
    ensure_schema(store)
    row = store._db.execute(
        "SELECT perf_id, created_at, model, base_url, config_json FROM perf_runs WHERE perf_id=?",
        (perf_id,),
    ).fetchone()
    if row is None:
        return None
    levels = [
        json.loads(s)
        for (s,) in store._db.execute(
            "SELECT summary_json FROM perf_levels WHERE perf_id=? ORDER BY level", (perf_id,)
        )
    ]
    return {"perf_id": row[0], "created_at": row[1], "model": row[2], "base_url": row[3],
            "config": json.loads(row[4]), "levels": levels}


def list_perf(store: Store) -> list[dict[str, Any]]:
    ensure_schema(store)
    rows = store._db.execute(
        "SELECT perf_id, created_at, model, base_url FROM perf_runs ORDER BY created_at"
    ).fetchall()
    return [{"perf_id": r[0], "created_at": r[1], "model": r[2], "base_url": r[3]} for r in rows]
