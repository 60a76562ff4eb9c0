"""`shootout runs`: the stored runs, load tests and monitors, most recently updated first."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..analysis.formatting import json_safe, money_cli
from ..errors import ConfigError
from ..naming import specs_by_name
from ..store import MonitorSession, Store, default_store_path
from .console import stdout_console


def runs_command(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    store: Path = typer.Option(None, "--store", help="Results database."),
) -> None:
    """List the stored runs: times, status, models, benchmarks, items, failures and cost (load
    tests and monitors too)."""
    db = open_store(store)
    rows = run_rows(db)
    if json_out:
        print(json.dumps(json_safe({"store": str(db.path), "runs": rows}), indent=2,
                         ensure_ascii=False))
        return
    stdout_console().print(_table(rows, db.path))


def open_store(store: Path | None, *, write: bool = False) -> Store:
    """The results store named, or the default one; it must exist (nothing is created) and
    be a shootout store (another application's file, or an empty one, is refused untouched).
    For a command that only reads (`write` False), a store that cannot be written is opened
    read-only; one that writes (`write`) is refused such a store in one line."""
    path = Path(store or default_store_path())
    if not path.exists():
        raise ConfigError(f"no results store at {path}; run `shootout run` first")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not a results store")
    db = Store.open_existing(path)  # an empty file is no store (a write would make one)
    if write:
        db.check_writable()
    return db


def latest_run(db: Store, *, scored: bool = False) -> str:
    """The most recently updated run (resuming an old run makes it the latest); `scored`:
    the latest that was not a dry run, where there is one."""
    run_id = db.latest_run_id(scored=scored)
    if run_id is None:
        raise ConfigError(f"no runs in {db.path}")
    return run_id


def run_rows(db: Store) -> list[dict[str, Any]]:
    """One dict per run, evaluations, load tests (`shootout perf`) and monitors (`shootout
    monitor`), most recently updated first."""
    runs = [((r["updated_at"], r["created_at"]), _run_row(db, r)) for r in db.list_runs()]
    perf = [((p["created_at"], p["created_at"]), _perf_row(p)) for p in db.list_perf()]
    monitors = [_monitor_row(db, m) for m in db.list_monitors()]
    return [row for _, row in sorted(runs + perf + monitors, key=lambda x: x[0], reverse=True)]


def _monitor_row(db: Store, m: MonitorSession) -> tuple[tuple[float, float], dict[str, Any]]:
    """A `shootout monitor` schedule: its probes for items, its failed probes; updated when its
    last probe ended. Its id is what `shootout monitor --summary ID` and `shootout report`
    take."""
    probes = db.probes([m.monitor_id])
    updated = max((p.started for p in probes), default=m.created_at)
    models = list(dict.fromkeys(str(x) for x in m.config.get("models") or ()))
    row = {
        "run_id": m.monitor_id,
        "kind": "monitor",
        "created_at": _iso(m.created_at),
        "updated_at": _iso(updated),
        "status": "finished" if time.time() >= m.end else "open",
        "models": models,
        "benchmarks": [f"monitor, a probe every {m.every:g} s"],
        "items": {"probes": len(probes)},
        "samples": len(probes),
        "failed": sum(p.status != "ok" for p in probes),
        "cost_usd": None,
    }
    return (updated, m.created_at), row


def _perf_row(perf: dict[str, Any]) -> dict[str, Any]:
    """A load test: its levels for benchmarks, its requests for items, its errors."""
    levels = perf["levels"]
    source = perf["config"].get("from_benchmark")
    return {
        "run_id": perf["perf_id"],
        "kind": "perf",
        "created_at": _iso(perf["created_at"]),
        "updated_at": _iso(perf["created_at"]),
        "status": "failed" if not any(lv["completed"] for lv in levels)
        else "interrupted" if perf["config"].get("interrupted") else "complete",
        "models": [perf["model"]],
        "benchmarks": [f"load test {', '.join(lv['label'] for lv in levels)}"
                       + (f" ({source} prompts)" if source else "")],
        "items": {"requests": sum(lv["requests"] for lv in levels)},
        "samples": sum(lv["requests"] for lv in levels),
        "failed": sum(lv["errors"] for lv in levels),
        "cost_usd": None,
    }


def _run_row(db: Store, run: dict[str, Any]) -> dict[str, Any]:
    run_id = run["run_id"]
    stored = db.get_run(run_id) or {}
    spec = stored.get("spec") or {}
    shard = (stored.get("manifest") or {}).get("shard")
    counts = db.sample_counts(run_id)
    sampled = [c[0] for c in counts]
    # a model as its samples name it: a store written before display names kept the spec
    # there ("openai:fake", where today's name is "fake"), as `results` names it too
    named = [spec if spec in sampled and name not in sampled else name
             for name, spec in specs_by_name(spec).items()]
    models = list(dict.fromkeys([*named, *sampled]))
    benches = list(dict.fromkeys(
        [*(_bench_name(b) for b in spec.get("benchmarks") or []), *(c[1] for c in counts)]))
    items: dict[str, int] = {}
    for _, bench, n_items, _, _ in counts:
        items[bench] = max(items.get(bench, 0), n_items)
    return {
        "run_id": run_id,
        "kind": "eval",
        "created_at": _iso(run["created_at"]),
        "updated_at": _iso(run["updated_at"]),
        "status": run["status"],
        # a shard's part (`--shard I/N`): three shards of a run look alike otherwise
        **({"shard": shard} if shard else {}),
        "models": models,
        "benchmarks": benches,
        "items": items,
        "samples": sum(c[3] for c in counts),
        "failed": sum(c[4] for c in counts),
        "cost_usd": _cost(db, run_id),
    }


def _bench_name(entry: Any) -> str:
    return str(entry.get("name") if isinstance(entry, dict) else entry)


def _cost(db: Store, run_id: str) -> float | None:
    """What the run's stored requests cost, as `shootout results` prices them (None when
    some model has no price, or the results cannot be built): from the run's results JSON,
    the copy kept in the store where it is current, else built now (in several processes for
    a large run, as `shootout results` builds it) and kept for the next call."""
    from ..analysis.workers import workers_setting
    from .results import results_payload

    workers_setting()  # a malformed $SHOOTOUT_WORKERS is said, not taken for a missing price
    try:
        rows = results_payload(db, run_id).get("efficiency") or []
    except Exception:  # a bad price file must not hide the list of runs
        return None
    # the models' own totals, and what judges were asked about their answers
    totals = [r["cost_usd"] for r in rows if r["scope"] in ("model", "judge")]
    if not totals:  # no request answered (every one failed): nothing was billed
        return 0.0
    if any(c is None for c in totals):
        return None
    return float(sum(totals))


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(rows: list[dict[str, Any]], path: Path) -> Table:
    table = Table(title=f"runs in {path} (most recently updated first)")
    for col in ("run id", "created", "updated", "status", "models", "benchmarks", "items",
                "failed", "cost"):
        table.add_column(col, justify="right" if col in ("items", "failed", "cost")
                         else "left")
    for r in rows:
        items = r.get("items") or {}
        table.add_row(
            r["run_id"], _short(r["created_at"]), _short(r["updated_at"]),
            r["status"] + (f" (shard {r['shard']})" if r.get("shard") else ""),
            ", ".join(r["models"]) or "–", ", ".join(r["benchmarks"]) or "–",
            f"{sum(items.values()):,}" if items else "–", _failed(r),
            money_cli(r["cost_usd"]),
        )
    return table


def _failed(row: dict[str, Any]) -> str:
    """Failed samples of the run's samples ("16 of 32"): beside `items`, the items per
    benchmark (all models), "16" alone read as every item failed (an audit's)."""
    samples = row.get("samples")
    return f"{row['failed']:,} of {samples:,}" if isinstance(samples, int) and row["failed"] \
        else str(row["failed"])


def _short(iso: str) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16]
