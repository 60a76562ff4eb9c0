"""What a judge's requests would cost, before anything is asked (docs/budget.md).

A benchmark with a judge (MT-Bench's grades and comparisons, XSTest's classifications) asks
it once every model has answered, about the answers. The estimate runs the benchmark's own
judge phase (`after_models`) against a phase that sends nothing: every planned item answered
by every model at each repeat, each answer a placeholder as long as that model's expected
answer (its estimate's expected output per request; a reasoning model's at the benchmark's
answer limit, as the judge reads it without its thinking) and, for the at-most figures, as
long as its most, and every request the judge would be sent recorded instead. So the count,
the templates, the chat or plain-text form and the pairs are the judge code's own; the
prompt tokens are counted as the models' are (`Benchmark.cost`: ~4 characters a token), and
the output, having no reference length, at the judge's output limit. Before a rerun, the
answers stored so far stand in for their placeholders and a request whose answer is stored
is not counted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..benchmarks import Benchmark, Doc
from ..benchmarks.base import has_after_models
from ..perf.cost import Tokens, token_cost
from ..perf.prices import Price
from ..providers.base import Capabilities, GenerateRequest, GenerateResponse, Provider
from ..scoring.text import estimate_tokens, text_of_tokens
from ..store.rows import SampleRow, judge_requests
from .budget import JUDGING, dry_run_line, model_price
from .sample import request_key
from .shard import shard_docs

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..store.sqlite import Store
    from .run import Runner


def has_judge_phase(bench: Benchmark) -> bool:
    """Whether the benchmark asks a model of the run about the answers (`after_models`)."""
    return has_after_models(type(bench))


@dataclass
class DryPhase:
    """A `benchmarks.base.CrossModelPhase` that sends nothing: the samples are the planned
    ones (stored answers where there are, placeholders where not), and each request asked
    that has no stored answer (`cached`) is recorded."""

    run_id: str
    models: Mapping[str, str]
    chat: Mapping[str, bool]
    rows: Sequence[SampleRow]
    answers: Mapping[str, str]  # model -> its placeholder answer
    stored_answer: Callable[[SampleRow], str | None] | None = None
    cached: Callable[[str, GenerateRequest], bool] | None = None
    asked: list[tuple[str, GenerateRequest]] = field(default_factory=list)

    def samples(self, benchmark: str) -> list[SampleRow]:
        return [r for r in self.rows if r.benchmark == benchmark]

    def is_chat(self, model: str) -> bool:
        return self.chat[model]

    def answer(self, row: Any) -> str | None:
        if row.response_key is not None and self.stored_answer is not None:
            return self.stored_answer(row)
        return self.answers[row.model]

    async def ask(self, model: str, request: GenerateRequest
                  ) -> tuple[GenerateResponse | None, str, str | None]:
        if self.cached is None or not self.cached(model, request):
            self.asked.append((model, request))
        return None, "", "a dry run sends nothing"

    def update(self, rows: Sequence[Any]) -> None:
        pass


@dataclass(frozen=True)
class Stored:
    """What the check before a rerun knows of the run so far: its answered samples of the
    benchmark, their answers' texts, and which requests have stored answers."""

    rows: Sequence[SampleRow]
    answer: Callable[[SampleRow], str | None]
    cached: Callable[[str, GenerateRequest], bool]


async def _asked(bench: Benchmark, docs: Sequence[Doc], run_id: str,
                 models: Mapping[str, str], chat: Mapping[str, bool],
                 answered: Mapping[str, tuple[int, int]], stored: Stored | None
                 ) -> list[tuple[str, GenerateRequest]]:
    """The requests the judge phase would send, each model's answers `answered[model]` =
    (repeats, tokens per answer) long where no answer is stored."""
    answers = {m: text_of_tokens(tokens) for m, (_, tokens) in answered.items()}
    ids = {d.id for d in docs}
    real = [r for r in (stored.rows if stored else ()) if r.item_id in ids and r.answered]
    have = {(r.model, r.item_id, r.repeat) for r in real}
    rows = [*real, *(
        SampleRow(model=m, benchmark=bench.name, item_id=d.id, repeat=r, group=d.group,
                  status="ok", metrics={}, extracted=None, reason="", extraction_failed=False,
                  error=None, response_key=None, detail=bench.judged_detail(answers[m]))
        for m in models if m in answered for d in docs for r in range(answered[m][0])
        if (m, d.id, r) not in have)]
    phase = DryPhase(run_id, models, chat, rows, answers,
                     stored.answer if stored else None, stored.cached if stored else None)
    await bench.after_models(phase)
    return phase.asked


