"""The report's integration section for JSON output: per model and mode (prompt-only, JSON mode,
structured outputs), whether the endpoint took the mode, and how often the answer parsed as
JSON, fit its schema and was right (the `structured` benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..analysis.formatting import pct
from ..benchmarks.structured import FORMAT_MODES
from ..store import SampleRow
from .function_calling import figure
from .sections import SectionContent, register_section
from .tables import Table, TCell, cell, lcell

if TYPE_CHECKING:
    from .build import Report

BENCH = "structured"
MODE_NAMES = {"prompt": "prompt only", "json_object": "JSON mode",
              "json_schema": "structured outputs"}


def _rate(rows: Sequence[SampleRow], metric: str) -> TCell:
    values = [float(r.metrics[metric]) for r in rows if r.answered and metric in r.metrics]
    return cell(pct(sum(values) / len(values)), title=f"n = {len(values)}") if values else cell(
        "–")


def _accuracy_in_valid(rows: Sequence[SampleRow]) -> TCell:
    valid = [r for r in rows if r.answered and r.metrics.get("schema_valid") == 1.0]
    if not valid:
        return cell("–")
    right = sum(float(r.metrics.get("acc", 0.0)) for r in valid)
    return cell(pct(right / len(valid)), title=f"{int(right)} of {len(valid)} valid answers")


def endpoint_modes(report: Report, label: str) -> Mapping[str, str]:
    """What the run recorded of each mode for this model: "accepted" or "unsupported: why"."""
    ref = report.data.ref(label)
    run = next((r for r in report.data.runs if r.run_id == ref.run_id), None)
    entry: Any = (run.manifest if run else {}).get("benchmarks", {}).get(BENCH, {})
    binding = entry.get("per_model", {}).get(ref.model, {}).get("model_binding", {})
    modes = binding.get("modes", {})
    return {str(k): str(v) for k, v in modes.items()} if isinstance(modes, dict) else {}


def _row(label: str, mode: str, status: str, rows: Sequence[SampleRow],
         confidence: float) -> tuple[TCell, ...]:
    said = "unsupported" if status.startswith("unsupported") else (status or "–")
    if not rows:
        return (lcell(label), lcell(MODE_NAMES[mode]), lcell(said),
                *(cell("–") for _ in range(5)))
    return (lcell(label), lcell(MODE_NAMES[mode]), lcell(said), _rate(rows, "parsed"),
            _rate(rows, "parsed_strict"), figure(rows, "schema_valid", confidence),
            figure(rows, "acc", confidence), _accuracy_in_valid(rows))


@register_section("Integration: JSON mode and structured outputs")
def integration(report: Report) -> SectionContent | None:
    found = [(label, report.data.samples.get((label, BENCH), []), endpoint_modes(report, label))
             for label in report.data.labels]
    found = [f for f in found if f[1] or f[2]]
    if not found:
        return None
    table_rows, refusals = [], []
    for label, rows, modes in found:
        for mode in FORMAT_MODES:
            mine = [r for r in rows if r.detail.get("format_mode") == mode]
            if not mine and mode not in modes:
                continue  # not asked for in this run
            table_rows.append(_row(label, mode, modes.get(mode, ""), mine, report.confidence))
            if modes.get(mode, "").startswith("unsupported"):
                refusals.append(f"{label}, {MODE_NAMES[mode]}: "
                                f"{modes[mode].removeprefix('unsupported: ')}.")
    table = Table("integration-structured",
                  ("Model", "Mode", "Endpoint", "Parsed", "Whole answer JSON", "Schema-valid",
                   "Accuracy", "Accuracy in valid JSON"), tuple(table_rows), left_cols=3)
    note = (f"The structured benchmark (%), each task asked once per mode with the same prompt: "
            "prompt only (the schema in the instructions), JSON mode (response_format "
            "json_object), structured outputs (response_format json_schema, strict). Parsed: a "
            "JSON value could be read (the whole answer, a code fence or prose); whole answer "
            "JSON: nothing around it; schema-valid: it satisfies the task's JSON Schema "
            f"(jsonschema), with {report.confidence:.0%} intervals; accuracy: valid and right, "
            "over all items; accuracy in valid JSON: over the schema-valid answers only. "
            "Endpoint: whether it took the mode; a mode it refused is unsupported, not scored.")
    paragraphs = [note]
    if refusals:
        paragraphs.append("Unsupported: " + " ".join(refusals))
    compared = next((c.extra.get("compared_groups") for (_, b), c in report.data.cells.items()
                     if b == BENCH and c.extra.get("compared_groups")), None)
    if compared:
        paragraphs.append(
            "The models did not all run the same modes, so the structured benchmark's headline "
            "score (the results table, rankings and tests) is over the modes every one of them "
            f"ran ({', '.join(MODE_NAMES.get(m, m) for m in compared)}); this table keeps "
            "every mode.")
    return SectionContent(paragraphs=tuple(paragraphs), tables=(table,))
