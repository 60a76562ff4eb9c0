"""IFEval's instruction checks on hand-made responses, each with its expected strict and loose
verdict (the loose test also tries the response without its first and/or last line, and
without "*"); then the benchmark's scoring and aggregation on the real data."""

from __future__ import annotations

import pytest

from shootout.analysis.stats import wilson_interval
from shootout.benchmarks import REGISTRY, PromptContext
from shootout.benchmarks.ifeval import IFEval, verdicts
from shootout.data import DataDir
from shootout.providers.base import GenerateResponse, Sampling
from shootout.scoring import ifeval_checks
from shootout.scoring.ifeval_checks import (
    CHECKS,
    approximate_language,
    follows,
    follows_loose,
    sentences,
    treebank_words,
)
from shootout.store.rows import SampleRow

INTRO = "Sure, here is my answer:\n"
OUTRO = "\nI hope this helps"
LONG_EN = ("the weather was pleasant and the children played in the park for hours. "
           "it is a good day to be outside with your friends and family.")

# (instruction, kwargs, response, strict, loose)
CASES: list[tuple[str, dict, str, bool, bool]] = [
    # keywords
    ("keywords:existence", {"keywords": ["river", "stone"]},
     "A Stone sat by the river.", True, True),
    ("keywords:existence", {"keywords": ["river", "stone"]},
     "A rock sat by the river.", False, False),
    ("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": "at least"},
     "cat CAT Cat", True, True),
    ("keywords:frequency", {"keyword": "cat", "frequency": 3, "relation": "at least"},
     "one cat, two cats", False, False),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "less than"},
     "a cat and a dog", True, True),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "less than"},
     "a cat and a catalogue", False, False),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "evil"]},
     "A badge of good.", True, True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "evil"]},
     "Not BAD at all.", False, False),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
     "Zany jazz", True, True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "less than"},
     "Zany jazz", False, False),
    # language
    ("language:response_language", {"language": "de"},
     "Das ist nicht gut, aber wir sind mit dem Ergebnis auf jeden Fall zufrieden.", True, True),
    ("language:response_language", {"language": "de"}, LONG_EN, False, False),
    ("language:response_language", {"language": "hi"},
     "यह एक अच्छा दिन है और हम सब पार्क में हैं।", True, True),
    ("language:response_language", {"language": "ko"}, "오늘은 날씨가 좋습니다.", True, True),
    ("language:response_language", {"language": "ru"}, "Это был хороший день, и мы не спешили.",
     True, True),
    ("language:response_language", {"language": "fa"}, "این یک روز خوب است و ما در پارک هستیم.",
     True, True),
    ("language:response_language", {"language": "vi"}, "Hôm nay là một ngày đẹp trời.", True, True),
    # length
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "Dr. Smith came home. He was tired.", True, True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "One. Two! Three? Four.", False, False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"},
     "It costs 3.5 dollars. That is cheap. Buy it!", True, True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3},
     "First part.\n***\nSecond part.\n***\nThird part.", True, True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3},
     "First part.\n***\n\n***\nThird part.", False, False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "First.\n\nSecond.", False, False),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"},
     "Only four words here", True, True),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"},
     "Only four words here", False, False),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"},
     "it's five words, isn't", True, True),  # it, s, five, words, isn, t: six
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "We began.\n\n\"Then, we ended.", True, True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "We began.\n\nAfter that we ended.", False, False),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "We began.\n\nThen we ended.\n\nA third one.", False, True),  # loose: last line cut
    # the reference strips a leading "'" and then a leading '"': "'" stays, the word is empty
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "We began.\n\n\"'Then we ended.", False, False),
    # detectable content
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name], at [address].", True, True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name].", False, False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "Hello.\n\nP.S. See you soon.", True, True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "Hello.\n\np. s. see you soon.", True, True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     "Hello.\n\nP.S. See you soon.", False, False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     "Hello.\nP.P.S Bring cake.", True, True),
    # detectable format
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "* one\n* two", True, True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "- one\n- two\n- three\n- four\n- five", False, False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "- one\n- two\n- three", False, True),  # loose: last line cut
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "Here you go:\n* one\n* two\nThat is all", True, True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "**Title**\n* one\n* two", True, True),
    ("detectable_format:constrained_response", {}, "My answer is yes.", True, True),
    ("detectable_format:constrained_response", {}, "My answer is probably yes.", False, False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*first* and **second**", True, True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*first* and ** **", False, False),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nIntro\nSection 2\nBody", True, True),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 3},
     "SECTION 1\nIntro\nSECTION 2\nBody", False, False),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True, True),
    ("detectable_format:json_format", {}, 'Here is the JSON:\n{"a": 1}', False, True),
    ("detectable_format:json_format", {}, "{'a': 1}", False, False),
    # the reference removes "```json" and then "```" where both open the response
    ("detectable_format:json_format", {}, '```json```\n{"a": 1}\n```', True, True),
    ("detectable_format:title", {}, "<<My Poem>>\nRoses are red", True, True),
    ("detectable_format:title", {}, "<< >>\nRoses are red", False, False),
    # the reference strips "<" on the left and ">" on the right only: "> <" is a title
    ("detectable_format:title", {}, "<<> <>>\nRoses are red", True, True),
    # combination
    ("combination:two_responses", {}, "Answer one.\n******\nAnswer two.", True, True),
    ("combination:two_responses", {}, "Same.\n******\nSame.", False, False),
    ("combination:two_responses", {}, "One.\n******\n\n******\nTwo.", False, False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about cats."},
     "write a poem about cats. Cats are soft...", True, True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about cats."},
     "Sure! Write a poem about cats. Cats...", False, False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about cats."},
     "Sure!\nWrite a poem about cats. Cats...", False, True),
    # start / end
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     'Done. "Is there anything else I can help with?"', True, True),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     "Done. Is there anything else I can help with? Bye.", False, False),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     "Done. Is there anything else I can help with?" + OUTRO, False, True),
    ("startend:quotation", {}, '"All of it is quoted."', True, True),
    ("startend:quotation", {}, 'Here:\n"All of it is quoted."', False, True),
    ("startend:quotation", {}, '"', False, False),
    # change case
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "This is VERY IMPORTANT.", True, True),
    ("change_case:capital_word_frequency",
     {"capital_frequency": 2, "capital_relation": "less than"},
     "This is VERY IMPORTANT.", False, False),
    # nltk's word_tokenize: "WELL-KNOWN" and "U.S." are one word each (two capital words)
    ("change_case:capital_word_frequency",
     {"capital_frequency": 3, "capital_relation": "less than"},
     "The WELL-KNOWN fact about the U.S. economy", True, True),
    ("change_case:english_capital", {}, LONG_EN.upper(), True, True),
    ("change_case:english_capital", {}, "Hello " + LONG_EN.upper(), False, False),
    ("change_case:english_capital", {}, INTRO + LONG_EN.upper(), False, True),
    ("change_case:english_capital", {}, "DAS IST NICHT GUT, ABER WIR SIND MIT DEM ERGEBNIS "
     "AUF JEDEN FALL ZUFRIEDEN.", False, False),
    ("change_case:english_lowercase", {}, LONG_EN, True, True),
    ("change_case:english_lowercase", {}, "**" + LONG_EN + "**", True, True),
    ("change_case:english_lowercase", {}, "The " + LONG_EN, False, False),
    ("change_case:english_lowercase", {}, "The answer:\n" + LONG_EN, False, True),
    ("punctuation:no_comma", {}, "No commas here.", True, True),
    ("punctuation:no_comma", {}, "Well, a comma.", False, False),
    ("punctuation:no_comma", {}, "Sure, here you go:\nno commas in this line", False, True),
    # an empty response follows nothing
    ("punctuation:no_comma", {}, "   \n", False, False),
]


