"""The "Writing and open-ended quality" report section: MT-Bench as graded by the run's judge.

Per category, each model's mean judge grade (1–10) with its interval over questions; the
writing and roleplay categories are the report's creative-writing figures. With two models or
more, Bradley–Terry ratings with bootstrap intervals over questions and the win-rate matrix
(both orders asked, disagreement a tie); then the judge's position bias and, where the judge
is one of the compared models, the self-preference caveat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .sections import SectionContent, absent_note, register_section
from .specs import BarSpec, Series
from .tables import Table, cell, lcell

if TYPE_CHECKING:
    from .build import Report

TITLE = "Writing and open-ended quality"
BENCH = "mt_bench"
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem",
              "humanities")
CREATIVE = ("writing", "roleplay")


def _grade(x: float | None) -> str:
    return f"{10 * x:.1f}" if x is not None and math.isfinite(x) else "–"


def _interval(lo: float | None, hi: float | None) -> str:
    """"[7.8, 9.8]"; nothing where there is no interval (one question: "[–, –]")."""
    known = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    return f"[{_grade(lo)}, {_grade(hi)}]" if known else ""


def judged_section(report: Report) -> SectionContent | None:
    analyses = {label: a[BENCH] for label, a in report.data.analyses.items()
                if BENCH in a and a[BENCH].get("judge")}
    if not analyses:
        return None
    labels = [m for m in report.data.labels if m in analyses]
    cats = [c for c in CATEGORIES if any(c in analyses[m]["categories"] for m in labels)]
    paragraphs = [_caveat(labels, analyses), _creative(labels, analyses),
                  absent_note(report, BENCH, labels)]
    tables, charts = [], []
    if cats:
        tables.append(_category_table(labels, cats, analyses))
        charts.append(BarSpec("mt_bench_categories", "MT-Bench judge grade by category (95% CI)",
                              tuple(cats), tuple(_series(m, cats, analyses[m]["categories"])
                                                 for m in labels),
                              ylabel="grade (1-10)", ymax=10.0))
    pairwise = next((analyses[m].get("pairwise") for m in labels
                     if analyses[m].get("pairwise")), None)
    if pairwise:
        failed = sum(analyses[m].get("pair_failed", 0) for m in labels)
        paragraphs.append(_pairwise_text(pairwise, failed))
        if pairwise.get("ratings"):
            tables += [_ratings_table(pairwise), _win_table(pairwise)]
    return SectionContent(paragraphs=tuple(p for p in paragraphs if p), tables=tuple(tables),
                          charts=tuple(charts))


def _caveat(labels: Sequence[str], analyses: Mapping[str, Any]) -> str:
    judges = sorted({j for m in labels for j in analyses[m]["judge"]})
    text = (f"MT-Bench answers graded by {', '.join(judges)} as judge (FastChat's published "
            "prompts: single-answer grades 1–10 per turn, GPT-4 reference answers for math, "
            "reasoning and coding). A judge's grades measure the judge as much as the answers: "
            "a small judge follows the grading format unreliably and cannot check the "
            "reference-guided categories, so these figures rank models only as far as the "
            "judge can tell them apart.")
    if any("json" in analyses[m].get("judge_format", ()) for m in labels):
        text += (" Unlike FastChat, the judge answered with a JSON object (a short explanation, "
                 "then the verdict tag), its output constrained by a JSON Schema "
                 "(judge_format=json), because a small judge does not keep the free-text "
                 "format; only the verdict field was read.")
    single = sum(analyses[m]["single_judgments"] for m in labels)
    unread = sum(analyses[m]["single_unreadable"] for m in labels)
    failed = sum(analyses[m].get("single_failed", 0) for m in labels)
    if single:
        text += (f" {unread} of {single} grades ({100 * unread / single:.0f}%) could not be "
                 "read from the judgment and count as no grade, never as a score.")
    if failed:
        text += f" {failed} grading requests failed (no judgment came back)."
    selfish = [analyses[m]["self_judged"] + "." for m in labels
               if analyses[m].get("self_judged")]
    return " ".join([text, *selfish])


def _creative(labels: Sequence[str], analyses: Mapping[str, Any]) -> str:
    parts = []
    for m in labels:
        cats = analyses[m]["categories"]
        got = [f"{c} {_grade(cats[c]['grade'])} {_interval(cats[c]['ci_low'], cats[c]['ci_high'])}"
               f" (n={cats[c]['n']})" for c in CREATIVE if c in cats]
        if got:
            parts.append(f"{m}: {'; '.join(got)}")
    return ("Creative writing (the writing and roleplay categories, grade out of 10): "
            + ". ".join(parts) + ".") if parts else ""


def _category_table(labels: Sequence[str], cats: Sequence[str],
                    analyses: Mapping[str, Any]) -> Table:
    rows = []
    for c in cats:
        cells = [lcell(c)]
        for m in labels:
            g = analyses[m]["categories"].get(c)
            cells.append(cell(f"{_grade(g['grade'])} {_interval(g['ci_low'], g['ci_high'])} "
                              f"n={g['n']}" if g else "–"))
        rows.append(tuple(cells))
    return Table("mt-bench-categories", ("Category", *labels), tuple(rows))


def _series(label: str, cats: Sequence[str], by_cat: Mapping[str, Any]) -> Series:
    def pick(c: str, key: str) -> float | None:
        v = by_cat.get(c, {}).get(key)
        return 10 * v if v is not None and math.isfinite(v) else None

    return Series(label, tuple(pick(c, "grade") for c in cats),
                  tuple(pick(c, "ci_low") for c in cats), tuple(pick(c, "ci_high") for c in cats))


def _ratings_table(pw: Mapping[str, Any]) -> Table:
    rows = tuple((lcell(r["model"]), cell(f"{r['rating']:.0f}"),
                  cell(f"[{r['ci_low']:.0f}, {r['ci_high']:.0f}]"))
                 for r in sorted(pw["ratings"], key=lambda r: -r["rating"]))
    return Table("mt-bench-ratings", ("Model", "Bradley–Terry rating", "95% CI"), rows)


def _win_table(pw: Mapping[str, Any]) -> Table:
    rows = tuple((lcell(w["model"]), lcell(w["opponent"]),
                  cell(f"{w['wins']}/{w['ties']}/{w['losses']}"), cell(str(w["undecided"])),
                  cell(f"{100 * w['win_rate']:.1f}" if math.isfinite(w["win_rate"]) else "–"),
                  cell(f"[{100 * w['ci_low']:.1f}, {100 * w['ci_high']:.1f}]"
                       if math.isfinite(w["ci_low"]) else "–"))
                 for w in pw["win_rates"])
    return Table("mt-bench-win-rates", ("Model", "Against", "W/T/L", "Undecided",
                                        "Win rate", "95% CI"), rows, left_cols=2)


def _pairwise_text(pw: Mapping[str, Any], failed: int = 0) -> str:
    """`failed`: pairwise judging requests that failed (no verdict came back); their
    comparisons are among the undecided."""
    why = "for an unreadable verdict" if not failed else (
        f"for an unreadable verdict, or none: {failed} judging request"
        f"{'s' if failed != 1 else ''} failed")
    if not pw.get("ratings"):
        return (f"Pairwise: all {pw['comparisons']} comparisons undecided ({why}, in at least "
                "one of the two orders).")
    text = (f"Pairwise: {pw['comparisons']} comparisons (question × turn × pair, each asked in "
            f"both orders; {pw['undecided']} undecided {why}). Win rate "
            "counts a tie as half; a judge that changes its verdict when the answers swap "
            "places gives a tie. Ratings are a Bradley–Terry fit on Chatbot Arena's scale "
            "(mean 1000; 400 points = 10:1 odds) with bootstrap intervals over questions.")
    bias = pw.get("position_bias")
    if bias:
        text += (f" Position bias: the judge's verdict changed with the order in "
                 f"{_share(bias['inconsistent'])} of {bias['n']} comparisons (picked the "
                 f"first position both times in {_share(bias['favours_first'])}, the "
                 f"second in {_share(bias['favours_second'])}).")
    return text


def _share(x: float) -> str:
    """A fraction as a percentage that does not read 0% where it is not (1 of 477 was "0%"; an
    audit's): whole points from 1%, one decimal below, "<0.1%" below that."""
    pct = 100 * x
    if pct in (0, 100) or not math.isfinite(pct) or 1 <= pct < 99.5:
        return f"{pct:.0f}%"
    if pct > 99.95:  # (476 of 477 read "100%")
        return ">99.9%"
    return f"{pct:.1f}%" if pct >= 0.1 else "<0.1%"


register_section(TITLE)(judged_section)
