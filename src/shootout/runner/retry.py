"""Retries with exponential backoff and full jitter, honouring Retry-After, within a budget."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import ProviderError, RejectedRequestError, RetryableProviderError
from ..providers.http_errors import QUOTA_CODES

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


# refusals that say the credentials or the model are wrong, not the item: after REFUSED_RUN
# of them alike, before any answer, the model's other requests are not sent (not 403: a
# gateway's moderation refuses an item with it, OpenRouter's "your input was flagged")
REFUSED_STATUSES = frozenset({401, 404})
REFUSED_RUN = 3


class RetryBudget:
    """Retries a model may spend in one run, so a dead endpoint fails fast rather than forever;
    and whether its requests are refused outright (`refused`: the same 401 or 404
    REFUSED_RUN times before any answer, as a key that `/models` did not check, or a model
    the endpoint does not serve: every item's request was sent to be refused the same way,
    14,000 of them for MMLU). An answer, even one of a request sent before the refusals
    came, lifts it: the refusals were not the model's."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.spent = 0
        self.waited = 0.0  # seconds slept before retries (backoff, or the server's Retry-After)
        self.refused: str | None = None  # the refusal that stopped the model's requests
        self._answered = False
        self._alike: tuple[str, int] = ("", 0)  # the last refusal, and how many in a row
        self.quota = False  # `refused` says the account's quota is used up

    def note(self, error: ProviderError | None) -> None:
        """A request's outcome: answered (None), or failed with `error`. A quota used up
        (`http_errors.QUOTA_CODES`) stops the model's requests after REFUSED_RUN alike
        whether or not it answered before, and an answer (of a request sent before) does
        not lift it: the quota ran out during the run."""
        if self.quota:
            return
        if error is None:
            self._answered, self.refused = True, None
            return
        quota = isinstance(error, RejectedRequestError) and error.code in QUOTA_CODES
        if not quota and (self._answered or not isinstance(error, RejectedRequestError)
                          or error.status not in REFUSED_STATUSES):
            self._alike = ("", 0)
            return
        text = str(error)
        n = self._alike[1] + 1 if text == self._alike[0] else 1
        self._alike = (text, n)
        if n >= REFUSED_RUN:
            self.refused, self.quota = text, quota

    def refusal(self) -> str:
        """Why a request of the model is not sent (where `refused`)."""
        when = "" if self.quota else " before any answer"
        return (f"not sent: the model's requests were refused alike {REFUSED_RUN} times"
                f"{when} ({self.refused}); a rerun sends them")

    def take(self) -> bool:
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        self.spent += 1
        return True


class RetriesExhausted(Exception):
    """`attempts` made, the last failing with `last`; `budget_spent`: the model's retry
    budget ran out before the policy's attempts did (said in the sample's error: "after 1
    attempts: HTTP 500" read as an endpoint that failed once; an audit's)."""

    def __init__(self, last: RetryableProviderError, attempts: int,
                 budget_spent: bool = False) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts
        self.budget_spent = budget_spent


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
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(e, attempt) from e
            if not budget.take():
                raise RetriesExhausted(e, attempt, budget_spent=True) from e
            delay = policy.delay(attempt - 1, e.retry_after, rng)
            budget.waited += delay
            await asyncio.sleep(delay)
