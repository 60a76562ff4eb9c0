"""Aggregate stored samples into per model x benchmark scores with standard errors.

A sample whose request failed after retries has no score and is left out of `score` (the
score over answered items). Whenever a model x benchmark has failed samples (`n_failed > 0`),
each row also carries `score_failed_as_wrong`: the same metric with every failed sample scored
as a wrong answer (0) over all `n_attempted` items, with its interval — so a model that fails
on the hard items cannot look better for it. A metric that cannot be recomputed that way (a
corpus metric needs the failed items' references, which were never stored) leaves it None and
says why in `extra["failed_as_wrong"]`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..benchmarks import find_benchmark_class
from ..errors import ShootoutError
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
    n_attempted: int | None = None  # items with any sample, answered or failed
    # only when n_failed > 0: the metric with failed samples scored 0, over n_attempted items
    score_failed_as_wrong: float | None = None
    ci_low_failed_as_wrong: float | None = None
    ci_high_failed_as_wrong: float | None = None

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
    joint = _joint_aggregates(groups)
    out: list[ResultRow] = []
    analyses: dict[str, dict[str, Any]] = defaultdict(dict)
    for (model, bench), rows in groups.items():
        cls = find_benchmark_class(bench)
        ok = [r for r in rows if r.status == "ok"]
        failed = [r for r in rows if r.status != "ok"]
        common = {
            "model": model,
            "benchmark": bench,
            "repeats": max((r.repeat for r in rows), default=0) + 1,
            "n_failed": len({r.item_id for r in failed}),
            "extraction_failure_rate": _extraction_failure_rate(ok),
            "n_attempted": len({r.item_id for r in rows}),
        }
        extra = cls.analyze(ok) if cls is not None and ok else None
        if extra:
            analyses[model][bench] = extra
        custom = joint.get((model, bench))
        if custom is not None:
            assert cls is not None
            values, analysis = custom
            if analysis:
                analyses[model][bench] = {**analyses[model].get(bench, {}), **analysis}
            primary = cls.primary_metric
            worst = _aggregate_failed_as_wrong(cls, ok, failed) if failed else {}
            for v in values:
                row = ResultRow(metric=v.metric, score=v.score, stderr=_nan(v.stderr),
                                n=v.n, ci_low=_nan(v.ci_low), ci_high=_nan(v.ci_high),
                                primary=v.metric == primary, extra=dict(v.extra), **common)
                out.append(_with_failed_as_wrong(row, worst, bool(failed)))
            continue
        out.extend(_mean_rows(ok, failed, cls.primary_metric if cls else "", common))
    return out, dict(analyses)


def _joint_aggregates(
    groups: dict[tuple[str, str], list[SampleRow]],
) -> dict[tuple[str, str], Any]:
    """Each benchmark's `aggregate_models` over all models of the run at once (needle puts
    their headlines on the grid they share); None where a benchmark has no aggregate."""
    by_bench: dict[str, dict[str, list[SampleRow]]] = defaultdict(dict)
    for (model, bench), rows in groups.items():
        ok = [r for r in rows if r.status == "ok"]
        if ok:
            by_bench[bench][model] = ok
    out: dict[tuple[str, str], Any] = {}
    for bench, per_model in by_bench.items():
        cls = find_benchmark_class(bench)
        if cls is not None:
            for model, agg in cls.aggregate_models(per_model).items():
                out[(model, bench)] = agg
    return out


FailedAsWrong = dict[str, tuple[float, float, float]]  # metric -> (score, ci_low, ci_high)
NOT_RECOMPUTABLE = ("not computable: this metric needs each item's scoring data (references "
                    "for a corpus metric), which a failed request never produced")


def _with_failed_as_wrong(row: ResultRow, worst: FailedAsWrong, any_failed: bool) -> ResultRow:
    if not any_failed:
        return row
    if row.metric not in worst:
        return replace(row, extra={**row.extra, "failed_as_wrong": NOT_RECOMPUTABLE})
    score, lo, hi = worst[row.metric]
    return replace(row, score_failed_as_wrong=score, ci_low_failed_as_wrong=_none(lo),
                   ci_high_failed_as_wrong=_none(hi))


def _aggregate_failed_as_wrong(cls: Any, ok: list[SampleRow], failed: list[SampleRow]
                               ) -> FailedAsWrong:
    """A benchmark's own aggregate, re-run with every failed sample standing in as an answered
    sample that scored 0 on every per-sample metric (pass@1 = 0 is a failing sample for
    pass@k; a needle item keeps its cell from its id)."""
    names = sorted({m for r in ok for m in r.metrics})
    stand_ins = [replace(r, status="ok", metrics=dict.fromkeys(names, 0.0),
                         extraction_failed=True, detail={"failed": True}) for r in failed]
    try:
        custom = cls.aggregate([*ok, *stand_ins])
    except (KeyError, ValueError, ShootoutError):
        # the aggregate needs per-item data a failed sample lacks (a corpus metric's
        # references): no figure, and the row says so; the score itself is unaffected
        return {}
    if custom is None:
        return {}
    return {v.metric: (v.score, _nan(v.ci_low), _nan(v.ci_high)) for v in custom[0]}


def _mean_rows(ok: list[SampleRow], failed: list[SampleRow], primary: str,
               common: dict[str, Any]) -> list[ResultRow]:
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
        row = ResultRow(metric=metric, score=sm.mean, stderr=sm.se, n=sm.n,
                        ci_low=sm.ci_low, ci_high=sm.ci_high,
                        primary=metric == primary,
                        extra={"ci_method": sm.ci_method,
                               "within_item_var": sm.within_item_var},
                        **common)
        if failed:
            worst = summarize(list(failed_as_wrong_scores(ok, failed, metric).values()))
            row = replace(row, score_failed_as_wrong=worst.mean,
                          ci_low_failed_as_wrong=_none(worst.ci_low),
                          ci_high_failed_as_wrong=_none(worst.ci_high))
        rows.append(row)
    return rows


def failed_as_wrong_scores(ok: list[SampleRow], failed: list[SampleRow], metric: str
                           ) -> dict[str, list[float]]:
    """Each attempted item's scores over its repeats, a failed sample counting 0."""
    per_item = item_scores(ok, metric)
    for r in failed:
        per_item.setdefault(r.item_id, []).append(0.0)
    return per_item


def _extraction_failure_rate(ok: list[SampleRow]) -> float | None:
    gen = [r for r in ok if r.detail.get("mode") == "generative"]
    return (sum(r.extraction_failed for r in gen) / len(gen)) if gen else None


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


def group_breakdown(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per-group scores (MMLU subject, MATH level...) for the primary metric."""
    groups: dict[tuple[str, str, str], list[SampleRow]] = defaultdict(list)
    for row in store.samples(run_id):
        if row.group:
            groups[(row.model, row.benchmark, row.group)].append(row)
    out = []
    for (model, bench, group), rows in sorted(groups.items()):
        cls = find_benchmark_class(bench)
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
