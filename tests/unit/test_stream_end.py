"""Where a stream that reaches [DONE] is a whole answer: a choice carried a finish_reason, or
the server reported usage, or the answer is tool calls (vLLM, SGLang and TGI have left the
finish_reason out of some tool-call streams). One with none of these was cut short (as
llama-cpp-python's server cuts a running stream when another request arrives): a retried
error, never an answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from canned_server import CannedServer

from shootout.errors import RetryableProviderError
from shootout.providers.base import GenerateRequest, Message
from shootout.providers.openai import OpenAIProvider


def _events(*chunks: dict[str, Any]) -> list[bytes]:
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _text(piece: str, finish: Any = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2,
                                  "total_tokens": 7}}
CALL = {"choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
    {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}}]}


def _generate(pieces: list[bytes]) -> Any:
    async def go() -> Any:
        async with CannedServer(pieces) as srv:
            p = OpenAIProvider(model="m", base_url=srv.base_url)
            try:
                return await p.generate(GenerateRequest(messages=(Message("user", "hi"),)))
            finally:
                await p.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(("label", "pieces"), [
    ("finish reason", _events(_text("4"), _text("", "stop"))),
    ("empty finish reason", _events(_text("4", ""), _text("", ""))),
    ("usage, no finish reason", _events(_text("4"), USAGE)),
    ("tool calls, no finish reason", _events(CALL)),
])
def test_a_whole_answer(label: str, pieces: list[bytes]) -> None:
    got = _generate(pieces)
    assert got.text == "4" or got.tool_calls, label


def test_a_stream_with_neither_was_cut_short() -> None:
    with pytest.raises(RetryableProviderError, match="stream cut short"):
        _generate(_events(_text("4"), _text(" and")))
