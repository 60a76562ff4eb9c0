"""`shootout results RUN_ID`: the table, or the results JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..analysis.efficiency import efficiency_report, efficiency_table
from ..analysis.results import group_breakdown, summarize_with_analyses
from ..errors import ConfigError
from ..store.sqlite import Store, default_store_path
from .console import stdout_console


def results_command(
    run_id: str = typer.Argument(None, help="Run id (default: the latest run)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    store: Path = typer.Option(None, "--store", help="Results database."),
) -> None:
    """Show a stored run's scores: model x benchmark, with standard errors and n."""
    path = store or default_store_path()
    if not Path(path).exists():
        raise ConfigError(f"no results store at {path}; run `shootout run` first")
    db = Store(path)
    if run_id is None:
        runs = db.list_runs()
        if not runs:
            raise ConfigError(f"no runs in {path}")
        run_id = runs[-1]["run_id"]
    emit_results(db, run_id, json_out=json_out)


def results_payload(db: Store, run_id: str) -> dict[str, Any]:
    run = db.get_run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r} in {db.path}")
    rows, analyses = summarize_with_analyses(db, run_id)
    return _clean(
        {
            "run_id": run_id,
            "status": run["status"],
            "results": [r.to_dict() for r in rows],
            "breakdowns": group_breakdown(db, run_id),
            "analyses": analyses,
            "efficiency": efficiency_report(db, run_id),
            "manifest": run["manifest"],
        }
    )


def emit_results(db: Store, run_id: str, *, json_out: bool) -> None:
    payload = results_payload(db, run_id)
    if json_out:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console = stdout_console()
    table = Table(title=f"run {run_id} ({payload['status']})")
    # failures are rare: the extra column appears only when some sample failed
    worst = any(r.get("n_failed") for r in payload["results"])
    cols = ["model", "benchmark", "metric", "score", "± stderr", "95% CI", "n", "failed"]
    if worst:
        cols.append("failed = wrong")
    for col in cols:
        table.add_column(col, justify="left" if col in ("model", "benchmark", "metric")
                         else "right")
    for r in payload["results"]:
        tokens = (r.get("extra") or {}).get("unit") == "tokens"  # needle's effective length
        cells = [
            r["model"],
            r["benchmark"],
            r["metric"] if r["primary"] else f"[dim]{r['metric']}[/dim]",
            f"{r['score']:,.0f} tok" if tokens and r["score"] is not None else _pct(r["score"]),
            "–" if tokens else _pct(r["stderr"]),
            "–" if tokens else _ci(r["ci_low"], r["ci_high"]),
            str(r["n"]),
            str(r["n_failed"]),
        ]
        if worst:
            cells.append(_failed_as_wrong(r))
        table.add_row(*cells)
    console.print(table)
    if worst:
        console.print("failed = wrong: the score with every failed sample counted as a wrong "
                      "answer, over all attempted items (n in brackets).")
    if payload.get("efficiency"):
        console.print(efficiency_table(payload["efficiency"]))


def _failed_as_wrong(r: dict[str, Any]) -> str:
    if not r.get("n_failed") or r.get("score_failed_as_wrong") is None:
        return "–"
    return f"{_pct(r['score_failed_as_wrong'])} (n={r.get('n_attempted')})"


def _ci(lo: float | None, hi: float | None) -> str:
    return "–" if lo is None or hi is None else f"{_pct(lo)}–{_pct(hi)}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _clean(obj: Any) -> Any:
    """NaN is not JSON: undefined values (an SE from one item) become null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj
