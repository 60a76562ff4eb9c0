"""The efficiency section's table of replicas: for each model served by several endpoints,
what each endpoint served, its output throughput and its errors (from the run manifest)."""

from __future__ import annotations

from ..analysis.formatting import num
from .build import Report
from .tables import Table, cell, lcell

HEADER = ("Model", "Endpoint", "Requests served", "Output tokens/s (busy time)", "Errors",
          "Taken out")


def endpoints_table(report: Report) -> Table | None:
    """One row per replica of each model that had several; None where none had."""
    rows = []
    for m in report.data.models:
        info = report.data.run(m.run_id).manifest.get("models", {}).get(m.model) or {}
        for r in info.get("replicas") or ():
            rows.append((lcell(m.label), lcell(str(r.get("url", "?"))),
                         cell(num(r.get("served"))),
                         cell(num(r.get("output_tokens_per_s"), "{:,.1f}")),
                         cell(num(r.get("errors"))), cell(num(r.get("taken_out")))))
    return Table("endpoints", HEADER, tuple(rows), left_cols=2) if rows else None
