"""FakeAnthropicServer: Anthropic's Messages API on 127.0.0.1, over real HTTP and SSE.

It streams what the API streams (`message_start`, `ping`, `content_block_start`,
`content_block_delta` with `thinking_delta` / `signature_delta` / `text_delta`,
`content_block_stop`, `message_delta` with cumulative usage, `message_stop`), each content
delta at its own deadline (request arrival + ttft + i * itl), and answers like the API where a
request is wrong: a missing `anthropic-version` header, a refused `x-api-key`, `max_tokens`
missing or not above the thinking budget, a temperature other than 1 with thinking. Faults, by
request index (`schedule`) or at random (`fault_rate`): 429 `rate_limit_error` with
`retry-after`, 529 `overloaded_error`, an `error` event mid-stream, a stream cut before
`message_stop`. `/v1/messages/count_tokens` counts words. `tool_calls_fn(body)` (a list of
`{"name", "arguments"}`) adds a `tool_use` block per call after the text, its input streamed as
`input_json_delta` pieces, and stops with `tool_use`, as the API streams tool use.

    with FakeAnthropicServer(ttft=0.05) as srv: srv.base_url
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .fake_http import _Conn, _Request
from .fake_server import FakeOpenAIServer


class AnthropicFault(StrEnum):
    RATE_LIMIT = "429"
    OVERLOADED = "529"
    OVERLOADED_EVENT = "overloaded_event"  # an `error` event after the first delta
    CUT = "cut"  # the connection closes before message_stop


THINKING = ["Let me", " weigh", " each option", " in turn."]  # the streamed summary


@dataclass
class FakeAnthropicServer(FakeOpenAIServer):
    """`reasoning_tokens`: the thinking tokens billed per request with thinking enabled (a
    summary of a few words is streamed, as Claude 4 models do)."""

    fault_kinds: tuple[Any, ...] = tuple(AnthropicFault)
    in_stream: frozenset[Any] = frozenset({AnthropicFault.OVERLOADED_EVENT, AnthropicFault.CUT})
    api_key: str | None = None
    retry_after: str = "0.05"
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # the model's output limit: a larger max_tokens is refused in the API's words
    output_limit: int | None = None

    async def exchange(self, req: _Request, conn: _Conn) -> None:
        await _MessagesExchange(self, req, conn).handle()


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


class _MessagesExchange:
    def __init__(self, owner: FakeAnthropicServer, req: _Request, conn: _Conn) -> None:
        self.owner, self.req, self.conn = owner, req, conn
        self.headers = {k.lower(): v for k, v in req.headers.items()}

    async def handle(self) -> None:
        path = self.req.path.partition("?")[0].rstrip("/")
        if "anthropic-version" not in self.headers:
            await self.conn.json(400, _error("invalid_request_error",
                                             "anthropic-version: header is required"))
            return
        if self.owner.api_key and self.headers.get("x-api-key") != self.owner.api_key:
            await self.conn.json(401, _error("authentication_error", "invalid x-api-key"))
            return
        if self.req.method == "GET":
            model = path.rpartition("/")[2]
            await self.conn.json(200, {"type": "model", "id": model, "display_name": model})
            return
        try:
            body = json.loads(self.req.body or b"{}")
        except json.JSONDecodeError:
            await self.conn.json(400, _error("invalid_request_error", "invalid JSON"))
            return
        if path.endswith("/messages/count_tokens"):
            await self.conn.json(200, {"input_tokens": _prompt_tokens(body)})
        elif not path.endswith("/messages"):
            await self.conn.json(404, _error("not_found_error", "Not found"))
        elif (problem := _invalid(body, self.owner.output_limit)) is not None:
            await self.conn.json(400, _error("invalid_request_error", problem))
        else:
            await self._message(body)

    async def _message(self, body: dict[str, Any]) -> None:
        fault = self.owner.next_fault(body, self.req.path)
        if self.owner.requests:  # none kept when it serves a benchmark (`fake_server.main`)
            self.owner.requests[-1]["headers"] = self.headers
        if fault == AnthropicFault.RATE_LIMIT:
            await self.conn.json(429, _error("rate_limit_error", "Number of request tokens has "
                                             "exceeded your per-minute rate limit"),
                                 {"retry-after": self.owner.retry_after})
            return
        if fault == AnthropicFault.OVERLOADED:
            await self.conn.json(529, _error("overloaded_error", "Overloaded"))
            return
        thinking, pieces, spent, stop = self._plan(body)
        if not body.get("stream"):
            await self.conn.json(200, self._message_obj(body, pieces, thinking, spent, stop))
            return
        await self._stream(body, fault, thinking, pieces, spent, stop)

    def _plan(self, body: dict[str, Any]) -> tuple[list[str], list[str], int, str]:
        """(thinking pieces, answer pieces, output tokens, stop reason) under max_tokens."""
        pieces = self.owner.pieces(body)
        thinks = (body.get("thinking") or {}).get("type") == "enabled"
        think_tokens = self.owner.reasoning_tokens if thinks else 0
        budget = int(body["max_tokens"])
        if think_tokens + len(pieces) <= budget:
            return (THINKING if thinks else []), pieces, think_tokens + len(pieces), "end_turn"
        kept = pieces[: max(0, budget - think_tokens)]
        return (THINKING if thinks else []), kept, budget, "max_tokens"

    def _message_obj(self, body: dict[str, Any], pieces: list[str], thinking: list[str],
                     spent: int, stop: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if thinking:
            content.append({"type": "thinking", "thinking": "".join(thinking),
                            "signature": "sig"})
        content.append({"type": "text", "text": "".join(pieces)})
        return {"id": "msg_fake", "type": "message", "role": "assistant",
                "model": body.get("model"), "content": content, "stop_reason": stop,
                "stop_sequence": None, "usage": {**self._input_usage(body),
                                                 "output_tokens": spent}}

    def _input_usage(self, body: dict[str, Any]) -> dict[str, int]:
        o = self.owner
        return {"input_tokens": _prompt_tokens(body), "cache_read_input_tokens":
                o.cache_read_tokens, "cache_creation_input_tokens": o.cache_write_tokens}

    async def _stream(self, body: dict[str, Any], fault: Any, thinking: list[str],
                      pieces: list[str], spent: int, stop: str) -> None:
        o = self.owner
        await self.conn.start_stream(chunked=True)
        start: dict[str, Any] = {"id": "msg_fake", "type": "message", "role": "assistant",
                 "model": body.get("model"), "content": [], "stop_reason": None,
                 "stop_sequence": None, "usage": {**self._input_usage(body), "output_tokens": 1}}
        await self.conn.body(_sse("message_start", {"type": "message_start", "message": start})
                             + _sse("ping", {"type": "ping"}))
        deltas: list[tuple[int, bytes]] = []  # (block index, event) per content delta
        for piece in thinking:
            deltas.append((0, _delta(0, {"type": "thinking_delta", "thinking": piece})))
        text_index = 1 if thinking else 0
        for piece in pieces:
            deltas.append((text_index, _delta(text_index, {"type": "text_delta", "text": piece})))
        block = -1
        sent: list[float] = []  # when each delta was written
        for i, (index, event) in enumerate(deltas):
            await self._until(o.ttft + i * o.itl)
            sent.append(asyncio.get_running_loop().time())
            head = b""
            if index != block:  # a new content block: close the last, open this one
                if block >= 0:
                    head += _block_stop(block, thinking)
                kind = "thinking" if thinking and index == 0 else "text"
                head += _sse("content_block_start", {
                    "type": "content_block_start", "index": index,
                    "content_block": {"type": kind, kind: ""} if kind == "text"
                    else {"type": "thinking", "thinking": "", "signature": ""}})
                block = index
            await self.conn.body(head + event)
            if i == 0 and await self._in_stream_fault(fault):
                return
        if not deltas and await self._in_stream_fault(fault):  # (no delta to follow)
            return
        tail = _block_stop(block, thinking) if block >= 0 else b""
        calls = list(o.tool_calls_fn(body) or []) if o.tool_calls_fn is not None else []
        for k, call in enumerate(calls):
            index = block + 1 + k
            tail += _sse("content_block_start", {
                "type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": f"toolu_{k}", "name": call["name"], "input": {}}})
            args = str(call.get("arguments", ""))
            for j in range(0, len(args), 8):
                tail += _delta(index, {"type": "input_json_delta", "partial_json": args[j:j + 8]})
            tail += _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        stop = "tool_use" if calls else stop
        usage = {"output_tokens": spent}
        tail += _sse("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": stop, "stop_sequence": None}, "usage": usage})
        tail += _sse("message_stop", {"type": "message_stop"})
        await self.conn.body(tail)
        await self.conn.end_stream()
        if o.timing_log is not None:  # server-side truth, on CLOCK_MONOTONIC
            o.timing_log({"messages": body.get("messages"), "arrived": self.req.arrived,
                          "sent": sent, "first_sent": sent[0] if sent else None})

    async def _in_stream_fault(self, fault: Any) -> bool:
        """An `error` event, or the connection cut, where `fault` is one (after the first
        delta, or where there is none, after `message_start`)."""
        if fault == AnthropicFault.OVERLOADED_EVENT:
            await self.conn.body(_sse("error", _error("overloaded_error", "Overloaded")))
            await self.conn.end_stream()
            return True
        if fault == AnthropicFault.CUT:
            self.conn.reset()
            return True
        return False

    async def _until(self, offset: float) -> None:
        delay = self.req.arrived + offset - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)


def _invalid(body: dict[str, Any], output_limit: int | None = None) -> str | None:
    """What the API says of a malformed request, or None."""
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if output_limit is not None and body["max_tokens"] > output_limit:
        return (f"max_tokens: {body['max_tokens']} > {output_limit}, which is the maximum "
                f"allowed number of output tokens for {body.get('model')}")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: Field required"
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        if body.get("temperature", 1) != 1:
            return ("`temperature` may only be set to 1 when thinking is enabled. Please "
                    "consult our documentation at https://docs.claude.com/en/docs/"
                    "build-with-claude/extended-thinking")
        if int(thinking.get("budget_tokens", 0)) >= body["max_tokens"]:
            return "`max_tokens` must be greater than `thinking.budget_tokens`."
    if "temperature" in body and "top_p" in body:
        return "`temperature` and `top_p` cannot both be specified for this model."
    if any(not str(x).strip() for x in body.get("stop_sequences") or ()):
        return "stop_sequences: each stop sequence must contain non-whitespace"
    if not 0 <= body.get("temperature", 1) <= 1:
        return "temperature: Input should be less than or equal to 1"
    return None


def _prompt_tokens(body: dict[str, Any]) -> int:
    return len(json.dumps([body.get("system"), body.get("messages")]).split())


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": delta})


def _block_stop(index: int, thinking: list[str]) -> bytes:
    out = b""
    if thinking and index == 0:  # a thinking block ends with its signature
        out += _delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM..."})
    return out + _sse("content_block_stop", {"type": "content_block_stop", "index": index})


__all__ = ["AnthropicFault", "FakeAnthropicServer"]
