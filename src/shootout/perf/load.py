"""The load generator behind `shootout perf`: one endpoint, levels of concurrency or rate.

It drives the project's own OpenAIProvider (the client every run uses), so what it measures is
what runs see. Each level is bounded twice: at most `max_requests` requests are sent and none is
started after `duration` seconds; requests still running `grace` seconds after that are
cancelled and counted as errors, so a level always ends. No retries: a failure is a data point.

  concurrency C  closed loop: C workers, each sends its next request when the last one ends
                 (optionally started evenly over `ramp_up` seconds instead of all at once)
  rate R         open loop: Poisson arrivals, exponential gaps of mean 1/R (seeded), at most
                 `max_concurrency` in flight; time waiting for a slot is not in any latency

The duration of a level runs from its start to the end of its last request (vLLM's
benchmark duration: the first arrival waits one gap), and over at least `duration` for a
level cut short by it; throughputs are over it.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from ..errors import ShootoutError
from ..providers.base import GenerateRequest, GenerateResponse, Timing, Usage
from .metrics import RequestMetrics, request_metrics, summarize, throughput

Mode = Literal["concurrency", "rate"]
TokenCounter = Callable[[str], Awaitable[int | None]]


@dataclass(frozen=True)
class Level:
    mode: Mode
    value: float

    @property
    def label(self) -> str:
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"c={v}" if self.mode == "concurrency" else f"{v} req/s"


@dataclass(frozen=True)
class LoadSpec:
    max_requests: int = 100
    duration: float = 300.0
    grace: float = 60.0
    max_concurrency: int = 256
    ramp_up: float = 0.0
    seed: int = 1234


@dataclass(frozen=True)
class RequestRecord:
    index: int
    start: float  # seconds from the level's start, when the request was handed to the client
    error: str | None = None
    metrics: RequestMetrics | None = None
    timing: Timing | None = field(default=None, repr=False, compare=False)
    text_chars: int = 0
    # False for an arrival the level ended before it was sent (it waited for a
    # --max-concurrency slot): not a request of the level's, nor an error of the endpoint's
    sent: bool = True


@dataclass
class LevelResult:
    level: Level
    duration: float
    records: list[RequestRecord] = field(default_factory=list)
    t0: float = 0.0  # time.perf_counter() at the level's start; record starts are from it
    # the first request that failed on an error in shootout itself, not of the endpoint's
    # or the network's (a bug: recorded as a failed request, then raised once stored)
    internal: BaseException | None = None

    @property
    def ok(self) -> list[RequestMetrics]:
        return [r.metrics for r in self.records if r.metrics is not None]

    def summary(self) -> dict[str, Any]:
        ok = self.ok
        sent = [r for r in self.records if r.sent]
        errors = Counter(r.error for r in sent if r.error is not None)
        unsent = Counter(r.error or "" for r in self.records if not r.sent)
        n_ok = max(1, len(ok))
        return {
            "mode": self.level.mode,
            "value": self.level.value,
            "label": self.level.label,
            # the requests sent (as vLLM's benchmark counts them): an arrival that the level
            # ended before it could be sent is counted apart, as `not_sent`
            "requests": len(sent),
            "completed": len(ok),
            "errors": sum(errors.values()),
            "error_kinds": error_kinds(errors),
            "not_sent": sum(unsent.values()),
            "not_sent_kinds": error_kinds(unsent),
            # completed without a single content token (no TTFT, no output): e.g. a server
            # that cuts a stream short when another request arrives (llama_cpp.server's
            # default); a non-streamed answer has no TTFT either, but has its tokens
            "empty": sum(1 for r in ok if r.ttft is None and r.output_tokens == 0),
            "duration_s": self.duration,
            **throughput(ok, self.duration),
            # none where no request completed (a mean of nothing, not 0)
            "input_tokens_mean": sum(r.input_tokens for r in ok) / n_ok if ok else None,
            "output_tokens_mean": sum(r.output_tokens for r in ok) / n_ok if ok else None,
            "tokens_estimated": any(r.estimated for r in ok),
            **summarize(ok).to_dict(),
        }


class _Level:
    """The state of one level while it runs."""

    def __init__(
        self,
        generate: Callable[[GenerateRequest], Awaitable[GenerateResponse]],
        prompts: Sequence[GenerateRequest],
        spec: LoadSpec,
        count: TokenCounter | None,
    ) -> None:
        self.generate, self.prompts, self.spec, self.count = generate, prompts, spec, count
        self.t0 = time.perf_counter()
        self.issued = 0
        self.issued_at: list[float] = []  # each request's issue time (its arrival), from t0
        self.started: dict[int, float] = {}  # each request's send time, from t0
        self.records: list[RequestRecord] = []
        self.texts: dict[int, tuple[str, str]] = {}
        self.last_end = self.t0
        self.internal: BaseException | None = None
        # the level ended at --duration with requests still to send: its arrivals ran the
        # whole window, the time its throughput is over
        self.cut = False

    def past_duration(self, at: float | None = None) -> bool:
        """Whether `at` (now, as seconds from t0, by default) is past --duration: no
        request starts then (and the level was cut short)."""
        if (time.perf_counter() - self.t0 if at is None else at) < self.spec.duration:
            return False
        self.cut = True
        return True

    def next_index(self) -> int | None:
        if self.issued >= self.spec.max_requests or self.past_duration():
            return None
        self.issued += 1
        self.issued_at.append(time.perf_counter() - self.t0)
        return self.issued - 1

    async def one(self, index: int) -> None:
        request = self.prompts[index % len(self.prompts)]
        start = self.started[index] = time.perf_counter() - self.t0
        try:
            resp = await self.generate(request)
        except Exception as e:  # a failure is a data point, whatever it is
            self.records.append(RequestRecord(index, start, error=_one_line(e)))
            if not isinstance(e, _NOT_OURS) and self.internal is None:
                self.internal = e  # shootout's own bug, said once the test is stored
            return
        finally:
            self.last_end = time.perf_counter()
        if resp.usage.estimated:
            self.texts[index] = (_prompt_text(request), resp.text + (resp.reasoning or ""))
        self.records.append(
            RequestRecord(index, start, metrics=request_metrics(resp.timing, resp.usage),
                          timing=resp.timing, text_chars=len(resp.text))
        )

    async def recount(self) -> None:
        """Where the server gave no usage: count with its tokenizer, after the level (so the
        counting requests do not load the server while it is measured)."""
        if self.count is None or not self.texts:
            return
        for k, rec in enumerate(self.records):
            if rec.metrics is None or rec.timing is None or rec.index not in self.texts:
                continue
            prompt, text = self.texts[rec.index]
            inp, out = await self.count(prompt), await self.count(text)
            if inp is None or out is None:
                return
            usage = Usage(prompt_tokens=inp, completion_tokens=out,
                          cached_tokens=rec.metrics.cached_tokens, estimated=True)
            self.records[k] = replace(rec, metrics=request_metrics(rec.timing, usage))


def _prompt_text(request: GenerateRequest) -> str:
    return request.prompt or "\n".join(m.content for m in request.messages or ())


async def run_level(
    generate: Callable[[GenerateRequest], Awaitable[GenerateResponse]],
    prompts: Sequence[GenerateRequest],
    level: Level,
    spec: LoadSpec,
    count: TokenCounter | None = None,
) -> LevelResult:
    if not prompts:
        raise ValueError("no prompts")
    st = _Level(generate, prompts, spec, count)
    body = _closed_loop(st, int(level.value)) if level.mode == "concurrency" else _open_loop(
        st, level.value
    )
    task = asyncio.ensure_future(body)
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=spec.duration + spec.grace)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    except asyncio.CancelledError:
        task.cancel()
        raise
    await st.recount()
    done = {r.index for r in st.records}
    for i in range(st.issued):
        if i not in done:  # when it was sent, or issued where it waited for a slot
            if i in st.started:
                st.records.append(RequestRecord(i, st.started[i],
                                                error="cancelled at the level's deadline"))
            else:
                st.records.append(RequestRecord(i, st.issued_at[i], error=NOT_STARTED,
                                                sent=False))
    st.records.sort(key=lambda r: r.index)
    took = st.last_end - st.t0
    return LevelResult(level, max(took, spec.duration) if st.cut else took, st.records, st.t0,
                       st.internal)


async def _closed_loop(st: _Level, concurrency: int) -> None:
    async def worker(k: int) -> None:
        if st.spec.ramp_up > 0:
            slot = st.spec.ramp_up * k / concurrency
            if slot >= st.spec.duration:  # it would start no request: the level ends without it
                return
            await asyncio.sleep(st.t0 + slot - time.perf_counter())
        while (i := st.next_index()) is not None:
            await st.one(i)

    await _gather_all([worker(k) for k in range(max(1, concurrency))])


NOT_STARTED = ("not sent: the level ended while it waited for a --max-concurrency "
               "slot")


def arrivals(n: int, rate: float, seed: int) -> list[float]:
    """The times (seconds from a level's start) of a Poisson process's first `n` arrivals at
    `rate`, as vLLM's benchmark draws them (`vllm/benchmarks/serve.py`, `get_request`):
    exponential gaps, the first before the first request, scaled so that the n-th arrives at
    exactly n / rate. Unscaled, every level of a seed was offered the same multiple of its
    rate (1.15x at the default seed and 100 requests)."""
    rng = random.Random(seed)
    out, t = [], 0.0
    for _ in range(n):
        t += rng.expovariate(rate)
        out.append(t)
    if out and out[-1] > 0 and math.isfinite(out[-1]):
        scale = n / rate / out[-1]
        out = [a * scale for a in out]
    return out


async def _open_loop(st: _Level, rate: float) -> None:
    sem = asyncio.Semaphore(st.spec.max_concurrency)
    tasks: list[asyncio.Task[None]] = []
    times = iter(arrivals(st.spec.max_requests, rate, st.spec.seed))

    async def limited(i: int) -> None:
        async with sem:
            if st.past_duration():  # no request starts after it
                st.records.append(RequestRecord(i, st.issued_at[i], error=NOT_STARTED,
                                                sent=False))
                return
            await st.one(i)

    try:
        for arrival in times:
            if st.past_duration(arrival):  # it would arrive after the level: none is waited for
                break
            delay = st.t0 + arrival - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            i = st.next_index()
            if i is None:
                break
            tasks.append(asyncio.create_task(limited(i)))
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _gather_all(coros: list[Any]) -> None:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# failures of the endpoint or the network (a provider's errors, a socket's, a timeout, an
# HTTP error the client did not wrap); anything else is a bug in shootout
_NOT_OURS = (ShootoutError, OSError, TimeoutError, httpx.HTTPError)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if not isinstance(e, ShootoutError):
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return text[:200]


def parse_levels(concurrency: str | None, rate: str | None) -> list[Level]:
    """`--concurrency 1,4,16` or `--rate 0.5,2` (not both) into levels."""
    from ..errors import ConfigError

    if concurrency and rate:
        raise ConfigError("give --concurrency or --rate, not both (cap a rate with "
                          "--max-concurrency)")
    raw, mode = (rate, "rate") if rate else (concurrency or "1", "concurrency")
    levels = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part) if mode == "rate" else int(part)
        except ValueError:
            raise ConfigError(f"--{mode}: {part!r} is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"--{mode}: {part!r} is not a finite number")
        if value <= 0 or (mode == "concurrency" and value > 10_000):
            raise ConfigError(f"--{mode}: {part} is out of range")
        levels.append(Level(mode, float(value)))  # type: ignore[arg-type]
    if not levels:
        raise ConfigError(f"--{mode} lists no values")
    return levels


MAX_ERROR_KINDS = 20


def error_kinds(errors: Counter[str]) -> dict[str, int]:
    """Each kind of error and its count, commonest first; past MAX_ERROR_KINDS kinds, the
    rest as one entry, so the counts always add up to the errors."""
    top = errors.most_common(MAX_ERROR_KINDS)
    rest = sum(errors.values()) - sum(n for _, n in top)
    return {**dict(top), **({"(other kinds)": rest} if rest else {})}
