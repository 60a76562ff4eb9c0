"""Measured TTFT and ITL against a local server with known, injected delays: the measurement
behind `tests/integration/test_timing.py` and `benchmarks/timing_accuracy.py`.

The server (`FakeServerProcess`: real HTTP on 127.0.0.1, asyncio, in its own process so its
CPU time and GIL are not the client's) sends chunk i of every stream at request arrival + TTFT
+ i x ITL, and logs when it received each request and wrote each chunk, on CLOCK_MONOTONIC.
The client is the project's OpenAIProvider (`api="anthropic"`: the AnthropicProvider against
the fake Messages API, which logs the same) driven by the perf load generator; it stamps
arrivals on the same clock (time.perf_counter is CLOCK_MONOTONIC on Linux). So each
measurement is checked against what the server actually did, not against sleeps:

  1. the server injects what it claims: realized TTFT and chunk gaps match the injected values;
  2. ITL: the client's median gap between chunks matches the injected ITL (and the server's);
  3. TTFT: the client's TTFT minus the request's upload (client start -> server arrival, the
     part of TTFT before the server starts its clock) matches the injected TTFT; and per
     request the client's TTFT exceeds the true one (server's write of the first chunk - client
     start) only by the delivery latency: bytes are stamped when they arrive.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..perf.load import Level, LoadSpec, run_level
from ..perf.prompts import synthetic_requests
from ..providers.anthropic import AnthropicProvider
from ..providers.openai import OpenAIProvider
from .fake_process import FakeServerProcess

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
    delivery_p99: float = 0.0  # the 99th percentile of the per-request delivery

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


def measure(tmp_path: Path, concurrency: int, n_requests: int, itl: float, attempt: int,
            http: str = "httpx", api: str = "openai") -> Measured:
    """One load level against a fresh server, every request checked against its log."""
    log = tmp_path / f"timing-{api}-{concurrency}-{http}-{attempt}.jsonl"
    with FakeServerProcess(ttft=TTFT, itl=itl, timing_log=str(log),
                           anthropic=api == "anthropic") as srv:
        result, prompts = asyncio.run(_client(srv.base_url, concurrency, n_requests, itl, http,
                                              api))
    server = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        server[rec["messages"][-1]["content"]] = rec
    ttft_c: list[float] = []
    itl_c: list[float] = []
    ttft_s: list[float] = []
    itl_s: list[float] = []
    upload: list[float] = []
    delivery: list[float] = []
    for r in result.records:
        if r.error is not None:
            raise AssertionError(r.error)
        if r.metrics is None or r.metrics.ttft is None:
            raise AssertionError(f"request {r.index} has no TTFT")
        s = server[prompts[r.index].messages[-1].content]
        start = result.t0 + r.start
        ttft_c.append(r.metrics.ttft)
        itl_c.extend(r.metrics.itls)
        ttft_s.append(s["sent"][0] - s["arrived"])
        itl_s.extend(b - a for a, b in pairwise(s["sent"]))
        upload.append(s["arrived"] - start)
        delivery.append(r.metrics.ttft - (s["sent"][0] - start))
    if len(ttft_c) != n_requests:
        raise AssertionError(f"{len(ttft_c)} of {n_requests} requests measured")
    med = statistics.median
    p99 = sorted(delivery)[min(len(delivery) - 1, int(0.99 * len(delivery)))]
    return Measured(itl, med(ttft_c), med(itl_c), med(ttft_s), med(itl_s), med(upload),
                    med(delivery), len(ttft_c), p99)


async def _client(url: str, concurrency: int, n_requests: int, itl: float, http: str,
                  api: str = "openai") -> tuple[Any, Any]:
    provider: Any = (
        AnthropicProvider("fake-model", base_url=url, concurrency=concurrency, http=http)
        if api == "anthropic" else
        OpenAIProvider(model="fake-model", base_url=url, concurrency=concurrency, http=http))
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
