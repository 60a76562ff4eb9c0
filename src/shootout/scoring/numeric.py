"""GSM8K-style scoring: find the final number in a model's answer and compare it numerically.

Rules, most explicit first (the first rule that finds a number wins):
  boxed      the last \\boxed{...}: the last number inside it
  hash       the last "#### <number>" (GSM8K's own answer format)
  answer_is  the last "the (final) answer is ..." / "Answer: ..." statement: the first number
             after it, or after its last "=" when the statement is a calculation
  last_number  the last number anywhere (lenient fallback; `strict` is False)
Numbers may carry thousands separators, a currency sign, a sign, decimals, units and a trailing
full stop ("$1,234.50.", "-3", "72 km"); a fraction ("3/4", "\\frac{10}{2}") counts as its value
(a date's "3/4/2020" does not). <think>...</think> reasoning is removed first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shootout.errors import DataError
from shootout.scoring.text import strip_reasoning

_CURRENCY = "$€£¥₹"
# A number not glued to a preceding word, digit or decimal point (so "16-3" yields 16 and 3,
# "v2" yields nothing); the sign may sit on either side of a currency symbol ("-$5", "$-5").
_NUMBER_RE = re.compile(
    rf"(?<![\w.])(?:[{_CURRENCY}]\s?)?(?P<sign>[-\u2212\u2013])?\s?(?:[{_CURRENCY}]\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?!\d)"
)
_HASH_RE = re.compile(r"####\s*([^\n]*)")
# The marker needs its verb or colon: "to answer this, we need 3" is not an answer statement.
_ANSWER_RE = re.compile(r"\banswer\s*(?:is\b|[:=])\s*[:=]?", re.IGNORECASE)
_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Emphasis and LaTeX thin spaces ("1\\,234") only; braces stay so \boxed{} still balances.
_MARKUP_RE = re.compile(r"\*\*|__|\\[,!;]")


@dataclass(frozen=True)
class ExtractResult:
    """The extracted final number. `value` is canonical ("1234", "-3.5") or None."""

    value: str | None
    method: str  # "boxed" | "hash" | "answer_is" | "last_number" | "none"
    strict: bool  # True when an explicit answer marker matched
    matched: str = ""  # the text the number was read from, for auditing

    @property
    def decimal(self) -> Decimal | None:
        return None if self.value is None else Decimal(self.value)


@dataclass(frozen=True)
class NumericScore:
    """One scored GSM8K item: everything needed to audit the verdict."""

    raw: str
    extracted: str | None
    gold: str
    correct: bool
    method: str
    strict: bool
    reason: str


def extract_final_number(text: str) -> ExtractResult:
    body = _MARKUP_RE.sub("", strip_reasoning(text)).replace("\\$", "$")
    for method, finder in (("boxed", _from_boxed), ("hash", _from_hash),
                           ("answer_is", _from_answer_is)):
        found = finder(body)
        if found is not None:
            return ExtractResult(found[0], method, True, found[1])
    numbers = _numbers(body)
    if numbers:
        last = numbers[-1]
        return ExtractResult(_canonical(last), "last_number", False, last.group(0).strip())
    return ExtractResult(None, "none", False)


def _from_boxed(body: str) -> tuple[str, str] | None:
    contents = [c for c in _boxed_contents(body) if _NUMBER_RE.search(c)]
    if not contents:
        return None
    numbers = _numbers(contents[-1])
    return _canonical(numbers[-1]), contents[-1]


def _boxed_contents(body: str) -> list[str]:
    out = []
    for m in _BOXED_RE.finditer(body):
        depth, i = 1, m.end()
        while i < len(body) and depth:
            depth += {"{": 1, "}": -1}.get(body[i], 0)
            i += 1
        if depth == 0:
            out.append(body[m.end(): i - 1])
    return out


def _from_hash(body: str) -> tuple[str, str] | None:
    for m in reversed(list(_HASH_RE.finditer(body))):
        num = next(iter(_numbers(m.group(1))), None)
        if num:
            return _canonical(num), m.group(0).strip()
    return None


def _from_answer_is(body: str) -> tuple[str, str] | None:
    for m in reversed(list(_ANSWER_RE.finditer(body))):
        statement = _statement_after(body, m.end())
        # "Answer: 5 + 3 = 8": the result follows the last "=".
        tail = statement.rsplit("=", 1)[-1] if "=" in statement else statement
        num = next(iter(_numbers(tail)), None)
        if num:
            return _canonical(num), (m.group(0) + statement).strip()
    return None


def _statement_after(body: str, start: int) -> str:
    """The rest of the line, cut at a sentence end (a full stop not inside a number)."""
    line = body[start:].split("\n", 1)[0]
    if not line.strip():  # "Answer:\n72"
        line = body[start:].lstrip("\n").split("\n", 1)[0]
    end = re.search(r"\.(?!\d)\s|\.$", line)
    return line[: end.start()] if end else line


_SLASH_DEN_RE = re.compile(r"\s*/\s*(\d+)(?![\d/])")  # "3/4", not a date "3/4/2020"
_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{\s*$")


def _canonical(m: re.Match[str]) -> str:
    """The match as a canonical number; a fraction ("3/4", "\\frac{3}{4}") becomes its value."""
    num = ("-" if m.group("sign") else "") + m.group("num")
    den = _denominator(m)
    if den is not None:
        value = Decimal(num.replace(",", "")) / den
        return canonical_number(str(value.quantize(Decimal(1)) if value == int(value) else value))
    return canonical_number(num)


def _numbers(text: str) -> list[re.Match[str]]:
    """Numbers in reading order; a fraction's denominator is part of its numerator's value."""
    return [m for m in _NUMBER_RE.finditer(text) if not _is_denominator(m)]


def _is_denominator(m: re.Match[str]) -> bool:
    before = m.string[: m.start()]
    return bool(re.search(r"\d\s*/\s*$", before)
                or re.search(r"\\[dt]?frac\s*\{[^{}]*\}\s*\{\s*$", before))


def _denominator(m: re.Match[str]) -> Decimal | None:
    text, end = m.string, m.end()
    slash = _SLASH_DEN_RE.match(text, end)
    if slash and int(slash.group(1)) != 0 and not re.search(r"\d\s*/\s*$", text[: m.start()]):
        return Decimal(slash.group(1))
    if _FRAC_RE.search(text[: m.start()]):
        frac = re.match(r"\s*\}\s*\{\s*(\d+)\s*\}", text[end:])
        if frac and int(frac.group(1)) != 0:
            return Decimal(frac.group(1))
    return None


def canonical_number(text: str) -> str:
    """'1,234.50' -> '1234.5', '-0' -> '0', '18.00' -> '18'. Raises ValueError if not a number."""
    value = _to_decimal(text)
    if value is None:
        raise ValueError(f"not a number: {text!r}")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _to_decimal(value: object) -> Decimal | None:
    """`value` as a finite number, or None (an infinity or NaN is no answer: JSON's 1e999
    reads as inf, which was within the tolerance of any gold)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float):
        got = Decimal(str(value))
        return got if got.is_finite() else None
    text = str(value).strip().replace(",", "").replace("\u2212", "-").replace("\u2013", "-")
    text = re.sub(rf"[{_CURRENCY}\s]", "", text).rstrip(".")
    try:
        result = Decimal(text)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def numbers_equal(a: object, b: object) -> bool:
    """Numeric equality of two answers (str, Decimal, int or float); False if either isn't one.
    A relative tolerance of 1e-9 only absorbs float noise: 0.33 is not 1/3."""
    x, y = _to_decimal(a), _to_decimal(b)
    if x is None or y is None:
        return False
    if x == y:
        return True
    return abs(x - y) <= Decimal("1e-9") * max(Decimal(1), abs(x), abs(y))


def gsm8k_gold(answer_field: str) -> str:
    """The gold number of a GSM8K record: the text after the last "#### ", commas removed."""
    if "####" not in answer_field:
        raise DataError(f"GSM8K answer has no '####' line: {answer_field[-80:]!r}")
    gold = answer_field.rsplit("####", 1)[1].strip().replace(",", "")
    if _to_decimal(gold) is None:  # ("#### four", "#### ": every answer scored wrong)
        raise DataError(f"GSM8K answer's '####' line holds no number: {gold[:40]!r}")
    return gold


def score_gsm8k(output: str, gold: str, *, strict: bool = False) -> NumericScore:
    """Score one answer. With strict=True only an explicit answer marker counts."""
    found = extract_final_number(output)
    usable = found.value is not None and (found.strict or not strict)
    correct = usable and numbers_equal(found.value, gold)
    if found.value is None:
        reason = "no number found in the answer"
    elif not usable:
        reason = f"no explicit answer marker (last number {found.value} ignored in strict mode)"
    else:
        verdict = "equals" if correct else "differs from"
        reason = f"{found.method}: {found.value} {verdict} gold {gold}"
    return NumericScore(output, found.value, gold, correct, found.method, found.strict, reason)
