"""Needle in a haystack on the embedded model and on a llama-cpp-python server (same GGUF).

Prompt sizes are checked in the model's own tokenizer for every haystack; generation runs are
kept to 1K-token prompts (the embedded model evaluates roughly 50-900 tokens/s on a shared
CPU, so each 1K prompt costs 1-20 s). The run on the embedded model goes through the CLI,
which checks what an in-process run of the same grid did: the metrics, the heatmap and the
prompts' token counts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace

import pytest

from shootout.benchmarks import REGISTRY
from shootout.benchmarks.base import PromptContext
from shootout.benchmarks.needle import NeedleInAHaystack
from shootout.data import DataDir
from shootout.providers.base import Sampling
from shootout.providers.openai import OpenAIProvider

BASE = PromptContext("generative", False, Sampling(temperature=0.0, max_tokens=16), 0)
GREEDY = {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}


def make(data_dir, **options) -> NeedleInAHaystack:
    return NeedleInAHaystack(data=DataDir(data_dir), options=options)


def measured_depth(bench, doc, prompt: str, tokenize) -> float:
    """Where the queried needle starts, as a fraction of the haystack's tokens, measured
    independently of the builder: tokens before it over all haystack tokens."""
    head, tail, needles = bench._texts(doc)
    at = prompt.index(needles[0].text)
    head_n = len(tokenize(head.rstrip("\n")))
    joiner = bench.corpus.joiner
    size = {n.text: len(tokenize(joiner + n.text, add_bos=False)) for n in needles}
    earlier = sum(size[n.text] for n in needles[1:] if prompt.index(n.text) < at)  # distractors
    before = len(tokenize(prompt[:at].rstrip())) - head_n - earlier
    needle_n = sum(size.values())
    total = len(tokenize(prompt)) - head_n - len(tokenize(tail, add_bos=False)) - needle_n
    return before / total


@pytest.mark.parametrize("haystack", ["gatsby", "pg", "zh", "synthetic"])
@pytest.mark.parametrize("variant", ["single", "multikey"])
def test_prompts_have_the_length_and_depth_asked_for(haystack, variant, data_dir,
                                                     local_provider, capsys):
    b = make(data_dir, lengths="1k,2k,4k", depths="0,10,25,50,75,90,100", trials=1,
             haystack=haystack, variant=variant)
    docs = asyncio.run(b.bind(local_provider, b.load(), BASE))
    worst_len = worst_depth = 0.0
    for d in docs:
        prompt = b.request(d, BASE).prompt
        n, L = len(local_provider.tokenize(prompt)), d.fields["length"]
        assert abs(n - L) <= 0.01 * L, (d.id, n)
        assert n + 16 <= local_provider.n_ctx
        depth = measured_depth(b, d, prompt, local_provider.tokenize)
        built = b._built(d, BASE)
        assert abs(depth - d.fields["depth"] / 100) <= built.slack[0] + 0.005, (d.id, depth)
        worst_len = max(worst_len, abs(n - L) / L)
        worst_depth = max(worst_depth, abs(depth - d.fields["depth"] / 100))
    with capsys.disabled():
        print(f"\n{haystack}/{variant}: {len(docs)} prompts, max length error "
              f"{100 * worst_len:.2f}%, max depth error {100 * worst_depth:.2f} points")


def remote(url: str) -> OpenAIProvider:
    """llama-cpp-python's server reports usage only on non-streamed responses, so this also
    exercises `OpenAIProvider.count_prompt_tokens`."""
    return OpenAIProvider(model="gemma-3-270m", base_url=url, chat=False, concurrency=1,
                            timeout=600, extra_body=GREEDY)


def test_server_counts_the_same_prompt_tokens_with_the_model_tokenizer(
        llama_server, data_dir, local_provider, capsys):
    b = make(data_dir, lengths="1k", depths="50", trials=1, tokenizer="local",
             context_window=2048)
    api = remote(llama_server)

    async def go():
        docs = await b.bind(api, b.load(), BASE)
        out = []
        for d in docs:
            req = b.request(d, BASE)
            out.append((d, req, await api.count_prompt_tokens(req), await api.generate(req)))
        await api.aclose()
        return out

    got = asyncio.run(go())
    calib = b.binding_info()["calibration"]
    assert len(calib) == 1 and calib[0]["note"] == "tokenizer agrees with the server"
    for d, req, server_n, resp in got:
        built = b._built(d, BASE).tokens
        assert server_n == built == len(local_provider.tokenize(req.prompt)), d.id
        assert abs(server_n - 1024) <= 10
        local = asyncio.run(local_provider.generate(req))
        assert resp.text == local.text, d.id  # same greedy answer on both paths
    with capsys.disabled():
        print(f"\nllama_cpp.server: prompt tokens {[g[2] for g in got]} = built "
              f"{[b._built(g[0], BASE).tokens for g in got]}; answers {[g[3].text for g in got]}")


def test_server_calibration_without_a_known_tokenizer(llama_server, data_dir, capsys):
    b = make(data_dir, lengths="1k", depths="50", trials=1, context_window=2048)
    api = remote(llama_server)

    async def go():
        docs = await b.bind(api, b.load(), BASE)
        n = await api.count_prompt_tokens(b.request(docs[0], BASE))
        await api.aclose()
        return n

    n = asyncio.run(go())
    info = b.binding_info()
    assert info["exact"] is False and info["calibration"]
    assert abs(n - 1024) <= 0.01 * 1024
    with capsys.disabled():
        tries = [(c["counted"], c["reported"]) for c in info["calibration"]]
        print(f"\nestimator + calibration (counted, reported): {tries} -> server counts {n} "
              "for a 1024-token target")


@pytest.mark.skipif("needle" not in REGISTRY, reason="needle is not registered yet")
def test_cli_run_reports_heatmap_and_buckets(shootout_cmd, tmp_path, data_dir):
    proc = subprocess.run(
        [*shootout_cmd, "run", "--model", "local", "--benchmarks", "needle",
         "--needle-lengths", "1024", "--needle-depths", "0,50,100", "--needle-trials", "1",
         "--store", str(tmp_path / "s.sqlite"),
         "--data-dir", str(data_dir), "--json", "--no-progress"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    metrics = {r["metric"] for r in payload["results"] if r["benchmark"] == "needle"}
    assert {"acc", "acc_strict", "acc_beginning", "acc_middle", "acc_end",
            "lost_in_middle_gap", "effective_length"} <= metrics
    analysis = payload["analyses"]["Gemma 3 270M · Q4_K_M"]["needle"]
    assert analysis["coverage"]["fraction"] == 1.0
    assert analysis["lengths"] == [1024] and analysis["depths"] == [0.0, 50.0, 100.0]
    assert len(analysis["heatmap"][0]) == 3
    # the prompts the model read are the lengths asked for, counted by its own tokenizer
    assert analysis["tokens"]["n_reported_equal_built"] == 3
    assert analysis["tokens"]["max_rel_error_vs_target"] <= 0.01
    rows = {r["metric"]: r for r in payload["results"] if r["benchmark"] == "needle"}
    assert rows["acc_strict"]["score"] <= rows["acc"]["score"]  # first number: stricter
    # No --temperature given: needle's greedy preset applies, so one sample per item.
    assert all(r["repeats"] == 1 for r in payload["results"] if r["benchmark"] == "needle")
    for r in payload["results"]:
        if r["metric"].startswith("acc") and r["ci_low"] is not None:
            assert 0.0 <= r["ci_low"] <= r["score"] <= r["ci_high"] <= 1.0, r


# a model's own system prompt (config `system_prompt:`), ~150 tokens
SYSTEM = "You are a careful assistant who reads long documents closely. " * 12


@pytest.mark.parametrize("system", [None, SYSTEM], ids=["template", "system_prompt"])
def test_a_chat_models_prompts_leave_room_for_its_template_at_the_window_edge(data_dir, system):
    """SmolLM2's template adds ~30 tokens (a default system turn, role markers) around the
    user message; a haystack sized to the window less the answer's room overflowed by them
    (a standard15 run failed "prompt of 8077 tokens + 128 exceeds n_ctx=8192"). A model's
    own system prompt, which the runner puts first, takes room too."""
    from shootout.providers.base import with_system_prompt
    from shootout.providers.registry import build_provider

    smol = build_provider("local:smollm2-135m", {"n_ctx": 2048, "n_threads": 2})
    try:
        ctx = PromptContext("generative", True, Sampling(temperature=0.0, max_tokens=128), 0,
                            system_prompt=system)
        b = make(data_dir, depths="0,100", trials=1)
        docs = asyncio.run(b.bind(smol, b.load(), ctx))
        edge = [d for d in docs if d.fields["length"] == 2048]
        assert edge
        for d in edge:
            req = with_system_prompt(b.request(d, ctx), system)  # as the runner sends it
            n = asyncio.run(smol.count_prompt_tokens(req))
            assert n is not None and n + 128 <= 2048, (d.id, n)
            assert n >= 2048 - 128 - 60, (d.id, n)  # cut by the template's room, no more
        overhead = b.binding_info().get("chat_overhead", 0)  # and the manifest says so
        assert overhead > (100 if system else 20), overhead
        # inside the window the whole prompt is the length, as RULER counts it with its
        # template (it was the message alone: the prompt ran long by the template)
        inner = [d for d in docs if d.fields["length"] + 128 <= 2048]
        assert inner
        for d in inner:
            L = d.fields["length"]
            n = asyncio.run(smol.count_prompt_tokens(with_system_prompt(b.request(d, ctx),
                                                                        system)))
            assert n is not None and abs(n - L) <= 0.01 * L, (d.id, L, n)
        # and the cost estimate (--max-tokens-budget) counts the whole prompt too
        per = b.cost(docs, ctx)["per_length"]
        for L in {d.fields["length"] for d in inner}:
            got = per[str(L)]
            assert abs(got["prompt_tokens"] / got["requests"] - L) <= 0.01 * L, (L, got)
        # the count is the prompt generation feeds the model
        one = replace(with_system_prompt(b.request(edge[0], ctx), system),
                      sampling=Sampling(temperature=0.0, max_tokens=1))
        assert asyncio.run(smol.generate(one)).usage.prompt_tokens == n_for(smol, one)
    finally:
        smol.close()


def n_for(provider, req) -> int:
    return asyncio.run(provider.count_prompt_tokens(req))
