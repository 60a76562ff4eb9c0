"""Batched local generation (`-M parallel=N`, providers.local_batch) on the real embedded models.

A request decoded alone in the batched context answers exactly as the single path does
(token for token, finish reason, usage); several decoded together keep their own stop strings,
length limits and timing. Greedy outputs of a batch of 3 or more can differ from the single
path's (llama.cpp's CPU matrix kernels change with the number of rows: docs/local-model.md),
so concurrent answers are checked for their properties, not for equality.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess

import pytest

from shootout.providers.base import GenerateRequest, GenerateResponse, Message, Sampling
from shootout.providers.embedded import EmbeddedProvider, embedded_model

PROMPTS = (
    "Q: Tom has 3 apples and buys 5 more. How many apples does he have?\nA:",
    "The three largest cities of France are",
    "def add(a, b):\n",
    "Q: A train travels 60 miles in 1.5 hours. What is its speed?\nA:",
)


def _sane(r: GenerateResponse, max_tokens: int) -> None:
    t = r.timing
    assert r.usage.completion_tokens <= max_tokens + 3  # +3: an incomplete UTF-8 character
    if r.text:
        assert t.ttft is not None and 0 < t.ttft == t.chunk_times[0] <= t.e2e
        assert list(t.chunk_times) == sorted(t.chunk_times)
        assert t.chunk_times[-1] <= t.e2e
    assert r.finish_reason in ("stop", "length")


@pytest.mark.timeout(600)
def test_a_request_decoded_alone_answers_as_the_single_path():
    """Base and chat model, stop strings, end-of-turn and length limits: each request sent
    alone to a parallel=4 provider gives the single path's text, finish reason and usage."""

    async def both(model: str, reqs: list[GenerateRequest]) -> None:
        single = EmbeddedProvider(embedded=embedded_model(model), n_threads=1)
        batched = EmbeddedProvider(embedded=embedded_model(model), n_threads=1, parallel=4)
        # concurrent batched answers can differ from the single path's: never served as them
        assert batched.cache_identity() == single.cache_identity() + "|parallel=4"
        try:
            for req in reqs:
                a, b = await single.generate(req), await batched.generate(req)
                assert (b.text, b.finish_reason) == (a.text, a.finish_reason), req
                assert b.usage.prompt_tokens == a.usage.prompt_tokens
                assert b.usage.completion_tokens == a.usage.completion_tokens
                assert len(b.timing.chunk_times) == len(a.timing.chunk_times)
                _sane(b, req.sampling.max_tokens)
        finally:
            await single.aclose()
            await batched.aclose()

    base = [GenerateRequest(prompt=p, sampling=Sampling(max_tokens=24, stop=("\n\n", "Q:")))
            for p in PROMPTS]
    asyncio.run(both("gemma3-270m", base))
    chat = [GenerateRequest(messages=(Message("user", q),), sampling=Sampling(max_tokens=48))
            for q in ("What is 2 + 2?", "Name a colour.", "Say hello.")]
    asyncio.run(both("smollm2-135m", chat))


@pytest.mark.timeout(600)
def test_sequences_decoded_together_keep_their_own_stops_and_limits():
    async def go() -> list[GenerateResponse]:
        p = EmbeddedProvider(n_threads=1, parallel=4)
        try:
            # the same prompt three times: identical greedy sequences until their own limits
            reqs = [
                GenerateRequest(prompt=PROMPTS[1], sampling=Sampling(max_tokens=20)),
                GenerateRequest(prompt=PROMPTS[1], sampling=Sampling(max_tokens=20,
                                                                     stop=(",",))),
                GenerateRequest(prompt=PROMPTS[1], sampling=Sampling(max_tokens=7)),
                GenerateRequest(prompt=PROMPTS[2], sampling=Sampling(max_tokens=20)),
            ]
            out = await asyncio.gather(*(p.generate(r) for r in reqs))
            n_prompt = len(p.tokenize(PROMPTS[1]))
        finally:
            await p.aclose()
        for r, q in zip(out, reqs, strict=True):
            _sane(r, q.sampling.max_tokens)
        assert out[0].usage.prompt_tokens == n_prompt
        return out

    full, stopped, short, other = asyncio.run(go())
    assert full.finish_reason == "length" and full.usage.completion_tokens == 20
    assert "," in full.text  # so the stop string below has something to end
    # the stop string ended its own sequence only, cut before the stop string
    assert stopped.finish_reason == "stop"
    assert stopped.text == full.text[: full.text.index(",")]
    assert short.finish_reason == "length" and short.usage.completion_tokens == 7
    assert full.text.startswith(short.text)
    assert other.finish_reason == "length" and other.usage.completion_tokens == 20


@pytest.mark.timeout(900)
def test_cli_gsm8k_with_parallel_4_stores_every_answer(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    proc = subprocess.run(
        [*shootout_cmd, "run", "-m", "local", "-M", "parallel=4", "-M", "n_threads=1",
         "-b", "gsm8k", "--limit", "4", "--max-tokens", "48", "--store", str(store),
         "--data-dir", str(data_dir), "--json"],
        capture_output=True, text=True, timeout=850,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = next(r for r in json.loads(proc.stdout)["results"] if r["primary"])
    assert (row["benchmark"], row["n"], row["n_failed"]) == ("gsm8k", 4, 0)
    with sqlite3.connect(store) as db:
        tables = {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "samples" in tables
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone() == (4,)


def test_completion_tokens_are_the_tokens_sampled(local_provider):
    """A stop string's tokens and the end-of-generation token are output the model produced
    (and timed): the answer's text tokenized again left them out (a provider audit)."""
    import asyncio

    from shootout.providers.base import GenerateRequest, Sampling

    async def gen(stop: tuple[str, ...], max_tokens: int):
        r = await local_provider.generate(GenerateRequest(
            prompt="Q: Name a color.\nA:", sampling=Sampling(max_tokens=max_tokens, stop=stop)))
        return r, len(local_provider._tokens) - r.usage.prompt_tokens

    cut, evaluated = asyncio.run(gen(("\n",), 40))
    assert cut.finish_reason == "stop" and "\n" not in cut.text
    assert cut.usage.completion_tokens == evaluated + 1  # the last one sampled, not evaluated
    retokenized = len(local_provider.tokenize(cut.text, add_bos=False))
    assert cut.usage.completion_tokens > retokenized
    full, _ = asyncio.run(gen((), 12))
    assert full.finish_reason == "length" and full.usage.completion_tokens == 12
