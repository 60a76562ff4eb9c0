"""Reading a JSON answer and checking it against its JSON Schema.

`read_json` takes the first of: the whole answer (after surrounding whitespace), the content of
a ```json (or bare ```) code fence, the first JSON object or array written in prose (not one
nested in a cut-off one). Where it came from is kept (`whole`, `fence`, `prose`) so a report
can tell "answered in JSON" from "wrapped JSON in words". `read_answer_json` reads a model's
answer: its `<think>…</think>` reasoning taken out first (an object the model thought about is
not its answer), and the JSON that is all the rest `after_reasoning`, not `whole` (a client
parsing the content as JSON would fail on it). `schema_errors` validates with the
`jsonschema` library (Draft 2020-12, the dialect OpenAI's structured outputs take), formats not
asserted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from .text import strip_reasoning

Source = Literal["whole", "after_reasoning", "fence", "prose", ""]

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)


def _not_json(name: str) -> Any:
    """NaN, Infinity and -Infinity, which Python's json reads and JSON (RFC 8259) has not."""
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_not_json)


@dataclass(frozen=True)
class ReadJSON:
    """The JSON value read from an answer (`source` "" when none could be)."""

    value: Any = None
    source: Source = ""
    error: str = ""

    @property
    def parsed(self) -> bool:
        return self.source != ""


def _loads(text: str) -> tuple[bool, Any, str]:
    try:
        return True, json.loads(text, parse_constant=_not_json), ""
    except (ValueError, RecursionError) as e:  # (a JSONDecodeError is a ValueError)
        return False, None, str(e)


def _first_in_prose(text: str) -> tuple[bool, Any]:
    """The first complete JSON object or array in `text` that is not nested in an unclosed
    one (a cut-off answer's inner object is not its answer). The brackets before each
    opening are counted as running totals, and each is decoded from windows that double
    (`_decode_at`): counted again over the whole prefix, and each failed decode counting the
    lines before it, 64 KB of "[x]" took 4-12 s on the run's event loop (an audit's)."""
    opens_c = closes_c = opens_s = closes_s = 0
    last = 0
    for m in re.finditer(r"[\[{]", text):
        seg = text[last:m.start()]
        opens_c += seg.count("{")
        closes_c += seg.count("}")
        opens_s += seg.count("[")
        closes_s += seg.count("]")
        last = m.start()
        if opens_c > closes_c or opens_s > closes_s:
            continue
        ok, value = _decode_at(text, m.start())
        if ok:
            return True, value
    return False, None


_WINDOW, _MARGIN = 1024, 16


def _decode_at(text: str, c: int) -> tuple[bool, Any]:
    """`_DECODER.raw_decode(text, c)` read from windows of the text that double: a value
    complete in a window is the whole text's; an error well inside a window (not an
    unterminated string, whose position is its start) is the whole text's too."""
    n, w = len(text), _WINDOW
    while True:
        end = min(n, c + w)
        try:
            value, _ = _DECODER.raw_decode(text[c:end])
            return True, value
        except RecursionError:
            return False, None
        except json.JSONDecodeError as e:
            if end == n or (e.pos < end - c - _MARGIN
                            and not e.msg.startswith("Unterminated string")):
                return False, None
        except ValueError:  # NaN, Infinity (`_not_json`): as the whole text raises it
            return False, None
        w *= 2


def read_answer_json(text: str) -> ReadJSON:
    """`read_json` of the answer without its reasoning (module doc)."""
    answer = strip_reasoning(text)
    read = read_json(answer)
    if read.source == "whole" and answer.strip() != text.strip():
        return ReadJSON(read.value, "after_reasoning")
    return read


def read_json(text: str) -> ReadJSON:
    """The answer's JSON value and where it was found."""
    ok, value, error = _loads(text.strip())
    if ok:
        return ReadJSON(value, "whole")
    for m in _FENCE.finditer(text):
        ok, value, _ = _loads(m.group(1).strip())
        if ok:
            return ReadJSON(value, "fence")
    ok, value = _first_in_prose(text)
    if ok:
        return ReadJSON(value, "prose")
    return ReadJSON(error=error or "no JSON in the answer")


def _validator(schema: dict[str, Any]) -> Any:
    try:
        from jsonschema import Draft202012Validator
    except ImportError as e:
        raise ConfigError("the structured benchmark validates with jsonschema: "
                          "pip install 'shootout[structured]'") from e
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(value: Any, schema: dict[str, Any], limit: int = 3) -> list[str]:
    """Why `value` does not satisfy `schema` (at most `limit` reasons, each with the path
    where it fails); empty when it does."""
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    out = []
    for e in errors[:limit]:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append(f"{where}: {e.message[:160]}")
    return out
