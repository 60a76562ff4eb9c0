"""MATH (Hendrycks et al., 2021): MATH-500 and the full 5,000-problem test.

Base models get the 4-shot Minerva prompt (Lewkowycz et al., 2022) and answer "Final Answer:
The final answer is $X$. I hope it is correct."; chat models are asked for a \\boxed{} answer.
Answers are compared with math-verify (fractions vs decimals, \\dfrac, intervals, sets, units,
degrees, matrices), not as strings. Accuracy is also reported by subject and by level.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, TypedDict

from ..data.files import expect_count, read_jsonl
from ..data.hub import hub_rows
from ..errors import DataError
from ..providers.base import GenerateRequest, GenerateResponse, Message
from ..scoring.isolated import CallTimeout
from ..scoring.mathequiv import HARD_TIMEOUT_S, extract_boxed, math_equal_bounded, math_gold
from ..scoring.text import strip_reasoning
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, Request, Response

MINERVA_EXEMPLARS = (
    (
        r"Find the domain of the expression  $\frac{\sqrt{x-2}}{\sqrt{5-x}}$.}",
        r"The expressions inside each square root must be non-negative. Therefore, $x-2 \ge 0$, "
        r"so $x\ge2$, and $5 - x \ge 0$, so $x \le 5$. Also, the denominator cannot be equal to "
        r"zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is "
        r"$\boxed{[2,5)}$."
        "\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        r"If $\det \mathbf{A} = 2$ and $\det \mathbf{B} = 12,$ then find "
        r"$\det (\mathbf{A} \mathbf{B}).$",
        r"We have that $\det (\mathbf{A} \mathbf{B}) = (\det \mathbf{A})(\det \mathbf{B}) = "
        r"(2)(12) = \boxed{24}.$"
        "\nFinal Answer: The final answer is $24$. I hope it is correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights "
        "instead, how many times must Terrell lift them in order to lift the same total weight?",
        r"If Terrell lifts two 20-pound weights 12 times, he lifts a total of "
        r"$2\cdot 12\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for "
        r"$n$ times, he will lift a total of $2\cdot15\cdot n=30n$ pounds of weight.  Equating "
        r"this to 480 pounds, we can solve for $n$: \begin{align*} 30n&=480\\ \Rightarrow\qquad "
        r"n&=480/30=\boxed{16} \end{align*}"
        "\nFinal Answer: The final answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}"
        "has a solution $(x, y)$ where $x$ and $y$ are both nonzero, find $\\frac{a}{b},$ "
        "assuming $b$ is nonzero.",
        r"If we multiply the first equation by $-\frac{3}{2}$, we obtain $$6y-9x=-\frac{3}{2}a.$$"
        r"Since we also know that $6y-9x=b$, we have "
        r"$$-\frac{3}{2}a=b\Rightarrow\frac{a}{b}=\boxed{-\frac{2}{3}}.$$"
        "\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
)

CHAT_TEMPLATE = (
    "Solve the following math problem step by step. Put your final answer within \\boxed{{}}."
    "\n\n{problem}"
)

_MINERVA_FINAL = re.compile(
    r"Final Answer: The final answer is (.*?)\. I hope it is correct", re.DOTALL
)


def extract_answer(text: str) -> tuple[str | None, str]:
    """(answer, rule): Minerva's "The final answer is $X$", else the last \\boxed{}."""
    body = strip_reasoning(text)
    m = _MINERVA_FINAL.search(body)
    if m:
        ans = m.group(1).strip()
        if ans.startswith("$") and ans.endswith("$") and len(ans) > 1:
            ans = ans.strip("$").strip()
        return ans, "minerva_final_answer"
    boxed = extract_boxed(body)
    return (boxed, "boxed") if boxed is not None else (None, "none")


class MathItem(TypedDict):
    problem: str
    gold: str
    level: str


