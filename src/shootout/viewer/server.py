"""A local HTTP server for one stored run: the HTML report at `/`, a per-sample browser at
`/samples`, and the JSON it reads (`/api/samples`, `/api/sample`).

It binds to 127.0.0.1 only and serves nothing but what it built from the store: the report
(rendered once at start), the browser page, and samples. A thread per connection (one idle
connection, a browser's speculative one, held every other request back when it had one), each
reading the store through its own read-only connection.
"""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit

from ..benchmarks import find_benchmark_class
from ..export import sample_row
from ..store import SampleRow, Store
from ..store.browse import BrowsedSample, Filters

PAGE = Path(__file__).with_name("samples.html.j2")
PAGE_SIZE = 200
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:")


class SampleIndex:
    """A run's samples for the browser, queried from the store per request
    (`Store.browse_samples`): nothing is read at start (holding a 500k-sample run took 9 s and
    900 MB before the server answered)."""

    def __init__(self, db: Store, run_id: str) -> None:
        self._opened, self.run_id = db, run_id
        self._opened_in = threading.current_thread()
        self._local = threading.local()
        cells = db.models_benchmarks(run_id)
        self.models = sorted({m for m, _ in cells})
        self.benchmarks = sorted({b for _, b in cells})
        self.primary: dict[str, str | None] = {}
        for b in self.benchmarks:
            cls = find_benchmark_class(b)
            metric = cls.primary_metric if cls else None
            # a corpus metric (translation's chrF) is no sample's: then the one they stored
            self.primary[b] = metric if metric and db.sample_has_metric(run_id, b, metric) \
                else None

    @property
    def db(self) -> Store:
        """The store, as this thread reads it: the one given, in the thread that opened it;
        elsewhere a read-only connection of the thread's own (SQLite's are per thread)."""
        if threading.current_thread() is self._opened_in:
            return self._opened
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = Store.reader(self._opened.path)
        return db

    def select(self, q: dict[str, str], offset: int = 0, limit: int = PAGE_SIZE
               ) -> tuple[int, list[BrowsedSample]]:
        """Filters: model, benchmark, correct ("1", "0"), a pair of models `a`,`b` whose
        primary metric differs on the same item and repeat (the rows of model `a`), status
        ("answered", "failed", or a stored status) and text (in the item id, extracted answer
        or reason, ignoring case): (how many match, the page from `offset`)."""
        pair = (q["a"], q["b"]) if q.get("a") and q.get("b") else None
        correct = {"1": True, "0": False}.get(q.get("correct", ""))
        return self.db.browse_samples(self.run_id, self.primary, Filters(
            benchmark=q.get("benchmark") or None, model=q.get("model") or None, pair=pair,
            correct=correct, status=q.get("status") or None, text=q.get("text") or None),
            offset, limit)

    def find(self, q: dict[str, str]) -> SampleRow | None:
        repeat = _count(q.get("repeat", "0"))
        if not (q.get("model") and q.get("benchmark") and q.get("item")) or repeat is None:
            return None
        return self.db.get_sample(self.run_id, q["model"], q["benchmark"], q["item"], repeat)


_LARGEST = 2**62  # what SQLite's integers hold, with room


def _count(raw: str) -> int | None:
    """A non-negative whole number written in ASCII digits (not "²", which `isdigit`
    accepts and `int` refuses), at most `_LARGEST`; None otherwise."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    return min(int(raw), _LARGEST)


def _brief(s: BrowsedSample) -> dict[str, Any]:
    return {"model": s.model, "benchmark": s.benchmark, "item_id": s.item_id,
            "repeat": s.repeat, "status": s.status, "metric": s.metric, "value": s.value,
            "extracted": s.extracted, "reason": s.reason}


def make_server(db: Store, run_id: str, report_html: str, port: int = 0) -> HTTPServer:
    """The server, bound to 127.0.0.1:`port` (0: any free port); `serve_forever` runs it."""
    if db.get_run(run_id) is None:
        raise db.unknown_run(run_id)
    index = SampleIndex(db, run_id)
    # the run id as HTML text: a store's id is a store's, not necessarily one shootout made
    # ("r-1</title><script>…" ran on this page; an audit's)
    page = PAGE.read_text(encoding="utf-8").replace("{{ run_id }}", html.escape(run_id)).replace(
        "{{ page_size }}", str(PAGE_SIZE))

    class Handler(BaseHTTPRequestHandler):
        timeout = 60  # an idle connection's thread ends

        def do_GET(self) -> None:
            if not _local_host(self.headers.get("Host"), getattr(self.server, "server_port", 0)):
                # a page of another site that resolved its name to 127.0.0.1 (DNS rebinding)
                self._send(403, "text/plain; charset=utf-8", "forbidden: not a local host")
                return
            try:
                self._get()
            except Exception as e:  # one bad request: a 500 with one line, not a dropped one
                self._send(500, "text/plain; charset=utf-8",
                           f"error: {type(e).__name__}: {e}"[:300])

        def do_HEAD(self) -> None:  # a GET without its body
            self._head_only = True
            self.do_GET()

        def _get(self) -> None:
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self._send(*_answer(url.path, q, index, page, report_html))

        def _send(self, status: int, ctype: str, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not getattr(self, "_head_only", False):
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


_HTML, _JSON = "text/html; charset=utf-8", "application/json"


def _local_host(host: str | None, port: int) -> bool:
    """Whether a request's Host header names this server on the loopback address (a browser
    sends the name it was given: another site's name there is a page of that site)."""
    if host is None:
        return True  # HTTP/1.0 without one: no browser
    try:
        parts = urlsplit("//" + host.strip())
        given = parts.port
    except ValueError:
        return False
    return (parts.hostname or "") in ("127.0.0.1", "localhost", "::1") \
        and given in (None, port)


def _answer(path: str, q: dict[str, str], index: SampleIndex, page: str, report_html: str
            ) -> tuple[int, str, str]:
    """(status, content type, body) of a GET of `path` with query `q`."""
    if path == "/":
        return 200, _HTML, report_html
    if path == "/samples":
        return 200, _HTML, page
    if path in ("/api/samples", "/api/sample"):
        body = _listing(index, q) if path == "/api/samples" else _one(index, q)
        if body is None:
            return 404, _JSON, '{"error": "no such sample"}'
        return 200, _JSON, json.dumps(body, ensure_ascii=False)
    return 404, "text/plain; charset=utf-8", "not found"


def _listing(index: SampleIndex, q: dict[str, str]) -> dict[str, Any]:
    offset = _count(q.get("offset", "0")) or 0
    total, rows = index.select(q, offset)
    return {"run_id": index.run_id, "models": index.models, "benchmarks": index.benchmarks,
            "total": total, "offset": offset, "samples": [_brief(s) for s in rows]}


def _one(index: SampleIndex, q: dict[str, str]) -> dict[str, Any] | None:
    s = index.find(q)
    if s is None:
        return None
    key = s.response_key
    request = index.db.get_request(key) if key else None
    response = index.db.get_response(key) if key else None
    return sample_row(index.run_id, s, request, response)