def _tokens(asked: Sequence[tuple[str, GenerateRequest]], headroom: Mapping[str, int]
            ) -> dict[str, list[tuple[int, int]]]:
    """{judge: [(prompt tokens, output limit)] of each request}; a judge's output limit with
    what its provider asks for on top (`headroom`: Anthropic's thinking budget)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for judge, request in asked:
        text = request.prompt or "".join(m.content for m in request.messages or ())
        out.setdefault(judge, []).append(
            (estimate_tokens(text), request.sampling.max_tokens + headroom.get(judge, 0)))
    return out


async def judge_estimates(
    bench: Benchmark, docs: Sequence[Doc], run_id: str, models: Mapping[str, str],
    caps: Mapping[str, Capabilities], answered: Mapping[str, tuple[int, int, int]],
    prices: Mapping[str, Price], stored: Stored | None = None,
) -> dict[str, dict[str, Any]]:
    """{judge: its estimate} for the judge's requests about `docs` answered by each model of
    `answered` ({model: (repeats, expected tokens per answer, most tokens per answer)}),
    priced at `prices` (the judge's); {} where the benchmark has no judge (or none is set).
    The expected figures hold answers of the expected length, the at-most ones answers of the
    most (they differ for a reasoning model); `usd_one_at_most` is the dearest request at its
    most. With `stored`, the samples already answered are judged on their stored answers, and
    a request whose answer is stored is not counted: what is left to ask. `caps`: each
    model's capabilities (whether it chats; a judge's output tokens asked for on top of a
    request's limit, `output_headroom`)."""
    if not has_judge_phase(bench) or not docs:
        return {}
    chat = {m: c.chat for m, c in caps.items()}
    extra = {m: c.output_headroom for m, c in caps.items()}
    expected = _tokens(await _asked(bench, docs, run_id, models, chat,
                                    {m: (r, e) for m, (r, e, _) in answered.items()}, stored),
                       extra)
    most = expected if all(e == a for _, e, a in answered.values()) else _tokens(
        await _asked(bench, docs, run_id, models, chat,
                     {m: (r, a) for m, (r, _, a) in answered.items()}, stored), extra)
    out: dict[str, dict[str, Any]] = {}
    for judge, requests in expected.items():
        price = prices[judge]
        prompt = sum(p for p, _ in requests)
        limit = sum(n for _, n in requests)
        at_most = most.get(judge, requests)
        ones = [token_cost(Tokens(input=p, output=n), price) or 0.0 for p, n in at_most]
        out[judge] = {
            "requests": len(requests), "prompt_tokens": prompt, "max_completion_tokens": limit,
            "expected_completion_tokens": limit,
            "usd_expected": token_cost(Tokens(input=prompt, output=limit), price),
            "usd_at_most": token_cost(Tokens(input=sum(p for p, _ in at_most),
                                             output=sum(n for _, n in at_most)), price),
            "usd_one_at_most": max(ones, default=0.0),
            "expected_basis": "judging: the judge's output limit (no reference length)"}
    return out


def _per_answer(bench: Benchmark, cost: Mapping[str, Any], reasoning: bool
                ) -> tuple[int, int]:
    """A model's answer per request as a judge reads it, (expected, most) tokens, from its
    estimate of a benchmark. A reasoning model's thinking is stripped before the judge reads
    the answer, so its expected answer is the benchmark's limit for an answer (its estimate
    holds the whole reasoning budget), and its answer at most is that budget."""
    most = int(cost.get("max_completion_tokens", 0)) // max(1, int(cost.get("requests", 1)))
    tokens = int(cost.get("expected_completion_tokens", 0)) // max(1, int(cost.get("requests",
                                                                                1)))
    if reasoning:
        tokens = min(tokens, bench.chat_max_tokens or bench.default_max_tokens)
    return tokens, max(tokens, most)


async def judging_work(runner: Runner, providers: Mapping[str, Provider], bench: Benchmark,
                       answered: Mapping[str, tuple[int, int, int]],
                       stored: Stored | None = None) -> dict[str, dict[str, Any]]:
    """{judge: estimate} of `bench`'s judging in this run, where `answered` is {model:
    (repeats, expected answer tokens, most answer tokens)}."""
    docs = shard_docs(bench.name, next(pb.docs for pb in runner.plan() if pb.bench is bench),
                      runner.config.shard)
    models = {m.display: m.spec for m in runner.config.models}
    caps = {m: p.capabilities for m, p in providers.items()}
    prices = {m.display: model_price(m) for m in runner.config.models}
    return await judge_estimates(bench, docs, runner.run_id, models, caps, answered, prices,
                                 stored)


