"""BIG-Bench Hard (Suzgun et al., 2022): 27 tasks, 3-shot chain of thought, exact match.

lm-evaluation-harness's `bbh_cot_fewshot` group (lm_eval/tasks/bbh/cot_fewshot/, template
version 4.0), built from the same files it was generated from (the authors' cot-prompts/*.txt,
split at blank lines into the task description and three exemplars): the description and a
blank line, each exemplar ("Q: …\\nA: Let's think step by step.\\n… So the answer is X.") and a
blank line, then "Q: {input}\\nA: Let's think step by step.\\n"; greedy generation until "</s>",
"Q" or a blank line (at most 1,024 tokens). The answer is the first match of
`(?<=the answer is )(.*)(?=.)` (what follows "the answer is" on its line, less the final
character, the full stop), and `exact_match` compares it with the target string as it is
(case and punctuation count). The overall score is the mean over all 6,511 items (the group's
`weight_by_size: true`); each task is a breakdown group.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar, TypedDict

from ..data.files import expect_count, read_json, read_text, texts
from ..errors import DataError, ProviderError
from ..providers.base import GenerateRequest, GenerateResponse, Message
from ..scoring.text import strip_reasoning
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, Request, Response

TASKS: tuple[str, ...] = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa",
    "dyck_languages", "formal_fallacies", "geometric_shapes", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects",
    "logical_deduction_three_objects", "movie_recommendation", "multistep_arithmetic_two",
    "navigate", "object_counting", "penguins_in_a_table", "reasoning_about_colored_objects",
    "ruin_names", "salient_translation_error_detection", "snarks", "sports_understanding",
    "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
    "web_of_lies", "word_sorting",
)
ANSWER_RE = re.compile(r"(?<=the answer is )(.*)(?=.)")
STOP = ("</s>", "Q", "\n\n")
CUE = "A: Let's think step by step.\n"


class BBHItem(TypedDict):
    input: str
    target: str


def extract_answer(text: str) -> str | None:
    """lm-eval's "get-answer" filter: the first match, stripped (None where lm-eval has its
    "[invalid]" fallback)."""
    found = ANSWER_RE.findall(strip_reasoning(text))
    return found[0].strip() if found else None


def parse_cot_prompt(text: str, where: str) -> tuple[str, list[str]]:
    """A cot-prompts/*.txt file: (task description, the three exemplars), split as lm-eval's
    configs are: after the "-----" line, at blank lines; the paragraphs before the first
    "Q: " are the description (snarks has two)."""
    parts = [p for p in (p.rstrip("\n") for p in text.split("\n-----\n")[-1].split("\n\n")) if p]
    first_q = next((i for i, p in enumerate(parts) if p.startswith("Q: ")), len(parts))
    description, shots = "\n\n".join(parts[:first_q]), parts[first_q:]
    if not description or len(shots) != 3 or not all(
        s.startswith("Q: ") and "\nA: Let's think step by step." in s for s in shots
    ):
        raise DataError(f"{where}: expected a description and three 'Q: … A: Let's think step "
                        f"by step.' exemplars")
    # lm-eval puts the reasoning on the line after the cue in every task (sports_understanding's
    # file has it on the same line)
    split = [s.split("\n" + CUE.rstrip("\n"), 1) for s in shots]
    return description, [q + "\n" + CUE + a.lstrip(" \n") for q, a in split]


class BBH(Benchmark):
    name: ClassVar[str] = "bbh"
    version: ClassVar[str] = "1"
    domain: ClassVar[str] = "reasoning"
    description: ClassVar[str] = (
        "BIG-Bench Hard (27 tasks, 6,511 items), 3-shot chain of thought; exact match of what "
        "follows \"the answer is\""
    )
    citation: ClassVar[str] = (
        "Suzgun et al. 2022, Challenging BIG-Bench Tasks and Whether Chain-of-Thought Can "
        "Solve Them, arXiv:2210.09261"
    )
    metrics: ClassVar[tuple[str, ...]] = ("exact_match",)
    primary_metric: ClassVar[str] = "exact_match"
    modes: ClassVar[tuple[Mode, ...]] = ("generative",)
    default_fewshot: ClassVar[int] = 3
    max_fewshot: ClassVar[int | None] = 3  # each task's CoT exemplars
    default_max_tokens: ClassVar[int] = 1024
    expected_count: ClassVar[int] = 6511

    def load(self) -> list[Doc[BBHItem]]:
        docs: list[Doc[BBHItem]] = []
        for task in TASKS:
            path = self.data.path(f"bbh/bbh/{task}.json")
            try:
                examples = read_json(path)["examples"]
                # (a null or list target was the gold "None", "['True']": every answer wrong)
                items = [BBHItem(input=x, target=t) for i, e in enumerate(examples)
                         for x, t in [texts(e, ("input", "target"), f"{path}: example {i}")]]
            except (KeyError, TypeError) as e:
                raise DataError(f"{path}: missing or bad field ({e})") from e
            docs += [Doc(f"{task}/{i}", item, group=task) for i, item in enumerate(items)]
        expect_count("bbh", len(docs), self.expected_count)
        return docs

    def _cot_prompt(self, task: str) -> tuple[str, list[str]]:
        cache: dict[str, tuple[str, list[str]]] = self.__dict__.setdefault("_prompts", {})
        if task not in cache:
            path = self.data.path(f"bbh/cot-prompts/{task}.txt")
            cache[task] = parse_cot_prompt(read_text(path), str(path))
        return cache[task]

    def prompt(self, doc: Doc[BBHItem], k: int) -> str:
        description, shots = self._cot_prompt(doc.group)
        if k > len(shots):
            raise DataError(f"bbh/{doc.group}: only {len(shots)} exemplars for {k}-shot")
        text = description + "\n\n" + "".join(s + "\n\n" for s in shots[:k])
        return text + f"Q: {doc.fields['input']}\n{CUE}"

    def request(self, doc: Doc[BBHItem], ctx: PromptContext) -> Request:
        text = self.prompt(doc, ctx.fewshot)
        if ctx.chat:
            return GenerateRequest(messages=(Message("user", text),), sampling=ctx.sampling)
        sampling = ctx.sampling if ctx.sampling.stop else replace(ctx.sampling, stop=STOP)
        return GenerateRequest(prompt=text, sampling=sampling)

    def gold(self, doc: Doc[BBHItem], mode: Mode) -> str | None:
        """The target the extracted answer must equal (for exports)."""
        return doc.fields["target"]

    def score(self, doc: Doc[BBHItem], ctx: PromptContext, response: Response,
              request: Request) -> ItemScore:
        if not isinstance(response, GenerateResponse):
            raise ProviderError(f"unexpected response type {type(response).__name__}")
        answer = extract_answer(response.text)
        target = doc.fields["target"]
        return ItemScore(
            metrics={"exact_match": float(answer == target)},
            extracted=answer,
            reason=f"target {target!r}; extracted {answer!r}",
            extraction_failed=answer is None,
        )
