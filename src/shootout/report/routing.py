"""The hybrid recommendation in the report: "best single model" vs "best routing" rows for each
use-case profile, and the routing table (a registered section). Numbers: `analysis.routing`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis.formatting import ci, money, pct, signed
from ..analysis.routing import Policy, Routing
from ..analysis.takeaways import DOMAINS
from .sections import SectionContent, register_section
from .tables import Table, TCell, cell, lcell

if TYPE_CHECKING:
    from .build import Report

TITLE = "Routing policies"


def _routes(p: Policy) -> str:
    if p.kind == "model":
        return f"all to {p.name}"
    # a domain reads as words (long context); a benchmark keeps its name (mmlu_pro)
    return ", ".join(f"{u.replace('_', ' ') if u in DOMAINS else u} → {m}"
                     for u, m in p.routes.items())


def _row(head: str, p: Policy, r: Routing, bold: bool = False) -> tuple[TCell, ...]:
    reference = p.kind == "model" and p.name == r.best_single
    return (
        lcell(head, bold=bold), lcell(p.name, bold=bold),
        lcell(_routes(p)),
        cell(f"{pct(p.quality)} {ci(p.ci_low, p.ci_high)}"),
        cell("–" if reference else f"{signed(p.diff)} {ci(p.diff_low, p.diff_high, sign=True)}"),
        cell(money(p.cost_per_1k)),
        cell(f"{p.score:.3f}"),
    )


HEADERS = ("", "Policy", "Routes", "Quality (%) [95% CI]", "Δ vs best single (pts) [95% CI]",
           "Cost per 1k requests", "Profile score")


def best_rows(r: Routing, index: int, *, recommended: bool = True) -> Table:
    """The use-case section's two rows: the best single model and the best routing policy
    (`recommended` False: the ranking recommends no model, so the first row is the top one on
    the shared items, not a "best")."""
    single, best = r.single, r.best
    head = "Best single model" if recommended else "Top single model (shared items)"
    return Table(f"routing-best-{index}", HEADERS,
                 (_row(head, single, r), _row("Best routing", best, r)), left_cols=3)


COST_BASIS = ("Profile scores in these rows are over the items every model answered and "
              "price each policy on this profile's mix of requests (the ranking above takes "
              "each model's own items and prices it on all of its own requests), so a model's "
              "two scores differ in the last digits, and by more where a model failed or "
              "skipped items.")


def gain_sentence(r: Routing) -> str:
    """Whether routing is worth it on this profile, as a number."""
    best, single = r.best, r.single
    lo, hi = best.diff_low, best.diff_high
    if best.models == (single.name,):
        return (f"Routing adds nothing here: the best routing sends every request to "
                f"{single.name}, the best single model.")
    if best.score < single.score:
        return (f"No routing policy beats {single.name} on the profile score (quality, cost "
                f"and latency as the profile weights them): the best, {best.name}, scores "
                f"{best.score:.3f} against {single.score:.3f}, at {pct(best.quality)}% quality "
                f"({signed(best.diff)} points {ci(best.diff_low, best.diff_high, sign=True)}).")
    # (routes are chosen on these same items, the best model per domain among all: an
    # interval above 0 is a gain in sample, not one a test of its own has held; a review's)
    verdict = ("above the best single model on these items, its interval above 0 (routes "
               "chosen on the same items: an in-sample gain; the head-to-head's Holm tests "
               "say whether each routed difference holds)" if lo > 0 else
               "within resampling noise of the best single model" if hi >= 0 else
               "below the best single model in quality, traded for its cost")
    text = (f"Best routing ({best.name}): {pct(best.quality)}% quality, {signed(best.diff)} "
            f"points {ci(lo, hi, sign=True)} against {single.name}, {verdict}")
    if best.cost_per_1k is not None and single.cost_per_1k is not None:
        text += (f"; {money(best.cost_per_1k)} against {money(single.cost_per_1k)} per 1,000 "
                 "requests")
    return text + "."


def guessing_routes(report: Report, p: Policy) -> str:
    """The routes of `p` to a model not above chance on every benchmark of the route (a
    uniform guess's score within its interval), said after the policy: the demo's best
    routing sent knowledge and factuality to models the weaknesses called at chance, with no
    word of it (a docs audit's); "" where none."""
    from ..analysis.takeaways import normalize_domain
    from .view_extra import at_chance

    if p.kind == "model":
        return ""
    guessed = {m: {b for b, _, _ in rows} for m, rows in at_chance(report).items()}
    said = []
    for unit, model in p.routes.items():
        benches = [b.name for b in report.data.benchmarks
                   if b.name == unit or normalize_domain(b.domain) == unit]
        if benches and all(b in guessed.get(model, ()) for b in benches):
            said.append(f"{unit.replace('_', ' ') if unit in DOMAINS else unit} → {model}")
    if not said:
        return ""
    one = len(said) == 1
    return (f"Its route{'' if one else 's'} {', '.join(said)} {'goes' if one else 'go'} to a "
            "model not above chance there (a uniform guess): its score there says nothing of "
            "ability.")


def routing_table(r: Routing) -> Table:
    rows = [_row("Single model", p, r, bold=p.name == r.best_single) for p in r.singles]
    best = r.best
    rows += [_row("Routing", p, r, bold=p is best) for p in r.policies]
    return Table("routing", HEADERS, tuple(rows), left_cols=3)


def _mix(r: Routing) -> str:
    return ", ".join(f"{b} {100 * s:.1f}%" for b, s in r.shares.items())


@register_section(TITLE)
def routing_section(report: Report) -> SectionContent | None:
    """The routing table of the first profile with one (the shipped `general` by default)."""
    if not report.routing:
        return None
    r = report.routing[0]
    paras = [
        f"Profile {r.profile}: requests mixed as the profile weights its domains (each domain's "
        f"share split evenly over its benchmarks): {_mix(r)}. A policy sends each domain (or "
        "benchmark) to one model: to the model with the best profile score there, or to the "
        f"cheapest model within {r.within:g} points of the best there. Quality is the "
        "expected score on that mix, cost the measured cost per item of the model each request "
        "goes to, per 1,000 requests; bold: the best single model and the best routing by "
        "profile score.",
        gain_sentence(r) + ("" if not (g := guessing_routes(report, r.best)) else f" {g}"),
        f"Intervals: paired bootstrap over items ({r.n_boot:,} resamples, seed {r.seed}), the "
        "items every model answered drawn with replacement per benchmark, the same draw for "
        "every policy; routes are chosen once on all items, so a gain inside its interval of 0 "
        "is no evidence for routing. Other profiles' best rows are in Use-case "
        "recommendations.",
    ]
    if r.left_out:
        paras.append("Not routed: " + "; ".join(f"{b} ({why})" for b, why in
                                                r.left_out.items()) + ".")
    paras += [n[0].upper() + n[1:] + "." for n in r.notes]
    return SectionContent(paragraphs=tuple(paras), tables=(routing_table(r),))
