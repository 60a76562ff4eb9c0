"""Native tools through the OpenAI-compatible provider: `tools`/`tool_choice` on the wire,
streamed `tool_calls` deltas put together by index, and bfcl's native mode end to end
against the fake server's scripted calls."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from shootout.benchmarks import sample_docs
from shootout.benchmarks.bfcl import BFCL, api_name
from shootout.config import validate_config
from shootout.data import DataDir
from shootout.errors import CapabilityError, RetryableProviderError
from shootout.providers.base import (
    GenerateRequest,
    Message,
    ToolCall,
    response_from_dict,
    response_to_dict,
)
from shootout.providers.openai import OpenAIProvider, _StreamAccumulator
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeOpenAIServer

TOOL = {"name": "get_weather", "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}
ASK = (Message("user", "Weather in Paris and Rome?"),)


def _generate(srv: FakeOpenAIServer, request: GenerateRequest) -> Any:
    provider = OpenAIProvider("fake-model", base_url=srv.base_url)

    async def go() -> Any:
        try:
            return await provider.generate(request)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_tools_on_the_wire_and_streamed_calls_put_together() -> None:
    calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'},
             {"name": "get_weather", "arguments": '{"city": "Rome", "unit": "celsius"}'}]
    with FakeOpenAIServer(tool_calls_fn=lambda body: calls) as srv:
        resp = _generate(srv, GenerateRequest(messages=ASK, tools=(TOOL,), tool_choice="auto"))
        body = srv.requests[-1]["body"]
    assert body["tools"] == [{"type": "function", "function": TOOL}]
    assert body["tool_choice"] == "auto" and body["stream"] is True
    assert resp.tool_calls == (ToolCall("get_weather", '{"city": "Paris"}', "call_0"),
                               ToolCall("get_weather", '{"city": "Rome", "unit": "celsius"}',
                                        "call_1"))
    assert resp.text == "" and resp.finish_reason == "tool_calls"
    assert resp.timing.ttft is not None and len(resp.timing.chunk_times) >= 4


def test_a_request_without_tools_sends_none_and_gets_text() -> None:
    with FakeOpenAIServer(tool_calls_fn=lambda body: None) as srv:
        resp = _generate(srv, GenerateRequest(messages=ASK))
        body = srv.requests[-1]["body"]
    assert "tools" not in body and "tool_choice" not in body
    assert resp.text.startswith("The answer is") and resp.tool_calls == ()


def test_tools_need_chat_messages() -> None:
    provider = OpenAIProvider("fake-model", base_url="http://127.0.0.1:9")
    with pytest.raises(CapabilityError, match="tools need chat"):
        asyncio.run(provider.generate(GenerateRequest(prompt="x", tools=(TOOL,))))
    assert provider.capabilities.tools
    assert not OpenAIProvider("m", chat=False).capabilities.tools


def _delta(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def test_interleaved_deltas_are_joined_by_index() -> None:
    """Calls whose deltas interleave (index 1 starts before index 0 ends) come back whole
    and in index order; an id repeated in later deltas is not doubled."""
    acc = _StreamAccumulator()
    acc.add(0.1, _delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g",
                                                                         "arguments": "{\"y\""}}]))
    acc.add(0.2, _delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f"}}]))
    acc.add(0.3, _delta(tool_calls=[{"index": 1, "id": "b", "function": {"arguments": ": 2}"}}]))
    acc.add(0.4, _delta(tool_calls=[{"index": 0, "function": {"arguments": "{}"}}]))
    resp = acc.response(0.5)
    assert resp.tool_calls == (ToolCall("f", "{}", "a"), ToolCall("g", '{"y": 2}', "b"))
    assert resp.timing.ttft == 0.1


@pytest.mark.parametrize("bad", [{"tool_calls": "x"}, {"tool_calls": [{"index": "0"}]},
                                 {"tool_calls": [{"index": 0, "function": {"name": 3}}]}])
def test_misshapen_tool_call_deltas_are_retryable(bad: dict[str, Any]) -> None:
    with pytest.raises(RetryableProviderError):
        _StreamAccumulator().add(0.1, _delta(**bad))


def test_tool_calls_survive_the_store_round_trip() -> None:
    with FakeOpenAIServer(tool_calls_fn=lambda b: [{"name": "f", "arguments": "{}"}]) as srv:
        resp = _generate(srv, GenerateRequest(messages=ASK, tools=(TOOL,)))
    d = json.loads(json.dumps(response_to_dict(resp)))
    assert response_from_dict(d) == resp
    text_only = _StreamAccumulator().response(0.1)
    assert "tool_calls" not in response_to_dict(text_only)  # stored bytes as before


def test_requests_with_tools_have_their_own_cache_key() -> None:
    plain = GenerateRequest(messages=ASK)
    assert "tools" not in plain.to_dict()
    assert GenerateRequest(messages=ASK, tools=(TOOL,)).to_dict() != plain.to_dict()


def test_bfcl_native_mode_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    """bfcl with -o bfcl.mode=native against the fake server: scripted tool_calls (the
    reference call; none on irrelevance; arguments that are not JSON on one item) are scored,
    and the mode is recorded for the model."""
    all_docs = BFCL(data=DataDir(data_dir)).load()
    docs = {d.id: d for d in all_docs}
    cfg = validate_config({"models": [{"spec": "openai:fake-model", "name": "fake"}],
                           "benchmarks": [{"name": "bfcl", "options": {"mode": "native"}}],
                           "limit": 40}, "test")
    sampled = sample_docs(all_docs, 40, cfg.seed)
    broken = next(d.id for d in sampled if d.group == "simple")

    def scripted(body: dict[str, Any]) -> list[dict[str, str]] | None:
        question = body["messages"][-1]["content"]
        names = {t["function"]["name"] for t in body["tools"]}
        d = next(d for d in docs.values() if d.fields["messages"][-1].content == question
                 and {api_name(f["name"]) for f in d.fields["functions"]} == names)
        if d.group == "irrelevance":
            return None
        (name, params), = d.fields["ground_truth"][0].items()
        args = {p: next(v for v in vs if v != "") for p, vs in params.items()
                if any(v != "" for v in vs)}
        text = "{not json" if d.id == broken else json.dumps(args)
        return [{"name": api_name(name), "arguments": text}]

    with FakeOpenAIServer(tool_calls_fn=scripted) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=4)

        async def go() -> str:
            try:
                return await Runner(cfg, Store(tmp_path / "r.sqlite"),
                                    data_dir=str(data_dir)).run({"fake": provider})
            finally:
                await provider.aclose()

        run_id = asyncio.run(go())
        assert all("tools" in r["body"] for r in srv.requests)
    store = Store(tmp_path / "r.sqlite")
    samples = list(store.samples(run_id))
    assert len(samples) == 40 and all(s.detail["tool_mode"] == "native" for s in samples)
    simple = {s.item_id: s for s in samples if s.group == "simple"}
    assert simple[broken].metrics == {"acc": 0.0, "malformed": 1.0}
    assert simple[broken].detail["malformed_kind"] == "invalid_call"
    assert any(s.metrics["acc"] == 1.0 for s in simple.values())
    assert all(s.metrics["acc"] == 1.0 for s in samples if s.group == "irrelevance")
    per_model = store.get_run(run_id)["manifest"]["benchmarks"]["bfcl"]["per_model"]["fake"]
    assert per_model["model_binding"] == {"mode": "native"}
    # the report's function-calling section says which mode the model ran
    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown

    report = render_markdown(build_report(store, [run_id]), charts=False)
    assert "Function calling" in report
    row = next(line for line in report.splitlines() if line.startswith("| fake | native |"))
    assert row.count("[") == 7  # AST summary, five categories, malformed: each with its CI


# -- Anthropic's Messages API -------------------------------------------------------------


def test_anthropic_tools_on_the_wire_and_tool_use_blocks_streamed() -> None:
    from shootout.providers.anthropic import AnthropicProvider
    from shootout.testing import FakeAnthropicServer

    calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'},
             {"name": "get_weather", "arguments": '{"city": "Rome", "unit": "celsius"}'}]
    with FakeAnthropicServer(tool_calls_fn=lambda body: calls) as srv:
        provider = AnthropicProvider("claude-sonnet-4-5", base_url=srv.base_url)

        async def go() -> Any:
            try:
                return await provider.generate(
                    GenerateRequest(messages=ASK, tools=(TOOL,), tool_choice="required"))
            finally:
                await provider.aclose()

        resp = asyncio.run(go())
        body = srv.requests[-1]["body"]
    assert body["tools"] == [{"name": "get_weather", "description": "Weather in a city.",
                              "input_schema": TOOL["parameters"]}]
    assert body["tool_choice"] == {"type": "any"}
    assert resp.tool_calls == (ToolCall("get_weather", '{"city": "Paris"}', "toolu_0"),
                               ToolCall("get_weather", '{"city": "Rome", "unit": "celsius"}',
                                        "toolu_1"))
    assert resp.finish_reason == "tool_use" and provider.capabilities.tools


def test_anthropic_input_delta_outside_a_tool_block_is_retryable() -> None:
    from shootout.providers.anthropic import _MessageAccumulator

    acc = _MessageAccumulator()
    acc.add(0.0, {"type": "message_start", "message": {"model": "m", "usage": {}}})
    with pytest.raises(RetryableProviderError, match="outside a tool_use"):
        acc.add(0.1, {"type": "content_block_delta", "index": 3,
                      "delta": {"type": "input_json_delta", "partial_json": "{}"}})
