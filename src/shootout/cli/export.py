"""`shootout export RUN_ID`: one row per sample, as JSON Lines, CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import ConfigError
from ..export import FORMATS, export_rows, in_place, write_export
from ..store.files import refuse_overwriting_a_database
from .runs import open_store


def export_command(
    run_id: str = typer.Argument(..., help="Run id (`shootout runs` lists them)."),
    fmt: str = typer.Option(
        None, "--format", "-f", help=f"{', '.join(FORMATS)} (default: from --out's suffix, "
        ".jsonl or .ndjson, .csv or .parquet; else jsonl)."),
    out: str = typer.Option(..., "--out", "-o", help="Output file ('-': stdout)."),
    no_gold: bool = typer.Option(
        False, "--no-gold", help="Leave the gold column empty (no benchmark data is read)."),
    data_dir: str = typer.Option(None, "--data-dir", help="Benchmark data ($SHOOTOUT_DATA)."),
    store: Path = typer.Option(None, "--store", help="Results database."),
) -> None:
    """Export a run's samples, one row each, for pandas, DuckDB or a spreadsheet.

    Each row: model, benchmark, item, repeat, prompt, raw output, extracted answer, gold,
    metrics, reason, status, tokens and timing. Streamed: constant memory. See docs/export.md.
    """
    fmt = _format(fmt, out)
    db = open_store(store)
    if out != "-":
        refuse_overwriting_a_database(Path(out), db.path, "--out")
    n = write_export(export_rows(db, run_id, gold=not no_gold, data_dir=data_dir), fmt, out)
    if out != "-":  # (to stderr where the rows went to a stream: not into the data)
        print(f"wrote {n:,} samples to {out}",
              file=sys.stderr if in_place(Path(out)) else sys.stdout)


# a file's suffix and the format it names (`--out samples.parquet` wrote JSON Lines)
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _format(fmt: str | None, out: str) -> str:
    """--format, or the one --out's suffix names; one line where the two disagree."""
    named = _SUFFIXES.get(Path(out).suffix.lower()) if out != "-" else None
    if fmt is None:
        return named or "jsonl"
    if named is not None and fmt in FORMATS and named != fmt:
        raise ConfigError(f"--format {fmt} but --out {out} names {named}: give one that "
                          "agrees, or leave --format out")
    return fmt
