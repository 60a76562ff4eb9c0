"""Test doubles: a real HTTP server on 127.0.0.1 with synthetic, controllable answers
(FakeOpenAIServer), and an in-process provider for runner tests (FakeProvider)."""

from .fake_provider import FakeProvider, fail_at, fail_every
from .fake_server import FakeOpenAIServer, Fault

__all__ = ["FakeOpenAIServer", "FakeProvider", "Fault", "fail_at", "fail_every"]
