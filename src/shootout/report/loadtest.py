"""The "Load tests" report section: the stored `shootout perf` runs given to `shootout report`.

Per load test, one line per level (a concurrency or a request rate): requests sent, completed,
the error rate, request and output-token throughput, then TTFT and inter-token latency (ITL)
percentiles, TPOT and end-to-end latency. The figures are the stored level summaries, as
`shootout results PERF_ID` prints them (definitions in `shootout.perf.metrics`); nothing is
recomputed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..analysis.formatting import finite, num, pct
from ..perf.metrics import interrupted_levels
from .sections import SectionContent, register_section
from .specs import BarSpec, Series
from .tables import Table, cell, date, lcell

if TYPE_CHECKING:
    from .build import Report

TITLE = "Load tests"
DEFINITIONS = (
    "Times in milliseconds. TTFT: request start to the first streamed token. ITL: every gap "
    "between streamed chunks, pooled over the level's requests (vLLM's ITL, GenAI-Perf's "
    "inter-chunk latency). TPOT: (end-to-end − TTFT) / (output tokens − 1) per request. "
    "Throughput: completed requests and their output tokens over the level's duration (from "
    "its start to its last request's end, at least its --duration where that cut it short). "
    "Error rate: failed requests of those sent. Percentiles by linear "
    "interpolation, as vLLM's benchmark_serving computes them."
)
THROUGHPUT_HEADERS = ("Level", "Requests", "Completed", "Error rate", "Requests/s",
                      "Output tokens/s", "Tokens in / out (mean)")
LATENCY_HEADERS = ("Level", "TTFT p50", "TTFT p90", "TTFT p99", "ITL p50", "ITL p90", "ITL p99",
                   "TPOT p50", "E2E p50", "E2E p99")


def ms(stats: dict[str, Any] | None, key: str) -> str:
    """One percentile of a stored latency summary, in ms ("–" where no request had it)."""
    if not stats or not stats.get("n"):
        return "–"
    return num(stats.get(key), "{:,.1f}")


def error_rate(level: dict[str, Any]) -> float | None:
    sent = level.get("requests") or 0
    return level["errors"] / sent if sent else None


def _describe(perf: dict[str, Any]) -> str:
    cfg = perf.get("config") or {}
    prompts = (f"prompts from {cfg['from_benchmark']}" if cfg.get("from_benchmark")
               else f"synthetic prompts of {cfg.get('input_tokens')} tokens")
    text = (f"Load test `{perf['perf_id']}` of {perf['model']} at {perf['base_url']}, "
            f"{date(perf.get('created_at'))}: {prompts}, {cfg.get('output_tokens')} output "
            f"tokens requested, up to {cfg.get('requests')} requests and "
            f"{num(cfg.get('duration'), '{:g}')} s per level")
    if cfg.get("max_concurrency"):
        text += (f"; request rates are Poisson arrivals with at most "
                 f"{cfg['max_concurrency']} requests in flight")
    if cfg.get("interrupted"):
        text += f"; interrupted: {interrupted_levels(perf)}"
    return text + "."


def _throughput_row(name: str, lv: dict[str, Any]) -> tuple[Any, ...]:
    est = "~" if lv.get("tokens_estimated") else ""
    return (lcell(name + lv["label"]), cell(str(lv["requests"])), cell(str(lv["completed"])),
            cell(pct(error_rate(lv), unit="%")),
            cell(num(lv.get("request_throughput"), "{:,.2f}")),
            cell(est + num(lv.get("output_throughput"), "{:,.1f}")),
            cell(f"{est}{num(lv.get('input_tokens_mean'))} / "
                 f"{num(lv.get('output_tokens_mean'), '{:,.1f}')}" if lv.get("completed")
                 else "–"))  # no request completed: no mean (older stores say 0)


def _latency_row(name: str, lv: dict[str, Any]) -> tuple[Any, ...]:
    ttft, itl = lv.get("ttft_ms"), lv.get("itl_ms")
    return (lcell(name + lv["label"]),
            *(cell(ms(ttft, k)) for k in ("median", "p90", "p99")),
            *(cell(ms(itl, k)) for k in ("median", "p90", "p99")),
            cell(("~" if lv.get("tokens_estimated") and (lv.get("tpot_ms") or {}).get("n")
                  else "") + ms(lv.get("tpot_ms"), "median")),
            cell(ms(lv.get("e2e_ms"), "median")), cell(ms(lv.get("e2e_ms"), "p99")))


def _notes(levels: list[dict[str, Any]]) -> list[str]:
    notes = []
    if any(lv.get("tokens_estimated") for lv in levels):
        notes.append("~ token counts estimated (and so the TPOT that divides by them): the "
                     "server streamed no usage.")
    for lv in levels:
        kinds = "; ".join(f"{n} × {msg}" for msg, n in (lv.get("error_kinds") or {}).items())
        if kinds:
            notes.append(f"{lv['label']} errors: {kinds}.")
        if unsent := "; ".join(f"{n} × {msg}"
                               for msg, n in (lv.get("not_sent_kinds") or {}).items()):
            notes.append(f"{lv['label']}: arrivals not counted as requests: {unsent}.")
        if lv.get("empty"):
            notes.append(f"{lv['label']}: {lv['empty']} requests ended without any token.")
    return notes


@register_section(TITLE)
def load_test_section(report: Report) -> SectionContent | None:
    """Two tables over all the report's load tests, a level per line; with several load
    tests each line starts with the test's model and id."""
    if not report.perf:
        return None
    paragraphs: list[str] = [DEFINITIONS]
    through, latency, named = [], [], []
    for perf in report.perf:
        levels = list(perf.get("levels") or [])
        paragraphs.append(_describe(perf))
        paragraphs.extend(_notes(levels))
        name = f"{perf['model']} ({perf['perf_id']}) " if len(report.perf) > 1 else ""
        through += [_throughput_row(name, lv) for lv in levels]
        latency += [_latency_row(name, lv) for lv in levels]
        named += [(name + lv["label"], lv) for lv in levels]
    return SectionContent(paragraphs=tuple(paragraphs), tables=(
        Table("load-throughput", THROUGHPUT_HEADERS, tuple(through)),
        Table("load-latency", LATENCY_HEADERS, tuple(latency))), charts=_charts(named))


def _charts(named: list[tuple[str, dict[str, Any]]]) -> tuple[BarSpec, ...]:
    """Output tokens/s, and TTFT at p50 and p99, by level."""
    cats = tuple(n for n, _ in named)

    def pick(key: str, stat: str | None = None) -> tuple[float | None, ...]:
        vals = [lv.get(key) if stat is None else (lv.get(key) or {}).get(stat)
                for _, lv in named]
        return tuple(v if finite(v) else None for v in vals)

    return (
        BarSpec("load-throughput-chart", "Output tokens per second by level", cats,
                (Series("output tokens/s", pick("output_throughput")),),
                ylabel="output tokens/s", ymax=None),
        BarSpec("load-ttft-chart", "Time to first token by level", cats,
                (Series("TTFT p50", pick("ttft_ms", "median")),
                 Series("TTFT p99", pick("ttft_ms", "p99"))), ylabel="ms", ymax=None),
    )
