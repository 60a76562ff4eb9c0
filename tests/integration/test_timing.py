"""Measured TTFT and ITL against a local server with known, injected delays
(`shootout.testing.timing`, which says how each is checked against what the server did).

Within 2 ms at concurrency 1 (TTFT 50 ms, ITL 20 ms) and 5 ms at concurrency 64 (TTFT 50 ms,
ITL 100 ms). Why a longer ITL at 64: on two shared cores the client spends about 0.2 ms of CPU
per streamed chunk and 2-3 ms per request (benchmarks/client_overhead.py), so 64 streams at
20 ms (3,200 chunks/s) need more than the one core its event loop can use, and at 50 ms they
need about half a core, more than a loaded machine leaves it: the client would be measuring
its own queue. (ITL itself stays within 5 ms at 64 x 20 ms; TTFT does not.) A busy machine can
delay any process for milliseconds, so each check gets up to three attempts and passes on the
first good one.
"""

from __future__ import annotations

import pytest

from shootout.testing.timing import measure


@pytest.mark.parametrize(
    ("concurrency", "n_requests", "itl", "tolerance", "http", "api"),
    [(1, 24, 0.020, 0.002, "httpx", "openai"), (64, 192, 0.100, 0.005, "httpx", "openai"),
     (1, 24, 0.020, 0.002, "aiohttp", "openai"), (64, 192, 0.100, 0.005, "aiohttp", "openai"),
     # Anthropic's Messages API, on its default stack
     (1, 24, 0.020, 0.002, "aiohttp", "anthropic"),
     (64, 192, 0.100, 0.005, "aiohttp", "anthropic")],
)
def test_measured_ttft_and_itl_match_injected(tmp_path, concurrency, n_requests, itl, tolerance,
                                              http, api):
    tries = []
    for attempt in range(3):
        m = measure(tmp_path, concurrency, n_requests, itl, attempt, http, api)
        tries.append(m)
        if max(m.errors().values()) <= tolerance:
            break
    best = min(tries, key=lambda m: max(m.errors().values()))
    for what, err in best.errors().items():
        assert err <= tolerance, (
            f"c={concurrency}: {what} off by {err * 1000:.2f} ms "
            f"(tolerance {tolerance * 1000:.0f} ms); " + "; ".join(t.report() for t in tries)
        )
