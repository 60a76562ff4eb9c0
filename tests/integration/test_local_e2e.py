"""The embedded model end to end: every multiple-choice benchmark through the real CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import GenerateRequest, Sampling
from shootout.providers.local import LocalProvider

MC = ["mmlu", "arc_challenge", "arc_easy", "hellaswag", "winogrande", "truthfulqa_mc1",
      "truthfulqa_mc2"]


@pytest.mark.timeout(1800)  # ~1 min on an idle 2-core machine; generous for a loaded one
def test_cli_runs_every_mc_benchmark_on_the_embedded_model(shootout_cmd, tmp_path, data_dir):
    proc = subprocess.run(
        [*shootout_cmd, "run", "--model", "local", "--benchmarks", ",".join(MC), "--limit", "3",
         "--store", str(tmp_path / "s.sqlite"), "--data-dir", str(data_dir), "--json"],
        capture_output=True, text=True, timeout=1700,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    primary = {r["benchmark"]: r for r in payload["results"] if r["primary"]}
    assert set(primary) == set(MC)
    for bench, row in primary.items():
        assert row["n"] == 3, bench
        assert 0.0 <= row["score"] <= 1.0
        assert row["n_failed"] == 0
        assert row["stderr"] is not None
    metrics = {(r["benchmark"], r["metric"]) for r in payload["results"]}
    assert ("arc_easy", "acc_norm") in metrics and ("arc_easy", "acc") in metrics
    assert ("truthfulqa_mc2", "mc2") in metrics
    man = payload["manifest"]
    assert man["models"]["Gemma 3 270M · Q4_K_M"]["general.name"] == "Gemma 3 270m"
    assert man["benchmarks"]["mmlu"]["fewshot"] == 5
    assert man["data_checksums"]["winogrande/dev.jsonl"].startswith("1aeac79c")
    # the subject breakdown exists for MMLU
    assert any(b["benchmark"] == "mmlu" for b in payload["breakdowns"])


# the reference path re-evaluates the whole few-shot context per choice: keep its share small
AGREEMENT_ITEMS = {"mmlu": 2, "truthfulqa_mc1": 2}


@pytest.mark.parametrize("bench", MC[:-1])
def test_fast_path_agrees_with_single_pass_reference(bench, data_dir, local_provider, capsys):
    """The fast path (shared context, KV reuse) against lm-eval's single pass per pair: the
    same log-probabilities, bit for bit. llama.cpp computes a row differently by where it
    falls in its batch (docs/local-model.md); the fast path lays its batches out so every row
    falls where it falls in the single pass. Before it did, these items differed by up to
    0.57 nats, and 3 of the first 300 ARC-Easy items changed their prediction.

    A generation first leaves in the cache the first item's context, evaluated in
    llama-cpp-python's own batches: those rows must not be reused as if they were exact.
    """
    n = AGREEMENT_ITEMS.get(bench, 4)
    ref = LocalProvider(n_ctx=4096, path="reference")
    b = REGISTRY[bench](data=DataDir(data_dir))
    docs = b.load()[:n]
    ctx = PromptContext("loglikelihood", False, Sampling(), b.default_fewshot)
    first = b.request(docs[0], ctx).pairs[0][0]
    asyncio.run(local_provider.generate(GenerateRequest(
        prompt=first, sampling=Sampling(temperature=0.0, max_tokens=3))))
    assert local_provider._exact == 0  # no cached row is taken as exact after a generation

    async def score(p):
        return [await p.loglikelihood(b.request(d, ctx)) for d in docs]

    fast_r, ref_r = asyncio.run(score(local_provider)), asyncio.run(score(ref))
    agree, maxdiff = 0, 0.0
    for f, r in zip(fast_r, ref_r, strict=True):
        lf, lr = [s.logprob for s in f.scores], [s.logprob for s in r.scores]
        agree += lf.index(max(lf)) == lr.index(max(lr))
        maxdiff = max(maxdiff, *(abs(a - c) for a, c in zip(lf, lr, strict=True)))
        assert [s.is_greedy for s in f.scores] == [s.is_greedy for s in r.scores]
    with capsys.disabled():
        print(f"\n{bench}: fast vs reference agree {agree}/{n}, max |Δ logprob| {maxdiff:.6f}")
    assert agree == n
    assert maxdiff == 0.0


def _last_logprobs(llm):
    import llama_cpp
    import numpy as np

    x = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1),
                              shape=(llm.n_vocab(),)).astype(np.float64)
    return x - x.max() - np.log(np.exp(x - x.max()).sum())


def test_rewinding_the_cache_past_the_sliding_window_is_exact(data_dir, local_provider, capsys):
    """Gemma 3 attends over a 512-token window in 5 of 6 layers, and the provider keeps only
    that window of those layers' cache (issue 24). Rewinding to a shared prefix far behind the
    last token (what the fast path and generation do) must give the logits of a fresh pass:
    llama.cpp's seq_rm succeeds either way, and without the provider's check the logits are
    silently off (this test measures that too, so it can fail)."""
    import numpy as np

    p = local_provider
    text = (data_dir / "haystack_en" / "gatsby.txt").read_text(encoding="utf-8")[:40000]
    toks = p._llm.tokenize(text.encode(), add_bos=True)
    first, shared, other = toks[:1300], 700, toks[1500:1560]
    last = shared + len(other) - 1

    def rewound() -> np.ndarray:
        p._decode(first, start=0, first_flag=len(first) - 1)
        return p._decode(other, start=shared, first_flag=last)[-1]

    n_swa = p._n_swa
    assert n_swa == 512  # Gemma 3 270M's window, read from the GGUF
    try:
        checked = rewound()
        p._n_swa = 0  # what the provider did before it checked the window: rewind regardless
        unchecked = rewound()
    finally:
        p._n_swa = n_swa
    fresh = p._decode(first[:shared] + other, start=0, first_flag=last)[-1]
    diff = float(np.abs(checked - fresh).max())
    broken = float(np.abs(unchecked - fresh).max())
    with capsys.disabled():
        print(f"\nKV rewind 1,300 -> 700 tokens, then 60 new: max |Δ logprob| {diff:.4f} "
              f"(without the window check: {broken:.2f})")
    assert diff < 1e-3
    assert broken > 0.1  # the window-sized cache really cannot serve that rewind


def test_generation_reports_the_prefix_it_reused(data_dir, local_provider):
    from shootout.providers.base import GenerateRequest

    text = (data_dir / "haystack_en" / "gatsby.txt").read_text(encoding="utf-8")[:3000]
    s = Sampling(temperature=0.0, max_tokens=4)

    async def go():
        a = await local_provider.generate(GenerateRequest(prompt=text + "\nQ: who?", sampling=s))
        b = await local_provider.generate(GenerateRequest(prompt=text + "\nQ: where?", sampling=s))
        return a, b

    a, b = asyncio.run(go())
    assert a.usage.prompt_tokens > 600
    # the shared text, up to the micro-batch its question falls in (see the test below)
    assert b.usage.cached_tokens == 512 < b.usage.prompt_tokens


def test_greedy_generation_does_not_depend_on_the_prompt_before(data_dir):
    """A prompt's first-token logits, bit for bit, whether the cache held the previous
    GSM8K prompt (its 8-shot block shared) or nothing. llama.cpp computes a row by the
    micro-batch it falls in: reusing all 701 shared tokens left the log-probabilities of
    GSM8K's second test item up to 0.69 nats off its single pass, and gave item 726 after
    item 1192 another greedy answer (docs/local-model.md)."""
    b = REGISTRY["gsm8k"](data=DataDir(data_dir))
    s = Sampling(temperature=0.0, max_tokens=1)
    ctx = PromptContext("generative", False, s, b.default_fewshot)
    first, second = (b.request(d, ctx).prompt for d in b.load()[:2])

    def logits(p, prompt):
        asyncio.run(p.generate(GenerateRequest(prompt=prompt, sampling=s)))
        return _last_logprobs(p._llm)

    chained = LocalProvider(n_ctx=4096)
    fresh = LocalProvider(n_ctx=4096)
    try:
        logits(chained, first)
        after = logits(chained, second)
        alone = logits(fresh, second)
        got = asyncio.run(chained.generate(GenerateRequest(prompt=second, sampling=s)))
    finally:
        chained.close()
        fresh.close()
    assert float(abs(after - alone).max()) == 0.0
    assert got.usage.cached_tokens == 512  # the shared block is still reused, in part
