"""What a judge's requests would cost, before anything is asked (docs/budget.md).

A benchmark with a judge (MT-Bench's grades and comparisons, XSTest's classifications) asks
it once every model has answered, about the answers. The estimate runs the benchmark's own
judge phase (`after_models`) against a phase that sends nothing: every planned item answered
by every model at each repeat, each answer a placeholder as long as that model's expected
answer (its estimate's expected output per request), and every request the judge would be
sent recorded instead. So the count, the templates, the chat or plain-text form and the
pairs are the judge code's own; the prompt tokens are counted as the models' are
(`Benchmark.cost`: ~4 characters a token), and the output, having no reference length, at
the judge's output limit (expected and at most alike).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..benchmarks import Benchmark, Doc
from ..perf.cost import Tokens, token_cost
from ..perf.prices import Price
from ..providers.base import GenerateRequest, GenerateResponse, Provider
from ..scoring.text import estimate_tokens
from ..store.rows import SampleRow, judge_requests
from .budget import JUDGING, model_price
from .shard import shard_docs

if TYPE_CHECKING:
    from .run import Runner


def has_judge_phase(bench: Benchmark) -> bool:
    """Whether the benchmark asks a model of the run about the answers (`after_models`)."""
    return type(bench).after_models is not Benchmark.after_models


def placeholder(tokens: int) -> str:
    """An answer that `estimate_tokens` counts as `tokens` tokens."""
    return "x" * (4 * max(1, tokens))


@dataclass
class DryPhase:
    """A `benchmarks.base.CrossModelPhase` that sends nothing: the samples are the planned
    ones, answered by placeholders, and each request asked is recorded."""

    run_id: str
    models: Mapping[str, str]
    chat: Mapping[str, bool]
    rows: Sequence[SampleRow]
    answers: Mapping[str, str]  # model -> its placeholder answer
    asked: list[tuple[str, GenerateRequest]] = field(default_factory=list)

    def samples(self, benchmark: str) -> list[SampleRow]:
        return [r for r in self.rows if r.benchmark == benchmark]

    def is_chat(self, model: str) -> bool:
        return self.chat[model]

    def answer(self, row: Any) -> str | None:
        return self.answers[row.model]

    async def ask(self, model: str, request: GenerateRequest
                  ) -> tuple[GenerateResponse | None, str, str | None]:
        self.asked.append((model, request))
        return None, "", "a dry run sends nothing"

    def update(self, rows: Sequence[Any]) -> None:
        pass


async def judge_estimates(
    bench: Benchmark, docs: Sequence[Doc], run_id: str, models: Mapping[str, str],
    chat: Mapping[str, bool], answered: Mapping[str, tuple[int, int]],
    prices: Mapping[str, Price],
) -> dict[str, dict[str, Any]]:
    """{judge: its estimate} for the judge's requests about `docs` answered by each model of
    `answered` ({model: (repeats, expected output tokens per answer)}), priced at `prices`
    (the judge's); {} where the benchmark has no judge (or none is set)."""
    if not has_judge_phase(bench) or not docs:
        return {}
    answers = {m: placeholder(tokens) for m, (_, tokens) in answered.items()}
    rows = [SampleRow(model=m, benchmark=bench.name, item_id=d.id, repeat=r, group=d.group,
                      status="ok", metrics={}, extracted=None, reason="",
                      extraction_failed=False, error=None, response_key=None,
                      detail=bench.judged_detail(answers[m]))
            for m in models if m in answered for d in docs for r in range(answered[m][0])]
    phase = DryPhase(run_id, models, chat, rows, answers)
    await bench.after_models(phase)
    out: dict[str, dict[str, Any]] = {}
    for judge, request in phase.asked:
        text = request.prompt or "".join(m.content for m in request.messages or ())
        cost = out.setdefault(judge, {"requests": 0, "prompt_tokens": 0,
                                      "max_completion_tokens": 0})
        cost["requests"] += 1
        cost["prompt_tokens"] += estimate_tokens(text)
        cost["max_completion_tokens"] += request.sampling.max_tokens
    for judge, cost in out.items():
        cost["expected_completion_tokens"] = cost["max_completion_tokens"]
        cost["usd_expected"] = cost["usd_at_most"] = token_cost(
            Tokens(input=cost["prompt_tokens"], output=cost["max_completion_tokens"]),
            prices[judge])
        cost["expected_basis"] = "judging: the judge's output limit (no reference length)"
    return out


def _per_answer(cost: Mapping[str, Any]) -> int:
    """A model's expected output per request, from its estimate of a benchmark."""
    return int(cost.get("expected_completion_tokens", 0)) // max(1, int(cost.get("requests", 1)))


async def judging_work(runner: Runner, providers: Mapping[str, Provider], bench: Benchmark,
                       answered: Mapping[str, tuple[int, Mapping[str, Any]]]
                       ) -> dict[str, dict[str, Any]]:
    """{judge: estimate} of `bench`'s judging in this run, where `answered` is {model:
    (repeats, its estimate of the benchmark)} (the models' expected answers)."""
    docs = shard_docs(bench.name, next(pb.docs for pb in runner.plan() if pb.bench is bench),
                      runner.config.shard)
    models = {m.display: m.spec for m in runner.config.models}
    chat = {m: p.capabilities.chat for m, p in providers.items()}
    prices = {m.display: model_price(m) for m in runner.config.models}
    return await judge_estimates(bench, docs, runner.run_id, models, chat,
                                 {m: (r, _per_answer(c)) for m, (r, c) in answered.items()},
                                 prices)


async def dry_run_judging(runner: Runner, providers: Mapping[str, Provider],
                          manifest: dict[str, Any]) -> None:
    """A dry run's estimate of each judge's requests: in the manifest beside the models'
    (`benchmarks.BENCH.dry_run["JUDGE (judging)"]`) and one line on stderr."""
    for pb in runner.plan():
        if not has_judge_phase(pb.bench):
            continue
        entry = manifest["benchmarks"].get(pb.bench.name) or {}
        dry, per_model = entry.get("dry_run") or {}, entry.get("per_model") or {}
        answered = {m: (int(per_model[m]["repeats"]), c) for m, c in dry.items()
                    if m in per_model}
        for judge, cost in (await judging_work(runner, providers, pb.bench, answered)).items():
            dry[f"{judge} {JUDGING}"] = cost
            usd = cost["usd_at_most"]
            money = f"; at most ${usd:,.2f}" if usd is not None else "; price unknown"
            print(f"dry run: {judge} {JUDGING} · {pb.bench.name}: {cost['requests']:,} "
                  f"requests; prompt tokens {cost['prompt_tokens']:,}, max completion tokens "
                  f"{cost['max_completion_tokens']:,}{money}", file=sys.stderr)


def judging_left(runner: Runner, bench: Benchmark, requests: int) -> float:
    """The share of a benchmark's `requests` judge requests this run has not yet had
    answered: those whose answers are stored (their keys in the samples' details) are done."""
    keys = {k for s in runner.store.samples(runner.run_id, benchmark=bench.name)
            for k in judge_requests(s.detail)[1] if k}
    done = sum(1 for k in keys if runner.store.get_response(k) is not None)
    return max(0, requests - done) / max(1, requests)


async def judging_left_usd(runner: Runner, providers: Mapping[str, Provider]
                           ) -> dict[str, tuple[float, float, float]]:
    """{judge: (expected, at most) USD of the judging this run has left, and the most one of
    its requests may cost}, for the cap's check before anything is sent and the reservation
    of each judge request (`budget.preflight`)."""
    from .budget import estimate
    from .run import choose_mode

    out: dict[str, tuple[float, float, float]] = {}
    for pb in runner.plan():
        if not has_judge_phase(pb.bench):
            continue
        answered: dict[str, tuple[int, Mapping[str, Any]]] = {}
        for m in runner.config.models:
            provider = providers[m.display]
            mode = choose_mode(m, provider, pb.bench)
            ctx = runner._prompt_context(m, provider, pb, mode)
            repeats = runner._repeats(mode, ctx.sampling)
            docs = shard_docs(pb.bench.name, pb.docs, runner.config.shard)
            answered[m.display] = (repeats, estimate(
                pb.bench, docs, ctx, 1, model_price(m),
                reasoning=provider.capabilities.reasoning))
        for judge, cost in (await judging_work(runner, providers, pb.bench, answered)).items():
            n = int(cost["requests"])
            share = judging_left(runner, pb.bench, n)
            e, a, one = out.get(judge, (0.0, 0.0, 0.0))
            most = cost["usd_at_most"] or 0.0
            out[judge] = (e + (cost["usd_expected"] or 0.0) * share, a + most * share,
                          max(one, most / max(1, n)))
    return out
