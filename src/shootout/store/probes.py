"""The store's availability probes (`shootout monitor`): monitor sessions and their probes.

Each probe is committed on its own as soon as it ends (the connection autocommits), so a
killed monitor loses at most the probes in flight. One process probes a session at a time
(`claim_monitor`: a second one is refused while the first is alive); `INSERT OR IGNORE` keeps
the first answer for a slot should two ever run at once (on two hosts sharing the file).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from .owner import is_alive, this_process
from .rows import MonitorSession, ProbeRow

_OWNER = "monitor_owner:"  # meta key prefix: the process probing a monitor (`store.owner`)

_PROBE_COLUMNS = ("monitor_id, model, slot, endpoint, scheduled, started, status, error_class, "
                  "http_status, ttft, latency, output_tokens, error")
_SESSION_COLUMNS = "monitor_id, config_hash, created_at, start, every, slots, config_json"


class ProbeStore:
    """Mixed into `Store`: the SQL of the monitor tables (`store.schema.MONITOR_SCHEMA`)."""

    _db: sqlite3.Connection

    def put_monitor(self, session: MonitorSession) -> None:
        self._db.execute(
            f"INSERT OR IGNORE INTO monitors ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session.monitor_id, session.config_hash, session.created_at, session.start,
             session.every, session.slots, json.dumps(session.config, sort_keys=True)),
        )

    def get_monitor(self, monitor_id: str) -> MonitorSession | None:
        row = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM monitors WHERE monitor_id=?", (monitor_id,)
        ).fetchone()
        return _session(row) if row else None

    def list_monitors(self, config_hash: str | None = None) -> list[MonitorSession]:
        """Every monitor session (or those of one command's arguments), oldest first."""
        where, args = ("WHERE config_hash=?", (config_hash,)) if config_hash else ("", ())
        rows = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM monitors {where} ORDER BY created_at, monitor_id",
            args,
        ).fetchall()
        return [_session(r) for r in rows]

    def claim_monitor(self, monitor_id: str) -> str | None:
        """Mark this process as the one probing the monitor, unless another process that is
        certainly alive already is: then its owner record (JSON), and nothing is marked."""
        key = _OWNER + monitor_id
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            me = this_process()
            if row is not None and row[0] != me and is_alive(row[0]):
                return str(row[0])
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, me))
            return None
        finally:
            self._db.execute("COMMIT")

    def release_monitor(self, monitor_id: str) -> None:
        """This process no longer probes the monitor (its mark is removed, if it is its)."""
        self._db.execute("DELETE FROM meta WHERE key=? AND value=?",
                         (_OWNER + monitor_id, this_process()))

    def put_probe(self, probe: ProbeRow) -> None:
        self._db.execute(
            f"INSERT OR IGNORE INTO probes ({_PROBE_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (probe.monitor_id, probe.model, probe.slot, probe.endpoint, probe.scheduled,
             probe.started, probe.status, probe.error_class, probe.http_status, probe.ttft,
             probe.latency, probe.output_tokens, probe.error),
        )

    def probes(self, monitor_ids: Sequence[str]) -> list[ProbeRow]:
        """The probes of these monitors, ordered by monitor, model and slot."""
        if not monitor_ids:
            return []
        marks = ", ".join("?" for _ in monitor_ids)
        rows = self._db.execute(
            f"SELECT {_PROBE_COLUMNS} FROM probes WHERE monitor_id IN ({marks}) "
            "ORDER BY monitor_id, model, slot", tuple(monitor_ids),
        ).fetchall()
        return [ProbeRow(*r) for r in rows]

    def probed_slots(self, monitor_id: str) -> set[tuple[str, int]]:
        rows = self._db.execute(
            "SELECT model, slot FROM probes WHERE monitor_id=?", (monitor_id,)).fetchall()
        return {(m, s) for m, s in rows}


def _session(row: Sequence[Any]) -> MonitorSession:
    mid, chash, created, start, every, slots, config = row
    return MonitorSession(mid, chash, created, start, every, int(slots), json.loads(config))
