"""`shootout perf`'s figures beside vLLM's own benchmark client, on the same server and load.

    .venv/bin/pip install -e ".[bench]"    # aiohttp and tqdm, for vLLM's client
    .venv/bin/python benchmarks/perf_vs_vllm_bench.py --vllm-wheel vllm-0.11.0-...whl
        [--base-url URL --model NAME] [--ttft 0.05] [--itl 0.01] [--concurrency 1,16,64]
        [--requests 100] [--input-tokens 128] [--output-tokens 32] [--no-chat] [--json]

The reference is vLLM's request function, unchanged: `vllm/benchmarks/lib/endpoint_request_func.py`
(`vllm bench serve`'s client; aiohttp, timestamps as SSE messages arrive), imported from an
installed vLLM or read out of a vLLM wheel (`pip download vllm --no-deps`: the file needs only
aiohttp and tqdm, not vLLM's engine). It is driven as `vllm bench serve` drives it at a
`--max-concurrency` with an infinite request rate: every request a task behind a semaphore, one
aiohttp session whose connector is limited to the concurrency; its metrics are computed with
`calculate_metrics`'s definitions (TTFT and E2E per request, ITL pooled over every gap, TPOT =
(E2E − TTFT) / (output tokens − 1), output throughput = output tokens / wall time).

shootout's side is what `shootout perf --concurrency C [--http aiohttp]` runs: the
OpenAIProvider (httpx, or aiohttp directly) driven by the perf load generator, on the
same prompts (`shootout.perf.prompts.synthetic_requests`).
The two clients take turns level by level, each after one warm-up request.

Without --base-url the server is shootout.testing's fake OpenAI server in its own process,
streaming --output-tokens one-token chunks, the first after --ttft seconds and the rest --itl
apart, so the table also shows the truth both clients should measure. With --base-url (e.g.
`python -m llama_cpp.server`, vLLM, SGLang) the server is yours. Agreement within 5% is the
target (issue 18). A known difference of definition: vLLM's chat client counts the final
chunk (finish_reason, no content) as one more token gap, which lowers its mean ITL by about
1/(output tokens) against servers that send that chunk at once.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import sys
import time
import types
import zipfile
from typing import Any

import numpy as np

from shootout.perf.load import Level, LoadSpec, run_level
from shootout.perf.prompts import synthetic_requests
from shootout.providers.base import GenerateRequest
from shootout.providers.http import default_stack
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_server import FakeServerProcess

LIB = "vllm/benchmarks/lib/endpoint_request_func.py"
METRICS = ("ttft_mean", "ttft_median", "itl_mean", "itl_median", "tpot_mean", "tpot_median",
           "e2e_mean", "e2e_median", "output_throughput", "request_throughput")


def load_vllm(wheel: str | None) -> types.ModuleType:
    """vLLM's request-function module: installed, or read from a wheel."""
    if wheel is None:
        try:
            from vllm.benchmarks.lib import endpoint_request_func  # type: ignore[import-not-found]
        except ImportError:
            sys.exit("error: vLLM is not installed: pass --vllm-wheel PATH "
                     "(pip download vllm --no-deps)")
        return endpoint_request_func
    try:
        with zipfile.ZipFile(wheel) as z:
            source = z.read(LIB).decode()
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        sys.exit(f"error: cannot read {LIB} from {wheel}: {e}")
    try:
        import aiohttp  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError as e:
        sys.exit(f"error: vLLM's client needs {e.name}: pip install -e '.[bench]'")
    spec = importlib.util.spec_from_loader("vllm_endpoint_request_func", loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = f"{wheel}!{LIB}"
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    exec(compile(source, mod.__file__, "exec"), mod.__dict__)
    return mod


def prompt_text(req: GenerateRequest) -> str:
    if req.messages:
        return req.messages[-1].content
    return str(req.prompt)


async def vllm_level(mod: types.ModuleType, url: str, model: str, chat: bool,
                     prompts: list[GenerateRequest], concurrency: int, output_tokens: int,
                     extra_body: dict[str, Any]) -> dict[str, float]:
    import aiohttp

    func = (mod.async_request_openai_chat_completions if chat
            else mod.async_request_openai_completions)
    api_url = url.rstrip("/") + ("/chat/completions" if chat else "/completions")

    def inp(req: GenerateRequest) -> Any:
        return mod.RequestFuncInput(prompt=prompt_text(req), api_url=api_url, prompt_len=0,
                                    output_len=output_tokens, model=model,
                                    extra_body=dict(extra_body))

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency,
                                     keepalive_timeout=60, force_close=False, ssl=False)
    async with aiohttp.ClientSession(connector=connector, trust_env=True,
                                     timeout=aiohttp.ClientTimeout(total=6 * 3600)) as session:
        warm = await func(request_func_input=inp(prompts[0]), session=session)
        if not warm.success:
            sys.exit(f"error: vLLM's client: warm-up request failed: {warm.error[-300:]}")
        sem = asyncio.Semaphore(concurrency)

        async def limited(req: GenerateRequest) -> Any:
            async with sem:
                return await func(request_func_input=inp(req), session=session)

        t0 = time.perf_counter()
        outs = await asyncio.gather(*(limited(r) for r in prompts))
        dur = time.perf_counter() - t0
    ok = [o for o in outs if o.success]
    # calculate_metrics: output tokens from the usage chunk (stream_options.include_usage)
    lens = [o.output_tokens or (len(o.itl) + 1) for o in ok]
    tpots = [(o.latency - o.ttft) / (n - 1) for o, n in zip(ok, lens, strict=True) if n > 1]
    itls = [g for o in ok for g in o.itl]
    return summary(
        [o.ttft for o in ok], itls, tpots, [o.latency for o in ok], sum(lens), len(ok), dur,
        errors=len(outs) - len(ok))


