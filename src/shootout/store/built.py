"""Built results kept in the store: a run's results JSON, built once per state of the store.

Building the results of a 500k-sample run takes tens of seconds (reading every sample and
response, then the analyses); the results JSON it gives is a few hundred kilobytes. It is kept
in `built_results` with the revision of what it was built from, and served again while that
revision is current (`shootout results`, `shootout rescore`'s before-and-after, the table at
the end of `shootout run`).

The revision of a run is two counters in `revisions`, which triggers bump on every write,
by this shootout, an older one or raw SQL: `run:<id>` on any change to the run's row or its
samples, `responses` on any change to any stored response (responses are shared between
runs). A copy is read back only where its revision is the current one, and the revision is
read before the build starts, so a write made during a build leaves that build's copy stale,
never served. Code and configuration that shape the results (shootout's own files, numpy's
and scipy's versions, the price file) are the `fingerprint`, which the caller gives.

`built_reports` keeps rendered reports the same way, under a key that `report.kept` makes of
the revisions of the report's runs, the fingerprint and everything else the report is
rendered from.
"""

from __future__ import annotations

import sqlite3
import time

BUILT_SCHEMA = """
CREATE TABLE IF NOT EXISTS revisions (
    scope TEXT PRIMARY KEY,
    n INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS built_results (
    run_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    revision TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload_json TEXT NOT NULL,
    PRIMARY KEY (run_id, fingerprint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS built_reports (
    key TEXT PRIMARY KEY,
    run_ids TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload_json TEXT NOT NULL
) WITHOUT ROWID;
"""

KEPT_PER_RUN = 4  # builds kept per run (under as many fingerprints)
KEPT_REPORTS = 8  # rendered reports kept in all (`report.kept`)

_BUMP = ("INSERT INTO revisions (scope, n) VALUES ({scope}, 1) "
         "ON CONFLICT(scope) DO UPDATE SET n = n + 1;")


def _trigger(name: str, event: str, table: str, *scopes: str) -> str:
    body = "\n    ".join(_BUMP.format(scope=s) for s in scopes)
    return (f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} BEGIN\n"
            f"    {body}\nEND;\n")


BUILT_TRIGGERS = "".join([
    _trigger("revision_sample_insert", "INSERT", "samples", "'run:' || new.run_id"),
    _trigger("revision_sample_update", "UPDATE", "samples", "'run:' || old.run_id",
             "'run:' || new.run_id"),
    _trigger("revision_sample_delete", "DELETE", "samples", "'run:' || old.run_id"),
    _trigger("revision_run_update", "UPDATE", "runs", "'run:' || old.run_id",
             "'run:' || new.run_id"),
    _trigger("revision_run_delete", "DELETE", "runs", "'run:' || old.run_id"),
    _trigger("revision_response_insert", "INSERT", "responses", "'responses'"),
    _trigger("revision_response_update", "UPDATE", "responses", "'responses'"),
    _trigger("revision_response_delete", "DELETE", "responses", "'responses'"),
])


class BuiltStore:
    """Mixed into `Store`: the SQL of `built_results` and `revisions`."""

    _db: sqlite3.Connection

    def revision(self, run_id: str) -> str:
        """The current revision of a run's results: changes whenever anything they are built
        from does (read it before building, store the build under it)."""
        rows = dict(self._db.execute(
            "SELECT scope, n FROM revisions WHERE scope IN (?, 'responses')",
            (f"run:{run_id}",)).fetchall())
        return f"{rows.get(f'run:{run_id}', 0)}.{rows.get('responses', 0)}"

    def get_built(self, run_id: str, fingerprint: str, revision: str) -> str | None:
        """The results JSON built for this run, fingerprint and revision, or None."""
        row = self._db.execute(
            "SELECT payload_json FROM built_results WHERE run_id=? AND fingerprint=? "
            "AND revision=?", (run_id, fingerprint, revision)).fetchone()
        return None if row is None else str(row[0])

    def put_built(self, run_id: str, fingerprint: str, revision: str, payload: str) -> bool:
        """Keep a build (replacing the one kept for this run and fingerprint); False where
        the store cannot be written (read-only file, locked past the timeout): the build is
        still good, it is only not kept."""
        try:
            self._db.execute("INSERT OR REPLACE INTO built_results (run_id, fingerprint, "
                             "revision, created_at, payload_json) VALUES (?, ?, ?, ?, ?)",
                             (run_id, fingerprint, revision, time.time(), payload))
            # an edited checkout makes a new fingerprint each time: the newest few are kept
            self._db.execute(
                "DELETE FROM built_results WHERE run_id = ? AND fingerprint NOT IN (SELECT "
                "fingerprint FROM built_results WHERE run_id = ? ORDER BY created_at DESC "
                f"LIMIT {KEPT_PER_RUN})", (run_id, run_id))
        except sqlite3.OperationalError:
            return False
        return True

    def forget_built(self, run_id: str | None = None) -> None:
        """Drop kept builds (of one run, or all): the next build starts from the samples."""
        if run_id is None:
            self._db.execute("DELETE FROM built_results")
        else:
            self._db.execute("DELETE FROM built_results WHERE run_id=?", (run_id,))

    def models_benchmarks(self, run_id: str) -> list[tuple[str, str]]:
        """Each (model, benchmark) a run has samples of (from the index: no sample is read)."""
        return [(str(m), str(b)) for m, b in self._db.execute(
            "SELECT DISTINCT model, benchmark FROM samples WHERE run_id=?", (run_id,))]

    def cell_sizes(self, run_id: str) -> list[tuple[str, str, int]]:
        """(model, benchmark, samples) of each cell of a run, in the store's order (from the
        index: no sample is read, unlike `sample_counts`)."""
        return [(str(m), str(b), int(n)) for m, b, n in self._db.execute(
            "SELECT model, benchmark, COUNT(*) FROM samples WHERE run_id=? "
            "GROUP BY model, benchmark ORDER BY model, benchmark", (run_id,))]

    def cell_groups(self, run_id: str, benchmark: str) -> dict[str, list[str]]:
        """The groups (`item_group`) each model of a run has samples of in `benchmark`."""
        out: dict[str, list[str]] = {}
        for model, group in self._db.execute(
                "SELECT model, item_group FROM samples WHERE run_id=? AND benchmark=? "
                "GROUP BY model, item_group ORDER BY model, item_group", (run_id, benchmark)):
            out.setdefault(str(model), []).append(str(group))
        return out

    def get_report(self, key: str) -> str | None:
        """The rendered report kept under this key (`report.kept`), or None."""
        row = self._db.execute(
            "SELECT payload_json FROM built_reports WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_report(self, key: str, run_ids: list[str], payload: str) -> bool:
        """Keep a rendered report (the newest KEPT_REPORTS are kept); False where the store
        cannot be written (the report is still good, it is only not kept)."""
        try:
            self._db.execute("INSERT OR REPLACE INTO built_reports (key, run_ids, created_at, "
                             "payload_json) VALUES (?, ?, ?, ?)",
                             (key, ",".join(run_ids), time.time(), payload))
            self._db.execute(
                "DELETE FROM built_reports WHERE key NOT IN (SELECT key FROM built_reports "
                f"ORDER BY created_at DESC LIMIT {KEPT_REPORTS})")
        except sqlite3.OperationalError:
            return False
        return True
