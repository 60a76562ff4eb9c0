"""Multiple-choice scoring: log-likelihood metrics and letter extraction from generated text.

Log-likelihood metrics follow lm-evaluation-harness: `acc` is argmax of the summed continuation
log-probability; `acc_norm` divides by the continuation's length in characters first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

LETTERS = "ABCDEFGHIJ"

_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Remove <think>…</think> blocks (an unclosed block runs to the end of the text)."""
    return _THINK_RE.sub("", text).strip()


def acc_from_loglikelihoods(lls: Sequence[float], gold: int) -> float:
    return 1.0 if _argmax(lls) == gold else 0.0


def acc_norm_from_loglikelihoods(lls: Sequence[float], choices: Sequence[str], gold: int) -> float:
    normed = [ll / max(len(c), 1) for ll, c in zip(lls, choices, strict=True)]
    return 1.0 if _argmax(normed) == gold else 0.0


def mc2_score(lls: Sequence[float], labels: Sequence[int]) -> float:
    """TruthfulQA MC2: normalised probability mass on the true answers."""
    m = max(lls)
    probs = [math.exp(ll - m) for ll in lls]
    total = sum(probs)
    return sum(p for p, lab in zip(probs, labels, strict=True) if lab == 1) / total


def _argmax(values: Sequence[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


@dataclass(frozen=True)
class LetterExtraction:
    letter: str | None
    strict: bool
    rule: str


def extract_letter(text: str, n_choices: int, choices: Sequence[str] = ()) -> LetterExtraction:
    """Find the chosen option letter in a model's answer.

    Strict: the answer is just the letter (optionally bracketed or followed by its option text),
    or ends in an explicit "Answer: X". Lenient also accepts "The answer is (B).", "**B**",
    "B) Paris", lower case, trailing text, and an answer that quotes exactly one option's text.
    """
    valid = LETTERS[:n_choices]
    body = strip_reasoning(text)
    plain = body.replace("**", "").replace("__", "").strip()
    for rule, pattern, strict, flags in _rules(valid):
        matches = list(re.finditer(pattern, plain, flags))
        if matches:
            # the last explicit answer statement wins ("A is wrong ... Answer: C")
            m = matches[-1] if rule == "answer_marker" else matches[0]
            return LetterExtraction(m.group(1).upper(), strict, rule)
    hit = _match_choice_text(plain, choices)
    if hit is not None:
        return LetterExtraction(valid[hit], False, "choice_text")
    return LetterExtraction(None, False, "no_match")


def _rules(valid: str) -> list[tuple[str, str, bool, int]]:
    v = f"[{valid}]"
    vi = f"[{valid}{valid.lower()}]"
    return [
        ("bare_letter", rf"^[\(\[]?({v})[\)\]]?[.:)]?(?:\s.*)?$", True, re.DOTALL),
        ("answer_marker", rf"(?i:answer)\s*[:：]\s*[\(\[]?({v})\b", True, 0),
        (
            "answer_is",
            rf"(?i:answer\s+is|answer\s+would\s+be|correct\s+(?:answer|option|choice)\s+is|option|choice)\s*[:：]?\s*[\(\[]?({vi})(?![a-zA-Z])",
            False,
            0,
        ),
        ("bracketed", rf"[\(\[]({v})[\)\]]", False, 0),
        ("letter_paren", rf"(?:^|\s)({v})[\).:](?:\s|$)", False, re.MULTILINE),
        ("answer_marker_lower", rf"(?i:answer)\s*[:：]\s*[\(\[]?({vi})(?![a-zA-Z])", False, 0),
        ("lone_letter", rf"^[\(\[]?({vi})[\)\]]?[.:)]?$", False, 0),
    ]


def _match_choice_text(text: str, choices: Sequence[str]) -> int | None:
    low = text.lower().strip().rstrip(".")
    if not low:
        return None
    exact = [i for i, c in enumerate(choices) if c.strip().lower().rstrip(".") == low]
    if len(exact) == 1:
        return exact[0]
    contained = [i for i, c in enumerate(choices) if c.strip() and c.strip().lower() in low]
    return contained[0] if len(contained) == 1 else None
