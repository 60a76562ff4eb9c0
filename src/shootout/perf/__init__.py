"""Efficiency: latency metrics, prices and cost, and the `shootout perf` load generator."""

from .metrics import LatencySummary, RequestMetrics, Stats, request_metrics, stats, summarize

__all__ = ["LatencySummary", "RequestMetrics", "Stats", "request_metrics", "stats", "summarize"]
