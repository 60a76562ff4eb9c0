"""The results of stored runs, built once: scores, breakdowns, analyses, efficiency, latency.

`build_results(store, run_ids)` reads each run once (`Store.read_run`: the samples joined with
their responses) and turns it into one `RunResults`, which `shootout results` (table and JSON),
`shootout run` and `shootout report` all consume. Each benchmark's `aggregate` runs once per
model per build (through `aggregate_models`, over every model of the run at once); a model x
benchmark with failed samples runs it once more, for the figure below.

A sample whose request failed after retries has no score and is left out of `score` (the
score over answered items). Whenever a model x benchmark has failed samples (`n_failed > 0`),
each score also carries `score_failed_as_wrong`: the same metric with every failed sample
scored as a wrong answer (0) over all `n_attempted` items, with its interval — so a model that
fails on the hard items cannot look better for it. A metric that cannot be recomputed that way
(a corpus metric needs the failed items' references, which were never stored) leaves it None
and says why in `extra["failed_as_wrong"]`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import Any

from ..benchmarks import find_benchmark_class
from ..errors import ConfigError, ShootoutError
from ..frozen import gc_paused
from ..perf.prices import PriceTable
from ..scores import COMPARED_GROUPS, Score, row_groups
from ..store import RunRecord, SampleRow, Store
from ..store.rows import (
    ANSWERED,
    EARLIER,
    EARLIER_CUT,
    EARLIER_FILTERED,
    FAILED_ITEM,
    item_scores,
)
from . import columns
from .efficiency import efficiency_rows
from .stats import summarize

Key = tuple[str, str]  # (model, benchmark)
Aggregate = tuple[list[Score], dict[str, Any]]
# e2e_ms, ttft_ms, tokens_per_s, generate_e2e_ms (the e2e of generated answers alone): one
# value per response that has the figure
Latency = dict[str, list[float]]


@dataclass(frozen=True)
class RunResults:
    """One run's results. `samples` are the run's samples per (model, benchmark), in the
    store's order; `efficiency_error` is what stopped the efficiency rows, if anything did
    (the report shows it, `shootout results` raises it)."""

    run: RunRecord
    scores: tuple[Score, ...]
    breakdowns: tuple[Score, ...]
    analyses: Mapping[str, Mapping[str, Any]]
    efficiency: tuple[dict[str, Any], ...]
    efficiency_error: Exception | None
    samples: Mapping[Key, tuple[SampleRow, ...]]
    # (model, benchmark, metric): the item scores of a mean-of-items row, as its score was
    # computed from them (kept by the build, for a report's figures; not sent between
    # processes: `analysis.parallel.part_of`)
    per_item: Mapping[tuple[str, str, str], dict[str, list[float]]] = field(
        default_factory=dict, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @cached_property
    def latency(self) -> Mapping[str, Latency]:
        """Per model, each stored response's latencies (`request_latency`): built when first
        asked for, as only the report asks (the results JSON has none; 2 s of a 500k-sample
        build)."""
        return request_latency(self.run)


@dataclass(frozen=True)
class Results:
    runs: tuple[RunResults, ...]


def build_results(
    store: Store,
    run_ids: Sequence[str],
    *,
    price_overrides: Mapping[str, Any] | None = None,
    price_table: PriceTable | None = None,
) -> Results:
    """The results of each run (once each, in the order given)."""
    out = []
    for run_id in dict.fromkeys(run_ids):
        with gc_paused():
            record = store.read_run(run_id)
            if record is None:
                if run_id.startswith("mon-") or store.get_perf(run_id) is not None:
                    raise store.unknown_run(run_id)  # a monitor or load test: says which
                recent = sorted(store.list_runs(), key=lambda r: r["updated_at"], reverse=True)
                known = ", ".join(r["run_id"] for r in recent[:5]) or "none"
                raise ConfigError(f"unknown run id {run_id!r} in {store.path} "
                                  f"(latest first: {known})")
            out.append(run_results(record, price_overrides=price_overrides,
                                   price_table=price_table))
    return Results(tuple(out))


def run_results(
    run: RunRecord,
    *,
    price_overrides: Mapping[str, Any] | None = None,
    price_table: PriceTable | None = None,
) -> RunResults:
    """One run's results from the run as read (no store needed)."""
    groups = by_model_benchmark(run.samples)
    per_item: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    scores, analyses = score_groups(groups, per_item)
    efficiency: list[dict[str, Any]] = []
    error: Exception | None = None
    try:
        efficiency = efficiency_rows(run, scores, price_overrides, table=price_table)
    except Exception as e:  # a bad price file or stored usage must not sink the scores
        error = e
    return RunResults(
        run=run, scores=tuple(scores), breakdowns=tuple(breakdowns(groups)),
        analyses=analyses, efficiency=tuple(efficiency), efficiency_error=error,
        samples=groups, per_item=per_item,
    )


