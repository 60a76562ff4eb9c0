"""MATH scoring: the answer in the last \\boxed{...}, judged equivalent to the gold by math-verify.

math-verify (optional extra `shootout[math]`) parses LaTeX into SymPy and compares numerically
and symbolically: 0.5 vs \\frac{1}{2}, \\dfrac, \\left( \\right), intervals, sets, matrices,
units ("5 cm" vs 5) and degrees. Its timeouts use SIGALRM, which only works in the main thread;
from any other thread `math_equal` calls it without a timeout (it would raise otherwise), and
also in the main thread while another SIGALRM timer (e.g. pytest-timeout) is set. Scorers that
run in worker threads call `math_equal_bounded`, which judges in a child process under a hard
wall-clock limit (scoring/isolated.py).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from shootout.errors import ConfigError
from shootout.scoring.isolated import IsolatedCall
from shootout.scoring.text import strip_reasoning

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\b")
_TIMEOUT_S = 5
# SymPy can take very long on huge expressions; answers longer than this are judged wrong.
_MAX_CHARS = 1000


@dataclass(frozen=True)
class MathScore:
    """One scored MATH item: everything needed to audit the verdict."""

    raw: str
    extracted: str | None
    gold: str
    correct: bool
    reason: str


def extract_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} / \\fbox{...} (braces balanced), or of "\\boxed 5"."""
    for m in reversed(list(_BOXED_RE.finditer(text))):
        content = _boxed_argument(text, m.end())
        if content is not None:
            return content.strip()
    return None


def _boxed_argument(text: str, start: int) -> str | None:
    rest = text[start:]
    stripped = rest.lstrip()
    if stripped.startswith("{"):
        begin = start + len(rest) - len(stripped) + 1
        depth, i = 1, begin
        while i < len(text) and depth:
            if text[i] == "\\" and i + 1 < len(text):  # \{ and \} are literal braces
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        return text[begin: i - 1] if depth == 0 else None
    if rest[:1].isspace():  # "\boxed 5": one token, up to "$" or white space
        token = re.match(r"\s+([^\s$]+)", rest)
        return token.group(1) if token else None
    return None


def math_gold(solution: str) -> str:
    """The gold answer of a MATH record: the last boxed expression of its solution."""
    boxed = extract_boxed(solution)
    return boxed if boxed is not None else solution.strip()


def math_equal(pred: str, gold: str, *, max_chars: int = _MAX_CHARS) -> bool:
    """True if the predicted answer is mathematically equivalent to the gold answer.

    Both are answers, not whole solutions (a gold containing \\boxed is reduced to its box).
    Safe to call from worker threads (see module docstring).
    """
    mv = _math_verify()
    if "\\boxed" in gold or "\\fbox" in gold:
        gold = extract_boxed(gold) or gold
    pred, gold = pred.strip(), gold.strip()
    if not pred or not gold or len(pred) > max_chars:
        return False
    timeout = _TIMEOUT_S if _alarm_is_ours() else None
    gold_parsed = _parse(mv, gold, latex_only=True, timeout=timeout)
    pred_parsed = _parse(mv, pred, latex_only=False, timeout=timeout)
    if not gold_parsed or not pred_parsed:
        return False
    # verify() is not symmetric: the gold comes first.
    return bool(mv.verify(gold_parsed, pred_parsed, timeout_seconds=timeout))


_ISOLATED = IsolatedCall("shootout.scoring.mathequiv:math_equal")
# parse gold, parse prediction, verify: each under math-verify's own limit, plus slack
HARD_TIMEOUT_S = 3 * _TIMEOUT_S + 5


def math_equal_bounded(pred: str, gold: str) -> bool:
    """`math_equal` that always returns within HARD_TIMEOUT_S (raises CallTimeout otherwise):
    in this thread where math-verify's own timeouts work, else in a child process."""
    if _alarm_is_ours():
        return math_equal(pred, gold)
    return bool(_ISOLATED(pred, gold, timeout=HARD_TIMEOUT_S))


def _alarm_is_ours() -> bool:
    """math-verify's timeout needs SIGALRM: only the main thread may use it, and not while
    someone else's alarm is pending (it would cancel that alarm)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _parse(mv: ModuleType, answer: str, *, latex_only: bool, timeout: int | None) -> list[Any]:
    # Wrapping in $\boxed{}$ tells math-verify exactly where the answer is.
    configs: list[Any] = [mv.LatexExtractionConfig(boxed_match_priority=0)]
    if not latex_only:
        configs.append(mv.ExprExtractionConfig())
    return list(mv.parse(f"$\\boxed{{{answer}}}$", extraction_config=configs,
                         parsing_timeout=timeout))


def score_math(output: str, gold: str) -> MathScore:
    """Score one model answer against a gold answer (or a gold solution with \\boxed)."""
    gold_answer = math_gold(gold) if "\\boxed" in gold or "\\fbox" in gold else gold.strip()
    pred = extract_boxed(strip_reasoning(output))
    if pred is None:
        return MathScore(output, None, gold_answer, False, "no \\boxed{} answer in the output")
    correct = math_equal(pred, gold_answer)
    verdict = "equivalent to" if correct else "not equivalent to"
    return MathScore(output, pred, gold_answer, correct, f"boxed {pred!r} {verdict} gold")


class _DropTimeoutWarning(logging.Filter):
    """math-verify warns once that timeouts are off; that is deliberate in worker threads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


@lru_cache(maxsize=1)
def _math_verify() -> ModuleType:
    try:
        import math_verify
    except ImportError as exc:
        raise ConfigError("MATH scoring needs math-verify: pip install 'shootout[math]'") from exc
    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_DropTimeoutWarning())
    return math_verify
