"""What comes after a stream's last event ([DONE], Anthropic's message_stop) is not the
answer's: a connection dropped or stalled there keeps the answer, which is not asked for again
(each retry bought the same answer again, and the sample failed: an audit's). Also the rest of
the wire audit: "[DONE] " with trailing space, a finish reason that says the API filtered or
refused the answer, OpenAI's 400 for echo with logprobs, a 403 on `/models` for a key without
the scope to list them, Anthropic's time of first thinking and its errors on one line."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from canned_server import CannedServer

from shootout.errors import CapabilityError, ProviderError
from shootout.providers.anthropic import AnthropicProvider, _MessageAccumulator
from shootout.providers.base import GenerateRequest, LoglikelihoodRequest, Message
from shootout.providers.openai import OpenAIProvider

STACKS = ("httpx", "aiohttp")
QUESTION = GenerateRequest(messages=(Message("user", "hi"),))


def _data(chunk: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(chunk)}\n\n".encode()


OPENAI = [
    _data({"choices": [{"index": 0, "delta": {"content": "4"}, "finish_reason": None}]}),
    _data({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    _data({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1,
                                    "total_tokens": 6}}),
    b"data: [DONE]\n\n",
]


def _ev(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


ANTHROPIC = [
    _ev("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [],
        "model": "claude-haiku-4-5", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1}}}),
    _ev("content_block_start", {"type": "content_block_start", "index": 0,
                                "content_block": {"type": "text", "text": ""}}),
    _ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": "4"}}),
    _ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
    _ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                          "usage": {"output_tokens": 2}}),
    _ev("message_stop", {"type": "message_stop"}),
]


def _ask(provider: Any, request: Any = QUESTION) -> Any:
    async def go() -> Any:
        try:
            if isinstance(request, LoglikelihoodRequest):
                return await provider.loglikelihood(request)
            return await provider.generate(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("http", STACKS)
@pytest.mark.parametrize("tail", ["drop", "stall"])
def test_an_openai_answer_is_kept_when_its_connection_fails_after_done(http, tail):
    async def go() -> tuple[Any, int, float]:
        async with CannedServer(OPENAI, tail=tail) as srv:
            provider = OpenAIProvider("m", base_url=srv.base_url, http=http, timeout=5)
            t0 = time.perf_counter()
            try:
                got = await provider.generate(QUESTION)
            finally:
                await provider.aclose()
            return got, len(srv.requests), time.perf_counter() - t0

    got, sent, took = asyncio.run(go())
    assert got.text == "4" and got.finish_reason == "stop" and sent == 1
    assert got.usage.completion_tokens == 1
    assert took < 3  # the stalled tail is not waited out (the timeout is 5 s)


@pytest.mark.parametrize("http", STACKS)
@pytest.mark.parametrize("tail", ["drop", "stall"])
def test_an_anthropic_answer_is_kept_when_its_connection_fails_after_message_stop(http, tail):
    async def go() -> tuple[Any, int]:
        async with CannedServer(ANTHROPIC, tail=tail) as srv:
            provider = AnthropicProvider("claude-haiku-4-5", base_url=srv.base_url, http=http,
                                         timeout=5)
            try:
                got = await provider.generate(QUESTION)
            finally:
                await provider.aclose()
            return got, len(srv.requests)

    got, sent = asyncio.run(go())
    assert got.text == "4" and got.finish_reason == "end_turn" and sent == 1


@pytest.mark.parametrize("http", STACKS)
def test_done_with_trailing_space_ends_the_stream(http):
    """openai-python reads any event that starts with "[DONE]" as the end (it was malformed
    JSON, and the answer asked for again)."""
    async def go() -> Any:
        async with CannedServer([*OPENAI[:-1], b"data: [DONE] \n\n"]) as srv:
            provider = OpenAIProvider("m", base_url=srv.base_url, http=http)
            try:
                return await provider.generate(QUESTION)
            finally:
                await provider.aclose()

    assert asyncio.run(go()).text == "4"


def test_a_dropped_connection_before_done_is_still_an_error():
    """Only what follows the last event is forgiven: a stream cut before it is retried."""
    async def go() -> Any:
        async with CannedServer(OPENAI[:1], tail="drop") as srv:
            provider = OpenAIProvider("m", base_url=srv.base_url, http="httpx")
            try:
                return await provider.generate(QUESTION)
            finally:
                await provider.aclose()

    with pytest.raises(ProviderError):
        asyncio.run(go())


def test_a_filtered_or_refused_answer_has_a_status_of_its_own():
    from shootout.providers.base import GenerateResponse
    from shootout.runner.sample import _status
    from shootout.store.rows import ANSWERED

    def status(finish: str) -> str:
        return _status(GenerateResponse(text="", finish_reason=finish))

    assert status("content_filter") == "filtered" and status("refusal") == "filtered"
    assert status("stop") == "ok" and status("length") == "truncated"
    assert "filtered" in ANSWERED  # scored as it stands, as a truncated answer is


def test_the_results_count_filtered_answers_apart():
    from shootout.analysis.results import build_results
    from shootout.store.rows import SampleRow
    from shootout.store.sqlite import Store

    store = Store(":memory:")
    store.upsert_run("r", {"models": [], "benchmarks": []})
    for i, status in enumerate(["ok", "ok", "filtered", "ok"]):
        store.put_sample("r", SampleRow(
            model="m", benchmark="gsm8k", item_id=str(i), repeat=0, group="", status=status,
            metrics={"acc": 0.0 if status == "filtered" else 1.0}, extracted=None,
            reason="", extraction_failed=status == "filtered", error=None,
            response_key=None, detail={"mode": "generative"}))
    (row,) = [s for s in build_results(store, ["r"]).runs[0].scores if s.metric == "acc"]
    assert row.n == 4 and row.score == 0.75 and row.n_failed == 0
    assert row.filtered_rate == 0.25
    assert row.extraction_failure_rate == 0.0  # the filtered one is counted apart
    assert row.result_dict()["filtered_rate"] == 0.25


ECHO_REFUSED = json.dumps({"error": {
    "message": "Setting 'echo' and 'logprobs' at the same time is not supported for this "
               "model.", "type": "invalid_request_error", "param": None, "code": None}})


def test_a_model_that_refuses_echo_with_logprobs_is_said_at_once():
    """OpenAI's 400 for gpt-3.5-turbo-instruct: the model cannot be scored by log-likelihood,
    said as an answer without prompt logprobs is (each item's request was sent to be refused,
    and the run failed item by item)."""
    async def go() -> Any:
        async with CannedServer([ECHO_REFUSED.encode()], status=400,
                                ctype="application/json") as srv:
            provider = OpenAIProvider("gpt-3.5-turbo-instruct", base_url=srv.base_url,
                                      logprobs=True, chat=False)
            try:
                return await provider.loglikelihood(
                    LoglikelihoodRequest(pairs=(("Q: 1+1?\nA:", " 2"),)))
            finally:
                await provider.aclose()

    with pytest.raises(CapabilityError, match="refuses completions echo with logprobs"):
        asyncio.run(go())


MODELS_403 = json.dumps({"error": {
    "message": "You have insufficient permissions for this operation. Missing scopes: "
               "api.model.read. Check that you have the correct role in your organization.",
    "type": "invalid_request_error", "param": None, "code": None}})


@pytest.mark.parametrize(("status", "body"), [
    (403, MODELS_403),
    # as public threads quote it: HTTP 401, code missing_scope
    (401, json.dumps({"error": {"message": "You have insufficient permissions for this "
                                "operation. Missing scopes: api.model.read.",
                                "type": "invalid_request_error", "code": "missing_scope"}})),
])
def test_a_key_that_may_not_list_models_still_runs(status, body):
    async def go() -> Any:
        script = {0: (status, "application/json", [body.encode()])}
        async with CannedServer(OPENAI, script=script) as srv:
            provider = OpenAIProvider("gpt-4o-mini", base_url=srv.base_url)
            try:
                await provider.check()
                return await provider.generate(QUESTION)
            finally:
                await provider.aclose()

    assert asyncio.run(go()).text == "4"


def test_a_403_on_models_otherwise_quotes_the_server():
    body = json.dumps({"error": {"message": "Country, region, or territory not supported",
                                 "type": "request_forbidden"}})

    async def go() -> Any:
        async with CannedServer([body.encode()], status=403, ctype="application/json") as srv:
            provider = OpenAIProvider("gpt-4o-mini", base_url=srv.base_url)
            try:
                await provider.check()
            finally:
                await provider.aclose()

    with pytest.raises(ProviderError, match="HTTP 403: Country, region, or territory"):
        asyncio.run(go())


def _accumulated(events: list[tuple[float, dict[str, Any]]]) -> Any:
    acc = _MessageAccumulator()
    for at, event in events:
        acc.add(at, event)
    return acc.response(1.0, "m", None)


START = {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 3}}}


def test_anthropic_first_reasoning_is_its_first_thinking_not_the_block_start():
    got = _accumulated([
        (0.01, START),
        (0.02, {"type": "content_block_start", "index": 0,
                "content_block": {"type": "thinking", "thinking": ""}}),
        (0.05, {"type": "content_block_delta", "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "Let me see."}}),
        (0.08, {"type": "content_block_delta", "index": 1,
                "delta": {"type": "text_delta", "text": "4"}}),
        (0.09, {"type": "message_stop"}),
    ])
    assert got.timing.first_reasoning == 0.05 == got.timing.ttft
    assert got.timing.first_answer == 0.08


@pytest.mark.parametrize(("blocks", "when"), [
    ([(0.03, {"type": "redacted_thinking", "data": "abc"})], 0.03),
    ([(0.03, {"type": "thinking", "thinking": ""})], 0.06),  # its signature's time
])
def test_anthropic_thinking_without_text_has_a_time_and_counts(blocks, when):
    events = [(0.01, START)]
    events += [(at, {"type": "content_block_start", "index": 0, "content_block": b})
               for at, b in blocks]
    events += [(0.06, {"type": "content_block_delta", "index": 0,
                       "delta": {"type": "signature_delta", "signature": "sig"}}),
               (0.08, {"type": "content_block_delta", "index": 1,
                       "delta": {"type": "text_delta", "text": "4"}}),
               (0.09, {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                       "usage": {"output_tokens": 40}}),
               (0.1, {"type": "message_stop"})]
    got = _accumulated(events)
    assert got.timing.first_reasoning == when
    assert got.usage.reasoning_tokens > 0


def test_an_anthropic_error_event_is_one_line():
    acc = _MessageAccumulator()
    acc.add(0.0, START)
    with pytest.raises(ProviderError) as e:
        acc.add(0.1, {"type": "error", "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long:\n 210000 tokens > 200000 maximum"}})
    assert "\n" not in str(e.value) and "too long: 210000 tokens" in str(e.value)


def test_a_filtered_earlier_turn_counts_in_the_filtered_rate():
    """An MT-Bench first turn the API refused: the sample's last turn was answered, and the
    rate (over answers, as the truncated rate's) said 0."""
    from shootout.analysis.results import _filtered_rate
    from shootout.store.rows import EARLIER, EARLIER_FILTERED, SampleRow

    def row(status: str, detail: dict) -> SampleRow:
        return SampleRow(model="m", benchmark="mt_bench", item_id="1", repeat=0, group="",
                         status=status, metrics={}, extracted=None, reason="",
                         extraction_failed=False, error=None, response_key="k2",
                         detail={"mode": "generative", EARLIER: ["k1"], **detail})

    assert _filtered_rate([row("ok", {EARLIER_FILTERED: 1}), row("ok", {})]) == 0.25
    assert _filtered_rate([row("filtered", {})]) == 0.5


@pytest.mark.parametrize("deltas", [[], [""]])
def test_an_anthropic_tool_call_without_arguments_is_a_call_with_none(deltas):
    """A streamed tool_use block whose arguments never stream (or stream "") is the block's
    input, {} as the SDK keeps it: it was "" (unreadable, no call at all), so BFCL's
    irrelevance counted it right, and the same answer not streamed wrong (an audit's)."""
    got = _accumulated([
        (0.01, START),
        (0.02, {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "t1", "name": "f", "input": {}}}),
        *((0.03, {"type": "content_block_delta", "index": 0,
                  "delta": {"type": "input_json_delta", "partial_json": d}}) for d in deltas),
        (0.04, {"type": "message_stop"}),
    ])
    (call,) = got.tool_calls
    assert (call.name, call.arguments) == ("f", "{}")
