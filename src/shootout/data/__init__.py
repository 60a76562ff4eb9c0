"""Benchmark data: a data directory laid out like ``shared/data`` (--data-dir, $SHOOTOUT_DATA,
or the cache that `shootout data pull` fills), with the shipped sha256 of every file."""

from .cache import cache_dir
from .files import (
    DataDir,
    read_csv_rows,
    read_json,
    read_jsonl,
    read_lines,
    resolve_data_dir,
    sha256_file,
)
from .sources import Catalog, FileSource, Source, catalog

__all__ = [
    "Catalog",
    "DataDir",
    "FileSource",
    "Source",
    "cache_dir",
    "catalog",
    "read_csv_rows",
    "read_json",
    "read_jsonl",
    "read_lines",
    "resolve_data_dir",
    "sha256_file",
]