async def shootout_level(url: str, model: str, chat: bool, prompts: list[GenerateRequest],
                         concurrency: int, extra_body: dict[str, Any], http: str = "httpx"
                         ) -> dict[str, float]:
    provider = OpenAIProvider(model=model, base_url=url, concurrency=concurrency, chat=chat,
                              extra_body=extra_body, timeout=600, http=http)
    try:
        await provider.generate(prompts[0])
        res = await run_level(provider.generate, prompts, Level("concurrency", concurrency),
                              LoadSpec(max_requests=len(prompts), duration=3600))
    finally:
        await provider.aclose()
    ok = res.ok
    return summary(
        [r.ttft for r in ok if r.ttft is not None], [g for r in ok for g in r.itls],
        [r.tpot for r in ok if r.tpot is not None], [r.e2e for r in ok],
        sum(r.output_tokens for r in ok), len(ok), res.duration,
        errors=len(res.records) - len(ok))


def summary(ttft: list[float], itl: list[float], tpot: list[float], e2e: list[float],
            out_tokens: int, completed: int, dur: float, errors: int) -> dict[str, float]:
    def ms(xs: list[float], f: Any) -> float:
        return float(f(xs)) * 1000 if xs else float("nan")

    return {
        "ttft_mean": ms(ttft, np.mean), "ttft_median": ms(ttft, np.median),
        "itl_mean": ms(itl, np.mean), "itl_median": ms(itl, np.median),
        "tpot_mean": ms(tpot, np.mean), "tpot_median": ms(tpot, np.median),
        "e2e_mean": ms(e2e, np.mean), "e2e_median": ms(e2e, np.median),
        "output_throughput": out_tokens / dur, "request_throughput": completed / dur,
        "completed": completed, "errors": errors, "wall_s": dur,
    }


