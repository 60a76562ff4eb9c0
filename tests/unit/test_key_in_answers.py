"""An API key a server puts in an answer (echoing the request's headers into the text, the
reasoning or a tool call) is redacted before the answer is stored, exported or reported, as it
is from an error's text."""

from __future__ import annotations

import asyncio
import json

import pytest
from canned_server import CannedServer

from shootout.config import validate_config
from shootout.providers.base import GenerateRequest, Message
from shootout.providers.openai import OpenAIProvider
from shootout.runner.run import Runner
from shootout.store.sqlite import Store

SECRET = "sk-test-Zq81-not-a-real-key"


def _stream(*deltas: dict) -> list[bytes]:
    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


ECHO = _stream({"reasoning_content": f"the header was Bearer {SECRET}"},
               {"content": f"key was {SECRET}. Answer: 42"},
               {"tool_calls": [{"index": 0, "id": f"call-{SECRET}", "function": {
                   "name": "f", "arguments": json.dumps({"k": SECRET})}}]})


def test_the_key_is_redacted_from_an_answer(monkeypatch):
    monkeypatch.setenv("KEY_ECHO_TEST", SECRET)

    async def go() -> object:
        async with CannedServer(ECHO) as srv:
            p = OpenAIProvider(model="m", base_url=srv.base_url, api_key_env="KEY_ECHO_TEST")
            try:
                return await p.generate(GenerateRequest(messages=(Message("user", "hi"),)))
            finally:
                await p.aclose()

    got = asyncio.run(go())
    assert got.text == "key was [redacted]. Answer: 42"  # type: ignore[attr-defined]
    assert got.reasoning == "the header was Bearer [redacted]"  # type: ignore[attr-defined]
    assert SECRET not in repr(got) and "[redacted]" in got.tool_calls[0].arguments  # type: ignore[attr-defined]


@pytest.mark.parametrize("stack", ["httpx", "aiohttp"])
def test_a_run_stores_no_key_a_server_echoed(monkeypatch, tmp_path, data_dir, stack):
    pytest.importorskip("httpx_aiohttp") if stack == "aiohttp" else None
    monkeypatch.setenv("KEY_ECHO_TEST", SECRET)
    store_path = tmp_path / "s.sqlite"

    async def go() -> str:
        async with CannedServer(ECHO) as srv:
            cfg = validate_config({"models": [{"spec": "openai:m", "base_url": srv.base_url,
                                               "api_key_env": "KEY_ECHO_TEST", "http": stack}],
                                   "benchmarks": ["gsm8k"], "limit": 2}, "t")
            return await Runner(cfg, Store(store_path), data_dir=str(data_dir)).run(
                {"m": OpenAIProvider(model="m", base_url=srv.base_url,
                                     api_key_env="KEY_ECHO_TEST", http=stack)})

    asyncio.run(go())
    raw = store_path.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("s.sqlite-*"))
    assert SECRET.encode() not in raw
    assert b"[redacted]" in raw  # the answers are stored, the key in them redacted
