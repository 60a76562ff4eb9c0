"""A 429 that says the account's quota is used up (OpenAI's `insufficient_quota`) is not
retried, and stops the model's requests after three alike, answered before or not: every
sample had spent its 6 attempts and ~15 s of backoff on it (a wire-format audit's)."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_QUOTA = {"error": {"message": "You exceeded your current quota, please check your plan and "
                               "billing details.", "type": "insufficient_quota",
                    "param": None, "code": "insufficient_quota"}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    posts = 0
    answer_first = 0  # requests answered before the quota runs out


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts += 1
        if self.server.posts <= self.server.answer_first:
            self._json(200, {"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "A"},
                 "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})
            return
        self._json(429, _QUOTA)


def _serve(answer_first: int) -> _Server:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.answer_first = answer_first
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_quota_used_up_is_said_and_stops_the_models_requests(shootout_cmd, tmp_path,
                                                                data_dir):
    server = _serve(answer_first=2)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        p = subprocess.run([*shootout_cmd, "run", "-m", "openai:m", "--base-url", url,
                            "-M", "concurrency=1", "-b", "arc_easy", "--limit", "30",
                            "--data-dir", str(data_dir), "--store", str(tmp_path / "s.db")],
                           capture_output=True, text=True, timeout=120,
                           env={**__import__("os").environ, "OPENAI_API_KEY": "sk-test"})
    finally:
        server.shutdown()
    assert p.returncode != 0
    # two answered, then three refused alike; the other 25 not sent (a rerun sends them)
    assert server.posts == 5, (server.posts, p.stderr[-2000:])
    assert "HTTP 429 from /v1/chat/completions: the account's quota is used up, retrying " \
        "cannot succeed (You exceeded your current quota" in p.stderr
    assert "after 6 attempts" not in p.stderr


def test_a_quota_429_is_final_and_a_rate_limit_is_retried() -> None:
    from shootout.errors import RejectedRequestError, RetryableProviderError
    from shootout.providers.http_errors import status_error

    quota = status_error(429, "/v1/chat/completions", json.dumps(_QUOTA), {}, None)
    assert type(quota) is RejectedRequestError and quota.code == "insufficient_quota"
    # the server's own x-should-retry: true is obeyed, as the SDKs obey it
    told = status_error(429, "/v1/chat/completions", json.dumps(_QUOTA),
                        {"x-should-retry": "true"}, None)
    assert isinstance(told, RetryableProviderError)
    limited = status_error(429, "/v1/chat/completions",
                           json.dumps({"error": {"message": "Rate limit reached",
                                                 "code": "rate_limit_exceeded"}}), {}, None)
    assert isinstance(limited, RetryableProviderError)


def test_a_quota_refusal_trips_after_answers_and_an_answer_does_not_lift_it() -> None:
    from shootout.errors import RejectedRequestError
    from shootout.runner.retry import RetryBudget

    budget = RetryBudget(10)
    budget.note(None)  # answered before the quota ran out
    for _ in range(3):
        budget.note(RejectedRequestError("HTTP 429 from /v1/chat/completions: quota", 429,
                                         code="insufficient_quota"))
    assert budget.refused is not None and budget.quota
    budget.note(None)  # a request sent before, answered after
    assert budget.refused is not None
    assert "before any answer" not in budget.refusal()
