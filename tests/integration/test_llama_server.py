"""The OpenAI-compatible provider against a real llama-cpp-python server (same GGUF).

The server's echo+logprobs path takes several seconds per request (it log-softmaxes the full
262K vocabulary per position: ~20 s per WinoGrande item here), so these tests use one short
WinoGrande item each.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import GenerateRequest, Sampling
from shootout.providers.openai import OpenAIProvider

N_ITEMS = 1


def test_loglikelihood_predictions_match_the_local_provider(llama_server, local_provider,
                                                            data_dir, capsys):
    bench = REGISTRY["winogrande"](data=DataDir(data_dir))
    docs = bench.load()[:N_ITEMS]
    ctx = PromptContext("loglikelihood", False, Sampling(), 0)
    remote = OpenAIProvider(model="gemma-3-270m", base_url=llama_server, logprobs=True,
                            chat=False, concurrency=1, timeout=300)

    async def go():
        out = []
        for d in docs:
            req = bench.request(d, ctx)
            out.append((await local_provider.loglikelihood(req), await remote.loglikelihood(req)))
        await remote.aclose()
        return out

    pairs = asyncio.run(go())
    maxdiff = 0.0
    for loc, rem in pairs:
        ll_l = [s.logprob for s in loc.scores]
        ll_r = [s.logprob for s in rem.scores]
        assert ll_l.index(max(ll_l)) == ll_r.index(max(ll_r))
        assert [s.n_tokens for s in loc.scores] == [s.n_tokens for s in rem.scores]
        maxdiff = max(maxdiff, *(abs(a - b) for a, b in zip(ll_l, ll_r, strict=True)))
    with capsys.disabled():
        print(f"\nlocal vs llama_cpp.server: same predictions on {len(pairs)} items, "
              f"max |Δ logprob| {maxdiff:.3f}")
    assert maxdiff < 1.0


def test_generative_greedy_text_matches_local(llama_server, local_provider):
    req = GenerateRequest(prompt="The capital of France is",
                          sampling=Sampling(temperature=0.0, max_tokens=8))
    # llama-cpp-python's server applies repeat_penalty 1.1 unless told otherwise
    remote = OpenAIProvider(model="gemma-3-270m", base_url=llama_server, chat=False,
                            extra_body={"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0})

    async def go():
        r = await remote.generate(req)
        await remote.aclose()
        return r

    r = asyncio.run(go())
    loc = asyncio.run(local_provider.generate(req))
    assert r.text.strip()
    assert r.text == loc.text
    assert r.timing.ttft is not None and r.timing.ttft <= r.timing.e2e
    assert r.usage.completion_tokens > 0


def test_cli_against_the_server_both_modes(shootout_cmd, llama_server, data_dir, tmp_path):
    common = ["run", "-m", "openai:gemma-3-270m", "--base-url", llama_server, "--no-chat",
              "-b", "winogrande", "--limit", "1", "--store", str(tmp_path / "s.sqlite"),
              "--data-dir", str(data_dir), "--json", "--no-progress"]
    ll = subprocess.run([*shootout_cmd, *common, "--scoring", "loglikelihood", "--logprobs"],
                        capture_output=True, text=True, timeout=600)
    assert ll.returncode == 0, ll.stderr[-2000:]
    gen = subprocess.run([*shootout_cmd, *common, "--scoring", "generative", "--temperature", "0"],
                         capture_output=True, text=True, timeout=600)
    assert gen.returncode == 0, gen.stderr[-2000:]
    ll_rows = json.loads(ll.stdout)["results"]
    gen_rows = json.loads(gen.stdout)["results"]
    assert {r["metric"] for r in ll_rows} == {"acc"}
    assert {r["metric"] for r in gen_rows} >= {"acc", "acc_strict"}
    assert all(r["n"] == 1 and r["n_failed"] == 0 for r in ll_rows + gen_rows)
    man = json.loads(gen.stdout)["manifest"]["models"]["gemma-3-270m"]
    assert "gemma-3-270m" in man["server_models"]
