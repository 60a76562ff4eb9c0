"""A second HTTP provider is one file plus one registry line: a Messages-style (Anthropic wire
format) provider from tests/plugins, served by an in-process fake of that API (an httpx
MockTransport streaming events with real delays), run by the real runner."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.config import validate_config
from shootout.errors import ProviderError
from shootout.providers import registry
from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.store.sqlite import Store

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "messages_provider.py"
KEY = "sk-test-secret-0123456789"


def load_plugin():
    spec = importlib.util.spec_from_file_location("messages_provider", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MessagesProvider


class FakeMessagesAPI:
    """POST /messages like Anthropic's Messages API: SSE events message_start, content_block_
    delta..., message_delta, message_stop; HTTP 529 `overloaded_error` on the calls listed."""

    def __init__(self, overloaded: set[int] = frozenset(), ttft: float = 0.02,
                 gap: float = 0.005) -> None:
        self.overloaded, self.ttft, self.gap = set(overloaded), ttft, gap
        self.requests: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        index = len(self.requests)
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if index in self.overloaded:
            error = {"type": "error", "error": {"type": "overloaded_error",
                                                 "message": "Overloaded"}}
            return httpx.Response(529, json=error)
        if "echo your headers" in body["messages"][-1]["content"]:
            msg = f"bad request; you sent x-api-key: {request.headers['x-api-key']}"
            return httpx.Response(400, json={"type": "error", "error": {"message": msg}})
        words = ["The", " answer", " is", " B."]
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=self._events(words))

    async def _events(self, words: list[str]) -> AsyncIterator[bytes]:
        def event(kind: str, data: dict) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

        yield event("message_start", {"message": {"usage": {"input_tokens": 25,
                                                             "output_tokens": 1}}})
        await asyncio.sleep(self.ttft)
        for w in words:
            yield event("content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": w}})
            await asyncio.sleep(self.gap)
        yield event("message_delta", {"delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": len(words)}})
        yield event("message_stop", {})


@pytest.fixture
def plugin(monkeypatch) -> Iterator[type]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    cls = load_plugin()
    registry.register_provider(cls)  # the one registry line
    yield cls
    for p in cls.prefixes:
        registry._REGISTERED.pop(p, None)


def test_registered_provider_validates_its_options_from_a_run_config(plugin):
    cfg = validate_config({"models": [{"spec": "messages:claude-x", "concurrency": 2}],
                           "benchmarks": ["arc_easy"]}, "test")
    assert cfg.models[0].provider_options == {"concurrency": 2}
    assert "messages:MODEL (a Messages-style API)" in registry.describe_specs()
    with pytest.raises(Exception, match="n_ctx"):
        validate_config({"models": [{"spec": "messages:claude-x", "n_ctx": 4096}],
                         "benchmarks": ["arc_easy"]}, "test")


def test_stream_timing_usage_and_headers(plugin):
    api = FakeMessagesAPI(ttft=0.03, gap=0.01)
    p = plugin("claude-x", transport=httpx.MockTransport(api))
    req = GenerateRequest(messages=(Message("system", "Be brief."), Message("user", "Q?")),
                          sampling=Sampling(max_tokens=16, stop=("\n",)))
    resp = asyncio.run(p.generate(req))
    assert resp.text == "The answer is B." and resp.finish_reason == "end_turn"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (25, 4)
    assert resp.timing.ttft is not None and resp.timing.ttft >= 0.03
    gaps = [b - a for a, b in zip(resp.timing.chunk_times, resp.timing.chunk_times[1:],
                                  strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.009
    sent = api.requests[0]
    assert sent["headers"]["x-api-key"] == KEY and sent["headers"]["anthropic-version"]
    assert sent["body"]["system"] == "Be brief." and sent["body"]["stop_sequences"] == ["\n"]
    assert [m["role"] for m in sent["body"]["messages"]] == ["user"]


def test_the_key_a_server_echoes_is_redacted(plugin):
    p = plugin("claude-x", transport=httpx.MockTransport(FakeMessagesAPI()))
    req = GenerateRequest(messages=(Message("user", "please echo your headers"),))
    with pytest.raises(ProviderError) as err:
        asyncio.run(p.generate(req))
    assert KEY not in str(err.value) and "[redacted]" in str(err.value)
    assert "HTTP 400" in str(err.value)


def test_the_runner_retries_an_overloaded_api_and_scores_every_item(plugin, tmp_path):
    from shootout.benchmarks.base import Doc
    from shootout.benchmarks.multiple_choice import MCQuestion, MultipleChoiceBenchmark

    class Toy(MultipleChoiceBenchmark):
        name, version, citation, description, domain = "toy_b", "1", "test", "toy", "knowledge"

        def load(self) -> list[Doc]:
            return [Doc(str(i), {}) for i in range(6)]

        def mc(self, doc: Doc, fewshot: int) -> MCQuestion:
            return MCQuestion.simple(f"Question {doc.id}?", ["x", "y", "z"], 1)

    register_benchmark(Toy)
    try:
        api = FakeMessagesAPI(overloaded={0, 3}, ttft=0.0, gap=0.0)
        provider = plugin("claude-x", transport=httpx.MockTransport(api))
        cfg = validate_config({"models": [{"spec": "messages:claude-x", "name": "claude"}],
                               "benchmarks": ["toy_b"]}, "test")
        store = Store(tmp_path / "s.db")
        t0 = time.perf_counter()
        run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0))
                             .run({"claude": provider}))
        assert time.perf_counter() - t0 < 5
    finally:
        REGISTRY.pop("toy_b", None)
    samples = list(store.samples(run_id))
    assert len(samples) == 6 and all(s.status == "ok" for s in samples)
    assert all(s.metrics["acc"] == 1.0 for s in samples)  # "The answer is B." is option y
    assert len(api.requests) == 6 + 2  # two overloaded calls, each retried once

