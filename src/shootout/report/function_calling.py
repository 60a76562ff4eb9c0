"""The report's function-calling section: per model, the mode bfcl ran in (native tools or
prompted), BFCL's AST summary (the headline: the mean of the four AST categories), its
accuracy per BFCL category with intervals, and its malformed-call rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..analysis.formatting import ci, pct
from ..analysis.results import item_scores
from ..analysis.stats import summarize
from ..benchmarks.bfcl import ast_summary
from ..store import SampleRow
from .sections import SectionContent, register_section
from .tables import Table, TCell, cell, lcell

if TYPE_CHECKING:
    from .build import Report

CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")


def figure(rows: Sequence[SampleRow], metric: str, confidence: float) -> TCell:
    """One metric's mean over items, in %, with its interval (a table cell)."""
    per_item = item_scores(rows, metric)
    if not per_item:
        return cell("–")
    sm = summarize(list(per_item.values()), confidence=confidence)
    return cell(f"{pct(sm.mean)} {ci(sm.ci_low, sm.ci_high)}", title=f"n = {sm.n}")


def summary_cell(rows: Sequence[SampleRow], confidence: float) -> TCell:
    """BFCL's AST summary (`bfcl.ast_summary`, the headline), in %, with its interval."""
    sm = ast_summary(rows, confidence)
    if sm is None:
        return cell("–")
    return cell(f"{pct(sm.mean)} {ci(sm.ci_low, sm.ci_high)}", title=f"n = {sm.n}")


@register_section("Function calling")
def function_calling(report: Report) -> SectionContent | None:
    found = [(label, rows) for label in report.data.labels
             if (rows := report.data.samples.get((label, "bfcl")))]
    if not found:
        return None
    table_rows = []
    for label, rows in found:
        # (a failed sample has no mode: it showed as "?")
        modes = sorted({str(r.detail["tool_mode"]) for r in rows if "tool_mode" in r.detail})
        by_cat = [figure([r for r in rows if r.group == c], "acc", report.confidence)
                  for c in CATEGORIES]
        table_rows.append((lcell(label), lcell(", ".join(modes)),
                           summary_cell(rows, report.confidence), *by_cat,
                           figure(rows, "malformed", report.confidence)))
    table = Table("function-calling", ("Model", "Mode", "AST summary", *CATEGORIES,
                                          "Malformed"),
                  tuple(table_rows), left_cols=2)
    asked = [c for c in CATEGORIES[:4] if any(r.group == c for _, rows in found for r in rows)]
    of = ("the simple, multiple, parallel and parallel_multiple accuracies" if len(asked) == 4
          else f"the accuracies of the categories with items here ({', '.join(asked)}; "
               "BFCL's averages all four: a --limit left the others out)")
    note = ("bfcl accuracy (%) by BFCL's AST checker, per category, with "
            f"{report.confidence:.0%} intervals; AST summary: the mean of {of} "
            "(BFCL's summary and shootout's headline; "
            "irrelevance is reported apart, as BFCL does); mode: native = the API's tools and "
            "tool_calls, prompted = the function docs in the prompt and calls read from the text. "
            "Malformed: answers whose calls do not parse, name a function that was not "
            "offered, or give a value of the wrong type.")
    return SectionContent(paragraphs=(note,), tables=(table,))
