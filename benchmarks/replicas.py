"""Throughput of one model behind 1 vs N replicas: fake OpenAI servers (each in its own
process) with a fixed latency per request, the project's own OpenAIProvider spreading the
requests over them (`base_urls`), each replica taking `--per-replica` requests at a time.

    python benchmarks/replicas.py --latency 0.2 --requests 60 --per-replica 2

With a fixed latency L and C requests at a time per replica, one replica serves C/L requests
a second and N replicas N*C/L: the table shows how close the client comes to that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_server import FakeServerProcess


async def _drive(urls: list[str], requests: int, per_replica: int) -> dict[str, Any]:
    provider = OpenAIProvider("fake-model", base_urls=urls, concurrency=per_replica,
                              api_key_env="SHOOTOUT_BENCH_NO_KEY")
    prompts = [GenerateRequest(messages=(Message("user", f"question {i}"),),
                               sampling=Sampling(max_tokens=8)) for i in range(requests)]
    gate = asyncio.Semaphore(provider.capabilities.max_connections)

    async def one(request: GenerateRequest) -> None:
        async with gate:
            await provider.generate(request)

    try:
        await provider.check()
        await provider.generate(prompts[0])  # opens the way (the first request goes alone)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        wall = time.perf_counter() - t0
        info = provider.info()
    finally:
        await provider.aclose()
    served = [r["served"] for r in info.get("replicas", [])] or [requests + 1]
    return {"replicas": len(urls), "requests": requests, "wall_s": wall,
            "req_per_s": requests / wall, "served": served}


def measure(n_replicas: int, latency: float, requests: int, per_replica: int
            ) -> dict[str, Any]:
    """Start `n_replicas` fake servers of a fixed `latency` and drive `requests` through them."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(FakeServerProcess(ttft=latency, fill_max_tokens=False))
                   for _ in range(n_replicas)]
        return asyncio.run(_drive([s.base_url for s in servers], requests, per_replica))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--per-replica", type=int, default=2, help="requests in flight per replica")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    a = ap.parse_args()
    rows = [measure(n, a.latency, a.requests, a.per_replica) for n in a.replicas]
    base = rows[0]["req_per_s"]
    ideal = a.per_replica / a.latency
    print(f"fixed latency {a.latency * 1000:.0f} ms per request, {a.per_replica} in flight per "
          f"replica, {a.requests} requests")
    print(f"{'replicas':>8} {'wall s':>8} {'req/s':>8} {'ideal':>8} {'speed-up':>9}  served")
    for r in rows:
        print(f"{r['replicas']:>8} {r['wall_s']:>8.2f} {r['req_per_s']:>8.2f} "
              f"{ideal * r['replicas']:>8.2f} {r['req_per_s'] / base:>8.2f}x  {r['served']}")


if __name__ == "__main__":
    main()
