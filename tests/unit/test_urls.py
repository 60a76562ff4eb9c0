"""Endpoint URLs as stored: without credentials (`shootout.urls`)."""

from __future__ import annotations

import pytest

from shootout.config import validate_config
from shootout.urls import CREDENTIALS_MARK, marked_urls, stored_options, stored_url

M = CREDENTIALS_MARK


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/v1", "https://api.openai.com/v1/", "http://[::1]:9/v1",
    "https://x.openai.azure.com/openai/v1?api-version=2024-10-21", "openai:gpt-4o", "",
    "http://host:notaport/v1",
])
def test_a_url_without_credentials_is_kept_as_it_is(url):
    assert stored_url(url) == url


@pytest.mark.parametrize(("url", "want"), [
    ("http://bob:pw@127.0.0.1:8000/v1", f"http://{M}@127.0.0.1:8000/v1"),
    ("https://sk-key@proxy.example/v1", f"https://{M}@proxy.example/v1"),
    ("https://:pw@h/v1", f"https://{M}@h/v1"),
    ("http://u:p%40ss@[::1]:9/v1", f"http://{M}@[::1]:9/v1"),
    ("https://h/v1?api-version=1&api_key=sk-1", f"https://h/v1?api-version=1&api_key={M}"),
    ("https://h/v1?key=abc", f"https://h/v1?key={M}"),
    ("https://h/v1?access_token=abc&sig=x", f"https://h/v1?access_token={M}&sig={M}"),
    # Azure Functions' function key (an audit's: stored as typed)
    ("https://f.azurewebsites.net/api/v1?code=qk-secret-123&x=1",
     f"https://f.azurewebsites.net/api/v1?code={M}&x=1"),
])
def test_credentials_are_replaced_by_the_mark(url, want):
    assert stored_url(url) == want
    assert list(marked_urls({"a": [want]})) == [want]


def test_a_parameter_named_like_code_is_kept():
    assert stored_url("https://h/v1?zipcode=1&encode=x") == "https://h/v1?zipcode=1&encode=x"


def test_every_url_of_a_configuration_is_stored_without_credentials():
    cfg = validate_config({
        "models": [{"spec": "openai:m", "base_url": "http://u:secret1@h:1/v1"},
                   {"spec": "openai:n", "base_urls": ["http://u:secret2@h:2/v1",
                                                      "http://h:3/v1"]}],
        "benchmarks": ["arc_easy"]}, "test")
    stored = cfg.stored()
    assert "secret" not in repr(stored)
    assert stored["models"][1]["base_urls"][1] == "http://h:3/v1"
    assert stored_options(stored) == stored  # already as stored
    # the id is the stored configuration's: credentials are not part of the run
    other = validate_config({
        "models": [{"spec": "openai:m", "base_url": "http://v:other@h:1/v1"},
                   {"spec": "openai:n", "base_urls": ["http://w@h:2/v1", "http://h:3/v1"]}],
        "benchmarks": ["arc_easy"]}, "test")
    assert other.run_id() == cfg.run_id()
    plain = validate_config({"models": [{"spec": "openai:m", "base_url": "http://h:1/v1"}],
                             "benchmarks": ["arc_easy"]}, "test")
    assert plain.stored() == plain.model_dump(mode="json")
    assert not list(marked_urls(plain.stored()))


def test_the_credentials_of_a_url_are_redacted_in_every_form_a_server_may_echo():
    import base64

    from shootout.providers.http import Secrets

    s = Secrets("sk-key-123456", "http://alice:s3cret-PW@h:1/v1")
    basic = base64.b64encode(b"alice:s3cret-PW").decode()
    text = f"Authorization: Basic {basic}; url alice:s3cret-PW; pw s3cret-PW; key sk-key-123456"
    assert s.found_in(text)
    assert s.redact(text) == ("Authorization: Basic [redacted]; url [redacted]; pw [redacted]; "
                              "key [redacted]")
    # a short password alone is not cut out of texts (an answer's words); its pair still is
    short = Secrets(None, "http://bob:pw@h/v1")
    assert short.redact("pw and bob:pw and " + base64.b64encode(b"bob:pw").decode()) == \
        "pw and [redacted] and [redacted]"
    assert not Secrets(None, "http://h/v1") and not Secrets(None, "not a url")
    # percent-encoded in the URL, sent (and echoed) unquoted
    assert Secrets(None, "http://me:hunter%32@h/v1").redact("me:hunter2") == "[redacted]"


