"""Needle's corpus-level numbers from stored samples: one model, or models compared on the grid
they share.

A model is scored on the lengths its context window allows. Averaged over its own grid, a
small-window model skips the long, hard lengths and scores higher than a model that was also
tried at 32K, while the paired test between them can only use the cells both have. So when
models are compared (`aggregate_models`), the headline rows (acc, acc_strict, recall, the
depth buckets, the gap) are computed on the common grid, and each model's own-grid mean
(`acc_own_grid`), its effective length and its coverage are reported beside them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ProviderError
from ..scoring.needle_analysis import (
    Grid,
    Item,
    analyse,
    common_grid,
    coverage,
    item_stat,
    token_summary,
)
from .base import Score

Aggregate = tuple[list[Score], dict[str, Any]]
_HEADLINE = ("overall", "recall", "strict", "buckets", "gap")


def aggregate_rows(rows: Sequence[Any]) -> Aggregate | None:
    """One model alone: metric rows (acc, acc_strict, recall, buckets, gap, effective length)
    and the analysis dict, over the model's whole grid."""
    items = _items(rows)
    if not items:
        return None
    lengths = sorted({i.length for i in items})
    return _aggregate(rows, items, common_grid([items]), lengths, joint=False)


def aggregate_models(rows_by_model: Mapping[str, Sequence[Any]]) -> dict[str, Aggregate]:
    """Per model (SampleRows with status "ok"): its rows and analysis, the headline over the
    lengths x depths x trials that every model in `rows_by_model` was scored on."""
    items = {m: _items(rows) for m, rows in rows_by_model.items()}
    items = {m: its for m, its in items.items() if its}
    grid = common_grid(items.values())
    lengths = sorted({i.length for its in items.values() for i in its})
    return {m: _aggregate(rows_by_model[m], its, grid, lengths, joint=True)
            for m, its in items.items()}


def _aggregate(rows: Sequence[Any], items: list[Item], grid: Grid, lengths: list[int], *,
               joint: bool) -> Aggregate:
    a = analyse(items)  # heatmap, per length, effective length: always the model's own grid
    a.update(token_summary([r.detail for r in rows]))
    a["coverage"] = coverage(items, grid, lengths)
    inside = [i for i in items if grid.holds(i)]
    if len(inside) < len(items):
        a["own_grid"] = {k: a[k] for k in _HEADLINE}
        if inside:
            common = analyse(inside)
            a.update({k: common[k] for k in _HEADLINE})
    first = rows[0].detail
    a["variant"], a["haystack"] = first.get("variant"), first.get("haystack")
    multi = first.get("variant") in ("multivalue", "multiquery")
    return _values(a, bool(inside), multi, "common" if joint else "own"), a


def _values(a: dict[str, Any], comparable: bool, multi: bool, grid_name: str
            ) -> list[Score]:
    """The metric rows. Without a common cell there is no headline: the models' scores
    would be over different lengths, so none is offered for comparison."""
    values: list[Score] = []
    if comparable:
        grid = {"grid": grid_name,
                "lengths": a["coverage"]["common_lengths"],
                "coverage": a["coverage"]["fraction"]}
        values.append(_mv("acc", a["overall"], grid))
        if a["strict"]["n"]:
            values.append(_mv("acc_strict", a["strict"]))
        if multi:
            values.append(_mv("recall", a["recall"]))
        values += [_mv(f"acc_{k}", v) for k, v in a["buckets"].items() if v["n"]]
        g = a["gap"]
        if g["value"] is not None:
            values.append(Score("lost_in_middle_gap", g["value"], g["stderr"],
                                      a["buckets"]["middle"]["n"], g["ci"][0], g["ci"][1]))
    if "own_grid" in a:
        values.append(_mv("acc_own_grid", a["own_grid"]["overall"], {"lengths": a["lengths"]}))
    values.append(Score("effective_length", float(a["effective_length"]), None,
                              len(a["lengths"]), extra={"unit": "tokens",
                                                        "threshold": a["threshold"]}))
    return values


def _mv(name: str, s: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Score:
    lo, hi = s.get("ci") or (None, None)
    return Score(name, s["acc"], s["stderr"], s["n"], lo, hi,
                       extra={"ci_method": s["ci_method"], "se_clusters": s["clusters"],
                              **(extra or {})})


def group_stat(rows: Sequence[Any]) -> dict[str, Any] | None:
    """`item_stat` of the items of `rows` (a group of one model's answered samples: one
    length), as `analyse` takes a length's accuracy; None where none has an accuracy."""
    items = _items(rows)
    return item_stat(items) if items else None


def _items(rows: Sequence[Any]) -> list[Item]:
    """One Item per document, repeats averaged within it first (Miller 2024)."""
    by_item: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        if "acc" in r.metrics:
            by_item[r.item_id].append(r)
    items = []
    for item_id, rs in by_item.items():
        length, depth, trial = _cell(item_id, rs[0].detail)
        strict = [r.metrics["acc_strict"] for r in rs if "acc_strict" in r.metrics]
        items.append(Item(
            length, depth, _mean([r.metrics["acc"] for r in rs]),
            _mean([r.metrics.get("recall", r.metrics["acc"]) for r in rs]),
            _mean(strict) if strict else None, str(rs[0].detail.get("haystack") or ""), trial,
        ))
    return items


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _cell(item_id: str, detail: Mapping[str, Any]) -> tuple[int, float, int]:
    m = re.fullmatch(r"L(\d+)-d([\d.]+)-t(\d+)", item_id)
    if "length" in detail and "depth" in detail:
        trial = detail.get("trial", int(m.group(3)) if m else 0)
        return int(detail["length"]), float(detail["depth"]), int(trial)
    if not m:
        raise ProviderError(f"needle: cannot read length and depth from item {item_id!r}")
    return int(m.group(1)), float(m.group(2)), int(m.group(3))


__all__ = ["aggregate_models", "aggregate_rows"]
