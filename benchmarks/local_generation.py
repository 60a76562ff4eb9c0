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

This measures what batching can give on this CPU before anything is built on it (issue 18,
item 2): shootout's local provider decodes one sequence at a time.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from shootout.providers.embedded import embedded_model
from shootout.providers.local import _quiet_stderr

PROMPT = b"The history of the Roman Empire is"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--batches", default="1,2,4,8,16")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--model", default="gemma3-270m")
    args = ap.parse_args()
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
    n = sum(1 for _ in llm.create_completion(PROMPT.decode(), max_tokens=args.steps,
                                             temperature=0.0, stream=True))
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


if __name__ == "__main__":
    main()
