"""The fake OpenAI server's wire pieces: SSE events, streamed choices, usage, the reasoning
models' 400 bodies, and a deterministic pseudo log-probability."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _choice(chat: bool, piece: str | None, finish_reason: str = "stop") -> dict[str, Any]:
    """A streamed choice: a piece of the answer, or (None) the last one, with finish_reason."""
    finish = None if piece is not None else finish_reason
    if chat:
        return {"index": 0, "delta": {"content": piece} if piece else {}, "finish_reason": finish}
    return {"index": 0, "text": piece or "", "finish_reason": finish}


def _usage(body: dict[str, Any], pieces: list[str], reasoning: int = 0) -> dict[str, Any]:
    n_prompt = len(json.dumps(body.get("messages") or body.get("prompt")).split())
    n_out = len(pieces) + reasoning
    usage: dict[str, Any] = {"prompt_tokens": n_prompt, "completion_tokens": n_out,
                             "total_tokens": n_prompt + n_out}
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def reasoning_rejection(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 400 body OpenAI's reasoning models return for the first parameter they reject
    (messages as the API words them), or None when they accept the request."""

    def error(param: str, code: str, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "invalid_request_error",
                          "param": param, "code": code}}

    if "max_tokens" in body:
        return error("max_tokens", "unsupported_parameter",
                     "Unsupported parameter: 'max_tokens' is not supported with this model. "
                     "Use 'max_completion_tokens' instead.")
    if "temperature" in body and body["temperature"] != 1:
        return error("temperature", "unsupported_value",
                     f"Unsupported value: 'temperature' does not support {body['temperature']} "
                     "with this model. Only the default (1) value is supported.")
    for param in ("top_p", "stop"):
        if param in body:
            return error(param, "unsupported_parameter",
                         f"Unsupported parameter: '{param}' is not supported with this model.")
    return None


def fake_logprob(text: str) -> float:
    """A deterministic pseudo log-probability of a token."""
    return -(hashlib.sha256(text.encode()).digest()[0] / 32.0) - 0.01
