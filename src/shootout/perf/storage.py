"""Load-test results into the results store (`Store.put_perf`; tables in `store.schema`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..store import PerfLevelRow, Store
from .load import LevelResult


def save_perf(
    store: Store,
    perf_id: str,
    model: str,
    base_url: str,
    config: dict[str, Any],
    levels: list[LevelResult],
) -> None:
    """Store one load test: its configuration, each level's summary and per-request records."""
    rows = [PerfLevelRow(lv.level.mode, lv.level.value, lv.summary(),
                         [_record(r) for r in lv.records]) for lv in levels]
    store.put_perf(perf_id, model, base_url, config, rows)


def _record(r: Any) -> dict[str, Any]:
    d = asdict(r)
    d.pop("timing", None)  # its chunk times are in the metrics as gaps
    if d.get("metrics"):
        d["metrics"]["itls"] = [round(x, 6) for x in d["metrics"]["itls"]]
    return d
