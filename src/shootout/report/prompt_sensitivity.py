"""The report's prompt sensitivity section: for each benchmark run under several prompt templates
(`--prompt-variants N`), each model's score per template with its interval, its spread across
templates, each template's ranking of the models with Kendall's tau against the reference's,
and the paired tests per template (`analysis.prompt_sensitivity`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..analysis.formatting import ci, num, pct, pval
from ..analysis.prompt_sensitivity import Key, Sensitivity, prompt_sensitivity, reversals
from ..analysis.results import item_scores
from ..benchmarks.prompt_variants import TEMPLATES, split_variant, variant_name
from ..scores import Score
from .sections import SectionContent, register_section
from .tables import Table, TCell, cell, lcell

if TYPE_CHECKING:
    from .build import Report


def _variants(report: Report, base: str) -> list[int]:
    """The templates `base` ran under in these runs, the reference first."""
    found = {split_variant(b)[1] for (_, b) in report.data.rows if split_variant(b)[0] == base}
    return sorted(found | {0}) if found - {0} else []


def _inputs(report: Report, names: list[str], metric: str
            ) -> tuple[dict[Key, Score], dict[Key, dict[str, list[float]]]]:
    """Each model's `metric` under each template, as a comparable cell, and its item scores."""
    cells: dict[Key, Score] = {}
    items: dict[Key, dict[str, list[float]]] = {}
    for label in report.data.labels:
        for n in names:
            row = next((s for s in report.data.rows.get((label, n), []) if s.metric == metric),
                       None)
            if row is None:
                continue
            ok = [s for s in report.data.samples.get((label, n), []) if s.answered]
            per_item = item_scores(ok, metric)
            cells[(label, n)] = replace(row, model=label, item_level=bool(per_item))
            if per_item:
                items[(label, n)] = per_item
    return cells, items


def _header(name: str) -> str:
    t = TEMPLATES[split_variant(name)[1]]
    return f"v{t.index} {t.name}"


def _score_cell(s: Score | None, uneven: bool = False) -> TCell:
    """A template's score; with its n where the cells are not all on as many items, and † where
    some of its requests failed (its score is on the items answered)."""
    if s is None:
        return cell("–")
    n = f" n={s.n}{'†' if s.n_failed else ''}" if uneven else ""
    return cell(f"{pct(s.score)} {ci(s.ci_low, s.ci_high)}{n}", title=f"n = {s.n}")


def _uneven(sens: Sensitivity) -> bool:
    """Whether the cells are on different numbers of items (failed requests)."""
    return len({s.n for m in sens.models for s in m.scores if s is not None}) > 1


def _tables(sens: Sensitivity) -> tuple[Table, Table, Table]:
    b = sens.benchmark
    scores = Table(
        f"prompt-sensitivity-{b}",
        ("Model", *(_header(n) for n in sens.names), "Spread (max − min)", "SD"),
        tuple((lcell(m.model), *(_score_cell(s, _uneven(sens)) for s in m.scores),
               cell(pct(m.spread)),
               cell(pct(m.sd))) for m in sens.models))
    ranking = Table(
        f"prompt-sensitivity-{b}-ranking", ("Template", "Ranking (best first)", "Kendall τ"),
        tuple((lcell(_header(r.name)), lcell(r.shown() or "–"),
               cell(num(r.tau, "{:+.2f}"))) for r in sens.rankings), left_cols=2)
    tests = Table(
        f"prompt-sensitivity-{b}-tests",
        ("Template", "Comparison", "Difference", "Interval", "p", "Holm p"),
        tuple((lcell(_header(t.benchmark)), lcell(f"{t.a} − {t.b}"),
               cell(pct(t.diff, sign=True), bold=t.significant), cell(ci(t.ci_low, t.ci_high,
                                                                          sign=True)),
               cell(pval(t.p_value), title=t.method), cell(pval(t.p_holm)))
              for t in sorted(sens.tests, key=lambda t: sens.names.index(t.benchmark))),
        left_cols=2)
    return scores, ranking, tests


def _verdict(sens: Sensitivity) -> str:
    k = len(sens.names)
    if sens.winner is None:
        return "No model was scored under every template: no ranking to compare."
    if len(sens.rankings[0].order) < 2:
        return f"One model only: {sens.winner}; its spread is the finding."
    first = round(sens.winner_share * k)
    tied = " (or tied first)" if any(len(r.tiers[0]) > 1 for r in sens.rankings
                                     if r.tiers) else ""
    share = f"{sens.winner} is first{tied} under {first} of {k} templates"
    if sens.stable:
        return (f"Ranking stable: {sens.rankings[0].shown()} under all {k} "
                f"templates ({share}).")
    best = (f"{' and '.join(sens.winners)} share the best mean over templates; {share}"
            if len(sens.winners) > 1 else f"{share} (the best mean over templates)")
    ref = sens.rankings[0].tiers or sens.rankings[0].order
    moved = [_header(r.name) for r in sens.rankings if (r.tiers or r.order) != ref]
    flips = [f"{t.winner} ahead under {_header(t.benchmark)}" for t in reversals(sens)]
    noise = (f"significant reversals after Holm: {'; '.join(flips)}" if flips else
             "no reversal is significant after Holm, so the flips are within noise")
    return (f"Ranking not stable: the order differs from the reference under "
            f"{', '.join(moved)}; {best}; {noise}.")


def _largest(sens: Sensitivity) -> str:
    ranked = sorted((m for m in sens.models if m.spread == m.spread), key=lambda m: -m.spread)
    if not ranked:
        return ""
    m = ranked[0]
    return f" Largest spread: {m.model}, {pct(m.spread)} points across templates."


@register_section("Prompt sensitivity")
def prompt_sensitivity_section(report: Report) -> SectionContent | None:
    paragraphs: list[str] = []
    tables: list[Table] = []
    for info in report.data.benchmarks:
        variants = _variants(report, info.name)
        if not variants or not info.comparable:
            continue
        names = [variant_name(info.name, k) for k in variants]
        cells, items = _inputs(report, names, info.metric)
        sens = prompt_sensitivity(info.name, names, report.data.labels, cells, items,
                                  confidence=report.confidence)
        used = "; ".join(f"v{k} {TEMPLATES[k].name}: {TEMPLATES[k].description}"
                         for k in variants)
        asked = (f"the same items asked under {len(variants)} prompt templates; failed "
                 "requests leave some scores on fewer items (n in each cell, † where some "
                 "failed), so a ranking of those scores compares other items: the paired "
                 "tests below are on the items both models answered" if _uneven(sens) else
                 f"the same items under {len(variants)} prompt templates")
        paragraphs.append(
            f"{info.name}, {info.metric} (%), {asked}, with {report.confidence:.0%} "
            f"intervals. {_verdict(sens)}{_largest(sens)} Templates: {used}.")
        tables += _tables(sens)
    if not tables:
        return None
    paragraphs.append(
        "Spread: the model's highest score across templates minus its lowest, in points; SD: "
        "their standard deviation. Kendall τ: tau-b between a template's scores and the "
        "reference template's, over the models (+1: the same order). Differences: on the "
        "items both models answered under that template, McNemar's exact test where each "
        "item has one 0/1 score per model (with Newcombe's paired interval, which can "
        "disagree with the exact p at the edge when few items differ), else the paired "
        "t-test, Holm-adjusted over the templates for each pair of models; bold where "
        "significant after Holm.")
    return SectionContent(paragraphs=tuple(paragraphs), tables=tuple(tables))
