"""Structured: does the model answer in JSON that fits a schema, and is the answer in it right?

120 extraction and formatting tasks (`structured_tasks`: GSM8K and MMLU items asked as JSON,
a nested MMLU question card with an array, enums and an optional field, BoolQ with an optional
evidence quote), each with a JSON Schema, run in up to three modes (`-o structured.modes=`,
default all three), one request per task and mode, the same prompt in each (the task, then the
schema and "Reply with the JSON object only"):

- `prompt`: the instructions alone.
- `json_object`: plus the API's JSON mode, `response_format: {"type": "json_object"}`.
- `json_schema`: plus structured outputs, `response_format: {"type": "json_schema",
  "json_schema": {"name", "schema", "strict": true}}` (OpenAI's Chat Completions format).

Before a model runs a mode that needs an API mechanism, one probe request (one output token)
asks the endpoint whether it takes it: a provider that has no such mechanism (a base model,
Anthropic's Messages API here) or an endpoint that answers HTTP 400/422 about
`response_format` (or, as llama_cpp.server does for `json_schema`, HTTP 500 with its
validation error about it) has the mode recorded as unsupported (`model_binding.modes` in the run
manifest) and sends none of its requests: a refusal is the endpoint's, never scored as the
model's failure. The embedded model takes both, through the grammars llama-cpp-python builds
for them.

Metrics per item: `parsed` (a JSON value could be read: the whole answer, a code fence, or the
first object in prose; a reasoning model's `<think>` block taken out first), `parsed_strict`
(the whole answer is JSON, with no reasoning in it either), `schema_valid` (it
satisfies the schema, checked by `jsonschema`) and `acc` (valid and right: the number, the
letter, the copied options and letter, true/false). Each item's mode is its group, so every
metric is broken down by mode; the report's integration section puts the modes side by side.
Where the models of a run ran different modes (an endpoint refused one that another took),
each model's headline is over the modes every one of them ran (`compared_groups`; the rows
say which: `compared_groups` in their extra), so that all are over the same items: over
every mode each ran, one model's 90.6 over 360 items was ranked above another's 86.7 over
240, while on the modes both ran it scored 85.8 (an audit's). The per-mode rows keep every
mode.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ..errors import ProviderError, RejectedRequestError, RetryableProviderError
from ..providers.base import GenerateRequest, GenerateResponse, Message, Provider
from ..scoring.numeric import numbers_equal
from ..scoring.structured import read_answer_json, schema_errors
from .base import (
    Benchmark,
    BenchmarkOptions,
    Doc,
    ItemScore,
    Mode,
    PromptContext,
    Request,
    Response,
)
from .structured_tasks import StructuredItem, load_tasks

FormatMode = Literal["prompt", "json_object", "json_schema"]
FORMAT_MODES: tuple[FormatMode, ...] = ("prompt", "json_object", "json_schema")
INSTRUCTION = ("{task}\n\nReply with a JSON object that matches this JSON Schema:\n{schema}\n"
               "Reply with the JSON object only.")
# a 400/422 that is about the output format, as OpenAI ("Invalid parameter: 'response_format'
# of type 'json_schema' is not supported with this model"), vLLM and llama_cpp.server word it
_ABOUT_FORMAT = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)


class StructuredOptions(BenchmarkOptions):
    modes: tuple[FormatMode, ...] = Field(
        FORMAT_MODES, description="modes to run: prompt, json_object, json_schema")

    @field_validator("modes", mode="before")
    @classmethod
    def _modes(cls, v: Any) -> Any:
        items = [s.strip() for s in v.split(",")] if isinstance(v, str) else list(v)
        bad = [m for m in items if m not in FORMAT_MODES]
        if bad or not items:
            raise ValueError(f"modes: {', '.join(map(str, bad)) or 'none given'}; choose "
                             f"from {', '.join(FORMAT_MODES)}")
        return tuple(dict.fromkeys(items))


def response_format(item: StructuredItem, mode: str) -> dict[str, Any] | None:
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {
            "name": item["schema_name"], "schema": item["schema"], "strict": True}}
    return None


async def _probe(provider: Provider, probe: GenerateRequest) -> str | None:
    """Why the endpoint refuses `probe`'s response_format, or None where it takes it."""
    try:
        await provider.generate(probe)
    except RejectedRequestError as e:
        if _rejects_format(e):
            return f"the endpoint refused it ({str(e)[:200]})"
        raise
    except RetryableProviderError as e:
        if _fails_on_format(e):
            return f"the endpoint failed on it ({str(e)[:200]})"
        return None  # a passing fault says nothing of the mode: its requests will retry
    except ProviderError as e:  # the embedded model: a schema it cannot make a grammar of
        return str(e)[:200]
    return None


