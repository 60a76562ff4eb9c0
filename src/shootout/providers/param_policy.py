"""Which request parameters an endpoint accepts: renamed or left out per model.

OpenAI's reasoning models (the o-series, gpt-5) reject `max_tokens` (they take
`max_completion_tokens`) and any `temperature` or `top_p` but the default, with HTTP 400 and an
error body that names the parameter:

    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this
     model. Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
     "param": "max_tokens", "code": "unsupported_parameter"}}

Moonshot's kimi-k2.5 and k2.6 take no temperature but 1, with an error body that names no
`param`: `{"error": {"message": "invalid temperature: only 1 is allowed for this model",
"type": "invalid_request_error"}}`. Where the body has no `param`, the parameter is taken
from a message that names exactly one sampling parameter unambiguously (`invalid NAME`,
`` `NAME` ``, `'NAME'`) and says it, or all of its values but one, is refused.

A policy maps a parameter to its new name, or to None (leave it out). It is given in the run
config (`param_policy:`) or learnt from such an error, once per parameter and model; what was
learnt, and why, goes into the run manifest.

OpenAI takes at most 4 stop sequences ("Invalid 'stop': array too long. Expected an array with
maximum length 4, but got an array with length 5 instead.", code `array_above_max_length`):
a list parameter refused for its length is cut to the length the error gives (`limits`), and
the provider cuts the answer at the sequences left out itself (`cut_at_stops`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import RejectedRequestError

# parameters the provider itself sets from the benchmark's sampling: only these are learnt
# (a field the user put in extra_body and the endpoint refused is the user's to fix)
LEARNABLE = frozenset({"max_tokens", "temperature", "top_p", "stop", "seed"})
# what a parameter is renamed to when the error does not say ("Use 'X' instead")
RENAMES = {"max_tokens": "max_completion_tokens"}
_USE_INSTEAD = re.compile(r"[Uu]se '([A-Za-z_]+)' instead")
_REJECTION_CODES = {"unsupported_parameter", "unsupported_value"}
_TOO_LONG = "array_above_max_length"
_MAX_LENGTH = re.compile(r"maximum length (\d+)")
# where an error body names no `param` (Moonshot: "invalid temperature: only 1 is allowed for
# this model"), the parameter its message names unambiguously: `invalid NAME`, `NAME` in
# backticks or single quotes ("Unsupported parameter: 'max_tokens' ...")
_PARAM_NAMED = re.compile(
    r"\binvalid ({0})\b|`({0})`|'({0})'".format("|".join(sorted(LEARNABLE))))
# ... and only where the message says the parameter, or any value but one, is refused
_REFUSED = re.compile(
    r"nsupported|not supported|does not support|\bonly .{0,40}\b(is|are) (allowed|supported)"
    r"|\bonly the default", re.IGNORECASE)
# a message that refuses values, not the parameter: it is left out, not renamed
_VALUE_ONLY = re.compile(r"nsupported value|\bonly\b", re.IGNORECASE)

# models that think by default, by name (docs/providers.md lists them and why): they get a
# reasoning output budget, since their hidden thinking is output too. Conservative: a family
# that only thinks when asked (Gemini 2.5 Flash-Lite, Qwen3's 2507 instruct models) is not here.
_REASONING_NAME = re.compile(
    r"^(o\d+(-|$)"  # OpenAI o1, o3-mini, o4-mini
    r"|gpt-5(?!.*-chat)"  # gpt-5, gpt-5-mini (not gpt-5-chat-latest)
    r"|gpt-oss"
    r"|deepseek-reasoner|deepseek-r1"
    r"|qwq"
    r"|qwen3(?=[-_:]|$)(?!.*(instruct|coder|max|embedding|reranker))"
    r"|kimi-k2\.[56]"
    r"|gemini-(2\.5-(pro|flash)|3)(?!.*(lite|image|tts|audio|live|embedding))"
    r"|.*thinking)"  # kimi-k2-thinking, Qwen3-*-Thinking-2507, gemini-2.0-flash-thinking
)


def reasoning_by_name(model: str) -> bool:
    """Whether a model thinks by default, by its name (the part after any `org/`)."""
    return bool(_REASONING_NAME.match(model.rpartition("/")[2].lower()))


class ParamPolicy:
    """The configured policy, and what was learnt on top of it (one entry per parameter)."""

    def __init__(self, configured: Mapping[str, str | None]) -> None:
        self.rules: dict[str, str | None] = dict(configured)
        self.learnt: list[dict[str, Any]] = []
        self.limits: dict[str, int] = {}  # a list parameter's most items (learnt)

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with each parameter of the policy renamed or left out."""
        out = dict(body)
        for param, most in self.limits.items():
            if isinstance(out.get(param), list) and len(out[param]) > most:
                out[param] = out[param][:most]
        for param, target in self.rules.items():
            if param not in out:
                continue
            value = out.pop(param)
            if target and target not in out:
                out[target] = value
        return out

    def learn(self, error: RejectedRequestError, sent: Mapping[str, Any]) -> bool:
        """Learn from a 400 that names a parameter this request sent; False when there is
        nothing (new) to learn, so the caller gives up rather than loops."""
        if error.code == _TOO_LONG:
            return self._learn_limit(error, sent)
        param, value_only = error.param, error.code == "unsupported_value"
        if param is None:  # the message may name it (Moonshot)
            param = _named_param(error.detail)
            value_only = bool(param) and bool(_VALUE_ONLY.search(error.detail))
            if value_only and param == "max_tokens":
                return False  # a limit on the budget: leaving it out would lift the limit
        if error.status != 400 or param is None or param not in LEARNABLE or param not in sent:
            return False
        if error.code not in _REJECTION_CODES and "nsupported" not in error.detail and not (
                error.param is None and _REFUSED.search(error.detail)):
            return False
        if param in self.rules and self.rules[param] is None:
            return False  # already left out: the endpoint is confused, not us
        named = _USE_INSTEAD.search(error.detail)
        target = named.group(1) if named else RENAMES.get(param)
        if value_only or target == param or target in self.rules:
            target = None  # a value only the default accepts: send no value at all
        self.rules[param] = target
        self.learnt.append({
            "param": param,
            "action": f"renamed to {target}" if target else "left out",
            "code": error.code,
            "message": error.detail,
        })
        return True

    def _learn_limit(self, error: RejectedRequestError, sent: Mapping[str, Any]) -> bool:
        """A list parameter refused for its length: cut to the length the error names."""
        param, m = error.param, _MAX_LENGTH.search(error.detail)
        if (error.status != 400 or param not in LEARNABLE or m is None
                or not isinstance(sent.get(param), list)):
            return False
        most = int(m.group(1))
        if not 0 < most < len(sent[param]) or self.limits.get(param, most + 1) <= most:
            return False  # nothing to cut, or cut already: the endpoint is confused, not us
        self.limits[param] = most
        self.learnt.append({"param": param, "action": f"cut to its first {most}",
                            "code": error.code, "message": error.detail})
        return True

    def info(self) -> dict[str, Any]:
        """For the run manifest: the policy in force and what of it was learnt."""
        out: dict[str, Any] = {"param_policy": dict(self.rules)} if self.rules else {}
        if self.limits:
            out["param_limits"] = dict(self.limits)
        if self.learnt:
            out["param_policy_learnt"] = list(self.learnt)
        return out


def _named_param(message: str) -> str | None:
    """The one sampling parameter an error message names as refused (None: none, or several,
    or a message that does not say it is refused)."""
    if not _REFUSED.search(message):
        return None
    names = {name for m in _PARAM_NAMED.finditer(message) for name in m.groups() if name}
    return names.pop() if len(names) == 1 else None


def cut_at_stops(text: str, stops: tuple[str, ...]) -> str | None:
    """`text` up to the first of `stops` in it (as a server cuts at its stop sequences), or
    None where none is in it."""
    ends = [i for stop in stops if stop and (i := text.find(stop)) >= 0]
    return text[:min(ends)] if ends else None