def test_the_cases_cover_every_instruction_type():
    assert len(CASES) >= 50
    assert {c[0] for c in CASES} == set(CHECKS)
    assert len(CHECKS) == 25
    assert any(s != lo for _, _, _, s, lo in CASES)  # the loose test does differ somewhere


@pytest.fixture(params=["installed", "approximate"])
def detector(request, monkeypatch):
    """Each case with the detector in use (langdetect where installed) and the approximation."""
    if request.param == "approximate":
        monkeypatch.setattr(ifeval_checks, "_DETECT", None)
    return request.param


@pytest.mark.parametrize(("instruction", "kwargs", "response", "strict", "loose"), CASES)
def test_verdicts(instruction, kwargs, response, strict, loose, detector):
    assert follows(instruction, kwargs, response) is strict
    assert follows_loose(instruction, kwargs, response) is loose


def test_sentences_and_language():
    assert sentences("Mr. Lee paid 2.50 dollars. Then he left! Why? Because.") == [
        "Mr. Lee paid 2.50 dollars.", "Then he left!", "Why?", "Because."]
    assert approximate_language("1234 !!!") is None
    assert approximate_language("Isso é muito bom e você não sabe para que serve.") == "pt"
    assert approximate_language("Это было не так, как мы думали.") == "ru"
    assert approximate_language("Това е един от най-добрите, които са във града.") == "bg"
    assert ifeval_checks.detect_language("12 34") is None  # either detector: no letters


def test_treebank_words_as_nltk_word_tokenize():
    """Tokens as nltk's NLTKWordTokenizer gives them (checked against nltk 3.10.4)."""
    assert treebank_words("THE U.S. IS WELL-KNOWN. DON'T") == [
        "THE", "U.S.", "IS", "WELL-KNOWN.", "DO", "N'T"]
    assert treebank_words('"Hello," she said -- IT\'S fine (CANNOT) A/B.') == [
        "``", "Hello", ",", "''", "she", "said", "--", "IT", "'S", "fine", "(", "CAN", "NOT",
        ")", "A/B", "."]


