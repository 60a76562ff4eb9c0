"""MGSM (Shi et al., 2022): the first 250 GSM8K test problems in 11 languages, native CoT.

Each language is prompted in its own language with the MGSM authors' native chain-of-thought
exemplars (google-research/url-nlp mgsm/exemplars.py, shipped as mgsm_exemplars.json; 8-shot
as in the paper) in lm-evaluation-harness's `mgsm_native_cot_<lang>` layout: each exemplar's
question ("Question: …", "问题：…") and, on the next line, its step-by-step answer, then a blank
line; the item as "{question cue} {question}\\n{answer cue}" ("问题：{question}" in zh,
"問題：{question}" in ja, as their exemplars write it); greedy generation until the question
cue, "</s>" or "<|im_end|>". The eight exemplars come in the paper's order for every item
(lm-eval's config has no few-shot setting, so its default `mgsm_native_cot_<lang>` run is
0-shot; run with `--num_fewshot 8` it draws the exemplars in a random order per item).
`--fewshot 0` here renders lm-eval's 0-shot prompt byte for byte in 8 of the 11 languages;
in zh, ja and ru the cues differ (the last paragraph), so `acc_zh` is not lm-eval's
`mgsm_native_cot_zh` at any shot count. Put a default shootout score beside an lm-eval one
only where both are 8-shot, and then as a close, not an exact, reproduction.

Scores, as lm-eval's two filters of `mgsm_native_cot_<lang>` give them: `acc` is its
"flexible-extract", the last number-like run of the response (regex
`(-?[$0-9.,]{2,})|(-?[0-9]+)`, group_select -1), whatever comes before it; `acc_strict` its
"strict-match", the number of the first answer statement in the language, lm-eval's regex
for it ("The answer is 11", "答案是 11。", "答えは11です。": zh and ja need the full stop, and
a ja answer with a counter word, "答えは9個です。", is not matched, as in lm-eval). Both
compare as lm-eval's `exact_match` with ignore_case and ignore_punctuation: the answer and
the gold with every ASCII punctuation character removed, equal as strings. So "5,600" and
"5.600" (de and es thousands) are 5600, and "18." is 18, but "18.00" is not 18 ("1800"),
and "1.8" is (as in lm-eval). `acc_zh`, on the Chinese items only, puts the zh figure in the
results table beside the overall one; each language is a breakdown group. At most 256
tokens are generated (lm-eval's `max_gen_toks`), greedily.

Where lm-eval's generated configs disagree with the exemplars, the exemplars win, since they
are what the model imitates: the answer statement for bn ("উত্তর হল", lm-eval expects English)
and de ("Die Antwort ist/lautet", lm-eval only "lautet"), and the answer cue for ja, ru and zh
(lm-eval writes "逐步解答:" with an ASCII colon and "Пошаговоерешение:" without a space),
and the question cue of the item in zh and ja (lm-eval writes "问题： " and "問題： " with a
space, which its exemplars lack).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import replace
from importlib import resources
from typing import Any, ClassVar, TypedDict

from ..data.files import expect_count, read_lines
from ..errors import ConfigError, DataError, ProviderError
from ..providers.base import GenerateRequest, GenerateResponse, Message
from ..scoring.numeric import numbers_equal
from ..scoring.text import strip_reasoning
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, Request, Response

LANGUAGES = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
HIGHLIGHT = "zh"
_NUM = r"(-?[0-9.,]+)"
# the answer statement, per language: lm-eval's strict-match regexes, but for bn and de (the
# exemplars' own wording: see the module doc)
ANSWER_RES: dict[str, re.Pattern[str]] = {
    lang: re.compile(p.replace("N", _NUM)) for lang, p in {
        "bn": "উত্তর হল N", "de": "Die Antwort (?:lautet|ist) N", "en": "The answer is N",
        "es": "La respuesta es N", "fr": "La réponse est N", "ja": "答えはNです。",
        "ru": "Ответ — N", "sw": "Jibu ni N", "te": "సమాధానం N", "th": "คำตอบคือ N",
        "zh": "答案是 N。",
    }.items()
}
# lm-eval's flexible-extract: the last number-like run
FLEXIBLE_RE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
_CUE_RE = re.compile(r"^(.*?[:：])\s?")


class MGSMItem(TypedDict):
    question: str
    answer: str


def exemplars() -> dict[str, list[dict[str, str]]]:
    text = resources.files(__package__).joinpath("mgsm_exemplars.json").read_text("utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(text)["exemplars"]
    return data


def cue(text: str) -> str:
    """The leading cue of an exemplar line: "Question:", "问题：", "Step-by-Step Answer:"."""
    m = _CUE_RE.match(text)
    if m is None:
        raise DataError(f"mgsm exemplar without a cue: {text[:40]!r}")
    return m.group(1)


def strict_answer(text: str, lang: str) -> str | None:
    """lm-eval's "strict-match": the number of the first answer statement, or None."""
    m = ANSWER_RES[lang].search(strip_reasoning(text))
    return m.group(1).strip() if m else None


