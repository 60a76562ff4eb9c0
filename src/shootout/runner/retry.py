"""Retries with exponential backoff and full jitter, honouring Retry-After, within a budget."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import RetryableProviderError

T = TypeVar("T")


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + rng.uniform(0, self.base_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class RetryBudget:
    """Retries a model may spend in one run, so a dead endpoint fails fast rather than forever."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.spent = 0
        self.waited = 0.0  # seconds slept before retries (backoff, or the server's Retry-After)

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        self.spent += 1
        return True


class RetriesExhausted(Exception):
    def __init__(self, last: RetryableProviderError, attempts: int) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    budget: RetryBudget,
    rng: random.Random,
) -> tuple[T, int]:
    """Run `call`, retrying transient failures; return (result, attempts)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except RetryableProviderError as e:
            if attempt >= policy.max_attempts or not budget.take():
                raise RetriesExhausted(e, attempt) from e
            delay = policy.delay(attempt - 1, e.retry_after, rng)
            budget.waited += delay
            await asyncio.sleep(delay)
