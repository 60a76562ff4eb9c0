"""GSM8K final-number extraction and numeric comparison, driven by a table of tricky outputs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from shootout.errors import DataError
from shootout.scoring.numeric import (
    extract_final_number,
    gsm8k_gold,
    numbers_equal,
    score_gsm8k,
)

CASES = json.loads((Path(__file__).parent / "cases" / "gsm8k_extraction.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["output"][:40] for c in CASES])
def test_extraction_table(case: dict) -> None:
    found = extract_final_number(case["output"])
    assert found.value == case["value"]
    assert found.method == case["method"]
    assert found.strict == (case["method"] not in ("last_number", "none"))
    score = score_gsm8k(case["output"], case["gold"])
    assert score.correct is case["correct"], score.reason
    assert score.raw == case["output"] and score.extracted == case["value"]


def test_table_is_big_and_has_both_verdicts() -> None:
    assert len(CASES) >= 25
    assert {c["correct"] for c in CASES} == {True, False}


def test_strict_mode_ignores_the_last_number_fallback() -> None:
    assert score_gsm8k("so she has 18 left", "18").correct
    strict = score_gsm8k("so she has 18 left", "18", strict=True)
    assert not strict.correct and "strict" in strict.reason


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [("18", "18.00", True), ("1,234", "1234", True), (Decimal("0.5"), ".5", True),
     (0.1 + 0.2, "0.3", True), ("-0", "0", True), ("0.33", "0.333333", False),
     ("5", "-5", False), (None, "1", False), ("abc", "abc", False), ("$12", "12", True),
     # an infinity or NaN is no number (inf was within the tolerance of any gold)
     (float("inf"), "18", False), (float("inf"), float("inf"), False),
     (Decimal("Infinity"), 18, False), (float("nan"), "18", False)],
)
def test_numbers_equal(a: object, b: object, equal: bool) -> None:
    assert numbers_equal(a, b) is equal


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_formatted_integers_round_trip(n: int) -> None:
    text = f"After all that, the answer is {n:,}."
    assert extract_final_number(text).value == str(n)
    assert numbers_equal(f"${n:,}", n)


def test_gsm8k_gold() -> None:
    assert gsm8k_gold("She makes 9 * 2 = $<<9*2=18>>18 a day.\n#### 1,080") == "1080"
    with pytest.raises(DataError):
        gsm8k_gold("no marker here")


def test_every_gsm8k_gold_is_a_number(data_dir: Path) -> None:
    lines = (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()
    golds = [gsm8k_gold(json.loads(line)["answer"]) for line in lines]
    assert len(golds) == 1319
    assert all(numbers_equal(g, g) for g in golds)
    # the reference solutions themselves end in "#### n", so they must score as correct
    answers = [json.loads(line)["answer"] for line in lines]
    assert all(score_gsm8k(a, g).correct for a, g in zip(answers, golds, strict=True))
