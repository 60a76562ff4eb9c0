"""Letter extraction for generative multiple choice: strict vs lenient, and failures."""

from __future__ import annotations

import pytest

from shootout.scoring.choice import extract_letter, mc2_score, strip_reasoning

CHOICES = ("Paris", "London", "Berlin", "Madrid")

# (model output, expected letter, expected strict)
CASES = [
    ("B", "B", True),
    ("B.", "B", True),
    ("(B)", "B", True),
    ("B) London", "B", True),
    ("**B**", "B", True),
    ("Answer: C", "C", True),
    ("Let me think. A is wrong, D is wrong.\nAnswer: C", "C", True),
    ("The answer is (B).", "B", False),
    ("The correct answer is D, Madrid.", "D", False),
    ("the answer is b", "B", False),
    ("I think option C is right", "C", False),
    ("b", "B", False),
    ("London", "B", False),
    ("It is Berlin.", "C", False),
    ("<think>Maybe A? No, it must be D.</think>\nAnswer: D", "D", True),
    ("<think>unfinished reasoning about A", None, False),
    ("I don't know.", None, False),
    ("", None, False),
    ("E", None, False),  # not a valid option for 4 choices
    ("**Answer:** A", "A", True),
    ("A. Paris is the capital", "A", True),
    ("answer: a", "A", False),
]


@pytest.mark.parametrize(("text", "letter", "strict"), CASES)
def test_extract_letter(text: str, letter: str | None, strict: bool) -> None:
    got = extract_letter(text, 4, CHOICES)
    assert got.letter == letter, got
    if letter is not None:
        assert got.strict == strict, got


def test_strip_reasoning_removes_blocks() -> None:
    assert strip_reasoning("<think>x</think> B") == "B"
    assert strip_reasoning("<THINK>x\ny</THINK>\nC") == "C"


def test_mc2_is_normalised_probability_of_true_answers() -> None:
    import math

    lls = [math.log(0.2), math.log(0.2), math.log(0.6)]
    assert mc2_score(lls, [1, 1, 0]) == pytest.approx(0.4)
