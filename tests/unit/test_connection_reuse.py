"""Streams are read to the end of their body, so connections are reused: proved against a
loopback HTTPS server (a self-signed certificate made here with the openssl CLI) that counts
the connections it accepts. TTFT with reuse and with a fresh connection per request are
printed (pytest -s); the set-up of each new connection is recorded apart (`Timing.connect`)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import statistics
import subprocess

import pytest

from shootout.analysis.results import build_results
from shootout.config import validate_config
from shootout.errors import ConfigError, ProviderError
from shootout.providers.anthropic import AnthropicProvider
from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeAnthropicServer, FakeOpenAIServer

REQUEST = GenerateRequest(messages=(Message("user", "Which letter?"),),
                          sampling=Sampling(max_tokens=16))


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(server SSL context, path of the certificate to trust) for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make the test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx, str(cert)


def test_a_200_request_run_opens_no_more_connections_than_its_concurrency(
        tls, tmp_path, data_dir, monkeypatch):
    ctx, cert = tls
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # httpx trusts it, as it would a private CA
    with FakeOpenAIServer(ssl=ctx, ttft=0.005, itl=0.001) as srv:
        assert srv.base_url.startswith("https://")
        cfg = validate_config({
            "models": [{"spec": "openai:fake-model", "name": "m", "base_url": srv.base_url,
                        "concurrency": 8}],
            "benchmarks": ["mmlu"], "limit": 200}, "test")
        store = Store(tmp_path / "s.sqlite")
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=8)

        async def go() -> str:
            try:
                return await Runner(cfg, store).run({"m": provider})
            finally:
                await provider.aclose()

        run_id = asyncio.run(go())
        connections, requests = srv.connections, len(srv.requests)
    res = build_results(store, [run_id]).runs[0]
    assert requests == 200 and store.count_failed(run_id) == 0
    # the check's GET /models opens one connection; it goes back to the pool and is reused
    assert connections <= 8, connections
    opened = [r.timing["connect"] for r in res.run.responses.values()
              if r.timing.get("connect") is not None]
    assert 1 <= len(opened) <= connections and all(c > 0 for c in opened)
    total = next(r for r in res.efficiency if r["scope"] == "model")
    assert total["connections"]["opened"] == len(opened)
    print(f"\n200 requests at concurrency 8 over HTTPS: {connections} connections accepted; "
          f"set-up median {1000 * statistics.median(opened):.2f} ms over {len(opened)}")


def test_the_aiohttp_stack_reuses_connections_and_verifies_tls(tls, monkeypatch):
    """-M http=aiohttp: the same requests over aiohttp's pool (httpx-aiohttp's transport),
    certificate checked against SSL_CERT_FILE like httpx, at most `concurrency` connections."""
    from httpx_aiohttp import AiohttpTransport

    ctx, cert = tls
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    with FakeOpenAIServer(ssl=ctx, ttft=0.002, itl=0.001) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=4,
                                  http="aiohttp")
        assert isinstance(provider.http.client._transport, AiohttpTransport)

        async def go() -> list[str]:
            try:
                return [r.text for r in await asyncio.gather(
                    *(provider.generate(REQUEST) for _ in range(40)))]
            finally:
                await provider.aclose()

        texts = asyncio.run(go())
        connections = srv.connections
    assert len(texts) == 40 and all(t.startswith("The answer is") for t in texts)
    assert connections <= 4, connections
    # an untrusted certificate is refused, as with httpx
    monkeypatch.delenv("SSL_CERT_FILE")
    with FakeOpenAIServer(ssl=ctx) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, http="aiohttp")

        async def refused() -> None:
            try:
                await provider.generate(REQUEST)
            finally:
                await provider.aclose()

        with pytest.raises(ProviderError):
            asyncio.run(refused())


def test_the_aiohttp_stack_names_a_refused_connection_as_such():
    """httpx-aiohttp turns a refused connection into httpx.ConnectTimeout: the error said
    "timed out" for a port nobody listens on."""
    import socket

    with socket.socket() as s:  # a free port, closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = OpenAIProvider("m", base_url=f"http://127.0.0.1:{port}/v1", http="aiohttp")

    async def go() -> None:
        try:
            await provider.check()
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError, match=r"cannot reach .*: connection failed") as e:
        asyncio.run(go())
    assert "timed out" not in str(e.value)


def test_the_aiohttp_stack_without_its_package_is_a_one_line_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    with pytest.raises(ConfigError, match=r"http=aiohttp needs httpx-aiohttp: pip install"):
        OpenAIProvider("m", base_url="http://127.0.0.1:9/v1", http="aiohttp")


async def _ttfts(make, n: int, fresh: bool) -> list[tuple[float, float | None]]:
    """(TTFT, connect) of n sequential requests: one provider for all, or one each."""
    out = []
    provider = make()
    try:
        for _ in range(n):
            if fresh:
                await provider.aclose()
                provider = make()
            resp = await provider.generate(REQUEST)
            assert resp.timing.ttft is not None
            out.append((resp.timing.ttft, resp.timing.connect))
    finally:
        await provider.aclose()
    return out


@pytest.mark.parametrize(("server", "provider", "http"), [
    (FakeOpenAIServer, OpenAIProvider, None), (FakeAnthropicServer, AnthropicProvider, None),
    # the aiohttp stack times a new connection's set-up too (aiohttp's connection trace)
    (FakeOpenAIServer, OpenAIProvider, "aiohttp")])
def test_ttft_with_reuse_has_no_handshake_in_it(tls, monkeypatch, server, provider, http):
    ctx, cert = tls
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    with server(ssl=ctx, ttft=0.02) as srv:
        def make():
            if http:
                return provider("fake-model", base_url=srv.base_url, http=http)
            return provider("fake-model", base_url=srv.base_url)

        warm = asyncio.run(_ttfts(make, 21, fresh=False))
        after_warm = srv.connections
        cold = asyncio.run(_ttfts(make, 20, fresh=True))
        assert srv.connections == after_warm + 20
    assert after_warm == 1  # every request after the first went over the same connection
    assert warm[0][1] is not None and all(c is None for _, c in warm[1:])
    assert all(c is not None and c > 0 for _, c in cold)
    reuse = statistics.median(t for t, _ in warm[1:])
    fresh = statistics.median(t for t, _ in cold)
    setup = statistics.median(c for _, c in cold if c is not None)
    print(f"\n{provider.__name__} over HTTPS, TTFT median: with reuse {1000 * reuse:.2f} ms, "
          f"a fresh connection per request {1000 * fresh:.2f} ms (its TCP + TLS set-up "
          f"{1000 * setup:.2f} ms)")
    assert fresh > reuse
    assert all(t >= c for t, c in cold if c is not None)  # the set-up is part of that TTFT


def test_the_aiohttp_stack_takes_its_proxy_from_the_environment_once(monkeypatch):
    """aiohttp's trust_env reads the environment on every request (it doubled the client's CPU
    per streamed request); the proxy is resolved once per client instead, as httpx would."""
    from shootout.providers.http import env_proxy

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert env_proxy("https://api.example.com/v1") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "proxy2.example:8080")
    assert env_proxy("https://api.example.com/v1") == "http://proxy.example:3128"
    assert env_proxy("http://10.0.0.5:8000/v1") == "http://proxy2.example:8080"
    monkeypatch.setenv("NO_PROXY", "api.example.com,127.0.0.1")
    assert env_proxy("https://api.example.com/v1") is None
    assert env_proxy("https://127.0.0.1:8443/v1") is None
    provider = OpenAIProvider("m", base_url="https://other.example/v1", http="aiohttp")
    assert provider.http._aio is not None
    assert provider.http._aio.proxy == "http://proxy.example:3128"
