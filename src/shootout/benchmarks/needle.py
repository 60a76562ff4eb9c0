"""Needle in a haystack (Kamradt 2023; RULER NIAH, Hsieh et al. 2024) across lengths and depths.

Each document is one (length, depth, trial) cell. Its prompt is built at request time in the
model's own tokenizer (`bind_model` supplies it), to the requested length within 1%. For APIs
without a known tokenizer, `bind_model` sends one short calibration request per length and
corrects the filler until the server's reported prompt tokens hit the target.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ..errors import ConfigError, ProviderError, RejectedRequestError, RetryableProviderError
from ..providers.base import (
    GenerateRequest,
    GenerateResponse,
    Message,
    Provider,
    with_system_prompt,
)
from ..scoring.needle import (
    ADJECTIVES,
    EN,
    NOUNS,
    ZH,
    Built,
    Corpus,
    Haystack,
    Needle,
    load_corpus,
    make_counter,
    model_window,
    score_all,
    score_one,
)
from ..scoring.text import strip_reasoning
from .base import (
    Benchmark,
    BenchmarkOptions,
    Doc,
    ItemScore,
    PromptContext,
    Request,
    Response,
    Score,
)
from .needle_aggregate import aggregate_models, aggregate_rows, group_stat
from .needle_options import DEFAULT_LENGTHS, NeedleItem, NeedleOptions

# the server's prompt tokens per token counted here, beyond which calibration stops: the
# tokenizers of real models differ by well under 4x on English text
MIN_SCALE, MAX_SCALE = 0.25, 4.0


@dataclass
class _Bound:
    """What the benchmark knows about the model it is currently bound to."""

    count: Any
    tokenizer: str
    exact: bool
    limit: int | None  # prompt + generation must fit here (n_ctx, or the API's window)
    window: int | None
    haystack: Haystack
    scale: dict[int, float] = field(default_factory=dict)  # server tokens / counted tokens
    built: dict[tuple[str, int, float], Built] = field(default_factory=dict)  # id, max new, scale
    calibration: list[dict[str, Any]] = field(default_factory=list)
    calibrating: bool = False  # an API: prompt sizes are confirmed against the server
    chat_overhead: int = 0  # tokens a chat template adds around the user message
    past_context: int = 0  # items (of those drawn) left out: longer than the model's context


class NeedleInAHaystack(Benchmark):
    name: ClassVar[str] = "needle"
    # 2: RULER's answer prefix for chat models too, its singular wording for one value, 128
    # tokens out, no stop, scored by RULER's string match (acc_strict: the first number)
    # 3: effective_length at RULER's threshold, 85.6% (was 85%); 4: a local chat model's
    # whole prompt is the length, its template included, as RULER counts it
    version: ClassVar[str] = "4"
    max_fewshot: ClassVar[int | None] = 0  # zero-shot: no solved examples
    items_fitted_to_model: ClassVar[bool] = True  # haystacks sized with the model's tokenizer
    domain: ClassVar[str] = "long-context"
    description: ClassVar[str] = (
        "Needle in a haystack: RULER key-value needles across context lengths x depths"
    )
    citation: ClassVar[str] = (
        "Kamradt 2023, LLMTest_NeedleInAHaystack; Hsieh et al. 2024, RULER: What's the Real "
        "Context Size of Your Long-Context Language Models?, COLM"
    )
    metrics: ClassVar[tuple[str, ...]] = ("acc", "acc_strict", "recall")
    primary_metric: ClassVar[str] = "acc"
    modes: ClassVar[tuple[str, ...]] = ("generative",)  # type: ignore[assignment]
    # RULER's tokens_to_generate for niah: room for a chat model that restates the question
    # before the number (16 tokens cut such answers off)
    default_max_tokens: ClassVar[int] = 128
    cutoff_is_protocol: ClassVar[bool] = True
    # retrieval is scored greedily (RULER); trials, not repeats, give the per-cell variance
    default_temperature: ClassVar[float] = 0.0
    follows_seed_protocol: ClassVar[bool] = False  # greedy under --protocol seed too
    Options: ClassVar[type[BenchmarkOptions]] = NeedleOptions
    opts: NeedleOptions

    def __post_init__(self) -> None:
        super().__post_init__()
        self._bound: _Bound | None = None  # the model the prompts are sized for

    @classmethod
    def check_new_options(cls, options: Mapping[str, Any]) -> None:
        """`needles` with the single variant is refused: it was ignored (one needle a prompt,
        whatever was asked). A run stored with it before resumes as it ran."""
        if "needles" in options and cls.validate_options(options).variant == "single":
            raise ConfigError(f"{cls.name}: needles applies to the multi-needle variants "
                              "(variant=multivalue, multikey or multiquery); the single "
                              "variant hides one")

    # -- documents ------------------------------------------------------------------------
    def load(self) -> list[Doc[NeedleItem]]:
        o = self.opts
        self._corpus = load_corpus(o.haystack or "gatsby", self.data,
                                   fallback=o.haystack is None)
        return [
            self._doc(o, L, d, t)
            for L in (o.lengths or DEFAULT_LENGTHS)
            for d in o.depths
            for t in range(o.trials)
        ]

    def _doc(self, o: NeedleOptions, length: int, depth: float, trial: int) -> Doc[NeedleItem]:
        rng = random.Random(f"needle|{self.fewshot_seed}|{o.variant}|{length}|{depth}|{trial}")
        k = 1 if o.variant == "single" else o.needles
        keys = _keys(rng, 1 if o.variant == "multivalue" else k)
        values = [str(v) for v in rng.sample(range(1_000_000, 10_000_000), k)]
        frac = depth / 100
        spread = [frac + i * (1 - frac) / k for i in range(k)]  # Kamradt's multi-needle layout
        if o.variant == "multikey":
            depths = [frac, *(rng.random() for _ in range(k - 1))]
            needles = [(keys[i], values[i], depths[i]) for i in range(k)]
            query, answers, distractors = keys[:1], values[:1], values[1:]
        elif o.variant == "multiquery":
            needles = [(keys[i], values[i], spread[i]) for i in range(k)]
            query, answers, distractors = keys, values, []
        else:  # single, multivalue: one key
            needles = [(keys[0], values[i], spread[i]) for i in range(k)]
            query, answers, distractors = keys[:1], values, []
        fields = NeedleItem(
            length=length, depth=depth, trial=trial, variant=o.variant,
            haystack=self.corpus.name,
            needles=[{"key": a, "value": v, "depth": d} for a, v, d in needles],
            query=query, answers=answers, distractors=distractors,
        )
        return Doc(id=f"L{length}-d{depth:g}-t{trial}", fields=fields, group=f"L{length}")

    @property
    def corpus(self) -> Corpus:
        if not hasattr(self, "_corpus"):
            o = self.opts
            self._corpus = load_corpus(o.haystack or "gatsby", self.data,
                                       fallback=o.haystack is None)
        return self._corpus

    def context_needed(self) -> int | None:
        """The KV-cache size a local model needs for the explicit lengths (None: defaults,
        which are cut to whatever n_ctx the model has): the longest prompt, the answer's room
        after it (the default output budget, or the multi-value variants' own) and slack for
        the builder's tolerance and a chat template's tokens. Raised to the length alone,
        n_ctx left no room for the answer, and every prompt of the longest length was cut to
        `limit - max_new` (8K: 8,048 tokens, -1.8%, outside the +-1% of issue 4)."""
        lengths = self.opts.lengths
        if not lengths:
            return None
        longest = max(lengths)
        room = max(self.default_max_tokens, 10 * self.opts.needles + 6)
        return longest + room + longest // 200 + 64

    # -- binding to a model ---------------------------------------------------------------
    def bind_counter(self, count: Any, *, limit: int | None = None, window: int | None = None,
                     name: str = "custom", exact: bool = True) -> None:
        """Use `count` (text -> tokens, BOS included) to size prompts. No server check."""
        self._bound = _Bound(count, name, exact, limit, window, Haystack(self.corpus, count))

    def check_model(self, provider: Provider) -> None:
        """A model whose window is not known (and no lengths given) is refused before the run
        sends anything: it was refused when the run reached needle, after that model's other
        benchmarks had been run and paid for (a review's)."""
        o = self.opts
        self._lengths(o, *model_window(provider, o.context_window))

    async def bind(self, provider: Provider, docs: Sequence[Doc[NeedleItem]], ctx: PromptContext, *,
                   send: bool = True) -> list[Doc[NeedleItem]]:
        """Bind to `provider`: its tokenizer and window, the documents that fit, the token
        budget, and (for APIs) the calibration against the server's prompt-token counts."""
        o = self.opts
        count, name, exact = make_counter(o.tokenizer, provider)
        window, limit = model_window(provider, o.context_window)
        self.bind_counter(count, limit=limit, window=window, name=name, exact=exact)
        self._state().calibrating = self._needs_calibration(provider)
        if send:  # (a dry run's estimate leaves it out: a few tokens at the window's edge)
            self._state().chat_overhead = await self._chat_overhead(provider, ctx, count)
        lengths = self._lengths(o, window, limit)
        drawn = len(docs)
        docs = [d for d in docs if d.fields["length"] in lengths]
        self._state().past_context = drawn - len(docs)
        cost = self.cost(docs, ctx)
        if o.max_tokens_budget is not None and cost["total_tokens"] > o.max_tokens_budget:
            raise ConfigError(
                f"needle: this grid costs {cost['total_tokens']:,} tokens ({len(docs)} requests,"
                f" {cost['prompt_tokens']:,} prompt + {cost['max_completion_tokens']:,} "
                f"generated + {cost['calibration_tokens']:,} calibration), over "
                f"--max-tokens-budget {o.max_tokens_budget:,}; use fewer lengths, depths or trials"
            )
        if self._state().calibrating and send:
            await self.calibrate(provider, docs, ctx)
        return docs

    async def _chat_overhead(self, provider: Provider, ctx: PromptContext, count: Any) -> int:
        """The tokens a chat model's template and the model's own system prompt put around
        the user message (role markers, a default system turn), counted by the provider's
        own rendering where it has one without a server round trip to pay (a local model).
        The haystack is sized in the message's tokens, so at the window's edge this room must
        be left too. A calibrated API needs none of it: the server's prompt count includes
        the template (and its probes carry the system prompt)."""
        caps = provider.capabilities
        if not ctx.chat or self._state().calibrating or not (
                caps.tokenize and caps.count_prompt_tokens):
            return 0
        probe = "x"  # sent as the run sends it: after the model's own system prompt
        n = await provider.count_prompt_tokens(with_system_prompt(
            GenerateRequest(messages=(Message("user", probe),), sampling=ctx.sampling),
            ctx.system_prompt))
        return max(0, int(n) - int(count(probe))) if n else 0

    def _needs_calibration(self, provider: Provider) -> bool:
        return self.opts.calibrate and not provider.capabilities.tokenize

    def _lengths(self, o: NeedleOptions, window: int | None, limit: int | None) -> set[int]:
        if o.lengths:
            over = [L for L in o.lengths if limit is not None and limit < L]
            if over:
                raise ConfigError(
                    f"needle: length {over[0]} does not fit the model's context of {limit} "
                    "tokens (a local model: raise --n-ctx; an API: -o needle.context_window=N "
                    "where its window is larger than it says)"
                )
            # a local model's n_ctx is raised to the lengths asked for; its trained window
            # is not (RULER tests lengths up to it): past it, a miss would be scored as one
            past = [L for L in o.lengths if window is not None and window < L]
            if past:
                raise ConfigError(
                    f"needle: length {past[0]} is past the model's context window of {window} "
                    "tokens (-o needle.context_window=N to test past it anyway)"
                )
            return set(o.lengths)
        caps = [c for c in (window, limit) if c]
        if not caps:
            raise ConfigError(
                "needle: the model's context window is unknown; pass --context-window N "
                "or --needle-lengths"
            )
        out = {L for L in DEFAULT_LENGTHS if min(caps) >= L}
        if not out:
            raise ConfigError(f"needle: the context ({min(caps)} tokens) is under 1024 tokens")
        return out

    async def calibrate(
        self, provider: Provider, docs: Sequence[Doc[NeedleItem]], ctx: PromptContext
    ) -> None:
        """Per length: send the prompt (1 token out), compare the server's prompt tokens with
        the target and rescale the filler until within 0.5%. An exact tokenizer that agrees
        with the server on the first length is trusted for the rest. At the window's edge
        the prompt must not come out over its target (the answer's room is past it): one
        over is rescaled a little under, and one the server refuses as too long (the first
        probe of a length is sized by the last length's scale, which drifts by a percent or
        two per doubling; the first length, by the estimate) is made 10% shorter and sent
        again: the count of the one that fits sizes the next."""
        b = self._state()
        scale = 1.0
        for L in sorted({d.fields["length"] for d in docs}):
            doc = next(d for d in docs if d.fields["length"] == L)
            b.scale[L] = scale
            target = self._target(L, self._max_new(doc, ctx))
            edge = target < L - b.chat_overhead  # sized under L to leave the answer room
            tries = _EDGE_TRIES if edge else _TRIES
            for attempt in range(1, tries + 1):
                built = self._built(doc, ctx)
                req = with_system_prompt(self._request(doc, ctx, built, max_tokens=1),
                                         ctx.system_prompt)
                try:
                    reported = await server_prompt_tokens(provider, req)
                except RejectedRequestError as e:  # (a server's window shorter than L)
                    if edge and attempt < tries and _TOO_LONG.search(f"{e} {e.param or ''}"):
                        b.calibration.append({"length": L, "attempt": attempt,
                                              "counted": built.tokens, "reported": None,
                                              "scale": b.scale[L],
                                              "note": "refused: too long for the window"})
                        b.scale[L] = scale = b.scale[L] * 1.1
                        continue
                    raise RejectedRequestError(
                        f"needle: sizing the {L:,}-token prompt, the server refused it: {e}; "
                        "if its window is shorter, test shorter -o needle.lengths",
                        e.status, e.param, e.code, e.detail) from e
                b.calibration.append({"length": L, "attempt": attempt, "counted": built.tokens,
                                      "reported": reported, "scale": b.scale[L]})
                if reported is None:
                    b.calibration[-1]["note"] = "the server reports no prompt tokens"
                    return
                scale = reported / built.tokens
                if not MIN_SCALE <= scale <= MAX_SCALE:
                    # no two tokenizers differ so much: the count is not the prompt's (a
                    # server that counts only what its prefix cache missed), and rescaling
                    # by it would build a haystack without bound
                    raise ProviderError(
                        f"needle: the server counts {reported:,} prompt tokens for a prompt of "
                        f"about {built.tokens:,} ({b.tokenizer}): its usage does not count the "
                        "prompt, so the haystack cannot be sized by it; run with "
                        "-o needle.calibrate=false (sized by the tokenizer alone)")
                if abs(reported - target) <= 0.005 * target and (not edge or reported <= target):
                    break
                if edge and reported > target:  # aimed a little under: the builder's
                    scale *= 1.002  # prompts land a few tokens either side of their target
                b.scale[L] = scale
            if b.exact and attempt == 1 and reported == built.tokens:
                b.calibration[-1]["note"] = "tokenizer agrees with the server"
                return

    def binding_info(self) -> dict[str, Any]:
        """For the run manifest: tokenizer, window, calibration."""
        b = self._bound
        if b is None:
            return {}
        return {"tokenizer": b.tokenizer, "exact": b.exact, "context_limit": b.limit,
                "context_window": b.window, "haystack": self.corpus.name,
                "haystack_source": self.corpus.source, "calibration": b.calibration,
                **({"chat_overhead": b.chat_overhead} if b.chat_overhead else {}),
                **({"items_past_context": b.past_context} if b.past_context else {})}

    # -- requests -------------------------------------------------------------------------
    def request(self, doc: Doc[NeedleItem], ctx: PromptContext) -> Request:
        return self._request(doc, ctx, self._built(doc, ctx))

    def _request(self, doc: Doc[NeedleItem], ctx: PromptContext, built: Built,
                 max_tokens: int | None = None) -> GenerateRequest:
        # no stop sequence unless the run sets one: RULER's runs pass none, and the value
        # is looked for anywhere in the output
        sampling = replace(ctx.sampling, max_tokens=max_tokens or self._max_new(doc, ctx))
        if ctx.chat:
            return GenerateRequest(messages=(Message("user", built.text),), sampling=sampling)
        return GenerateRequest(prompt=built.text, sampling=sampling)

    def _state(self) -> _Bound:
        b = self._bound
        if b is None:
            raise ProviderError("needle: no tokenizer bound; the runner must call bind")
        return b

    def _max_new(self, doc: Doc[NeedleItem], ctx: PromptContext) -> int:
        k = len(doc.fields["answers"])
        return max(ctx.sampling.max_tokens, 10 * k + 6) if k > 1 else ctx.sampling.max_tokens

    def _target(self, length: int, max_new: int) -> int:
        """The user message's token count: the length less what a chat template puts around
        it (the whole prompt is the length, as RULER counts it with its template), and less
        the answer's room at the window's edge (and the builder's tolerance, so that the
        prompt cannot overshoot the window)."""
        b = self._bound
        overhead = 0 if b is None else b.chat_overhead
        # the model's window bounds prompt and answer too (n_ctx may hold more: a length at
        # the window, with its answer's room): the answer stays inside what it was trained
        # on, unless the window was given (-o needle.context_window, to test past it)
        edge = None if b is None else min((c for c in (b.limit, b.window) if c), default=None)
        if edge is None or length + max_new <= edge:
            return length - overhead
        room = edge - overhead - max_new
        return room - _tolerance(room)

    def _built(self, doc: Doc[NeedleItem], ctx: PromptContext) -> Built:
        b = self._state()
        L = doc.fields["length"]
        scale = _nearest_scale(b.scale, L)
        max_new = self._max_new(doc, ctx)
        key = (doc.id, max_new, scale)
        if key not in b.built:
            target = round(self._target(L, max_new) / scale)
            head, tail, needles = self._texts(doc)
            tol = _tolerance(target)
            b.built[key] = b.haystack.build(head, tail, needles, target, tol)
        return b.built[key]

    def _texts(self, doc: Doc[NeedleItem]) -> tuple[str, str, list[Needle]]:
        """Intro, question + answer prefix, needles. Chat models get the answer prefix too, at
        the end of the user message, as RULER's API client sends it: without it a chat model
        tends to restate the question before the number."""
        t = ZH if self.corpus.language == "zh" else EN
        f = doc.fields
        needles = [Needle(t.needle.format(key=n["key"], value=n["value"]), n["depth"])
                   for n in f["needles"]]
        keys = f["query"]
        and_ = "和" if t is ZH else ", and "
        key = keys[0] if len(keys) == 1 else ("、" if t is ZH else ", ").join(keys[:-1]) + (
            and_ + keys[-1])
        many = len(f["answers"]) > 1
        ask, answer = (t.ask_all, t.answer_all) if many else (t.ask_one, t.answer_one)
        tail = "\n" + ask.format(key=key) + t.sep + answer.format(key=key)
        return (t.intro_all if many else t.intro_one), tail, needles

    # -- scoring --------------------------------------------------------------------------
    def score(
        self, doc: Doc[NeedleItem], ctx: PromptContext, response: Response, request: Request
    ) -> ItemScore:
        if not isinstance(response, GenerateResponse):
            raise ProviderError(f"needle: unexpected response type {type(response).__name__}")
        f = doc.fields
        text = strip_reasoning(response.text)
        if len(f["answers"]) > 1:
            s = score_all(text, f["answers"])
        else:
            s = score_one(text, f["answers"][0], f["distractors"])
            s["recall"] = s["acc"]
        metrics = {k: s[k] for k in ("acc", "acc_strict", "recall")}
        detail = {k: f[k] for k in ("length", "depth", "trial", "variant", "haystack")}
        if s.get("distractor"):
            detail["distractor"] = True
        detail.update(self._token_detail(doc, ctx, response))
        return ItemScore(
            metrics=metrics,
            extracted=s["extracted"],
            reason=(f"expected {', '.join(f['answers'])}; found {s['extracted'] or 'no number'}"
                    f" (in the output: {s['recall']:.0%}; first number: {s['acc_strict']:.0f})"),
            extraction_failed=s["extracted"] is None,
            detail=detail,
        )

    def _token_detail(self, doc: Doc[NeedleItem], ctx: PromptContext, response: GenerateResponse
                      ) -> dict[str, Any]:
        b = self._bound
        u = response.usage
        out: dict[str, Any] = {
            "reported_prompt_tokens": u.prompt_tokens if u.prompt_tokens and not u.estimated
            else None,
            "cached_tokens": u.cached_tokens,
        }
        if b is not None:
            built = self._built(doc, ctx)
            scale = _nearest_scale(b.scale, doc.fields["length"])
            # the whole prompt's: the message's and its chat template's
            out.update(target_tokens=self._target(doc.fields["length"], self._max_new(doc, ctx))
                       + b.chat_overhead,
                       prompt_tokens=round(built.tokens * scale) + b.chat_overhead,
                       tokens_exact=b.exact, depth_actual=round(100 * built.depths[0], 2))
        return out

    # -- cost -----------------------------------------------------------------------------
    def cost(self, docs: Sequence[Doc[NeedleItem]], ctx: PromptContext) -> dict[str, Any]:
        """Prompt tokens the grid costs, and what a backend that reuses the previous request's
        prefix (llama.cpp, servers with prefix caching) actually evaluates, in run order."""
        per: dict[int, dict[str, int]] = defaultdict(lambda: {"requests": 0, "prompt_tokens": 0})
        prompt = gen = processed = 0
        prev: float | None = None
        overhead = 0 if self._bound is None else self._bound.chat_overhead
        for d in docs:
            L, max_new = d.fields["length"], self._max_new(d, ctx)
            T = self._target(L, max_new) + overhead  # the whole prompt, its template's too
            per[L]["requests"] += 1
            per[L]["prompt_tokens"] += T
            prompt, gen = prompt + T, gen + max_new
            first = min(n["depth"] for n in d.fields["needles"]) * T
            processed += round(T - (min(first, prev) if prev is not None else 0))
            prev = first
        b = self._bound
        calib = 0
        if b is not None and b.calibrating and per:  # one try per length, often two
            calib = sum(self._target(L, 1) for L in (list(per)[:1] if b.exact else per))
        return {"requests": len(docs), "prompt_tokens": prompt, "max_completion_tokens": gen,
                "calibration_tokens": calib, "total_tokens": prompt + gen + calib,
                "evaluated_with_prefix_cache": processed,
                "per_length": {str(L): v for L, v in sorted(per.items())}}

    # -- corpus-level analysis ------------------------------------------------------------
    @classmethod
    def aggregate(cls, rows: Sequence[Any]) -> tuple[list[Score], dict[str, Any]] | None:
        return aggregate_rows(rows)

    @classmethod
    def aggregate_models(cls, rows_by_model: Mapping[str, Sequence[Any]]
                         ) -> Mapping[str, tuple[list[Score], dict[str, Any]] | None]:
        """Like `aggregate`, for models compared side by side: the headline (acc, acc_strict,
        recall, the depth buckets, the gap) over the grid every model covers; see
        `needle_aggregate.aggregate_models`."""
        return aggregate_models(rows_by_model)

    @classmethod
    def group_score(cls, rows: Sequence[Any], metric: str) -> Score | None:
        """A length's accuracy as the analysis's `by_length` gives it: over its items
        (repeats averaged), the interval clustered by haystack (the breakdowns' item-level
        interval, [24.8, 69.9] beside the analysis's [22.1, 72.9]; an audit's)."""
        if metric != "acc":
            return super().group_score(rows, metric)
        from ..store.rows import ANSWERED

        got = group_stat([r for r in rows if r.status in ANSWERED])
        if got is None or got["n"] == 0:
            return None
        lo, hi = got["ci"]
        return Score("acc", got["acc"], got["stderr"], got["n"],
                     math.nan if lo is None else lo, math.nan if hi is None else hi,
                     extra={"ci_method": got["ci_method"], "se_clusters": got["clusters"]})


async def server_prompt_tokens(provider: Provider, req: GenerateRequest) -> int | None:
    """The prompt's tokens as the server counts them, or None if it does not say.

    Uses `provider.count_prompt_tokens(req)` where the provider has it (a non-streamed call:
    some servers, llama-cpp-python's among them, report no usage when streaming), else the
    usage of an ordinary `generate`.
    """
    for attempt in range(3):
        try:
            if provider.capabilities.count_prompt_tokens:
                n = await provider.count_prompt_tokens(req)
                return int(n) if n else None
            usage = (await provider.generate(req)).usage
            return usage.prompt_tokens if usage.prompt_tokens > 0 and not usage.estimated else None
        except RetryableProviderError:
            if attempt == 2:
                raise
            await asyncio.sleep(2.0**attempt)
    return None


# a refusal that is about the prompt's length (vLLM: "maximum context length", llama.cpp:
# "exceeds the available context size", OpenAI: "context_length_exceeded"): only such is
# retried shorter (any other refusal, a parameter's, was retried as one; a review's)
_TOO_LONG = re.compile(r"context|window|too long|too many tokens|maximum.{0,20}length|exceed"
                       r"|requested \d+ tokens", re.IGNORECASE)
_TRIES = 4  # calibration probes per length
_EDGE_TRIES = 6  # at the window's edge, where a probe may be refused or come out over


def _tolerance(target: int) -> int:
    return max(2, round(0.002 * target))


def _nearest_scale(scale: Mapping[int, float], length: int) -> float:
    below = [L for L in scale if length >= L]
    if below:
        return scale[max(below)]
    return scale[min(scale)] if scale else 1.0


def _keys(rng: random.Random, k: int) -> list[str]:
    pairs = rng.sample(range(len(ADJECTIVES) * len(NOUNS)), k)
    return [f"{ADJECTIVES[p // len(NOUNS)]}-{NOUNS[p % len(NOUNS)]}" for p in pairs]


__all__ = ["NeedleInAHaystack", "NeedleOptions", "aggregate_models", "aggregate_rows",
           "server_prompt_tokens"]
