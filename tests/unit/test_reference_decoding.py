"""Generation settings follow the reference implementations the scores are compared with."""

from __future__ import annotations

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.benchmarks.base import Benchmark
from shootout.data import DataDir
from shootout.providers.base import Sampling


def test_gsm8k_stops_like_lm_eval_gsm8k_cot_v3(data_dir):
    """Defect 6 of issue 12: lm-eval's gsm8k_cot (task version 3.0) stops at "Q:", "</s>" and
    "<|im_end|>"; stopping at a blank line cut reasoning that had a paragraph break."""
    bench = REGISTRY["gsm8k"](data=DataDir(data_dir))
    doc = bench.load()[0]
    req = bench.request(doc, PromptContext("generative", False, Sampling(), 8))
    assert req.sampling.stop == ("Q:", "</s>", "<|im_end|>")


def test_every_generative_benchmark_defaults_to_greedy_decoding():
    """Defect 5 of issue 12: the reference decoding of every benchmark here is greedy."""
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Benchmark)
        assert (cls.default_temperature, cls.default_top_p) == (0.0, 1.0), name
    assert not REGISTRY["needle"].follows_seed_protocol  # RULER scores retrieval greedily


def test_chat_models_get_the_chat_budget_where_the_prompt_is_shootouts_own(tmp_path):
    """Base models decode as lm-eval's gsm8k_cot / minerva_math (256 new tokens); a chat
    model, asked by shootout's own zero-shot prompt to work the problem, gets 2,048 (256 would
    cut most worked answers off before the answer); --max-tokens still wins."""
    from shootout.config import validate_config
    from shootout.runner.run import PlannedBenchmark, Runner
    from shootout.store.sqlite import Store
    from shootout.testing import FakeProvider

    def budget(name: str, chat: bool, **extra: object) -> int | None:
        cfg = validate_config({"models": ["openai:fake"], "benchmarks": [name], **extra}, "t")
        runner = Runner(cfg, Store(tmp_path / "s.sqlite"))
        bench = REGISTRY[name](data=DataDir(None))
        ctx = runner._prompt_context(cfg.models[0], FakeProvider(chat=chat),
                                     PlannedBenchmark(bench, [], 0), "generative")
        return ctx.sampling.max_tokens

    for name in ("gsm8k", "math500", "math"):
        assert budget(name, chat=False) == 256
        assert budget(name, chat=True) == 2048
        assert budget(name, chat=True, sampling={"max_tokens": 300}) == 300
    assert budget("mbpp", chat=True) == budget("mbpp", chat=False) == 256  # lm-eval's both


def test_the_manifest_gives_each_models_few_shot_count(tmp_path, data_dir):
    """GSM8K's and MATH's chat prompt is zero-shot: a chat model's manifest entry (and the
    report's methodology table) says 0, a base model's 8 (4); the benchmark's own `fewshot`
    is their common count, or the count asked for where they differ."""
    import asyncio

    from shootout.config import validate_config
    from shootout.runner.run import Runner
    from shootout.store.sqlite import Store
    from shootout.testing import FakeProvider

    def manifest(chats: dict[str, bool]) -> dict:
        cfg = validate_config({"models": [{"spec": "openai:fake", "name": n} for n in chats],
                               "benchmarks": ["gsm8k", "math500"], "limit": 2}, "t")
        store = Store(tmp_path / f"{len(chats)}.sqlite")
        providers = {n: FakeProvider(answer="The answer is 3.", chat=c) for n, c in chats.items()}
        run_id = asyncio.run(Runner(cfg, store, data_dir=str(data_dir)).run(providers))
        return store.get_run(run_id)["manifest"]["benchmarks"]

    both = manifest({"chat": True, "base": False})
    assert {m: e["fewshot"] for m, e in both["gsm8k"]["per_model"].items()} == \
        {"chat": 0, "base": 8}
    assert {m: e["fewshot"] for m, e in both["math500"]["per_model"].items()} == \
        {"chat": 0, "base": 4}
    assert (both["gsm8k"]["fewshot"], both["math500"]["fewshot"]) == (8, 4)  # asked for
    # the sampling as sent: the benchmark's stop sequences with it (the manifest had none)
    assert list(both["gsm8k"]["per_model"]["base"]["sampling"]["stop"]) == \
        ["Q:", "</s>", "<|im_end|>"]
    assert list(both["math500"]["per_model"]["base"]["sampling"]["stop"]) == ["Problem:"]
    chat_only = manifest({"chat": True})
    assert (chat_only["gsm8k"]["fewshot"], chat_only["math500"]["fewshot"]) == (0, 0)


