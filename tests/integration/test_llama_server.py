"""The OpenAI-compatible provider against a real llama-cpp-python server (same GGUF).

The server's echo+logprobs path takes several seconds per request (it log-softmaxes the full
262K vocabulary per position: ~20 s per WinoGrande item here), so the log-likelihood test is
one short WinoGrande item, run through the CLI and compared with the in-process provider.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import GenerateRequest, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.store.sqlite import Store


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


# a GSM8K-like prompt whose greedy answer the server's default repeat_penalty 1.1 changes
FEWSHOT = ("Q: Tom has 3 apples and buys 5 more. How many apples does he have?\nA: Tom has 3 "
           "apples. He buys 5 more apples. So he has 3 + 5 = 8 apples. The answer is 8.\n\nQ: A "
           "box has 4 red balls and 6 blue balls. How many balls?\nA:")


def test_greedy_through_the_server_is_greedy_without_being_told(llama_server, local_provider):
    """llama-cpp-python's server applies repeat_penalty 1.1, top_k 40 and min_p 0.05 unless a
    request says otherwise, so temperature 0 was not greedy: GSM8K answers through it
    differed from the same GGUF in-process on 9 of 10 items (an audit's). Its /models
    (owned_by "me") says which server it is, and the samplers are sent neutral."""
    req = GenerateRequest(prompt=FEWSHOT, sampling=Sampling(temperature=0.0, max_tokens=48))
    remote = OpenAIProvider(model="gemma-3-270m", base_url=llama_server, chat=False)

    async def go():
        await remote.check()
        r = await remote.generate(req)
        await remote.aclose()
        return r

    r = asyncio.run(go())
    assert r.text == asyncio.run(local_provider.generate(req)).text
    assert remote.info()["neutral_samplers"] == {"repeat_penalty": 1.0, "top_k": 0,
                                                 "min_p": 0.0}


def test_cli_against_the_server_both_modes(shootout_cmd, llama_server, local_provider, data_dir,
                                          tmp_path, capsys):
    """Both scoring modes through the CLI; the server's log-likelihoods, as the run stored
    them, give the in-process provider's prediction and token counts on the same item (one
    item: the server's echo path costs ~20 s an item here)."""
    store = tmp_path / "s.sqlite"
    common = ["run", "-m", "openai:gemma-3-270m", "--base-url", llama_server, "--no-chat",
              "-b", "winogrande", "--limit", "1", "--store", str(store),
              "--data-dir", str(data_dir), "--json", "--no-progress"]
    ll = subprocess.run([*shootout_cmd, *common, "--scoring", "loglikelihood", "--logprobs"],
                        capture_output=True, text=True, timeout=600)
    assert ll.returncode == 0, ll.stderr[-2000:]
    db = Store(store)
    (sample,) = db.samples(json.loads(ll.stdout)["run_id"])
    stored = db.get_response(sample.response_key)
    db.close()
    assert stored is not None
    remote = [s["logprob"] for s in stored["scores"]]
    bench = REGISTRY["winogrande"](data=DataDir(data_dir))
    doc = next(d for d in bench.load() if d.id == sample.item_id)
    local = asyncio.run(local_provider.loglikelihood(
        bench.request(doc, PromptContext("loglikelihood", False, Sampling(), 0))))
    mine = [s.logprob for s in local.scores]
    assert mine.index(max(mine)) == remote.index(max(remote))
    assert [s.n_tokens for s in local.scores] == [s["n_tokens"] for s in stored["scores"]]
    maxdiff = max(abs(a - b) for a, b in zip(mine, remote, strict=True))
    with capsys.disabled():
        print(f"\nlocal vs llama_cpp.server: same prediction, max |Δ logprob| {maxdiff:.3f}")
    assert maxdiff < 1.0

    gen = subprocess.run([*shootout_cmd, *common, "--scoring", "generative", "--temperature", "0"],
                         capture_output=True, text=True, timeout=600)
    assert gen.returncode == 0, gen.stderr[-2000:]


def test_a_stream_the_server_cuts_short_is_an_error_not_an_answer(llama_server):
    """llama-cpp-python's server (its default `interrupt_requests`) ends a running stream at
    [DONE], without a finish_reason, when another request arrives: the cut answer is a
    retryable error (never stored as an answer), the later request's answer is whole."""
    import pytest

    from shootout.errors import RetryableProviderError

    remote = OpenAIProvider(model="gemma-3-270m", base_url=llama_server, chat=False)
    long = GenerateRequest(prompt="Once upon a time",
                           sampling=Sampling(temperature=0.0, max_tokens=400))
    short = GenerateRequest(prompt="The capital of France is",
                            sampling=Sampling(temperature=0.0, max_tokens=4))

    async def go():
        first = asyncio.ensure_future(remote.generate(long))
        await asyncio.sleep(1.0)  # its stream under way
        second = await remote.generate(short)
        cut = (await asyncio.gather(first, return_exceptions=True))[0]
        await remote.aclose()
        return cut, second

    cut, second = asyncio.run(go())
    if not isinstance(cut, BaseException) and cut.finish_reason == "length":
        # it ended, whole, before the second request came
        pytest.skip(f"the long stream was not under way ({cut.usage.completion_tokens} tokens)")
    assert isinstance(cut, RetryableProviderError), cut
    assert "no finish_reason" in str(cut)
    assert second.finish_reason == "length" and second.text


def test_a_prompt_past_the_servers_window_is_its_own_error_not_a_cut_stream(llama_server):
    """A prompt past llama-cpp-python's n_ctx is answered with an empty stream, which read
    'stream ended without [DONE] or a finish_reason (cut short)' and was retried six times
    (an audit's); asked again without streaming, the server says why: a 400, not retried."""
    import pytest

    from shootout.errors import ProviderError, RetryableProviderError

    remote = OpenAIProvider(model="gemma-3-270m", base_url=llama_server, chat=False)
    req = GenerateRequest(prompt="hello " * 3000, sampling=Sampling(temperature=0.0,
                                                                    max_tokens=4))

    async def go():
        try:
            return await remote.generate(req)
        finally:
            await remote.aclose()

    with pytest.raises(ProviderError) as e:
        asyncio.run(go())
    assert not isinstance(e.value, RetryableProviderError), e.value
    assert str(e.value).startswith(  # the server's own message, not its JSON cut short
        "HTTP 400 from /v1/completions: This model's maximum context length is 2048 tokens, "
        "however you requested 3006 tokens"), e.value
