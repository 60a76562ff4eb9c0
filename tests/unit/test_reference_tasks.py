"""Answer extraction and matching of the lm-evaluation-harness tasks (PIQA, BoolQ, TriviaQA,
MMLU-Pro, BBH): each case is what the reference's filter and metric give for that output."""

from __future__ import annotations

import pytest

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.benchmarks.bbh import extract_answer as bbh_answer
from shootout.benchmarks.bbh import parse_cot_prompt
from shootout.benchmarks.mmlu_pro import extract_answer as mmlu_pro_answer
from shootout.benchmarks.triviaqa import first_answer, lm_eval_match, normalize_answer
from shootout.data import DataDir
from shootout.errors import DataError
from shootout.providers.base import (
    ContinuationScore,
    GenerateResponse,
    LoglikelihoodResponse,
    Sampling,
)


@pytest.mark.parametrize(("output", "expected"), [
    (" Sunset Boulevard", "Sunset Boulevard"),
    ("\nParis", "Paris"),
    (" Paris, France", "Paris"),
    (" J. R. R. Tolkien", "J"),  # lm-eval stops at "." too
    ("<think>hmm</think> Tokyo", "Tokyo"),
    ("", ""),
])
def test_triviaqa_answer_is_cut_at_the_first_stop(output, expected):
    assert first_answer(output) == expected


@pytest.mark.parametrize(("answer", "aliases", "match"), [
    ("sunset blvd", ["Sunset Blvd.", "Sunset Boulevard"], True),  # case and punctuation
    ("The Beatles", ["Beatles"], False),  # lm-eval keeps articles
    ("Campbell-Bannerman", ["Campbell Bannerman"], False),  # the hyphen is removed, no space
    ("", ["x"], False),
])
def test_triviaqa_lm_eval_exact_match(answer, aliases, match):
    assert lm_eval_match(answer, aliases) is match


@pytest.mark.parametrize(("answer", "normalized"), [
    ("The Beatles", "beatles"),
    ("Campbell-Bannerman", "campbell bannerman"),
    ("  Sunset   Blvd. ", "sunset blvd"),
    ("rock_and_roll", "rock and roll"),
])
def test_triviaqa_official_normalisation(answer, normalized):
    assert normalize_answer(answer) == normalized


@pytest.mark.parametrize(("output", "letter"), [
    ("... so the answer is (C).", "C"),
    ("The answer is J", "J"),
    ("the answer is (B). Later: the answer is (D).", "B"),  # the first match, as take_first
    ("Answer: C", None),
    ("the answer is (K)", None),
])
def test_mmlu_pro_extraction(output, letter):
    assert mmlu_pro_answer(output) == letter


@pytest.mark.parametrize(("output", "answer"), [
    ("Z = False. So the answer is False.", "False"),
    ("So the answer is (A).", "(A)"),
    ("So the answer is valid.\n", "valid"),
    ("so the answer is 24", "2"),  # lm-eval drops the last character, full stop or not
    ("The answer is True.", None),  # case-sensitive
    ("no conclusion", None),
])
def test_bbh_extraction(output, answer):
    assert bbh_answer(output) == answer


def test_bbh_prompt_file_needs_three_exemplars():
    good = "canary\n-----\nTask.\n\nQ: a\nA: Let's think step by step.\nx\n\nQ: b\n" \
           "A: Let's think step by step. y\n\nQ: c\nA: Let's think step by step.\nz\n"
    description, shots = parse_cot_prompt(good, "t.txt")
    assert description == "Task."
    assert shots[1] == "Q: b\nA: Let's think step by step.\ny"  # reasoning on its own line
    with pytest.raises(DataError, match="three"):
        parse_cot_prompt(good.split("\n\nQ: c")[0], "t.txt")


def _ctx(name: str, mode: str = "generative") -> PromptContext:
    cls = REGISTRY[name]
    return PromptContext(mode, False, Sampling(max_tokens=cls.default_max_tokens),
                         cls.default_fewshot)


@pytest.mark.parametrize(("name", "text", "score"), [
    ("mmlu_pro", "Let's see. The answer is (A).", 0.0),
    ("bbh", "So the answer is False.", 1.0),  # not ( True ) and ( True ) is False
    ("triviaqa", " sunset boulevard", 1.0),
])
def test_first_item_scored(name, text, score, data_dir):
    bench = REGISTRY[name](data=DataDir(data_dir))
    doc = bench.load()[0]
    ctx = _ctx(name)
    req = bench.request(doc, ctx)
    got = bench.score(doc, ctx, GenerateResponse(text=text), req)
    assert got.metrics[REGISTRY[name].primary_metric] == score


@pytest.mark.parametrize(("name", "lls", "acc"), [
    ("piqa", (-10.0, -12.0), 1.0),  # gold: sol1
    ("boolq", (-1.0, -2.0), 1.0),  # gold: no
    ("boolq", (-2.0, -1.0), 0.0),
])
def test_loglikelihood_scoring(name, lls, acc, data_dir):
    bench = REGISTRY[name](data=DataDir(data_dir))
    doc = bench.load()[0]
    ctx = _ctx(name, "loglikelihood")
    req = bench.request(doc, ctx)
    resp = LoglikelihoodResponse(scores=tuple(ContinuationScore(x, False, 1) for x in lls))
    assert bench.score(doc, ctx, resp, req).metrics["acc"] == acc
