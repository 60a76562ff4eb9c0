"""The OpenAI-compatible client's HTTP stack: `auto` (the default) is aiohttp where
httpx-aiohttp is installed, else httpx; a stack named is that stack (issue 18, item 3)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from shootout.errors import ConfigError
from shootout.providers import http
from shootout.providers.openai import OpenAIProvider
from shootout.testing import FakeOpenAIServer

INSTALLED = importlib.util.find_spec("httpx_aiohttp") is not None


def _stack(**options: object) -> str:
    p = OpenAIProvider(model="m", base_url="http://127.0.0.1:9/v1", **options)  # type: ignore[arg-type]
    try:
        return str(p.info()["http"])
    finally:
        asyncio.run(p.aclose())


@pytest.mark.skipif(not INSTALLED, reason="httpx-aiohttp (the fast extra) is not installed")
def test_the_default_is_aiohttp_where_it_is_installed():
    assert _stack() == "aiohttp"
    assert _stack(http="httpx") == "httpx"


def test_the_default_is_httpx_where_httpx_aiohttp_is_absent(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(http.importlib.util, "find_spec",
                        lambda name, *a: None if name == "httpx_aiohttp" else real(name, *a))
    assert http.default_stack() == "httpx"
    assert _stack() == "httpx"
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # its import fails
    with pytest.raises(ConfigError, match="needs httpx-aiohttp"):
        _stack(http="aiohttp")


@pytest.mark.skipif(not INSTALLED, reason="httpx-aiohttp (the fast extra) is not installed")
def test_a_default_client_streams_an_answer_on_aiohttp():
    from shootout.providers.base import GenerateRequest, Message, Sampling

    async def go(url: str) -> tuple[str, str]:
        p = OpenAIProvider(model="m", base_url=url)
        try:
            resp = await p.generate(GenerateRequest(messages=(Message("user", "hi"),),
                                                    sampling=Sampling(max_tokens=4)))
            return resp.text, str(p.info()["http"])
        finally:
            await p.aclose()

    with FakeOpenAIServer(ttft=0.001, itl=0.001) as srv:
        text, stack = asyncio.run(go(srv.base_url))
    assert stack == "aiohttp" and text


@pytest.mark.parametrize("stack", ["httpx", "aiohttp"])
def test_credentials_in_the_url_are_sent_as_basic_auth_on_either_stack(stack, monkeypatch):
    from shootout.errors import ProviderError
    from shootout.providers.base import GenerateRequest, Message
    from shootout.testing import Fault

    monkeypatch.setenv("STACK_TEST_KEY", "sk-stack-secret")

    async def go(url: str) -> str:
        p = OpenAIProvider(model="m", base_url=url, api_key_env="STACK_TEST_KEY",
                           http=stack)  # type: ignore[arg-type]
        try:
            await p.generate(GenerateRequest(messages=(Message("user", "hi"),)))
        except ProviderError as e:
            return str(e)
        finally:
            await p.aclose()
        return ""

    with FakeOpenAIServer(schedule={0: Fault.ECHO_HEADERS}) as srv:
        said = asyncio.run(go(srv.base_url.replace("http://", "http://me:hunter%32@")))
    # httpx's behaviour, which the aiohttp stack keeps: Basic auth from the URL, unquoted
    # ("me:hunter2" is bWU6aHVudGVyMg==), which the echo shows redacted as the key is
    assert "bad auth Basic [redacted]" in said and "bWU6aHVudGVyMg" not in said, said


def test_small_costs_and_aiohttp_connection_errors_read_as_they_are():
    """Two audit findings: a cost per point of $8.1e-05 read 0.0000 in the CLI's table; an
    http:// URL's connection error said aiohttp's "ssl:default"."""
    from shootout.analysis.formatting import money_cli
    from shootout.providers.http_errors import connector_text

    assert (money_cli(8.1e-05), money_cli(0.0), money_cli(0.25), money_cli(12.5)) == (
        "0.000081", "0.0000", "0.2500", "12.50")
    # two significant digits below a cent, written out ($0.0001485 read 0.0001 beside
    # 9.2e-05: a cost audit's)
    assert [money_cli(x) for x in (1.485e-4, 9.18e-5, 4.37e-4, 6.75e-4, 0.00996, 0.0099999)] == [
        "0.00015", "0.000092", "0.00044", "0.00068", "0.010", "0.010"]
    # the report writes small amounts out ($2.49e-05 in its efficiency table and takeaway)
    from shootout.analysis.formatting import money, sig3

    assert [money(x) for x in (2.49e-05, 0.0017, 0.000598, 1.25)] == [
        "$0.0000249", "$0.0017", "$0.000598", "$1.25"]
    assert (sig3(12.345), sig3(2.97e-05), sig3(1234.5)) == ("12.3", "0.0000297", "1,230")
    assert connector_text("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call "
                          "failed ('127.0.0.1', 9)]") == (
        "Cannot connect to host 127.0.0.1:9 [Connect call failed ('127.0.0.1', 9)]")


def test_a_cut_body_on_aiohttp_names_no_http_status() -> None:
    """aiohttp words a body cut short "<TransferEncodingError: 400, message=...>": its own
    code, read as an HTTP 400 (a wire-format audit's). The line keeps aiohttp's words."""
    import aiohttp
    from aiohttp.http_exceptions import TransferEncodingError

    from shootout.providers.http import aiohttp_reason

    cut = TransferEncodingError("Not enough data to satisfy transfer length header.")
    line = aiohttp_reason(aiohttp.ClientPayloadError(
        f"Response payload is not completed: {cut!r}"))
    assert line == ("ClientPayloadError: Response payload is not completed: Not enough data to "
                    "satisfy transfer length header. (TransferEncodingError)")
    assert "400" not in line
