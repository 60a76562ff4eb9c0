"""Speed of the embedded model's log-likelihood paths, side by side, on MMLU 5-shot items.

    .venv/bin/python benchmarks/local_loglikelihood.py [--items 20] [--naive-items 2]

Prints seconds per item for:
  naive      logits_all=True, each choice evaluated from scratch (what a generic
             loglikelihood loop over llama-cpp-python does; copies n_tokens x 262,144 floats)
  reference  shootout's single-pass path: each (context, continuation) from scratch, logits
             read only at the continuation positions
  fast       shootout's default: the shared few-shot prefix and each question's context stay in
             the KV cache; choices continue from it
and the agreement of fast with reference (same prediction, largest |Δ log-probability|).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import numpy as np

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import LoglikelihoodRequest, Sampling
from shootout.providers.local import LocalProvider, _quiet_stderr, embedded_model_path


def naive_scores(llm, provider: LocalProvider, req: LoglikelihoodRequest) -> list[float]:
    out = []
    for context, continuation in req.pairs:
        ctx, cont = provider._encode_pair(context, continuation)
        llm.reset()
        llm.eval(ctx + cont)
        logits = np.asarray(llm.scores[len(ctx) - 1 : len(ctx) + len(cont) - 1], dtype=np.float64)
        lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        out.append(float(sum(logits[i, t] - lse[i] for i, t in enumerate(cont))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--naive-items", type=int, default=2)
    args = ap.parse_args()
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    data = Path(os.environ.get("SHOOTOUT_DATA", default))
    bench = REGISTRY["mmlu"](data=DataDir(data))
    docs = bench.load()[: args.items]
    ctx = PromptContext("loglikelihood", False, Sampling(), 5)
    reqs = [bench.request(d, ctx) for d in docs]

    fast, ref = LocalProvider(n_ctx=4096), LocalProvider(n_ctx=4096, path="reference")

    def timed(p: LocalProvider) -> tuple[float, list[list[float]]]:
        t0 = time.perf_counter()
        res = [[s.logprob for s in asyncio.run(p.loglikelihood(r)).scores] for r in reqs]
        return (time.perf_counter() - t0) / len(reqs), res

    t_fast, r_fast = timed(fast)
    t_ref, r_ref = timed(ref)
    import llama_cpp

    with _quiet_stderr():
        llm = llama_cpp.Llama(
            str(embedded_model_path()),
            n_ctx=4096,
            logits_all=True,
            verbose=False,
            n_threads=os.cpu_count(),
        )
    t0 = time.perf_counter()
    for r in reqs[: args.naive_items]:
        naive_scores(llm, fast, r)
    t_naive = (time.perf_counter() - t0) / max(1, args.naive_items)

    agree = sum(int(np.argmax(a) == np.argmax(b)) for a, b in zip(r_fast, r_ref, strict=True))
    diff = max(
        abs(x - y) for a, b in zip(r_fast, r_ref, strict=True) for x, y in zip(a, b, strict=True)
    )
    print(f"MMLU 5-shot, {len(reqs)} items ({args.naive_items} for naive), {os.cpu_count()} cores")
    print(f"{'path':<10} {'s/item':>8} {'vs fast':>8}")
    for name, t in (("naive", t_naive), ("reference", t_ref), ("fast", t_fast)):
        print(f"{name:<10} {t:>8.3f} {t / t_fast:>7.1f}x")
    print(
        f"fast vs reference: same prediction on {agree}/{len(reqs)} items, "
        f"max |Δ logprob| {diff:.3f} nats"
    )


if __name__ == "__main__":
    main()
