"""Prompt variants: the same multiple-choice items under documented prompt templates, to measure
how much a model's score, and the models' ranking, owe to the prompt.

`-o prompt_variants=N` (`--prompt-variants N`, or `prompt_variants: N` under a benchmark's
`options:` in a run config) runs a multiple-choice benchmark under the first N templates of
`TEMPLATES` that apply to it, on the same items. Template 0 is the benchmark's reference prompt,
run and stored under the benchmark's own name, so its results are the usual ones; template k
runs as the benchmark `NAME@vK` (`arc_easy@v1`): its samples, results and manifest entry are
its own, and `find_benchmark_class` resolves the name for the report, export and rescore. The
response cache is keyed by the rendered request, so a variant's answers are cached under its
own prompt; its version is the benchmark's with `+pv` and `TEMPLATES_VERSION`.

A template changes only how the item is put, never which answer is right: the options' order
and the gold are the reference's (the generative view's order where the benchmark shuffles).
Changing a template's wording is a new TEMPLATES_VERSION.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, cast

from ..errors import ConfigError
from ..providers.base import GenerateRequest, LoglikelihoodRequest, Message
from ..scoring.choice import LETTERS, option_letters
from .base import Benchmark, Doc, Mode, PromptContext, Request
from .multiple_choice import MCQuestion, MultipleChoiceBenchmark

TEMPLATES_VERSION = "2"  # 2: TruthfulQA MC1 options in its own order under every template
# few-shot examples of the few-shot swap where the reference prompt has none
FEWSHOT_SWAP = 3
SYSTEM_PROMPT = (
    "You are an expert test taker. Read each question carefully and choose the single best "
    "answer."
)
REWORDED_INSTRUCTION = (
    "Choose the best answer to the question below. Reply with the letter of your choice in "
    "parentheses, for example (B), and nothing else."
)
REWORDED_CUE = "The correct answer is:"


@dataclass(frozen=True)
class PromptTemplate:
    index: int
    name: str
    description: str
    # applies only to a benchmark with a pool of solved examples (ARC, MMLU)
    needs_fewshot_pool: bool = False


TEMPLATES: tuple[PromptTemplate, ...] = (
    PromptTemplate(0, "reference", "the benchmark's own prompt, unchanged"),
    PromptTemplate(
        1, "reworded",
        "other wording and option format: 'Q: {question}', the options listed as '(A) …', "
        f"then '{REWORDED_CUE}'; log-likelihood scores each option's text after it, "
        "generation is asked for the letter in parentheses (chat: a reworded instruction)"),
    PromptTemplate(
        2, "few-shot swap",
        f"the reference prompt with {FEWSHOT_SWAP} solved examples where it is zero-shot, "
        "and zero-shot where it has examples", needs_fewshot_pool=True),
    PromptTemplate(
        3, "system prompt",
        f"the reference prompt after a system prompt ('{SYSTEM_PROMPT}'): a system message "
        "for a chat model, a first paragraph for a base model and for log-likelihood"),
)

_NAME = re.compile(r"^(?P<base>.+)@v(?P<k>[1-9][0-9]*)$")


def split_variant(name: str) -> tuple[str, int]:
    """`arc_easy@v2` -> ("arc_easy", 2); a benchmark's own name -> (name, 0)."""
    m = _NAME.match(name)
    return (m["base"], int(m["k"])) if m else (name, 0)


def variant_name(base: str, index: int) -> str:
    return f"{base}@v{index}" if index else base


def has_fewshot_pool(cls: type[Benchmark]) -> bool:
    """Whether the benchmark can put solved examples before an item (ARC's train set, MMLU's
    dev set): it lists them for the generative view."""
    return (issubclass(cls, MultipleChoiceBenchmark)
            and cls.fewshot_examples is not MultipleChoiceBenchmark.fewshot_examples)


def supports_variants(cls: type[Benchmark]) -> bool:
    """A multiple-choice benchmark with the `prompt_variants` option (TruthfulQA MC2 and CMMLU
    go without it)."""
    return (issubclass(cls, MultipleChoiceBenchmark)
            and "prompt_variants" in cls.Options.model_fields)


def applicable(cls: type[Benchmark]) -> tuple[PromptTemplate, ...]:
    """The templates that apply to `cls`, in order (none where it has no prompt variants)."""
    if not supports_variants(cls):
        return ()
    pool = has_fewshot_pool(cls)
    return tuple(t for t in TEMPLATES if pool or not t.needs_fewshot_pool)


def with_variants(bench: Benchmark) -> list[Benchmark]:
    """`bench`, then one benchmark per further template its `prompt_variants` option asks for
    (a one-line ConfigError where fewer templates apply)."""
    n = int(getattr(bench.opts, "prompt_variants", 1))
    if n == 1 or split_variant(bench.name)[1]:
        return [bench]
    usable = applicable(type(bench))
    if n > len(usable):
        names = ", ".join(f"{t.index} {t.name}" for t in usable)
        raise ConfigError(f"{bench.name}: prompt_variants={n}, but only {len(usable)} prompt "
                          f"templates apply to it ({names})")
    cls = cast(type[MultipleChoiceBenchmark], type(bench))
    return [bench, *(variant_class(cls, t.index)(data=bench.data, fewshot_seed=bench.fewshot_seed,
                                                 options=bench.options) for t in usable[1:n])]


def variant_benchmark(name: str, base: type[Benchmark] | None) -> type[Benchmark] | None:
    """The class of `NAME@vK` given NAME's class, or None where template K does not apply."""
    index = split_variant(name)[1]
    if base is None or not index:
        return None
    if index not in {t.index for t in applicable(base)}:
        return None
    return variant_class(cast(type[MultipleChoiceBenchmark], base), index)


