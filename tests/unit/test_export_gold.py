"""The export's `gold` of the generative benchmarks whose gold is not a data field named
`gold`: an answer that states it scores right, so it is what the scorer compares against."""

from __future__ import annotations

from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import GenerateResponse, Sampling

CHAT = PromptContext("generative", True, Sampling(), 0)


@pytest.mark.parametrize("name, answer, metric", [
    ("bbh", "So the answer is {}.", "exact_match"),
    ("mgsm", "The answer is {}.", "acc"),
    ("mmlu_pro", "The answer is ({}).", "exact_match"),
    ("triviaqa", "{}", "exact_match"),
    ("translation_zh_en", "{}", "chrf"),
])
def test_the_gold_stated_scores_right(name: str, answer: str, metric: str,
                                      data_dir: Path) -> None:
    bench = REGISTRY[name](data=DataDir(data_dir), fewshot_seed=1234, options={})
    docs = bench.load()[:3]
    bench.prepare(docs, CHAT)
    for doc in docs:
        gold = bench.gold(doc, "generative")
        assert gold
        request = bench.request(doc, CHAT)
        got = bench.score(doc, CHAT, GenerateResponse(text=answer.format(gold)), request)
        value = got.metrics.get(metric, got.detail.get("chrf"))
        if name.startswith("translation"):  # a corpus metric: the sample keeps its inputs
            assert got.detail["hyp"] == gold == got.detail["refs"][0]
        else:
            assert value == 1.0, (doc.id, gold, got)
