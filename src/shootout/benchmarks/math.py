"""MATH (Hendrycks et al., 2021): MATH-500 and the full 5,000-problem test.

Base models get lm-evaluation-harness's `minerva_math500` / `minerva_math` prompt (task version
3.1): its 4 Minerva exemplars (Lewkowycz et al., 2022) as "Problem:\\n{problem}\\n\\nSolution:
{solution}\\n\\n" (one space after "Solution:"), then "Problem:\\n{problem}\\n\\nSolution:"; greedy
generation stops at "Problem:" or after 256 tokens (lm-eval's default `max_gen_toks`). Chat
models are asked for a \\boxed{} answer instead (shootout's own zero-shot prompt).

`acc` is lm-eval's `math_verify` metric: `verify(gold=parse(solution), target=parse(output))`
with math-verify's defaults, on the item's whole reference solution and the whole output (after
any <think> block is removed), so fractions vs decimals, \\dfrac, intervals, sets, units and
degrees compare as mathematics, not strings. lm-eval's other metric, `exact_match` (Minerva's
answer normalisation and a SymPy `parse_latex` check that needs ANTLR 4.11), is not computed.
Over all items, as lm-eval's `minerva_math` group (`weight_by_size`); also by subject and level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, TypedDict

from ..data.files import expect_count, read_jsonl, texts
from ..data.hub import hub_rows
from ..errors import DataError
from ..providers.base import GenerateRequest, GenerateResponse, Message
from ..scoring.isolated import CallTimeout
from ..scoring.mathequiv import HARD_TIMEOUT_S, lm_eval_math_verify_bounded, math_gold
from ..scoring.text import strip_reasoning
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, Request, Response

# lm-evaluation-harness minerva_math's `list_fewshot_samples` (lm_eval/tasks/minerva_math/utils.py,
# task version 3.1) character for character: 3.1 (lm-eval #4045) restored the align rows' "\\"
# line breaks (3.0 had one backslash) and removed a stray "}" after the first problem.
MINERVA_EXEMPLARS = (
    (
        "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.",
        "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, "
        "so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal "
        "to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is "
        "$\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find "
        "$\\det (\\mathbf{A} \\mathbf{B}).$",
        "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) "
        "= (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights "
        "instead, how many times must Terrell lift them in order to lift the same total weight?",
        "If Terrell lifts two 20-pound weights 12 times, he lifts a total of "
        "$2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead "
        "for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  "
        "Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n"
        "\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final "
        "answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n"
        "\\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero,\nfind "
        "$\\frac{a}{b},$ assuming $b$ is nonzero.",
        "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n"
        "$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n"
        "$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: "
        "The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
)

CHAT_TEMPLATE = (
    "Solve the following math problem step by step. Put your final answer within \\boxed{{}}."
    "\n\n{problem}"
)

class MathItem(TypedDict):
    problem: str
    solution: str  # what lm-eval's math_verify parses the gold from
    gold: str  # the final answer, as shown and exported
    level: str


class MATH500(Benchmark):
    name: ClassVar[str] = "math500"
    # 2: lm-eval minerva_math (v3.0): its exemplar text and "Solution: " layout, its math_verify
    # metric (the whole solution and the whole output parsed), 256 new tokens (was 512)
    # 3: its task version 3.1's exemplars ("\\" row breaks restored, a stray "}" removed)
    version: ClassVar[str] = "3"
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
    max_fewshot: ClassVar[int | None] = 4  # Minerva's exemplars
    default_max_tokens: ClassVar[int] = 256  # lm-eval's max_gen_toks (minerva_math sets none)
    # the chat prompt (zero-shot, step by step, \boxed{}) is shootout's own, of simple-evals'
    # kind: its samplers' budget (1,024; 2,048 in later ones). 256 would cut most worked
    # solutions off before their answer
    chat_max_tokens: ClassVar[int | None] = 2048
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
            problem, solution = texts(r, ("problem", "solution"), where)
            gold = _answer(r["answer"], where) if "answer" in r else math_gold(solution)
            subject = str(r.get("subject") or r.get("type"))
            level = str(r.get("level", "")).removeprefix("Level ").strip()
            doc_id = str(r.get("unique_id") or r.get("idx") or i)
        except (KeyError, DataError) as e:
            raise DataError(f"{where}: missing or bad field ({e})") from e
        fields: MathItem = {"problem": problem, "solution": solution, "gold": gold, "level": level}
        return Doc(doc_id, fields, group=subject)

    def fewshot_in(self, ctx: PromptContext) -> int:
        """A chat model's prompt has no solved examples; a base model's at most four."""
        return 0 if ctx.chat else min(ctx.fewshot, len(MINERVA_EXEMPLARS))

    def request(self, doc: Doc[MathItem], ctx: PromptContext) -> Request:
        problem = doc.fields["problem"]
        if ctx.chat:
            msg = Message("user", CHAT_TEMPLATE.format(problem=problem))
            return GenerateRequest(messages=(msg,), sampling=ctx.sampling)
        k = min(ctx.fewshot, len(MINERVA_EXEMPLARS))
        # lm-eval's layout: "Problem:\n…\n\nSolution:", the target after a space, "\n\n"
        shots = "".join(f"Problem:\n{p}\n\nSolution: {s}\n\n" for p, s in MINERVA_EXEMPLARS[:k])
        sampling = replace(ctx.sampling, stop=ctx.sampling.stop or ("Problem:",))
        return GenerateRequest(prompt=f"{shots}Problem:\n{problem}\n\nSolution:", sampling=sampling)

    def score(
        self, doc: Doc[MathItem], ctx: PromptContext, response: Response, request: Request
    ) -> ItemScore:
        assert isinstance(response, GenerateResponse)
        gold = doc.fields["gold"]
        try:
            found = lm_eval_math_verify_bounded(
                doc.fields["solution"], strip_reasoning(response.text))
        except CallTimeout:
            return ItemScore(
                metrics={"acc": 0.0}, extracted=None,
                reason=f"not judged within {HARD_TIMEOUT_S} s (counted wrong); gold {gold!r}",
                detail={"level": doc.fields["level"]})
        if found.extracted is None:
            reason = f"math-verify found no answer in the output; gold {gold!r}"
        else:
            verdict = "equivalent to" if found.correct else "not equivalent to"
            reason = f"math-verify: {found.extracted!r} {verdict} gold {found.gold!r}"
        return ItemScore(
            metrics={"acc": float(found.correct)},
            extracted=found.extracted,
            reason=reason,
            extraction_failed=found.extracted is None,
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


def _answer(value: Any, where: str) -> str:
    """A record's reference answer: text (or a whole number, as some copies write one); a
    null or anything else was scored against the text "None"."""
    if isinstance(value, str) and not value.strip():  # (every answer scored wrong against
        raise DataError(f"{where}: field 'answer' is empty")  # it: an audit's)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise DataError(f"{where}: field 'answer' is {type(value).__name__}, not text")
