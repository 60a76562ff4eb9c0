"""The floor under a cold `shootout results`: what reading a run's samples costs before any
analysis, in the store's row layout and in a columnar one (issue 18, item 4: <= 5 s at 500k).

    .venv/bin/python benchmarks/results_floor.py --store PATH [--run RUN] [--repeats 3]

`PATH` is a store such as `results_scale.py --keep PATH` builds. Prints the best of
`--repeats` wall times of:

- process start: `python -m shootout results --help` (the interpreter and the imports of
  the CLI and its results command; `--version` answers before them);
- row layout, SQL: `Store.read_run`'s query of a store from before `response_nums` (samples
  joined with `response_lean`), every row fetched into Python, nothing built from it (chunk
  times as the store keeps them);
- row layout, SQL (numbers): the query `read_run` runs on a store that has `response_nums`
  (each response's figures as one packed row: samples joined with it), fetched alike;
- row layout, SQL + JSON: the same, with each distinct metrics text and every response's
  usage/timing JSON parsed (orjson where installed): the least any analysis of this layout
  must do;
- columnar, SQL: the same figures as numeric columns in an in-memory table (models,
  benchmarks and items as integer codes, each metric, token count and time a REAL or INTEGER
  column, the chunk times a float64 blob), fetched into Python;
- columnar, SQL + arrays: the same, with the numbers made one numpy array and every
  chunk-time blob read as one array (what a columnar analysis would start from).

The garbage collector is off throughout, as it is in `build_results`. The columnar table is
a measurement of a layout shootout does not have (docs/report.md): it is built here from the
row layout, and its build time is not counted.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from results_build import best  # this folder's script (run as a file)

from shootout.store.decode import fast_loads as _fast_loads
from shootout.store.reading import _NUMS_QUERY, _RUN_QUERY

USAGE = ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens",
         "cache_write_tokens")
TIMING = ("e2e", "ttft", "connect", "first_reasoning", "first_answer")


def _facts(text: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    got = _fast_loads(text) if text else {}
    if isinstance(got, dict):
        return got.get("usage") or {}, got.get("timing") or {}
    return got[0] or {}, got[1] or {}


def row_layout(db: sqlite3.Connection, run: str, parse: bool) -> int:
    rows = db.execute(_RUN_QUERY, (run,)).fetchall()
    if parse:
        metrics: dict[str, Any] = {}
        for r in rows:
            if r[6] not in metrics:
                metrics[r[6]] = _fast_loads(r[6])
            _facts(r[16])
    return len(rows)


def columnar_copy(db: sqlite3.Connection, run: str) -> sqlite3.Connection:
    """The run's samples and response facts as numeric columns, in memory."""
    mem = sqlite3.connect(":memory:")
    mem.execute(
        "CREATE TABLE cols (model INTEGER, benchmark INTEGER, item INTEGER, repeat INTEGER, "
        "status INTEGER, m0 REAL, m1 REAL, kind INTEGER, created_at REAL, "
        + ", ".join(f"{u} INTEGER" for u in USAGE) + ", "
        + ", ".join(f"{t} REAL" for t in TIMING) + ", chunks BLOB)")
    codes: dict[str, dict[str, int]] = {"m": {}, "b": {}, "i": {}, "s": {}, "k": {}}

    def code(kind: str, value: Any) -> int:
        return codes[kind].setdefault(str(value), len(codes[kind]))

    out = []
    for r in db.execute(_RUN_QUERY, (run,)):
        metrics = _fast_loads(r[6])
        vals = [*metrics.values(), None, None][:2]
        usage, timing = _facts(r[16])
        chunks = r[17] if isinstance(r[17], bytes) else np.asarray(
            _fast_loads(r[17]) if r[17] else timing.get("chunk_times") or (),
            dtype=np.float64).tobytes()
        out.append((code("m", r[0]), code("b", r[1]), code("i", r[2]), r[3], code("s", r[5]),
                    *vals, code("k", r[14]), r[15], *(usage.get(u) for u in USAGE),
                    *(timing.get(t) for t in TIMING), chunks))
    mem.executemany(f"INSERT INTO cols VALUES ({','.join('?' * 20)})", out)
    mem.commit()
    return mem


NUMBERS = ("model, benchmark, item, repeat, status, m0, m1, kind, created_at, "
           + ", ".join(USAGE) + ", " + ", ".join(TIMING))


def columnar(mem: sqlite3.Connection, arrays: bool) -> int:
    rows = mem.execute(f"SELECT {NUMBERS} FROM cols").fetchall()
    chunks = [r[0] for r in mem.execute("SELECT chunks FROM cols")]
    if arrays:
        np.array(rows, dtype=np.float64)  # None (absent) becomes NaN
        np.frombuffer(b"".join(chunks), dtype=np.float64)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--run", help="run id (default: the store's only or first run)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not args.store.is_file():
        sys.exit(f"error: no store at {args.store}")
    gc.disable()  # as `analysis.results.build_results` does (`frozen.gc_paused`)
    db = sqlite3.connect(args.store)
    run = args.run or db.execute("SELECT run_id FROM runs ORDER BY created_at").fetchone()[0]
    n = db.execute("SELECT COUNT(*) FROM samples WHERE run_id=?", (run,)).fetchone()[0]
    print(f"{n:,} samples of run {run}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    start = [sys.executable, "-m", "shootout", "results", "--help"]
    figures = {
        "process start (python -m shootout results --help)":
            lambda: subprocess.run(start, check=True, capture_output=True),
        "row layout: SQL": lambda: row_layout(db, run, parse=False),
        "row layout: SQL + JSON": lambda: row_layout(db, run, parse=True),
    }
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'response_nums'").fetchone():
        figures["row layout: SQL (numbers)"] = \
            lambda: len(db.execute(_NUMS_QUERY, (run,)).fetchall())
    for name, fn in figures.items():
        print(f"{name:50} {best(fn, args.repeats):7.2f} s", flush=True)
    t = time.perf_counter()
    mem = columnar_copy(db, run)
    print(f"(columnar copy built in {time.perf_counter() - t:.0f} s, not counted)")
    for name, arrays in (("columnar: SQL", False), ("columnar: SQL + arrays", True)):
        print(f"{name:50} {best(lambda a=arrays: columnar(mem, a), args.repeats):7.2f} s",
              flush=True)


if __name__ == "__main__":
    main()