def by_model_benchmark(samples: Sequence[SampleRow]) -> dict[Key, tuple[SampleRow, ...]]:
    groups: dict[Key, list[SampleRow]] = defaultdict(list)
    for s in samples:
        groups[(s.model, s.benchmark)].append(s)
    return {k: tuple(v) for k, v in groups.items()}


# --------------------------------------------------------------------------- scores


def score_groups(groups: Mapping[Key, Sequence[SampleRow]],
                 per_item: dict[tuple[str, str, str], dict[str, list[float]]] | None = None
                 ) -> tuple[list[Score], dict[str, dict[str, Any]]]:
    """Scores for every model x benchmark x metric, plus benchmark-specific analyses
    (`per_item`: each mean-of-items row's item scores put there, by model, benchmark and
    metric)."""
    # each cell's answered samples (`r.answered`, without its call), taken once
    answered = {key: [r for r in rows if r.status in ANSWERED] for key, rows in groups.items()}
    compared = _compared_groups(groups)
    # a benchmark's own aggregate over the compared groups too (a review's: it covered all)
    joint = _joint_aggregates({key: ok if key not in compared else
                               [r for r in ok if r.group in compared[key]]
                               for key, ok in answered.items()})
    out: list[Score] = []
    analyses: dict[str, dict[str, Any]] = defaultdict(dict)
    for (model, bench), every in groups.items():
        cls = find_benchmark_class(bench)
        ok, rows = answered[(model, bench)], every
        extra = cls.analyze(ok) if cls is not None and ok else None
        if extra:
            analyses[model][bench] = extra
        only = compared.get((model, bench))
        if only is not None:  # the headline over the groups every model ran
            ok, rows = [r for r in ok if r.group in only], [r for r in rows if r.group in only]
        failed = [r for r in rows if r.status not in ANSWERED] if len(ok) < len(rows) else []
        generated = [r for r in ok if r.detail.get("mode") == "generative"]
        common: dict[str, Any] = {
            "model": model,
            "benchmark": bench,
            "repeats": max((r.repeat for r in rows), default=0) + 1,
            "n_failed": len({r.item_id for r in failed}),
            "extraction_failure_rate": _extraction_failure_rate(generated),
            "truncated_rate": _truncated_rate(generated),
            "filtered_rate": _filtered_rate(generated),
            "n_attempted": len({r.item_id for r in rows}),
        }
        custom = joint.get((model, bench))
        if custom is None:
            means = _mean_scores(ok, failed, cls.primary_metric if cls else "", common,
                                 per_item, cls.failed_values if cls else {})
            out.extend(means if only is None else [
                replace(s, extra={**s.extra, COMPARED_GROUPS: sorted(only)}) for s in means])
            continue
        values, analysis = custom
        if analysis:
            analyses[model][bench] = {**analyses[model].get(bench, {}), **analysis}
        worst = _aggregate_failed_as_wrong(cls, ok, failed) if failed else {}
        primary = cls.primary_metric if cls else ""
        if values and primary not in {v.metric for v in values}:
            allowed = cls.headline_fallback if cls else None  # as `_mean_scores` falls back
            primary = next((v.metric for v in values if allowed is None or v.metric in allowed),
                           "")
        marked = {} if only is None else {COMPARED_GROUPS: sorted(only)}
        for v in values:
            score = replace(v, stderr=_nan(v.stderr), ci_low=_nan(v.ci_low),
                            ci_high=_nan(v.ci_high), primary=v.metric == primary,
                            extra={**v.extra, **marked},
                            **{**common, **_coverage(v, rows, failed)})
            out.append(_with_failed_as_wrong(score, worst, bool(failed)))
    return out, dict(analyses)


