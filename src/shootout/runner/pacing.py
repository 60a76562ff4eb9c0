"""Requests-per-minute and tokens-per-minute pacing of one model's requests.

Each limit is a token bucket in its virtual-scheduling form (GCRA): a request of cost c is
due at the bucket's theoretical time, less the burst it tolerates (one second's worth of the
rate), and moves that time on by c / rate. A request that would go early waits. A
log-likelihood request is sent as one HTTP request per choice, and counts as so many. A
request's token cost is what the providers count against a tokens-per-minute limit: its
prompt (estimated, about 4 characters a token) plus the most tokens it may generate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ..benchmarks.base import Request
from ..providers.base import GenerateRequest
from ..scoring.text import estimate_tokens


class _Bucket:
    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.tolerance = 1.0  # seconds of the rate that may go at once
        self.clock = clock
        self.due = clock()

    def reserve(self, cost: float) -> float:
        """Seconds until a request of `cost` may go; the cost is booked either way."""
        now = self.clock()
        due = max(self.due, now)
        start = max(now, due - self.tolerance)
        self.due = due + cost / self.rate
        return start - now


class Pacer:
    """Keeps a model's requests within `rpm` and `tpm` (None: no limit); `waited` sums the
    seconds requests were held back."""

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.requests = _Bucket(rpm, clock) if rpm else None
        self.tokens = _Bucket(tpm, clock) if tpm else None
        self.sleep = sleep
        self.waited = 0.0

    async def wait(self, request: Request) -> None:
        delay = 0.0
        if self.requests is not None:
            delay = max(delay, self.requests.reserve(float(request_count(request))))
        if self.tokens is not None:
            delay = max(delay, self.tokens.reserve(float(token_cost(request))))
        if delay > 0:
            self.waited += delay
            await self.sleep(delay)


def request_count(request: Request) -> int:
    """The HTTP requests a request is sent as: a log-likelihood request one per choice
    (completions echo: `providers.openai`), anything else one."""
    return 1 if isinstance(request, GenerateRequest) else max(1, len(request.pairs))


def token_cost(request: Request) -> int:
    """What a request counts against a tokens-per-minute limit (prompt + most output)."""
    if isinstance(request, GenerateRequest):
        text = request.prompt or "".join(m.content for m in request.messages or ())
        return estimate_tokens(text) + request.sampling.max_tokens
    return sum(estimate_tokens(c + x) for c, x in request.pairs) + len(request.pairs)
