"""MATH scoring: answers judged equivalent to the gold by math-verify.

`lm_eval_math_verify` is lm-evaluation-harness's `math_verify` metric of minerva_math, which the
MATH benchmarks report: math-verify's own extraction on the whole gold solution and the whole
output. `math_equal` / `score_math` compare the answer in the last \\boxed{...} with a gold
answer.

math-verify (optional extra `shootout[math]`) parses LaTeX into SymPy and compares numerically
and symbolically: 0.5 vs \\frac{1}{2}, \\dfrac, \\left( \\right), intervals, sets, matrices,
units ("5 cm" vs 5) and degrees. Its timeouts use SIGALRM, which only works in the main thread;
from any other thread `math_equal` calls it without a timeout (it would raise otherwise), and
also in the main thread while another SIGALRM timer (e.g. pytest-timeout) is set. Scorers that
run in worker threads call `math_equal_bounded` / `lm_eval_math_verify_bounded`, which judge in a
child process under a hard wall-clock limit (scoring/isolated.py).
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


@dataclass(frozen=True)
class MathVerifyResult:
    """lm-eval's `math_verify` verdict on one generation, with what math-verify read."""

    correct: bool
    extracted: str | None  # the answer math-verify found in the generation, or None
    gold: str | None  # the answer it found in the gold solution


def lm_eval_math_verify(solution: str, generation: str) -> MathVerifyResult:
    """lm-evaluation-harness's `math_verify` metric of minerva_math (task versions 3.0 and 3.1,
    lm_eval/tasks/minerva_math/utils.py `process_results`):
    `verify(gold=parse(doc["solution"]), target=parse(generation))`, each with math-verify's
    defaults: the whole gold solution and the whole generation are parsed (LaTeX and plain
    expressions, a \\boxed{} or a "final answer is" first, else anywhere), 5-second limits.
    Safe to call from worker threads (the limits are off there; see `lm_eval_math_verify_bounded`).
    """
    mv = _math_verify()
    timeout = _TIMEOUT_S if _alarm_is_ours() else None
    gold = mv.parse(solution, parsing_timeout=timeout)
    target = mv.parse(generation, parsing_timeout=timeout)
    correct = bool(mv.verify(gold=gold, target=target, timeout_seconds=timeout))
    return MathVerifyResult(correct, _shown(target), _shown(gold))


def _shown(parsed: list[Any]) -> str | None:
    """The text math-verify extracted (its last element), or None when it found nothing."""
    if not parsed:
        return None
    return parsed[-1] if isinstance(parsed[-1], str) else str(parsed[0])


_ISOLATED_LM_EVAL = IsolatedCall("shootout.scoring.mathequiv:lm_eval_math_verify")


def lm_eval_math_verify_bounded(solution: str, generation: str) -> MathVerifyResult:
    """`lm_eval_math_verify` that always returns within HARD_TIMEOUT_S (raises CallTimeout
    otherwise): in this thread where math-verify's own limits work, else in a child process."""
    if _alarm_is_ours():
        return lm_eval_math_verify(solution, generation)
    result = _ISOLATED_LM_EVAL(solution, generation, timeout=HARD_TIMEOUT_S)
    assert isinstance(result, MathVerifyResult)
    return result


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