def _coverage(v: Score, rows: Sequence[SampleRow], failed: Sequence[SampleRow]
              ) -> dict[str, int]:
    """A row over some of the cell's groups only (`extra["groups"]`: BFCL's AST summary
    leaves irrelevance out, its `irrelevance` row is that group alone): its items attempted
    and failed counted in those groups; {} for a row over the whole cell."""
    groups = row_groups(v.extra)
    if groups is None:
        return {}
    return {"n_attempted": len({r.item_id for r in rows if r.group in groups}),
            "n_failed": len({r.item_id for r in failed if r.group in groups})}


def _joint_aggregates(answered: Mapping[Key, list[SampleRow]]) -> dict[Key, Aggregate]:
    """Each benchmark's `aggregate_models` over all models of the run at once (needle puts
    their headlines on the grid they share), from each cell's answered samples; a model is
    absent where its benchmark has no aggregate."""
    by_bench: dict[str, dict[str, list[SampleRow]]] = defaultdict(dict)
    for (model, bench), ok in answered.items():
        if ok:
            by_bench[bench][model] = ok
    out: dict[Key, Aggregate] = {}
    for bench, per_model in by_bench.items():
        cls = find_benchmark_class(bench)
        if cls is None:
            continue
        for model, agg in cls.aggregate_models(per_model).items():
            if agg is not None:
                out[(model, bench)] = agg
    return out


def _compared_groups(groups: Mapping[Key, Sequence[SampleRow]]) -> dict[Key, frozenset[str]]:
    """Each cell whose headline its benchmark puts on some of its groups only (the groups
    every model ran: `Benchmark.compared_groups`), and those groups."""
    by_bench: dict[str, dict[str, Sequence[SampleRow]]] = defaultdict(dict)
    for (model, bench), rows in groups.items():
        by_bench[bench][model] = rows
    out: dict[Key, frozenset[str]] = {}
    for bench, per_model in by_bench.items():
        cls = find_benchmark_class(bench)
        got = cls.compared_groups(per_model) if cls is not None else None
        for model, only in (got or {}).items():
            out[(model, bench)] = only
    return out


FailedAsWrong = dict[str, tuple[float, float, float]]  # metric -> (score, ci_low, ci_high)
NOT_RECOMPUTABLE = ("not computable: this metric needs each item's scoring data (references "
                    "for a corpus metric), which a failed request never produced")


def _with_failed_as_wrong(score: Score, worst: FailedAsWrong, any_failed: bool) -> Score:
    if not any_failed:
        return score
    if score.metric not in worst:
        return replace(score, extra={**score.extra, "failed_as_wrong": NOT_RECOMPUTABLE})
    value, lo, hi = worst[score.metric]
    return replace(score, score_failed_as_wrong=value, ci_low_failed_as_wrong=_none(lo),
                   ci_high_failed_as_wrong=_none(hi))


def _aggregate_failed_as_wrong(cls: Any, ok: list[SampleRow], failed: list[SampleRow]
                               ) -> FailedAsWrong:
    """A benchmark's own aggregate, re-run with every failed sample standing in as an answered
    sample that scored 0 on every per-sample metric (pass@1 = 0 is a failing sample for
    pass@k; a needle item keeps its cell from its id), or the benchmark's worst value where 0
    is not (`failed_values`: BFCL's malformed), with what it kept of its item
    (`Benchmark.failed_detail`: a translation's references, its hypothesis empty)."""
    names = sorted({m for r in ok for m in r.metrics})
    values = {m: float(cls.failed_values.get(m, 0.0)) for m in names}
    stand_ins = [replace(r, status="ok", metrics=dict(values), extraction_failed=True,
                         detail={**_kept_item(r), "failed": True}) for r in failed]
    try:
        custom = cls.aggregate([*ok, *stand_ins])
    except (KeyError, ValueError, ShootoutError):
        # the aggregate needs per-item data a failed sample lacks (a corpus metric's
        # references): no figure, and the row says so; the score itself is unaffected
        return {}
    if custom is None:
        return {}
    return {v.metric: (v.score, _nan(v.ci_low), _nan(v.ci_high)) for v in custom[0]}


