"""Test doubles: real HTTP servers on 127.0.0.1 with synthetic, controllable answers
(FakeOpenAIServer, FakeAnthropicServer), and an in-process provider for runner tests
(FakeProvider)."""

from .fake_anthropic import AnthropicFault, FakeAnthropicServer
from .fake_provider import FakeProvider, fail_at, fail_every
from .fake_server import FakeOpenAIServer, Fault

__all__ = ["AnthropicFault", "FakeAnthropicServer", "FakeOpenAIServer", "FakeProvider", "Fault",
           "fail_at", "fail_every"]