def flexible_answer(text: str) -> str | None:
    """lm-eval's "flexible-extract": the last number-like run of the response, or None."""
    found = FLEXIBLE_RE.findall(strip_reasoning(text))
    if not found:
        return None
    return next(g for g in found[-1] if g).strip()


_PUNCTUATION = str.maketrans("", "", string.punctuation)


def matches(answer: str, gold: str) -> bool:
    """lm-eval's `exact_match` with ignore_case and ignore_punctuation: both lower-cased,
    every ASCII punctuation character removed, then equal as strings."""
    return answer.lower().translate(_PUNCTUATION) == gold.lower().translate(_PUNCTUATION)


class MGSM(Benchmark):
    name: ClassVar[str] = "mgsm"
    # 2: lm-eval's two filters and exact match, 256 tokens; 3: its zh and ja strict regexes
    version: ClassVar[str] = "3"
    domain: ClassVar[str] = "multilingual"
    description: ClassVar[str] = (
        "MGSM (250 grade-school math problems x 11 languages), native-language 8-shot CoT; "
        "numeric answer; per-language breakdown, zh beside the overall score"
    )
    citation: ClassVar[str] = (
        "Shi et al. 2022, Language Models are Multilingual Chain-of-Thought Reasoners, "
        "arXiv:2210.03057"
    )
    metrics: ClassVar[tuple[str, ...]] = ("acc", "acc_strict", f"acc_{HIGHLIGHT}")
    primary_metric: ClassVar[str] = "acc"
    modes: ClassVar[tuple[Mode, ...]] = ("generative",)
    default_fewshot: ClassVar[int] = 8
    max_fewshot: ClassVar[int | None] = 8  # each language's exemplars
    default_max_tokens: ClassVar[int] = 256
    expected_count: ClassVar[int] = 2750

    def load(self) -> list[Doc[MGSMItem]]:
        docs: list[Doc[MGSMItem]] = []
        for lang in LANGUAGES:
            path = self.data.path(f"mgsm/mgsm_{lang}.tsv")
            lines = [(n, x) for n, x in enumerate(read_lines(path), start=1) if x.strip()]
            for i, (lineno, line) in enumerate(lines):  # (the id counts the items, the error
                # names the line: it named the item's number, blank lines left out)
                question, sep, answer = line.rstrip("\n").rpartition("\t")
                if not sep or not numbers_equal(answer, answer) or not question.strip():
                    raise DataError(f"{path}:{lineno}: expected 'question<TAB>number'")
                docs.append(Doc(f"{lang}/{i}", MGSMItem(question=question, answer=answer),
                                group=lang))
        expect_count("mgsm", len(docs), self.expected_count)
        return docs

    def prompt(self, doc: Doc[MGSMItem], k: int) -> str:
        shots = exemplars()[doc.group]
        if k > len(shots):
            raise ConfigError(f"mgsm: {len(shots)} exemplars per language, not {k}")
        text = "".join(f"{s['q']}\n{s['a']}\n\n" for s in shots[:k])
        q_cue, a_cue = cue(shots[0]["q"]), cue(shots[0]["a"])
        sep = "" if q_cue.endswith("：") else " "
        return text + f"{q_cue}{sep}{doc.fields['question']}\n{a_cue}"

    def request(self, doc: Doc[MGSMItem], ctx: PromptContext) -> Request:
        text = self.prompt(doc, ctx.fewshot)
        if ctx.chat:
            return GenerateRequest(messages=(Message("user", text),), sampling=ctx.sampling)
        stop = (cue(exemplars()[doc.group][0]["q"]), "</s>", "<|im_end|>")
        sampling = ctx.sampling if ctx.sampling.stop else replace(ctx.sampling, stop=stop)
        return GenerateRequest(prompt=text, sampling=sampling)

    def gold(self, doc: Doc[MGSMItem], mode: Mode) -> str | None:
        """The numeric answer (for exports)."""
        return doc.fields["answer"]

    def score(self, doc: Doc[MGSMItem], ctx: PromptContext, response: Response,
              request: Request) -> ItemScore:
        if not isinstance(response, GenerateResponse):
            raise ProviderError(f"unexpected response type {type(response).__name__}")
        flexible = flexible_answer(response.text)
        strict = strict_answer(response.text, doc.group)
        gold = doc.fields["answer"]
        correct = flexible is not None and matches(flexible, gold)
        strict_ok = strict is not None and matches(strict, gold)
        metrics: dict[str, Any] = {"acc": float(correct), "acc_strict": float(strict_ok)}
        if doc.group == HIGHLIGHT:
            metrics[f"acc_{HIGHLIGHT}"] = float(correct)
        statement = (f"; answer statement {strict.rstrip('.,')}" if strict is not None
                     else "; no answer statement")
        return ItemScore(
            metrics=metrics,
            extracted=flexible,
            reason=f"gold {gold}; extracted "
                   + (f"{flexible} (last number)" if flexible is not None
                      else "nothing (no number)") + statement,
            extraction_failed=flexible is None,
        )
