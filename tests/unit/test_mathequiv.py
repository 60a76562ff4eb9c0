"""MATH answers: \\boxed{} extraction and equivalence through math-verify."""

from __future__ import annotations

import builtins
import json
import threading
from pathlib import Path

import pytest

from shootout.errors import ConfigError
from shootout.scoring import mathequiv
from shootout.scoring.mathequiv import extract_boxed, math_equal, math_gold, score_math

CASES = json.loads((Path(__file__).parent / "cases" / "math_equivalence.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_equivalence_table(case: dict) -> None:
    assert math_equal(case["pred"], case["gold"]) is case["equal"]


def test_table_is_big_and_has_both_verdicts() -> None:
    assert len(CASES) >= 25
    assert sum(not c["equal"] for c in CASES) >= 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
     ("first \\boxed{1}, finally \\boxed{2}", "2"),
     ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
     ("nested \\boxed{\\frac{a}{\\sqrt{b}}} done", "\\frac{a}{\\sqrt{b}}"),
     ("$\\boxed 5$", "5"),
     ("\\fbox{3}", "3"),
     ("\\boxed{a} and a cut-off \\boxed{b", "a"),
     ("no box here", None)],
)
def test_extract_boxed(text: str, expected: str | None) -> None:
    assert extract_boxed(text) == expected


def test_score_math_is_auditable() -> None:
    output = "<think>\\boxed{3}</think>So the answer is $\\boxed{\\frac{9}{4}}$."
    score = score_math(output, "Thus $x = \\boxed{2.25}$.")
    assert score.correct and score.extracted == "\\frac{9}{4}" and score.gold == "2.25"
    assert score.raw == output and "equivalent" in score.reason
    missing = score_math("The answer is 2.25", "2.25")
    assert not missing.correct and missing.extracted is None and "no \\boxed" in missing.reason


def test_gold_from_real_math_solutions(data_dir: Path) -> None:
    rows = [json.loads(x) for x in (data_dir / "math" / "test.jsonl").read_text().splitlines()]
    for row in rows[:20]:
        gold = math_gold(row["solution"])
        assert math_equal(gold, gold), gold


def test_safe_in_a_worker_thread() -> None:
    # math-verify's own timeouts use SIGALRM, which raises outside the main thread.
    results: list[object] = []

    def work() -> None:
        try:
            results.append(math_equal("\\dfrac{1}{2}", "0.5"))
        except Exception as exc:  # the failure itself is what we report
            results.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert results == [True]


def test_missing_math_verify_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "math_verify":
            raise ImportError("No module named 'math_verify'")
        return real_import(name, *args, **kwargs)

    mathequiv._math_verify.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake_import)
    try:
        with pytest.raises(ConfigError, match="shootout\\[math\\]"):
            math_equal("1", "1")
    finally:
        monkeypatch.undo()
        mathequiv._math_verify.cache_clear()