@cache
def variant_class(cls: type[MultipleChoiceBenchmark], index: int
                  ) -> type[MultipleChoiceBenchmark]:
    """`cls` under template `index`: its own name and version; the requests and the scored
    question of the template."""
    template = TEMPLATES[index]

    def request(self: MultipleChoiceBenchmark, doc: Doc, ctx: PromptContext) -> Request:
        return _request(self, cls, index, doc, ctx)

    def scored_question(self: MultipleChoiceBenchmark, doc: Doc, ctx: PromptContext
                        ) -> MCQuestion:
        if ctx.mode != "loglikelihood":  # the reference options, which `score` letters in
            return self.mc(doc, 0)  # the generative view's order (as the prompt did)
        return _question(self, index, doc, ctx)

    def gold(self: MultipleChoiceBenchmark, doc: Doc, mode: Mode) -> str | None:
        if index == 1:  # lettered in the generative view's order in both modes
            return LETTERS[self._generative_options(doc, self.mc(doc, 0))[1]]
        return cls.gold(self, doc, mode)

    def fewshot_used(self: MultipleChoiceBenchmark, fewshot: int) -> int:
        return swapped_fewshot(fewshot) if index == 2 else fewshot

    attrs: dict[str, Any] = {
        "name": variant_name(cls.name, index),
        "version": f"{cls.version}+pv{TEMPLATES_VERSION}",
        "description": f"{cls.description}; prompt template {index} ({template.name})",
        "prompt_variant": index,
        "options_drawn_as": cls.options_drawn_as or cls.name,
        "request": request,
        "scored_question": scored_question,
        "gold": gold,
        "fewshot_used": fewshot_used,
        "__module__": __name__,
    }
    return cast(type[MultipleChoiceBenchmark], type(f"{cls.__name__}V{index}", (cls,), attrs))


# ------------------------------------------------------------------------------ rendering


def swapped_fewshot(fewshot: int) -> int:
    return 0 if fewshot else FEWSHOT_SWAP


def _question(bench: MultipleChoiceBenchmark, index: int, doc: Doc, ctx: PromptContext
              ) -> MCQuestion:
    """The log-likelihood view of `doc` under template `index` (and the gold it is scored
    against)."""
    if index == 1:
        return _reworded(bench, doc, ctx.fewshot)
    if index == 2:
        return bench.mc(doc, swapped_fewshot(ctx.fewshot))
    q = bench.mc(doc, ctx.fewshot)
    if index == 3:
        pairs = tuple((f"{SYSTEM_PROMPT}\n\n{c}", x) for c, x in q.pairs)
        return replace(q, pairs=pairs)
    return q


def _request(bench: MultipleChoiceBenchmark, ref: type[MultipleChoiceBenchmark], index: int,
             doc: Doc, ctx: PromptContext) -> Request:
    if ctx.mode == "loglikelihood":
        return LoglikelihoodRequest(pairs=_question(bench, index, doc, ctx).pairs)
    if index == 1:
        return _reworded_generative(bench, doc, ctx)
    if index == 2:
        return ref.request(bench, doc, replace(ctx, fewshot=swapped_fewshot(ctx.fewshot)))
    req = ref.request(bench, doc, ctx)
    if index == 3 and isinstance(req, GenerateRequest):
        return _with_system(req)
    return req


def _with_system(req: GenerateRequest) -> GenerateRequest:
    if req.messages is not None:
        return replace(req, messages=(Message("system", SYSTEM_PROMPT), *req.messages))
    return replace(req, prompt=f"{SYSTEM_PROMPT}\n\n{req.prompt or ''}")


def _block(question: str, options: Sequence[str]) -> str:
    """One item in the reworded layout, up to and including the answer cue."""
    letters = option_letters(len(options))
    lines = [f"Q: {question.strip()}",
             *(f"({L}) {o}" for L, o in zip(letters, options, strict=True)), REWORDED_CUE]
    return "\n".join(lines)


def _reworded(bench: MultipleChoiceBenchmark, doc: Doc, fewshot: int) -> MCQuestion:
    """Log-likelihood view of template 1: the options listed, each scored by its text."""
    q = bench.mc(doc, 0)
    options, gold = bench._generative_options(doc, q)
    shots = bench.fewshot_examples(doc, fewshot)
    context = "".join(_block(sq, so) + f" {so[sg]}\n\n" for sq, so, sg in shots)
    context += _block(q.question, options)
    return MCQuestion(pairs=tuple((context, f" {o}") for o in options), choice_texts=options,
                      gold=gold, question=q.question, options=options)


def _reworded_generative(bench: MultipleChoiceBenchmark, doc: Doc, ctx: PromptContext
                         ) -> GenerateRequest:
    q = bench.mc(doc, 0)
    options, _ = bench._generative_options(doc, q)
    shots = bench.fewshot_examples(doc, ctx.fewshot)
    prompt = "".join(_block(sq, so) + f" ({LETTERS[sg]})\n\n" for sq, so, sg in shots)
    prompt += _block(q.question, options)
    if ctx.chat:
        text = f"{REWORDED_INSTRUCTION}\n\n{prompt}"
        return GenerateRequest(messages=(Message("user", text),), sampling=ctx.sampling)
    sampling = ctx.sampling if ctx.sampling.stop else replace(ctx.sampling, stop=("\n",))
    return GenerateRequest(prompt=prompt, sampling=sampling)
