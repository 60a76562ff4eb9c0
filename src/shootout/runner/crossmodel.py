"""The phase after every model has answered: each benchmark's `after_models` hook (MT-Bench's
judge), given the run's models, its stored samples and a way to ask any model of the run.

A request asked here goes through the same path as a benchmark's own (`sample.respond`): the
response cache keyed by (model, request, repeat), the model's cache policy, rate limits and
retry budget, and the store. A rerun of the run therefore asks again only what has no stored
answer, and a judgment is cached like any response.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import RunConfig
from ..errors import ConfigError
from ..providers.base import GenerateRequest, GenerateResponse, Provider
from ..store.sqlite import SampleRow, Store
from .budget import JUDGING, Budget, settle_sample
from .pacing import Pacer
from .retry import RetryBudget, RetryPolicy
from .sample import Route, respond, route_key


@dataclass
class Phase:
    """One run's cross-model phase (implements `benchmarks.base.CrossModelPhase`)."""

    config: RunConfig
    store: Store
    providers: Mapping[str, Provider]
    policy: RetryPolicy
    run_id: str
    budget: Budget | None = None  # the run's cost caps, where it has any
    models: Mapping[str, str] = field(init=False)
    _routes: dict[str, tuple[Route, RetryPolicy, RetryBudget]] = field(default_factory=dict)
    _slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    # each request asked in this phase, by its cache key: its answer, in flight or done
    _asked: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.models = {m.display: m.spec for m in self.config.models}

    def samples(self, benchmark: str) -> list[SampleRow]:
        return list(self.store.samples(self.run_id, benchmark=benchmark))

    def is_chat(self, model: str) -> bool:
        return self._route(model)[0].provider.capabilities.chat

    def answer(self, row: SampleRow) -> str | None:
        """The text of the stored response `row` was scored on (None: none is stored)."""
        stored = self.store.get_response(row.response_key) if row.response_key else None
        if stored is None or stored.get("kind") == "loglikelihood":
            return None
        return str(stored.get("text") or "")

    async def ask(self, model: str, request: GenerateRequest
                  ) -> tuple[GenerateResponse | None, str, str | None]:
        """`request` answered by `model`, once per phase: the same request asked again (a
        judge's prompt about answers that repeats gave alike) shares the first one's answer,
        in flight or done. Each was sent and paid for, though the store kept one answer, and
        the cost counted one (the cache serves an answer only once it is stored; under
        `--cache refresh` never)."""
        route = self._route(model)[0]
        key = route_key(route, request.to_dict())
        shared = self._asked.get(key)
        if shared is None:
            shared = self._asked[key] = asyncio.ensure_future(self._ask(model, request))
        return await asyncio.shield(shared)

    async def _ask(self, model: str, request: GenerateRequest
                   ) -> tuple[GenerateResponse | None, str, str | None]:
        route, policy, retries = self._route(model)
        # a cost cap holds here as for the models' answers: a judge's request goes out only
        # while the spend is under it, and is not sent past it (the rerun asks it)
        reserved = await self.budget.admit(model, JUDGING) if self.budget else 0.0
        if reserved is None:
            return None, "", "not sent: the cost cap is reached"
        async with self._slots[model]:  # the model's connection limit
            answer = await respond(route, self.store, request,
                                   (policy, retries, random.Random(self.config.seed)))
        if self.budget is not None:
            await settle_sample(self.budget, self.store, model, reserved, answer.key,
                                answer.attempts, self.budget.estimate_of(model, JUDGING))
        if answer.failed is not None or not isinstance(answer.response, GenerateResponse):
            return None, answer.key, answer.failed or "not a generated answer"
        return answer.response, answer.key, None

    def update(self, rows: Sequence[SampleRow]) -> None:
        self.store.update_sample_scores(self.run_id, list(rows))

    def _route(self, model: str) -> tuple[Route, RetryPolicy, RetryBudget]:
        if model not in self._routes:
            mcfg = next((m for m in self.config.models if m.display == model), None)
            if mcfg is None:
                raise ConfigError(f"{model!r} is not a model of this run")
            provider = self.providers[model]
            pacer = Pacer(mcfg.rpm, mcfg.tpm) if mcfg.rpm or mcfg.tpm else None
            route = Route(provider, provider.cache_identity(), 0,
                          mcfg.cache or self.config.cache, self.run_id, pacer)
            self._slots[model] = asyncio.Semaphore(provider.capabilities.max_connections)
            self._routes[model] = (route, replace(self.policy, max_attempts=mcfg.max_attempts),
                                   RetryBudget(mcfg.retry_budget))
        return self._routes[model]


async def run_after_models(phase: Phase, benches: Sequence[Any]) -> None:
    """Every benchmark's `after_models` hook, in the run's order."""
    for bench in benches:
        await bench.after_models(phase)
