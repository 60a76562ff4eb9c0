"""Letter extraction for generative multiple choice: strict vs lenient, and failures.

The table lives in cases/choice_extraction.json (one case per line of model output, lighteval
style): `output`, the expected `letter` (null for an extraction failure), whether the match is
`strict`, and the `choices` offered (default: four capitals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from shootout.scoring.choice import extract_letter, mc2_score

CAPITALS = ("Paris", "London", "Berlin", "Madrid")
CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cases" / "choice_extraction.json").read_text(encoding="utf-8")
)


def _extract(case: dict[str, Any]) -> Any:
    choices = tuple(case.get("choices", CAPITALS))
    return extract_letter(case["output"], len(choices), choices)


@pytest.mark.parametrize("case", CASES, ids=[c["output"][:40] or "<empty>" for c in CASES])
def test_extract_letter(case: dict[str, Any]) -> None:
    got = _extract(case)
    assert got.letter == case["letter"], got
    if case["letter"] is not None:
        assert got.strict == case["strict"], got


def test_defect3_sentence_initial_a_or_i_is_not_the_answer() -> None:
    """Issue 12 defect 3: a leading "A"/"I" is a word; an explicit answer marker wins."""
    ten = tuple(f"option {i}" for i in range(10))
    assert extract_letter("A cat is a mammal, so the answer is C.", 4).letter == "C"
    assert extract_letter("C is incorrect. Answer: B", 4).letter == "B"
    assert extract_letter("I think the answer is B", 10, ten).letter == "B"
    assert extract_letter("I don't know.", 10, ten).letter is None


def test_defect3_a_bare_letter_counts_only_when_it_stands_alone() -> None:
    assert extract_letter("B\nLondon is the capital.", 4, CAPITALS).strict
    assert extract_letter("B) London", 4, CAPITALS).strict
    follows_prose = extract_letter("C is incorrect.", 4, CAPITALS)
    assert follows_prose.letter is None, follows_prose


def test_defect3_chinese_answer_marker_before_option_text() -> None:
    """The stated letter wins over the one option the explanation happens to quote."""
    got = extract_letter("答案是：B。北京是首都…", 4, ("北京", "上海", "天津", "重庆"))
    assert (got.letter, got.strict) == ("B", True), got


def test_defect2_letters_cover_up_to_26_options() -> None:
    options = tuple(f"statement {i}" for i in range(13))
    for i, letter in enumerate("ABCDEFGHIJKLM"):
        got = extract_letter(f"Answer: {letter}", 13, options)
        assert (got.letter, got.strict) == (letter, True)
        assert extract_letter(options[i], 13, options).letter == letter


def test_mc2_is_normalised_probability_of_true_answers() -> None:
    lls = [math.log(0.2), math.log(0.2), math.log(0.6)]
    assert mc2_score(lls, [1, 1, 0]) == pytest.approx(0.4)
