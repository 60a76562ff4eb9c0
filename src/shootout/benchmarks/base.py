"""What a benchmark is: data, prompt, answer extraction, metric, version and citation.

A benchmark turns each document into one request (generation or log-likelihood) and scores the
response. Scoring logic lives in the benchmark and in `shootout.scoring`, never in the runner.
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import ConfigDict, ValidationError

from ..data.files import DataDir
from ..errors import ConfigError, DataError
from ..providers.base import (
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Provider,
    Sampling,
)
from ..scores import Score
from ..scoring.text import estimate_tokens
from ..settings import Settings

Mode = Literal["loglikelihood", "generative"]
Request = GenerateRequest | LoglikelihoodRequest
Response = GenerateResponse | LoglikelihoodResponse


# a benchmark's item fields: each benchmark declares a TypedDict (GSM8KItem, ARCItem...)
F = TypeVar("F", bound=Mapping[str, Any], covariant=True)


@dataclass(frozen=True)
class Doc(Generic[F]):
    """One benchmark item: `fields` typed by its benchmark; `group` is a breakdown key
    (subject, level...) or ""."""

    id: str
    fields: F
    group: str = ""


@dataclass(frozen=True)
class ItemScore:
    """How one response scored, with enough to audit it."""

    metrics: Mapping[str, float]
    extracted: str | None = None
    reason: str = ""
    extraction_failed: bool = False
    # anything a corpus-level aggregate needs later (references, hypotheses, positions...)
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptContext:
    """What a benchmark needs to know about the model to build its prompt."""

    mode: Mode
    chat: bool
    sampling: Sampling
    fewshot: int
    # the model's own system prompt, which the runner puts before every request's messages
    # (`providers.base.with_system_prompt`): for a benchmark that counts its prompt's tokens
    system_prompt: str | None = None
    # the run decodes as the benchmark's reference does (neither the user nor the seed
    # protocol set a temperature): a reference that decodes item by item (MT-Bench's
    # temperature per category) may then do so
    reference_decoding: bool = False


class BenchmarkOptions(Settings):
    """Base of a benchmark's options (`Benchmark.Options`): set under the benchmark in a run
    config (`options:`) or on the command line (`-o BENCH.KEY=VALUE`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class CrossModelPhase(Protocol):
    """What a benchmark's `after_models` hook gets once every model of the run has answered
    (runner.crossmodel.Phase): the run's models, their stored samples of the benchmark, a way
    to ask any of the run's models (cached, retried and stored like every response) and to
    store re-scored samples; the text a sample was scored on."""

    run_id: str
    models: Mapping[str, str]  # display name -> spec, in the run's order

    def samples(self, benchmark: str) -> list[Any]: ...

    def is_chat(self, model: str) -> bool: ...

    def answer(self, row: Any) -> str | None:
        """The text of the stored response a sample was scored on, or None."""
        ...

    async def ask(self, model: str, request: GenerateRequest
                  ) -> tuple[GenerateResponse | None, str, str | None]:
        """(response or None, response key, error or None)."""
        ...

    def update(self, rows: Sequence[Any]) -> None: ...


@dataclass
class Benchmark(ABC):
    """Base class. Subclasses set the class variables and implement load/request/score.

    Optional hooks, with defaults that do nothing special (override what a benchmark needs):
    `Options` (its option schema), `prepare` (once before requests), `fewshot_used` (the
    examples its prompt carries, for the manifest), `follow_up` (the next turn of a
    multi-turn item), `after_models` (a phase once every model has answered: a judge),
    `context_needed` (the
    context a local model must hold), `bind` (fit the documents to a model: its tokenizer and
    window), `binding_info` (what binding found, for the manifest), `cost` (what the
    documents cost, for `--dry-run`), `aggregate`/`aggregate_models`/`analyze` (corpus
    metrics and analyses from stored samples).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    citation: ClassVar[str]
    description: ClassVar[str]
    domain: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    primary_metric: ClassVar[str]
    # when a cell lacks the primary metric, its first metric of these (None: of all) is the
    # headline instead; none of them: the cell has no headline and enters no domain, ranking
    # or takeaway (MT-Bench without grades: `win_rate` may stand in, `answered` only counts)
    headline_fallback: ClassVar[tuple[str, ...] | None] = None
    # what a failed request stands in as, per sample metric, where 0 is not the worst value
    # (lower is better): the score with failed counted wrong (`score_failed_as_wrong`)
    failed_values: ClassVar[Mapping[str, float]] = {}
    # scored only by a judge (its `judge` option): a run without one is told so at its start
    graded_by_judge: ClassVar[bool] = False
    modes: ClassVar[tuple[Mode, ...]] = ("loglikelihood", "generative")
    default_fewshot: ClassVar[int] = 0
    # the most solved examples a prompt can carry (its pool's size), where a larger --fewshot
    # is quietly cut to it: the manifest records what the prompts carried (`fewshot_in`)
    max_fewshot: ClassVar[int | None] = None
    # `bind` builds the items from the model (needle sizes its haystacks with the model's
    # tokenizer): a stored run's answers cannot be scored again without the model
    items_fitted_to_model: ClassVar[bool] = False
    # default generation budget for generative scoring of this benchmark
    default_max_tokens: ClassVar[int] = 32
    # the budget for a chat model, where its prompt is not the reference's (which sets
    # `default_max_tokens` for a base model's few-shot completion): None, the same
    chat_max_tokens: ClassVar[int | None] = None
    # the budget for a reasoning model, whose hidden thinking is output tokens too (OpenAI
    # advises leaving room for ~25,000 on hard problems; an easy item takes a few hundred)
    reasoning_max_tokens: ClassVar[int] = 16_384
    # score() blocks (a sandbox run, a slow equivalence check): run it in a worker thread
    score_in_thread: ClassVar[bool] = False
    # the decoding of this benchmark's reference method (lm-evaluation-harness decodes GSM8K,
    # MATH and HumanEval pass@1 greedily), used unless the user or the seed protocol says
    # otherwise
    default_temperature: ClassVar[float] = 0.0
    default_top_p: ClassVar[float] = 1.0
    # False where the method prescribes its decoding whatever the protocol (needle: RULER
    # scores retrieval greedily)
    follows_seed_protocol: ClassVar[bool] = True
    # True where the method decodes a fixed budget with no stop and scores what it finds in
    # it (needle: RULER's 128 tokens): an answer cut off there is the protocol, not a fault
    cutoff_is_protocol: ClassVar[bool] = False
    Options: ClassVar[type[BenchmarkOptions]] = BenchmarkOptions

    data: DataDir
    fewshot_seed: int = 1234
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.opts = self.validate_options(self.options)

    @classmethod
    def check_new_options(cls, options: Mapping[str, Any]) -> None:
        """Rules for a new run's options only (`config.check_new_names`): a run stored before
        a rule keeps the options it ran with, resumed and rescored as it is. None here."""
        return None

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> Any:
        """`options` checked against `Options`; a bad value is a one-line ConfigError."""
        try:
            return cls.Options.model_validate(dict(options))
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "value_error":  # our validators name the option themselves
                raise ConfigError(f"{cls.name}: {msg}") from None
            if err["type"] == "extra_forbidden":  # a typo: say what there is
                have = ", ".join(cls.Options.model_fields) or "none"
                raise ConfigError(f"{cls.name} has no option {where!r} (its options: {have})"
                                  ) from None
            raise ConfigError(f"{cls.name}: option {where}: {msg}") from None

    @abstractmethod
    def load(self) -> list[Doc]:
        """All documents of the evaluation split, in a fixed order."""

    @abstractmethod
    def request(self, doc: Doc, ctx: PromptContext) -> Request: ...

    @abstractmethod
    def score(
        self, doc: Doc, ctx: PromptContext, response: Response, request: Request
    ) -> ItemScore:
        """Score `response` to `request` (the request that was sent for `doc`)."""

    def prepare(self, docs: Sequence[Doc], ctx: PromptContext) -> None:  # noqa: B027
        """Hook run once before requests are built (e.g. load few-shot pools)."""

    def chance(self, docs: Sequence[Doc]) -> float | None:
        """The expected primary score of guessing on `docs` (a multiple choice's mean of
        1/options), or None where guessing has no such score (a generated answer)."""
        return None

    def fewshot_used(self, fewshot: int) -> int:
        """The solved examples the prompt carries when the run asks for `fewshot` (a prompt
        variant may swap them), for the manifest."""
        return fewshot

    def fewshot_in(self, ctx: PromptContext) -> int:
        """The solved examples a prompt built in `ctx` carries, for the manifest's entry of
        each model (a benchmark whose chat prompt has none says 0 for a chat model)."""
        used = self.fewshot_used(ctx.fewshot)
        return used if self.max_fewshot is None else min(used, self.max_fewshot)

    def sampling_by_item(self, ctx: PromptContext) -> dict[str, Any] | None:
        """Where the decoding is set per item, not by the run (MT-Bench's temperature per
        category): what varies and how, for the manifest's sampling (None: nothing)."""
        return None

    def follow_up(self, doc: Doc, ctx: PromptContext, request: Request,
                  response: Response) -> Request | None:
        """The next request of a multi-turn item, built from the model's own answer
        (`response`) to `request`, or None (the default): the item is complete. The sample
        is scored on its last request and response; each turn is cached on its own."""
        return None

    async def after_models(self, phase: CrossModelPhase) -> None:  # noqa: B027
        """Hook run once after every model of the run answered every item (not in a dry
        run): scoring that needs other models' answers or another model's verdict."""

    def judged_detail(self, answer: str) -> dict[str, Any]:
        """The detail of a sample answered `answer`, as `after_models` reads it, for the
        estimate of a judge's requests (`runner.judging`): what a judge phase needs beyond the
        answer's text (MT-Bench: both turns' answers). Default: nothing."""
        return {}

    def context_needed(self) -> int | None:
        """The context, in tokens, a local model must hold for these options (None: any)."""
        return None

    def check_model(self, provider: Provider) -> None:
        """Refuse `provider` (a ConfigError) where `bind` would, from what is known of it once
        its endpoint was asked (`Provider.check`): the run calls this for every model before
        anything is sent. Default: nothing to refuse."""
        return None

    async def bind(
        self, provider: Provider, docs: Sequence[Doc], ctx: PromptContext, *, send: bool = True
    ) -> list[Doc]:
        """The documents to run on `provider`, sized to it where the benchmark depends on the
        model (needle: its tokenizer and window). `send=False` (a dry run): ask it nothing."""
        return list(docs)

    def binding_info(self) -> dict[str, Any]:
        """What `bind` found out about the model, for the run manifest."""
        return {}

    def rescore_docs(self, docs: Sequence[Doc]) -> list[Doc]:
        """Every item a stored run can hold, as `bind` could have made it for any model, to
        score stored answers again without the model (`shootout rescore`); default: `docs`.
        A benchmark whose items `bind` builds from the model (`items_fitted_to_model`) is
        never asked."""
        return list(docs)

    def rescore_gap(self, doc: Doc) -> str | None:
        """Why a stored answer to `doc` cannot be scored again here (its language's toolchain
        is not installed), or None."""
        return None

    def cost(self, docs: Sequence[Doc], ctx: PromptContext) -> dict[str, Any]:
        """What one pass over `docs` costs, for `--dry-run` (integers are printed): requests,
        prompt tokens (estimated from the rendered prompts: ~4 characters a token) and the
        most tokens generation may take. A log-likelihood request sends one prompt per
        choice to an API (completions echo), so each pair counts, as a request and as a
        prompt."""
        prompt = requests = 0
        for d in docs:
            req = self.request(d, ctx)
            if isinstance(req, LoglikelihoodRequest):
                prompt += sum(estimate_tokens(c + x) for c, x in req.pairs)
                requests += len(req.pairs)
            else:
                text = req.prompt or "".join(m.content for m in req.messages or ())
                prompt += estimate_tokens(text)
                requests += 1
        generate = ctx.mode == "generative"
        return {"requests": requests, "prompt_tokens": prompt,
                "max_completion_tokens": len(docs) * ctx.sampling.max_tokens if generate else 0}

    def expected_output_tokens(self, doc: Doc, ctx: PromptContext) -> int | None:
        """The output `doc` is expected to take, for the pre-flight estimate (docs/budget.md):
        the length of its reference answer where the benchmark has one; None (the default):
        no typical length known, the estimate takes the output limit."""
        return None

    def gold(self, doc: Doc, mode: Mode) -> str | None:
        """The reference answer of `doc` as the scorer compares it, for exports (None: the
        benchmark has no single one). Default: the item's `gold` field, if it has one."""
        value = doc.fields.get("gold")
        return None if value is None else str(value)

    def failed_detail(self, doc: Doc) -> dict[str, Any]:
        """What a failed sample of `doc` keeps of its item (`store.rows.FAILED_ITEM`) for
        `aggregate` to count it wrong (the score with failed counted wrong): the default {}
        where the aggregate needs nothing of the item; a corpus metric needs its references."""
        return {}

    @classmethod
    def aggregate(
        cls, rows: Sequence[Any]
    ) -> tuple[list[Score], dict[str, Any]] | None:
        """Corpus-level metrics and analysis from stored samples of one model.

        `rows` are `shootout.store.SampleRow`s with status "ok". Return None (the default) to
        report the mean over items of each per-item metric, with its standard error.
        """
        return None

    @classmethod
    def aggregate_models(
        cls, rows_by_model: Mapping[str, Sequence[Any]]
    ) -> Mapping[str, tuple[list[Score], dict[str, Any]] | None]:
        """`aggregate` for every model of a comparison at once (stored "ok" samples per model).

        The default aggregates each model on its own; a benchmark whose items can differ
        between models (needle: each model's window allows other lengths) overrides it to
        put every model's headline on the items all of them have.
        """
        return {model: cls.aggregate(rows) for model, rows in rows_by_model.items()}

    @classmethod
    def compared_groups(cls, rows_by_model: Mapping[str, Sequence[Any]]
                        ) -> Mapping[str, frozenset[str]] | None:
        """The groups each model's headline is over, where the models of a run ran different
        ones (every sample, any status, per model); None (the default): each over all of
        its own. Structured overrides it: an endpoint that refused a mode has none of its
        items, and the headlines are put on the modes every model ran."""
        return None

    @classmethod
    def group_score(cls, rows: Sequence[Any], metric: str) -> Score | None:
        """One group's score under `metric` (an MMLU subject, an MT-Bench category) from a
        model's samples of that group (`rows`, any status: the answered ones count), for the
        breakdowns; None where no item has it. By default the mean over items of their
        scores, as a mean-of-items headline takes it; a benchmark whose headline pools
        otherwise (MT-Bench: over each question's turns) gives its groups the same way."""
        from ..analysis.stats import summarize
        from ..store.rows import item_scores

        per_item = item_scores(rows, metric)
        if not per_item:
            return None
        sm = summarize(list(per_item.values()))
        return Score(metric, sm.mean, sm.se, sm.n, sm.ci_low, sm.ci_high)

    @classmethod
    def analyze(cls, rows: Sequence[Any]) -> dict[str, Any] | None:
        """Extra analysis from stored samples of one model (breakdowns...), or None."""
        return None

    def template_hash(self, docs: Sequence[Doc], ctx: PromptContext) -> str:
        """Hash of the rendered request of the first document: changes when the prompt does."""
        if not docs:
            return ""
        req = self.request(docs[0], ctx)
        blob = json.dumps(req.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def has_after_models(cls: type[Benchmark]) -> bool:
    """Whether the benchmark has a phase once every model answered (`after_models`: a
    judge, MT-Bench's or XSTest's)."""
    return cls.after_models is not Benchmark.after_models


def unique_ids(name: str, docs: Sequence[Doc]) -> None:
    """A DataError naming the first item id that two of `docs` share: the store keeps one
    sample per item id and repeat, so the second silently took the first's place (a
    benchmark of 3 items with one id ran and reported n=1)."""
    seen: set[str] = set()
    for d in docs:
        if d.id in seen:
            raise DataError(f"{name}: two items have the id {d.id!r} (a damaged data file?); "
                            "see docs/data.md for the layout")
        seen.add(d.id)


def sample_docs(docs: Sequence[Doc], limit: int | None, seed: int) -> list[Doc]:
    """A seeded, reproducible sample of `limit` documents, kept in their original order."""
    if limit is None or limit >= len(docs):
        return list(docs)
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(docs)), limit))
    return [docs[i] for i in chosen]
