"""The ceiling of batched generation on the embedded model: aggregate output tokens/s when
several sequences decode together, against one raw llama-cpp-python stream.

    .venv/bin/python benchmarks/local_generation.py [--batches 1,2,4,8,16] [--steps 48]
                                                    [--threads N] [--model gemma3-270m]

For each batch size B: B copies of a short prompt are evaluated as B sequences of one
multi-sequence llama.cpp context (a unified KV cache), then `--steps` greedy decode steps each
put one token per sequence into one `llama_decode` call; the step's logits are read per
sequence and the next token picked by argmax (numpy). Reported: aggregate tokens/s
(B x steps / time) and its ratio to B = 1. The B = 1 row is a single stream through the same
loop; `single (high-level)` is llama-cpp-python's own `create_completion` stream for the same
number of tokens, the reference for what one request gets today.

This measures what batching can give on this CPU (issue 18, item 2).

    .venv/bin/python benchmarks/local_generation.py --provider [--parallel 1,2,4,8]
                                                    [--prompts 16] [--steps 64] [--threads 1]

`--provider` times the provider itself end to end instead: `--prompts` GSM8K questions (with
0 to 8 of its few-shot exemplars, 65 to 900 tokens; SHOOTOUT_DATA must hold gsm8k) are sent
at once to an embedded-model provider with `parallel=P` (`-M parallel=P`), each for `--steps`
greedy tokens without stop strings. Reported per P: aggregate output tokens/s (all completion
tokens / wall time, prompt evaluation included), its ratio to P = 1 (the single path, one
request at a time), mean TTFT and ITL as the requests experienced them, and how many answers
are the single path's text exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np

from shootout.providers.embedded import embedded_model
from shootout.providers.local import _quiet_stderr

PROMPT = b"The history of the Roman Empire is"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--batches", default="1,2,4,8,16")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--provider", action="store_true", help="time the provider's batched path")
    ap.add_argument("--parallel", default="1,2,4,8")
    ap.add_argument("--prompts", type=int, default=16)
    args = ap.parse_args()
    if args.provider:
        asyncio.run(provider_mode(args))
        return
    import llama_cpp
    from llama_cpp import _internals

    sizes = [int(x) for x in args.batches.split(",")]
    th, n_seq = args.threads, max(sizes)
    path = str(embedded_model(args.model).path())
    with _quiet_stderr():
        llm = llama_cpp.Llama(path, n_ctx=512, verbose=False, n_threads=th, n_threads_batch=th)
        cp = llama_cpp.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = 4096, 512, 512, n_seq
        cp.n_threads = cp.n_threads_batch = th
        cp.kv_unified = True
        ctx = _internals.LlamaContext(model=llm._model, params=cp, verbose=False)
    n_vocab = llm.n_vocab()
    prompt = llm.tokenize(PROMPT)
    batch = _internals.LlamaBatch(n_tokens=512, embd=0, n_seq_max=n_seq, verbose=False)
    b = batch.batch
    mem = llama_cpp.llama_get_memory(ctx.ctx)

    # the reference: one stream through the high-level API
    list(llm.create_completion(PROMPT.decode(), max_tokens=4, temperature=0.0, stream=True))
    t0 = time.perf_counter()
    # the tokens generated: its last chunk carries the finish reason and no text (counted,
    # the single rate was (steps + 1) / time)
    n = sum(1 for c in llm.create_completion(PROMPT.decode(), max_tokens=args.steps,
                                             temperature=0.0, stream=True)
            if c["choices"][0]["text"])
    single = n / (time.perf_counter() - t0)
    print(f"{os.cpu_count()} cores, {th} threads, {args.model}, {args.steps} steps")
    print(f"single (high-level)  {single:7.1f} tok/s")
    base = None
    for size in sizes:
        llama_cpp.llama_memory_clear(mem, True)
        k = 0
        for s in range(size):
            for i, tok in enumerate(prompt):
                b.token[k], b.pos[k], b.n_seq_id[k] = tok, i, 1
                b.seq_id[k][0] = s
                b.logits[k] = i == len(prompt) - 1
                k += 1
        b.n_tokens = k
        ctx.decode(batch)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx.ctx), shape=(size, n_vocab))
        nxt = logits.argmax(axis=1)
        t0 = time.perf_counter()
        for step in range(args.steps):
            for s in range(size):
                b.token[s], b.pos[s], b.n_seq_id[s] = int(nxt[s]), len(prompt) + step, 1
                b.seq_id[s][0] = s
                b.logits[s] = True
            b.n_tokens = size
            ctx.decode(batch)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx.ctx),
                                           shape=(size, n_vocab))
            nxt = logits.argmax(axis=1)
        rate = size * args.steps / (time.perf_counter() - t0)
        base = base or rate
        print(f"batch {size:<3}            {rate:7.1f} tok/s  {rate / base:5.2f}x batch 1  "
              f"{rate / single:5.2f}x single", flush=True)


def gsm8k_prompts(n: int) -> list[str]:
    from shootout.benchmarks.gsm8k import COT_EXEMPLARS

    path = Path(os.environ.get("SHOOTOUT_DATA", "")) / "gsm8k" / "test.jsonl"
    with open(path) as f:
        qs = [json.loads(line)["question"] for _, line in zip(range(n), f, strict=False)]
    out = []
    for i, q in enumerate(qs):
        shots = "".join(f"Q: {a}\nA: {b}\n\n" for a, b in COT_EXEMPLARS[: i % 9])
        out.append(f"{shots}Q: {q}\nA:")
    return out


async def provider_mode(args: argparse.Namespace) -> None:
    from shootout.providers.base import GenerateRequest, Sampling
    from shootout.providers.embedded import EmbeddedProvider

    reqs = [GenerateRequest(prompt=p, sampling=Sampling(max_tokens=args.steps))
            for p in gsm8k_prompts(args.prompts)]
    print(f"{os.cpu_count()} cores (load {os.getloadavg()[0]:.1f}), {args.threads} threads, "
          f"{args.model}, {len(reqs)} GSM8K prompts, {args.steps} greedy tokens each")
    print("parallel  tok/s   x P=1  mean TTFT  mean ITL  = single path")
    ref: list[str] | None = None
    base = 0.0
    levels = [int(x) for x in args.parallel.split(",")]
    if levels[0] != 1:  # the ratios are to P = 1, the single path: it goes first
        levels = [1, *(x for x in levels if x != 1)]
    for par in levels:
        p = EmbeddedProvider(embedded=embedded_model(args.model), n_threads=args.threads,
                             parallel=par)
        try:
            list(p.tokenize(r.prompt or "") for r in reqs)  # tokenised once, as in a run
            t0 = time.perf_counter()
            out = await asyncio.gather(*(p.generate(r) for r in reqs))
            wall = time.perf_counter() - t0
        finally:
            await p.aclose()
        rate = sum(r.usage.completion_tokens for r in out) / wall
        base = base or rate
        texts = [r.text for r in out]
        ref = ref or texts
        same = sum(a == b for a, b in zip(ref, texts, strict=True))
        ttft = sum(r.timing.ttft or 0.0 for r in out) / len(out)
        gaps = [b - a for r in out for a, b in zip(r.timing.chunk_times,
                                                   r.timing.chunk_times[1:], strict=False)]
        itl = sum(gaps) / max(len(gaps), 1)
        print(f"{par:<8} {rate:6.1f}  {rate / base:5.2f}x  {ttft:8.2f}s  {itl * 1e3:6.1f}ms  "
              f"{same}/{len(out)}", flush=True)


if __name__ == "__main__":
    main()
