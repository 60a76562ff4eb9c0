"""The store's load tests (`shootout perf`): each test's configuration and its levels."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from .rows import PerfLevelRow


class PerfStore:
    """Mixed into `Store`: the SQL of the load-test tables (`perf_runs`, `perf_levels`)."""

    _db: sqlite3.Connection

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # `Store._transaction`

    def put_perf(self, perf_id: str, model: str, base_url: str, config: dict[str, Any],
                 levels: Sequence[PerfLevelRow]) -> None:
        """Store one load test: its configuration and each level, together or not at all."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO perf_runs (perf_id, created_at, model, base_url, "
                "config_json) VALUES (?, ?, ?, ?, ?)",
                (perf_id, time.time(), model, base_url, json.dumps(config, sort_keys=True)),
            )
            for i, lv in enumerate(levels):
                db.execute(
                    "INSERT OR REPLACE INTO perf_levels (perf_id, level, mode, value, "
                    "summary_json, records_json) VALUES (?, ?, ?, ?, ?, ?)",
                    (perf_id, i, lv.mode, lv.value, json.dumps(lv.summary),
                     json.dumps(lv.records, separators=(",", ":"))),
                )

    def list_perf(self) -> list[dict[str, Any]]:
        """Every stored load test, oldest first, with each level's summary (not the
        per-request records)."""
        rows = self._db.execute(
            "SELECT perf_id FROM perf_runs ORDER BY created_at").fetchall()
        return [p for (perf_id,) in rows if (p := self.get_perf(perf_id)) is not None]

    def get_perf(self, perf_id: str) -> dict[str, Any] | None:
        """One load test as `shootout perf --json` prints it, with its time, or None."""
        row = self._db.execute(
            "SELECT perf_id, created_at, model, base_url, config_json FROM perf_runs "
            "WHERE perf_id=?", (perf_id,)).fetchone()
        if row is None:
            return None
        levels = [json.loads(r[0]) for r in self._db.execute(
            "SELECT summary_json FROM perf_levels WHERE perf_id=? ORDER BY level", (perf_id,))]
        return {"perf_id": row[0], "created_at": row[1], "model": row[2], "base_url": row[3],
                "config": json.loads(row[4]), "levels": levels}