def _kept_item(row: SampleRow) -> dict[str, Any]:
    kept = row.detail.get(FAILED_ITEM)
    return kept if isinstance(kept, dict) else {}


def _mean_scores(ok: list[SampleRow], failed: list[SampleRow], primary: str,
                 common: dict[str, Any],
                 kept: dict[tuple[str, str, str], dict[str, list[float]]] | None = None,
                 failed_values: Mapping[str, float] | None = None) -> list[Score]:
    """The mean over items of each per-item metric (repeats averaged within an item); with
    failed samples counted wrong beside it (0, or the metric's `failed_values`)."""
    metric_names = sorted({m for r in ok for m in r.metrics})
    if primary not in metric_names:  # e.g. acc_norm does not exist in generative scoring
        primary = "acc" if "acc" in metric_names else (metric_names[0] if metric_names else "")
    if primary in metric_names:  # primary first
        metric_names.remove(primary)
        metric_names.insert(0, primary)
    out = []
    for metric in metric_names:
        per_item = item_scores(ok, metric)
        if not per_item:
            continue
        if kept is not None:
            kept[(common["model"], common["benchmark"], metric)] = per_item
        sm = summarize(list(per_item.values()))
        score = Score(metric=metric, score=sm.mean, stderr=sm.se, n=sm.n, ci_low=sm.ci_low,
                      ci_high=sm.ci_high, primary=metric == primary,
                      extra={"ci_method": sm.ci_method, "within_item_var": sm.within_item_var,
                             # answered samples per item (adaptive repeats vary it)
                             "repeats_spent": round(sm.n_samples / sm.n, 3)},
                      **common)
        if failed:
            per_item_worst = {item: list(v) for item, v in per_item.items()}
            value = float((failed_values or {}).get(metric, 0.0))
            for r in failed:  # a failed sample counts 0 (or its worst) within its item
                per_item_worst.setdefault(r.item_id, []).append(value)
            worst = summarize(list(per_item_worst.values()))
            score = replace(score, score_failed_as_wrong=worst.mean,
                            ci_low_failed_as_wrong=_none(worst.ci_low),
                            ci_high_failed_as_wrong=_none(worst.ci_high))
        out.append(score)
    return out


def _extraction_failure_rate(generated: list[SampleRow]) -> float | None:
    """Of generated answers (answered samples in generative mode) that were not cut off, the
    share no answer was found in (a truncated answer is counted by `_truncated_rate`, a
    filtered one by `_filtered_rate`)."""
    gen = [r for r in generated if r.status not in ("truncated", "filtered")]
    return (sum(r.extraction_failed for r in gen) / len(gen)) if gen else None


def _filtered_rate(generated: list[SampleRow]) -> float | None:
    """Of generated answers, the share the API filtered or refused (status "filtered"), a
    multi-turn sample's every turn counted as `_truncated_rate` counts them."""
    if not generated:
        return None
    answers = sum(1 + len(r.detail.get(EARLIER) or ()) for r in generated)
    hit = sum((r.status == "filtered") + int(r.detail.get(EARLIER_FILTERED) or 0)
              for r in generated)
    return hit / answers


def _truncated_rate(generated: list[SampleRow]) -> float | None:
    """Of generated answers (answered samples in generative mode), the share cut off by the
    output limit (a multi-turn sample's every turn: its earlier answers and the cut ones
    among them are in its detail)."""
    gen = generated
    if not gen:
        return None
    answers = sum(1 + len(r.detail.get(EARLIER) or ()) for r in gen)
    cut = sum((r.status == "truncated") + int(r.detail.get(EARLIER_CUT) or 0) for r in gen)
    return cut / answers


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


