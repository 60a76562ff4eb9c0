"""Any OpenAI-compatible endpoint (OpenAI, Moonshot, DeepSeek, vLLM, SGLang, llama.cpp, Ollama).

A lean httpx client: streaming chat and text completions with timing stamped where bytes arrive,
and log-likelihood through completions `echo` + `logprobs` where the server supports it.
The API key is read from the environment at construction and kept only in the client's headers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import (
    CapabilityError,
    ConfigError,
    EndpointUnreachableError,
    ProviderError,
    RetryableProviderError,
)
from .base import (
    BaseProvider,
    ContinuationScore,
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Timing,
    Usage,
)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


@dataclass
class OpenAIProvider(BaseProvider):
    model: str
    base_url: str
    api_key_env: str = "OPENAI_API_KEY"
    chat: bool = True
    concurrency: int = 32
    timeout: float = 120.0
    logprobs: bool = False
    extra_body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"--base-url must start with http:// or https://: {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")
        self.model_id = f"openai:{self.model}"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._secret = key or None
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=10.0),
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
        )
        self._stream_usage = True
        self._server_info: dict[str, Any] = {}

    @property
    def supports_loglikelihood(self) -> bool:
        return self.logprobs

    @property
    def is_chat(self) -> bool:
        return self.chat

    @property
    def max_connections(self) -> int:
        return self.concurrency

    def info(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "base_url": self.base_url, **self._server_info}

    def cache_identity(self) -> str:
        return f"{self.model_id}@{self.base_url}"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check(self) -> None:
        """Fail fast with one line when the endpoint cannot be reached at all."""
        try:
            resp = await self._client.get(f"{self.base_url}/models", timeout=10.0)
        except httpx.TransportError as e:
            raise EndpointUnreachableError(
                f"cannot reach {self.base_url}: {_transport_reason(e)}"
            ) from e
        if resp.status_code in (401, 403):
            raise ProviderError(
                f"{self.base_url} refused the credentials (HTTP {resp.status_code}); "
                f"check ${self.api_key_env}"
            )
        if resp.status_code == 200:
            try:
                data = resp.json().get("data", [])
                ids = [m.get("id") for m in data if isinstance(m, dict)]
                self._server_info["server_models"] = ids[:20]
                for m in data:
                    if isinstance(m, dict) and m.get("id") == self.model:
                        self._server_info["server_model"] = {
                            k: v for k, v in m.items() if isinstance(v, str | int | float)
                        }
            except (ValueError, AttributeError):
                pass
        if server := resp.headers.get("server"):
            self._server_info["server_header"] = server

    # -- generation -----------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "stream": True,
            **self.extra_body,
        }
        if s.stop:
            body["stop"] = list(s.stop)
        if s.seed is not None:
            body["seed"] = s.seed
        path = _add_input(body, request)
        if self._stream_usage:
            body["stream_options"] = {"include_usage": True}
        try:
            return await self._redacting(self._stream(path, body))
        except ProviderError as e:
            if self._stream_usage and "stream_options" in str(e):
                self._stream_usage = False
                body.pop("stream_options", None)
                return await self._redacting(self._stream(path, body))
            raise

    async def count_prompt_tokens(self, request: GenerateRequest) -> int | None:
        """The request's prompt tokens as the server counts them: one non-streamed call that
        generates a single token (streams from some servers, llama-cpp-python's among them,
        carry no usage). None if the server reports no usage."""
        body: dict[str, Any] = {
            "model": self.model, "max_tokens": 1, "temperature": 0.0, "stream": False,
            **self.extra_body,
        }
        path = _add_input(body, request)
        data = await self._redacting(self._post_json(path, body))
        usage = data.get("usage")
        n = _count(usage.get("prompt_tokens")) if isinstance(usage, dict) else 0
        return n or None

    async def _redacting(self, coro: Any) -> Any:
        """A server may echo the request (and so the key) in an error: never let it through."""
        try:
            return await coro
        except ProviderError as e:
            if self._secret and self._secret in str(e):
                e.args = (str(e).replace(self._secret, "[redacted]"),)
            raise

    async def _stream(self, path: str, body: dict[str, Any]) -> GenerateResponse:
        acc = _StreamAccumulator()
        t0 = time.perf_counter()
        try:
            async with self._client.stream("POST", self.base_url + path, json=body) as resp:
                await _raise_for_status(resp, self._secret)
                ctype = resp.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    raise RetryableProviderError(
                        f"expected an event stream from {path}, got content type {ctype!r}"
                    )
                async for arrival, event in _sse_events(resp.aiter_raw(), t0):
                    if event == "[DONE]":
                        acc.done = True
                        break
                    acc.add(arrival, _parse_json(event, path))
        except httpx.TransportError as e:
            raise RetryableProviderError(f"{path}: {_transport_reason(e)}") from e
        e2e = time.perf_counter() - t0
        if not acc.done:
            raise RetryableProviderError(f"{path}: stream ended without [DONE]")
        if not acc.saw_choice:
            raise RetryableProviderError(f"{path}: response had no choices")
        return acc.response(e2e)

    # -- log-likelihood -------------------------------------------------------------------
    async def loglikelihood(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse:
        if not self.logprobs:
            raise CapabilityError(
                f"{self.model_id}: log-likelihood scoring is off for this endpoint; pass "
                "--logprobs if it supports completions echo+logprobs, else use generative scoring"
            )
        scores: list[ContinuationScore] = []
        usage = Usage()
        t0 = time.perf_counter()
        for context, continuation in request.pairs:
            score, prompt_tokens = await self._score_pair(context, continuation)
            scores.append(score)
            usage = Usage(prompt_tokens=usage.prompt_tokens + prompt_tokens)
        return LoglikelihoodResponse(
            scores=tuple(scores), usage=usage, timing=Timing(e2e=time.perf_counter() - t0)
        )

    async def _score_pair(self, context: str, continuation: str) -> tuple[ContinuationScore, int]:
        body = {
            "model": self.model,
            "prompt": context + continuation,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        data = await self._redacting(self._post_json("/completions", body))
        try:
            lp = data["choices"][0]["logprobs"]
            offsets, tokens = lp["text_offset"], lp["tokens"]
            token_lps, tops = lp["token_logprobs"], lp.get("top_logprobs") or []
        except (KeyError, IndexError, TypeError) as e:
            raise CapabilityError(
                f"{self.base_url} returned no prompt logprobs (echo unsupported?); "
                "score this model generatively"
            ) from e
        start, end = len(context), len(context) + len(continuation)
        total, greedy, n = 0.0, True, 0
        for i, off in enumerate(offsets):
            if off < start or off >= end or i >= len(token_lps) or token_lps[i] is None:
                continue
            total += float(token_lps[i])
            n += 1
            if i < len(tops) and tops[i]:
                best = max(tops[i].items(), key=lambda kv: kv[1])[0]
                greedy = greedy and best == tokens[i]
        if n == 0:
            raise RetryableProviderError("completions echo returned no continuation tokens")
        usage = data.get("usage") or {}
        return ContinuationScore(total, greedy, n), int(usage.get("prompt_tokens", 0))

    async def _post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = await self._client.post(self.base_url + path, json=body)
        except httpx.TransportError as e:
            raise RetryableProviderError(f"{path}: {_transport_reason(e)}") from e
        await _raise_for_status(resp, self._secret)
        data = _parse_json(resp.text, path)
        if not data.get("choices"):
            raise RetryableProviderError(f"{path}: response had no choices")
        return data


class _StreamAccumulator:
    """Collects streamed chunks with their arrival times."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.chunk_times: list[float] = []
        self.first_reasoning: float | None = None
        self.first_answer: float | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.done = False
        self.saw_choice = False

    def add(self, arrival: float, chunk: dict[str, Any]) -> None:
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if "error" in chunk:
            raise RetryableProviderError(f"error event in stream: {str(chunk['error'])[:200]}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise RetryableProviderError("stream chunk without a choices list")
        for ch in choices:
            if not isinstance(ch, dict):
                raise RetryableProviderError("stream choice is not an object")
            self.saw_choice = True
            delta = ch.get("delta") or {}
            if not isinstance(delta, dict):
                raise RetryableProviderError("stream delta is not an object")
            piece = delta.get("content") if "delta" in ch else ch.get("text")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if not isinstance(piece, str | None) or not isinstance(reasoning, str | None):
                raise RetryableProviderError("stream content is not text")
            if reasoning:
                self.reasoning.append(reasoning)
                if self.first_reasoning is None:
                    self.first_reasoning = arrival
                self.chunk_times.append(arrival)
            if piece:
                self.text.append(piece)
                if self.first_answer is None:
                    self.first_answer = arrival
                self.chunk_times.append(arrival)
            if ch.get("finish_reason"):
                self.finish_reason = str(ch["finish_reason"])

    def response(self, e2e: float) -> GenerateResponse:
        u = self.usage or {}
        details = u.get("prompt_tokens_details")
        details = details if isinstance(details, dict) else {}
        if self.usage:
            usage = Usage(
                prompt_tokens=_count(u.get("prompt_tokens")),
                completion_tokens=_count(u.get("completion_tokens")),
                cached_tokens=_count(details.get("cached_tokens") or u.get("cached_tokens")),
            )
        else:  # no usage from the server: one streamed chunk is about one token
            usage = Usage(completion_tokens=len(self.chunk_times), estimated=True)
        return GenerateResponse(
            text="".join(self.text),
            reasoning="".join(self.reasoning) or None,
            finish_reason=self.finish_reason,
            usage=usage,
            timing=Timing(
                ttft=self.chunk_times[0] if self.chunk_times else None,
                e2e=e2e,
                chunk_times=tuple(self.chunk_times),
                first_reasoning=self.first_reasoning,
                first_answer=self.first_answer,
            ),
            model_reported=self.model,
        )


async def _sse_events(raw: AsyncIterator[bytes], t0: float) -> AsyncIterator[tuple[float, str]]:
    """Yield (arrival offset, data payload) per SSE event; arrival is when its bytes came in."""
    buf = b""
    async for chunk in raw:
        arrival = time.perf_counter() - t0
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line.startswith(b"data:"):
                yield arrival, line[5:].strip().decode("utf-8", errors="replace")
            elif line and not line.startswith((b":", b"event:", b"id:", b"retry:")):
                raise RetryableProviderError(f"malformed event stream line: {line[:80]!r}")


def _add_input(body: dict[str, Any], request: GenerateRequest) -> str:
    """Put the request's messages (chat) or prompt (text) into `body`; return the endpoint."""
    if request.messages is not None:
        body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        return "/chat/completions"
    body["prompt"] = request.prompt
    return "/completions"


def _count(value: Any) -> int:
    """A token count from a server's usage block; garbage counts as 0 (and is not trusted)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RetryableProviderError(f"{where}: malformed JSON from server ({e.msg})") from e
    if not isinstance(data, dict):
        raise RetryableProviderError(f"{where}: expected a JSON object from server")
    return data


async def _raise_for_status(resp: httpx.Response, secret: str | None) -> None:
    if resp.status_code < 400:
        return
    await resp.aread()
    detail = resp.text.strip().replace("\n", " ")
    if secret:  # before truncating, so no prefix of the key survives either
        detail = detail.replace(secret, "[redacted]")
    detail = detail[:200]
    msg = f"HTTP {resp.status_code} from {resp.request.url.path}: {detail}"
    if resp.status_code in RETRY_STATUS:
        raise RetryableProviderError(msg, retry_after=_retry_after(resp))
    raise ProviderError(msg)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _transport_reason(e: httpx.TransportError) -> str:
    text = str(e).strip()
    kind = type(e).__name__
    if isinstance(e, httpx.ConnectError):
        return f"connection failed ({text or kind})"
    if isinstance(e, httpx.TimeoutException):
        return f"timed out ({kind})"
    return f"{kind}: {text}" if text else kind
