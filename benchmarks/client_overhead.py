"""The client's own overhead: requests/s and CPU-ms per request against an instant server.

    .venv/bin/python benchmarks/client_overhead.py [--concurrency 1,64,512] [--requests 2000]
                                                   [--tokens 16] [--itl 0] [--json]
                                                   [--http httpx,aiohttp,aiohttp-transport]
                                                   [--rounds 1] [--no-floor]
                                                   [--api openai|anthropic]

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

Beside each level, the same requests through a bare streaming loop on the same HTTP stack
(`--http`): one pooled client, POST the same JSON body, read the body's lines, json-decode
each `data:` event and keep its arrival time and text, nothing else (no retries, no error
classification, no timing records, no load generator). It is the floor for a Python client
on that stack; "x floor" is the client's CPU-ms per request over the floor's, measured in
the same process one after the other, in the first round (`--no-floor` skips it).

`--http` takes several stacks, which take turns level by level (`--rounds N` repeats that, and
a summary gives each stack's median): `httpx` (the default), `aiohttp` (`-M http=aiohttp`:
streams and JSON posts straight on aiohttp's session) and `aiohttp-transport` (the same
provider with every request through httpx's API over httpx-aiohttp's transport, as the
aiohttp stack sent them before it spoke to aiohttp directly).

`--api anthropic` does the same with the Anthropic provider against the fake Messages API
(FakeAnthropicServer, its own process): the same chunks, as Anthropic's events (message_start,
ping, content_block_start, one content_block_delta per chunk, content_block_stop,
message_delta, message_stop); the floor then posts to /messages and decodes every event.
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
from shootout.providers.anthropic import AnthropicProvider
from shootout.providers.base import GenerateRequest, Provider
from shootout.providers.http import default_stack
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_server import FakeServerProcess

STACKS = ("httpx", "aiohttp", "aiohttp-transport")
TRANSPORT = "aiohttp-transport"


def _provider(api: str, url: str, concurrency: int, http: str) -> Provider:
    stack = "aiohttp" if http == TRANSPORT else http
    if api == "anthropic":
        provider: Any = AnthropicProvider("fake-model", base_url=url, concurrency=concurrency,
                                          http=stack)
        clients = [provider.http]
    else:
        provider = OpenAIProvider(model="fake-model", base_url=url, concurrency=concurrency,
                                  http=stack)
        clients = [replica.http for replica in provider.pool.replicas]
    if http == TRANSPORT:  # every request through httpx's API over httpx-aiohttp's transport
        for client in clients:
            client._aio = None
    return provider  # type: ignore[no-any-return]


async def measure(url: str, concurrency: int, n: int, tokens: int, http: str = "httpx",
                  api: str = "openai") -> dict[str, Any]:
    provider = _provider(api, url, concurrency, http)
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


def _body(request: GenerateRequest, api: str = "openai") -> dict[str, Any]:
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    if api == "anthropic":
        return {"model": "fake-model", "stream": True, "messages": messages,
                "max_tokens": request.sampling.max_tokens, "temperature": 0.0}
    return {"model": "fake-model", "stream": True, "stream_options": {"include_usage": True},
            "messages": messages, "max_tokens": request.sampling.max_tokens,
            "temperature": 0.0}


PATHS = {"openai": "/chat/completions", "anthropic": "/messages"}
HEADERS = {"openai": {}, "anthropic": {"anthropic-version": "2023-06-01"}}


def _texts(event: dict[str, Any]) -> list[str]:
    """The text an event carries (either API's), as the floor keeps it."""
    if "choices" in event:
        return [c["delta"].get("content") or "" for c in event["choices"]]
    delta = event.get("delta") or {}
    return [delta["text"]] if event.get("type") == "content_block_delta" else []


async def _bare_httpx(url: str, bodies: list[dict[str, Any]], concurrency: int,
                      api: str) -> list[float | None]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    path = PATHS[api]
    async with httpx.AsyncClient(limits=limits, timeout=600, headers=HEADERS[api]) as client:
        async def one(body: dict[str, Any]) -> float | None:
            t0, first, text = time.perf_counter(), None, []
            async with client.stream("POST", url + path, json=body) as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data:") and line[5:].strip() != "[DONE]":
                        if first is None:
                            first = time.perf_counter() - t0
                        text += _texts(json.loads(line[5:]))
            return first
        return await _gather(one, bodies, concurrency)


async def _bare_aiohttp(url: str, bodies: list[dict[str, Any]], concurrency: int,
                        api: str) -> list[float | None]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    path = PATHS[api]
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS[api]) as session:
        async def one(body: dict[str, Any]) -> float | None:
            t0, first, text = time.perf_counter(), None, []
            async with session.post(url + path, json=body) as resp:
                async for raw in resp.content:
                    if raw.startswith(b"data:") and raw[5:].strip() != b"[DONE]":
                        if first is None:
                            first = time.perf_counter() - t0
                        text += _texts(json.loads(raw[5:]))
            return first
        return await _gather(one, bodies, concurrency)


