"""One availability probe: a small fixed request sent once, through the provider a run uses
(the same streaming client, so TTFT is measured as in runs and load tests), and what came of
it. No retries inside a probe: a failure is the data point.

Error classes, from what the provider raised:

  http_429         rate limited
  http_5xx         a server error or overload (500, 502, 503, 504, 529, ...)
  http_4xx         any other refusal (401/403 credentials, 400 a rejected request, 404, ...)
  timeout          no complete answer within the probe's timeout (or the client's read timeout)
  connection_error the endpoint could not be reached, or the connection dropped
  bad_response     an answer that is not one: malformed JSON or event stream, a stream without
                   its end, no choices, the wrong content type, no token at all
  error            anything else (its type is kept in the probe's error text)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import httpx

from ..errors import CapabilityError, ConfigError, ProviderError, RetryableProviderError
from ..providers.base import GenerateRequest, Message, Provider, Sampling
from ..store import MonitorSession, ProbeRow

PROBE_MESSAGE = "Reply with the single word OK."
PROBE_PROMPT = "Q: Reply with the single word OK.\nA:"


def probe_request(chat: bool, max_tokens: int) -> GenerateRequest:
    """The fixed probe: greedy, short, the same every time (so probes are comparable)."""
    sampling = Sampling(temperature=0.0, max_tokens=max_tokens)
    if chat:
        return GenerateRequest(messages=(Message("user", PROBE_MESSAGE),), sampling=sampling)
    return GenerateRequest(prompt=PROBE_PROMPT, sampling=sampling)


def public_url(url: str) -> str:
    """A base URL as stored: no user, password or query (where keys sometimes travel)."""
    if not url:
        return ""
    u = httpx.URL(url)
    return str(u.copy_with(username=None, password=None, query=None, fragment=None))


def classify(e: BaseException) -> tuple[str, int | None]:
    """(error class, HTTP status or None) of a failed probe."""
    if isinstance(e, TimeoutError):
        return "timeout", None
    # the status of the response itself: a 200 stream's error event that says "HTTP 404"
    # was classed a 404 from its text (an audit's)
    status = e.http_status if isinstance(e, ProviderError) else None
    if status is not None:
        if status == 429:
            return "http_429", status
        if status >= 500:
            return "http_5xx", status
        if status >= 400:
            return "http_4xx", status
        return "error", status  # a redirect, not followed: no refusal of the endpoint's
    cause = e.__cause__
    if isinstance(cause, (httpx.TimeoutException, TimeoutError)):  # aiohttp's: TimeoutError
        return "timeout", None
    # the aiohttp stack's (`providers.http._AiohttpPath`): refused, reset, dropped mid-body
    aio = sys.modules.get("aiohttp")
    aio_lost = () if aio is None else (aio.ClientConnectionError, aio.ClientPayloadError)
    if isinstance(cause, (httpx.TransportError, *aio_lost)):
        return "connection_error", None
    if isinstance(e, RetryableProviderError):
        return "bad_response", None
    return "error", None


def probing(spec: str, provider: Provider) -> Provider:
    """`provider` set to probe as documented: each probe sent once, at its slot's time. An
    OpenAI-compatible provider otherwise sends one request at a time until its endpoint has
    accepted one (probes waited behind a hanging first one, and went out after their slot,
    stamped on time), and asks an empty stream again without streaming (a stream without a
    token was "up"); a model on several replicas tries the next one after a failure (the
    failing endpoint was the one stored, at 100%): refused (all audits').
    """
    if hasattr(provider, "answer_empty_streams"):
        provider.answer_empty_streams = False
    if hasattr(provider, "one_first"):
        provider.one_first = False
    pool = getattr(provider, "pool", None)
    if pool is not None and len(getattr(pool, "replicas", ())) > 1:
        raise ConfigError(f"{spec}: a monitor probes one endpoint, and this model has "
                          f"{len(pool.replicas)} replicas (a failed probe would be tried "
                          "again on another); monitor each replica on its own: "
                          f"`shootout monitor -m {spec} --base-url URL`")
    return provider


@dataclass(frozen=True)
class Target:
    """One monitored model: its name as stored (the spec), endpoint and provider."""

    model: str
    endpoint: str
    provider: Provider


async def send_probe(target: Target, session: MonitorSession, slot: int, scheduled: float,
                     request: GenerateRequest, timeout: float,
                     redact: Callable[[str], str] = lambda s: s) -> ProbeRow:
    """Send the probe once and describe the outcome (never raises for a failed probe; a
    misconfiguration that no probe could pass, such as a chat-only request to a text model,
    is raised)."""
    started = time.time()
    t0 = time.perf_counter()
    row = partial(ProbeRow, session.monitor_id, target.model, slot, target.endpoint, scheduled,
                  started)

    try:
        resp = await asyncio.wait_for(target.provider.generate(request), timeout)
    except (CapabilityError, ConfigError):
        raise
    except Exception as e:  # a failure is a data point, whatever it is
        kind, status = classify(e)
        text = str(e) or type(e).__name__
        if kind == "error":
            text = f"{type(e).__name__}: {text}"
        if kind == "timeout" and isinstance(e, TimeoutError):
            text = f"no complete answer within {timeout:g} s"
        return row("error", error_class=kind, http_status=status,
                   latency=time.perf_counter() - t0, error=redact(" ".join(text.split()))[:300])
    # a stream that ended without any token is not an answer; an answer not streamed
    # (`-M stream=false`) has no first-token time, and is one where it has any output
    answered = resp.text or resp.reasoning or resp.tool_calls
    if resp.timing.ttft is None and not answered:
        return row("error", error_class="bad_response", latency=resp.timing.e2e,
                   error="the answer had no token")
    return row("ok", ttft=resp.timing.ttft, latency=resp.timing.e2e,
               output_tokens=resp.usage.completion_tokens)
