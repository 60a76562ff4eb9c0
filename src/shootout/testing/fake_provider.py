"""FakeProvider: an in-process provider for tests, with scripted answers, latency and failure
injection. No sockets, no model: a runner test with it takes milliseconds.

    provider = FakeProvider(answer=lambda req: "Answer: B", loglikelihood=lambda ctx, cont: -1.0)
    provider = FakeProvider(answer=["A", "B"], fail=fail_every(3, RetryableProviderError("429")))

A `fail` function sees each call's index (0, 1, ...) and request and returns an exception to
raise instead of answering, or None.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..providers.base import (
    BaseProvider,
    Capabilities,
    ContinuationScore,
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Timing,
    Usage,
)

Answer = str | Sequence[str] | Callable[[GenerateRequest], str]
Fail = Callable[[int, GenerateRequest | LoglikelihoodRequest], BaseException | None]


def fail_every(n: int, error: BaseException) -> Fail:
    """Fail the calls whose index is a multiple of `n` (the first, the n+1th, ...)."""
    return lambda i, _req: error if i % n == 0 else None


def fail_at(indices: set[int] | Sequence[int], error: BaseException) -> Fail:
    wanted = set(indices)
    return lambda i, _req: error if i in wanted else None


@dataclass
class FakeProvider(BaseProvider):
    """`answer`: the text of every answer, a list cycled through, or a function of the request.
    `loglikelihood`: a function (context, continuation) -> log-probability; without it the
    provider cannot score by log-likelihood. `latency`: seconds per call (asyncio.sleep)."""

    model_id: str = "fake"
    answer: Answer = "A"
    loglikelihood_fn: Callable[[str, str], float] | None = None
    latency: float = 0.0
    fail: Fail | None = None
    chat: bool = True
    max_connections: int = 8
    response_formats: tuple[str, ...] = ()
    calls: list[GenerateRequest | LoglikelihoodRequest] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            loglikelihood=self.loglikelihood_fn is not None,
            chat=self.chat,
            max_connections=self.max_connections,
            response_formats=self.response_formats,
        )

    async def _begin(self, request: GenerateRequest | LoglikelihoodRequest) -> None:
        index = len(self.calls)
        self.calls.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        error = self.fail(index, request) if self.fail is not None else None
        if error is not None:
            raise error

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        await self._begin(request)
        text = self._text(request)
        return GenerateResponse(
            text=text,
            finish_reason="stop",
            usage=Usage(prompt_tokens=_words(request), completion_tokens=len(text.split())),
            timing=Timing(ttft=self.latency, e2e=self.latency),
            model_reported=self.model_id,
        )

    async def loglikelihood(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse:
        if self.loglikelihood_fn is None:
            return await super().loglikelihood(request)
        await self._begin(request)
        scores = tuple(
            ContinuationScore(self.loglikelihood_fn(c, x), False, max(1, len(x.split())))
            for c, x in request.pairs
        )
        return LoglikelihoodResponse(scores=scores, timing=Timing(e2e=self.latency))

    def _text(self, request: GenerateRequest) -> str:
        if callable(self.answer):
            return self.answer(request)
        if isinstance(self.answer, str):
            return self.answer
        n = sum(isinstance(c, GenerateRequest) for c in self.calls) - 1
        return self.answer[n % len(self.answer)]

    def info(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "fake": True}


def _words(request: GenerateRequest) -> int:
    text = request.prompt or " ".join(m.content for m in request.messages or ())
    return len(text.split())
