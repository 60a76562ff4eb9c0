"""OpenAI's reasoning models as they behave: 400s for `max_tokens`, `temperature`, `top_p` and
`stop` (the real error bodies, from the fake server's reasoning mode), hidden reasoning tokens,
and answers cut off when the output budget is spent on thinking."""

from __future__ import annotations

import asyncio

import pytest

from shootout.analysis.results import build_results
from shootout.config import validate_config
from shootout.errors import RejectedRequestError
from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.providers.param_policy import ParamPolicy
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeOpenAIServer
from shootout.testing.fake_server import reasoning_rejection

QUESTION = GenerateRequest(
    messages=(Message("user", "Which letter?"),),
    sampling=Sampling(temperature=0.0, top_p=1.0, max_tokens=4000, stop=("\n\n",)),
)


def _rejected(body: dict) -> RejectedRequestError:
    err = reasoning_rejection(body)
    assert err is not None
    e = err["error"]
    return RejectedRequestError("HTTP 400", 400, e["param"], e["code"], e["message"])


def test_policy_learns_each_parameter_from_the_real_error_bodies():
    policy = ParamPolicy({})
    body = {"model": "o3", "max_tokens": 10, "temperature": 0.0, "top_p": 1.0, "stop": ["x"]}
    steps = []
    while (sent := policy.apply(body)) and reasoning_rejection(sent) is not None:
        assert policy.learn(_rejected(sent), sent)
        steps.append(dict(policy.rules))
        assert len(steps) < 10
    assert policy.rules == {"max_tokens": "max_completion_tokens", "temperature": None,
                            "top_p": None, "stop": None}
    assert policy.apply(body) == {"model": "o3", "max_completion_tokens": 10}
    assert [e["action"] for e in policy.learnt] == [
        "renamed to max_completion_tokens", "left out", "left out", "left out"]


def test_policy_does_not_learn_what_it_cannot_use():
    policy = ParamPolicy({"temperature": None})
    # already left out: a second complaint about it is not learnt again (no loop)
    assert not policy.learn(_rejected({"temperature": 0.0}), {"temperature": 0.0})
    # a field the user put in extra_body is the user's to fix
    e = RejectedRequestError("HTTP 400", 400, "logit_bias", "unsupported_parameter", "nope")
    assert not policy.learn(e, {"logit_bias": {}})
    # another status, or a 400 about something else
    assert not policy.learn(RejectedRequestError("x", 404, "max_tokens", None, ""),
                            {"max_tokens": 1})
    assert not policy.learn(RejectedRequestError("x", 400, "max_tokens", "invalid_type",
                                                 "must be an integer"), {"max_tokens": 1})
    assert policy.learnt == []


async def _generate_many(provider: OpenAIProvider, n: int):
    try:
        return await asyncio.gather(*(provider.generate(QUESTION) for _ in range(n)))
    finally:
        await provider.aclose()


def test_provider_learns_once_per_model_even_with_requests_in_flight():
    with FakeOpenAIServer(reasoning_model=True, reasoning_tokens=120) as srv:
        provider = OpenAIProvider("o4-mini", base_url=srv.base_url, concurrency=16)
        responses = asyncio.run(_generate_many(provider, 24))
        # one 400 for each rejected parameter, however many requests were in flight
        assert [r["param"] for r in srv.rejected] == ["max_tokens", "temperature", "top_p",
                                                      "stop"]
        sent = srv.requests[-1]["body"]
    assert sent["max_completion_tokens"] == 4000
    assert not {"max_tokens", "temperature", "top_p", "stop"} & set(sent)
    assert all(r.text.startswith("The answer is") for r in responses)
    assert all(r.usage.reasoning_tokens == 120 for r in responses)
    assert all(r.usage.completion_tokens == 120 + 4 for r in responses)
    info = provider.info()
    assert info["param_policy"]["max_tokens"] == "max_completion_tokens"
    assert info["param_policy_learnt"][0]["message"].startswith(
        "Unsupported parameter: 'max_tokens' is not supported with this model.")


def test_a_configured_policy_sends_no_rejected_request():
    policy = {"max_tokens": "max_completion_tokens", "temperature": None, "top_p": None,
              "stop": None}
    with FakeOpenAIServer(reasoning_model=True) as srv:
        provider = OpenAIProvider("o3", base_url=srv.base_url, param_policy=policy,
                                  reasoning_effort="low")
        asyncio.run(_generate_many(provider, 3))
        assert srv.rejected == []
        assert srv.requests[0]["body"]["reasoning_effort"] == "low"
    assert "param_policy_learnt" not in provider.info()


def test_reasoning_models_are_told_apart_and_keyed_apart():
    assert OpenAIProvider("o3-mini").capabilities.reasoning
    assert OpenAIProvider("gpt-5-mini").capabilities.reasoning
    assert not OpenAIProvider("gpt-5-chat-latest").capabilities.reasoning
    assert not OpenAIProvider("gpt-4o").capabilities.reasoning
    assert OpenAIProvider("deepseek-reasoner").capabilities.reasoning
    assert OpenAIProvider("moonshotai/kimi-k2-thinking").capabilities.reasoning
    assert not OpenAIProvider("deepseek-chat").capabilities.reasoning
    assert OpenAIProvider("my-thinker", reasoning_effort="high").capabilities.reasoning
    assert not OpenAIProvider("o3", reasoning=False).capabilities.reasoning
    # another effort is another model as far as the cache goes; no option keeps the old key
    plain = OpenAIProvider("o3").cache_identity()
    assert plain == "openai:o3@https://api.openai.com/v1"
    assert OpenAIProvider("o3", reasoning_effort="low").cache_identity() != plain
    assert OpenAIProvider("o3", extra_body={"service_tier": "flex"}).cache_identity() != plain


