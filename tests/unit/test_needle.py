"""Needle in a haystack without a model: options, documents, prompt sizing, scoring, analysis.

A whitespace "tokenizer" (one token per word, plus BOS) stands in for the model's; the real
tokenizer is exercised in tests/integration/test_needle_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from shootout.benchmarks.base import PromptContext
from shootout.benchmarks.needle import NeedleInAHaystack, NeedleOptions, aggregate_rows
from shootout.data import DataDir
from shootout.errors import ConfigError, DataError, ProviderError, RejectedRequestError
from shootout.providers.base import (
    BaseProvider,
    Capabilities,
    GenerateRequest,
    GenerateResponse,
    Sampling,
    Usage,
)
from shootout.scoring.needle import (
    Haystack,
    Needle,
    estimate_tokens,
    find_values,
    score_all,
    score_one,
    split_chinese,
    split_english,
    synthetic_corpus,
)
from shootout.scoring.needle_analysis import EFFECTIVE_THRESHOLD, Item, analyse, effective_length
from shootout.store.sqlite import SampleRow

BASE = PromptContext("generative", False, Sampling(temperature=0.0, max_tokens=16), 0)
CHAT = PromptContext("generative", True, Sampling(temperature=0.0, max_tokens=16), 0)


def words(text: str) -> int:
    return 1 + len(text.split())  # BOS + one token per word


class FakeLocal(BaseProvider):
    """Tokenizer, n_ctx and GGUF window like LocalProvider."""

    model_id = "local"

    def __init__(self, n_ctx: int = 8192, window: int = 32768) -> None:
        self.n_ctx, self.context_window = n_ctx, window

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(loglikelihood=True, tokenize=True, context_window=self.context_window,
                            prompt_limit=self.n_ctx)

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return [0] * (words(text) - (0 if add_bos else 1))


class FakeAPI(BaseProvider):
    """An API whose tokenizer we do not know: 1.3 tokens a word plus a chat-ish overhead."""

    model_id = "openai:mystery-model"

    def __init__(self, report: bool = True) -> None:
        self.requests: list[GenerateRequest] = []
        self.report = report

    def server_tokens(self, req: GenerateRequest) -> int:
        text = req.prompt if req.prompt is not None else req.messages[0].content
        return round(1.3 * len(text.split())) + 7

    async def generate(self, req: GenerateRequest) -> GenerateResponse:
        self.requests.append(req)
        usage = Usage(prompt_tokens=self.server_tokens(req), completion_tokens=1)
        return GenerateResponse(text="", usage=usage if self.report else Usage(estimated=True))


def bench(tmp_path: Path | None = None, **options) -> NeedleInAHaystack:
    options.setdefault("haystack", "synthetic")
    root = tmp_path if tmp_path is not None else None
    return NeedleInAHaystack(data=DataDir(root), options=options)


def bound(**options) -> tuple[NeedleInAHaystack, list]:
    b = bench(**options)
    docs = asyncio.run(b.bind(FakeLocal(), b.load(), BASE))
    return b, docs


# -- options and documents ------------------------------------------------------------------
def test_options_parse_lengths_depths_and_aliases():
    parse = NeedleInAHaystack.validate_options
    o = parse({"lengths": "2k,1K,4096", "depths": "0, 50,100", "variant": "multi"})
    assert o.lengths == (1024, 2048, 4096)
    assert o.depths == (100.0, 50.0, 0.0)  # run order: deep needles first (prefix reuse)
    assert o.variant == "multivalue" and o.trials == 3 and o.haystack is None  # gatsby
    assert isinstance(o, NeedleOptions)
    assert parse({}).depths == tuple(float(d) for d in range(100, -1, -10))
    for bad in ({"variant": "nope"}, {"depths": "120"}, {"lengths": "12"}, {"trials": 0},
                {"haystack": "moby"}, {"lengths": "abc"}):
        with pytest.raises(ConfigError, match=r"^needle: "):
            parse(bad)


def test_documents_cover_the_grid_in_run_order_and_are_seeded():
    b = bench(lengths=[1024, 2048], depths=[0, 50, 100], trials=2)
    docs = b.load()
    assert len(docs) == 2 * 3 * 2
    assert [d.id for d in docs[:3]] == ["L1024-d100-t0", "L1024-d100-t1", "L1024-d50-t0"]
    assert {d.group for d in docs} == {"L1024", "L2048"}
    again = bench(lengths=[1024, 2048], depths=[0, 50, 100], trials=2).load()
    assert [d.fields for d in docs] == [d.fields for d in again]
    other = NeedleInAHaystack(data=DataDir(None), fewshot_seed=7,
                              options={"lengths": [1024, 2048], "depths": [0, 50, 100],
                                       "trials": 2, "haystack": "synthetic"}).load()
    assert [d.fields["answers"] for d in docs] != [d.fields["answers"] for d in other]
    keys = [d.fields["query"][0] for d in docs]
    assert len(set(keys)) > len(keys) // 2  # different keys across trials
    for d in docs:
        (v,) = d.fields["answers"]
        assert re.fullmatch(r"[1-9]\d{6}", v)


@pytest.mark.parametrize("variant", ["multivalue", "multikey", "multiquery"])
def test_multi_needle_variants(variant):
    docs = bench(lengths=[1024], depths=[20], trials=1, variant=variant, needles=4).load()
    f = docs[0].fields
    assert len(f["needles"]) == 4
    assert len({n["value"] for n in f["needles"]}) == 4
    assert f["needles"][0]["depth"] == pytest.approx(0.2)
    if variant == "multivalue":
        assert len({n["key"] for n in f["needles"]}) == 1 and len(f["answers"]) == 4
        assert [n["depth"] for n in f["needles"]] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    elif variant == "multikey":
        assert len({n["key"] for n in f["needles"]}) == 4
        assert f["answers"] == [f["needles"][0]["value"]] and len(f["distractors"]) == 3
    else:
        assert f["query"] == [n["key"] for n in f["needles"]] and len(f["answers"]) == 4


def test_default_haystack_falls_back_to_synthetic_without_data(tmp_path):
    assert bench(tmp_path, haystack=None).corpus.name == "synthetic"
    with pytest.raises(DataError):
        _ = bench(tmp_path, haystack="gatsby").corpus


# -- sentences ------------------------------------------------------------------------------
def test_english_sentences_keep_abbreviations_and_initials():
    s = split_english("Mr. Gatsby met F. Scott at 3 p.m. today. “Is it?” she asked! Yes.\nNo.")
    assert s == ["Mr. Gatsby met F. Scott at 3 p.m. today.", "“Is it?” she asked!", "Yes.",
                 "No."]


def test_chinese_sentences():
    got = split_chinese("甲说：“好。”乙笑了！\r\n丙？丁")
    assert got == ["甲说：“好。”", "乙笑了！", "丙？", "丁"]


# -- prompt sizing --------------------------------------------------------------------------
@pytest.mark.parametrize("target", [300, 1024, 5000, 20000])
@pytest.mark.parametrize("depth", [0.0, 0.1, 0.5, 0.93, 1.0])
def test_haystack_hits_the_target_and_the_depth(target, depth):
    h = Haystack(synthetic_corpus(), words)
    needle = Needle("One of the special magic numbers for x is: 1234567.", depth)
    b = h.build("Intro.\n", "\nQuestion? Answer is", [needle], target, tol=2)
    assert abs(words(b.text) - target) <= 2
    hay = b.text[len("Intro.\n") : -len("\nQuestion? Answer is")]
    before = hay[: hay.index("One of the special")]
    assert before == "" or before.endswith(". ")  # on a sentence boundary
    measured = len(before.split()) / b.haystack_tokens
    assert measured == pytest.approx(b.depths[0], abs=1e-9)
    assert abs(measured - depth) <= b.slack[0] + 1e-9
    assert b.slack[0] <= 4 / b.haystack_tokens  # synthetic sentences are 3-4 words


def test_every_prompt_in_a_grid_has_its_length():
    b, docs = bound(lengths="1k,2k,8k", depths="0,25,50,75,100", trials=2, variant="multikey")
    for d in docs:
        req = b.request(d, BASE)
        assert abs(words(req.prompt) - d.fields["length"]) <= 0.01 * d.fields["length"]
        for n in d.fields["needles"]:
            assert f"One of the special magic numbers for {n['key']} is: {n['value']}." in (
                req.prompt)


def test_top_length_leaves_room_for_the_answer():
    b = bench(lengths=[8192], depths=[50], trials=1)
    docs = asyncio.run(b.bind(FakeLocal(n_ctx=8192), b.load(), BASE))
    n = words(b.request(docs[0], BASE).prompt)
    assert n + 16 <= 8192 and n >= 0.99 * 8192


def test_same_configuration_builds_the_same_prompts():
    b1, d1 = bound(lengths="1k", depths="0,50", trials=2)
    b2, d2 = bound(lengths="1k", depths="0,50", trials=2)
    assert [b1.request(d, BASE).to_dict() for d in d1] == [b2.request(d, BASE).to_dict()
                                                            for d in d2]


def test_prompts_share_the_prefix_before_the_needle():
    b, docs = bound(lengths="1k", depths="100,50", trials=2)
    p = [b.request(d, BASE).prompt for d in docs]
    cut = p[0].index("One of the special")
    assert p[0][:cut] == p[1][:cut]  # same depth, other trial: all but needle and question
    assert p[1][: p[2].index("One of the special")] == p[2][: p[2].index("One of the special")]


def test_request_shapes_for_base_and_chat_models():
    b, docs = bound(lengths="1k", depths="50", trials=1)
    key = docs[0].fields["query"][0]
    req = b.request(docs[0], BASE)
    assert req.prompt.startswith("A special magic number is hidden")
    assert req.prompt.endswith(f"What is the special magic number for {key} mentioned in the "
                               f"provided text? The special magic number for {key} mentioned "
                               "in the provided text is")
    assert req.sampling.stop == () and req.sampling.max_tokens == 16  # the run's, as given
    chat = b.request(docs[0], CHAT)
    assert chat.messages[0].content == req.prompt  # RULER: the answer prefix for chat too
    assert chat.sampling.stop == ()
    mb, mdocs = bound(lengths="1k", depths="50", trials=1, variant="multiquery")
    mreq = mb.request(mdocs[0], BASE)
    assert mreq.sampling.max_tokens >= 46 and ", and " in mreq.prompt.splitlines()[-1]


# -- binding: windows, budget, calibration --------------------------------------------------
def test_default_lengths_stop_at_n_ctx():
    b = bench(depths="50", trials=1)
    docs = asyncio.run(b.bind(FakeLocal(n_ctx=8192, window=32768), b.load(), BASE))
    assert sorted({d.fields["length"] for d in docs}) == [1024, 2048, 4096, 8192]


def test_the_items_left_out_past_the_context_are_said():
    """`--limit` draws grid cells at random: where none of them fits the model's context,
    the run said "no sample was answered", as if every request had failed."""
    from shootout.cli.results import no_scores_line

    b = bench(depths="50", trials=1)
    docs = b.load()
    big = [d for d in docs if d.fields["length"] > 8192]
    assert asyncio.run(b.bind(FakeLocal(n_ctx=8192, window=32768), big[:1], BASE)) == []
    assert b.binding_info()["items_past_context"] == 1
    data = {"run_id": "r-x", "status": "complete", "manifest": {"benchmarks": {"needle": {
        "n_items": 0, "per_model": {"m": {"model_binding": b.binding_info()}}}}}}
    assert no_scores_line(data) == (
        "run r-x (complete): no scores; no item was run (needle: the item drawn is longer "
        "than the model's context; -o needle.lengths=1k,2k runs lengths that fit)")
    # lengths that fit the smallest context of the run's models (2,048 tokens here)
    small = dict(b.binding_info(), context_limit=2048)
    data["manifest"]["benchmarks"]["needle"]["per_model"]["n"] = {"model_binding": small}
    assert "-o needle.lengths=1k,2k runs" in no_scores_line(data)
    small["context_limit"] = 1500
    assert "-o needle.lengths=1k runs" in no_scores_line(data)
    asyncio.run(b.bind(FakeLocal(n_ctx=8192, window=32768), docs, BASE))
    assert b.binding_info()["items_past_context"] == len(big)


@pytest.mark.parametrize(("options", "said"), [
    # a billion trials: the grid is built whole before --limit draws, and ran the machine
    # out of memory; 2,000 needles outnumbered the keys ("malformed data file", exit 3);
    # `inf` raised OverflowError (exit 70); an audit's
    ({"trials": 1_000_000_000}, "trials must be at most 1000"),
    ({"needles": 2000, "variant": "multikey"}, "needles must be at most 100"),
    ({"lengths": "inf"}, "lengths: 'inf' is not a token count"),
    ({"lengths": "infk"}, "lengths: 'infk' is not a token count"),
    # 10,000,000k: a dry run built its prompts to 23 GB, killed by the kernel (an audit's)
    ({"lengths": "10000000k"}, r"lengths: 10000000k is too long \(at most 16M tokens"),
])
def test_options_past_what_a_grid_can_be_are_one_line(options, said):
    with pytest.raises(ConfigError, match=f"^needle: {said}"):
        NeedleInAHaystack.validate_options(options)


def test_needles_that_fill_the_prompt_are_the_options_doing_not_the_datas(data_dir):
    """More needles than a length holds: "could not reach -45912 tokens", a DataError (exit
    3) blaming the filler; it is a ConfigError naming the options (an audit's)."""
    b = NeedleInAHaystack(data=DataDir(data_dir), options={
        "lengths": "256", "depths": "50", "trials": 1, "variant": "multivalue", "needles": 100})
    docs = asyncio.run(b.bind(FakeLocal(), b.load(), BASE))
    with pytest.raises(ConfigError, match="cannot hold its 100 needle"):
        b.request(docs[0], BASE)


def test_length_over_n_ctx_is_refused():
    b = bench(lengths="16k", depths="50", trials=1)
    with pytest.raises(ConfigError, match="n-ctx"):
        asyncio.run(b.bind(FakeLocal(n_ctx=8192), b.load(), BASE))


def test_api_without_a_window_needs_lengths_or_context_window():
    b = bench(depths="50", trials=1)
    with pytest.raises(ConfigError, match="context-window"):
        asyncio.run(b.bind(FakeAPI(), b.load(), BASE))
    b = bench(depths="50", trials=1, context_window=4096)
    docs = asyncio.run(b.bind(FakeAPI(), b.load(), BASE, send=False))
    assert sorted({d.fields["length"] for d in docs}) == [1024, 2048, 4096]


def test_budget_and_dry_run_cost():
    grid = {"lengths": "1k,2k", "depths": "0,50,100", "trials": 2}
    b = bench(**grid, max_tokens_budget=10_000)
    with pytest.raises(ConfigError, match="max-tokens-budget"):
        asyncio.run(b.bind(FakeLocal(), b.load(), BASE))
    b = bench(**grid, max_tokens_budget=20_000)
    docs = asyncio.run(b.bind(FakeLocal(), b.load(), BASE))
    c = b.cost(docs, BASE)
    assert c["prompt_tokens"] == 6 * 1024 + 6 * 2048
    assert c["max_completion_tokens"] == 12 * 16 and c["calibration_tokens"] == 0
    # depths 100, 100, 50, 50, 0, 0 per length: each prompt re-evaluates from its needle on
    # (or the previous one's), so 1 + 0 + 1/2 + 1/2 + 1 + 1 = 4 prompts' worth per length
    assert c["evaluated_with_prefix_cache"] == 4 * 1024 + 4 * 2048
    assert c["per_length"]["2048"] == {"requests": 6, "prompt_tokens": 12_288}


def test_calibration_brings_server_counts_within_one_percent():
    api = FakeAPI()
    b = bench(lengths="1k,4k", depths="0,50,100", trials=1, context_window=8192)
    docs = asyncio.run(b.bind(api, b.load(), BASE))
    assert b.binding_info()["exact"] is False
    tries = len(api.requests)
    assert 2 <= tries <= 6 and all(r.sampling.max_tokens == 1 for r in api.requests)
    for d in docs:
        got = api.server_tokens(b.request(d, BASE))
        assert abs(got - d.fields["length"]) <= 0.01 * d.fields["length"], (d.id, got)
    resp = asyncio.run(api.generate(b.request(docs[0], BASE)))
    detail = b.score(docs[0], BASE, resp, b.request(docs[0], BASE)).detail
    assert detail["reported_prompt_tokens"] == resp.usage.prompt_tokens
    assert abs(detail["prompt_tokens"] - resp.usage.prompt_tokens) <= 0.01 * 1024


class EdgeAPI(FakeAPI):
    """A server with an 8,192-token window that refuses a prompt plus its max_tokens past it,
    and whose count per word drifts with the prompt's length (about 1.5% per doubling), as a
    real tokenizer's ratio to the estimate does; `over`: its count is that much higher."""

    window = 8192

    def __init__(self, over: float = 0.0, drift: float = 0.015) -> None:
        super().__init__()
        self.over, self.drift = over, drift

    def server_tokens(self, req: GenerateRequest) -> int:
        text = req.prompt if req.prompt is not None else req.messages[0].content
        words = max(1, len(text.split()))
        return round(1.3 * words * (1 + self.over + self.drift * math.log2(words / 500))) + 7

    async def generate(self, req: GenerateRequest) -> GenerateResponse:
        n = self.server_tokens(req)
        if n + req.sampling.max_tokens > self.window:
            raise RejectedRequestError(f"HTTP 400: you requested {n + req.sampling.max_tokens}"
                                       f" tokens, the window is {self.window}", 400)
        return await super().generate(req)


class CharsAPI(EdgeAPI):
    """Counts as the 4-characters-a-token estimate does, `over` more."""

    def server_tokens(self, req: GenerateRequest) -> int:
        text = req.prompt if req.prompt is not None else req.messages[0].content
        return round(len(text) / 4 * (1 + self.over))


@pytest.mark.parametrize("api", [EdgeAPI(), EdgeAPI(0.003), EdgeAPI(0.2, drift=0.0),
                                 CharsAPI(0.003), CharsAPI(0.0045)],
                         ids=["drift", "drift-over", "estimate-20%-short", "chars+0.3%",
                              "chars+0.45%"])
def test_calibration_at_the_windows_edge_fits_every_prompt(api):
    """The default lengths against an API with an 8,192-token window: the 8K probe, sized by
    the 4K scale, overflowed the window and the refusal ended the run (exit 4, no sample of
    any length); and a probe 0.34% over its target was accepted, then 5 of 6 items were
    refused (an audit's). Every length is now sized, and every item's prompt fits with its
    answer's room."""
    b = bench(depths="0,50,100", trials=2, context_window=8192)
    docs = asyncio.run(b.bind(api, b.load(), BASE))
    assert sorted({d.fields["length"] for d in docs}) == [1024, 2048, 4096, 8192]
    for d in docs:
        req = b.request(d, BASE)
        got = api.server_tokens(req)
        assert got + req.sampling.max_tokens <= api.window, (d.id, got)
        assert got >= 0.98 * d.fields["length"] - req.sampling.max_tokens, (d.id, got)


def test_a_refusal_at_the_edge_that_is_not_about_length_is_not_retried_shorter():
    """Any refusal at the window's edge was retried shorter, and logged as "too long" (a
    parameter's refusal cost five more 8K-token probes; a review's)."""
    class Refusing(EdgeAPI):
        async def generate(self, req: GenerateRequest) -> GenerateResponse:
            self.requests.append(req)
            raise RejectedRequestError("HTTP 400: unsupported parameter: 'seed'", 400, "seed")

    api = Refusing()
    b = bench(lengths="8k", depths="50", trials=1, context_window=8192)
    with pytest.raises(RejectedRequestError, match="unsupported parameter"):
        asyncio.run(b.bind(api, b.load(), BASE))
    assert len(api.requests) == 1


def test_calibration_stops_when_the_server_reports_nothing():
    api = FakeAPI(report=False)
    b = bench(lengths="1k,2k", depths="50", trials=1)
    asyncio.run(b.bind(api, b.load(), BASE))
    assert len(api.requests) == 1
    assert "no prompt tokens" in b.binding_info()["calibration"][0]["note"]


def test_dry_run_sends_nothing():
    api = FakeAPI()
    b = bench(lengths="1k", depths="50", trials=1)
    asyncio.run(b.bind(api, b.load(), BASE, send=False))
    assert api.requests == []


def test_estimate_counts_cjk_per_character():
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("红楼梦") == 3


# -- scoring --------------------------------------------------------------------------------
def test_find_values_and_scoring():
    assert find_values(": 1,234,567. And 76543210 or 7654321 (2345678)") == ["7654321",
                                                                             "2345678"]
    assert score_one(" 1234567.", "1234567")["acc"] == 1.0
    s = score_one(" 7654321, then 1234567", "1234567", ["7654321"])
    assert s["acc"] == 1.0 and s["acc_strict"] == 0.0  # there, but a distractor came first
    assert s["distractor"] and s["extracted"] == "7654321"
    assert score_one("no idea", "1234567")["extracted"] is None
    s = score_all("1234567, 2345678 and 9999999", ["1234567", "2345678", "3456789"])
    assert s["acc"] == 0.0 and s["recall"] == pytest.approx(2 / 3) and s["acc_strict"] == 0.0
    s = score_all("3456789 1234567 2345678", ["1234567", "2345678", "3456789"])
    assert s["acc"] == s["acc_strict"] == 1.0


def test_score_records_tokens_and_depth():
    b, docs = bound(lengths="1k", depths="25", trials=1)
    d = docs[0]
    resp = GenerateResponse(text=f": {d.fields['answers'][0]}.",
                            usage=Usage(prompt_tokens=1000, completion_tokens=4))
    s = b.score(d, BASE, resp, b.request(d, BASE))
    assert s.metrics == {"acc": 1.0, "acc_strict": 1.0, "recall": 1.0}
    assert not s.extraction_failed
    assert s.detail["length"] == 1024 and s.detail["depth"] == 25.0
    assert abs(s.detail["depth_actual"] - 25.0) < 2.0
    assert s.detail["target_tokens"] == 1024 and s.detail["reported_prompt_tokens"] == 1000


# -- analysis -------------------------------------------------------------------------------
def row(length: int, depth: float, trial: int, acc: float) -> SampleRow:
    return SampleRow(model="m", benchmark="needle", item_id=f"L{length}-d{depth:g}-t{trial}",
                     repeat=0, group=f"L{length}", status="ok",
                     metrics={"acc": acc, "recall": acc}, extracted=None, reason="",
                     extraction_failed=False, error=None, response_key=None,
                     detail={"length": length, "depth": depth, "variant": "single",
                             "haystack": "synthetic", "prompt_tokens": length,
                             "target_tokens": length, "reported_prompt_tokens": length,
                             "depth_actual": depth + 0.5})


def test_aggregate_heatmap_buckets_gap_and_effective_length():
    # 1K: perfect. 2K: the middle (50) fails on 2 of 3 trials. 4K: all wrong at depth 50 and 100
    rows = []
    for L, bad in ((1024, {}), (2048, {50: 2}), (4096, {50: 3, 100: 3})):
        for d in (0, 50, 100):
            rows += [row(L, d, t, 0.0 if t < bad.get(d, 0) else 1.0) for t in range(3)]
    values, a = aggregate_rows(rows)
    m = {v.metric: v for v in values}
    assert a["lengths"] == [1024, 2048, 4096] and a["depths"] == [0.0, 50.0, 100.0]
    assert a["heatmap"][0] == [1.0, 1.0, 1.0]
    assert a["heatmap"][1] == pytest.approx([1.0, 1 / 3, 1.0])
    assert a["heatmap"][2] == [1.0, 0.0, 0.0]
    assert a["counts"][2] == [3, 3, 3]
    assert m["acc"].score == pytest.approx(19 / 27) and m["acc"].n == 27
    assert m["acc_beginning"].score == 1.0 and m["acc_beginning"].n == 9
    assert m["acc_middle"].score == pytest.approx(4 / 9)
    assert m["acc_end"].score == pytest.approx(6 / 9)
    gap = (1.0 + 6 / 9) / 2 - 4 / 9
    assert m["lost_in_middle_gap"].score == pytest.approx(gap)
    def bucket_se(v):  # a bucket at 100% has SE 0: the SE its Wilson interval implies
        return max(v.stderr, (v.ci_high - v.ci_low) / (2 * 1.959964))

    se = math.sqrt(bucket_se(m["acc_beginning"]) ** 2 / 4 + bucket_se(m["acc_end"]) ** 2 / 4
                   + bucket_se(m["acc_middle"]) ** 2)
    assert m["acc_beginning"].stderr == 0.0 and bucket_se(m["acc_beginning"]) > 0.05
    assert m["lost_in_middle_gap"].stderr == pytest.approx(se)
    assert m["lost_in_middle_gap"].ci_low == pytest.approx(gap - 1.959964 * se)
    # 2K is at 7/9 = 78% < 85%: the effective length is 1K even though nothing else failed
    assert m["effective_length"].score == 1024 and m["effective_length"].extra["unit"] == "tokens"
    assert a["tokens"]["n_reported_equal_built"] == 27
    assert a["tokens"]["max_depth_error_pct"] == pytest.approx(0.5)
    assert "recall" not in m  # single needle: recall is acc


def test_repeats_are_averaged_within_an_item():
    rows = [row(1024, 50, 0, 1.0), row(1024, 50, 0, 0.0)]
    rows[1] = SampleRow(**{**rows[1].__dict__, "repeat": 1})
    _, a = aggregate_rows(rows)
    assert a["heatmap"] == [[0.5]] and a["counts"] == [[1]]


def test_effective_length_uses_rulers_threshold_of_85_6_percent():
    """RULER's threshold is Llama-2-7B's score at 4K, 85.6% (NVIDIA/RULER README.md: "a
    qualitative threshold, Llama-2-7b performance at 4K (85.6%)"), met when equalled (its
    85.6 at 128K for Qwen3-32B is underlined): 17/20 = 85% falls short of it."""
    assert EFFECTIVE_THRESHOLD == 0.856
    items = [Item(1024, float(d), 1.0, 1.0) for d in range(20)]
    items += [Item(2048, float(d), 1.0 if d < 17 else 0.0, 1.0) for d in range(20)]
    a = analyse(items)
    assert a["threshold"] == pytest.approx(0.856) and a["effective_length"] == 1024
    assert effective_length({1024: 107 / 125}, EFFECTIVE_THRESHOLD) == 1024  # exactly 85.6%


def test_effective_length_and_gap_edge_cases():
    assert effective_length({1024: 0.9, 2048: 0.8, 4096: 0.95}, 0.85) == 1024
    assert effective_length({1024: 0.5}, 0.85) == 0
    a = analyse([Item(1024, 50.0, 1.0, 1.0)])
    assert a["gap"]["value"] is None and a["buckets"]["beginning"]["n"] == 0


def test_calibration_prefers_a_non_streamed_count_where_the_provider_has_one():
    class Counting(FakeAPI):
        def __init__(self) -> None:
            super().__init__(report=False)  # streamed responses carry no usage
            self.counted = 0

        @property
        def capabilities(self) -> Capabilities:
            return Capabilities(count_prompt_tokens=True)

        async def count_prompt_tokens(self, req: GenerateRequest) -> int:
            self.counted += 1
            return self.server_tokens(req)

    api = Counting()
    b = bench(lengths="1k", depths="50", trials=1, context_window=2048)
    docs = asyncio.run(b.bind(api, b.load(), BASE))
    assert api.counted >= 2 and api.requests == []
    assert abs(api.server_tokens(b.request(docs[0], BASE)) - 1024) <= 10


def test_context_needed():
    """The longest prompt and its answer's room, with slack for the builder's tolerance and
    a chat template: raised to the length alone, every 8K prompt was cut to 8,048 tokens."""
    assert bench(lengths="1k,16k").context_needed() == 16384 + 128 + 16384 // 200 + 64
    assert bench(lengths="8k", variant="multivalue", needles=20).context_needed() == \
        8192 + 206 + 8192 // 200 + 64
    assert bench().context_needed() is None


def test_a_local_model_holds_the_longest_prompt_and_its_answer_within_its_window():
    """n_ctx holds the 8K prompt and its answer, so on Gemma (trained window 32K) the prompt
    is 8K tokens; on SmolLM2 (8K window) the answer's room is cut from the prompt, so the
    answer stays in the trained window (docs/needle.md), unless the window is given to test
    past it."""
    from shootout.providers.registry import build_provider

    need = bench(lengths="8k").context_needed()
    gemma = build_provider("local", {}, context_needed=need, dry_run=True)
    assert gemma.n_ctx == need >= 8192 + 128  # type: ignore[attr-defined]
    given = build_provider("local", {"n_ctx": 9000}, context_needed=need, dry_run=True)
    assert given.n_ctx == 9000  # type: ignore[attr-defined]
    b = bench(lengths="8k")
    b.bind_counter(len, limit=need, window=32768)
    assert b._target(8192, 128) == 8192
    b.bind_counter(len, limit=need, window=8192)
    assert 8192 - 128 - 41 <= b._target(8192, 128) < 8192 - 128


def test_dry_run_cost_counts_calibration_for_apis():
    b = bench(lengths="1k,2k", depths="50", trials=1)
    docs = asyncio.run(b.bind(FakeAPI(), b.load(), BASE, send=False))
    assert b.cost(docs, BASE)["calibration_tokens"] == 1024 + 2048
    b = bench(lengths="1k,2k", depths="50", trials=1, tokenizer=words)
    docs = asyncio.run(b.bind(FakeAPI(), b.load(), BASE, send=False))
    assert b.cost(docs, BASE)["calibration_tokens"] == 1024  # exact: confirmed once


def test_runner_raises_a_local_models_context_to_the_longest_needle_length(tmp_path):
    from shootout.config import validate_config
    from shootout.runner.run import Runner
    from shootout.store.sqlite import Store

    def needed(benchmarks: list) -> int | None:
        cfg = validate_config({"models": ["local"], "benchmarks": benchmarks}, "test")
        return Runner(cfg, Store(tmp_path / "s.db"), data_dir=str(tmp_path)).context_needed()

    synthetic = {"haystack": "synthetic", "depths": "50", "trials": 1}
    long = {"name": "needle", "options": {**synthetic, "lengths": "1k,16k"}}
    assert needed([long]) == 16384 + 128 + 16384 // 200 + 64
    assert needed([{"name": "needle", "options": synthetic}]) is None  # default lengths
    # a --max-tokens over the default budget: the answers' room grows with it (a review's)
    cfg = validate_config({"models": ["local"], "benchmarks": [long],
                           "sampling": {"max_tokens": 512}}, "test")
    got = Runner(cfg, Store(tmp_path / "t.db"), data_dir=str(tmp_path)).context_needed()
    assert got == 16384 + 512 + 16384 // 200 + 64
    # an API model's budget does not size the local model's cache
    cfg = validate_config({"models": ["local", {"spec": "openai:m", "sampling": {
        "max_tokens": 32000}}], "benchmarks": [long]}, "test")
    got = Runner(cfg, Store(tmp_path / "u.db"), data_dir=str(tmp_path)).context_needed()
    assert got == 16384 + 128 + 16384 // 200 + 64  # default lengths


# -- issue 12 regressions -------------------------------------------------------------------
# RULER's reference (NVIDIA/RULER scripts/data/synthetic/constants.py and niah.py): the task
# template, its answer prefix, and the singular rewrite niah.py applies when one value is asked.
RULER_TEMPLATE = (
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to "
    "memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are "
    "all the special magic {type_needle_v} for {query} mentioned in the provided text?"
)
RULER_ANSWER_PREFIX = (" The special magic {type_needle_v} for {query} mentioned in the "
                       "provided text are")


def ruler_prompt(context: str, query: str, n_answers: int) -> str:
    """niah.py's generate_input_output: template + answer prefix, made singular for one value."""
    template, kind = RULER_TEMPLATE + RULER_ANSWER_PREFIX, "numbers"
    if n_answers == 1:
        for old, new in (("Some", "A"), ("are all", "is"), ("are", "is"),
                         ("answers", "answer")):
            template = template.replace(old, new)
        kind = "number"
    return template.format(type_needle_v=kind, context=context, query=query)


def ruler_string_match_all(preds: list[str], refs: list[list[str]]) -> float:
    """RULER scripts/eval/synthetic/constants.py, the niah metric (percent, 2 decimals)."""
    score = sum(sum(1.0 if r.lower() in p.lower() else 0.0 for r in ref) / len(ref)
                for p, ref in zip(preds, refs, strict=True)) / len(preds) * 100
    return round(score, 2)


# What the runner hands a chat model when the run sets no --max-tokens (Runner._prompt_context:
# `s.max_tokens or bench.default_max_tokens`).
CHAT_DEFAULT = PromptContext(
    "generative", True,
    Sampling(temperature=0.0, max_tokens=NeedleInAHaystack.default_max_tokens), 0)


@pytest.mark.parametrize("variant", ["single", "multikey", "multiquery"])
def test_defect4_chat_prompt_is_rulers_with_the_answer_prefix(variant):
    b, docs = bound(lengths="1k", depths="50", trials=1, variant=variant)
    f = docs[0].fields
    query = (f["query"][0] if len(f["query"]) == 1
             else ", ".join(f["query"][:-1]) + ", and " + f["query"][-1])
    for ctx in (BASE, CHAT_DEFAULT):
        req = b.request(docs[0], ctx)
        text = req.messages[0].content if ctx.chat else req.prompt
        head, tail = text.split("\n", 1)[0], text.rsplit("\n", 1)[1]
        want = ruler_prompt("CONTEXT", query, len(f["answers"]))
        assert head == want.split("\n", 1)[0], ctx.chat
        assert tail == want.rsplit("\n", 1)[1], ctx.chat  # the question and the answer prefix


def test_defect4_chat_answer_survives_a_restated_question():
    """A chat model that restates the question before the number: 16 tokens cut it off."""
    b, docs = bound(lengths="1k", depths="50", trials=1)
    d = docs[0]
    key, value = d.fields["query"][0], d.fields["answers"][0]
    said = (f"Sure! I read the whole text carefully and found the sentence about {key}, so "
            f"the special magic number for {key} mentioned in the provided text is {value}.")
    req = b.request(d, CHAT_DEFAULT)
    out = " ".join(said.split()[: req.sampling.max_tokens])  # one token a word, cut at the cap
    req = b.request(d, CHAT_DEFAULT)
    assert b.score(d, CHAT_DEFAULT, GenerateResponse(text=out), req).metrics["acc"] == 1.0
    assert req.sampling.max_tokens >= 128  # RULER's tokens_to_generate for niah


@pytest.mark.parametrize(("pred", "refs"), [
    ("Looking at entry 1000000 first, the number is 4827361.", ["4827361"]),
    (" 4827361", ["4827361"]),
    ("It is 48273610.", ["4827361"]),  # RULER matches substrings
    ("It is 4,827,361.", ["4827361"]),  # and does not remove digit grouping
    ("no idea", ["4827361"]),
    ("1111111 and 3333333, also 2222222", ["1111111", "2222222", "3333333", "4444444"]),
    ("4444444", ["1111111", "2222222", "3333333", "4444444"]),
])
def test_defect4_acc_is_rulers_string_match_and_strict_is_beside_it(pred, refs):
    b = bench(lengths="1k", depths="50", trials=1)
    doc = b.load()[0]
    doc = replace(doc, fields={**doc.fields, "answers": refs, "query": ["k"]})
    s = b.score(doc, CHAT_DEFAULT, GenerateResponse(text=pred), GenerateRequest(prompt="")).metrics
    ruler = ruler_string_match_all([pred], [refs]) / 100
    assert s["recall"] == pytest.approx(ruler)
    assert s["acc"] == (1.0 if ruler == 1.0 else 0.0)
    numbers = list(dict.fromkeys(re.findall(r"(?<!\d)\d{7}(?!\d)", pred)))
    strict = sorted(numbers[: len(refs)]) == sorted(refs)  # the first number(s) are the values
    assert s["acc_strict"] == float(strict)


def test_defect4_strict_first_number_is_reported_beside_acc():
    rows = [row(1024, d, 0, 1.0) for d in (0, 50, 100)]
    rows = [replace(r, metrics={**r.metrics, "acc_strict": float(i == 0)})
            for i, r in enumerate(rows)]
    m = {v.metric: v for v in aggregate_rows(rows)[0]}
    assert m["acc"].score == 1.0 and m["acc_strict"].score == pytest.approx(1 / 3)


def grid_rows(model: str, lengths: list[int], acc: dict[int, list[float]]) -> list[SampleRow]:
    """3 depths x 5 trials a length; acc[L] lists the 15 outcomes in depth-major order."""
    out = []
    for L in lengths:
        outcomes = iter(acc.get(L, [1.0] * 15))
        out += [replace(row(L, d, t, next(outcomes)), model=model)
                for d in (0, 50, 100) for t in range(5)]
    return out


def test_defect10_headline_and_marks_compare_models_on_the_common_grid():
    from shootout.analysis.compare import row_marks

    # small: a 2K window, one miss at 1K. big: perfect at 1K-2K, weaker at 4K-8K.
    small = grid_rows("small", [1024, 2048], {1024: [0.0] + [1.0] * 14})
    big = grid_rows("big", [1024, 2048, 4096, 8192],
                    {4096: [1.0] * 5 + [0.0] * 10, 8192: [1.0] * 5 + [0.0] * 10})
    out = NeedleInAHaystack.aggregate_models({"small": small, "big": big})
    m = {name: {v.metric: v for v in vals} for name, (vals, _) in out.items()}
    assert m["small"]["acc"].n == m["big"]["acc"].n == 30
    assert m["small"]["acc"].score == pytest.approx(29 / 30)
    assert m["big"]["acc"].score == 1.0  # its own grid would give 40/60
    assert m["big"]["acc_own_grid"].score == pytest.approx(40 / 60)
    assert m["big"]["effective_length"].score == 2048  # still over its own lengths
    cells = {(name, "needle"): replace(v["acc"], model=name, benchmark="needle")
             for name, v in m.items()}
    assert row_marks("needle", ["small", "big"], cells, []).best == "big"
    cov = {name: a["coverage"] for name, (_, a) in out.items()}
    assert cov["small"]["lengths"] == [1024, 2048] and cov["small"]["fraction"] == 0.5
    assert cov["big"]["fraction"] == 1.0
    assert cov["big"]["common_lengths"] == [1024, 2048] == cov["small"]["common_lengths"]
    alone = NeedleInAHaystack.aggregate_models({"big": big})["big"][0]
    assert {v.metric: v.score for v in alone}["acc"] == pytest.approx(40 / 60)


def test_defect11_needle_se_is_clustered_by_haystack_length():
    from shootout.analysis.stats import clustered_se, wilson_interval

    # items of one length share one haystack: here whole lengths pass or fail together
    acc = {1024: [1.0] * 15, 2048: [0.0] * 15, 4096: [1.0] * 15, 8192: [0.0] * 15}
    rows = grid_rows("m", [1024, 2048, 4096, 8192], acc)
    m = {v.metric: v for v in aggregate_rows(rows)[0]}
    values = [r.metrics["acc"] for r in rows]
    lengths = [r.detail["length"] for r in rows]
    # Miller 2024 eq. 4 by hand: var/n = (15/59)/60, cross-cluster term 4*(7.5^2) - 15 over n^2
    hand = math.sqrt((15 / 59) / 60 + (4 * 7.5**2 - 15) / 60**2)
    assert m["acc"].stderr == pytest.approx(hand) == clustered_se(values, lengths)
    assert m["acc_middle"].stderr == pytest.approx(clustered_se([1, 0, 1, 0] * 5,
                                                                [1, 2, 3, 4] * 5))
    iid_lo, iid_hi = wilson_interval(30, 60)
    assert m["acc"].ci_high - m["acc"].ci_low > 2 * (iid_hi - iid_lo)  # the CI follows the SE


def test_defect11_one_lengths_se_is_clustered_by_depth():
    from shootout.analysis.stats import clustered_se

    # at one length every prompt shares the haystack; trials at one depth share its place too
    rows = grid_rows("m", [2048], {2048: [1.0] * 5 + [0.0] * 5 + [1.0] * 5})
    _, a = aggregate_rows(rows)
    depths = [r.detail["depth"] for r in rows]
    values = [r.metrics["acc"] for r in rows]
    assert a["by_length"]["2048"]["stderr"] == pytest.approx(clustered_se(values, depths))
    assert a["overall"]["stderr"] == pytest.approx(clustered_se(values, depths))
    perfect = aggregate_rows(grid_rows("m", [1024, 2048], {}))[0][0]
    assert perfect.score == 1.0 and perfect.ci_low < 1.0  # never the [1, 1] interval


GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "prompts"
BASE_DEFAULT = replace(CHAT_DEFAULT, chat=False)


@pytest.mark.parametrize(("variant", "ctx"), [("single", BASE_DEFAULT), ("single", CHAT_DEFAULT),
                                              ("multiquery", CHAT_DEFAULT)])
def test_prompt_matches_golden(variant, ctx):
    """needle's rendered requests, as the runner builds them by default (greedy, 128 tokens),
    sized by the word tokenizer on the built-in filler: tests/unit/test_prompt_goldens.py
    skips needle, whose sizes depend on the model. A prompt change must be deliberate and
    bump the version; regenerate with SHOOTOUT_UPDATE_GOLDENS=1."""
    b, docs = bound(lengths="256", depths="50", trials=1, variant=variant)
    rendered = json.dumps(
        {"version": NeedleInAHaystack.version, "request": b.request(docs[0], ctx).to_dict()},
        indent=1, ensure_ascii=False, sort_keys=True,
    )
    name = "needle" if variant == "single" else f"needle_{variant}"
    path = GOLDENS / f"{name}-generative-{'chat' if ctx.chat else 'base'}.json"
    if os.environ.get("SHOOTOUT_UPDATE_GOLDENS"):
        path.write_text(rendered + "\n", encoding="utf-8")
    assert path.exists(), f"no golden {path.name}; run with SHOOTOUT_UPDATE_GOLDENS=1"
    assert rendered + "\n" == path.read_text(encoding="utf-8")


def test_few_haystacks_never_shrink_the_se_below_the_items():
    """Two lengths with similar means: the cluster-robust SE (2 clusters) comes out at half the
    item SE, which would claim more precision than independent items give."""
    from shootout.analysis.stats import clustered_se

    rows = grid_rows("m", [1024, 2048], {1024: [0.0] * 2 + [1.0] * 13,
                                         2048: [1.0] * 12 + [0.0] * 3})
    m = {v.metric: v for v in aggregate_rows(rows)[0]}
    values = [r.metrics["acc"] for r in rows]
    naive = math.sqrt(sum((v - 5 / 6) ** 2 for v in values) / 29 / 30)
    assert clustered_se(values, [r.detail["length"] for r in rows]) < naive / 2
    assert m["acc"].stderr == pytest.approx(naive)


def test_defect10_results_of_a_run_put_every_model_on_the_common_grid(tmp_path):
    """The results rows (`shootout results`, the report) use `aggregate_models`: the headline
    of two models of one run is over the lengths both have."""
    from shootout.analysis.results import build_results
    from shootout.store.sqlite import Store

    small = grid_rows("small", [1024, 2048], {1024: [0.0] + [1.0] * 14})
    big = grid_rows("big", [1024, 2048, 4096, 8192],
                    {4096: [1.0] * 5 + [0.0] * 10, 8192: [1.0] * 5 + [0.0] * 10})
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run("r-1", {"models": ["small", "big"], "benchmarks": ["needle"]})
    for r in (*small, *big):
        store.put_sample("r-1", r)
    res = build_results(store, ["r-1"]).runs[0]
    rows, analyses = res.scores, res.analyses
    acc = {r.model: r for r in rows if r.metric == "acc"}
    assert acc["small"].n == acc["big"].n == 30
    assert acc["big"].score == 1.0
    assert analyses["big"]["needle"]["coverage"]["common_lengths"] == [1024, 2048]


class Undercounting(FakeAPI):
    """A server whose usage is not the prompt's length (10 tokens whatever it was sent, as
    one that counts only what its prefix cache missed): rescaling by it grew the haystack
    ~100x per try, to 23 GB, until the OOM killer ended the run."""

    def server_tokens(self, req: GenerateRequest) -> int:
        return 10


def test_a_server_count_no_tokenizer_could_give_stops_calibration_with_one_line():
    api = Undercounting()
    b = bench(lengths="1k", depths="50", trials=1, context_window=8192)
    with pytest.raises(ProviderError, match=r"needle: the server counts 10 prompt tokens for "
                       r"a prompt of about 1,0\d\d .*-o needle.calibrate=false"):
        asyncio.run(b.bind(api, b.load(), BASE))
    assert len(api.requests) == 1


def test_a_length_past_a_local_models_window_is_refused():
    """n_ctx is raised to the lengths asked for; the model's trained window is not: a 10k
    needle on SmolLM2 (8,192) was run and scored as a miss, without a word (an audit).
    `context_window` still lets a user test past it on purpose."""
    b = bench(lengths="10k", depths="50", trials=1)
    with pytest.raises(ConfigError, match="past the model's context window of 8192"):
        asyncio.run(b.bind(FakeLocal(n_ctx=10240, window=8192), b.load(), BASE))
    b = bench(lengths="10k", depths="50", trials=1, context_window=16384)
    docs = asyncio.run(b.bind(FakeLocal(n_ctx=10240, window=8192), b.load(), BASE))
    assert {d.fields["length"] for d in docs} == {10240}


class SmallWindow(FakeAPI):
    """A server whose window is 2,048 tokens: a longer prompt is a 400, as llama.cpp's says."""

    async def generate(self, req: GenerateRequest) -> GenerateResponse:
        if self.server_tokens(req) > 2048:
            from shootout.errors import RejectedRequestError

            raise RejectedRequestError(
                "HTTP 400 from /v1/completions: This model's maximum context length is 2048 "
                "tokens", 400)
        return await super().generate(req)


def test_a_length_past_the_servers_window_says_needle_and_what_to_change():
    """Calibration's first request past a server's window stopped the run with the server's
    400 alone, naming neither needle nor what to change (an audit's)."""
    from shootout.errors import RejectedRequestError

    b = bench(lengths="4k", depths="50", trials=1, context_window=8192)
    with pytest.raises(RejectedRequestError) as e:
        asyncio.run(b.bind(SmallWindow(), b.load(), BASE))
    assert str(e.value).startswith("needle: sizing the 4,096-token prompt, the server refused "
                                   "it: HTTP 400 from /v1/completions: This model's maximum "
                                   "context length is 2048 tokens;"), e.value
    assert str(e.value).endswith("test shorter -o needle.lengths") and e.value.status == 400


def test_a_tokenizer_gguf_that_is_missing_or_no_gguf_is_a_config_error(tmp_path):
    """`--needle-tokenizer gguf:PATH` with no such file (or not a GGUF) was an internal error,
    exit 70, where `-m gguf:PATH` says it in one line (an audit's)."""
    from shootout.errors import ConfigError
    from shootout.scoring.needle import make_counter

    fake = tmp_path / "fake.gguf"
    fake.write_text("x")
    with pytest.raises(ConfigError, match="GGUF file not found"):
        make_counter(f"gguf:{tmp_path / 'none.gguf'}", None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a GGUF file"):
        make_counter(f"gguf:{fake}", None)  # type: ignore[arg-type]


def test_the_middle_gap_interval_stays_in_bounds_and_a_zero_length_is_said() -> None:
    """A gap of +100 points over 2 middle items had the interval [60.6, 139.4]; an effective
    length of 0 read "0 tokens" (an audit's)."""
    from shootout.report.view_extra import _effective_text
    from shootout.scoring.needle_analysis import lost_in_middle_gap

    def bucket(acc: float, n: int) -> dict:
        se = math.sqrt(acc * (1 - acc) / n)
        return {"acc": acc, "n": n, "stderr": se, "ci": [max(0.0, acc - 0.4), min(1.0, acc + 0.4)]}

    gap = lost_in_middle_gap({"beginning": bucket(1.0, 3), "end": bucket(1.0, 2),
                              "middle": bucket(0.0, 2)})
    assert gap["value"] == pytest.approx(1.0) and gap["ci"][1] <= 1.0 and gap["ci"][0] >= -1.0
    said = _effective_text({"threshold": 0.856, "lengths": [1024, 2048]}, 0)
    assert said.endswith("below 1,024 tokens, the shortest length tested.") and "0 tokens" \
        not in said
    assert _effective_text({"lengths": [1024]}, 2048).endswith(": 2,048 tokens.")


def test_needles_with_the_single_variant_is_refused_to_a_new_run():
    """`-o needle.needles=7` with the default single variant was ignored (one needle a
    prompt); a new run refuses it, as any option the run would not use. A run stored with it
    before still builds (a review's: it could no longer be resumed or rescored)."""
    from shootout.config import check_new_names, validate_config

    def cfg(**options):
        return validate_config({"models": ["local"], "benchmarks": [
            {"name": "needle", "options": options}]}, "test")

    with pytest.raises(ConfigError, match="needle: needles applies to the multi-needle"):
        check_new_names(cfg(needles=7), "test")
    with pytest.raises(ConfigError, match="multi-needle"):
        check_new_names(cfg(needles="7", variant="single"), "test")
    check_new_names(cfg(needles=7, variant="multikey"), "test")
    check_new_names(cfg(lengths="1k"), "test")
    # stored before the rule: built as it ran (one needle a prompt)
    assert len(bench(lengths=[1024], depths=[20], trials=1, needles=7).load()[0]
               .fields["needles"]) == 1
    assert len(bench(lengths=[1024], depths=[20], trials=1, variant="multikey",
                     needles=7).load()[0].fields["needles"]) == 7


def test_tiktoken_that_cannot_fetch_its_encoding(monkeypatch):
    """tiktoken installed but offline: fetching the encoding raised a requests error, which
    got past the loaders as an internal error (exit 70), where the docs promise the estimate
    and an explicit tokenizer should be one line (an audit's)."""
    import sys
    import types

    from shootout.scoring.needle import make_counter

    class ConnectionError(OSError):  # as requests' (an IOError)
        pass

    def fetch(*_a, **_k):
        raise ConnectionError("Max retries exceeded with url: /encodings/o200k_base.tiktoken")

    fake = types.ModuleType("tiktoken")
    fake.encoding_for_model = fetch  # type: ignore[attr-defined]
    fake.get_encoding = fetch  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    count, name, exact = make_counter(None, FakeAPI())
    assert name.startswith("estimate") and not exact and count("abcdefgh") == 2
    with pytest.raises(ConfigError, match=r"tiktoken:cl100k_base is unavailable \(Connection"):
        make_counter("tiktoken:cl100k_base", FakeAPI())


def test_a_lengths_breakdown_and_the_reports_buckets_are_the_analysiss():
    """The results' breakdown of a length took an unclustered item interval ([24.8, 69.9]
    beside the analysis's [22.1, 72.9]), and the report's depth buckets recomputed theirs
    ([17.0, 83.0] beside [18.8, 81.2]; an audit's): both are now the analysis's own."""
    from shootout.analysis.results import breakdowns
    from shootout.report.view_extra import _bucket_ci

    rows = []
    for L, bad in ((1024, {0: 1, 50: 2}), (2048, {50: 2}), (4096, {50: 3, 100: 1})):
        for d in (0, 50, 100):
            rows += [row(L, d, t, 0.0 if t < bad.get(d, 0) else 1.0) for t in range(3)]
    _, a = aggregate_rows(rows)
    groups = {b.group: b for b in breakdowns({("m", "needle"): rows})}
    for L in (1024, 2048, 4096):
        mine, theirs = groups[f"L{L}"], a["by_length"][str(L)]
        assert mine.score == pytest.approx(theirs["acc"]) and mine.n == theirs["n"]
        assert [mine.ci_low, mine.ci_high] == pytest.approx(theirs["ci"])
    middle = a["buckets"]["middle"]
    lo, hi = middle["ci"]
    assert _bucket_ci(middle, 1.959964, 0.95) == f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def test_the_report_says_when_the_server_did_not_confirm_the_lengths():
    """With no prompt counts from the server the lengths were the estimate's (the model got
    11-14% fewer tokens) and the report said nothing of it (an audit's)."""
    from shootout.report.view_extra import _sizing_text

    rows = [row(1024, d, 0, 1.0) for d in (0, 50, 100)]
    _, confirmed = aggregate_rows(rows)
    assert _sizing_text(confirmed) == ""
    unreported = [replace(r, detail={k: v for k, v in r.detail.items()
                                     if k != "reported_prompt_tokens"}) for r in rows]
    _, a = aggregate_rows(unreported)
    assert "reported no prompt token counts" in _sizing_text(a)
    off = [replace(r, detail={**r.detail, "reported_prompt_tokens": 900}) for r in rows]
    _, b = aggregate_rows(off)
    assert "counted some prompts 12.1% off" in _sizing_text(b)
