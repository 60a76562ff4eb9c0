"""Rate limits: requests- and tokens-per-minute pacing (a token bucket, on a fake clock), the
server's `retry-after-ms`, and the time spent waiting shown after a run."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from shootout.cli.results import waiting_line
from shootout.config import validate_config
from shootout.errors import RetryableProviderError
from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.http import retry_after
from shootout.runner.pacing import Pacer, token_cost
from shootout.runner.retry import RetryBudget, RetryPolicy, with_retries
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider

REQ = GenerateRequest(messages=(Message("user", "x" * 400),), sampling=Sampling(max_tokens=100))


class Clock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _send_times(pacer: Pacer, clock: Clock, n: int) -> list[float]:
    async def go() -> list[float]:
        out = []
        for _ in range(n):
            await pacer.wait(REQ)
            out.append(clock.now)
        return out

    return asyncio.run(go())


def test_requests_per_minute_allow_a_second_of_burst_then_pace():
    clock = Clock()
    pacer = Pacer(60, None, clock=clock, sleep=clock.sleep)
    assert _send_times(pacer, clock, 6) == [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    assert pacer.waited == pytest.approx(4.0)  # each of the last four held back 1 s


def test_tokens_per_minute_count_the_prompt_and_the_output_budget():
    assert token_cost(REQ) == 100 + 100  # 400 characters ~ 100 tokens, and max_tokens
    clock = Clock()
    pacer = Pacer(None, 6_000, clock=clock, sleep=clock.sleep)  # 100 tokens a second
    assert _send_times(pacer, clock, 4) == [0.0, 1.0, 3.0, 5.0]
    # both limits: the stricter one holds a request back
    clock = Clock()
    both = Pacer(6, 60_000, clock=clock, sleep=clock.sleep)  # 1 request per 10 s
    assert _send_times(both, clock, 3) == [0.0, 9.0, 19.0]


def test_a_log_likelihood_request_counts_one_request_per_choice():
    """It is sent as one completions-echo request per choice (`providers.openai`): under
    --rpm 60, a 4-choice item uses 4 seconds of the rate, not 1."""
    from shootout.providers.base import LoglikelihoodRequest
    from shootout.runner.pacing import request_count

    ll = LoglikelihoodRequest(pairs=tuple(("Question: x\nAnswer:", f" {c}") for c in "ABCD"))
    assert request_count(ll) == 4 and request_count(REQ) == 1
    clock = Clock()
    pacer = Pacer(60, None, clock=clock, sleep=clock.sleep)

    async def go() -> list[float]:
        out = []
        for _ in range(3):
            await pacer.wait(ll)
            out.append(clock.now)
        return out

    assert asyncio.run(go()) == [0.0, 3.0, 7.0]


def test_retry_after_ms_comes_before_retry_after():
    def resp(headers: dict[str, str]) -> httpx.Headers:
        return httpx.Response(429, headers=headers).headers

    assert retry_after(resp({"retry-after-ms": "250", "retry-after": "3"})) == 0.25
    assert retry_after(resp({"retry-after": "3"})) == 3.0
    assert retry_after(resp({"retry-after-ms": "soon", "retry-after": "2"})) == 2.0
    assert retry_after(resp({})) is None
    # aiohttp's headers (the aiohttp stack's path): as case-insensitive
    from multidict import CIMultiDict

    assert retry_after(CIMultiDict({"Retry-After-Ms": "250"})) == 0.25


def test_backoff_time_is_counted():
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RetryableProviderError("HTTP 429", retry_after=0.01)
        return "ok"

    budget = RetryBudget(10)
    policy = RetryPolicy(base_delay=0.001)
    result, attempts = asyncio.run(with_retries(flaky, policy, budget, random.Random(1)))
    assert (result, attempts) == ("ok", 3)
    assert 0.02 <= budget.waited < 0.03


def test_a_run_is_paced_and_says_how_long_it_waited(tmp_path, data_dir):
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "m", "rpm": 600}],
                           "benchmarks": ["arc_easy"], "limit": 14}, "test")
    store = Store(tmp_path / "s.sqlite")
    provider = FakeProvider(answer="Answer: A")
    run_id = asyncio.run(Runner(cfg, store).run({"m": provider}))
    waiting = store.get_run(run_id)["manifest"]["models"]["m"]["waiting"]
    # 10 a second with a second's burst: 11 at once, then one each 0.1 s: at most 0.1 + 0.2
    # + 0.3 s held back (less as the run's own time passes)
    assert waiting["rpm"] == 600 and 0 < waiting["rate_limit_pacing_s"] <= 0.6 + 1e-3
    assert waiting["retry_backoff_s"] == 0.0
    manifest = store.get_run(run_id)["manifest"]
    line = waiting_line(manifest)
    assert line.startswith("requests held back (summed over requests, which wait at once) · "
                           "m: ") and line.endswith("s pacing to its rate limits"), line
    # cached answers are not paced: a second run of the same requests waits for nothing
    again = validate_config({"models": [{"spec": "openai:fake", "name": "n", "rpm": 600}],
                             "benchmarks": ["arc_easy"], "limit": 14}, "test")
    run2 = asyncio.run(Runner(again, store).run({"n": provider}))
    assert store.get_run(run2)["manifest"]["models"]["n"]["waiting"]["rate_limit_pacing_s"] == 0
    assert waiting_line(store.get_run(run2)["manifest"]) == ""
