"""`shootout view`: the report and a per-sample browser, served on 127.0.0.1."""

from .server import SampleIndex, make_server

__all__ = ["SampleIndex", "make_server"]