async def compare(a: argparse.Namespace, mod: types.ModuleType, url: str, model: str
                  ) -> list[dict[str, Any]]:
    levels = [int(x) for x in a.concurrency.split(",") if x.strip()]
    extra = {"max_tokens": a.output_tokens}  # vLLM's chat client sends max_completion_tokens
    if a.ignore_eos:
        extra |= {"ignore_eos": True, "min_tokens": a.output_tokens}
    rows = []
    for c in levels:
        n = max(a.requests, 2 * c)
        prompts = await synthetic_requests(n, a.input_tokens, a.output_tokens,
                                           chat=not a.no_chat, seed=c)
        ours = await shootout_level(url, model, not a.no_chat, prompts, c, extra, a.http)
        ref = await vllm_level(mod, url, model, not a.no_chat, prompts, c, a.output_tokens,
                               extra)
        rows.append({"concurrency": c, "requests": n, "shootout": ours, "vllm": ref})
        if not a.json:
            print_level(rows[-1], a)
    return rows


def print_level(row: dict[str, Any], a: argparse.Namespace) -> None:
    ours, ref = row["shootout"], row["vllm"]
    truth = {}
    if a.base_url is None:  # the fake server's injected delays
        n = a.output_tokens
        truth = {"ttft_mean": 1000 * a.ttft, "ttft_median": 1000 * a.ttft,
                 "itl_mean": 1000 * a.itl, "itl_median": 1000 * a.itl,
                 "tpot_mean": 1000 * a.itl, "tpot_median": 1000 * a.itl,
                 "e2e_mean": 1000 * (a.ttft + (n - 1) * a.itl),
                 "e2e_median": 1000 * (a.ttft + (n - 1) * a.itl)}
    print(f"\nconcurrency {row['concurrency']}, {row['requests']} requests "
          f"(completed: shootout {ours['completed']}, vLLM {ref['completed']})")
    print(f"  {'metric':<22}{'shootout':>12}{'vLLM client':>13}{'ratio':>8}  within 5%"
          + ("   injected" if truth else ""))
    for k in METRICS:
        unit = " ms" if not k.endswith("throughput") else (" tok/s" if k.startswith("output")
                                                             else " req/s")
        ratio = ours[k] / ref[k] if ref[k] else float("nan")
        ok = "yes" if abs(ratio - 1) <= 0.05 else "NO"
        extra = f"{truth[k]:>11.1f}" if k in truth else ""
        print(f"  {k + unit:<22}{ours[k]:>12.2f}{ref[k]:>13.2f}{ratio:>8.3f}  {ok:<9}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vllm-wheel", help="a vLLM wheel to read the request function from")
    ap.add_argument("--base-url", help="an OpenAI-compatible server (default: the fake one)")
    ap.add_argument("--model", default="fake-model")
    ap.add_argument("--ttft", type=float, default=0.05, help="fake server: first chunk delay, s")
    ap.add_argument("--itl", type=float, default=0.01, help="fake server: chunk gap, s")
    ap.add_argument("--concurrency", default="1,16,64")
    ap.add_argument("--requests", type=int, default=100, help="per level (at least 2 x c)")
    ap.add_argument("--input-tokens", type=int, default=128)
    ap.add_argument("--output-tokens", type=int, default=32)
    ap.add_argument("--ignore-eos", action="store_true")
    ap.add_argument("--no-chat", action="store_true", help="text completions")
    ap.add_argument("--http", default=default_stack(), choices=("httpx", "aiohttp"),
                    help="shootout's HTTP stack (shootout perf --http; default: the one its "
                    "`auto` picks here)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    mod = load_vllm(a.vllm_wheel)
    env = {"python": platform.python_version(), "cpus": os.cpu_count(),
           "loadavg": os.getloadavg(), "vllm_client": getattr(mod, "__file__", "?"),
           "server": a.base_url or f"fake (ttft {a.ttft}s, itl {a.itl}s)", "http": a.http}
    if a.base_url:
        rows = asyncio.run(compare(a, mod, a.base_url, a.model))
    else:
        with FakeServerProcess(ttft=a.ttft, itl=a.itl) as srv:
            rows = asyncio.run(compare(a, mod, srv.base_url, a.model))
    if a.json:
        print(json.dumps({"env": env, "levels": rows}, indent=2))
    else:
        print(f"\n({env})")


if __name__ == "__main__":
    main()
