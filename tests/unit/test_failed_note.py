"""The report's note on failed requests says which items are in the score: an item with some
of its repeats answered is scored on those (an audit found "1 of 5 items failed after retries
and are not in the score" where that item was in it)."""

from __future__ import annotations

from shootout.report.view_extra import failed_note
from shootout.scores import Score


def _row(n: int, n_failed: int, attempted: int) -> Score:
    return Score("acc", 0.6, 0.1, n, 0.4, 0.8, n_failed=n_failed, n_attempted=attempted,
                 score_failed_as_wrong=0.5, ci_low_failed_as_wrong=0.3,
                 ci_high_failed_as_wrong=0.7)


def test_an_item_with_some_repeats_answered_is_said_to_be_in_the_score() -> None:
    note = failed_note([_row(5, 1, 5)], "acc")
    assert note.startswith("1 of 5 items had a request fail after retries; each is in the "
                           "score 60.0 (n=5) on its answered repeats")
    assert "not in the score" not in note


def test_items_left_out_and_items_in_on_some_repeats_are_told_apart() -> None:
    note = failed_note([_row(4, 3, 5)], "acc")
    assert note.startswith("3 of 5 items had a request fail after retries: 1 is not in the "
                           "score 60.0 (n=4), the other 2 are in it on the repeats answered")


def test_items_that_failed_whole_are_not_in_the_score() -> None:
    note = failed_note([_row(3, 2, 5)], "acc")
    assert note.startswith("2 of 5 items failed after retries and are not in the score 60.0 "
                           "(n=3)")
    assert failed_note([_row(5, 0, 5)], "acc") == ""
