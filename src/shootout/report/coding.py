"""The "Coding by language" report section: HumanEval (Python) beside MultiPL-E's languages.

For each model, pass@1 per language (the item mean of greedy pass@1, with its Wilson interval),
Python from `humaneval` and the others from `multipl_e`'s per-language groups; a language the
run skipped for want of a toolchain says so. Then, for each pair of models and each language,
the paired difference on the problems both were scored on (McNemar's exact p and Newcombe's
paired interval for 0/1 problems scored once, else the paired t's, as the head-to-head), and a bar
chart of the first table.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..analysis.formatting import ci, pct, pval
from ..analysis.paired_tests import paired_difference
from ..analysis.results import item_scores
from ..analysis.stats import summarize
from ..scoring.polyglot import LANGUAGES
from .sections import SectionContent, register_section
from .specs import BarSpec, Series
from .tables import Table, cell, lcell

if TYPE_CHECKING:
    from ..store.rows import SampleRow
    from .build import Report

TITLE = "Coding by language"
PYTHON = "py"
ORDER = (PYTHON, "cpp", "go", "java", "js", "rs", "ts")
LABELS = {PYTHON: "Python", **{k: lang.label for k, lang in LANGUAGES.items()}}
METRIC = "pass@1"

ByItem = dict[str, list[float]]


def language_items(report: Report) -> dict[str, dict[str, ByItem]]:
    """label -> language -> item -> pass@1 per repeat (items keyed by HumanEval problem)."""
    out: dict[str, dict[str, ByItem]] = defaultdict(dict)
    for label, bench in report.data.samples:  # a large run's are read when asked for
        if bench == "humaneval":
            out[label][PYTHON] = _by_problem(report.data.samples[(label, bench)])
        elif bench == "multipl_e":
            groups: dict[str, list[SampleRow]] = defaultdict(list)
            for s in report.data.samples[(label, bench)]:
                groups[s.group].append(s)
            for lang, rows in groups.items():
                out[label][lang] = _by_problem(rows)
    return dict(out)


def _by_problem(samples: Sequence[SampleRow]) -> ByItem:
    return {k.split("/")[-1]: v for k, v in item_scores(samples, METRIC).items()}


def skipped_languages(report: Report) -> dict[str, dict[str, str]]:
    """label -> language -> why the run skipped it (from the run manifest)."""
    out: dict[str, dict[str, str]] = {}
    for m in report.data.models:
        entry = report.data.run(m.run_id).manifest.get("benchmarks", {}).get("multipl_e", {})
        binding = entry.get("per_model", {}).get(m.model, {}).get("model_binding", {})
        if binding.get("skipped_languages"):
            out[m.label] = dict(binding["skipped_languages"])
    return out


def _asked(report: Report) -> list[str]:
    """The MultiPL-E languages the runs asked for (`-o multipl_e.languages`, else all)."""
    from ..benchmarks.multipl_e import MultiPLEOptions

    out: list[str] = []
    for r in report.data.runs:
        for b in (r.spec or {}).get("benchmarks") or ():
            if isinstance(b, dict) and b.get("name") == "multipl_e":
                try:
                    langs = MultiPLEOptions.model_validate(b.get("options") or {}).languages
                except ValueError:
                    continue
                out += [k for k in langs if k not in out]
    return [k for k in ORDER if k in out]


def coding_section(report: Report) -> SectionContent | None:
    if not any(bench == "multipl_e" for _, bench in report.data.samples):
        return None  # (a large run's HumanEval samples, read for nothing: 0.5 s at 34k)
    items = language_items(report)
    if not any(set(langs) - {PYTHON} for langs in items.values()):
        return None  # nothing beyond Python: the main table already has HumanEval
    labels = [m for m in report.data.labels if m in items]
    skipped = skipped_languages(report)
    langs = [k for k in ORDER if any(k in items[m] or k in skipped.get(m, {}) for m in labels)]
    summary, chart = _summary(labels, langs, items, skipped, report.confidence)
    text = ("pass@1 by language, in points with the 95% interval and the number of problems: "
            "Python is HumanEval, the others MultiPL-E's translations of it, compiled and run "
            "in the same sandbox. A language without its toolchain is marked skipped, not "
            "scored.")
    if none := [k for k in _asked(report) if k not in langs]:
        # (a language asked for that a --limit drew no item of vanished without a word)
        text += (f" No problem of {', '.join(LABELS.get(k, k) for k in none)} was drawn "
                 "(--limit): "
                 f"{'it is' if len(none) == 1 else 'they are'} not in the table.")
    tables = [summary]
    if len(labels) >= 2:
        text += (" The second table gives the paired difference between models, language by "
                 "language, on the problems both were scored on (A − B in points; McNemar's "
                 "exact p and Newcombe's paired interval where each problem has one 0/1 result "
                 "per model, else the paired t's, as in the head-to-head; not Holm-adjusted; "
                 "bold: p < 0.05).")
        tables.append(_pairs(labels, langs, items, report.confidence))
    return SectionContent(paragraphs=(text,), tables=tuple(tables), charts=(chart,))


def _summary(labels: list[str], langs: list[str], items: dict[str, dict[str, ByItem]],
             skipped: dict[str, dict[str, str]], confidence: float) -> tuple[Table, BarSpec]:
    rows = []
    series = []
    for m in labels:
        cells = [lcell(m)]
        bars: list[tuple[float | None, float | None, float | None]] = []
        for k in langs:
            by_item = items[m].get(k)
            why = skipped.get(m, {}).get(k)
            if not by_item:
                cells.append(cell("skipped" if why else "–", title=why or ""))
                bars.append((None, None, None))
                continue
            sm = summarize(list(by_item.values()), confidence=confidence)
            cells.append(cell(f"{pct(sm.mean)} {ci(sm.ci_low, sm.ci_high)} n={sm.n}"))
            bars.append((_pc(sm.mean), _pc(sm.ci_low), _pc(sm.ci_high)))
        rows.append(tuple(cells))
        vals, lo, hi = zip(*bars, strict=True) if bars else ((), (), ())
        series.append(Series(m, tuple(vals), tuple(lo), tuple(hi)))
    headers = ("Model", *(LABELS[k] for k in langs))
    table = Table("coding-by-language", headers, tuple(rows))
    chart = BarSpec("coding_by_language", "pass@1 by language (95% CI)",
                    tuple(LABELS[k] for k in langs), tuple(series), ylabel="pass@1 (%)")
    return table, chart


def _pairs(labels: list[str], langs: list[str], items: dict[str, dict[str, ByItem]],
           confidence: float) -> Table:
    rows = []
    for a, b in itertools.combinations(labels, 2):
        for k in langs:
            ia, ib = items[a].get(k), items[b].get(k)
            if not ia or not ib:
                continue
            r = paired_difference(ia, ib, confidence=confidence)
            # McNemar's exact p for 0/1 problems scored once (greedy pass@1), as the
            # head-to-head tests them; the paired t's otherwise
            p = r.p_mcnemar if r.p_mcnemar is not None else r.p_value
            rows.append((lcell(f"{a} − {b}"), lcell(LABELS[k]),
                         cell(pct(r.mean_diff, sign=True), bold=p < 1.0 - confidence),
                         cell(ci(r.ci_low, r.ci_high, sign=True)), cell(pval(p)),
                         cell(str(r.n))))
    return Table("coding-by-language-pairs",
                 ("Models (A − B)", "Language", "Δ pass@1", "95% CI", "p", "n"),
                 tuple(rows), left_cols=2)


def _pc(x: float) -> float | None:
    return 100 * x if math.isfinite(x) else None


register_section(TITLE)(coding_section)