def test_a_fewshot_past_the_pool_is_recorded_as_the_prompt_carries_it(data_dir):
    """`--fewshot 8` on a benchmark with fewer solved examples to draw from is quietly cut to
    the pool (MBPP's tasks 2-4, MMLU's and CMMLU's five dev items a subject, MMLU-Pro's five
    validation items a category): the manifest says what the prompt carried."""
    from shootout.providers.base import GenerateRequest

    for name, pool in (("mbpp", 3), ("mmlu", 5), ("cmmlu", 5), ("mmlu_pro", 5)):
        bench = REGISTRY[name](data=DataDir(data_dir))
        assert bench.fewshot_in(PromptContext("generative", False, Sampling(), 8)) == pool
        assert bench.fewshot_in(PromptContext("generative", False, Sampling(), 2)) == 2
    mbpp = REGISTRY["mbpp"](data=DataDir(data_dir))
    doc = mbpp.load()[0]
    req = mbpp.request(doc, PromptContext("generative", False, Sampling(), 8))
    assert isinstance(req, GenerateRequest) and (req.prompt or "").count("[DONE]") == 3


def test_a_models_own_sampling_overrides_the_runs_key_by_key(tmp_path):
    """A model's `sampling:` giving only a temperature keeps the run's top_p and max_tokens
    (its block replaced the run's whole: top_p 1.0 and the benchmark's budget were sent; an
    audit's), as `price:` is merged."""
    from shootout.config import model_sampling, validate_config
    from shootout.runner.run import PlannedBenchmark, Runner
    from shootout.store.sqlite import Store
    from shootout.testing import FakeProvider

    cfg = validate_config({
        "models": ["openai:warm", {"spec": "openai:cold", "sampling": {"temperature": 0}}],
        "benchmarks": ["gsm8k"],
        "sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": 64}}, "t")
    warm, cold = cfg.models
    assert model_sampling(warm, cfg.sampling) == cfg.sampling
    got = model_sampling(cold, cfg.sampling)
    assert (got.temperature, got.top_p, got.max_tokens) == (0, 0.9, 64)
    runner = Runner(cfg, Store(tmp_path / "s.sqlite"))
    bench = REGISTRY["gsm8k"](data=DataDir(None))
    ctx = runner._prompt_context(cold, FakeProvider(chat=True),
                                 PlannedBenchmark(bench, [], 0), "generative")
    assert (ctx.sampling.temperature, ctx.sampling.top_p, ctx.sampling.max_tokens) == (
        0, 0.9, 64)


def test_a_resumed_run_that_would_sample_otherwise_is_refused(tmp_path, data_dir, monkeypatch):
    """The run id hashes the configuration as written: code that turns it into other
    sampling (here the stored answers' max_tokens as an older shootout sent it) resumed the
    same run on other settings. Refused before anything is sent, as other data is."""
    import asyncio
    import json

    import pytest

    from shootout.config import validate_config
    from shootout.errors import ConfigError
    from shootout.runner.run import Runner
    from shootout.store.sqlite import Store
    from shootout.testing import FakeProvider

    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    cfg = validate_config({"models": ["openai:fake"], "benchmarks": ["gsm8k"], "limit": 2,
                           "sampling": {"max_tokens": 64}}, "t")
    store = Store(tmp_path / "s.sqlite")

    def run(provider: FakeProvider) -> str:
        return asyncio.run(Runner(cfg, store).run({cfg.models[0].display: provider}))

    run_id = run(FakeProvider(chat=True))
    again = FakeProvider(chat=True)
    run(again)  # the same settings: resumed, nothing asked
    assert again.calls == []
    manifest = store.get_run(run_id)["manifest"]
    manifest["benchmarks"]["gsm8k"]["per_model"]["fake"]["sampling"]["max_tokens"] = 2048
    store.set_manifest(run_id, json.loads(json.dumps(manifest)))
    store._db.execute("DELETE FROM samples WHERE rowid = (SELECT MIN(rowid) FROM samples)")
    store._db.commit()
    late = FakeProvider(chat=True)
    with pytest.raises(ConfigError, match="max_tokens 2048 then, 64 now"):
        run(late)
    assert late.calls == []
