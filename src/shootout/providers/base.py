"""The provider interface: one async class per backend.

A provider generates text (from chat messages or a raw prompt) and, where the backend can,
scores the log-likelihood of continuations given a context. Core types are frozen dataclasses;
everything a request contains is JSON-serialisable so it can be hashed into a cache key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import ConfigDict

from ..errors import CapabilityError
from ..frozen import field_names
from ..settings import Settings
from ..utf8 import well_formed


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Sampling:
    """Sampling settings. temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class GenerateRequest:
    """Either `messages` (chat) or `prompt` (raw text completion), never both.

    `tools`: functions the model may call natively, each `{"name", "description",
    "parameters"}` (a JSON Schema object), sent as the API's tools; `tool_choice` as the API
    takes it ("auto", "none", "required"). Only a provider whose capabilities say `tools`
    accepts them.

    `response_format`: the output format asked of the API, as OpenAI's Chat Completions takes
    it (`{"type": "json_object"}` for JSON mode, `{"type": "json_schema", "json_schema":
    {"name", "schema", "strict"}}` for structured outputs); only a provider whose
    capabilities list its type accepts it."""

    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("GenerateRequest needs exactly one of messages or prompt")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "generate",
            "messages": [asdict(m) for m in self.messages] if self.messages else None,
            "prompt": self.prompt,
            "sampling": self.sampling.to_dict(),
            # only when set, so the cache keys of requests without tools stay as they were
            **({"tools": list(self.tools), "tool_choice": self.tool_choice}
               if self.tools else {}),
            **({"response_format": self.response_format} if self.response_format else {}),
        }


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score each (context, continuation) pair: sum of log P(continuation tokens | context)."""

    pairs: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "loglikelihood", "pairs": [list(p) for p in self.pairs]}


@dataclass(frozen=True)
class Timing:
    """Per-request timing, seconds on a monotonic clock, taken where bytes arrive.

    `chunk_times` are arrival offsets (from request start) of each streamed content chunk;
    inter-token latencies are their successive differences. `connect` is the time this request
    spent opening a connection (TCP and TLS handshakes), part of its TTFT; None where it went
    over a connection already open (a warm one: its TTFT has no set-up in it).
    """

    ttft: float | None = None
    e2e: float = 0.0
    chunk_times: tuple[float, ...] = ()
    first_reasoning: float | None = None
    first_answer: float | None = None
    connect: float | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reports them. `reasoning_tokens` (a reasoning model's hidden
    thinking: OpenAI's `completion_tokens_details.reasoning_tokens`, Anthropic's thinking
    blocks) are part of `completion_tokens` and billed as output. `cached_tokens` (read from
    the provider's prompt cache) and `cache_write_tokens` (written to it: Anthropic bills them
    above the input price) are parts of `prompt_tokens`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated: bool = False
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0
    # answered through a batch API (billed at its batch price, no latency measured)
    batch: bool = False


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made natively: `arguments` as the API sent them (a JSON
    text, not yet parsed: malformed arguments are the model's to answer for)."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True)
class GenerateResponse:
    text: str
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    timing: Timing = field(default_factory=Timing)
    model_reported: str | None = None
    # what the server reported of the model build that answered (OpenAI's system_fingerprint)
    fingerprint: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    # the replica that answered (its URL without user info or query), where a model has several
    endpoint: str | None = None


@dataclass(frozen=True)
class ContinuationScore:
    logprob: float
    is_greedy: bool
    n_tokens: int


@dataclass(frozen=True)
class LoglikelihoodResponse:
    scores: tuple[ContinuationScore, ...]
    usage: Usage = field(default_factory=Usage)
    timing: Timing = field(default_factory=Timing)


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, declared by the provider (never probed with getattr).

    `context_window`: the model's window in tokens, if known; `prompt_limit`: the most tokens a
    prompt plus its generation may take here (a local model's KV-cache size), if smaller;
    `reasoning`: the model spends output tokens thinking before it answers.
    """

    loglikelihood: bool = False
    chat: bool = True
    tokenize: bool = False
    count_prompt_tokens: bool = False
    context_window: int | None = None
    prompt_limit: int | None = None
    max_connections: int = 1
    # a model that thinks before it answers: it gets each benchmark's reasoning output budget
    reasoning: bool = False
    # output tokens asked for on top of each request's max_tokens (Anthropic's thinking
    # budget: max_tokens = budget + the request's), which the cost estimates count
    output_headroom: int = 0
    # accepts `GenerateRequest.tools` and answers with `GenerateResponse.tool_calls`
    tools: bool = False
    # the `GenerateRequest.response_format` types it sends ("json_object", "json_schema")
    response_formats: tuple[str, ...] = ()


