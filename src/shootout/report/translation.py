"""The report's translation section: every corpus metric of each translation benchmark, per
model (the main table shows the headline, chrF++, only), with sacrebleu's signatures, so a
BLEU can be put beside a published one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis.formatting import ci, pct
from ..benchmarks import find_benchmark_class
from ..benchmarks.translation import TranslationBenchmark
from .sections import SectionContent, absent_note, register_section
from .tables import Table, cell, lcell

if TYPE_CHECKING:
    from .build import Report

TITLE = "Translation"
ORDER = ("chrf", "bleu", "chrf_multiref", "bleu_multiref")
LABELS = {"chrf": "chrF++", "bleu": "BLEU", "chrf_multiref": "chrF++ (all refs)",
          "bleu_multiref": "BLEU (all refs)"}


def _is_translation(bench: str) -> bool:
    cls = find_benchmark_class(bench)
    return cls is not None and issubclass(cls, TranslationBenchmark)


@register_section(TITLE)
def translation_section(report: Report) -> SectionContent | None:
    benches = [b.name for b in report.data.benchmarks if _is_translation(b.name)]
    tables: list[Table] = []
    # per benchmark: a direction into Chinese is BLEU'd with the zh tokenizer (one signature
    # for every benchmark showed the first's `tok:13a` over an en->zh table; an audit's)
    signatures: dict[str, dict[str, str]] = {}
    for bench in benches:
        labels = [m for m in report.data.labels if report.data.rows.get((m, bench))]
        metrics = [k for k in ORDER if any(s.metric == k for m in labels
                                           for s in report.data.rows[(m, bench)])]
        if not labels or not metrics:
            continue
        rows = []
        for m in labels:
            got = {s.metric: s for s in report.data.rows[(m, bench)]}
            cells = [lcell(m)]
            for k in metrics:
                s = got.get(k)
                cells.append(cell("–") if s is None else cell(
                    f"{pct(s.score)} {ci(s.ci_low, s.ci_high)}", title=f"n = {s.n}"))
            rows.append((*cells, cell(str(max((s.n for s in got.values()), default=0)))))
            for k, sig in ((report.data.analyses.get(m, {}).get(bench) or {})
                           .get("signatures") or {}).items():
                signatures.setdefault(bench, {}).setdefault(k, sig)
        tables.append(Table(f"translation-{bench}",
                            (f"{bench}: model", *(LABELS[k] for k in metrics), "n"),
                            tuple(rows)))
    if not tables:
        return None
    text = ("Corpus scores (sacrebleu) in points with their 95% intervals (the mean over "
            "repeats of sacrebleu's paired-bootstrap half-width): chrF++ is the headline; "
            "BLEU beside it; 'all refs' where the test set has more than one reference.")
    paragraphs = [text]

    def said(sigs: dict[str, str]) -> str:
        return "; ".join(f"{LABELS.get(k, k)} `{sig}`" for k, sig in sorted(
            sigs.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER)))

    if signatures:
        alike = len({said(v) for v in signatures.values()}) == 1
        paragraphs.append("Signatures: " + (said(next(iter(signatures.values()))) if alike else
                                            "; ".join(f"{b}: {said(v)}"
                                                      for b, v in signatures.items())) + ".")
    paragraphs += [note for b in benches if (note := absent_note(report, b, [
        m for m in report.data.labels if report.data.rows.get((m, b))]))]
    return SectionContent(paragraphs=tuple(paragraphs), tables=tuple(tables))
