"""Efficiency: latency metrics, prices and cost, and the `shootout perf` load generator."""

from __future__ import annotations

from typing import Any

__all__ = ["LatencySummary", "RequestMetrics", "Stats", "request_metrics", "stats", "summarize"]


def __getattr__(name: str) -> Any:
    """The metrics' names, imported on first use (numpy behind them is not needed to read a
    price: `shootout results` from a kept build)."""
    if name in __all__:
        from . import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
