"""Aggregate stored samples into per model x benchmark scores with standard errors."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from ..benchmarks import REGISTRY
from ..store.sqlite import SampleRow, Store


@dataclass(frozen=True)
class ResultRow:
    model: str
    benchmark: str
    metric: str
    score: float
    stderr: float
    n: int
    ci_low: float
    ci_high: float
    repeats: int
    n_failed: int
    extraction_failure_rate: float | None
    primary: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def item_means(rows: list[SampleRow], metric: str) -> dict[str, float]:
    """Average repeats within each item first (Miller 2024): one value per item."""
    per_item: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.status == "ok" and metric in r.metrics:
            per_item[r.item_id].append(float(r.metrics[metric]))
    return {k: sum(v) / len(v) for k, v in per_item.items()}


def mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    var = sum((x - mean) ** 2 for x in values) / (n - 1)
    return mean, math.sqrt(var / n)


def summarize_run(store: Store, run_id: str) -> list[ResultRow]:
    groups: dict[tuple[str, str], list[SampleRow]] = defaultdict(list)
    for row in store.samples(run_id):
        groups[(row.model, row.benchmark)].append(row)
    out: list[ResultRow] = []
    for (model, bench), rows in groups.items():
        cls = REGISTRY.get(bench)
        ok = [r for r in rows if r.status == "ok"]
        failed_items = {r.item_id for r in rows if r.status != "ok"}
        metric_names = sorted({m for r in ok for m in r.metrics})
        primary = cls.primary_metric if cls else ""
        if primary not in metric_names:  # e.g. acc_norm does not exist in generative scoring
            primary = "acc" if "acc" in metric_names else (metric_names[0] if metric_names else "")
        if primary in metric_names:  # primary first
            metric_names.remove(primary)
            metric_names.insert(0, primary)
        repeats = max((r.repeat for r in rows), default=0) + 1
        gen = [r for r in ok if r.extracted is not None or r.extraction_failed]
        efr = (sum(r.extraction_failed for r in gen) / len(gen)) if gen else None
        for metric in metric_names:
            values = list(item_means(ok, metric).values())
            mean, se = mean_se(values)
            half = 1.96 * se if not math.isnan(se) else math.nan
            out.append(
                ResultRow(
                    model=model,
                    benchmark=bench,
                    metric=metric,
                    score=mean,
                    stderr=se,
                    n=len(values),
                    ci_low=mean - half,
                    ci_high=mean + half,
                    repeats=repeats,
                    n_failed=len(failed_items),
                    extraction_failure_rate=efr,
                    primary=metric == primary,
                )
            )
    return out


def group_breakdown(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per-group scores (MMLU subject, MATH level...) for the primary metric."""
    groups: dict[tuple[str, str, str], list[SampleRow]] = defaultdict(list)
    for row in store.samples(run_id):
        if row.group:
            groups[(row.model, row.benchmark, row.group)].append(row)
    out = []
    for (model, bench, group), rows in sorted(groups.items()):
        cls = REGISTRY.get(bench)
        metric = cls.primary_metric if cls else "acc"
        values = list(item_means(rows, metric).values())
        if not values:
            continue
        mean, se = mean_se(values)
        out.append(
            {
                "model": model,
                "benchmark": bench,
                "group": group,
                "metric": metric,
                "score": mean,
                "stderr": se,
                "n": len(values),
            }
        )
    return out
