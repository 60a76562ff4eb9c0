"""Mixed into `Store`: a run read in one pass, each sample with what the results need of
its response (`read_run`), the hot path of a results build (issue 18)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .decode import StoredResponses, sample_row
from .nums import readable
from .rows import EARLIER, JUDGE, RunRecord, SampleRow, judge_requests

_SAMPLE_COLUMNS = ("model, benchmark, item_id, repeat, item_group, status, metrics_json, "
                   "extracted, reason, extraction_failed, error, response_key, detail_json")
# One pass over a run: each sample with what the results need of its response (kept in
# `response_lean` as the response is written: see `store.schema.LEAN`).
_RUN_QUERY = (
    "SELECT " + ", ".join(f"s.{c.strip()}" for c in _SAMPLE_COLUMNS.split(",")) + ", "
    "f.key, f.kind, f.created_at, f.facts_json, f.chunks "
    "FROM samples s LEFT JOIN response_lean f ON f.key = s.response_key WHERE s.run_id = ? "
    "ORDER BY s.model, s.benchmark, s.item_id, s.repeat"
)
# ... with each response's figures as numbers (`response_nums`: `store.nums`) where it has
# them; the others' read from `response_lean` after (`_lean_of_run`)
_NUMS_QUERY = (
    "SELECT " + ", ".join(f"s.{c.strip()}" for c in _SAMPLE_COLUMNS.split(",")) + ", "
    "n.nums, n.chunks "
    "FROM samples s LEFT JOIN response_nums n ON n.key = s.response_key WHERE s.run_id = ? "
    "ORDER BY s.model, s.benchmark, s.item_id, s.repeat"
)
_FEW = 2000  # responses without numbers read by key below this many, by a join above


class ReadingStore:
    _db: sqlite3.Connection

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def read_run(self, run_id: str, *, models: Sequence[str] | None = None
                 ) -> RunRecord | None:
        """A run with all its samples and the responses they use, in one query (None if there
        is no such run). `models`: only these models' samples (and their responses)."""
        run = self.get_run(run_id)
        if run is None:
            return None
        samples: list[SampleRow] = []
        raw: dict[str, Any] = {}  # each response's columns, made a record when asked for
        with_nums = self._has_table("response_nums") and self._stored_with_nums(run_id)
        query = _NUMS_QUERY if with_nums else self._facts_query(_RUN_QUERY)
        args: tuple[str, ...] = (run_id,)
        where = "WHERE s.run_id = ?"
        if models is not None:
            marks = ", ".join("?" * len(models))
            where = f"WHERE s.run_id = ? AND s.model IN ({marks})"
            query = query.replace("WHERE s.run_id = ?", where)
            args = (run_id, *models)
        if with_nums:  # (nums, chunks) of each response that has them; the others after
            self._read_with_nums(query, args, where, samples, raw)
        else:
            for r in self._db.execute(query, args):
                samples.append(sample_row(r))
                key = r[13]
                if key is not None and key not in raw:
                    raw[key] = r[14:]
        # a multi-turn sample's earlier turns' responses (their tokens count too), and the
        # judge's requests about a judged sample (counted apart): one pass over the samples
        odd = [s for s in samples if s.detail and (EARLIER in s.detail or JUDGE in s.detail)]
        earlier = {k for s in odd if EARLIER in s.detail
                   for k in s.detail[EARLIER] if k not in raw}
        earlier |= {k for s in odd if JUDGE in s.detail
                    for k in judge_requests(s.detail)[1] if k not in raw}
        if earlier:
            raw.update(self._responses_facts(sorted(earlier)))
        return RunRecord(run_id=run_id, status=run["status"],
                         created_at=float(run["created_at"]),
                         updated_at=float(run["updated_at"]), spec=run["spec"] or {},
                         manifest=run["manifest"] or {}, samples=tuple(samples),
                         responses=StoredResponses(raw))

    def _read_with_nums(self, query: str, args: tuple[str, ...], where: str,
                        samples: list[SampleRow], raw: dict[str, Any]) -> None:
        """`read_run`'s pass over `_NUMS_QUERY`: the samples, and the columns of each
        response, in the order read (from `response_lean` where it has no numbers)."""
        lacking: set[str] = set()
        for r in self._db.execute(query, args):
            samples.append(sample_row(r))
            key = r[11]
            if key is not None and key not in raw:
                if not readable(r[13]):
                    lacking.add(key)
                raw[key] = r[13:]
        if lacking:  # in the order read (a response not stored: none)
            lean = self._lean_of_run(lacking, where, args)
            for key in lacking:
                if key in lean:
                    raw[key] = lean[key]
                else:
                    del raw[key]

    def _responses_facts(self, keys: Sequence[str]) -> dict[str, Any]:
        """The columns `read_run` keeps of the stored responses `keys` (those stored): kind,
        created_at, facts JSON and chunk times."""
        out: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            for r in self._db.execute(self._facts_query(
                    "SELECT f.key, f.kind, f.created_at, f.facts_json, f.chunks FROM "
                    f"response_lean f WHERE f.key IN ({', '.join('?' * len(part))})"), part):
                out[r[0]] = r[1:]
        return out

    def _lean_of_run(self, keys: set[str], where: str, args: tuple[str, ...]
                     ) -> dict[str, Any]:
        """`_responses_facts` of `keys`, responses of the run's samples (`where`, `args`)
        without numbers: a few by key, many (a run stored before `response_nums`) by a join,
        as `_RUN_QUERY` reads them."""
        if len(keys) < _FEW:
            return self._responses_facts(sorted(keys))
        out: dict[str, Any] = {}
        for r in self._db.execute(
                "SELECT f.key, f.kind, f.created_at, f.facts_json, f.chunks FROM samples s "
                "JOIN response_lean f ON f.key = s.response_key "
                f"{where} ORDER BY s.model, s.benchmark, s.item_id, s.repeat", args):
            if r[0] in keys and r[0] not in out:
                out[r[0]] = r[1:]
        return out

    def _stored_with_nums(self, run_id: str) -> bool:
        """Whether the run's first answered sample's response has its numbers: a run stored
        before `response_nums` is read as it was (with them, the responses without are read
        after, a second pass)."""
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM response_nums WHERE key = (SELECT response_key "
            "FROM samples WHERE run_id = ? AND response_key IS NOT NULL LIMIT 1))",
            (run_id,)).fetchone()
        return bool(row[0])

    def _has_table(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                (name,)).fetchone() is not None

    def _facts_query(self, query: str) -> str:
        """`query` as this store can answer it: one that predates `response_lean` (opened
        read-only, not migrated) has its responses' whole facts read, chunk times in them."""
        if self._has_table("response_lean"):
            return query
        return query.replace("response_lean f", "response_facts f").replace(
            "f.chunks", "NULL")
