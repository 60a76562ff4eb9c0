"""The SQLite results store: the only module that talks to SQLite."""

from .rows import MonitorSession, PerfLevelRow, ProbeRow, RunRecord, SampleRow, StoredResponse
from .sqlite import Store, default_store_path

__all__ = ["MonitorSession", "PerfLevelRow", "ProbeRow", "RunRecord", "SampleRow", "Store",
           "StoredResponse", "default_store_path"]
