"""Endpoint URLs as shootout keeps them: never with their credentials.

A base URL may carry a secret: basic-auth user info (`https://user:pw@host/v1`, which the HTTP
client sends as an Authorization header) or a key in its query (`?api_key=...`). What a run
stores — its configuration (`runs.spec_json`), its run id (a hash of that configuration: a
short hash over a known configuration and a weak password is a password check), the response
cache's identity — holds the URL with those parts replaced by `CREDENTIALS_MARK`. The run is
what it is whatever its credentials, so the same command with other credentials resumes it
(the id is the same); `shootout run --resume ID` cannot send credentials that were not kept,
and says so (`marked_urls`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CREDENTIALS_MARK = "credentials-not-stored"

# a query parameter whose value is a secret (`key`, `api_key`, `access_token`, `sig`, ...)
# a name that holds a secret: a query parameter's (`?api_key=`), an environment variable's
SECRET_NAME = re.compile(r"key|token|secret|passw|sig|auth|cred", re.I)
# a query parameter's too: `code` (Azure Functions' function key, an OAuth code), by name
_QUERY_SECRET = re.compile(SECRET_NAME.pattern + r"|^code$", re.I)


def stored_url(url: str) -> str:
    """`url` as stored: its user info and the values of its secret-looking query parameters
    replaced by `CREDENTIALS_MARK`; any other URL (or text that is not one) unchanged."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return url
    try:
        parts = urlsplit(url)
        userinfo = parts.username is not None or parts.password is not None
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # not a URL: the provider refuses it when it is used
        return url
    secret = [k for k, _ in query if _QUERY_SECRET.search(k)]
    if not userinfo and not secret:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    if userinfo:
        netloc = f"{CREDENTIALS_MARK}@{netloc}"
    q = parts.query if not secret else urlencode(
        [(k, CREDENTIALS_MARK if _QUERY_SECRET.search(k) else v) for k, v in query])
    return urlunsplit(parts._replace(netloc=netloc, query=q))


def secret_values(url: str) -> list[str]:
    """The values of `url`'s secret-looking query parameters, as written in it and decoded
    (what `stored_url` replaces; a server that repeats the URL repeats them)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    out: list[str] = []
    for part in query.split("&"):
        name, _, raw = part.partition("=")
        if raw and _QUERY_SECRET.search(name):
            out += [raw, *(v for k, v in parse_qsl(part) if v)]
    return out


def stored_options(value: Any) -> Any:
    """A model's options (nested dicts and lists) with every URL in them as `stored_url`
    keeps it (`base_url`, `base_urls`, `endpoints[].url`, a judge's base URL)."""
    if isinstance(value, str):
        return stored_url(value)
    if isinstance(value, dict):
        return {k: stored_options(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_options(v) for v in value]
    return value


def marked_urls(value: Any) -> Iterator[str]:
    """The URLs in a stored configuration whose credentials were not kept."""
    if isinstance(value, str):
        if value.startswith(("http://", "https://")) and CREDENTIALS_MARK in value:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from marked_urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from marked_urls(v)


_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>()\[\]{},]+")


def hide_credentials(text: str) -> str:
    """`text` with every URL in it as `stored_url` keeps it: the user info and secret query
    values of a base URL never reach a message, a log line or a stored error."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: stored_url(m.group(0)), text)
