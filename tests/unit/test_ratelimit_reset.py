"""A 429 without Retry-After waits for the limit that ran out to reset, as OpenAI's
`x-ratelimit-*` headers say (a statement of a provider audit: the backoff alone, ~15 s over
6 tries, gave up inside a token-per-minute window)."""

from __future__ import annotations

import httpx
import pytest

from shootout.errors import RetryableProviderError
from shootout.providers.http_errors import ratelimit_reset, status_error


def _wait(status: int, **headers: str) -> float | None:
    err = status_error(status, "/chat/completions", '{"error": {"message": "slow down"}}',
                       httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()}),
                       None)
    assert isinstance(err, RetryableProviderError)
    return err.retry_after


@pytest.mark.parametrize(("text", "seconds"), [
    ("20s", 20.0), ("6m0s", 360.0), ("1h2m3.5s", 3723.5), ("20ms", 0.02), ("1.5s", 1.5),
    ("7", 7.0)])
def test_the_reset_of_the_limit_that_ran_out(text: str, seconds: float) -> None:
    assert _wait(429, x_ratelimit_remaining_tokens="0", x_ratelimit_reset_tokens=text,
                 x_ratelimit_remaining_requests="59", x_ratelimit_reset_requests="1s") \
        == pytest.approx(seconds)


def test_both_ran_out_waits_for_the_later_and_retry_after_comes_first() -> None:
    both = dict(x_ratelimit_remaining_tokens="0", x_ratelimit_reset_tokens="20s",
                x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests="2s")
    assert _wait(429, **both) == 20.0
    assert _wait(429, retry_after="3", **both) == 3.0
    # a 503's rate-limit headers are not what it waits for; nothing ran out: backoff
    assert _wait(503, **both) is None
    # a request larger than the tokens left is refused while some are left: their reset
    assert _wait(429, x_ratelimit_remaining_tokens="1500", x_ratelimit_reset_tokens="20s") == 20.0
    assert _wait(429, x_ratelimit_remaining_requests="3", x_ratelimit_reset_requests="20s") is None
    # the requests ran out with the tokens almost all left: the requests' reset, not the
    # 6 minutes until every token is back (OpenAI's documented example headers; it waited
    # the longer, 2 minutes at the cap, for a 1 s reset: an audit's)
    assert _wait(429, x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests="1s",
                 x_ratelimit_remaining_tokens="149984", x_ratelimit_reset_tokens="6m0s") == 1.0
    assert ratelimit_reset(httpx.Headers({"x-ratelimit-remaining-tokens": "0",
                                          "x-ratelimit-reset-tokens": "soon"})) is None
    assert ratelimit_reset(httpx.Headers({"x-ratelimit-remaining-tokens": "0",
                                          "x-ratelimit-reset-tokens": "3sx"})) is None


LONG = ("This model's maximum context length is 4096 tokens. However, you requested 5000 "
        "tokens (4000 in the messages, 1000 in the completion). Please reduce the length of "
        "the messages or completion.")


@pytest.mark.parametrize("body", [
    {"error": {"message": LONG, "type": "invalid_request_error"}},
    {"object": "error", "message": LONG, "type": "BadRequestError", "param": None, "code": 400},
    {"detail": LONG}, {"error": LONG}])
def test_an_error_body_gives_its_own_message_whole(body):
    """A 400's JSON body was shown cut at 200 characters, before the figures that say what
    to change ("... Please reduce the length of the me"): its message is given whole, in the
    forms OpenAI, vLLM's older ErrorResponse, FastAPI and others use (an audit's)."""
    import json

    err = status_error(400, "/v1/chat/completions", json.dumps(body), {}, None)
    assert str(err) == f"HTTP 400 from /v1/chat/completions: {LONG}"


GEMINI_429 = [{"error": {
    "code": 429, "message": "You exceeded your current quota, please check your plan and "
    "billing details.", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_"
             "requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}]}}]


def test_geminis_error_list_gives_its_message_and_its_retry_delay():
    """Gemini's OpenAI-compatible endpoint sends its error object in a list of one: its
    message was lost (the body shown cut, nothing learnt from a 400), and its quota errors'
    `RetryInfo` wait ignored (the backoff ran out before a per-minute quota came back; an
    audit's)."""
    import json

    err = status_error(429, "/v1beta/openai/chat/completions", json.dumps(GEMINI_429), {},
                       None)
    assert isinstance(err, RetryableProviderError) and err.retry_after == 26.0
    assert str(err) == ("HTTP 429 from /v1beta/openai/chat/completions: You exceeded your "
                        "current quota, please check your plan and billing details.")
    bad = [{"error": {"code": 400, "message": "Unknown name \"logprobs\": Cannot find field.",
                      "status": "INVALID_ARGUMENT"}}]
    rejected = status_error(400, "/v1beta/openai/chat/completions", json.dumps(bad), {}, None)
    assert rejected.detail == 'Unknown name "logprobs": Cannot find field.'
    # a header still comes first
    assert status_error(429, "/x", json.dumps(GEMINI_429), {"retry-after": "3"},
                        None).retry_after == 3.0
