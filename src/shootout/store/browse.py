"""The store's sample browser queries (`shootout view`): one page of a run's samples, filtered,
each with its primary metric's value, read from the store per request.

A sample's value is its primary metric (given per benchmark; where none is given, the first
metric it stored) when it was answered (status "ok" or "truncated"), else None. The filters
are those of the browser: benchmark, model, whether the value is correct (>= 1), a pair of
models whose values on the same item and repeat differ (the rows of the first), the status
(answered or failed), and a text in the item id, extracted answer or reason. A metrics
text that SQLite cannot read (JSON with NaN, which SQLite < 3.42 rejects) has no value.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .rows import ANSWERED, ANSWERED_SQL


@dataclass(frozen=True)
class Filters:
    """What the browser lists of a run. `pair` (a, b): the rows of model a whose value
    differs from b's on the same benchmark, item and repeat (`model` is then not used).
    `correct`: the value is 1 or not (a failed sample is in neither). `status`: "answered"
    (ok or truncated), "failed" (any other: no answer), or one status as stored. `text`:
    found, ignoring case, in the item id, the extracted answer or the reason (the error, for
    a failed sample)."""

    benchmark: str | None = None
    model: str | None = None
    pair: tuple[str, str] | None = None
    correct: bool | None = None
    status: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class BrowsedSample:
    """One sample as the browser lists it."""

    model: str
    benchmark: str
    item_id: str
    repeat: int
    status: str
    metric: str | None
    value: float | None
    extracted: str | None
    reason: str  # the scorer's reason, else the error, else ""


def _metric(s: str, p: str) -> str:
    """A sample's metric: its benchmark's primary, else the first one it stored."""
    return (f"COALESCE({p}.metric, CASE WHEN json_valid({s}.metrics_json) THEN "
            f"(SELECT key FROM json_each({s}.metrics_json) LIMIT 1) END)")


def _value(s: str, metric: str) -> str:
    """A sample's value: its metric's, where it was answered ("ok", or "truncated": cut off
    by the output limit, scored as it stands, as the results count it)."""
    return (f"CASE WHEN {s}.status IN {ANSWERED_SQL} AND {metric} IS NOT NULL AND "
            f"json_valid({s}.metrics_json) THEN "
            f"json_extract({s}.metrics_json, '$.\"' || {metric} || '\"') END")


# each sample of the run with its metric and value (the filters are appended)
_WITH_VALUE = (
    "SELECT model, benchmark, item_id, repeat, status, extracted, reason, metric, "
    f"{_value('x', 'x.metric')} AS value FROM ("
    "SELECT s.model, s.benchmark, s.item_id, s.repeat, s.status, s.extracted, s.metrics_json, "
    f"COALESCE(NULLIF(s.reason, ''), s.error, '') AS reason, {_metric('s', 'p')} AS metric "
    "FROM samples s LEFT JOIN prim p ON p.benchmark = s.benchmark WHERE s.run_id = ?{filters}"
    ") x"
)
# the pair filter: model b's sample of the same benchmark, item and repeat, found by the key
_OTHER = (
    "SELECT a.* FROM v a JOIN samples o ON o.run_id = ? AND o.model = ? "
    "AND o.benchmark = a.benchmark AND o.item_id = a.item_id AND o.repeat = a.repeat "
    "LEFT JOIN prim q ON q.benchmark = o.benchmark "
    f"WHERE a.value IS NOT ({_value('o', _metric('o', 'q'))})"
)
_COLUMNS = "model, benchmark, item_id, repeat, status, metric, value, extracted, reason"


def _fold(value: Any) -> str:
    return str(value).casefold() if value is not None else ""


class BrowseStore:
    """Mixed into `Store`: the SQL of `shootout view`'s sample browser, and of what the
    results and errors say of a run's unanswered cells and of an id that is not a run's."""

    _db: sqlite3.Connection
    path: Path

    def get_perf(self, perf_id: str) -> dict[str, Any] | None:
        raise NotImplementedError  # `PerfStore.get_perf`

    def unknown_run(self, run_id: str) -> ConfigError:
        """The error for a run id this store has no run of, saying what it is where `shootout
        runs` lists it as something else (a monitor, a load test)."""
        hint = ""
        if run_id.startswith("mon-"):
            hint = f" (a monitor's probes: shootout monitor {run_id} --summary)"
        elif self.get_perf(run_id) is not None:
            hint = f" (a load test: shootout results {run_id} shows it)"
        return ConfigError(f"no run {run_id!r} in {self.path}{hint}")

    def unanswered(self, run_id: str) -> list[tuple[str, str, int, str]]:
        """(model, benchmark, items, most common error) of each model x benchmark of a run
        in which no sample was answered: it has no score, and is said to have none. Each
        cell is found by a seek in the run's index and asked whether it has an answered
        sample (one aggregate over the whole run took 0.47 s at 516k samples); only a cell
        without one is counted."""
        answered = ", ".join("?" * len(ANSWERED))
        out: list[tuple[str, str, int, str]] = []
        for model, bench in self.cells(run_id):
            where = (run_id, model, bench)
            if self._db.execute(
                    "SELECT EXISTS (SELECT 1 FROM samples WHERE run_id = ? AND model = ? AND "
                    f"benchmark = ? AND status IN ({answered}))", (*where, *ANSWERED)
            ).fetchone()[0]:
                continue
            n, error = self._db.execute(
                "SELECT COUNT(DISTINCT item_id), (SELECT e.error FROM samples e WHERE "
                "e.run_id = ? AND e.model = ? AND e.benchmark = ? GROUP BY e.error ORDER BY "
                "COUNT(*) DESC, e.error LIMIT 1) FROM samples WHERE run_id = ? AND model = ? "
                "AND benchmark = ?", (*where, *where)).fetchone()
            out.append((str(model), str(bench), int(n), str(error or "no error stored")))
        return out

    def cells(self, run_id: str) -> list[tuple[str, str]]:
        """Each (model, benchmark) of a run that has samples, in order: one index seek per
        cell, where a GROUP BY reads every sample's entry."""
        out: list[tuple[str, str]] = []
        row = self._db.execute(
            "SELECT model, benchmark FROM samples WHERE run_id = ? ORDER BY model, benchmark "
            "LIMIT 1", (run_id,)).fetchone()
        while row is not None:
            out.append((row[0], row[1]))
            row = self._db.execute(
                "SELECT model, benchmark FROM samples WHERE run_id = ? AND (model, benchmark) "
                "> (?, ?) ORDER BY model, benchmark LIMIT 1", (run_id, *row)).fetchone()
        return out


    def sample_has_metric(self, run_id: str, benchmark: str, metric: str) -> bool:
        """Whether the benchmark's first answered sample in the run stored `metric` (a
        benchmark's samples store the same metrics)."""
        row = self._db.execute(
            "SELECT metrics_json FROM samples WHERE run_id = ? AND benchmark = ? AND status "
            f"IN {ANSWERED_SQL} LIMIT 1", (run_id, benchmark)).fetchone()
        if row is None:
            return True
        try:
            return metric in json.loads(row[0])
        except ValueError:
            return True

    def browse_samples(self, run_id: str, primary: Mapping[str, str | None],
                       filters: Filters, offset: int = 0, limit: int = 200
                       ) -> tuple[int, list[BrowsedSample]]:
        """(how many samples match `filters`, the page of them from `offset`), in the store's
        order (model, benchmark, item, repeat). `primary`: each benchmark's primary metric
        (None: the first one a sample stored)."""
        f = filters
        benchmark, model, pair, correct, status, text = (
            f.benchmark, f.model, f.pair, f.correct, f.status, f.text)
        prim = [(b, m) for b, m in primary.items() if m]
        cte = ("WITH prim(benchmark, metric) AS (" + (
            "VALUES " + ", ".join("(?, ?)" for _ in prim) if prim
            else "SELECT NULL, NULL WHERE 0") + "), ")
        args: list[Any] = [x for bm in prim for x in bm]
        where = ""
        args.append(run_id)
        if benchmark:
            where += " AND s.benchmark = ?"
            args.append(benchmark)
        if pair or model:
            where += " AND s.model = ?"
            args.append(pair[0] if pair else model)
        cte += f"v AS ({_WITH_VALUE.format(filters=where)})"
        if pair:
            rows = _OTHER
            args += [run_id, pair[1]]
        else:
            rows = "SELECT * FROM v a WHERE 1"
        if correct is not None:
            rows += f" AND a.value IS NOT NULL AND (a.value >= 1.0) = {int(correct)}"
        if status in ("answered", "failed"):
            rows += (" AND a.status " + ("IN" if status == "answered" else "NOT IN")
                     + f" ({', '.join(repr(x) for x in ANSWERED)})")
        elif status:
            rows += " AND a.status = ?"
            args.append(status)
        if text:
            # casefolded in Python and SQL alike (SQLite's lower() folds ASCII only)
            rows += (" AND (instr(fold(a.item_id), ?) OR instr(fold(COALESCE(a.extracted, "
                     "'')), ?) OR instr(fold(a.reason), ?))")
            args += [text.casefold()] * 3
            self._db.create_function("fold", 1, _fold, deterministic=True)
        total = int(self._db.execute(f"{cte} SELECT COUNT(*) FROM ({rows})", args).fetchone()[0])
        page = self._db.execute(
            f"{cte} SELECT {_COLUMNS} FROM ({rows}) ORDER BY model, benchmark, item_id, repeat "
            "LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return total, [BrowsedSample(*r) for r in page]
