"""The test tree itself: pytest imports test files by basename (no packages under tests/), so
two files with one basename in tests/unit and tests/integration stop the whole run at
collection ("import file mismatch"), whichever of them is run alone passing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_files_share_a_basename() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1]
