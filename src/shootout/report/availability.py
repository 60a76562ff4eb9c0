"""The "Availability" report section: what `shootout monitor` found about the report's models.

A monitor is in the report when one of its models is one of the report's (the same spec and,
where both say, the same endpoint), or when its id is given to `shootout report`. The figures
are `monitor.summary`'s, as `shootout monitor --summary` prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..analysis.formatting import num, pct
from ..errors import ConfigError
from ..monitor import render
from ..monitor.probe import public_url
from ..monitor.summary import summarize
from ..store import MonitorSession, Store
from . import coding, loadtest  # noqa: F401  (registered first: earlier sections keep their ids)
from .sections import SectionContent, register_section
from .tables import Table, cell, lcell

if TYPE_CHECKING:
    from .build import Report
    from .model import ModelRef

TITLE = "Availability"
DEFINITIONS = (
    "Each probe is one small fixed request (greedy, a few output tokens) sent once on a "
    "wall-clock schedule, without retries. Availability: successful probes of those sent, with "
    "the Wilson score interval (which treats probes as independent; failures in an outage are "
    "not, so read it beside the outages). An outage is a run of consecutive failed probes, "
    "from the first failed probe to the next successful one: each end is known to within one "
    "probe interval. TTFT in milliseconds over successful probes, by UTC hour of day."
)
SUMMARY_HEADERS = ("Model", "Probes", "Availability", "CI", "Failures", "Outages",
                   "Longest outage", "TTFT p50", "TTFT p99")


def load_monitors(store: Store, report: Report, ids: Sequence[str] = ()
                  ) -> tuple[dict[str, Any], ...]:
    """The summaries of the monitors named, then of those that probed a model of the report."""
    return monitors_of(store, report.data.models,
                       {r.run_id: r.manifest for r in report.data.runs}, ids)


def monitors_of(store: Store, models: Sequence[ModelRef],
                manifests: Mapping[str, Mapping[str, Any]], ids: Sequence[str] = ()
                ) -> tuple[dict[str, Any], ...]:
    """`load_monitors` from the report's models and their runs' manifests (by run id)."""
    chosen: dict[str, MonitorSession] = {}
    for mid in ids:
        session = store.get_monitor(mid)
        if session is None:
            raise ConfigError(f"no monitor {mid!r} in {store.path}")
        chosen[mid] = session
    wanted = _report_models(models, manifests)
    for session in store.list_monitors():
        if session.monitor_id not in chosen and _probes_any(session, wanted):
            chosen[session.monitor_id] = session
    probes = store.probes(list(chosen))
    return tuple(summarize(s, probes) for s in chosen.values())


def _report_models(models: Sequence[ModelRef], manifests: Mapping[str, Mapping[str, Any]]
                   ) -> set[tuple[str, str]]:
    """(spec, public endpoint or "") of each model in the report's runs."""
    out = set()
    for m in models:
        info = (manifests.get(m.run_id) or {}).get("models", {}).get(m.model) or {}
        if info.get("spec"):
            out.add((str(info["spec"]), _endpoint(info.get("base_url"))))
    return out


def _endpoint(url: Any) -> str:
    """A base URL as the two sides are compared: public, without a trailing "/" (a monitor
    keeps its `--base-url` as typed, a run without the slash: a monitor started with one was
    left out of the report; an audit's)."""
    return public_url(str(url or "")).rstrip("/")


def _probes_any(session: MonitorSession, wanted: set[tuple[str, str]]) -> bool:
    options = session.config.get("options") or {}
    for spec in session.config.get("models") or []:
        url = _endpoint((options.get(spec) or {}).get("base_url"))
        if any(spec == s and (not url or not u or url == u) for s, u in wanted):
            return True
    return False


def _summary_row(m: dict[str, Any]) -> tuple[Any, ...]:
    lo, hi = m["ci"]
    longest = m["longest_outage"]
    return (lcell(m["model"]), cell(str(m["probes"])),
            cell(pct(m["availability"], 2, unit="%")),
            cell(f"{pct(lo, 2)}–{pct(hi, 2)}" if m["probes"] else "–"),
            cell(", ".join(f"{n} × {c}" for c, n in m["error_classes"].items()) or "–"),
            cell(str(len(m["outages"]))),
            cell(render.span(longest["duration_s"]) if longest else "–"),
            cell(num(m["ttft_ms"]["median"], "{:,.1f}")),
            cell(num(m["ttft_ms"]["p99"], "{:,.1f}")))


@register_section(TITLE)
def availability_section(report: Report) -> SectionContent | None:
    if not report.monitors:
        return None
    paragraphs = [DEFINITIONS]
    summary, outs, hours = [], [], []
    several = len(report.monitors) > 1
    for mon in report.monitors:
        paragraphs.append(render.describe(mon))
        for m in mon["models"]:
            paragraphs.append(render.headline(m))
            if several:  # rows of the same model from two monitors: which is which
                m = {**m, "model": f"{m['model']} ({mon['monitor_id']})"}
            summary.append(_summary_row(m))
            outs += [tuple(lcell(c) if i in (0, 5) else cell(c) for i, c in enumerate(r))
                     for r in render.outage_rows(m)]
            hours += [(lcell(r[0]), *(cell(c) for c in r[1:])) for r in render.hour_rows(m)]
    tables = [Table("availability", SUMMARY_HEADERS, tuple(summary))]
    if outs:
        tables.append(Table("availability-outages", render.OUTAGE_HEADERS, tuple(outs)))
    if hours:
        tables.append(Table("availability-ttft-by-hour", render.HOUR_HEADERS, tuple(hours)))
    return SectionContent(paragraphs=tuple(paragraphs), tables=tuple(tables))