class MATH500(Benchmark):
    name: ClassVar[str] = "math500"
    version: ClassVar[str] = "1"
    domain: ClassVar[str] = "math"
    description: ClassVar[str] = "MATH-500 (PRM800K test subset of MATH), math-verify equivalence"
    citation: ClassVar[str] = (
        "Hendrycks et al. 2021, Measuring Mathematical Problem Solving With the MATH Dataset; "
        "Lightman et al. 2023, Let's Verify Step by Step (the 500-problem subset)"
    )
    metrics: ClassVar[tuple[str, ...]] = ("acc",)
    primary_metric: ClassVar[str] = "acc"
    modes: ClassVar[tuple[Mode, ...]] = ("generative",)
    default_fewshot: ClassVar[int] = 4
    default_max_tokens: ClassVar[int] = 512
    reasoning_max_tokens: ClassVar[int] = 32_768  # competition problems: long thinking
    expected_count: ClassVar[int] = 500
    relpath: ClassVar[str] = "math500/test.jsonl"
    hub: ClassVar[tuple[str, str | None, str]] = ("HuggingFaceH4/MATH-500", None, "test")
    score_in_thread: ClassVar[bool] = True

    def load(self) -> list[Doc[MathItem]]:
        if self.data.root is None:
            rows = [(f"hub:{i}", r) for i, r in enumerate(hub_rows(*self.hub))]
        else:
            path = self.data.path(self.relpath)
            rows = [(f"{path}:{n}", r) for n, r in read_jsonl(path)]
        docs = [self._doc(i, where, r) for i, (where, r) in enumerate(rows)]
        expect_count(self.relpath, len(docs), self.expected_count)
        return docs

    def _doc(self, i: int, where: str, r: dict[str, Any]) -> Doc[MathItem]:
        try:
            problem = str(r["problem"])
            gold = str(r["answer"]) if "answer" in r else math_gold(str(r["solution"]))
            subject = str(r.get("subject") or r.get("type"))
            level = str(r.get("level", "")).removeprefix("Level ").strip()
            doc_id = str(r.get("unique_id") or r.get("idx") or i)
        except (KeyError, DataError) as e:
            raise DataError(f"{where}: missing or bad field ({e})") from e
        return Doc(doc_id, {"problem": problem, "gold": gold, "level": level}, group=subject)

    def request(self, doc: Doc[MathItem], ctx: PromptContext) -> Request:
        problem = doc.fields["problem"]
        if ctx.chat:
            msg = Message("user", CHAT_TEMPLATE.format(problem=problem))
            return GenerateRequest(messages=(msg,), sampling=ctx.sampling)
        k = min(ctx.fewshot, len(MINERVA_EXEMPLARS))
        shots = "".join(f"Problem:\n{p}\n\nSolution:\n{s}\n\n" for p, s in MINERVA_EXEMPLARS[:k])
        sampling = replace(ctx.sampling, stop=ctx.sampling.stop or ("Problem:",))
        return GenerateRequest(prompt=f"{shots}Problem:\n{problem}\n\nSolution:", sampling=sampling)

    def score(
        self, doc: Doc[MathItem], ctx: PromptContext, response: Response, request: Request
    ) -> ItemScore:
        assert isinstance(response, GenerateResponse)
        pred, rule = extract_answer(response.text)
        gold = doc.fields["gold"]
        timed_out = False
        try:
            correct = pred is not None and math_equal_bounded(pred, gold)
        except CallTimeout:
            correct, timed_out = False, True
        verdict = "equivalent to" if correct else "not equivalent to"
        if timed_out:
            verdict = f"not judged within {HARD_TIMEOUT_S} s (counted wrong) against"
        reason = (
            f"{rule}: {pred!r} {verdict} gold {gold!r}"
            if pred is not None
            else ("no final answer or \\boxed{} in the output")
        )
        return ItemScore(
            metrics={"acc": float(correct)},
            extracted=pred,
            reason=reason,
            extraction_failed=pred is None,
            detail={"level": doc.fields["level"]},
        )

    @classmethod
    def analyze(cls, rows: Sequence[Any]) -> dict[str, Any]:
        """Accuracy by subject and by level (items averaged over repeats first)."""
        out: dict[str, Any] = {}
        for key, label in (("group", "by_subject"), ("level", "by_level")):
            per_item: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
            for r in rows:
                k = r.group if key == "group" else str(r.detail.get("level", ""))
                per_item[k][r.item_id].append(r.metrics.get("acc", 0.0))
            out[label] = {
                k: {
                    "acc": sum(sum(v) / len(v) for v in items.values()) / len(items),
                    "n": len(items),
                }
                for k, items in sorted(per_item.items())
            }
        return out


class MATHFull(MATH500):
    """The full test, used only when its file is in the data directory."""

    name: ClassVar[str] = "math"
    description: ClassVar[str] = "MATH full test (5,000 problems), math-verify equivalence"
    expected_count: ClassVar[int] = 5000
    relpath: ClassVar[str] = "math/test.jsonl"

    def load(self) -> list[Doc[MathItem]]:
        if self.data.root is None:
            raise DataError(
                "the full MATH test is read from a data directory only "
                "(math/test.jsonl); use math500 otherwise"
            )
        return super().load()
