"""shootout: put large language models head to head."""

__version__ = "0.1.0"
