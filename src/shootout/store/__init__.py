"""The SQLite results store."""

from .sqlite import Store, default_store_path

__all__ = ["Store", "default_store_path"]
