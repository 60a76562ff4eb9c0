"""A toy run on FakeProvider, shared by the tests of `runs`, `export` and `rescore`: a
data-free multiple-choice benchmark (item i's answer is option i % 3), scored generatively."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from shootout.benchmarks.base import Doc
from shootout.benchmarks.multiple_choice import MCQuestion, MultipleChoiceBenchmark
from shootout.config import validate_config
from shootout.providers.base import GenerateRequest
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.store import Store
from shootout.testing import FakeProvider
from shootout.testing.fake_provider import Answer, Fail

N_ITEMS = 12


class Colours(MultipleChoiceBenchmark):
    name: ClassVar[str] = "toy_colours"
    version: ClassVar[str] = "1"
    citation: ClassVar[str] = "test"
    description: ClassVar[str] = "toy"
    domain: ClassVar[str] = "knowledge"

    def load(self) -> list[Doc]:
        return [Doc(str(i), {"gold": i % 3}) for i in range(N_ITEMS)]

    def mc(self, doc: Doc, fewshot: int) -> MCQuestion:
        return MCQuestion.simple(f"Colour number {doc.id}?", ["red", "green", "blue"],
                                 doc.fields["gold"])


def item_of(req: GenerateRequest) -> int:
    assert req.messages is not None
    return int(req.messages[-1].content.split("Colour number ")[1].split("?")[0])


def answers(req: GenerateRequest) -> str:
    """Right on even items ("Answer: X"), and on odd items the right letter in a form the
    shipped extractor does not read ("I pick x"): `shootout rescore` tests fix that."""
    i = item_of(req)
    letter = "ABC"[i % 3]
    return f"Answer: {letter}" if i % 2 == 0 else f"I pick {letter.lower()}"


def toy_run(store: Store, *, model: str = "fake", limit: int | None = None,
            answer: Answer = answers, fail: Fail | None = None) -> str:
    price = {"input_per_m": 1.0, "output_per_m": 2.0}
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": model, "price": price,
                                       "scoring": "generative"}],
                           "benchmarks": ["toy_colours"],
                           **({"limit": limit} if limit else {})}, "test")
    runner = Runner(cfg, store, policy=RetryPolicy(base_delay=0.0))
    return asyncio.run(runner.run({model: FakeProvider(answer=answer, fail=fail)}))

