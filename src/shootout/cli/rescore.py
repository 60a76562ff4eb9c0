"""`shootout rescore RUN_ID`: score the stored responses again with the current scorers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..analysis.formatting import json_safe, pct
from ..errors import ConfigError
from ..runner.rescore import Rescored, rescore_run
from .console import stdout_console
from .results import keep_report, results_payload
from .runs import open_store


def rescore_command(
    run_id: str = typer.Argument(..., help="Run id (`shootout runs` lists them)."),
    benchmarks: str = typer.Option(
        None, "--benchmarks", "--tasks", "-b",
        help="Comma-separated benchmarks to rescore (default: all of the run's); a "
        "benchmark's name covers its prompt variants, NAME@vK one variant."),
    show: int = typer.Option(20, "--show", min=0, help="Changed samples to list."),
    data_dir: str = typer.Option(None, "--data-dir", help="Benchmark data ($SHOOTOUT_DATA)."),
    store: Path = typer.Option(None, "--store", help="Results database."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    unsafe_exec: bool = typer.Option(
        False, "--unsafe-exec",
        help="Run model-written code without the bubblewrap sandbox (as the rescore's own "
        "choice: a stored run's --unsafe-exec is not followed)."),
) -> None:
    """Recompute item scores from stored responses with the current scorers (nothing is
    sent), record the scorer versions in the run manifest, and show what changed."""
    db = open_store(store, write=True)
    names = [b.strip() for b in benchmarks.split(",") if b.strip()] \
        if benchmarks is not None else None
    if names == []:  # `-b ''` rescored every benchmark
        raise ConfigError("--benchmarks: no benchmark named (leave it out to rescore all)")
    before = _primary(results_payload(db, run_id)) if db.get_run(run_id) else {}
    out = rescore_run(db, run_id, names, data_dir=data_dir, unsafe_exec=unsafe_exec)
    # kept with a large run's report basis, as a run's end keeps them: the next report
    # reads no sample
    after = _primary(results_payload(db, run_id, keep_basis=True))
    # the benchmarks rescored (`--benchmarks`: those named; the others' scores did not move)
    scores = [{"model": model, "benchmark": bench, "metric": metric,
               "before": before.get((model, bench, metric)), "after": score}
              for (model, bench, metric), score in after.items() if bench in out.versions]
    if json_out:
        print(json.dumps(json_safe(_payload(out, scores)), indent=2, ensure_ascii=False))
    else:
        _print(out, scores, show)
    sys.stdout.flush()
    keep_report(db, run_id, f"the rescore of {run_id} is complete")


def _primary(data: dict[str, Any]) -> dict[tuple[str, str, str], float | None]:
    return {(r["model_name"], r["benchmark"], r["metric"]): r["score"]
            for r in data["results"] if r["primary"]}


def _payload(out: Rescored, scores: list[dict[str, Any]]) -> dict[str, Any]:
    return {"run_id": out.run_id, "scorer_versions": out.versions, "samples": out.samples,
            "changed": len(out.changes), "skipped": out.skipped, "left_out": out.left_out,
            "scores": scores,
            "changes": [c.to_dict() for c in out.changes]}


def _print(out: Rescored, scores: list[dict[str, Any]], show: int) -> None:
    console = stdout_console()
    versions = ", ".join(f"{b} v{v}" for b, v in out.versions.items())
    console.print(f"rescored {out.samples:,} stored responses of {out.run_id} ({versions}): "
                  f"{len(out.changes):,} samples changed; nothing was sent")
    for why, n in out.skipped.items():
        console.print(f"skipped {n:,} samples: {why}")
    for bench, why in out.left_out.items():
        console.print(f"not rescored: {bench} ({why})")
    table = Table("model", "benchmark", "metric", "before", "after", title="primary scores")
    for s in scores:
        moved = s["before"] != s["after"]
        after = Text(pct(s["after"]), style="bold" if moved else "")
        table.add_row(s["model"], s["benchmark"], s["metric"], pct(s["before"]), after)
    console.print(table)
    if not out.changes or not show:
        return
    changed = Table("model", "benchmark", "item", "repeat", "metrics before → after",
                    "extracted before → after", title=f"changed samples (first {show})")
    for c in out.changes[:show]:
        b, a = c.before, c.after
        changed.add_row(b.model, b.benchmark, b.item_id, str(b.repeat),
                        f"{_metrics(b.metrics)} → {_metrics(a.metrics)}",
                        f"{b.extracted!r} → {a.extracted!r}")
    console.print(changed)


def _metrics(m: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in m.items()) or "failed"
