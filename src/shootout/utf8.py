"""Text as UTF-8 can hold it (what SQLite stores)."""

from __future__ import annotations


def well_formed(text: str) -> str:
    """`text` as UTF-8 can hold it: a character whose two UTF-16 halves came apart (an emoji
    cut between two stream events, each half a JSON `\\ud83d` escape) joined again, and a
    lone half, which no UTF-8 text can hold (SQLite refused it: the run stopped, and so did
    every rerun), replaced by U+FFFD. The same object where it already is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def well_formed_or_none(text: str | None) -> str | None:
    return None if text is None else well_formed(text)
