"""A rich progress bar per model x benchmark, on stderr, with ETA."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: RichProgress | None = None
        if enabled:
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def add(self, description: str, total: int, completed: int = 0) -> TaskID | None:
        if self._bar is None:
            return None
        return self._bar.add_task(description, total=total, completed=completed)

    def advance(self, task: TaskID | None) -> None:
        if self._bar is not None and task is not None:
            self._bar.advance(task)