def _run(tmp_path, srv: FakeOpenAIServer, *, timeout: float = 120.0, retry_budget: int = 200,
         **sampling: int):
    cfg = validate_config({
        "models": [{"spec": "openai:o4-mini", "name": "o4", "base_url": srv.base_url,
                    "price": {"input_per_m": 1.1, "output_per_m": 4.4},
                    "retry_budget": retry_budget}],
        "benchmarks": ["arc_easy", "mmlu"], "limit": 6,
        **({"sampling": sampling} if sampling else {}),
    }, "test")
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = Store(tmp_path / "s.sqlite")
    provider = OpenAIProvider("o4-mini", base_url=srv.base_url, timeout=timeout)

    async def go() -> str:
        try:
            return await Runner(cfg, store).run({"o4": provider})
        finally:
            await provider.aclose()

    run_id = asyncio.run(go())
    return store, build_results(store, [run_id]).runs[0]


def test_a_run_learns_the_policy_and_prices_reasoning(tmp_path, data_dir):
    with FakeOpenAIServer(reasoning_model=True, reasoning_tokens=300) as srv:
        store, res = _run(tmp_path, srv)
        budgets = {r["body"]["max_completion_tokens"] for r in srv.requests}
    assert budgets == {16_384}  # a reasoning model's budget, not a chat model's 32
    assert store.count_failed(res.run_id) == 0
    model = res.run.manifest["models"]["o4"]
    assert [e["param"] for e in model["param_policy_learnt"]] == ["max_tokens", "temperature",
                                                                  "top_p"]
    assert res.run.manifest["benchmarks"]["mmlu"]["per_model"]["o4"]["reasoning"] is True
    total = next(r for r in res.efficiency if r["scope"] == "model")
    assert total["tokens"]["reasoning"] == 12 * 300
    assert total["cost_reasoning_usd"] == pytest.approx(12 * 300 * 4.4 / 1e6)
    assert all(s.truncated_rate == 0.0 for s in res.scores)


def test_an_answer_cut_off_by_the_budget_is_truncated_not_an_extraction_failure(
        tmp_path, data_dir):
    with FakeOpenAIServer(reasoning_model=True, reasoning_tokens=300) as srv:
        store, res = _run(tmp_path, srv, max_tokens=32)
    statuses = {s.status for s in res.run.samples}
    assert statuses == {"truncated"}  # every budget was spent thinking
    assert store.count_failed(res.run_id) == 0  # scored as it stands, not failed
    acc = next(s for s in res.scores if s.benchmark == "mmlu" and s.primary)
    assert acc.truncated_rate == 1.0 and acc.extraction_failure_rate is None
    assert acc.score == 0.0 and acc.n == 6


def test_the_report_shows_reasoning_tokens_and_their_cost(tmp_path, data_dir):
    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown

    with FakeOpenAIServer(reasoning_model=True, reasoning_tokens=300) as srv:
        store, res = _run(tmp_path, srv)
    markdown = render_markdown(build_report(store, [res.run_id]), charts=False)
    assert "| Reasoning tokens (part of output) | 3,600 |" in markdown
    assert "| Cost of reasoning tokens (USD) |" in markdown


def test_faults_on_a_reasoning_model_end_in_a_score_or_a_failure(tmp_path, data_dir):
    """Injected faults (429s, 5xx, resets, malformed streams...) after the policy is learnt:
    every sample is scored from a real answer or marked failed, never silently wrong."""
    with FakeOpenAIServer(reasoning_model=True) as clean_srv:
        _, clean = _run(tmp_path / "clean", clean_srv)
    with FakeOpenAIServer(reasoning_model=True, fault_rate=0.5, seed=5, hang_seconds=0.5) as srv:
        _, res = _run(tmp_path / "faulty", srv, timeout=0.3, retry_budget=500)
        injected = {r["fault"] for r in srv.requests if r["fault"] is not None}
    assert len(injected) >= 3, injected
    assert {s.status for s in res.run.samples} <= {"ok", "failed"}
    want = {(s.benchmark, s.item_id): s.metrics for s in clean.run.samples}
    for s in res.run.samples:
        if s.status == "ok":
            assert s.metrics == want[(s.benchmark, s.item_id)]
        else:
            assert s.error


def test_a_reasoning_model_waits_longer_for_its_first_bytes() -> None:
    """A reasoning model streams nothing while it thinks: 120 s without a byte timed it out,
    and the retry was billed again. openai-python waits 600 s; OpenAI advises 900 s for flex."""
    def waits(model: str, **options: object) -> float | None:
        return OpenAIProvider(model, base_url="http://127.0.0.1:9/v1", **options).options.timeout

    assert waits("gpt-4o-mini") == 120.0
    assert waits("o3") == 600.0 and waits("my-model", reasoning_effort="high") == 600.0
    assert waits("o4-mini", extra_body={"service_tier": "flex"}) == 900.0
    assert waits("o3", timeout=30) == 30.0


def test_a_batch_job_holds_at_most_what_the_vendor_takes(tmp_path) -> None:
    """OpenAI's Batch API takes up to 50,000 requests per job: a larger --batch_size made one
    job that failed whole."""
    from shootout.providers.anthropic import AnthropicProvider

    journal = str(tmp_path / "b.jsonl")
    openai = OpenAIProvider("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", batch=True,
                            batch_size=80_000, batch_journal=journal)
    claude = AnthropicProvider("claude-haiku-4-5", base_url="http://127.0.0.1:9/v1",
                               batch=True, batch_size=80_000, batch_journal=journal)
    assert openai._batcher is not None and openai._batcher.max_size == 50_000
    assert claude._batcher is not None and claude._batcher.max_size == 80_000