def test_unknown_instruction_is_an_error():
    with pytest.raises(ValueError, match="unknown IFEval instruction"):
        follows("detectable_format:haiku", {}, "text")


@pytest.fixture(scope="module")
def bench(data_dir):
    return REGISTRY["ifeval"](data=DataDir(data_dir))


def test_data_has_the_published_numbers(bench):
    docs = bench.load()
    assert len(docs) == 541
    assert sum(len(d.fields["instruction_id_list"]) for d in docs) == 834
    assert {i for d in docs for i in d.fields["instruction_id_list"]} == set(CHECKS)


def _row(item_id: str, metrics: dict, detail: dict) -> SampleRow:
    return SampleRow("m", "ifeval", item_id, 0, "", "ok", metrics, None, "", False, None, None,
                     detail)


def test_score_and_pooled_instruction_level(bench):
    docs = {d.id: d for d in bench.load()}
    doc = docs["1000"]  # no comma, 3 highlighted sections, at least 300 words
    ctx = PromptContext("generative", True, Sampling(max_tokens=1280), 0)
    req = bench.request(doc, ctx)
    text = "*one* *two* *three* " + "word " * 300
    s = bench.score(doc, ctx, GenerateResponse(text=text), req)
    assert s.metrics["prompt_level_strict_acc"] == 1.0
    assert s.detail["language_detector"] == ifeval_checks.LANGUAGE_DETECTOR
    s2 = bench.score(doc, ctx, GenerateResponse(text="Hi, *one*"), req)
    assert s2.metrics["inst_level_strict_acc"] == pytest.approx(0.0)
    assert verdicts(doc.fields, "Hi *one*") == ([True, False, False], [True, False, False])
    # pooled: 3 of 3 on a 3-instruction prompt and 0 of 1 on a 1-instruction one is 3/4,
    # where the mean of the two prompts' shares would be 1/2
    rows = [_row("a", {"prompt_level_strict_acc": 1.0, "inst_level_strict_acc": 1.0,
                       "prompt_level_loose_acc": 1.0, "inst_level_loose_acc": 1.0},
                 {"n_instructions": 3, "instructions": ["x", "y", "x"],
                  "strict": [True, True, True], "loose": [True, True, True],
                  "language_detector": "langdetect"}),
            _row("b", {"prompt_level_strict_acc": 0.0, "inst_level_strict_acc": 0.0,
                       "prompt_level_loose_acc": 1.0, "inst_level_loose_acc": 1.0},
                 {"n_instructions": 1, "instructions": ["x"], "strict": [False],
                  "loose": [True]})]
    agg = IFEval.aggregate(rows)
    assert agg is not None
    scores, analysis = agg
    by = {s.metric: s for s in scores}
    assert by["inst_level_strict_acc"].score == pytest.approx(0.75)
    assert by["prompt_level_strict_acc"].score == pytest.approx(0.5)
    assert by["prompt_level_strict_acc"].primary
    assert by["inst_level_loose_acc"].score == pytest.approx(1.0)
    # every instruction followed: Wilson's interval, not a normal one of no width ([1, 1])
    loose = by["inst_level_loose_acc"]
    assert loose.ci_high == 1.0 and loose.ci_low == pytest.approx(wilson_interval(4, 4)[0])
    assert loose.extra["ci_method"] == "wilson_effective"
    strict = by["inst_level_strict_acc"]
    assert strict.ci_low is not None and strict.ci_low < 0.75 < strict.ci_high < 1.0
    assert analysis["language_detectors"] == ["langdetect"]
    assert analysis["by_instruction"]["x"] == {"n": 3, "strict_acc": 2 / 3, "loose_acc": 1.0}


def test_every_prompt_reads_as_english(bench):
    """The prompts are English (one quotes a Vietnamese sentence, some name other languages):
    the approximate detector must not take English for another Latin-script language."""
    assert {approximate_language(d.fields["prompt"]) for d in bench.load()} == {"en"}


def test_words_with_combining_marks_are_counted_as_nltk_counts_them():
    """lm-eval's `count_words` (nltk's RegexpTokenizer, on the `regex` module) counts "हिंदी"
    as one word; `re`'s `\\w` split it at its vowel signs, so a Hindi answer of 18 words was
    counted 27 and failed "less than 20 words"."""
    sentence = "यह हिंदी में एक वाक्य है। "
    assert len(ifeval_checks.words(sentence)) == 6
    check = ifeval_checks.CHECKS["length_constraints:number_words"]
    assert check(sentence * 3, {"num_words": 20, "relation": "less than"})