def with_mode(doc: Doc, mode: str) -> Doc:
    """The task `doc` asked in `mode`: its id and group say which."""
    fields: dict[str, Any] = {**doc.fields, "mode": mode}
    return Doc(f"{doc.id}@{mode}", fields, group=mode)


def _norm(text: Any) -> str:
    return " ".join(str(text).split())


def correct(kind: str, value: Any, gold: dict[str, Any]) -> bool:
    """Whether a schema-valid answer is right."""
    if kind == "gsm8k":
        return numbers_equal(value["answer"], gold["answer"])
    if kind == "mmlu":
        return bool(value["answer"] == gold["answer"])
    if kind == "card":
        options = [_norm(o) for o in value["question"]["options"]]
        return (value["answer"]["letter"] == gold["letter"]
                and options == [_norm(o) for o in gold["options"]])
    if kind == "boolq":
        return bool(value["answer"] is gold["answer"])
    raise ValueError(f"unknown task kind {kind!r}")


def _rejects_format(e: RejectedRequestError) -> bool:
    return e.status in (400, 422) and (
        e.param == "response_format" or bool(_ABOUT_FORMAT.search(f"{e.detail} {e}")))


def _fails_on_format(e: RetryableProviderError) -> bool:
    """A server error that is the endpoint's validation of the format, not a passing fault:
    llama_cpp.server (0.3) answers `"type": "json_schema"` with HTTP 500 and its pydantic
    error ("'loc': ('body', 'response_format', 'type') ... Input should be 'text' or
    'json_object'"), every time."""
    return str(e).startswith("HTTP 5") and bool(_ABOUT_FORMAT.search(str(e)))


