"""Reading benchmark files with errors that name the file and line, and recording checksums
(verified against the shipped sums where `data pull` wrote them)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ..errors import ChangedDataError, DataError
from .cache import cache_dir, is_default_cache, is_pulled

ENV_VAR = "SHOOTOUT_DATA"

HOW_TO_PROVIDE = (
    "run `shootout data pull BENCHMARK` to download it, or point SHOOTOUT_DATA (or --data-dir) "
    "at a folder laid out like shared/data (docs/data.md)"
)


def resolve_data_dir(explicit: str | os.PathLike[str] | None) -> Path:
    """The data directory: --data-dir, else $SHOOTOUT_DATA, else the `data pull` cache (which
    may not exist yet: a missing file then names the `data pull` command to run)."""
    given = explicit is not None and str(explicit) != ""  # `--data-dir ""`: not given
    raw = explicit if given else os.environ.get(ENV_VAR)
    if raw is None or str(raw) == "":
        return cache_dir()
    path = Path(raw).expanduser()
    if not path.is_dir():
        source = "--data-dir" if given else f"${ENV_VAR}"
        what = "is a file, not a folder" if path.exists() else "does not exist"
        raise DataError(f"data directory {path} (from {source}) {what}")
    return path


@dataclass
class DataDir:
    """A data directory plus the checksums of every file read from it, for the run manifest.

    In a folder that `shootout data pull` manages (the cache), every file read is checked
    against the sha256 shipped in `sources.yaml`: a corrupted or truncated file stops the run
    instead of being scored. Folders the user provides are theirs to edit (a subset, a fixed
    copy): their checksums are recorded, not enforced.
    """

    root: Path | None
    checksums: dict[str, str] = field(default_factory=dict)
    verify: bool | None = None  # None: verify when `root` is a pulled cache
    # what a run recorded reading (`expect`): a file read that is not it is refused
    _expected: dict[str, str] | None = field(default=None, repr=False)
    _run_id: str = field(default="", repr=False)
    _why: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.verify is None:
            self.verify = self.root is not None and is_pulled(self.root)

    def path(self, relative: str) -> Path:
        if self.root is None:
            raise DataError(f"no data directory: {HOW_TO_PROVIDE}")
        p = self.root / relative
        try:
            there = p.exists()
        except OSError as e:  # a folder on the way that cannot be searched (EACCES)
            raise DataError(f"cannot read data file {p}: {e.strerror or e}") from e
        if not there:
            raise DataError(f"missing data file {p}: {self._how_to_pull(relative)}")
        if p.is_file():
            digest = sha256_file(p)
            if self.verify:
                self._check(relative, p, digest)
            self._same(relative, p, digest)
            self.checksums[relative] = digest
        elif self.verify:
            self._check_complete(relative)
        return p

    def expect(self, recorded: Any, run_id: str, why: str) -> None:
        """From now on, and for the files read so far, a file whose content is not the one
        run `run_id` recorded reading (`recorded`: its manifest's path -> sha256) raises
        ChangedDataError: other golds, other items under the same ids, other few-shot
        examples. `why`: what using it would do. A file the run did not record is not
        checked; a shipped .gz file compressed again, its content the same, is the same."""
        got = recorded if isinstance(recorded, Mapping) else {}
        self._expected = {str(k): v for k, v in got.items() if isinstance(v, str)}
        self._run_id, self._why = run_id, why
        for relative, digest in sorted(self.checksums.items()):
            assert self.root is not None
            self._same(relative, self.root / relative, digest)

    def _same(self, relative: str, p: Path, digest: str) -> None:
        if not self._expected:
            return
        then = self._expected.get(relative)
        if then is None or then == digest:
            return
        from .sources import catalog, matches

        entry = catalog().files.get(relative)  # the shipped file, compressed again?
        if entry is not None and entry.sha256 == then and matches(entry, p, digest):
            return
        raise ChangedDataError(
            f"{relative} is not the file run {self._run_id} read (sha256 {then[:12]}… "
            f"recorded, {digest[:12]}… now): {self._why}; point --data-dir (or "
            "$SHOOTOUT_DATA) at the data the run used")

    def has(self, relative: str) -> bool:
        return self.root is not None and (self.root / relative).exists()

    def _check(self, relative: str, p: Path, digest: str) -> None:
        from .sources import catalog, matches

        entry = catalog().files.get(relative)
        if entry is not None and not matches(entry, p, digest):
            raise DataError(
                f"{p} does not match the sha256 shipped with shootout (corrupted or truncated): "
                f"{self._how_to_pull(relative, again=True)}"
            )

    def _check_complete(self, relative: str) -> None:
        """A folder read as a whole (MMLU's subjects, the essays) must hold every file: an
        interrupted pull would otherwise run on part of a benchmark."""
        from .sources import catalog

        assert self.root is not None
        gone = [f.path for f in catalog().select([relative.rstrip("/") + "/"])
                if f.source is not None and not (self.root / f.path).is_file()]
        if gone:
            raise DataError(
                f"{self.root / relative} is incomplete ({len(gone)} file(s) missing, e.g. "
                f"{gone[0]}): {self._how_to_pull(relative)}"
            )

    def _how_to_pull(self, relative: str, *, again: bool = False) -> str:
        from .sources import catalog

        table = catalog()
        files = table.select([relative, relative.rstrip("/") + "/"])
        if files and all(f.source is None for f in files):  # rebuilt: nothing to pull
            return ("it has no public source shootout can fetch (rebuilt: see SOURCES.md of "
                    "shared/data); point SHOOTOUT_DATA (or --data-dir) at a copy laid out "
                    "like shared/data (docs/data.md)")
        command = f"shootout data pull {table.owner_of(relative)}"
        if self.root is not None and not is_default_cache(self.root):
            command += f" --cache-dir {self.root}"
        verb = "to fetch it again" if again else "to download it"
        return (f"run `{command}` {verb}, or point SHOOTOUT_DATA at a local copy laid out like "
                "shared/data (docs/data.md)")


def sha256_file(path: Path) -> str:
    """The file's sha256; a file that cannot be read (its permissions) is one line."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise DataError(f"cannot read data file {path}: {e.strerror or e}") from e
    return h.hexdigest()


def _open_text(path: Path) -> io.TextIOBase:
    try:
        # utf-8-sig: a byte order mark (an editor's) is no part of the first line's text (it
        # was kept in an MGSM question, a translation line, a CSV's first field)
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open("r", encoding="utf-8-sig", newline="")
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
                    raise DataError(f"{path}:{lineno}: malformed JSON ({_where(e)})") from e
                if not isinstance(obj, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object")
                yield lineno, obj
        except _UNREADABLE as e:
            raise unreadable(path, e) from e


# what reading a damaged file raises: a gzip cut short, not gzip, corrupt inside (zlib's
# error was an internal error, exit 70), or bytes that are not UTF-8
_UNREADABLE = (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError)


def unreadable(path: Path, e: Exception) -> DataError:
    """The one-line error for a file that could not be read (`_UNREADABLE`): where bytes are
    not UTF-8, the line and column they are on (the decoder's position counted from the
    start of its last read, not of the file)."""
    if isinstance(e, UnicodeDecodeError):
        return DataError(f"{_first_bad_line(path)}: not UTF-8 ({e.reason}: "
                         f"{e.object[e.start:e.end]!r})")
    return DataError(f"{path}: unreadable ({e})")


def _first_bad_line(path: Path) -> str:
    """`path:line` (and column) of the first line that is not UTF-8; `path` alone where it
    cannot be found again."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as e:  # (the column in characters, not bytes)
                    before = raw[:e.start].decode("utf-8", errors="replace")
                    return f"{path}:{lineno}: column {len(before.removeprefix(chr(0xFEFF))) + 1}"
    except (OSError, *_UNREADABLE):
        pass
    return str(path)


def _where(e: json.JSONDecodeError) -> str:
    """"Invalid control character at column 27": json's message ends with "at" where its
    own text goes on with the position."""
    return f"{e.msg.removesuffix(' at')} at column {e.colno}"


def read_json(path: Path) -> Any:
    try:
        with _open_text(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({_where(e)})") from e
    except _UNREADABLE as e:
        raise unreadable(path, e) from e


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
        except _UNREADABLE as e:
            raise unreadable(path, e) from e


def read_text(path: Path) -> str:
    """The whole text of a data file (gzip where it ends .gz), or a one-line error."""
    with _open_text(path) as f:
        try:
            return f.read()
        except _UNREADABLE as e:
            raise unreadable(path, e) from e


def read_lines(path: Path) -> list[str]:
    text = read_text(path)
    # split on "\n" only: str.splitlines would also split on U+2028 inside a sentence
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def expect_count(path: Path | str, got: int, expected: int | None) -> None:
    if expected is not None and got != expected:
        raise DataError(f"{path}: expected {expected} records, found {got}")


def texts(record: Mapping[str, Any], keys: Sequence[str], where: str) -> tuple[str, ...]:
    """The record's fields `keys`, each of which must be text: a missing one, or a null or a
    number where text belongs (which would be sent as "None" or "12345"), is a DataError
    naming the file, line and field."""
    out = []
    for key in keys:
        if key not in record:
            raise DataError(f"{where}: missing field {key!r}")
        value = record[key]
        if not isinstance(value, str):
            raise DataError(f"{where}: field {key!r} is {type(value).__name__}, not text")
        out.append(value)
    return tuple(out)


def is_text_list(value: Any, *, nonempty: bool = False) -> TypeGuard[list[str]]:
    """Whether `value` is a list of texts (a string is not: "ABCD" read as four choices)."""
    return isinstance(value, list) and (bool(value) or not nonempty) and \
        all(isinstance(v, str) for v in value)
