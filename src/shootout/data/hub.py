"""Loading the same splits from the Hugging Face hub, for a benchmark built on `DataDir(None)`.

Runs no longer get here: they read --data-dir, $SHOOTOUT_DATA or the `data pull` cache, whose
files are checked against shipped sums (hub rows are not, and their item ids differ)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import DataError
from .files import HOW_TO_PROVIDE


def hub_rows(path: str, name: str | None, split: str) -> Iterator[dict[str, Any]]:
    """Rows of a hub dataset split; one clear line when the hub is out of reach."""
    try:
        import datasets
    except ImportError as e:
        raise DataError(f"no benchmark data for {path}: {HOW_TO_PROVIDE}") from e
    try:
        ds = datasets.load_dataset(path, name, split=split)
    except Exception as e:  # the hub client raises many unrelated types offline
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"could not load {path} from the hub ({first}): {HOW_TO_PROVIDE}") from e
    yield from ds
