"""A provider for a Messages-style API (Anthropic's wire format), built on shootout's shared
HTTP helpers: one file, registered with one line (`register_provider(MessagesProvider)`)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import httpx

from shootout.errors import RetryableProviderError
from shootout.providers.base import (
    BaseProvider,
    Capabilities,
    GenerateRequest,
    GenerateResponse,
    ProviderOptions,
    Timing,
    Usage,
)
from shootout.providers.http import HTTPClient, count, parse_json


class MessagesOptions(ProviderOptions):
    base_url: str = "https://api.anthropic.com/v1"
    api_key_env: str = "ANTHROPIC_API_KEY"
    concurrency: int = 8


class MessagesProvider(BaseProvider):
    prefixes: ClassVar[tuple[str, ...]] = ("messages",)
    Options: ClassVar[type[ProviderOptions]] = MessagesOptions
    spec_help: ClassVar[str] = "messages:MODEL (a Messages-style API)"

    def __init__(self, model: str, transport: httpx.AsyncBaseTransport | None = None,
                 **options: Any) -> None:
        self.options = o = MessagesOptions.model_validate(options)
        self.model, self.model_id = model, f"messages:{model}"
        self.http = HTTPClient(o.base_url, api_key_env=o.api_key_env, auth_header="x-api-key",
                               auth_prefix="", headers={"anthropic-version": "2023-06-01"},
                               max_connections=o.concurrency, transport=transport)

    @classmethod
    def from_spec(cls, argument: str, options: ProviderOptions,
                  context_needed: int | None = None) -> MessagesProvider:
        return cls(argument, **options.model_dump(exclude_unset=True))

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=True, max_connections=self.options.concurrency)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        s = request.sampling
        msgs = request.messages or ()
        body: dict[str, Any] = {
            "model": self.model, "max_tokens": s.max_tokens, "temperature": s.temperature,
            "stream": True, "messages": [{"role": m.role, "content": m.content}
                                         for m in msgs if m.role != "system"],
        }
        if system := [m.content for m in msgs if m.role == "system"]:
            body["system"] = "\n".join(system)
        if s.stop:
            body["stop_sequences"] = list(s.stop)
        return await self.http.redacting(self._stream(body))

    async def _stream(self, body: dict[str, Any]) -> GenerateResponse:
        t0, text, times, usage, stop = time.perf_counter(), [], [], {}, None
        async for arrival, data in self.http.events("/messages", body, t0):
            event = parse_json(data, "/messages")
            kind = event.get("type")
            if kind == "error":  # overloaded mid-stream: worth another try
                raise RetryableProviderError(f"stream error: {event.get('error')}")
            if kind == "message_start":
                usage.update(event["message"].get("usage", {}))
            elif kind == "content_block_delta" and event["delta"].get("type") == "text_delta":
                text.append(event["delta"]["text"])
                times.append(arrival)
            elif kind == "message_delta":
                usage.update(event.get("usage", {}))
                stop = event["delta"].get("stop_reason")
            elif kind == "message_stop":
                break
        else:
            raise RetryableProviderError("/messages: stream ended without message_stop")
        return GenerateResponse(
            text="".join(text), finish_reason=stop, model_reported=self.model,
            usage=Usage(prompt_tokens=count(usage.get("input_tokens")),
                        completion_tokens=count(usage.get("output_tokens"))),
            timing=Timing(ttft=times[0] if times else None, e2e=time.perf_counter() - t0,
                          chunk_times=tuple(times)))
