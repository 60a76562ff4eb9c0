"""Batch APIs (`-M batch=true`) against fakes of OpenAI's Batch API and Anthropic's Message
Batches on loopback: requests gathered into one job, answered like the plain endpoint, a killed
run's job polled (not submitted again) by the rerun, expired requests asked again, and the
run priced at the batch price with no latency figures."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import pytest

from shootout.errors import RetryableProviderError
from shootout.providers.anthropic import AnthropicProvider
from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.testing.fake_batch import FakeAnthropicBatchServer, FakeOpenAIBatchServer


def _requests(n: int) -> list[GenerateRequest]:
    return [GenerateRequest(messages=(Message("user", f"question {i}?"),),
                            sampling=Sampling(max_tokens=32)) for i in range(n)]


async def _ask(provider, requests):
    try:
        return await asyncio.gather(*(provider.generate(r) for r in requests))
    finally:
        await provider.aclose()


def test_openai_requests_go_out_as_one_job_and_answer_as_the_endpoint_does(tmp_path):
    with FakeOpenAIBatchServer(polls=2) as srv:
        batch = OpenAIProvider("fake-model", base_url=srv.base_url, batch=True, batch_poll=0.02,
                               batch_journal=str(tmp_path / "j.jsonl"))
        plain = OpenAIProvider("fake-model", base_url=srv.base_url)
        got = asyncio.run(_ask(batch, _requests(5)))
        want = asyncio.run(_ask(plain, _requests(5)))
        jobs = srv.jobs
    assert len(jobs) == 1 and len(jobs[0]["lines"]) == 5
    assert jobs[0]["endpoint"] == "/v1/chat/completions"
    assert all(line["body"]["stream"] is False for line in jobs[0]["lines"])
    assert [r.text for r in got] == [r.text for r in want]
    assert [r.usage.completion_tokens for r in got] == [r.usage.completion_tokens for r in want]
    assert all(r.usage.batch and r.timing.ttft is None for r in got)


def test_a_killed_run_polls_its_job_instead_of_submitting_again(tmp_path):
    journal = str(tmp_path / "j.jsonl")
    with FakeOpenAIBatchServer(polls=10_000) as srv:
        first = OpenAIProvider("fake-model", base_url=srv.base_url, batch=True,
                               batch_poll=0.02, batch_journal=journal)

        async def killed() -> None:
            task = asyncio.ensure_future(_ask(first, _requests(4)))
            while not srv.jobs or not srv.state.polled:
                await asyncio.sleep(0.01)
            task.cancel()  # the process dies while its job is still in progress
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(killed())
        assert len(srv.jobs) == 1
        srv.state.polls = 0  # the job finishes while nobody is polling
        rerun = OpenAIProvider("fake-model", base_url=srv.base_url, batch=True,
                               batch_poll=0.02, batch_journal=journal)
        got = asyncio.run(_ask(rerun, _requests(4)))
        assert len(srv.jobs) == 1  # polled, not submitted (and paid for) again
    assert all(r.text for r in got)


def test_an_expired_request_fails_retryably_and_is_asked_again(tmp_path):
    journal = str(tmp_path / "j.jsonl")
    with FakeOpenAIBatchServer(polls=0) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, batch=True,
                                  batch_poll=0.02, batch_journal=journal)
        cid = provider._batcher.custom_id(provider._shaped(
            {"model": "fake-model", "temperature": 0.0, "top_p": 1.0, "max_tokens": 32,
             "stream": False, "messages": [{"role": "user", "content": "question 0?"}]}))
        srv.state.expire = {cid}
        provider._batcher._seen.clear()

        async def twice():
            try:
                with pytest.raises(RetryableProviderError, match="batch_expired"):
                    await provider.generate(_requests(1)[0])
                srv.state.expire = set()
                return await provider.generate(_requests(1)[0])
            finally:
                await provider.aclose()

        again = asyncio.run(twice())
        assert len(srv.jobs) == 2 and again.text


def test_anthropic_message_batches(tmp_path):
    with FakeAnthropicBatchServer(polls=1) as srv:
        batch = AnthropicProvider("claude-x", base_url=srv.base_url, batch=True,
                                  batch_poll=0.02, batch_journal=str(tmp_path / "j.jsonl"))
        plain = AnthropicProvider("claude-x", base_url=srv.base_url)
        got = asyncio.run(_ask(batch, _requests(3)))
        want = asyncio.run(_ask(plain, _requests(3)))
        jobs = srv.jobs
    assert len(jobs) == 1 and len(jobs[0]["requests"]) == 3
    assert all("stream" not in r["params"] for r in jobs[0]["requests"])
    assert all(len(r["custom_id"]) <= 64 for r in jobs[0]["requests"])
    assert [r.text for r in got] == [r.text for r in want]
    assert all(r.usage.batch and r.timing.ttft is None and r.usage.prompt_tokens for r in got)


def test_a_batch_run_is_priced_at_half_and_has_no_latency(shootout_cmd, tmp_path, data_dir):
    env = {**os.environ, "COLUMNS": "250"}
    price = json.dumps({"input_per_m": 2.0, "output_per_m": 8.0, "source": "test"})
    totals = {}
    with FakeOpenAIBatchServer(polls=1) as srv:
        for mode, extra in (("batch", ["--batch", "-M", "batch_poll=0.05", "-M",
                                       f"batch_journal={tmp_path / 'j.jsonl'}"]), ("live", [])):
            store = str(tmp_path / f"{mode}.sqlite")
            run = subprocess.run(
                [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
                 "-M", f"price={price}", *extra, "-b", "gsm8k", "--limit", "4",
                 "--store", store, "--data-dir", str(data_dir), "--no-progress"],
                capture_output=True, text=True, timeout=300, env=env)
            assert run.returncode == 0, run.stderr
            out = subprocess.run([*shootout_cmd, "results", "--json", "--store", store],
                                 capture_output=True, text=True, timeout=120, env=env)
            data = json.loads(out.stdout)
            totals[mode] = next(r for r in data["efficiency"] if r["scope"] == "model")
        assert len(srv.jobs) == 1
    b, live = totals["batch"], totals["live"]
    assert b["tokens"] == live["tokens"]
    assert b["n_batch_requests"] == 4 and live["n_batch_requests"] == 0
    assert b["cost_usd"] == pytest.approx(live["cost_usd"] / 2)
    assert live["latency"]["n"] == 4 and b["latency"]["n"] == 0  # no latency from a batch
