"""FakeOpenAIServer: a real OpenAI-compatible HTTP server on 127.0.0.1 with synthetic answers.

It speaks the wire protocol for real (SSE streaming, usage, echo+logprobs), answers
deterministically from a hash of the request, logs every request, and can inject faults and
delays: 429 with or without Retry-After, 5xx, hangs, stalls, resets, malformed JSON or SSE,
truncated streams, empty choices and wrong content types. Used by tests and benchmarks/ only.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Fault(StrEnum):
    RATE_LIMIT = "429"
    RATE_LIMIT_RETRY_AFTER = "429_retry_after"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    HANG = "hang"
    STALL = "stall"
    RESET = "reset"
    MALFORMED_JSON = "malformed_json"
    MALFORMED_SSE = "malformed_sse"
    TRUNCATED = "truncated"
    EMPTY_CHOICES = "empty_choices"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    ECHO_HEADERS = "echo_headers"  # a 400 whose message repeats the request headers


@dataclass
class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer() as srv: srv.base_url`."""

    ttft: float = 0.0
    itl: float = 0.0
    n_chunks: int = 4
    fault_rate: float = 0.0
    fault_kinds: tuple[Fault, ...] = tuple(f for f in Fault if f != Fault.ECHO_HEADERS)
    schedule: dict[int, Fault] = field(default_factory=dict)
    seed: int = 0
    hang_seconds: float = 30.0
    answer_fn: Any = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        self._count = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- behaviour ------------------------------------------------------------------------
    def next_fault(self, body: dict[str, Any], path: str) -> Fault | None:
        with self._lock:
            idx = self._count
            self._count += 1
            self.requests.append({"index": idx, "path": path, "body": body, "time": time.time()})
            if idx in self.schedule:
                return self.schedule[idx]
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None

    def answer(self, body: dict[str, Any]) -> str:
        if self.answer_fn is not None:
            return str(self.answer_fn(body))
        prompt = json.dumps(body.get("messages") or body.get("prompt"), sort_keys=True)
        digest = hashlib.sha256(prompt.encode()).digest()
        return f"The answer is {'ABCD'[digest[0] % 4]}."


def fake_logprob(text: str) -> float:
    """A deterministic pseudo log-probability of a token."""
    return -(hashlib.sha256(text.encode()).digest()[0] / 32.0) - 0.01


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "bad json"}})
            return
        path = self.path
        fault = self.owner.next_fault(body, path)
        if fault is not None and self._early_fault(fault):
            return
        if body.get("echo"):
            self._echo(body, fault)
        elif body.get("stream"):
            self._stream(body, path, fault)
        else:
            self._complete(body, path, fault)

    # -- faults that happen before any answer --------------------------------------------
    def _early_fault(self, fault: Fault) -> bool:
        if fault == Fault.RATE_LIMIT:
            self._json(429, {"error": {"message": "rate limited"}})
        elif fault == Fault.RATE_LIMIT_RETRY_AFTER:
            self._json(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0.2"})
        elif fault in (Fault.SERVER_ERROR, Fault.BAD_GATEWAY, Fault.UNAVAILABLE):
            self._json(int(fault.value), {"error": {"message": "server error"}})
        elif fault == Fault.HANG:
            time.sleep(self.owner.hang_seconds)
            self.close_connection = True
        elif fault == Fault.RESET:
            self._reset()
        elif fault == Fault.WRONG_CONTENT_TYPE:
            self._raw(200, b"<html>oops</html>", "text/html")
        elif fault == Fault.MALFORMED_JSON:
            self._raw(200, b'{"choices": [', "application/json")
        elif fault == Fault.ECHO_HEADERS:
            auth = self.headers.get("authorization", "")
            self._json(400, {"error": {"message": f"bad auth {auth}; all: {dict(self.headers)}"}})
        elif fault == Fault.EMPTY_CHOICES:
            self._json(200, {"id": "x", "object": "chat.completion", "choices": []})
        else:
            return False
        return True

    def _reset(self) -> None:
        self.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        self.connection.close()
        self.close_connection = True

    # -- answers --------------------------------------------------------------------------
    def _pieces(self, body: dict[str, Any]) -> list[str]:
        text = self.owner.answer(body)
        n = max(1, self.owner.n_chunks)
        words = text.split(" ")
        size = max(1, -(-len(words) // n))
        out = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        return [p if i == 0 else " " + p for i, p in enumerate(out)]

    def _stream(self, body: dict[str, Any], path: str, fault: Fault | None) -> None:
        chat = "chat" in path
        pieces = self._pieces(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        time.sleep(self.owner.ttft)
        for i, piece in enumerate(pieces):
            if i > 0:
                time.sleep(self.owner.itl)
            if fault == Fault.STALL and i == 1:
                time.sleep(self.owner.hang_seconds)
                return
            if fault == Fault.RESET and i == 1:
                self._reset()
                return
            if fault == Fault.MALFORMED_SSE and i == 1:
                self._write(b"this is not an event\n\n")
                return
            choice = (
                {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                if chat
                else {"index": 0, "text": piece, "finish_reason": None}
            )
            self._event({"id": "x", "model": body.get("model"), "choices": [choice]})
        if fault == Fault.TRUNCATED:
            return
        last = (
            {"index": 0, "delta": {}, "finish_reason": "stop"}
            if chat
            else {"index": 0, "text": "", "finish_reason": "stop"}
        )
        self._event({"id": "x", "model": body.get("model"), "choices": [last]})
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._usage(body, pieces)
            self._event({"id": "x", "model": body.get("model"), "choices": [], "usage": usage})
        self._write(b"data: [DONE]\n\n")

    def _complete(self, body: dict[str, Any], path: str, fault: Fault | None) -> None:
        text = "".join(self._pieces(body))
        time.sleep(self.owner.ttft)
        if "chat" in path:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop"}
        self._json(
            200,
            {
                "id": "x",
                "model": body.get("model"),
                "choices": [choice],
                "usage": self._usage(body, [text]),
            },
        )

    def _echo(self, body: dict[str, Any], fault: Fault | None) -> None:
        prompt = str(body.get("prompt", ""))
        tokens, offsets, lps = [], [], []
        pos = 0
        for word in prompt.split(" "):
            tok = word if pos == 0 else " " + word
            if not tok:
                continue
            tokens.append(tok)
            offsets.append(pos)
            lps.append(fake_logprob(tok))
            pos += len(tok)
        lps[0] = None  # type: ignore[call-overload]
        tops = [None] + [{t: lp} for t, lp in zip(tokens[1:], lps[1:], strict=True)]
        tokens.append(" x")
        offsets.append(len(prompt))
        lps.append(-1.0)
        tops.append({" x": -1.0})
        self._json(
            200,
            {
                "id": "x",
                "object": "text_completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "text": prompt + " x",
                        "finish_reason": "length",
                        "logprobs": {
                            "tokens": tokens,
                            "token_logprobs": lps,
                            "text_offset": offsets,
                            "top_logprobs": tops,
                        },
                    }
                ],
                "usage": {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1},
            },
        )

    @staticmethod
    def _usage(body: dict[str, Any], pieces: list[str]) -> dict[str, int]:
        prompt = json.dumps(body.get("messages") or body.get("prompt"))
        return {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(pieces),
            "total_tokens": len(prompt.split()) + len(pieces),
        }

    # -- wire helpers ---------------------------------------------------------------------
    def _event(self, obj: dict[str, Any]) -> None:
        self._write(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _json(
        self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._raw(status, json.dumps(obj).encode(), "application/json", headers)

    def _raw(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self._write(data)
