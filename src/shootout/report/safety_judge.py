"""The safety section's judge part (xstest run with `--judge`): the rates as the judge classed
the answers, its agreement with the rules (Cohen's kappa), and what to keep in mind about the
judge (unreadable answers, a model judging itself, a tiny judge)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..analysis.formatting import pct
from ..benchmarks.xstest_judge import PREFIX, judge_summary
from ..store import SampleRow
from .function_calling import figure
from .tables import Table, TCell, cell, lcell

# a size in the model's name ("SmolLM2-135M", "qwen2.5-0.5b"): under 2B parameters is tiny
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.IGNORECASE)
TINY = 2e9


def summaries(found: Sequence[tuple[str, list[SampleRow]]]
              ) -> list[tuple[str, list[SampleRow], dict[str, Any]]]:
    """The models whose answers a judge classed, with the judge's summary."""
    return [(label, rows, s) for label, rows in found if (s := judge_summary(rows)) is not None]


def _agreement(summary: dict[str, Any]) -> TCell:
    a = summary["agreement"]
    if not a["n"]:
        return cell("–")
    kappa = "–" if a["kappa"] is None else f"{a['kappa']:.2f}"
    return cell(f"{pct(a['same_class'] / a['n'])} (κ {kappa})",
                title=f"same class {a['same_class']} of {a['n']}; refused or not "
                      f"{a['same_refused']} of {a['n']}")


def judge_table(judged: Sequence[tuple[str, list[SampleRow], dict[str, Any]]],
                rates: Sequence[tuple[str, str]], confidence: float) -> Table:
    """The rates as the judge classed the answers, and its agreement with the rules."""
    rows = tuple((lcell(label), *(figure(rs, PREFIX + m, confidence) for m, _ in rates),
                  _agreement(s)) for label, rs, s in judged)
    return Table("safety-judge", ("Model (judge)", *(h for _, h in rates),
                                  "Same class as rules (κ)"), rows)


def _names(summary: dict[str, Any]) -> list[str]:
    model = summary["model"]
    return [model] if isinstance(model, str) else list(model)


def tiny(name: str) -> bool:
    """Whether the model's name declares a size under 2B parameters."""
    for number, unit in _SIZE.findall(name):
        size = float(number) * (1e6 if unit.lower() == "m" else 1e9)
        if size < TINY:
            return True
    return False


def judge_paragraph(judged: Sequence[tuple[str, list[SampleRow], dict[str, Any]]]) -> str:
    """Who judged, with which prompt, what could not be read, and the caveats."""
    judges = sorted({j for _, _, s in judged for j in _names(s)})
    text = (f"Judged by {', '.join(judges)} (the second table): each answer classed with the "
            "reference's GPT-4 prompt (paul-rottger/exaggerated-safety, "
            "classify_completions_gpt.py: the three classes defined, the question and the "
            "answer, \"CLASS:\"; greedy, 16 tokens), read only when exactly one class is named. "
            + ("Unlike the reference, the judge answered with a JSON object naming the class, "
               "its output constrained by a JSON Schema (judge_format=json); only that field was "
               "read. " if any("json" in s.get("format", ()) for _, _, s in judged) else "")
            + "Same class as rules: the share of answers both classed alike (3 classes), with "
            "Cohen's kappa; the rates by the rules stay the headline and the paired tests use "
            "them.")
    counts = []
    for label, _, s in judged:
        part = f"{label}: {s['classed']} of {s['judged']} classed, {s['unreadable']} unreadable"
        if s["failed"]:
            part += f", {s['failed']} failed requests"
        a = s["agreement"]
        if a["n"]:
            part += f"; refused or not as the rules: {a['same_refused']} of {a['n']}"
        counts.append(part)
    text += " " + "; ".join(counts) + " (an unreadable answer or a failed request gives no " \
        "class and counts in no rate)."
    selves = [s["self_judged"] + "." for _, _, s in judged if s.get("self_judged")]
    if selves:
        text += " " + " ".join(selves)
    specs = {sp for _, _, s in judged
             for sp in ([s["spec"]] if isinstance(s["spec"], str) else s["spec"])}
    small = [j for j in judges if tiny(j)] or sorted(sp for sp in specs if tiny(sp))
    if small:
        text += (f" {', '.join(small)} is a tiny model (under 2B parameters): it follows the "
                 "classification format unreliably and its classes say more about the judge "
                 "than about the answers; read the judge's rates as a check of the plumbing, "
                 "not as a second opinion.")
    return text
