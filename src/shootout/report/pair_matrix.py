"""The head-to-head section's matrix: for three models or more, on how many benchmarks each
model is significantly ahead of each other model and behind it (the pair tables' tests,
Holm-corrected within each pair: `PairTest.winner`), before the pairs' tables. Ten models
make 45 pair tables, each folded in the HTML: the key takeaways' tally said each model's
totals in one line, and which model led which could only be read by opening the tables one
by one."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..analysis.compare import UNTESTABLE
from .build import Report
from .tables import Table, TCell, cell, lcell

NOTE = ("Row against column: the benchmarks on which the row's model is significantly ahead "
        "of the column's, then those on which it is behind (the pair tables' tests below, "
        "Holm-corrected within each pair). A significant difference where the model ahead "
        "was scored on fewer items is not counted as a lead (the HTML cell's tooltip names "
        "it). Ahead and Behind: the row's totals over every pair. – : no benchmark of the "
        "two could be tested (none scored by both, or none with a standard error).")


def pair_matrix(report: Report) -> dict[str, Any] | None:
    """The matrix's table and note, or None for fewer than three models (one pair: its
    table says it all) or no pair tested."""
    labels = list(report.data.labels)
    if len(labels) < 3 or not report.tests:
        return None
    ahead: dict[tuple[str, str], list[str]] = defaultdict(list)  # (winner, other): benches
    uncounted: dict[frozenset[str], list[str]] = defaultdict(list)  # ahead on fewer items
    tested: set[frozenset[str]] = set()
    for t in report.tests:
        pair = frozenset((t.a, t.b))
        if t.method != UNTESTABLE:
            tested.add(pair)
        if t.winner is not None:
            ahead[(t.winner, t.b if t.winner == t.a else t.a)].append(t.benchmark)
        elif t.significant and t.ahead_on_fewer_items:
            uncounted[pair].append(f"{t.benchmark} ({t.ahead} ahead)")
    rows: list[tuple[TCell, ...]] = []
    for x in labels:
        row = [lcell(x)]
        for y in labels:
            if x == y:
                row.append(cell(""))
            elif frozenset((x, y)) not in tested:
                row.append(cell("–"))
            else:
                row.append(_cell(ahead.get((x, y), []), ahead.get((y, x), []),
                                 uncounted.get(frozenset((x, y)), [])))
        won = sum(len(b) for (w, _), b in ahead.items() if w == x)
        lost = sum(len(b) for (w, o), b in ahead.items() if o == x)
        rows.append((*row, cell(str(won)), cell(str(lost))))
    return {"table": Table("pair-matrix", ("Model", *labels, "Ahead", "Behind"), tuple(rows)),
            "note": NOTE}


def _cell(won: list[str], lost: list[str], uncounted: list[str]) -> TCell:
    parts = [f"ahead on {', '.join(won)}" if won else "",
             f"behind on {', '.join(lost)}" if lost else "",
             "significant but not counted, the model ahead scored on fewer items: "
             + ", ".join(uncounted) if uncounted else ""]
    title = "; ".join(p for p in parts if p) or "no significant difference"
    return cell(f"{len(won)}–{len(lost)}", bold=len(won) > len(lost), title=title)