async def _gather(one: Any, bodies: list[dict[str, Any]], concurrency: int
                  ) -> list[float | None]:
    """`concurrency` workers taking the bodies in order (as the load generator keeps
    `concurrency` requests in flight)."""
    todo = iter(bodies)
    out: list[float | None] = []

    async def worker() -> None:
        for body in todo:
            out.append(await one(body))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


async def floor(url: str, concurrency: int, n: int, tokens: int, http: str = "httpx",
                api: str = "openai") -> dict[str, Any]:
    prompts = await synthetic_requests(n, 32, tokens, chat=True, seed=concurrency)
    bodies = [_body(r, api) for r in prompts]
    loop = _bare_aiohttp if http == "aiohttp" else _bare_httpx
    await loop(url, bodies[: min(n, concurrency)], concurrency, api)  # warm-up, as above
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ttfts = await loop(url, bodies, concurrency, api)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    got = [t for t in ttfts if t is not None]
    return {"requests_per_s": len(got) / wall, "cpu_ms_per_request": 1000 * cpu / max(1, len(got)),
            "completed": len(got), "ttft_ms_median": 1000 * statistics.median(got) if got else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", default="1,64,512")
    ap.add_argument("--requests", type=int, default=2000, help="per level (at least 4 x c)")
    ap.add_argument("--tokens", type=int, default=16, help="streamed chunks per answer")
    ap.add_argument("--itl", type=float, default=0.0, help="server delay between chunks, s")
    ap.add_argument("--http", default=default_stack(),
                    help="the client's HTTP stacks, comma-separated: " + ", ".join(STACKS)
                    + " (default: the one shootout's `auto` picks here)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every level this many times, the stacks taking turns")
    ap.add_argument("--no-floor", action="store_true", help="skip the bare loop")
    ap.add_argument("--api", default="openai", choices=tuple(PATHS),
                    help="the provider and the fake server's API")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    levels = [int(x) for x in a.concurrency.split(",") if x.strip()]
    stacks = [x.strip() for x in a.http.split(",") if x.strip()]
    if not stacks or any(x not in STACKS for x in stacks):
        ap.error(f"--http: choose from {', '.join(STACKS)}")
    rows = []
    with FakeServerProcess(ttft=0.0, itl=a.itl, anthropic=a.api == "anthropic") as srv:
        for rnd in range(a.rounds):
            for c in levels:
                n = max(a.requests, 4 * c)
                floors = set()
                for http in stacks:
                    r = asyncio.run(measure(srv.base_url, c, n, a.tokens, http, a.api))
                    r.update(http=http, round=rnd)
                    bare = "aiohttp" if http == TRANSPORT else http
                    if not a.no_floor and rnd == 0 and bare not in floors:  # once per level
                        floors.add(bare)
                        r["floor"] = asyncio.run(floor(srv.base_url, c, n, a.tokens, bare,
                                                       a.api))
                        r["x_floor"] = r["cpu_ms_per_request"] / r["floor"]["cpu_ms_per_request"]
                    rows.append(r)
                    if not a.json:
                        _print(r)
    env = {"python": platform.python_version(), "cpus": os.cpu_count(),
           "loadavg": os.getloadavg(), "tokens": a.tokens, "itl": a.itl, "api": a.api}
    if a.json:
        print(json.dumps({"env": env, "levels": rows}, indent=2))
        return
    print("\nmedian CPU-ms/request over the rounds (req/s), per stack and concurrency:")
    for c in levels:
        parts = []
        for http in stacks:
            mine = [r for r in rows if r["concurrency"] == c and r["http"] == http]
            cpu = statistics.median(r["cpu_ms_per_request"] for r in mine)
            rps = statistics.median(r["requests_per_s"] for r in mine)
            parts.append(f"{http} {cpu:.2f} ({rps:.0f})")
        print(f"  c={c:<5} " + "   ".join(parts))
    print(f"({env})")


def _print(r: dict[str, Any]) -> None:
    print(f"[{r['round']}] {r['http']:<17} c={r['concurrency']:<4} {r['completed']:>5} req  "
          f"{r['requests_per_s']:8.1f} req/s  {r['cpu_ms_per_request']:6.2f} CPU-ms/req  "
          f"CPU share {r['cpu_share']:.2f}  TTFT p50 {r['ttft_ms_median']:.2f} ms  "
          f"errors {r['errors']}", flush=True)
    f = r.get("floor")
    if f:
        print(f"    floor (bare loop): {f['requests_per_s']:8.1f} req/s  "
              f"{f['cpu_ms_per_request']:6.2f} CPU-ms/req  TTFT p50 {f['ttft_ms_median']:.2f} ms"
              f"  -> client {r['x_floor']:.2f}x floor", flush=True)


if __name__ == "__main__":
    main()
