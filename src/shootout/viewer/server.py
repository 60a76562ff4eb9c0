"""A local HTTP server for one stored run: the HTML report at `/`, a per-sample browser at
`/samples`, and the JSON it reads (`/api/samples`, `/api/sample`).

It binds to 127.0.0.1 only and serves nothing but what it built from the store: the report
(rendered once at start), the browser page, and samples. One thread: the store's SQLite
connection stays in the thread that opened it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..benchmarks import find_benchmark_class
from ..errors import ConfigError
from ..export import sample_row
from ..store import SampleRow, Store

PAGE = Path(__file__).with_name("samples.html.j2")
PAGE_SIZE = 200
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:")


@dataclass(frozen=True)
class _Entry:
    sample: SampleRow
    primary: str | None
    value: float | None  # the primary metric, None for a failed sample

    @property
    def correct(self) -> bool:
        return self.value is not None and self.value >= 1.0


class SampleIndex:
    """The run's samples with each one's primary metric, read once; filters over them."""

    def __init__(self, db: Store, run_id: str) -> None:
        self.db, self.run_id = db, run_id
        self.entries: list[_Entry] = []
        primaries: dict[str, str | None] = {}
        for s in db.samples(run_id):
            if s.benchmark not in primaries:
                cls = find_benchmark_class(s.benchmark)
                primaries[s.benchmark] = cls.primary_metric if cls else None
            metric = primaries[s.benchmark] or next(iter(s.metrics), None)
            value = s.metrics.get(metric) if metric and s.status == "ok" else None
            self.entries.append(_Entry(s, metric, value))
        self.models = sorted({e.sample.model for e in self.entries})
        self.benchmarks = sorted({e.sample.benchmark for e in self.entries})

    def select(self, q: dict[str, str]) -> list[_Entry]:
        """Filters: model, benchmark, correct ("1", "0"), and a pair of models `a`,`b` whose
        primary metric differs on the same item and repeat (the rows of model `a`)."""
        out = self.entries
        if q.get("benchmark"):
            out = [e for e in out if e.sample.benchmark == q["benchmark"]]
        if q.get("a") and q.get("b"):
            other = {_key(e): e.value for e in out if e.sample.model == q["b"]}
            out = [e for e in out if e.sample.model == q["a"] and _key(e) in other
                   and other[_key(e)] != e.value]
        elif q.get("model"):
            out = [e for e in out if e.sample.model == q["model"]]
        if q.get("correct") in ("0", "1"):
            want = q["correct"] == "1"
            out = [e for e in out if e.value is not None and e.correct == want]
        return out

    def find(self, q: dict[str, str]) -> _Entry | None:
        want = (q.get("model"), q.get("benchmark"), q.get("item"), q.get("repeat", "0"))
        return next((e for e in self.entries if (e.sample.model, e.sample.benchmark,
                     e.sample.item_id, str(e.sample.repeat)) == want), None)


def _key(e: _Entry) -> tuple[str, str, int]:
    return (e.sample.benchmark, e.sample.item_id, e.sample.repeat)


def _brief(e: _Entry) -> dict[str, Any]:
    s = e.sample
    return {"model": s.model, "benchmark": s.benchmark, "item_id": s.item_id,
            "repeat": s.repeat, "status": s.status, "metric": e.primary, "value": e.value,
            "extracted": s.extracted, "reason": s.reason or s.error or ""}


def make_server(db: Store, run_id: str, report_html: str, port: int = 0) -> HTTPServer:
    """The server, bound to 127.0.0.1:`port` (0: any free port); `serve_forever` runs it."""
    if db.get_run(run_id) is None:
        raise ConfigError(f"no run {run_id!r} in {db.path}")
    index = SampleIndex(db, run_id)
    page = PAGE.read_text(encoding="utf-8").replace("{{ run_id }}", run_id)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/":
                self._send(200, "text/html; charset=utf-8", report_html)
            elif url.path == "/samples":
                self._send(200, "text/html; charset=utf-8", page)
            elif url.path == "/api/samples":
                self._json(_listing(index, q))
            elif url.path == "/api/sample":
                self._json(_one(index, q))
            else:
                self._send(404, "text/plain; charset=utf-8", "not found")

        def _json(self, body: dict[str, Any] | None) -> None:
            if body is None:
                self._send(404, "application/json", '{"error": "no such sample"}')
            else:
                self._send(200, "application/json", json.dumps(body, ensure_ascii=False))

        def _send(self, status: int, ctype: str, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Security-Policy", _CSP)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log
            return

    return HTTPServer(("127.0.0.1", port), Handler)


def _listing(index: SampleIndex, q: dict[str, str]) -> dict[str, Any]:
    rows = index.select(q)
    raw = q.get("offset", "0")
    offset = int(raw) if raw.isdigit() else 0
    return {"run_id": index.run_id, "models": index.models, "benchmarks": index.benchmarks,
            "total": len(rows), "offset": offset,
            "samples": [_brief(e) for e in rows[offset:offset + PAGE_SIZE]]}


def _one(index: SampleIndex, q: dict[str, str]) -> dict[str, Any] | None:
    e = index.find(q)
    if e is None:
        return None
    key = e.sample.response_key
    request = index.db.get_request(key) if key else None
    response = index.db.get_response(key) if key else None
    return sample_row(index.run_id, e.sample, request, response)
