"""Long prompts on the embedded model (issue 24): prompt tokens/s by length, side by side.

    .venv/bin/python benchmarks/local_long_prompt.py [--lengths 1k,4k,8k,16k,32k] [--grid]

For each length, the same haystack tokens (The Great Gatsby, repeated as needed) are evaluated
to the first generated token by:
  raw-full    llama-cpp-python's Llama.eval with a full-size sliding-window cache (swa_full=True,
              what shootout used before issue 24)
  raw-window  llama-cpp-python's Llama.eval with the window-sized cache (llama.cpp's default)
  shootout    LocalProvider.generate (window-sized cache, 1 new token), i.e. time to first token
and prints seconds and prompt tokens/s. `--grid` then runs the needle grid (lengths 1K-32K,
5 depths, 3 trials) through `shootout run` and prints its wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shootout.providers.base import GenerateRequest, Sampling
from shootout.providers.local import LocalProvider, _quiet_stderr, embedded_model_path

DATA = Path(os.environ.get("SHOOTOUT_DATA", Path(__file__).resolve().parents[2] / "shared/data"))


def _lengths(text: str) -> list[int]:
    return [int(x[:-1]) * 1024 if x.endswith("k") else int(x) for x in text.split(",")]


def _raw(tokens: list[int], swa_full: bool, threads: int) -> float:
    import llama_cpp

    with _quiet_stderr():
        llm = llama_cpp.Llama(str(embedded_model_path()), n_ctx=len(tokens) + 64, n_batch=2048,
                              n_ubatch=512, swa_full=swa_full, logits_all=False, verbose=False,
                              n_threads=threads, n_threads_batch=threads)
    try:
        t = time.perf_counter()
        llm.eval(tokens)
        return time.perf_counter() - t
    finally:
        llm.close()


def _shootout(prompt: str, n: int) -> float:
    provider = LocalProvider(n_ctx=n + 128)
    try:
        req = GenerateRequest(prompt=prompt, sampling=Sampling(temperature=0.0, max_tokens=1))
        r = asyncio.run(provider.generate(req))
        assert r.timing.ttft is not None
        return r.timing.ttft
    finally:
        provider.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lengths", default="1k,4k,8k,16k,32k")
    ap.add_argument("--skip-full-above", type=int, default=32768,
                    help="skip the full-size cache run above this many tokens (it is slow)")
    ap.add_argument("--grid", action="store_true", help="also time the full needle grid")
    args = ap.parse_args()
    threads = os.cpu_count() or 2
    import llama_cpp

    with _quiet_stderr():
        tok = llama_cpp.Llama(str(embedded_model_path()), n_ctx=256, vocab_only=True,
                              verbose=False)
    text = (DATA / "haystack_en" / "gatsby.txt").read_text(encoding="utf-8")
    ids = tok.tokenize(text.encode(), add_bos=False)
    print(f"{'tokens':>7} {'raw-full s':>11} {'tok/s':>7} {'raw-window s':>13} {'tok/s':>7} "
          f"{'shootout TTFT s':>16} {'tok/s':>7}")
    for n in _lengths(args.lengths):
        body = (ids * (n // len(ids) + 1))[: n - 1]
        tokens = [tok.token_bos(), *body]
        prompt = tok.detokenize(body).decode("utf-8", errors="ignore")
        full = _raw(tokens, True, threads) if n <= args.skip_full_above else float("nan")
        window = _raw(tokens, False, threads)
        ttft = _shootout(prompt, n)
        print(f"{n:>7} {full:>11.1f} {n / full:>7.0f} {window:>13.1f} {n / window:>7.0f} "
              f"{ttft:>16.1f} {n / ttft:>7.0f}", flush=True)
    if args.grid:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "shootout", "run", "-m", "local", "-b", "needle",
                   "--needle-lengths", "1k,2k,4k,8k,16k,32k", "--needle-depths", "0,25,50,75,100",
                   "--needle-trials", "3", "--store", f"{tmp}/grid.sqlite", "--no-progress"]
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - t
            print(proc.stdout[-3000:])
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
            print(f"needle grid 1K-32K x 5 depths x 3 trials: {wall:,.0f} s wall "
                  f"(exit {proc.returncode})")


if __name__ == "__main__":
    main()
