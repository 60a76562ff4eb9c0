"""What the store holds and gives back, as frozen records (no SQL here)."""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# statuses of a sample that has a score: "truncated" is an answer cut off by the output limit
# (finish_reason "length"), scored as it stands and counted apart from extraction failures;
# "filtered" one the API filtered or refused (finish_reason "content_filter", Anthropic's
# stop_reason "refusal"), scored as it stands (the answer the API gives) and counted apart
ANSWERED = ("ok", "truncated", "filtered")
ANSWERED_SQL = "(" + ", ".join(f"'{s}'" for s in ANSWERED) + ")"  # as an SQL list


# the `detail` key naming the responses of a multi-turn sample's earlier turns: their tokens,
# time and cost count with the sample's (`Store.read_run`, `analysis.efficiency`)
EARLIER = "earlier_responses"
# ... and how many of those earlier answers were cut off by the output limit (absent: none;
# the last turn's is the sample's status): the truncated rate counts every turn's answer
EARLIER_CUT = "earlier_truncated"
# ... and how many the API filtered or refused (status "filtered"; absent: none)
EARLIER_FILTERED = "earlier_filtered"

# the start of a failed sample's error where its response came and its scorer failed (the
# only failed sample with an answer of its own: `runner.sample`); any other failed before
# an answer came
SCORE_FAILED = "could not score the response"


def request_failed(status: str, error: str | None) -> bool:
    """Whether a sample failed before it had an answer (its request, not its scorer). Its
    response key is still the request's: a response stored under it since is another run's
    (or a rerun's) answer, not this sample's; it was exported as its output and rescored
    as its answer (an audit's)."""
    return status == "failed" and not (error or "").startswith(SCORE_FAILED)


# the `detail` key of a failed sample's item facts that its benchmark's aggregate needs to
# count it wrong (`Benchmark.failed_detail`: a corpus metric's references)
FAILED_ITEM = "failed_item"

# the `detail` key of a judged sample's judge records (MT-Bench, XSTest): {"model": the judge,
# ...} with the response `key` of each request the judge was sent about the sample, at any
# depth; the judge's tokens, time and cost count apart from the models' (`analysis.efficiency`)
JUDGE = "judge"


def judge_requests(detail: Mapping[str, Any] | None) -> tuple[str | None, list[str]]:
    """(the judge, the response keys of its requests about this sample) from a sample's
    detail; (None, []) where it was not judged."""
    record = detail.get(JUDGE) if detail else None
    if not isinstance(record, Mapping) or not isinstance(record.get("model"), str):
        return None, []
    keys: list[str] = []
    todo: list[Any] = [record]
    while todo:
        x = todo.pop()
        if isinstance(x, Mapping):
            if isinstance(k := x.get("key"), str):
                keys.append(k)
            todo.extend(v for v in x.values() if isinstance(v, Mapping | list))
        elif isinstance(x, list):
            todo.extend(v for v in x if isinstance(v, Mapping | list))
    return record["model"], keys


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


def item_scores(rows: Sequence[SampleRow], metric: str) -> dict[str, list[float]]:
    """Each item's scores over its repeats (answered samples only)."""
    per_item: dict[str, list[float]] = {}
    for r in rows:
        if r.status in ANSWERED and metric in r.metrics:
            per_item.setdefault(r.item_id, []).append(float(r.metrics[metric]))
    return per_item


@dataclass(frozen=True)
class StoredResponse:
    """What the results need of a stored response: its usage, timing and finish reason.

    `usage` and `timing` are the response's own dicts (`providers.base.Usage` and `Timing`
    fields); the text and the request stay in the store (`Store.get_response`,
    `Store.get_request`) for the few places that show them. `chunks` are the timing's chunk
    times where the store keeps them apart (then `timing` has none): float64 bytes (little
    endian) or a JSON array (`store.schema.FACTS`); None: they are in `timing`, if anywhere
    (`chunk_times` gives them as numbers).
    """

    key: str
    kind: str  # "generate" or "loglikelihood"
    created_at: float  # when it was stored: the end of the request
    usage: Mapping[str, Any]
    timing: Mapping[str, Any]
    finish_reason: str | None = None
    chunks: bytes | str | None = None

    @property
    def chunk_times(self) -> tuple[float, ...]:
        """The arrival offsets of the streamed chunks, wherever they are kept."""
        if isinstance(self.chunks, bytes):
            packed = array("d")
            packed.frombytes(self.chunks)
            if sys.byteorder != "little":  # pragma: no cover
                packed.byteswap()
            return tuple(packed)
        if isinstance(self.chunks, str):
            return tuple(json.loads(self.chunks))
        return tuple(self.timing.get("chunk_times", ()))


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


@dataclass(frozen=True)
class MonitorSession:
    """One `shootout monitor` schedule: slot k is probed at wall-clock time start + k·every
    (seconds since the epoch), for k in [0, slots)."""

    monitor_id: str
    config_hash: str  # of the command's arguments: a rerun of it finds this session
    created_at: float
    start: float
    every: float
    slots: int
    config: dict[str, Any]

    @property
    def end(self) -> float:
        return self.start + self.slots * self.every


@dataclass(frozen=True)
class ProbeRow:
    """One availability probe: when it was due and sent, and what came of it. `status` is
    "ok" or "error"; `error_class` names the failure (http_429, http_5xx, timeout, ...);
    times in seconds (`scheduled`, `started` since the epoch; `ttft`, `latency` durations)."""

    monitor_id: str
    model: str
    slot: int
    endpoint: str  # without credentials or query
    scheduled: float
    started: float
    status: str
    error_class: str | None = None
    http_status: int | None = None
    ttft: float | None = None
    latency: float | None = None
    output_tokens: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"
