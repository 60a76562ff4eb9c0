"""A rich progress bar per model x benchmark, on stderr, with ETA."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress as RichProgress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Progress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: RichProgress | None = None
        self._started = False
        if enabled:
            self._bar = RichProgress(
                TextColumn("{task.description}", markup=False),  # a model's name as it is
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr, markup=False),
                transient=False,
            )

    def __enter__(self) -> Progress:
        # The bar starts with its first task, so a run that fails before any work
        # (bad data dir, unknown model) prints nothing but its one-line error.
        self._started = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None and self._started:
            self._bar.stop()

    def add(self, description: str, total: int, completed: int = 0) -> TaskID | None:
        if self._bar is None:
            return None
        if not self._started:
            self._bar.start()
            self._started = True
        return self._bar.add_task(description, total=total, completed=completed)

    def advance(self, task: TaskID | None) -> None:
        if self._bar is not None and task is not None:
            self._bar.advance(task)
