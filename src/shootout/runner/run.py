"""Run orchestration: every model on every benchmark, cached, resumable, concurrent."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..benchmarks import Benchmark, Doc, PromptContext, get_benchmark_class, sample_docs
from ..benchmarks.base import Mode
from ..config import (
    DEFAULT_SAMPLED_REPEATS,
    PROTOCOL_DESCRIPTIONS,
    SEED_PROTOCOL,
    ModelConfig,
    RunConfig,
)
from ..data.files import DataDir, resolve_data_dir
from ..errors import CapabilityError, ConfigError, ProviderError, SandboxError
from ..providers.base import (
    Provider,
    Sampling,
    response_from_dict,
    response_to_dict,
)
from ..providers.registry import make_provider
from ..store.sqlite import SampleRow, Store
from .manifest import base_manifest
from .progress import Progress
from .retry import RetriesExhausted, RetryBudget, RetryPolicy, with_retries


@dataclass
class PlannedBenchmark:
    bench: Benchmark
    docs: list[Doc]
    fewshot: int


def request_key(identity: str, request: dict[str, Any], repeat: int) -> str:
    blob = json.dumps({"model": identity, "request": request, "repeat": repeat}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def choose_mode(cfg: ModelConfig, provider: Provider, bench: Benchmark) -> Mode:
    """The scoring mode: loglikelihood where the model exposes logprobs, else generative."""
    want = cfg.scoring
    if want == "auto":
        want = "loglikelihood" if provider.supports_loglikelihood else "generative"
        if want not in bench.modes:
            want = bench.modes[0]
    if want == "loglikelihood" and not provider.supports_loglikelihood:
        raise CapabilityError(
            f"{cfg.display} cannot be scored by log-likelihood; use --scoring generative"
            + (
                " or --logprobs if the server supports completions echo"
                if cfg.spec.startswith("openai:")
                else ""
            )
        )
    if want not in bench.modes:
        raise CapabilityError(f"{bench.name} supports only {', '.join(bench.modes)} scoring")
    return want  # type: ignore[return-value]


class Runner:
    def __init__(
        self,
        config: RunConfig,
        store: Store,
        *,
        data_dir: str | None = None,
        progress: Progress | None = None,
        policy: RetryPolicy | None = None,
        unsafe_exec: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.data = DataDir(resolve_data_dir(data_dir))
        self.progress = progress or Progress(enabled=False)
        self.policy = policy or RetryPolicy()
        self.run_id = config.run_id()
        self.unsafe_exec = unsafe_exec

    def plan(self) -> list[PlannedBenchmark]:
        """Load and sample every benchmark's documents before any model is touched."""
        planned = []
        for bc in self.config.benchmarks:
            cls = get_benchmark_class(bc.name)
            bench = cls(data=self.data, fewshot_seed=self.config.seed, options=dict(bc.options))
            if self.unsafe_exec:
                bench.options["unsafe_exec"] = True
            docs = bench.load()
            limit = bc.limit if bc.limit is not None else self.config.limit
            fewshot = bc.fewshot if bc.fewshot is not None else cls.default_fewshot
            planned.append(
                PlannedBenchmark(bench, sample_docs(docs, limit, self.config.seed), fewshot)
            )
        return planned

    async def run(self) -> str:
        resumed = self.store.upsert_run(self.run_id, self.config.model_dump(mode="json"))
        planned = self.plan()
        manifest: dict[str, Any] = {
            **base_manifest(),
            "resumed": resumed,
            "protocol": {
                "name": self.config.protocol,
                "description": PROTOCOL_DESCRIPTIONS[self.config.protocol],
            },
            "models": {},
            "benchmarks": {},
        }
        try:
            for mcfg in self.config.models:
                await self._run_model(mcfg, planned, manifest)
        except BaseException:
            self.store.set_run_status(self.run_id, "interrupted")
            raise
        manifest["data_checksums"] = dict(sorted(self.data.checksums.items()))
        manifest["data_dir"] = str(self.data.root) if self.data.root else "huggingface-hub"
        self.store.set_manifest(self.run_id, manifest)
        dry = bool(planned) and all(pb.bench.options.get("dry_run") for pb in planned)
        # a dry run priced the grid and sent nothing: it is not a complete run of anything
        self.store.set_run_status(self.run_id, "dry-run" if dry else "complete")
        return self.run_id

    async def _run_model(
        self, mcfg: ModelConfig, planned: list[PlannedBenchmark], manifest: dict[str, Any]
    ) -> None:
        provider = make_provider(
            mcfg.spec,
            base_url=mcfg.base_url,
            api_key_env=mcfg.api_key_env,
            chat=mcfg.chat,
            concurrency=mcfg.concurrency,
            timeout=mcfg.timeout,
            logprobs=mcfg.logprobs,
            **({"n_ctx": mcfg.n_ctx} if mcfg.n_ctx else {"min_n_ctx": _wanted_n_ctx(planned)}),
        )
        try:
            await provider.check()
            budget = RetryBudget(mcfg.retry_budget)
            policy = replace(self.policy, max_attempts=mcfg.max_attempts)
            manifest["models"][mcfg.display] = {"spec": mcfg.spec, **provider.info()}
            for pb in planned:
                mode = choose_mode(mcfg, provider, pb.bench)
                ctx = self._prompt_context(mcfg, provider, pb, mode)
                repeats = self._repeats(mode, ctx.sampling)
                docs = pb.docs
                bind = getattr(pb.bench, "bind_model", None)
                if bind is not None:  # benchmarks sized in the model's own tokens (needle)
                    docs = list(await bind(provider, pb.docs, ctx))
                entry = manifest["benchmarks"].setdefault(
                    pb.bench.name,
                    {
                        "version": pb.bench.version,
                        "citation": pb.bench.citation,
                        "n_items": len(docs),
                        "fewshot": pb.fewshot,
                        "fewshot_seed": self.config.seed,
                        "sample_seed": self.config.seed,
                    },
                )
                entry.setdefault("per_model", {})[mcfg.display] = {
                    "mode": mode,
                    "chat": provider.is_chat,
                    "repeats": repeats,
                    "sampling": ctx.sampling.to_dict() if mode == "generative" else None,
                    "template_hash": pb.bench.template_hash(docs, ctx),
                    **self._binding_info(pb.bench),
                }
                if pb.bench.options.get("dry_run"):
                    self._report_dry_run(mcfg.display, pb.bench, docs, ctx, entry)
                    continue
                bound = PlannedBenchmark(pb.bench, docs, pb.fewshot)
                await self._run_benchmark(mcfg, provider, bound, ctx, repeats, budget, policy)
        finally:
            await provider.aclose()

    @staticmethod
    def _report_dry_run(
        model: str, bench: Benchmark, docs: list[Doc], ctx: PromptContext, entry: dict[str, Any]
    ) -> None:
        """Print what the grid would cost, send nothing."""
        import sys

        cost_fn = getattr(bench, "cost", None)
        cost = cost_fn(docs, ctx) if cost_fn is not None else {"requests": len(docs)}
        entry.setdefault("dry_run", {})[model] = cost
        parts = ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in cost.items() if isinstance(v, int)
        )
        print(f"dry run: {model} · {bench.name}: {len(docs)} requests; {parts}", file=sys.stderr)

    @staticmethod
    def _binding_info(bench: Benchmark) -> dict[str, Any]:
        info = getattr(bench, "model_info", None)
        return {"model_binding": info()} if info is not None else {}

    def _prompt_context(
        self, mcfg: ModelConfig, provider: Provider, pb: PlannedBenchmark, mode: Mode
    ) -> PromptContext:
        s = mcfg.sampling or self.config.sampling
        bench = pb.bench
        seed = self.config.protocol == "seed" and bench.follows_seed_protocol
        temperature, top_p = (
            (SEED_PROTOCOL["temperature"], SEED_PROTOCOL["top_p"])
            if seed
            else (bench.default_temperature, bench.default_top_p)
        )
        sampling = Sampling(
            temperature=s.temperature if s.temperature is not None else temperature,
            top_p=s.top_p if s.top_p is not None else top_p,
            max_tokens=s.max_tokens or bench.default_max_tokens,
        )
        return PromptContext(
            mode=mode, chat=provider.is_chat, sampling=sampling, fewshot=pb.fewshot
        )

    def _repeats(self, mode: Mode, sampling: Sampling) -> int:
        if mode == "loglikelihood" or sampling.temperature == 0:
            return 1  # deterministic: repeating would measure nothing
        if self.config.repeats:
            return self.config.repeats
        if self.config.protocol == "seed":
            return int(SEED_PROTOCOL["repeats"])
        return DEFAULT_SAMPLED_REPEATS

    async def _run_benchmark(
        self,
        mcfg: ModelConfig,
        provider: Provider,
        pb: PlannedBenchmark,
        ctx: PromptContext,
        repeats: int,
        budget: RetryBudget,
        policy: RetryPolicy,
    ) -> None:
        name = mcfg.display
        done = self.store.done_samples(self.run_id, name, pb.bench.name)
        jobs = [(d, r) for d in pb.docs for r in range(repeats) if (d.id, r) not in done]
        task = self.progress.add(
            f"{name} · {pb.bench.name}",
            total=len(pb.docs) * repeats,
            completed=len(pb.docs) * repeats - len(jobs),
        )
        pb.bench.prepare(pb.docs, ctx)
        sem = asyncio.Semaphore(provider.max_connections)
        identity = provider.cache_identity()
        rng = random.Random(self.config.seed)

        async def one(doc: Doc, rep: int) -> None:
            async with sem:
                row = await self._sample(
                    provider, identity, pb.bench, doc, rep, ctx, (policy, budget, rng), name
                )
                self.store.put_sample(self.run_id, row[0], attempts=row[1])
                self.progress.advance(task)

        pending = [asyncio.create_task(one(d, r)) for d, r in jobs]
        try:
            await asyncio.gather(*pending)
        except BaseException:
            for t in pending:
                t.cancel()
            raise

    async def _sample(
        self,
        provider: Provider,
        identity: str,
        bench: Benchmark,
        doc: Doc,
        rep: int,
        ctx: PromptContext,
        retry: tuple[RetryPolicy, RetryBudget, random.Random],
        model_name: str,
    ) -> tuple[SampleRow, int]:
        rctx = ctx
        if ctx.mode == "generative" and ctx.sampling.temperature > 0:
            rctx = replace(ctx, sampling=replace(ctx.sampling, seed=self.config.seed + rep))
        base: dict[str, Any] = dict(
            model=model_name,
            benchmark=bench.name,
            item_id=doc.id,
            repeat=rep,
            group=doc.group,
            response_key=None,
        )
        try:
            request = bench.request(doc, rctx)
        except _RUN_WIDE_ERRORS:
            raise
        except Exception as e:  # one malformed item fails itself, never the run
            return _failed(base, f"could not build the request: {type(e).__name__}: {e}"), 0
        req_dict = request.to_dict()
        key = request_key(identity, req_dict, rep)
        base["response_key"] = key
        cached = self.store.get_response(key)
        attempts = 0
        if cached is not None:
            response = response_from_dict(cached)
        else:
            call = (
                (lambda: provider.loglikelihood(request))  # type: ignore[arg-type]
                if req_dict["kind"] == "loglikelihood"
                else (lambda: provider.generate(request))  # type: ignore[arg-type]
            )
            try:
                response, attempts = await with_retries(call, *retry)
            except RetriesExhausted as e:
                return _failed(base, f"after {e.attempts} attempts: {e}"), e.attempts
            except CapabilityError:
                raise
            except ProviderError as e:
                return _failed(base, str(e)), 1
            self.store.put_response(
                key, identity, req_dict["kind"], req_dict, response_to_dict(response)
            )
        try:
            if bench.score_in_thread:
                score = await asyncio.to_thread(bench.score, doc, rctx, response)
            else:
                score = bench.score(doc, rctx, response)
        except _RUN_WIDE_ERRORS:
            raise
        except Exception as e:  # the response stays cached: a rerun after a fix re-scores it
            return _failed(base, f"could not score the response: {type(e).__name__}: {e}"), attempts
        return SampleRow(
            status="ok",
            metrics=dict(score.metrics),
            extracted=score.extracted,
            reason=score.reason,
            extraction_failed=score.extraction_failed,
            detail={"mode": rctx.mode, **score.detail},
            error=None,
            **base,
        ), attempts


# errors that no item can escape (a bad setting, a missing sandbox): they stop the run
_RUN_WIDE_ERRORS = (ConfigError, SandboxError, CapabilityError)


def _failed(base: dict[str, Any], error: str) -> SampleRow:
    """A sample that produced no score, with the reason; it is retried on the next run."""
    return SampleRow(
        status="failed",
        metrics={},
        extracted=None,
        reason="",
        extraction_failed=False,
        error=error,
        **base,
    )


def build_config(
    models: Sequence[str],
    benchmarks: Sequence[str],
    **kwargs: Any,
) -> RunConfig:
    """A RunConfig from CLI values (config-file runs go through config.validate_config)."""
    from ..config import validate_config

    data = {"models": list(models), "benchmarks": list(benchmarks), **kwargs}
    return validate_config(data, "command line")


def _wanted_n_ctx(planned: Sequence[PlannedBenchmark]) -> int | None:
    """The largest context a planned benchmark asks of a local model (needle's lengths)."""
    wants = [w for pb in planned if (f := getattr(pb.bench, "wanted_n_ctx", None)) and (w := f())]
    return max(wants, default=None)
