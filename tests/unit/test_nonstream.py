"""`-M stream=false`: one JSON response per request, read as the Chat Completions spec has it
(message content, tool calls, finish reason, usage), TTFT unknown (None), the same one-line
errors as a stream's, and reports and load tests that take a None TTFT."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shootout.errors import RetryableProviderError
from shootout.perf.load import Level, LevelResult, RequestRecord
from shootout.perf.metrics import request_metrics
from shootout.providers.base import GenerateRequest, Message, Timing, ToolCall, Usage
from shootout.providers.openai import OpenAIProvider
from shootout.providers.openai_wire import parse_completion
from shootout.testing import FakeOpenAIServer
from shootout.testing.fake_server import Fault

ASK = (Message("user", "What is 2+2?"),)
TOOL = {"name": "add", "description": "Add.", "parameters": {"type": "object"}}


def _generate(srv: FakeOpenAIServer, request: GenerateRequest, **options: Any) -> Any:
    provider = OpenAIProvider("fake-model", base_url=srv.base_url, stream=False, **options)

    async def go() -> Any:
        try:
            return await provider.generate(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_chat_answer_not_streamed() -> None:
    with FakeOpenAIServer(ttft=0.05, system_fingerprint="fp_1") as srv:
        resp = _generate(srv, GenerateRequest(messages=ASK))
        body = srv.requests[-1]["body"]
    assert body["stream"] is False and "stream_options" not in body
    assert resp.text.startswith("The answer is") and resp.finish_reason == "stop"
    assert resp.usage.completion_tokens > 0 and not resp.usage.estimated
    assert resp.timing.ttft is None and resp.timing.chunk_times == ()
    assert resp.timing.e2e >= 0.05  # the whole response's wait, measured
    assert resp.model_reported == "fake-model" and resp.fingerprint == "fp_1"


def test_text_completion_not_streamed() -> None:
    with FakeOpenAIServer() as srv:
        resp = _generate(srv, GenerateRequest(prompt="Q: 2+2?\nA:"), chat=False)
        assert srv.requests[-1]["path"].endswith("/completions")
    assert resp.text.startswith("The answer is") and resp.timing.ttft is None


def test_tool_calls_not_streamed() -> None:
    calls = [{"name": "add", "arguments": '{"a": 1, "b": 2}'}]
    with FakeOpenAIServer(tool_calls_fn=lambda body: calls) as srv:
        resp = _generate(srv, GenerateRequest(messages=ASK, tools=(TOOL,), tool_choice="auto"))
        body = srv.requests[-1]["body"]
    assert body["tools"] == [{"type": "function", "function": TOOL}] and body["stream"] is False
    assert resp.tool_calls == (ToolCall("add", '{"a": 1, "b": 2}', "call_0"),)
    assert resp.finish_reason == "tool_calls" and resp.text == ""


@pytest.mark.parametrize(("fault", "message"), [
    (Fault.MALFORMED_JSON, "malformed JSON"),
    (Fault.WRONG_CONTENT_TYPE, "malformed JSON"),
    (Fault.EMPTY_CHOICES, "no choices"),
    (Fault.SERVER_ERROR, "HTTP 500"),
])
def test_bad_responses_are_one_line_retryable_errors(fault: Fault, message: str) -> None:
    with FakeOpenAIServer(schedule={0: fault}) as srv, \
            pytest.raises(RetryableProviderError, match=message) as e:
        _generate(srv, GenerateRequest(messages=ASK))
    assert "\n" not in str(e.value)


def _reply(message: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], **top}


def test_reasoning_usage_details_and_no_usage() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 30, "prompt_tokens_details":
             {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 20}}
    resp = parse_completion(_reply({"content": "4", "reasoning_content": "2+2 is 4"},
                                   usage=usage), "/chat/completions", 0.5)
    assert (resp.text, resp.reasoning) == ("4", "2+2 is 4")
    assert resp.usage == Usage(9, 30, cached_tokens=4, reasoning_tokens=20)
    bare = parse_completion(_reply({"content": "x" * 10}), "/chat/completions", 0.5)
    assert bare.usage == Usage(completion_tokens=3, estimated=True)  # ~4 characters a token


@pytest.mark.parametrize(("data", "message"), [
    ({"choices": None}, "no choices"),
    ({"choices": ["x"]}, "choice is not an object"),
    (_reply("text"), "message is not an object"),
    (_reply({"content": 4}), "content is not text"),
    (_reply({"content": None, "tool_calls": {"a": 1}}), "tool_calls is not a list"),
    (_reply({"content": None, "tool_calls": [{"id": "c"}]}), "no function object"),
    (_reply({"content": None, "tool_calls": [{"function": {"name": 3}}]}), "field is not text"),
    ({"error": {"message": "overloaded"}}, "error in response"),
])
def test_misshapen_responses_are_retryable(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RetryableProviderError, match=message):
        parse_completion(data, "/chat/completions", 0.1)


def test_a_non_streamed_answer_is_not_counted_empty_in_a_load_test() -> None:
    """A load level's `empty` (no content token at all) used to be every answer without a
    TTFT, so each non-streamed answer counted as empty."""
    answered = request_metrics(Timing(ttft=None, e2e=0.4), Usage(10, 12))
    cut = request_metrics(Timing(ttft=None, e2e=0.4), Usage(estimated=True))
    records = [RequestRecord(0, 0.0, metrics=answered), RequestRecord(1, 0.0, metrics=cut)]
    level = LevelResult(Level("concurrency", 1.0), 1.0, records)
    summary = level.summary()
    assert summary["completed"] == 2 and summary["empty"] == 1
    assert summary["ttft_ms"]["n"] == 0 and summary["e2e_ms"]["n"] == 2
