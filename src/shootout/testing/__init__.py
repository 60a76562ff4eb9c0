"""Test doubles: real HTTP servers on 127.0.0.1 with synthetic, controllable answers
(FakeOpenAIServer, FakeAnthropicServer), and an in-process provider for runner tests
(FakeProvider).

The names are imported on first use (PEP 562), so `python -m shootout.testing.fake_server`
runs that module once, as `__main__`, without the package having imported it first (runpy's
"found in sys.modules" warning)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_anthropic import AnthropicFault, FakeAnthropicServer
    from .fake_provider import FakeProvider, fail_at, fail_every
    from .fake_server import FakeOpenAIServer, Fault

_WHERE = {"AnthropicFault": "fake_anthropic", "FakeAnthropicServer": "fake_anthropic",
          "FakeProvider": "fake_provider", "fail_at": "fake_provider",
          "fail_every": "fake_provider", "FakeOpenAIServer": "fake_server", "Fault": "fake_server"}

__all__ = ["AnthropicFault", "FakeAnthropicServer", "FakeOpenAIServer", "FakeProvider", "Fault",
           "fail_at", "fail_every"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
