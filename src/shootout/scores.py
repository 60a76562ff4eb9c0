"""The one score type: a figure with its uncertainty, from a benchmark's aggregate up to the
results table, the JSON and the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Score:
    """One figure of a benchmark (a metric over its items) with its uncertainty."""

    metric: str
    score: float
    stderr: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
