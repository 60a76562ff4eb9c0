"""One reasoning stripper for every scorer (there were three, and they disagreed on a lone
closing tag)."""

from __future__ import annotations

import pytest

from shootout.scoring.choice import extract_letter
from shootout.scoring.numeric import extract_final_number
from shootout.scoring.text import strip_reasoning
from shootout.scoring.translation import clean_translation


@pytest.mark.parametrize(("raw", "answer"), [
    ("<think>x</think> B", " B"),
    ("<THINK>x\ny</THINK>\nC", "\nC"),
    ("<thinking>is it A?</thinking>D", "D"),
    ("<thought>Gemini thinks inline</thought>C", "C"),
    ("<reasoning>hmm</reasoning>E", "E"),
    ("<think>the model ran out of tokens while thinking", ""),
    # a template that opened the reasoning in the prompt: the output starts mid-thought
    ("it could be A, but ... </think>B", "B"),
    ("plain answer", "plain answer"),
])
def test_strip_reasoning(raw, answer):
    assert strip_reasoning(raw) == answer


def test_every_scorer_reads_the_answer_after_a_lone_closing_tag():
    raw = "Maybe 12, or A? No. </think> Answer: C. The total is 7."
    assert extract_letter(raw, 4).letter == "C"
    assert extract_final_number(raw).value == "7"
    assert clean_translation("Le chat </think>The cat.", source="猫", target="en").text == (
        "The cat.")
