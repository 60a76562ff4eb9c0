"""TruthfulQA MC1 in generative mode over the full data: every item builds its request and a
perfect answer scores as correct (issue 12 defect 2: items with 11-13 options crashed the run)."""

from __future__ import annotations

import pytest

from shootout.benchmarks.base import Doc, PromptContext
from shootout.benchmarks.truthfulqa import TruthfulQAMC1
from shootout.data import DataDir
from shootout.errors import DataError
from shootout.providers.base import GenerateResponse, Sampling


@pytest.fixture(scope="module")
def bench(data_dir) -> TruthfulQAMC1:
    return TruthfulQAMC1(data=DataDir(data_dir))


@pytest.fixture(scope="module")
def docs(bench):
    return bench.load()


def _prompt_text(req) -> str:
    return req.messages[-1].content if req.messages else req.prompt


@pytest.mark.parametrize("chat", [False, True], ids=["base", "chat"])
def test_defect2_every_mc1_item_builds_and_scores_a_perfect_answer(bench, docs, chat) -> None:
    ctx = PromptContext("generative", chat, Sampling(), 0)
    assert max(len(d.fields["answers"]) for d in docs) > 10  # the items that used to crash
    for doc in docs:
        req = bench.request(doc, ctx)
        text = _prompt_text(req)
        options, gold = bench._generative_options(doc, bench.mc(doc, 0))
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(options)]
        for letter, option in zip(letters, options, strict=True):
            assert f"\n{letter}. {option}\n" in text, (doc.id, letter)
        gold_letter = letters[gold]
        for answer in (gold_letter, f"Answer: {gold_letter}", f"{gold_letter}. {options[gold]}"):
            s = bench.score(doc, ctx, GenerateResponse(text=answer), req)
            assert s.extracted == gold_letter and s.metrics["acc"] == 1.0, (doc.id, answer, s)
            assert s.metrics["acc_strict"] == 1.0, (doc.id, answer, s)


def test_more_options_than_letters_is_a_data_error_naming_the_item(bench) -> None:
    doc = Doc("wide", {"question": "q?", "answers": [f"a{i}" for i in range(27)],
                       "labels": [1] + [0] * 26})
    with pytest.raises(DataError, match=r"wide.*27 options"):
        bench.request(doc, PromptContext("generative", True, Sampling(), 0))
