"""Test servers: real HTTP on 127.0.0.1 with synthetic, controllable answers."""

from .fake_server import FakeOpenAIServer, Fault

__all__ = ["FakeOpenAIServer", "Fault"]
