"""Mixed into `Store`: copying a run's samples from another store (`shootout merge`), and
what a run has spent (a rerun's budget starts from it)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .decode import facts_of, fast_loads
from .rows import EARLIER, judge_requests
from .schema import columns as _columns


class CopyingStore:
    _db: sqlite3.Connection
    path: Path

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def sent_usage(self, run_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(model, usage) of each answer this run asked for itself, in any of its invocations
        (answers from the cache cost it nothing): what the run has spent. A multi-turn item
        asked for any of its turns counts them all; a judge's requests about the run's
        answers count to the judge, each once (whether the judge's answer came from the
        cache is not stored: counted as paid)."""
        keys: dict[str, set[str]] = defaultdict(set)
        for model, key, attempts, detail in self._db.execute(
                "SELECT model, response_key, attempts, detail_json FROM samples WHERE run_id=? "
                "AND (attempts > 0 OR detail_json LIKE '%\"judge\"%')", (run_id,)).fetchall():
            parsed = _detail_of(detail) if "earlier_responses" in detail \
                or '"judge"' in detail else {}
            if attempts > 0:
                keys[model].update(k for k in (*parsed.get(EARLIER, ()), key) if k)
            judge, asked = judge_requests(parsed)
            if judge is not None:
                keys[judge].update(asked)
        for model, wanted in keys.items():
            for _key, facts in self._facts_of_keys(sorted(wanted)):
                yield model, dict(facts_of(facts)[0] or {})

    def _facts_of_keys(self, keys: Sequence[str]) -> Iterator[tuple[str, str | None]]:
        """(key, `response_facts.facts_json`) of the stored responses `keys`."""
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            yield from self._db.execute(
                "SELECT key, facts_json FROM response_facts WHERE key IN "
                f"({', '.join('?' * len(part))})", part).fetchall()

    def copy_run_samples(self, source: Path, source_run: str, run_id: str) -> int:
        """Copy `source_run`'s samples from the store file `source` into this store as
        `run_id`'s, with the responses they use (a response this store already has is kept:
        the same key is the same answer), together or not at all; return how many samples.
        `shootout merge`."""
        same = source.resolve() == self.path.resolve()
        if not same:
            self._db.execute("ATTACH DATABASE ? AS src", (str(source),))
        db_name = "main" if same else "src"
        try:
            # the columns both stores have (a later shootout's may have more: `store.schema`)
            theirs = {r[1] for r in self._db.execute(f"PRAGMA {db_name}.table_info(samples)")}
            cols = ", ".join(c for c in _columns(self._db, "samples")
                             if c != "run_id" and c in theirs)
            with self._transaction() as db:
                lean = not same and db.execute(
                    "SELECT 1 FROM src.sqlite_master WHERE type='table' "
                    "AND name='response_lean'").fetchone()
                if lean:  # the responses this store keeps: not copied, their chunks neither
                    db.execute("CREATE TEMP TABLE IF NOT EXISTS merge_kept "
                               "(key TEXT PRIMARY KEY)")
                    db.execute("DELETE FROM temp.merge_kept")
                    db.execute("INSERT INTO temp.merge_kept SELECT key FROM main.responses "
                               "WHERE key IN (SELECT response_key FROM src.samples "
                               "WHERE run_id=?)", (source_run,))
                db.execute(
                    f"INSERT OR IGNORE INTO main.responses ({_RESPONSE}) SELECT {_RESPONSE} "
                    f"FROM {db_name}.responses "
                    f"WHERE key IN (SELECT response_key FROM {db_name}.samples WHERE run_id=?)",
                    (source_run,))
                if lean:
                    _copy_chunk_bytes(db, source_run)
                    _copy_nums(db, source_run)
                cur = db.execute(
                    f"INSERT INTO main.samples (run_id, {cols}) SELECT ?, {cols} "
                    f"FROM {db_name}.samples WHERE run_id=?", (run_id, source_run))
                return cur.rowcount
        finally:
            if not same:
                self._db.execute("DETACH DATABASE src")


# a response's columns, named: a store of a later shootout may have more (`store.schema`)
_RESPONSE = "key, model, kind, request_json, response_json, created_at"


def _copy_chunk_bytes(db: sqlite3.Connection, source_run: str) -> None:
    """The chunk times of the responses `copy_run_samples` copied (not of those this store
    kept: `temp.merge_kept`, another answer under the same key), as the attached source keeps
    them where it has them as bytes (the triggers wrote them as JSON, or none where SQLite
    could not read the response: both read alike, parsed slower)."""
    db.execute(
        "UPDATE main.response_lean SET chunks = (SELECT s.chunks FROM src.response_lean s "
        "WHERE s.key = response_lean.key) WHERE typeof(chunks) != 'blob' AND key IN "
        "(SELECT f.key FROM src.response_lean f WHERE typeof(f.chunks) = 'blob' AND f.key IN "
        "(SELECT response_key FROM src.samples WHERE run_id = ?)) "
        "AND key NOT IN (SELECT key FROM temp.merge_kept)", (source_run,))


def _copy_nums(db: sqlite3.Connection, source_run: str) -> None:
    """The `response_nums` rows of the responses `copy_run_samples` copied, where the
    attached source has them (and they are of the answer copied: the same time), so that
    the merged run reads as fast as its shards; not of those this store kept."""
    if not db.execute("SELECT 1 FROM src.sqlite_master WHERE type='table' "
                      "AND name='response_nums'").fetchone():
        return
    db.execute(
        "INSERT OR IGNORE INTO main.response_nums (key, created_at, nums, chunks) "
        "SELECT n.key, n.created_at, n.nums, n.chunks FROM src.response_nums n "
        "WHERE n.key IN (SELECT response_key FROM src.samples WHERE run_id = ?) "
        "AND n.key NOT IN (SELECT key FROM temp.merge_kept) "
        "AND n.created_at = (SELECT r.created_at FROM main.responses r WHERE r.key = n.key)",
        (source_run,))


def _detail_of(text: str) -> dict[str, Any]:
    """A sample's detail JSON as a dict ({} where it is not one)."""
    try:
        got = fast_loads(text)
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}
