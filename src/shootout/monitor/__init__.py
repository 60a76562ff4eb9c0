"""Availability over time (`shootout monitor`): a small fixed probe per model on a wall-clock
schedule, each stored as it ends; summaries of availability, error classes, TTFT by hour and
outages."""

from .loop import Prober, run_monitor
from .probe import Target, classify, probe_request, send_probe
from .schedule import Plan, open_session, parse_duration
from .summary import outages, summarize

__all__ = ["Plan", "Prober", "Target", "classify", "open_session", "outages", "parse_duration",
           "probe_request", "run_monitor", "send_probe", "summarize"]
