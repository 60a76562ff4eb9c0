"""Reading benchmark files with errors that name the file and line, and recording checksums."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError

ENV_VAR = "SHOOTOUT_DATA"

HOW_TO_PROVIDE = (
    f"set {ENV_VAR} or --data-dir to a folder laid out like shared/data "
    "(see docs/data.md), or install 'shootout[hub]' and go online"
)


def resolve_data_dir(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The data directory from --data-dir, else $SHOOTOUT_DATA, else None (use the hub)."""
    raw = explicit if explicit is not None else os.environ.get(ENV_VAR)
    if raw is None or str(raw) == "":
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        source = "--data-dir" if explicit is not None else f"${ENV_VAR}"
        raise DataError(f"data directory {path} (from {source}) does not exist")
    return path


@dataclass
class DataDir:
    """A data directory plus the checksums of every file read from it, for the run manifest."""

    root: Path | None
    checksums: dict[str, str] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        if self.root is None:
            raise DataError(f"no data directory: {HOW_TO_PROVIDE}")
        p = self.root / relative
        if not p.exists():
            raise DataError(f"missing data file {p}: {HOW_TO_PROVIDE}")
        if p.is_file():
            self.checksums[relative] = sha256_file(p)
        return p

    def has(self, relative: str) -> bool:
        return self.root is not None and (self.root / relative).exists()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_text(path: Path) -> io.TextIOBase:
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
        return path.open("r", encoding="utf-8", newline="")
    except OSError as e:
        raise DataError(f"cannot open {path}: {e.strerror or e}") from e


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-empty line; a bad line names file and line."""
    with _open_text(path) as f:
        try:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{lineno}: malformed JSON ({e.msg})") from e
                if not isinstance(obj, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object")
                yield lineno, obj
        except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
            raise DataError(f"{path}: unreadable ({e})") from e


def read_json(path: Path) -> Any:
    try:
        with _open_text(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from e
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from e


def read_csv_rows(
    path: Path, *, ncols: int, header: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, row) from a CSV whose rows must have exactly `ncols` fields."""
    with _open_text(path) as f:
        reader = csv.reader(f)
        try:
            for i, row in enumerate(reader):
                if i == 0 and header:
                    continue
                if not row:
                    continue
                if len(row) != ncols:
                    raise DataError(
                        f"{path}:{reader.line_num}: expected {ncols} fields, found {len(row)}"
                    )
                yield reader.line_num, row
        except csv.Error as e:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({e})") from e
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 ({e})") from e


def read_lines(path: Path) -> list[str]:
    with _open_text(path) as f:
        try:
            text = f.read()
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 ({e})") from e
    # split on "\n" only: str.splitlines would also split on U+2028 inside a sentence
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def expect_count(path: Path | str, got: int, expected: int | None) -> None:
    if expected is not None and got != expected:
        raise DataError(f"{path}: expected {expected} records, found {got}")