@pytest.mark.parametrize(("base", "path", "want"), [
    ("http://h/v1", "/chat/completions", "http://h/v1/chat/completions"),
    ("http://h/v1?api-version=2024-06-01", "/chat/completions",
     "http://h/v1/chat/completions?api-version=2024-06-01"),
    ("https://h/openai/deployments/d?api-version=1&x=2", "/models",
     "https://h/openai/deployments/d/models?api-version=1&x=2"),
    ("http://h/v1/?key=K", "/files/f1/content?limit=2", "http://h/v1/files/f1/content?key=K&limit=2"),
    ("http://h:8000?key=K", "/v1/models", "http://h:8000/v1/models?key=K"),
])
def test_a_path_goes_into_the_base_urls_path_and_its_query_stays_after_it(base, path, want):
    from shootout.providers.http import join_url

    assert join_url(base, path) == want


def test_a_base_url_with_a_query_string_reaches_the_endpoints_path(monkeypatch):
    """`--base-url http://host/v1?api-version=...` (Azure's form, or a key as ?api_key=):
    requests went to `/v1?api-version=.../chat/completions` (an audit's finding)."""
    import asyncio

    from shootout.providers.base import GenerateRequest, Message, Sampling
    from shootout.providers.openai import OpenAIProvider
    from shootout.testing import FakeOpenAIServer

    with FakeOpenAIServer() as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url + "?api-version=2024-06-01")
        req = GenerateRequest(messages=(Message("user", "hi"),),
                              sampling=Sampling(temperature=0.0, max_tokens=4))
        got = asyncio.run(provider.generate(req))
        assert got.text
        assert [r["path"] for r in srv.requests] == [
            "/v1/chat/completions?api-version=2024-06-01"]


def test_a_dummy_key_is_not_cut_out_of_answers_and_a_servers_json_is_redacted(monkeypatch):
    """A local server's dummy key (`OPENAI_API_KEY=x`) was redacted wherever it appeared:
    HumanEval's `def filter_by_prefix(strings, prefix)` was stored as `prefi[redacted]`
    (scored a syntax error) and a 400's `max_tokens` could not be read (an audit's). A key
    of 8 or more characters is redacted everywhere; a shorter one in its header form only.
    A plug-in's `redacting(post_json(...))` gives a dict: every text in it is redacted."""
    import asyncio

    from shootout.providers.base import GenerateResponse
    from shootout.providers.http import HTTPClient, Secrets, status_error

    short = Secrets("x")
    assert short.redact("def f(prefix, x): max_tokens") == "def f(prefix, x): max_tokens"
    assert short.redact("echo: Authorization: Bearer x") == "echo: [redacted]"
    assert short.redact_error("Unsupported parameter: 'max_tokens'") == \
        "Unsupported parameter: 'max_tokens'"
    assert Secrets("sk-abcdefgh").redact("key sk-abcdefgh") == "key [redacted]"
    # a short key may be a real one (LiteLLM's sk-1234): an error loses it wherever it is a
    # word, and an answer in every header form (Anthropic's x-api-key carries it bare)
    litellm = Secrets("sk-1234", header=("x-api-key", ""))
    assert litellm.redact_error("bad key sk-1234.") == "bad key [redacted]."
    assert litellm.redact("invalid x-api-key: sk-1234") == "invalid [redacted]"
    # as echo servers write headers: any case, quoted, JSON (a review's)
    assert litellm.redact("X-Api-Key: sk-1234") == "[redacted]"
    assert litellm.redact('{"x-api-key": "sk-1234"}') == '{"[redacted]"}'
    assert litellm.redact("the sk-1234x thing") == "the sk-1234x thing"
    assert "sk-1234" not in str(status_error(401, "/v1/messages", '{"error":"bad key sk-1234"}',
                                             {}, "sk-1234"))
    monkeypatch.setenv("ECHO_KEY", "ek-CANARY-0987654321")
    http = HTTPClient("http://127.0.0.1:9/v1", api_key_env="ECHO_KEY")

    async def echoed() -> dict:
        return {"text": "Answer: A Bearer ek-CANARY-0987654321",
                "usage": [{"ek-CANARY-0987654321": 3}], "n": 1}

    assert asyncio.run(http.redacting(echoed())) == {
        "text": "Answer: A Bearer [redacted]", "usage": [{"[redacted]": 3}], "n": 1}
    monkeypatch.setenv("ECHO_KEY", "sk-1234")  # short: a JSON header member is found too
    short_http = HTTPClient("http://127.0.0.1:9/v1", api_key_env="ECHO_KEY")
    assert short_http.redact_answer({"headers": {"X-Api-Key": "sk-1234"}, "text": "x"}) == {
        "headers": {"X-Api-Key": "[redacted]"}, "text": "x"}
    answer = GenerateResponse(text="ek-CANARY-0987654321!")
    assert http.redact_answer(answer).text == "[redacted]!"


