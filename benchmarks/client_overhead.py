"""The client's own overhead: requests/s and CPU-ms per request against an instant server.

    .venv/bin/python benchmarks/client_overhead.py [--concurrency 1,64,512] [--requests 2000]
                                                   [--tokens 16] [--itl 0] [--json]
                                                   [--http httpx|aiohttp]

The server (shootout.testing's fake OpenAI server, asyncio, in its own process so none of its
CPU time is counted) answers at once: every request streams `--tokens` one-token chunks with
no delay (`--itl` > 0 spaces them, one read per chunk). The client is what `shootout run` and
`shootout perf` use: the OpenAIProvider (httpx, streaming, timing stamped as bytes arrive),
driven by the perf load generator at each concurrency. Reported per level:

  req/s        completed requests / wall-clock seconds
  CPU-ms/req   the client process's CPU time (time.process_time: user + system, all
               threads) / completed requests
  CPU share    CPU seconds / wall seconds (1.0 = one core busy; the event loop cannot use more)
  TTFT p50     the client's own time to first chunk against a server that waits for nothing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from typing import Any

from shootout.perf.load import Level, LoadSpec, run_level
from shootout.perf.prompts import synthetic_requests
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_server import FakeServerProcess


async def measure(url: str, concurrency: int, n: int, tokens: int, http: str = "httpx"
                  ) -> dict[str, Any]:
    provider = OpenAIProvider(model="fake-model", base_url=url, concurrency=concurrency,
                              http=http)
    try:
        prompts = await synthetic_requests(n, 32, tokens, chat=True, seed=concurrency)
        warm = Level("concurrency", float(concurrency))
        await run_level(provider.generate, prompts[: min(n, concurrency)], warm,
                        LoadSpec(max_requests=min(n, concurrency)))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = await run_level(provider.generate, prompts, Level("concurrency", concurrency),
                                 LoadSpec(max_requests=n, duration=600))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await provider.aclose()
    ok = result.ok
    ttfts = [r.ttft for r in ok if r.ttft is not None]
    return {
        "concurrency": concurrency,
        "requests": n,
        "completed": len(ok),
        "errors": len(result.records) - len(ok),
        "wall_s": wall,
        "cpu_s": cpu,
        "requests_per_s": len(ok) / wall,
        "cpu_ms_per_request": 1000 * cpu / max(1, len(ok)),
        "cpu_share": cpu / wall,
        "ttft_ms_median": 1000 * statistics.median(ttfts) if ttfts else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", default="1,64,512")
    ap.add_argument("--requests", type=int, default=2000, help="per level (at least 4 x c)")
    ap.add_argument("--tokens", type=int, default=16, help="streamed chunks per answer")
    ap.add_argument("--itl", type=float, default=0.0, help="server delay between chunks, s")
    ap.add_argument("--http", default="httpx", choices=("httpx", "aiohttp"),
                    help="the client's HTTP stack (-M http=...)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    levels = [int(x) for x in a.concurrency.split(",") if x.strip()]
    rows = []
    with FakeServerProcess(ttft=0.0, itl=a.itl) as srv:
        for c in levels:
            n = max(a.requests, 4 * c)
            rows.append(asyncio.run(measure(srv.base_url, c, n, a.tokens, a.http)))
            if not a.json:
                r = rows[-1]
                print(f"c={c:<4} {r['completed']:>5} req  {r['requests_per_s']:8.1f} req/s  "
                      f"{r['cpu_ms_per_request']:6.2f} CPU-ms/req  CPU share "
                      f"{r['cpu_share']:.2f}  TTFT p50 {r['ttft_ms_median']:.2f} ms  "
                      f"errors {r['errors']}", flush=True)
    env = {"python": platform.python_version(), "cpus": os.cpu_count(),
           "loadavg": os.getloadavg(), "tokens": a.tokens, "itl": a.itl, "http": a.http}
    if a.json:
        print(json.dumps({"env": env, "levels": rows}, indent=2))
    else:
        print(f"({env})")


if __name__ == "__main__":
    main()
