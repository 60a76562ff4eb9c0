"""Gather one report's data from one or more stored runs.

Models are keyed by a *label*: the model's display name, or `name@run_id` when the same name
appears in more than one of the runs. For each benchmark one metric is compared across all
models: the benchmark's primary metric when every model has it, else the first metric every
model has (e.g. `acc` when one run scored by log-likelihood, which adds `acc_norm`, and another
generatively). Optional data (architecture, efficiency, needle heatmaps) is gathered only when
the modules that provide it are installed, and is None otherwise.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..analysis.compare import Cell
from ..analysis.resampling import ItemStatistic, item_statistic
from ..analysis.results import ResultRow, item_scores, summarize_with_analyses
from ..analysis.stats import summarize
from ..analysis.takeaways import normalize_domain
from ..benchmarks import find_benchmark_class
from ..errors import ConfigError
from ..store.sqlite import SampleRow, Store

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (label, benchmark)


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    created_at: float
    updated_at: float
    manifest: dict[str, Any]
    spec: dict[str, Any]


@dataclass(frozen=True)
class ModelRef:
    label: str
    model: str
    run_id: str


@dataclass(frozen=True)
class BenchInfo:
    name: str
    domain: str
    metric: str  # the compared metric ("" when the models' metrics differ)
    comparable: bool
    note: str = ""
    description: str = ""


@dataclass(frozen=True)
class ReportData:
    runs: tuple[RunInfo, ...]
    models: tuple[ModelRef, ...]
    benchmarks: tuple[BenchInfo, ...]
    cells: dict[Key, Cell]
    items: dict[Key, dict[str, list[float]]]
    samples: dict[Key, list[SampleRow]]
    rows: dict[Key, list[ResultRow]]  # every metric, as `shootout results` shows it
    breakdowns: list[dict[str, Any]]
    analyses: dict[str, dict[str, Any]]
    latency: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    efficiency: list[dict[str, Any]] | None = None
    arch: dict[str, dict[str, Any] | None] | None = None
    efficiency_error: str = ""
    # per-item statistics of cells whose metric is not an item mean (corpus BLEU/chrF, pass@k,
    # a subject average)
    statistics: dict[Key, ItemStatistic] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.models]

    def ref(self, label: str) -> ModelRef:
        return next(m for m in self.models if m.label == label)

    def run(self, run_id: str) -> RunInfo:
        return next(r for r in self.runs if r.run_id == run_id)


def load_report_data(
    store: Store, run_ids: list[str], models: list[str] | None = None
) -> ReportData:
    runs = [_run_info(store, r) for r in dict.fromkeys(run_ids)]
    if not runs:
        raise ConfigError("no run given")
    per_run = {r.run_id: summarize_with_analyses(store, r.run_id) for r in runs}
    samples: dict[tuple[str, str, str], list[SampleRow]] = defaultdict(list)
    for r in runs:
        for s in store.samples(r.run_id):
            samples[(r.run_id, s.model, s.benchmark)].append(s)
    refs = _select(_model_refs(runs, samples), models)
    by_label = {(m.run_id, m.model): m.label for m in refs}
    rows: dict[Key, list[ResultRow]] = defaultdict(list)
    for run_id, (result_rows, _) in per_run.items():
        for row in result_rows:
            if (run_id, row.model) in by_label:
                rows[(by_label[(run_id, row.model)], row.benchmark)].append(row)
    smp = {(by_label[(rid, m)], b): v for (rid, m, b), v in samples.items() if (rid, m) in by_label}
    benches = _bench_order(runs, rows)
    infos, cells, items, stats = _cells(benches, [m.label for m in refs], rows, smp)
    analyses: dict[str, dict[str, Any]] = {}
    for m in refs:
        analyses[m.label] = dict(per_run[m.run_id][1].get(m.model, {}))
    return ReportData(
        runs=tuple(runs), models=tuple(refs), benchmarks=tuple(infos), cells=cells, items=items,
        samples=smp, rows=dict(rows), breakdowns=breakdowns(infos, smp),
        analyses=analyses, statistics=stats,
    )


def _run_info(store: Store, run_id: str) -> RunInfo:
    run = store.get_run(run_id)
    if run is None:
        known = ", ".join(r["run_id"] for r in store.list_runs()[-5:]) or "none"
        raise ConfigError(f"unknown run id {run_id!r} in {store.path} (latest: {known})")
    return RunInfo(run_id, run["status"], float(run["created_at"]), float(run["updated_at"]),
                   run["manifest"] or {}, run["spec"] or {})


def _model_refs(runs: list[RunInfo], samples: dict[tuple[str, str, str], Any]) -> list[ModelRef]:
    pairs: list[tuple[str, str]] = []
    for r in runs:
        names = [m.get("name") or m.get("spec") for m in r.spec.get("models", [])
                 if isinstance(m, dict)]
        names += sorted({m for (rid, m, _) in samples if rid == r.run_id})
        pairs += [(r.run_id, n) for n in dict.fromkeys(names)
                  if any(k[0] == r.run_id and k[1] == n for k in samples)]
    count = defaultdict(int)
    for _, name in pairs:
        count[name] += 1
    return [ModelRef(name if count[name] == 1 else f"{name}@{rid}", name, rid)
            for rid, name in pairs]


def _select(refs: list[ModelRef], wanted: list[str] | None) -> list[ModelRef]:
    if not refs:
        raise ConfigError("the runs have no scored samples")
    if not wanted:
        return refs
    out: list[ModelRef] = []
    for w in wanted:
        hit = [m for m in refs if w in (m.label, m.model)]
        if not hit:
            have = ", ".join(m.label for m in refs)
            raise ConfigError(f"unknown model {w!r}; the runs have: {have}")
        out += [m for m in hit if m not in out]
    return out


def _bench_order(runs: list[RunInfo], rows: dict[Key, list[ResultRow]]) -> list[str]:
    present = {b for (_, b) in rows}
    order: list[str] = []
    for r in runs:
        for b in r.spec.get("benchmarks", []):
            name = b.get("name") if isinstance(b, dict) else b
            if name in present and name not in order:
                order.append(name)
    return order + sorted(present - set(order))


def _cells(
    benches: list[str], labels: list[str], rows: dict[Key, list[ResultRow]],
    samples: dict[Key, list[SampleRow]],
) -> tuple[list[BenchInfo], dict[Key, Cell], dict[Key, dict[str, list[float]]],
           dict[Key, ItemStatistic]]:
    infos, cells, items, stats = [], {}, {}, {}
    for b in benches:
        have = [m for m in labels if rows.get((m, b))]
        metric, note = _choose_metric(b, have, rows)
        cls = find_benchmark_class(b)
        infos.append(BenchInfo(b, normalize_domain(cls.domain) if cls else "other",
                               metric or "", metric is not None, note,
                               cls.description if cls else ""))
        for m in have:
            by_metric = {r.metric: r for r in rows[(m, b)]}
            row = by_metric[metric] if metric else next(r for r in rows[(m, b)] if r.primary)
            ok = [s for s in samples.get((m, b), []) if s.status == "ok"]
            per_item = item_scores(ok, row.metric)
            # a mean of subject means (CMMLU's acc) is not the mean of these item scores: a
            # paired t-test on them would test the item mean, not the reported figure
            item_mean = bool(per_item) and row.extra.get("average") != "subject"
            cells[(m, b)] = _cell(m, row, item_mean)
            if per_item:
                items[(m, b)] = per_item  # the per-item evidence lists disagreements from them
            if item_mean:
                continue
            st = item_statistic(row.metric, row.extra, ok)
            # only a statistic that gives back the reported score is the metric being compared
            if st is not None and st.matches(row.score):
                stats[(m, b)] = st
    return infos, cells, items, stats


def _choose_metric(bench: str, labels: list[str], rows: dict[Key, list[ResultRow]]
                   ) -> tuple[str | None, str]:
    cls = find_benchmark_class(bench)
    primaries = [r.metric for m in labels for r in rows[(m, bench)] if r.primary]
    prefs = list(dict.fromkeys([*([cls.primary_metric] if cls else []), *primaries, "acc"]))
    for metric in prefs:
        if all(any(r.metric == metric for r in rows[(m, bench)]) for m in labels):
            note = ""
            if cls and metric != cls.primary_metric:
                note = (f"{metric} compared: {cls.primary_metric} is not available for every "
                        "model (scoring modes differ)")
            return metric, note
    return None, "models were scored with different metrics: not compared"


def _cell(label: str, row: ResultRow, item_level: bool) -> Cell:
    method = str(row.extra.get("ci_method") or ("benchmark" if row.extra else "normal"))
    return Cell(model=label, benchmark=row.benchmark, metric=row.metric, score=row.score,
                stderr=_f(row.stderr), ci_low=_f(row.ci_low), ci_high=_f(row.ci_high), n=row.n,
                ci_method=method, item_level=item_level)


def _f(x: float | None) -> float:
    return math.nan if x is None else float(x)


def breakdowns(infos: list[BenchInfo], samples: dict[Key, list[SampleRow]]
               ) -> list[dict[str, Any]]:
    """Per group (MMLU subject, MATH level...): score, SE, 95% CI and n of the compared metric
    (like `analysis.results.group_breakdown`, which uses each benchmark's primary metric)."""
    out = []
    for b in infos:
        if not b.comparable:
            continue
        for (label, bench), rows in sorted(samples.items()):
            if bench != b.name:
                continue
            groups: dict[str, list[SampleRow]] = defaultdict(list)
            for r in rows:
                if r.group:
                    groups[r.group].append(r)
            for group, rs in sorted(groups.items()):
                per_item = item_scores(rs, b.metric)
                if not per_item:
                    continue
                sm = summarize(list(per_item.values()))
                out.append({"model": label, "benchmark": bench, "group": group,
                            "metric": b.metric, "score": sm.mean, "stderr": sm.se,
                            "ci_low": sm.ci_low, "ci_high": sm.ci_high, "n": sm.n})
    return out


# --------------------------------------------------------------------------- optional data


def collect_latency(store: Store, data: ReportData) -> dict[str, dict[str, list[float]]]:
    """Per model: request latency (e2e), time to first token and decode speed, from the stored
    responses of its samples (each response once; cached responses keep their first timing)."""
    out: dict[str, dict[str, list[float]]] = {}
    for m in data.models:
        keys = sorted({s.response_key for (lab, _), ss in data.samples.items() if lab == m.label
                       for s in ss if s.response_key})
        acc: dict[str, list[float]] = {"e2e_ms": [], "ttft_ms": [], "tokens_per_s": []}
        for k in keys:
            resp = store.get_response(k)
            if not resp:
                continue
            t = resp.get("timing") or {}
            if t.get("e2e"):
                acc["e2e_ms"].append(1000 * float(t["e2e"]))
            if t.get("ttft") is not None:
                acc["ttft_ms"].append(1000 * float(t["ttft"]))
            toks = (resp.get("usage") or {}).get("completion_tokens") or 0
            if resp.get("kind") == "generate" and toks > 1 and t.get("e2e"):
                acc["tokens_per_s"].append(toks / float(t["e2e"]))
        if any(acc.values()):
            out[m.label] = acc
    return out


def response_text(store: Store, key: str | None, limit: int = 800) -> str:
    """The raw model output behind a sample, trimmed; "" for log-likelihood scoring."""
    resp = store.get_response(key) if key else None
    if not resp:
        return "(response not stored)"
    if resp.get("kind") == "loglikelihood":
        return ""  # scored by log-likelihood of each option: no generated text
    text = str(resp.get("text") or "")
    return text if len(text) <= limit else text[:limit] + " …"