async def dry_run_judging(runner: Runner, providers: Mapping[str, Provider],
                          manifest: dict[str, Any]) -> None:
    """A dry run's estimate of each judge's requests: in the manifest beside the models'
    (`benchmarks.BENCH.dry_run["JUDGE (judging)"]`) and one line on stderr."""
    for pb in runner.plan():
        if not has_judge_phase(pb.bench):
            continue
        entry = manifest["benchmarks"].get(pb.bench.name) or {}
        dry, per_model = entry.get("dry_run") or {}, entry.get("per_model") or {}
        answered = {m: (int(per_model[m]["repeats"]),
                        *_per_answer(pb.bench, c, bool(per_model[m].get("reasoning"))))
                    for m, c in dry.items() if m in per_model}
        for judge, cost in (await judging_work(runner, providers, pb.bench, answered)).items():
            dry[f"{judge} {JUDGING}"] = cost
            print(dry_run_line(f"{judge} {JUDGING}", pb.bench.name, cost), file=sys.stderr)


def _stored(runner: Runner, providers: Mapping[str, Provider], bench: Benchmark) -> Stored:
    """The run so far, for the judging a rerun has left: a request's answer is found as
    `sample.respond` finds it (the judge's cache identity, the run's under cache "off"; never
    under "refresh"). The identity is the one the run's judge requests were stored under: a
    provider's own may hold what its endpoint check learns (an OpenAI-compatible server's
    model entry), and the check comes after this one."""
    store, run_id = runner.store, runner.run_id
    policies = {m.display: m.cache or runner.config.cache for m in runner.config.models}
    rows = list(store.samples(run_id, benchmark=bench.name))
    identities: dict[str, str] = {}
    for s in rows:
        judge, keys = judge_requests(s.detail)
        if judge is not None and judge not in identities:
            found = next((i for k in keys if k and (i := store.response_identity(k))), None)
            if found is not None:
                identities[judge] = found

    def answer(row: SampleRow) -> str | None:
        got = store.get_response(row.response_key) if row.response_key else None
        return None if got is None or got.get("kind") == "loglikelihood" else str(
            got.get("text") or "")

    def cached(model: str, request: GenerateRequest) -> bool:
        if policies[model] == "refresh":
            return False
        identity = identities.get(model) or providers[model].cache_identity()
        if policies[model] == "off":
            identity = f"{identity}|run:{run_id}"
        return store.get_response(request_key(identity, request.to_dict(), 0)) is not None

    return Stored(rows, answer, cached)


async def judging_left_usd(runner: Runner, providers: Mapping[str, Provider]
                           ) -> dict[str, tuple[float, float, float]]:
    """{judge: (expected, at most) USD of the judging this run has left, and the most one of
    its requests may cost}, for the cap's check before anything is sent and the reservation
    of each judge request (`budget.preflight`): the judge phase as a rerun would run it, on
    the answers stored so far and placeholders for the rest, less the requests whose answers
    are stored."""
    from .budget import estimate
    from .checks import choose_mode

    out: dict[str, tuple[float, float, float]] = {}
    for pb in runner.plan():
        if not has_judge_phase(pb.bench):
            continue
        answered: dict[str, tuple[int, int, int]] = {}
        for m in runner.config.models:
            provider = providers[m.display]
            mode = choose_mode(m, provider, pb.bench)
            ctx = runner._prompt_context(m, provider, pb, mode)
            docs = shard_docs(pb.bench.name, pb.docs, runner.config.shard)
            reasoning = provider.capabilities.reasoning
            # (as the dry run's figures, which `dry_run_judging` reads, count it)
            cost = estimate(pb.bench, docs, ctx, 1, model_price(m), reasoning=reasoning,
                            headroom=provider.capabilities.output_headroom)
            answered[m.display] = (runner._repeats(mode, ctx.sampling),
                                   *_per_answer(pb.bench, cost, reasoning))
        stored = _stored(runner, providers, pb.bench)
        for judge, cost in (await judging_work(runner, providers, pb.bench, answered,
                                               stored)).items():
            e, a, one = out.get(judge, (0.0, 0.0, 0.0))
            out[judge] = (e + (cost["usd_expected"] or 0.0), a + (cost["usd_at_most"] or 0.0),
                          max(one, cost["usd_one_at_most"]))
    return out


def judge_problems(db: Store, run_id: str, cfg: RunConfig) -> tuple[int, int, int]:
    """(failed, unreadable, all) of the judge's requests stored in the samples of the run's
    judged benchmarks: the records under each sample's detail["judge"] (MT-Bench's grades
    and comparisons, a comparison kept in both models' samples; XSTest's classification),
    each by its request's key, an "error" (the request failed) or "unreadable" (its verdict
    named nothing) or read. A record without a key asked nothing (no stored answer)."""
    records: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("key"), str):
                records[node["key"]] = node
                return
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for b in cfg.benchmarks:
        if b.options.get("judge"):
            for row in db.samples(run_id, benchmark=b.name):
                walk(row.detail.get("judge"))
    failed = sum("error" in r for r in records.values())
    unreadable = sum("unreadable" in r and "error" not in r for r in records.values())
    return failed, unreadable, len(records)