class Structured(Benchmark):
    name: ClassVar[str] = "structured"
    # 2: `<think>` reasoning taken out before the JSON is read; 3: an infinite number is no
    # answer, NaN and Infinity are not JSON
    version: ClassVar[str] = "3"
    max_fewshot: ClassVar[int | None] = 0  # zero-shot: no solved examples
    domain: ClassVar[str] = "tools"
    description: ClassVar[str] = ("JSON mode and structured outputs: 120 extraction and "
                                  "formatting tasks with JSON Schemas, per mode")
    citation: ClassVar[str] = (
        "shootout's own task set, built from GSM8K (Cobbe et al. 2021), MMLU (Hendrycks et "
        "al. 2021) and BoolQ (Clark et al. 2019); modes after OpenAI's Structured Outputs "
        "(2024)")
    metrics: ClassVar[tuple[str, ...]] = ("acc", "schema_valid", "parsed", "parsed_strict")
    primary_metric: ClassVar[str] = "acc"
    modes: ClassVar[tuple[Mode, ...]] = ("generative",)
    default_max_tokens: ClassVar[int] = 512
    Options: ClassVar[type[BenchmarkOptions]] = StructuredOptions

    def __post_init__(self) -> None:
        super().__post_init__()
        self._accepted: dict[str, str] = {}

    def load(self) -> list[Doc[StructuredItem]]:
        return load_tasks(self.data)

    async def bind(self, provider: Provider, docs: Sequence[Doc], ctx: PromptContext, *,
                   send: bool = True) -> list[Doc]:
        """Each task once per mode this model's endpoint takes; the others are recorded as
        unsupported (see `binding_info`)."""
        self._accepted = {}
        for mode in self.opts.modes:
            why = await self._unsupported(provider, mode, docs, ctx, send)
            self._accepted[mode] = f"unsupported: {why}" if why else "accepted"
        return [with_mode(d, mode) for d in docs for mode in self.opts.modes
                if self._accepted[mode] == "accepted"]

    async def _unsupported(self, provider: Provider, mode: str, docs: Sequence[Doc],
                           ctx: PromptContext, send: bool) -> str | None:
        """Why `provider` cannot run `mode`, or None when it can (or a dry run cannot ask)."""
        if mode == "prompt":
            return None
        if not ctx.chat:
            return "response_format needs chat messages"
        if mode not in provider.capabilities.response_formats:
            return f"{provider.model_id} has no {mode} response_format here"
        if not send or not docs:
            return None
        one_token = replace(ctx, sampling=replace(ctx.sampling, max_tokens=1))
        # one probe per distinct response_format of the mode (each task's schema): the first
        # task's alone passed where the endpoint refused another's (a nullable union), whose
        # items then failed as the model's (an audit's)
        probes: dict[str, GenerateRequest] = {}
        for d in docs:
            probe = self.request(with_mode(d, mode), one_token)
            assert isinstance(probe, GenerateRequest)
            probes.setdefault(json.dumps(probe.response_format, sort_keys=True), probe)
        for probe in probes.values():
            if why := await _probe(provider, probe):
                return why
        return None

    def binding_info(self) -> dict[str, Any]:
        return {"modes": dict(self._accepted)} if self._accepted else {}

    def rescore_docs(self, docs: Sequence[Doc]) -> list[Doc]:
        """Each task in each mode of the options (a stored run holds the modes its
        endpoints took)."""
        return [with_mode(d, mode) for d in docs for mode in self.opts.modes]

    def request(self, doc: Doc[StructuredItem], ctx: PromptContext) -> Request:
        f = doc.fields
        text = INSTRUCTION.format(task=f["task"], schema=json.dumps(f["schema"]))
        if not ctx.chat:
            return GenerateRequest(prompt=f"{text}\n\nJSON:\n", sampling=ctx.sampling)
        return GenerateRequest(messages=(Message("user", text),), sampling=ctx.sampling,
                               response_format=response_format(f, str(f.get("mode", "prompt"))))

    def gold(self, doc: Doc, mode: Mode) -> str | None:
        return json.dumps(doc.fields["gold"], ensure_ascii=False)

    def score(self, doc: Doc[StructuredItem], ctx: PromptContext, response: Response,
              request: Request) -> ItemScore:
        assert isinstance(response, GenerateResponse)
        f = doc.fields
        read = read_answer_json(response.text)
        errors = schema_errors(read.value, f["schema"]) if read.parsed else []
        valid = read.parsed and not errors
        right = valid and correct(f["kind"], read.value, f["gold"])
        reason = (("right" if right else "valid JSON, wrong answer") if valid
                  else "; ".join(errors) if read.parsed else f"no JSON: {read.error}")
        return ItemScore(
            metrics={"acc": float(right), "schema_valid": float(valid),
                     "parsed": float(read.parsed), "parsed_strict": float(read.source == "whole")},
            extracted=json.dumps(read.value, ensure_ascii=False) if read.parsed else None,
            reason=reason[:300],
            extraction_failed=not read.parsed,
            detail={"format_mode": str(f.get("mode", "prompt")), "kind": f["kind"],
                    "json_from": read.source},
        )

    @classmethod
    def analyze(cls, rows: Sequence[Any]) -> dict[str, Any] | None:
        """Per mode: items, and where the JSON was found (whole answer, fence, prose)."""
        if not rows:
            return None
        out: dict[str, Any] = {}
        for mode in FORMAT_MODES:
            mine = [r for r in rows if r.detail.get("format_mode") == mode]
            if mine:
                found = Counter(str(r.detail.get("json_from") or "none") for r in mine)
                out[mode] = {"items": len(mine), "json_from": dict(sorted(found.items()))}
        return out or None

    @classmethod
    def compared_groups(cls, rows_by_model: Mapping[str, Sequence[Any]]
                        ) -> Mapping[str, frozenset[str]] | None:
        """The modes every model ran, where they ran different ones (each item's group is its
        mode); None where all ran the same (or one model alone)."""
        ran = {m: frozenset(str(r.group) for r in rows) for m, rows in rows_by_model.items()
               if rows}
        if len(set(ran.values())) < 2:
            return None
        common = frozenset.intersection(*ran.values())
        return {m: common for m in ran} if common else None
