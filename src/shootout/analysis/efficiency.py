"""Efficiency per model x benchmark, from the store: tokens, cost, latency, cost per point.

Every sample of the run whose response is stored counts once per distinct response (a response
shared by two samples is billed once). Cost is what the stored requests cost at the resolved
price (shootout.perf.prices), whether this run sent them or found them in the cache: it is the
price of reproducing the results. Latency statistics use streamed generation requests only
(log-likelihood requests have no token stream); token counts and cost use every request.

Rows: one per model x benchmark (`scope: "benchmark"`), then one per model (`scope: "model"`)
whose cost per point is total cost / mean primary score in points over the benchmarks that
have a primary score; `covers` names those benchmarks and their token counts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..perf.cost import Tokens, busy_hours, cost, cost_per_1k_items, cost_per_point
from ..perf.metrics import RequestMetrics, request_metrics, stats, summarize
from ..perf.prices import Price, PriceTable, resolve_price
from ..providers.base import response_from_dict
from ..store.sqlite import Store
from .results import summarize_run

Tokenizer = Callable[[str], int]

_QUERY = (
    "SELECT s.model, s.benchmark, s.item_id, s.response_key, r.kind, r.response_json, "
    "r.request_json, r.created_at FROM samples s JOIN responses r ON r.key = s.response_key "
    "WHERE s.run_id = ? ORDER BY s.model, s.benchmark, s.item_id, s.repeat"
)


@dataclass
class _Group:
    items: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    tokens: Tokens = field(default_factory=Tokens)
    estimated: int = 0
    timed: list[RequestMetrics] = field(default_factory=list)
    intervals: list[tuple[float, float]] = field(default_factory=list)
    timed_intervals: list[tuple[float, float]] = field(default_factory=list)

    def add(self, other: _Group) -> None:
        self.items |= other.items
        self.keys |= other.keys
        self.tokens = self.tokens + other.tokens
        self.estimated += other.estimated
        self.timed += other.timed
        self.intervals += other.intervals
        self.timed_intervals += other.timed_intervals


def efficiency_report(
    store: Store,
    run_id: str,
    price_overrides: Mapping[str, Any] | None = None,
    *,
    table: PriceTable | None = None,
    tokenizers: Mapping[str, Tokenizer] | None = None,
) -> list[dict[str, Any]]:
    """Per model x benchmark rows, then per-model totals (see the module docstring).

    `price_overrides` maps a model's display name, spec or API id to a PriceConfig (or a
    mapping with its fields); `tokenizers` maps a display name to a token counter used where the
    server gave no usage (else such counts stay the provider's estimate, flagged estimated).
    """
    groups = _collect(store, run_id, tokenizers or {})
    scores = {
        (r.model, r.benchmark): (r.metric, r.score)
        for r in summarize_run(store, run_id)
        if r.primary
    }
    configs = _model_configs(store, run_id)
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    for model in sorted({m for m, _ in groups}):
        price = _price(model, configs.get(model), price_overrides or {}, table)
        benches = sorted(b for m, b in groups if m == model)
        for bench in benches:
            rows.append(_row(model, bench, groups[(model, bench)], price, scores.get(
                (model, bench))))
        totals.append(_total(model, benches, groups, price, scores))
    return rows + totals


def _collect(
    store: Store, run_id: str, tokenizers: Mapping[str, Tokenizer]
) -> dict[tuple[str, str], _Group]:
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    seen: set[tuple[str, str]] = set()
    for model, bench, item, key, kind, resp_json, req_json, created in store._db.execute(
        _QUERY, (run_id,)
    ):
        g = groups[(model, bench)]
        g.items.add(item)
        if (model, key) in seen:
            continue
        seen.add((model, key))
        g.keys.add(key)
        resp = response_from_dict(json.loads(resp_json))
        usage = resp.usage
        if usage.estimated and model in tokenizers:
            usage = _counted(usage, json.loads(req_json), getattr(resp, "text", ""),
                             tokenizers[model])
        g.tokens = g.tokens + Tokens(usage.prompt_tokens, usage.cached_tokens,
                                     usage.completion_tokens)
        g.estimated += int(usage.estimated)
        interval = (created - resp.timing.e2e, created)
        g.intervals.append(interval)
        if kind == "generate" and resp.timing.ttft is not None:
            g.timed.append(request_metrics(resp.timing, usage))
            g.timed_intervals.append(interval)
    return groups


def _counted(usage: Any, request: dict[str, Any], text: str, count: Tokenizer) -> Any:
    from ..providers.base import Usage

    msgs = request.get("messages") or []
    prompt = request.get("prompt") or "\n".join(str(m.get("content", "")) for m in msgs)
    return Usage(prompt_tokens=count(prompt), completion_tokens=count(text) if text else 0,
                 cached_tokens=usage.cached_tokens, estimated=True)


def _model_configs(store: Store, run_id: str) -> dict[str, Any]:
    from ..config import RunConfig

    run = store.get_run(run_id)
    if run is None:
        return {}
    try:
        cfg = RunConfig.model_validate(run["spec"])
    except ValueError:
        return {}
    return {m.display: m for m in cfg.models}


def _price(
    model: str, mcfg: Any, overrides: Mapping[str, Any], table: PriceTable | None
) -> Price:
    spec = mcfg.spec if mcfg is not None else model
    override = next(
        (overrides[k] for k in (model, spec, spec.partition(":")[2]) if k and k in overrides),
        None,
    )
    return resolve_price(
        model,
        spec=spec,
        base_url=getattr(mcfg, "base_url", None),
        config_price=getattr(mcfg, "price", None),
        override=override,
        table=table,
    )


def _figures(g: _Group, price: Price) -> dict[str, Any]:
    hours = busy_hours(g.intervals)
    c = cost(g.tokens, hours, price)
    lat = summarize(g.timed).to_dict()
    busy_s = busy_hours(g.timed_intervals) * 3600.0
    out_timed = sum(r.output_tokens for r in g.timed)
    return {
        "n_items": len(g.items),
        "n_requests": len(g.keys),
        "tokens": {
            "input": g.tokens.input,
            "cached_input": g.tokens.cached_input,
            "output": g.tokens.output,
            "estimated_requests": g.estimated,
        },
        "busy_hours": hours,
        "cost_usd": c.total_usd,
        "cost_tokens_usd": c.tokens_usd,
        "cost_hourly_usd": c.hourly_usd,
        "cost_per_1k_items": cost_per_1k_items(c.total_usd, len(g.items)),
        "latency": lat,
        "throughput": {
            # output tokens of streamed requests / wall-clock seconds they were running
            "output_tokens_per_s": out_timed / busy_s if busy_s > 0 and g.timed else None,
            "per_request_output_tokens_per_s": stats(
                r.output_tps for r in g.timed if r.output_tps is not None
            ).to_dict(),
        },
    }


def _row(
    model: str, bench: str, g: _Group, price: Price, score: tuple[str, float] | None
) -> dict[str, Any]:
    figs = _figures(g, price)
    metric, value = score if score is not None else (None, None)
    return {
        "scope": "benchmark",
        "model": model,
        "benchmark": bench,
        "metric": metric,
        "score": value,
        "score_points": None if value is None else value * 100.0,
        "cost_per_point": cost_per_point(figs["cost_usd"], value),
        "price": price.to_dict(),
        **figs,
    }


def _total(
    model: str,
    benches: list[str],
    groups: dict[tuple[str, str], _Group],
    price: Price,
    scores: dict[tuple[str, str], tuple[str, float]],
) -> dict[str, Any]:
    everything, scored = _Group(), _Group()
    covered = [b for b in benches if (model, b) in scores]
    for b in benches:
        everything.add(groups[(model, b)])
        if b in covered:
            scored.add(groups[(model, b)])
    figs = _figures(everything, price)
    mean = sum(scores[(model, b)][1] for b in covered) / len(covered) if covered else None
    scored_cost = cost(scored.tokens, busy_hours(scored.intervals), price).total_usd
    return {
        "scope": "model",
        "model": model,
        "benchmark": None,
        "benchmarks": benches,
        "metric": "mean primary score",
        "score": mean,
        "score_points": None if mean is None else mean * 100.0,
        "cost_per_point": cost_per_point(scored_cost, mean),
        "covers": {
            "benchmarks": covered,
            "input_tokens": scored.tokens.input,
            "cached_input_tokens": scored.tokens.cached_input,
            "output_tokens": scored.tokens.output,
            "cost_usd": scored_cost,
        },
        "price": price.to_dict(),
        **figs,
    }


def efficiency_table(rows: list[dict[str, Any]]) -> Any:
    """A rich Table of the report: the seed's efficiency columns, one line per row."""
    from rich.table import Table

    table = Table(title="efficiency (cost in USD; latency medians in ms)")
    cols = ("model", "benchmark", "in/out $ per 1M", "tokens in/out", "cost", "$/1k items",
            "$/point", "TTFT", "TPOT", "ITL", "out tok/s")
    for c in cols:
        table.add_column(c, justify="left" if c in ("model", "benchmark") else "right")
    for r in rows:
        p, lat = r["price"], r["latency"]
        table.add_row(
            r["model"],
            r["benchmark"] or "[b]all[/b]",
            f"{_num(p['input_per_m'])} / {_num(p['output_per_m'])}",
            f"{r['tokens']['input']:,} / {r['tokens']['output']:,}",
            _usd(r["cost_usd"]),
            _usd(r["cost_per_1k_items"]),
            _usd(r["cost_per_point"]),
            _num(lat["ttft_ms"]["median"], 1),
            _num(lat["tpot_ms"]["median"], 1),
            _num(lat["itl_ms"]["median"], 1),
            _num(r["throughput"]["per_request_output_tokens_per_s"]["median"], 1),
        )
    return table


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _usd(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.4f}" if x < 10 else f"{x:,.2f}"
