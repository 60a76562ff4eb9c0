"""Aggregate stored samples into per model x benchmark scores with standard errors."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from ..benchmarks import REGISTRY
from ..store.sqlite import SampleRow, Store
from .stats import summarize


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
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def item_scores(rows: list[SampleRow], metric: str) -> dict[str, list[float]]:
    """Each item's scores over its repeats."""
    per_item: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.status == "ok" and metric in r.metrics:
            per_item[r.item_id].append(float(r.metrics[metric]))
    return dict(per_item)


def item_means(rows: list[SampleRow], metric: str) -> dict[str, float]:
    """Average repeats within each item first (Miller 2024): one value per item."""
    return {k: sum(v) / len(v) for k, v in item_scores(rows, metric).items()}


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
    return summarize_with_analyses(store, run_id)[0]


def summarize_with_analyses(
    store: Store, run_id: str
) -> tuple[list[ResultRow], dict[str, dict[str, Any]]]:
    """Result rows for every model x benchmark x metric, plus benchmark-specific analyses."""
    groups: dict[tuple[str, str], list[SampleRow]] = defaultdict(list)
    for row in store.samples(run_id):
        groups[(row.model, row.benchmark)].append(row)
    out: list[ResultRow] = []
    analyses: dict[str, dict[str, Any]] = defaultdict(dict)
    for (model, bench), rows in groups.items():
        cls = REGISTRY.get(bench)
        ok = [r for r in rows if r.status == "ok"]
        common = {
            "model": model,
            "benchmark": bench,
            "repeats": max((r.repeat for r in rows), default=0) + 1,
            "n_failed": len({r.item_id for r in rows if r.status != "ok"}),
            "extraction_failure_rate": _extraction_failure_rate(ok),
        }
        extra = cls.analyze(ok) if cls is not None and ok else None
        if extra:
            analyses[model][bench] = extra
        custom = cls.aggregate(ok) if cls is not None and ok else None
        if custom is not None:
            values, analysis = custom
            if analysis:
                analyses[model][bench] = {**analyses[model].get(bench, {}), **analysis}
            primary = cls.primary_metric if cls else ""
            for v in values:
                out.append(ResultRow(metric=v.metric, score=v.score, stderr=_nan(v.stderr),
                                     n=v.n, ci_low=_nan(v.ci_low), ci_high=_nan(v.ci_high),
                                     primary=v.metric == primary, extra=dict(v.extra), **common))
            continue
        out.extend(_mean_rows(ok, cls.primary_metric if cls else "", common))
    return out, dict(analyses)


def _mean_rows(ok: list[SampleRow], primary: str, common: dict[str, Any]) -> list[ResultRow]:
    metric_names = sorted({m for r in ok for m in r.metrics})
    if primary not in metric_names:  # e.g. acc_norm does not exist in generative scoring
        primary = "acc" if "acc" in metric_names else (metric_names[0] if metric_names else "")
    if primary in metric_names:  # primary first
        metric_names.remove(primary)
        metric_names.insert(0, primary)
    rows = []
    for metric in metric_names:
        per_item = item_scores(ok, metric)
        if not per_item:
            continue
        sm = summarize(list(per_item.values()))
        rows.append(ResultRow(metric=metric, score=sm.mean, stderr=sm.se, n=sm.n,
                              ci_low=sm.ci_low, ci_high=sm.ci_high,
                              primary=metric == primary,
                              extra={"ci_method": sm.ci_method,
                                     "within_item_var": sm.within_item_var},
                              **common))
    return rows


def _extraction_failure_rate(ok: list[SampleRow]) -> float | None:
    gen = [r for r in ok if r.detail.get("mode") == "generative"]
    return (sum(r.extraction_failed for r in gen) / len(gen)) if gen else None


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


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
