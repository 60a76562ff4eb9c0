"""Speed of the embedded model's log-likelihood paths, side by side, against the floor.

    .venv/bin/python benchmarks/local_loglikelihood.py [--benchmarks arc_easy,mmlu,hellaswag]
        [--items 20] [--naive-items 2] [--threads N]

Per benchmark (MMLU 5-shot, the others 0-shot, their first `--items` items), seconds per item:
  raw        the floor: a minimal loop over llama-cpp-python's low-level API written here,
             independent of shootout's provider: each item's context evaluated once (its
             longest prefix shared with the previous item's kept in the KV cache, as far as
             the sliding-window layers allow), then each choice's continuation tokens, logits
             read only where a continuation token is predicted
  fast       shootout's default path (`LocalProvider`), through its async API
  reference  shootout's single-pass path: each (context, continuation) from scratch
  naive      logits_all=True, each choice evaluated from scratch (what a generic loop over
             llama-cpp-python's high-level API does; copies n_tokens x 262,144 floats)
and fast's ratio to raw (issue 18's target: <= 1.25) with the agreement of fast's predictions
(the argmax of the summed log-probabilities) with raw's and with reference's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import LoglikelihoodRequest, Sampling
from shootout.providers.local import LocalProvider, _quiet_stderr, embedded_model_path

FEWSHOT = {"mmlu": 5}


class RawLoop:
    """The minimal-token loop (see the module doc). One sequence, one batch per evaluation."""

    def __init__(self, n_ctx: int, threads: int) -> None:
        import llama_cpp

        self.lib = llama_cpp
        with _quiet_stderr():
            self.llm = llama_cpp.Llama(str(embedded_model_path()), n_ctx=n_ctx, n_batch=2048,
                                       n_ubatch=512, logits_all=False, verbose=False,
                                       n_threads=threads, n_threads_batch=threads)
        self.ctx = self.llm._ctx.ctx
        self.n_vocab = self.llm.n_vocab()
        self.n_swa = int(llama_cpp.llama_model_n_swa(self.llm._model.model))
        self.batch = llama_cpp.llama_batch_init(2048, 0, 1)
        self.cached: list[int] = []

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def _keep(self, n: int) -> int:
        """How much of the cached prefix can stay: all, unless the window layers lost it."""
        lib = self.lib
        mem = lib.llama_get_memory(self.ctx)
        if n and self.n_swa:
            pos_min = lib.llama_memory_seq_pos_min(mem, 0)
            if pos_min < 0 or pos_min > max(0, n - self.n_swa):
                n = 0
        lib.llama_memory_seq_rm(mem, 0, n, -1)
        del self.cached[n:]
        return n

    def _eval(self, tokens: list[int], want_from: int) -> list[np.ndarray]:
        """Append `tokens` to the cache; log-softmax rows at positions >= want_from."""
        b, start, rows = self.batch, len(self.cached), []
        for i in range(0, len(tokens), 2048):
            chunk = tokens[i: i + 2048]
            b.n_tokens = len(chunk)
            flagged = []
            for j, tok in enumerate(chunk):
                pos = start + i + j
                b.token[j], b.pos[j], b.n_seq_id[j] = tok, pos, 1
                b.seq_id[j][0] = 0
                b.logits[j] = pos >= want_from
                if pos >= want_from:
                    flagged.append(j)
            if self.lib.llama_decode(self.ctx, b) != 0:
                raise RuntimeError("llama_decode failed")
            for j in flagged:
                x = np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, j),
                                          shape=(self.n_vocab,)).astype(np.float64)
                m = x.max()
                rows.append(x - (m + np.log(np.exp(x - m).sum())))
            self.cached += chunk
        return rows

    def scores(self, pairs: Any) -> list[float]:
        out = []
        for context, continuation in pairs:
            n_sp = len(context) - len(context.rstrip())  # lm-eval's split of trailing spaces
            if n_sp:
                context, continuation = context[:-n_sp], context[-n_sp:] + continuation
            whole, ctx = self.tokenize(context + continuation), self.tokenize(context)
            cont = whole[len(ctx):]  # lm-eval's: the context alone, the whole's tail
            common = 0
            for a, c in zip(self.cached, ctx, strict=False):
                if a != c:
                    break
                common += 1
            keep = self._keep(min(common, len(ctx) - 1))
            rows = self._eval(ctx[keep:] + cont[:-1], want_from=len(ctx) - 1)
            out.append(float(sum(r[t] for r, t in zip(rows, cont, strict=True))))
        return out


def naive_scores(llm: Any, provider: LocalProvider, req: LoglikelihoodRequest) -> list[float]:
    out = []
    for context, continuation in req.pairs:
        ctx, cont = provider._encode_pair(context, continuation)
        llm.reset()
        llm.eval(ctx + cont)
        logits = np.asarray(llm.scores[len(ctx) - 1 : len(ctx) + len(cont) - 1], dtype=np.float64)
        lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        out.append(float(sum(logits[i, t] - lse[i] for i, t in enumerate(cont))))
    return out


def timed(reqs: list[Any], fn: Any) -> tuple[float, list[list[float]]]:
    t0 = time.perf_counter()
    res = [fn(r) for r in reqs]
    return (time.perf_counter() - t0) / len(reqs), res


def _agree(a: list[list[float]], b: list[list[float]]) -> tuple[int, float]:
    same = sum(int(np.argmax(x) == np.argmax(y)) for x, y in zip(a, b, strict=True))
    diff = max(abs(p - q) for x, y in zip(a, b, strict=True) for p, q in zip(x, y, strict=True))
    return same, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--benchmarks", default="arc_easy,mmlu,hellaswag")
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--naive-items", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    data = DataDir(Path(os.environ.get("SHOOTOUT_DATA", default)))
    th = args.threads
    fast = LocalProvider(n_ctx=4096, n_threads=th)
    ref = LocalProvider(n_ctx=4096, path="reference", n_threads=th)
    raw = RawLoop(4096, th)
    import llama_cpp

    with _quiet_stderr():
        naive_llm = llama_cpp.Llama(str(embedded_model_path()), n_ctx=4096, logits_all=True,
                                    verbose=False, n_threads=th, n_threads_batch=th)
    print(f"{os.cpu_count()} cores, {th} threads; seconds per item; fast vs raw is the ratio")
    print(f"{'benchmark':<10} {'items':>5} {'raw':>7} {'fast':>7} {'ref':>7} {'naive':>7} "
          f"{'fast/raw':>8}  agreement")
    for name in args.benchmarks.split(","):
        bench = REGISTRY[name](data=data)
        ctx = PromptContext("loglikelihood", False, Sampling(), FEWSHOT.get(name, 0))
        reqs = [bench.request(d, ctx) for d in bench.load()[: args.items]]
        # warm-up, untimed: the weights paged in and every path past its first allocation, on
        # a text of none of the timed items (warmed on the last item, a one-item run timed
        # raw and fast on a context already in their cache)
        warm = (("A warm-up sentence that no benchmark item starts with.", " Done."),)
        raw.scores(list(warm))
        asyncio.run(fast.loglikelihood(LoglikelihoodRequest(pairs=warm)))

        t_raw, r_raw = timed(reqs, lambda r: raw.scores(r.pairs))
        t_fast, r_fast = timed(
            reqs, lambda r: [s.logprob for s in asyncio.run(fast.loglikelihood(r)).scores])
        t_ref, r_ref = timed(
            reqs, lambda r: [s.logprob for s in asyncio.run(ref.loglikelihood(r)).scores])
        naive_reqs = reqs[: args.naive_items]  # (divided by the items evaluated, not asked)
        t0 = time.perf_counter()
        for r in naive_reqs:
            naive_scores(naive_llm, fast, r)
        t_naive = f"{(time.perf_counter() - t0) / len(naive_reqs):>7.3f}" if naive_reqs \
            else f"{'–':>7}"
        (s_raw, d_raw), (s_ref, d_ref) = _agree(r_fast, r_raw), _agree(r_fast, r_ref)
        print(f"{name:<10} {len(reqs):>5} {t_raw:>7.3f} {t_fast:>7.3f} {t_ref:>7.3f} "
              f"{t_naive} {t_fast / t_raw:>7.2f}x  same prediction as raw {s_raw}/"
              f"{len(reqs)} (max |Δ| {d_raw:.3f}), as reference {s_ref}/{len(reqs)} "
              f"(max |Δ| {d_ref:.3f})", flush=True)


if __name__ == "__main__":
    main()
