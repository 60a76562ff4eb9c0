"""A real HTTP server on 127.0.0.1 answering every request with the JSON a test chooses (a
refusal, an error that repeats the URL): for faults the fake OpenAI server has no switch for."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (method, path, request headers) -> (status, JSON body)
Answer = Callable[[str, str, Any], tuple[int, dict[str, Any]]]


@contextmanager
def json_server(answer: Answer) -> Iterator[tuple[int, list[str]]]:
    """The server's port, and the paths of the POSTs it was sent, while it serves."""
    posts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(*answer("GET", self.path, self.headers))

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            posts.append(self.path)
            self._send(*answer("POST", self.path, self.headers))

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, posts
    finally:
        server.shutdown()
        server.server_close()