# --------------------------------------------------------------------------- breakdowns


def primary_metric(bench: str) -> str:
    cls = find_benchmark_class(bench)
    return cls.primary_metric if cls else "acc"


def breakdowns(groups: Mapping[Key, Sequence[SampleRow]],
               metric: Mapping[str, str] | None = None) -> list[Score]:
    """Per group (MMLU subject, MATH level...): the mean, SE, interval and n of a metric over
    the group's items, by (model, benchmark, group). The metric is `metric[benchmark]`, by
    default the benchmark's primary metric."""
    out = []
    for (model, bench), rows in sorted(groups.items()):
        m = (metric or {}).get(bench) or primary_metric(bench)
        cls = find_benchmark_class(bench)
        by_group: dict[str, list[SampleRow]] = defaultdict(list)
        for r in rows:
            if r.group:
                by_group[r.group].append(r)
        for group, rs in sorted(by_group.items()):
            if cls is not None:  # as the benchmark's headline takes its items (MT-Bench:
                # over turns; its categories were means of question means here, not there)
                got = cls.group_score(rs, m)
                if got is not None:
                    out.append(replace(got, model=model, benchmark=bench, group=group))
                continue
            per_item = item_scores(rs, m)
            if not per_item:
                continue
            sm = summarize(list(per_item.values()))
            out.append(Score(m, sm.mean, sm.se, sm.n, sm.ci_low, sm.ci_high, model=model,
                             benchmark=bench, group=group))
    return out


# --------------------------------------------------------------------------- latency


def request_latency(run: RunRecord) -> dict[str, Latency]:
    """Per model: request latency (e2e; and that of its generated answers alone), time to
    first token and decode speed, from the stored responses of its samples, a multi-turn
    item's every turn (each response once; cached responses keep their first timing). From
    the responses as columns where the run allows (`analysis.columns`)."""
    from_columns = columns.latency(run)
    if from_columns is not None:
        return from_columns
    keys: dict[str, set[str | None]] = defaultdict(set)
    # a run's samples come model by model (any order would still be right, only slower)
    for model, rows in groupby(run.samples, attrgetter("model")):
        for s in rows:
            keys[model].add(s.response_key)
            if s.detail and EARLIER in s.detail:  # a multi-turn item's earlier turns too
                keys[model].update(s.detail[EARLIER])
    out: dict[str, Latency] = {}
    for model in sorted(keys):
        got = _latency_of(run, sorted(k for k in keys[model] if k))  # a failed sample: none
        if got["e2e_ms"] or got["ttft_ms"] or got["tokens_per_s"]:
            out[model] = got
    return out


def _latency_of(run: RunRecord, keys: Sequence[str]) -> Latency:
    """`request_latency`'s figures of the stored responses `keys` (one model's), in order."""
    e2e_ms: list[float] = []
    ttft_ms: list[float] = []
    tokens_per_s: list[float] = []
    generate_e2e_ms: list[float] = []
    get = run.responses.get
    for k in keys:
        resp = get(k)
        if resp is None:
            continue
        t = resp.timing
        e2e = t.get("e2e")
        if e2e:
            e2e_ms.append(1000 * float(e2e))
        ttft = t.get("ttft")
        if ttft is not None:
            ttft_ms.append(1000 * float(ttft))
        toks = resp.usage.get("completion_tokens") or 0
        if resp.kind == "generate" and toks > 0 and e2e:
            tokens_per_s.append(toks / float(e2e))
        if resp.kind == "generate" and e2e:
            generate_e2e_ms.append(1000 * float(e2e))
    return {"e2e_ms": e2e_ms, "ttft_ms": ttft_ms, "tokens_per_s": tokens_per_s,
            "generate_e2e_ms": generate_e2e_ms}


# --------------------------------------------------------------------------- one run


def summarize_run(store: Store, run_id: str) -> list[Score]:
    """The scores of one stored run (every model x benchmark x metric)."""
    return list(build_results(store, [run_id]).runs[0].scores)
