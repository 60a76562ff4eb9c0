"""Shared machinery for multiple-choice benchmarks, scored by log-likelihood or generatively."""

from __future__ import annotations

import random
import string
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from pydantic import Field

from ..errors import ProviderError
from ..providers.base import (
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Message,
)
from ..scoring.choice import (
    APART,
    LETTERS,
    acc_from_loglikelihoods,
    acc_norm_from_loglikelihoods,
    extract_letter,
    norm_prediction,
    option_letters,
    prediction,
)
from .base import (
    Benchmark,
    BenchmarkOptions,
    Doc,
    ItemScore,
    Mode,
    PromptContext,
    Request,
    Response,
)

CHAT_INSTRUCTION = (
    "Answer the following multiple choice question. "
    "Reply with only the letter of the correct answer."
)


@dataclass(frozen=True)
class MCQuestion:
    """A multiple-choice item in both views.

    Log-likelihood view: one (context, continuation) pair per choice; `choice_texts` are the
    strings whose length normalises acc_norm. Generative view: `question` and `options`.
    """

    pairs: tuple[tuple[str, str], ...]
    choice_texts: tuple[str, ...]
    gold: int
    question: str
    options: tuple[str, ...]

    @classmethod
    def simple(
        cls, question: str, options: Sequence[str], gold: int, context: str | None = None
    ) -> MCQuestion:
        """The usual layout (lm-evaluation-harness's ARC, PIQA, ...): `context`, by default
        "Question: {question}\nAnswer:", continued by a space and each option."""
        ctx = context if context is not None else f"Question: {question}\nAnswer:"
        opts = tuple(options)
        return cls(tuple((ctx, f" {o}") for o in opts), opts, gold, question, opts)


class MCOptions(BenchmarkOptions):
    """Options every multiple-choice benchmark has."""

    # the benchmark again under the first N prompt templates that apply to it
    # (`benchmarks.prompt_variants`; 1: the reference prompt alone)
    prompt_variants: int = Field(1, ge=1)


