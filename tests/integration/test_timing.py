"""Measured TTFT and ITL against a local server with known, injected delays.

The server (`FakeServerProcess`: real HTTP on 127.0.0.1, asyncio, in its own process so its CPU
time and GIL are not the client's) sends chunk i of every stream at request arrival + TTFT +
i x ITL, and logs when it received each request and wrote each chunk, on CLOCK_MONOTONIC. The
client is the project's OpenAIProvider driven by the perf load generator; it stamps arrivals on
the same clock (time.perf_counter is CLOCK_MONOTONIC on Linux). So each measurement is checked
against what the server actually did, not against sleeps, and with medians:

  1. the server injects what it claims: realized TTFT and chunk gaps match the injected values;
  2. ITL: the client's median gap between chunks matches the injected ITL (and the server's);
  3. TTFT: the client's TTFT minus the request's upload (client start -> server arrival, the
     part of TTFT before the server starts its clock) matches the injected TTFT; and per
     request the client's TTFT exceeds the true one (server's write of the first chunk - client
     start) only by the delivery latency: bytes are stamped when they arrive.

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

import asyncio
import json
import statistics
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from shootout.perf.load import Level, LoadSpec, run_level
from shootout.perf.prompts import synthetic_requests
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_server import FakeServerProcess

TTFT, TOKENS = 0.050, 16


@dataclass(frozen=True)
class Measured:
    itl: float  # the injected ITL
    client_ttft: float  # medians, seconds
    client_itl: float
    server_ttft: float
    server_itl: float
    upload: float
    delivery: float
    n: int

    def errors(self) -> dict[str, float]:
        return {
            "server TTFT vs injected": abs(self.server_ttft - TTFT),
            "server ITL vs injected": abs(self.server_itl - self.itl),
            "client ITL vs injected": abs(self.client_itl - self.itl),
            "client ITL vs server": abs(self.client_itl - self.server_itl),
            "client TTFT - upload vs injected": abs(self.client_ttft - self.upload - TTFT),
            "client TTFT vs true TTFT (delivery)": abs(self.delivery),
        }

    def report(self) -> str:
        ms = {k: round(v * 1000, 2) for k, v in self.__dict__.items() if k not in ("n", "itl")}
        return f"n={self.n} medians (ms): {ms}"


def _measure(tmp_path: Path, concurrency: int, n_requests: int, itl: float, attempt: int,
             http: str = "httpx") -> Measured:
    log = tmp_path / f"timing-{concurrency}-{http}-{attempt}.jsonl"
    with FakeServerProcess(ttft=TTFT, itl=itl, timing_log=str(log)) as srv:
        result, prompts = asyncio.run(_client(srv.base_url, concurrency, n_requests, itl, http))
    server = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        server[rec["messages"][0]["content"]] = rec
    ttft_c, itl_c, ttft_s, itl_s, upload, delivery = [], [], [], [], [], []
    for r in result.records:
        assert r.error is None, r.error
        assert r.metrics is not None and r.metrics.ttft is not None
        s = server[prompts[r.index].messages[0].content]  # type: ignore[index]
        start = result.t0 + r.start
        ttft_c.append(r.metrics.ttft)
        itl_c.extend(r.metrics.itls)
        ttft_s.append(s["sent"][0] - s["arrived"])
        itl_s.extend(b - a for a, b in pairwise(s["sent"]))
        upload.append(s["arrived"] - start)
        delivery.append(r.metrics.ttft - (s["sent"][0] - start))
    assert len(ttft_c) == n_requests
    med = statistics.median
    return Measured(itl, med(ttft_c), med(itl_c), med(ttft_s), med(itl_s), med(upload),
                    med(delivery), len(ttft_c))


async def _client(url: str, concurrency: int, n_requests: int, itl: float, http: str):
    provider = OpenAIProvider(model="fake-model", base_url=url, concurrency=concurrency,
                              http=http)
    try:
        prompts = await synthetic_requests(n_requests, 32, TOKENS, chat=True, seed=1)
        await provider.generate(prompts[0])  # warm-up
        # workers start spread over one request's duration, as independent users would, not
        # in lockstep (64 requests set up in the same instant queue behind each other)
        spec = LoadSpec(max_requests=n_requests, duration=120,
                        ramp_up=TTFT + (TOKENS - 1) * itl)
        result = await run_level(provider.generate, prompts, Level("concurrency", concurrency),
                                 spec)
        return result, prompts
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    ("concurrency", "n_requests", "itl", "tolerance", "http"),
    [(1, 24, 0.020, 0.002, "httpx"), (64, 192, 0.100, 0.005, "httpx"),
     (1, 24, 0.020, 0.002, "aiohttp"), (64, 192, 0.100, 0.005, "aiohttp")],
)
def test_measured_ttft_and_itl_match_injected(tmp_path, concurrency, n_requests, itl, tolerance,
                                              http):
    tries = []
    for attempt in range(3):
        m = _measure(tmp_path, concurrency, n_requests, itl, attempt, http)
        tries.append(m)
        if max(m.errors().values()) <= tolerance:
            break
    best = min(tries, key=lambda m: max(m.errors().values()))
    for what, err in best.errors().items():
        assert err <= tolerance, (
            f"c={concurrency}: {what} off by {err * 1000:.2f} ms "
            f"(tolerance {tolerance * 1000:.0f} ms); " + "; ".join(t.report() for t in tries)
        )