class ProviderOptions(Settings):
    """Base of each provider's options: validated from the run config and the command line,
    so an option is declared once, in its provider's `Options`."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@runtime_checkable
class Provider(Protocol):
    """A model backend. `generate` is required; `BaseProvider` gives defaults for the rest,
    and a provider declares in `capabilities` which of the optional calls it serves."""

    model_id: str
    """Stable identity used in cache keys and reports, e.g. `openai:gpt-4o-mini`."""

    @property
    def capabilities(self) -> Capabilities: ...

    async def generate(self, request: GenerateRequest) -> GenerateResponse: ...

    async def loglikelihood(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse: ...

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]: ...

    async def count_prompt_tokens(self, request: GenerateRequest) -> int | None: ...

    def info(self) -> dict[str, Any]: ...

    def cache_identity(self) -> str: ...

    def recorded_identity(self, info: Mapping[str, Any]) -> str | None: ...

    async def serves_cached(self, response: GenerateResponse | LoglikelihoodResponse) -> bool: ...

    async def check(self) -> None: ...

    async def aclose(self) -> None: ...


class BaseProvider:
    """Defaults for the optional parts of the Provider protocol.

    A provider class also declares, for the registry (`shootout.providers.registry`):
    `prefixes` (the spec prefixes it serves, e.g. `("openai",)`), `Options` (a
    `ProviderOptions` model) and `from_spec(argument, options, context_needed=None)`.
    """

    model_id: str = "unknown"
    prefixes: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions
    spec_help: ClassVar[str] = ""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def info(self) -> dict[str, Any]:
        return {"model_id": self.model_id}

    def cache_identity(self) -> str:
        """What makes two providers give the same answer to the same request."""
        return self.model_id

    def recorded_identity(self, info: Mapping[str, Any]) -> str | None:
        """The cache identity this provider would have after its endpoint check (`check`),
        had the endpoint answered it as `info` records (a model's entry in an earlier run's
        manifest: `info()` then); None where the check changes nothing of it, or `info` is
        another model's. Finds the answers cached for a model before it is checked (the cost
        cap's check, before anything is sent)."""
        return None

    async def check(self) -> None:
        """Fail fast, with one line, when the backend is unusable."""
        return None

    async def serves_cached(self, response: GenerateResponse | LoglikelihoodResponse) -> bool:
        """Whether a stored answer to this request is still this model's (False: ask again;
        a provider that learns the server's model fingerprint refuses an answer of another)."""
        return True

    async def loglikelihood(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse:
        raise CapabilityError(
            f"{self.model_id} does not expose log-probabilities; score it generatively "
            "(--scoring generative)"
        )

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        raise CapabilityError(f"{self.model_id} has no tokenizer here")

    async def count_prompt_tokens(self, request: GenerateRequest) -> int | None:
        raise CapabilityError(f"{self.model_id} cannot count prompt tokens")

    async def aclose(self) -> None:
        return None


_R = TypeVar("_R")


def with_system_prompt(request: _R, system: str | None) -> _R:
    """`request` with the model's system prompt first: as a system message of its own, or
    before the benchmark's system message, in one (some APIs take a single one)."""
    if not system or not isinstance(request, GenerateRequest) or request.messages is None:
        return request
    msgs = request.messages
    if msgs and msgs[0].role == "system":
        first = Message("system", f"{system}\n\n{msgs[0].content}")
        return replace(request, messages=(first, *msgs[1:]))
    return replace(request, messages=(Message("system", system), *msgs))


def response_to_dict(resp: GenerateResponse | LoglikelihoodResponse) -> dict[str, Any]:
    d = asdict(resp)
    d["kind"] = "generate" if isinstance(resp, GenerateResponse) else "loglikelihood"
    for key, empty in (("tool_calls", ()), ("endpoint", None)):
        if key in d and d[key] in (empty, []):  # stored responses without them stay as they were
            del d[key]
    return d


def well_formed_response(response: GenerateResponse | LoglikelihoodResponse
                         ) -> GenerateResponse | LoglikelihoodResponse:
    """A response whose texts are `well_formed` (the same object where they already are)."""
    if not isinstance(response, GenerateResponse):
        return response
    texts = (response.text, response.reasoning or "",
             *(t for c in response.tool_calls for t in (c.name, c.arguments, c.id)))
    if all(well_formed(t) is t for t in texts):
        return response
    return replace(
        response, text=well_formed(response.text),
        reasoning=None if response.reasoning is None else well_formed(response.reasoning),
        tool_calls=tuple(ToolCall(well_formed(c.name), well_formed(c.arguments),
                                  well_formed(c.id)) for c in response.tool_calls))


def readable_response(d: Any) -> GenerateResponse | LoglikelihoodResponse | None:
    """A stored response as the provider gave it, its texts well formed; None where the
    store's copy is not one (damaged, or written by something else: it was an internal
    error, a KeyError, where a run read its cache or `rescore` its answers)."""
    try:
        got = well_formed_response(response_from_dict(d))
        if isinstance(got, GenerateResponse) and not isinstance(got.text, str):
            return None
        return got
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _known(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """`d` without the fields `cls` does not have: a store written by a newer shootout (a
    field added to `Usage` or `Timing`, as `batch`, `connect` and `endpoint` were) is read,
    not taken for damage."""
    names = field_names(cls)
    return {k: v for k, v in d.items() if k in names}


def response_from_dict(d: dict[str, Any]) -> GenerateResponse | LoglikelihoodResponse:
    usage = Usage(**_known(Usage, d.get("usage", {})))
    t = _known(Timing, d.get("timing", {}))
    t["chunk_times"] = tuple(t.get("chunk_times", ()))
    timing = Timing(**t)
    if d.get("kind") == "loglikelihood":
        scores = tuple(ContinuationScore(**_known(ContinuationScore, s)) for s in d["scores"])
        return LoglikelihoodResponse(scores=scores, usage=usage, timing=timing)
    return GenerateResponse(
        text=d["text"],
        reasoning=d.get("reasoning"),
        finish_reason=d.get("finish_reason"),
        usage=usage,
        timing=timing,
        model_reported=d.get("model_reported"),
        fingerprint=d.get("fingerprint"),
        tool_calls=tuple(ToolCall(**_known(ToolCall, c)) for c in d.get("tool_calls") or ()),
        endpoint=d.get("endpoint"),
    )