class MultipleChoiceBenchmark(Benchmark):
    Options: ClassVar[type[BenchmarkOptions]] = MCOptions
    metrics: ClassVar[tuple[str, ...]] = ("acc", "acc_norm")
    primary_metric: ClassVar[str] = "acc"
    default_max_tokens: ClassVar[int] = 32
    # shuffle options in the generative view (needed where the gold is always first)
    shuffle_options: ClassVar[bool] = False
    # the prompt template (`prompt_variants.TEMPLATES`) of a prompt variant's class; 0: the
    # benchmark's own prompt
    prompt_variant: ClassVar[int] = 0
    # the name the generative view's option order is drawn under (None: the benchmark's
    # own): a prompt variant's is its benchmark's, so every template lists the options in
    # one order
    options_drawn_as: ClassVar[str | None] = None
    # generative answers also get lm-evaluation-harness's `exact_match` of the first line
    # (`exact_match_of_first_line`; MMLU's `mmlu_generative`)
    first_line_exact_match: ClassVar[bool] = False

    @abstractmethod
    def mc(self, doc: Doc, fewshot: int) -> MCQuestion:
        """The item with `fewshot` solved examples prepended to each context."""

    def chance(self, docs: Sequence[Doc]) -> float | None:
        """The mean over `docs` of 1/options: the accuracy of a uniform guess (over the items
        whose question builds: one that does not fails alone when it is asked, as ever; a
        plug-in's item without options crashed the run here, a review's)."""
        shares = []
        for d in docs:
            try:
                shares.append(1.0 / len(self.mc(d, 0).choice_texts))
            except Exception:  # the item fails itself when its request is built
                continue
        return sum(shares) / len(shares) if shares else None

    def fewshot_examples(self, doc: Doc, k: int) -> list[tuple[str, Sequence[str], int]]:
        """(question, options, gold) examples for the generative prompt; default none."""
        return []

    def preamble(self, doc: Doc) -> str:
        """Text the generative prompt starts with, before any solved example (MMLU's line
        naming the subject, lm-eval's `description`); default none."""
        return ""

    # -- requests -------------------------------------------------------------------------
    def request(self, doc: Doc, ctx: PromptContext) -> Request:
        q = self.mc(doc, ctx.fewshot)
        if ctx.mode == "loglikelihood":
            return LoglikelihoodRequest(pairs=q.pairs)
        options, _ = self._generative_options(doc, q)
        option_letters(len(options), f"{self.name} item {doc.id}")
        shots = self.fewshot_examples(doc, ctx.fewshot)
        prompt = self.preamble(doc) + "".join(
            format_mc(sq.strip(), so) + f" {LETTERS[sg]}\n\n" for sq, so, sg in shots
        )
        prompt += format_mc(q.question.strip(), options)
        if ctx.chat:
            text = CHAT_INSTRUCTION + "\n\n" + prompt
            return GenerateRequest(messages=(Message("user", text),), sampling=ctx.sampling)
        sampling = ctx.sampling if ctx.sampling.stop else replace(ctx.sampling, stop=("\n",))
        return GenerateRequest(prompt=prompt, sampling=sampling)

    def _generative_options(self, doc: Doc, q: MCQuestion) -> tuple[tuple[str, ...], int]:
        if not self.shuffle_options:
            return q.options, q.gold
        order = list(range(len(q.options)))
        random.Random(f"{self.options_drawn_as or self.name}:{doc.id}").shuffle(order)
        return tuple(q.options[i] for i in order), order.index(q.gold)

    # -- scoring --------------------------------------------------------------------------
    def scored_question(self, doc: Doc, ctx: PromptContext) -> MCQuestion:
        """The item as the request for `ctx` put it (a prompt variant overrides this)."""
        return self.mc(doc, ctx.fewshot)

    def score(
        self, doc: Doc, ctx: PromptContext, response: Response, request: Request
    ) -> ItemScore:
        q = self.scored_question(doc, ctx)
        if isinstance(response, LoglikelihoodResponse):
            return self.score_loglikelihood(doc, q, response)
        if not isinstance(response, GenerateResponse):
            raise ProviderError(f"unexpected response type {type(response).__name__}")
        options, gold = self._generative_options(doc, q)
        ext = extract_letter(response.text, len(options), options)
        correct = ext.letter is not None and LETTERS.index(ext.letter) == gold
        metrics = {"acc": float(correct), "acc_strict": float(correct and ext.strict)}
        if self.first_line_exact_match:
            metrics["exact_match"] = exact_match_of_first_line(response.text, LETTERS[gold])
        return ItemScore(
            metrics=metrics,
            extracted=ext.letter,
            reason=f"gold {LETTERS[gold]}; extracted {ext.letter or 'nothing'} by {ext.rule}",
            extraction_failed=ext.letter is None,
        )

    def gold(self, doc: Doc, mode: Mode) -> str | None:
        """The gold option's letter as the prompt of `mode` lettered it (the generative view
        may shuffle); None where a subclass scores otherwise (TruthfulQA MC2: several true)."""
        own = type(self).score is MultipleChoiceBenchmark.score and (
            mode == "generative"
            or type(self).score_loglikelihood is MultipleChoiceBenchmark.score_loglikelihood)
        if not own:
            return None
        q = self.mc(doc, 0)
        if mode == "generative":
            return LETTERS[self._generative_options(doc, q)[1]]
        return _letter(q.gold)

    def score_loglikelihood(
        self, doc: Doc, q: MCQuestion, response: LoglikelihoodResponse
    ) -> ItemScore:
        lls = [s.logprob for s in response.scores]
        acc = acc_from_loglikelihoods(lls, q.gold)
        acc_norm = acc_norm_from_loglikelihoods(lls, q.choice_texts, q.gold)
        metrics = {k: v for k, v in {"acc": acc, "acc_norm": acc_norm}.items()
                   if k in self.metrics}
        # the answer is the headline metric's choice (acc_norm's, per character, on ARC and
        # HellaSwag); where the two metrics choose apart, the reason says so
        pred, per_char = prediction(lls), norm_prediction(lls, q.choice_texts)
        answer = per_char if self.primary_metric == "acc_norm" else pred
        apart = (APART.format(_letter(pred), _letter(per_char))
                 if pred != per_char and "acc_norm" in metrics else "")
        return ItemScore(
            metrics=metrics,
            extracted=_letter(answer),
            # the gold as a letter too, so that it reads against `extracted`
            reason=f"gold {_letter(q.gold)}; {apart}loglikelihoods "
                   + ", ".join(f"{x:.3f}" for x in lls),
        )


_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


def exact_match_of_first_line(text: str, target: str) -> float:
    """lm-evaluation-harness's `mmlu_generative` metric (lm_eval/tasks/mmlu/generative/
    _default_template_yaml, task version 3.0): the answer's first line (filter `regex`
    "^(.*?)(?=\\n|$)", then `remove_whitespace`, then `regex` "^(.*?)\\s*$": the line
    stripped), compared with the gold letter by `exact_match` with
    `ignore_case` and `ignore_punctuation` (lower case, then every character of
    `string.punctuation` removed from both). "B", " b.", "(B)" match B; "B) London" does not."""
    first = text.split("\n", 1)[0].strip()

    def norm(s: str) -> str:  # a numpy str array, as lm-eval holds them, drops trailing NULs
        return s.lower().translate(_NO_PUNCTUATION).rstrip("\x00")

    return float(norm(first) == norm(target))


def format_mc(question: str, options: Sequence[str], cue: str = "Answer:") -> str:
    """The one layout of a lettered question: the question, "A. option" lines, then the cue
    (MMLU's "Answer:", CMMLU's "答案是：")."""
    letters = option_letters(len(options))
    lines = [question, *(f"{L}. {opt}" for L, opt in zip(letters, options, strict=True)), cue]
    return "\n".join(lines)


def _letter(index: int) -> str:
    return LETTERS[index] if index < len(LETTERS) else str(index)
