"""Benchmark data: a local data directory laid out like ``shared/data``, or the Hugging Face hub."""

from .files import (
    DataDir,
    read_csv_rows,
    read_json,
    read_jsonl,
    read_lines,
    resolve_data_dir,
    sha256_file,
)

__all__ = [
    "DataDir",
    "read_csv_rows",
    "read_json",
    "read_jsonl",
    "read_lines",
    "resolve_data_dir",
    "sha256_file",
]
