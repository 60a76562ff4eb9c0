"""Batched generation for an in-process GGUF model (`-M parallel=N`, off by default).

Requests in flight together are decoded as sequences of one multi-sequence llama.cpp context:
each step puts one token per active sequence into a single `llama_decode`, so the weights are
read once per step for all of them (aggregate tokens/s grows with the batch; per-request speed
falls). Continuous batching: a request that arrives while others decode takes a free sequence
slot between two steps; its prompt is evaluated on its own (the running sequences wait that
long, and their inter-token latencies show it).

The context keeps one KV stream per sequence (`kv_unified=False`), each the single path's
`n_ctx`: measured on Gemma 3 270M, a unified cache shared by several sequences changed a
prompt's next-token logits by up to 1.26 (argmax flipped) when another sequence was present,
while separate streams give bit-identical prompt logits (docs/local-model.md). A slot keeps its
last sequence's KV and reuses the common prefix with the next prompt it takes; when another
slot holds more of the prompt, its whole stream is copied first (`llama_memory_seq_cp`, the
only copy between separate streams), so concurrent few-shot prompts evaluate their shared
exemplars once. Both under the same sliding-window rule as the single path.

Decoding follows llama-cpp-python's `create_completion` as the single path calls it: greedy
(temperature 0) is argmax; an end-of-generation token ends a sequence with "stop" (not part of
the text); a stop string ends it with "stop" and cuts the text at the first listed stop string
found; max_tokens ends it with "length"; the stop and length checks wait while the text ends
in an incomplete UTF-8 character, as there. At temperature > 0 each request draws from its own
numpy Generator seeded with the request's seed (temperature, then top-p): valid samples of the
same distribution, but not the single path's draws.

Timing is each request's own: TTFT from when the request reached the provider (queueing for a
slot and for the prompt evaluations ahead of it included) to its first token; one chunk time
per completion token that contributes text, taken when that token was sampled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ProviderError
from .base import GenerateRequest, GenerateResponse, Timing, Usage
from .llama_util import UBATCH, _common_prefix, generation_keep

if TYPE_CHECKING:
    from .local import LocalProvider


@dataclass
class _Seq:
    """One request being decoded in a slot."""

    request: GenerateRequest
    done: concurrent.futures.Future[GenerateResponse]
    submitted: float
    prompt: list[int] = field(default_factory=list)
    stop: list[bytes] = field(default_factory=list)
    slot: int = -1
    cached: int = 0
    tokens: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    token_times: list[tuple[int, float]] = field(default_factory=list)  # (bytes so far, time)
    multibyte_fix: int = 0
    rng: np.random.Generator | None = None
    finish: str | None = None
    cut: int | None = None


class BatchGenerator:
    """The multi-sequence decoder of one `LocalProvider`, run in the provider's own thread."""

    def __init__(self, provider: LocalProvider, parallel: int) -> None:
        self.provider = provider
        self.parallel = parallel
        self._queue: deque[_Seq] = deque()
        self._qlock = threading.Lock()
        self._running = False
        self._ctx: Any = None
        self._batch: Any = None
        self._slots: list[list[int]] = [[] for _ in range(parallel)]  # what each slot's KV holds
        # each slot's positions computed in whole micro-batches from 0 (LocalProvider._aligned)
        self._aligned = [0] * parallel
        self._free = list(range(parallel))
        self._open()  # now, so that the first requests' TTFT does not include it

    # -- the asyncio side -----------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        seq = _Seq(request, concurrent.futures.Future(), time.perf_counter())
        with self._qlock:
            self._queue.append(seq)
            start = not self._running
            self._running = True
        if start:
            fut = asyncio.get_running_loop().run_in_executor(self.provider._pool, self._work)
            fut.add_done_callback(_log_crash)
        return await asyncio.wrap_future(seq.done)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None

    # -- the worker thread ----------------------------------------------------------------
    def _work(self) -> None:
        active: list[_Seq] = []
        try:
            with self.provider._lock:
                self._open()
                while True:
                    self._admit(active)
                    if not active:
                        with self._qlock:
                            if not self._queue:
                                self._running = False
                                return
                        continue
                    self._step(active)
        except BaseException as e:
            err = e if isinstance(e, ProviderError) else ProviderError(f"batched decode: {e}")
            with self._qlock:
                waiting = [*active, *self._queue]
                self._queue.clear()
                self._running = False
            for seq in waiting:
                _resolve(seq, error=err)
            # the slots' caches are in an unknown state: start afresh on the next request
            self.close()
            self._slots = [[] for _ in range(self.parallel)]
            self._aligned = [0] * self.parallel
            self._free = list(range(self.parallel))
            raise

    def _open(self) -> None:
        if self._ctx is not None:
            return
        from llama_cpp import _internals

        from .local import _quiet_stderr

        p = self.provider
        llm = p._llm
        cp = type(llm.context_params).from_buffer_copy(llm.context_params)
        cp.n_ctx = p.n_ctx * self.parallel  # one stream of the single path's n_ctx per slot
        cp.n_seq_max = self.parallel
        cp.kv_unified = False
        try:
            with _quiet_stderr():
                self._ctx = _internals.LlamaContext(model=llm._model, params=cp, verbose=False)
        except Exception as e:
            raise ProviderError(f"llama.cpp could not make a {self.parallel}-sequence "
                                f"context of {cp.n_ctx} tokens: {e}") from e
        self._batch = _internals.LlamaBatch(
            n_tokens=max(llm.n_batch, self.parallel), embd=0, n_seq_max=1, verbose=False
        )

    def _admit(self, active: list[_Seq]) -> None:
        """Take waiting requests into free slots, evaluating each one's prompt."""
        while self._free:
            with self._qlock:
                if not self._queue:
                    return
                seq = self._queue.popleft()
            if seq.done.cancelled():
                continue  # cancelled while it waited
            try:
                self._prepare(seq)
            except ProviderError as e:
                _resolve(seq, error=e)
                continue
            self._prefill(seq)
            if seq.finish is not None:
                self._finish(seq)
            else:
                active.append(seq)

    def _prepare(self, seq: _Seq) -> None:
        p, s = self.provider, seq.request.sampling
        stop = list(s.stop)
        if seq.request.messages is not None:
            seq.prompt, chat_stop = p._render_chat(seq.request)
            stop += chat_stop
        else:
            assert seq.request.prompt is not None
            seq.prompt = list(p.tokenize(seq.request.prompt))
        if len(seq.prompt) + s.max_tokens > p.n_ctx:
            raise ProviderError(
                f"prompt of {len(seq.prompt)} tokens + {s.max_tokens} exceeds n_ctx={p.n_ctx}"
            )
        seq.stop = [x.encode("utf-8") for x in stop]
        if s.temperature > 0:
            seq.rng = np.random.default_rng(s.seed)

    def _prefill(self, seq: _Seq) -> None:
        """Evaluate the prompt in the free slot that holds most of it, and pick token one."""
        import llama_cpp

        n = len(seq.prompt)

        def usable(k: int) -> int:  # the single path's rule (LocalProvider._generate_sync)
            return generation_keep(
                min(_common_prefix(self._slots[k], seq.prompt), self._aligned[k]), n)

        best = max(self._free, key=usable)
        self._free.remove(best)
        seq.slot = best
        mem = llama_cpp.llama_get_memory(self._ctx.ctx)
        # another slot (busy or not) holding more of the prompt lends its whole stream (the
        # only copy llama.cpp makes between separate streams); the tail is removed below
        src = max(range(self.parallel), key=usable)
        if usable(src) > usable(best):
            llama_cpp.llama_memory_seq_cp(mem, src, best, -1, -1)
            self._slots[best] = list(self._slots[src])
            self._aligned[best] = self._aligned[src]
        held = self._slots[best]
        keep = usable(best)
        if keep and self.provider._n_swa:  # the single path's rule (LocalProvider._reusable)
            pos_min = llama_cpp.llama_memory_seq_pos_min(mem, best)
            if pos_min < 0 or pos_min > max(0, keep - self.provider._n_swa):
                keep = 0
        llama_cpp.llama_memory_seq_rm(mem, best, keep, -1)
        del held[keep:]
        self._aligned[best] = keep
        seq.cached = keep
        b, step = self._batch.batch, self.provider._llm.n_batch
        for i in range(keep, n, step):
            chunk = seq.prompt[i : i + step]
            for j, tok in enumerate(chunk):
                b.token[j], b.pos[j], b.n_seq_id[j] = tok, i + j, 1
                b.seq_id[j][0] = best
                b.logits[j] = i + j == n - 1
            b.n_tokens = len(chunk)
            self._decode()
            held.extend(chunk)
        self._aligned[best] = n // UBATCH * UBATCH  # the prompt's whole micro-batches
        row = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self._ctx.ctx, b.n_tokens - 1),
            shape=(self.provider._n_vocab,),
        )
        self._accept(seq, self._pick(seq, row))

    def _step(self, active: list[_Seq]) -> None:
        """One token for every active sequence, in one decode."""
        import llama_cpp

        b = self._batch.batch
        for j, seq in enumerate(active):
            b.token[j], b.pos[j], b.n_seq_id[j] = seq.tokens[-1], len(self._slots[seq.slot]), 1
            b.seq_id[j][0] = seq.slot
            b.logits[j] = True
        b.n_tokens = len(active)
        self._decode()
        rows = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits(self._ctx.ctx), shape=(len(active), self.provider._n_vocab)
        )
        for j, seq in enumerate(active):
            self._slots[seq.slot].append(seq.tokens[-1])
            if seq.done.cancelled():
                seq.finish = "cancelled"
            else:
                self._accept(seq, self._pick(seq, rows[j]))
        for seq in [x for x in active if x.finish is not None]:
            active.remove(seq)
            self._finish(seq)

    def _decode(self) -> None:
        rc = self.provider._lib.llama_decode(self._ctx.ctx, self._batch.batch)
        if rc != 0:
            raise ProviderError(f"llama_decode returned {rc} in a batch of "
                                f"{self._batch.batch.n_tokens} tokens")

    def _pick(self, seq: _Seq, row: np.ndarray) -> int:
        s = seq.request.sampling
        if seq.rng is None:
            return int(np.argmax(row))
        z = row.astype(np.float64) / s.temperature
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        if s.top_p < 1.0:
            order = np.argsort(-probs, kind="stable")
            keep = int(np.searchsorted(np.cumsum(probs[order]), s.top_p)) + 1
            mask = np.zeros_like(probs)
            mask[order[:keep]] = probs[order[:keep]]
            probs = mask / mask.sum()
        return int(seq.rng.choice(len(probs), p=probs))

    def _accept(self, seq: _Seq, token: int) -> None:
        """Take a sampled token, as `create_completion` does; sets `finish` when it ends."""
        p = self.provider
        now = time.perf_counter()
        if p._lib.llama_vocab_is_eog(p._llm._model.vocab, token):
            seq.finish = "stop"
            return
        seq.tokens.append(token)
        seq.text += p._llm.detokenize([token])
        seq.token_times.append((len(seq.text), now - seq.submitted))
        tail = bytes(seq.text[-3:])
        for k, char in enumerate(tail):  # llama-cpp-python's multibyte check, verbatim
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    seq.multibyte_fix = num - k
        if seq.multibyte_fix > 0:
            seq.multibyte_fix -= 1
            return
        hit = [x for x in seq.stop if x in seq.text]
        if hit:
            seq.cut, seq.finish = seq.text.index(hit[0]), "stop"
        elif len(seq.tokens) >= seq.request.sampling.max_tokens:
            seq.finish = "length"

    def _finish(self, seq: _Seq) -> None:
        self._release(seq)
        if seq.done.cancelled():
            return
        data = bytes(seq.text if seq.cut is None else seq.text[: seq.cut])
        out = data.decode("utf-8", errors="ignore")
        # a time per token that put text in the answer: its bytes start before the cut
        times, before = [], 0
        for upto, t in seq.token_times:
            if before < len(data) and upto > before:
                times.append(t)
            before = upto
        p = self.provider
        # the tokens sampled, as the one-request path counts them (`LocalProvider.generate`):
        # a matched stop sequence's and an end-of-generation token's included
        n_out = len(seq.tokens) + (seq.finish == "stop" and seq.cut is None)
        _resolve(seq, GenerateResponse(
            text=out,
            finish_reason=seq.finish,
            usage=Usage(prompt_tokens=len(seq.prompt), completion_tokens=n_out,
                        cached_tokens=seq.cached),
            timing=Timing(ttft=times[0] if times else None,
                          e2e=time.perf_counter() - seq.submitted, chunk_times=tuple(times)),
            model_reported=p.model_id,
        ))

    def _release(self, seq: _Seq) -> None:
        if seq.slot >= 0 and seq.slot not in self._free:
            self._free.append(seq.slot)


def _resolve(seq: _Seq, result: GenerateResponse | None = None,
             error: BaseException | None = None) -> None:
    """Hand the answer to the waiting request, unless it was cancelled meanwhile (the future
    stays pending while it is decoded, so that the caller's cancellation reaches it)."""
    try:
        if error is not None:
            seq.done.set_exception(error)
        else:
            seq.done.set_result(result)  # type: ignore[arg-type]
    except concurrent.futures.InvalidStateError:
        pass


def _log_crash(fut: asyncio.Future[None]) -> None:
    """The worker's own error reached every waiting request; retrieve it so asyncio is quiet."""
    if not fut.cancelled():
        fut.exception()
