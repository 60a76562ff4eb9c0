"""What the store holds and gives back, as frozen records (no SQL here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# statuses of a sample that has a score: "truncated" is an answer cut off by the output limit
# (finish_reason "length"), scored as it stands and counted apart from extraction failures
ANSWERED = ("ok", "truncated")


@dataclass(frozen=True)
class SampleRow:
    model: str
    benchmark: str
    item_id: str
    repeat: int
    group: str
    status: str
    metrics: dict[str, float]
    extracted: str | None
    reason: str
    extraction_failed: bool
    error: str | None
    response_key: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED


@dataclass(frozen=True)
class StoredResponse:
    """What the results need of a stored response: its usage, timing and finish reason.

    `usage` and `timing` are the response's own dicts (`providers.base.Usage` and `Timing`
    fields); the text and the request stay in the store (`Store.get_response`,
    `Store.get_request`) for the few places that show them.
    """

    key: str
    kind: str  # "generate" or "loglikelihood"
    created_at: float  # when it was stored: the end of the request
    usage: Mapping[str, Any]
    timing: Mapping[str, Any]
    finish_reason: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """One stored run as the results are built from it: its row, every sample (ordered by
    model, benchmark, item, repeat) and each stored response those samples use, once."""

    run_id: str
    status: str
    created_at: float
    updated_at: float
    spec: Mapping[str, Any]
    manifest: Mapping[str, Any]
    samples: tuple[SampleRow, ...]
    responses: Mapping[str, StoredResponse]


@dataclass(frozen=True)
class PerfLevelRow:
    """One level of a `shootout perf` load test, as stored."""

    mode: str
    value: float
    summary: Mapping[str, Any]
    records: list[dict[str, Any]]
