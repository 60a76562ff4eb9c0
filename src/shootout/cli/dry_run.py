"""`shootout run --dry-run`'s table: the pre-flight estimate per model x benchmark, each
model's total and the run's (docs/budget.md)."""

from __future__ import annotations

from typing import Any

from ..runner.budget import BATCH_NOTE, JUDGING
from ..store.sqlite import Store
from .console import stdout_console

_SUMS = ("requests", "prompt_tokens", "expected_completion_tokens", "max_completion_tokens")


def estimate_rows(run: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """{model: [(benchmark, estimate)]} from a dry run's manifest, in the run's order."""
    benches = (run.get("manifest") or {}).get("benchmarks") or {}
    spec = run.get("spec") or {}
    order = [b.get("name") for b in spec.get("benchmarks") or []]
    models = _display_names(spec)
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for bench in sorted(benches, key=lambda b: order.index(b) if b in order else len(order)):
        for model, cost in (benches[bench].get("dry_run") or {}).items():
            out.setdefault(model, []).append((bench, cost))
    # the run's order of models (the manifest's keys are sorted), each judge's requests last
    return dict(sorted(out.items(), key=lambda kv: (
        kv[0].endswith(JUDGING), models.index(kv[0]) if kv[0] in models else len(models))))


def _display_names(spec: dict[str, Any]) -> list[str]:
    """The run's models as tables name them (a name derived from the spec where none is
    given), in the run's order."""
    from ..config import RunConfig

    try:
        return [m.display for m in RunConfig.model_validate(spec).models]
    except ValueError:  # a spec an older shootout stored: its names as written
        return [m.get("name") or m.get("spec") for m in spec.get("models") or []]


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    t: dict[str, Any] = {k: sum(int(r.get(k, 0)) for r in rows) for k in _SUMS}
    # needle's calibration requests are prompt tokens too
    t["prompt_tokens"] += sum(int(r.get("calibration_tokens", 0)) for r in rows)
    for k in ("usd_expected", "usd_at_most"):
        values = [r.get(k) for r in rows]
        t[k] = None if any(v is None for v in values) else sum(values)
    return t


def _usd(v: float | None) -> str:
    """Dollars: cents from $1 up, four decimals below (a --limit run costs fractions of one)."""
    if v is None:
        return "price unknown"
    return f"${v:,.2f}" if v >= 1 or round(v, 2) == v else f"${v:.4f}"


def _cells(label: str, bench: str, c: dict[str, Any]) -> list[str]:
    prompt = int(c.get("prompt_tokens", 0)) + int(c.get("calibration_tokens", 0))
    return [label, bench, f"{int(c.get('requests', 0)):,}", f"{prompt:,}",
            f"{int(c.get('expected_completion_tokens', 0)):,}",
            f"{int(c.get('max_completion_tokens', 0)):,}",
            _usd(c.get("usd_expected")), _usd(c.get("usd_at_most"))]


def dry_run_table(db: Store, run_id: str, max_cost: float | None = None) -> None:
    """Print a dry run's estimate, model by model, with the basis of the expected output."""
    from rich.table import Table

    run = db.get_run(run_id) or {}
    by_model = estimate_rows(run)
    table = Table("model", "benchmark", "requests", "prompt tokens", "output expected",
                  "output at most", "cost expected", "cost at most",
                  title=f"dry run {run_id}: nothing was sent")
    totals: list[dict[str, Any]] = []
    bases: set[str] = set()
    for model, rows in by_model.items():
        for bench, cost in rows:
            table.add_row(*_cells(model, bench, cost))
            bases.add(f"{bench}: {cost.get('expected_basis', 'output limit')}")
        total = _total([c for _, c in rows])
        totals.append(total)
        table.add_row(*_cells(model, "all", total), style="bold", end_section=True)
    if len(totals) > 1:
        table.add_row(*_cells("all models", "all", _total(totals)), style="bold")
    out = stdout_console()
    out.print(table)
    known = sorted(b for b in bases if "reference answers" in b)
    out.print("Expected output: each item's reference answer length, at most its limit, for "
              + (", ".join(k.split(":")[0] for k in known) or "no benchmark of this run")
              + "; the output limit for the others (and for reasoning models). "
              + f"Prompt tokens estimated at ~4 characters a token. {BATCH_NOTE}.",
              soft_wrap=True)
    if any(model.endswith(JUDGING) for model in by_model):
        out.print(f"A row 'JUDGE {JUDGING}': the judge's requests about the answers, each "
                  "answer taken at its model's expected length, the judge's output at its "
                  "limit.", soft_wrap=True)
    _cap_verdict(out, max_cost, totals)


def _cap_verdict(out: Any, cap: float | None, totals: list[dict[str, Any]]) -> None:
    """Whether the run's cost cap (if it has one) would let it start."""
    if cap is None:
        return
    expected = _total(totals)["usd_expected"] if totals else 0.0
    if expected is None:
        out.print(f"--max-cost {_usd(cap)}: cannot be enforced, a model's price is unknown")
    elif expected > cap:
        out.print(f"--max-cost {_usd(cap)}: the run would be refused (expected "
                  f"{_usd(expected)}); raise the cap or run fewer items")
    else:
        out.print(f"--max-cost {_usd(cap)}: the run would start (expected {_usd(expected)}) "
                  "and stop at the cap if its spend gets there")