def test_a_key_escaped_in_a_json_error_or_cut_short_is_redacted(monkeypatch):
    """A server's JSON error that escapes the echoed key (`\\u0073k-…`, or a Basic header's
    base64 with "/" written "\\/") passed the redaction of the raw body, and the decoded
    message (a refused parameter's, kept in the run's manifest) held the key; an echo cut
    short ("invalid key sk-SECRETCANAR...") kept 14 of its characters (an audit's)."""
    import asyncio

    from shootout.errors import RejectedRequestError
    from shootout.providers.http import HTTPClient, Secrets, status_error

    key = "sk-SECRETCANARY-0123456789"
    escaped = "".join(f"\\u{ord(c):04x}" for c in key)
    body = ('{"error": {"message": "Unsupported parameter temperature; Authorization=Bearer '
            + escaped + '", "param": "temperature"}}')
    e = status_error(400, "/v1/chat/completions", body, {}, Secrets(key))
    assert isinstance(e, RejectedRequestError) and e.param == "temperature"
    assert "SECRETCANARY" not in e.detail and "SECRETCANARY" not in str(e)
    url = "http://user:PASSCANARYab%3F@h/v1"  # Basic dXNlcjpQQVNTQ0FOQVJZYWI/
    body = '{"error": {"message": "bad header Basic dXNlcjpQQVNTQ0FOQVJZYWI\\/"}}'
    e = status_error(400, "/v1/chat/completions", body, {}, Secrets(None, url))
    assert "dXNlcjpQQVNTQ0FOQVJZYWI" not in e.detail + str(e)
    cut = Secrets(key).redact_error("invalid key sk-SECRETCANAR... header cut: Bearer "
                                    "sk-SECRETCANA")
    assert "SECRETCANA" not in cut and cut.count("[redacted]") == 2, cut
    assert Secrets(key).redact("sk-SECRETCA") == "sk-SECRETCA"  # 11 characters: kept
    # a vendor's own prefix says nothing of a key: an answer about Anthropic's SDK keeps it
    anthropic = Secrets("sk-ant-api03-" + "Q7x" * 30)
    assert anthropic.redact("keys start with sk-ant-api03-...") == \
        "keys start with sk-ant-api03-..."
    assert anthropic.redact("bad key sk-ant-api03-Q7xQ7xQ7...") == "bad key [redacted]..."
    # a provider's own error carrying the decoded message: `redacting` cleans it too
    monkeypatch.setenv("ECHO_KEY", key)
    http = HTTPClient("http://127.0.0.1:9/v1", api_key_env="ECHO_KEY")

    async def refused() -> None:
        raise RejectedRequestError("HTTP 400", 400, "temperature", None, f"echo {key}")

    with pytest.raises(RejectedRequestError) as got:
        asyncio.run(http.redacting(refused()))
    assert got.value.detail == "echo [redacted]"


def test_a_base_url_that_is_not_http_is_shown_without_its_credentials():
    from shootout.providers.http import base_url_problem

    for url in ("htp://user:PASSCANARY-77@127.0.0.1:9/v1",
                "generativelanguage.googleapis.com/v1beta/openai?key=ZKEYCANARY-0123456789"):
        said = base_url_problem(url) or ""
        assert said.startswith("must start with http:// or https://")
        assert "CANARY" not in said, said
    assert "127.0.0.1:9/v1" in (base_url_problem("htp://u:p@127.0.0.1:9/v1") or "")
