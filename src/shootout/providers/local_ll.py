"""The embedded model's log-likelihood evaluation (`LocalProvider`'s, split out of
`providers.local`): each (context, continuation) pair split as lm-evaluation-harness splits
it, an item's choices evaluated together over their shared context, and the KV cache kept
across items where a single pass from position 0 would compute the same rows (`_pair_rows`).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ProviderError
from .base import ContinuationScore, LoglikelihoodRequest, LoglikelihoodResponse, Timing, Usage
from .llama_util import UBATCH, _common_prefix, _log_softmax, _shared_end, exact_end


class LoglikelihoodEval:
    """Mixed into `LocalProvider`, whose model, context and cache bookkeeping it uses."""

    _llm: Any
    _lib: Any
    _lock: threading.Lock
    _n_vocab: int
    _tokens: list[int]  # what the KV cache holds, position by position
    _exact: int  # (see LocalProvider.__init__)
    _aligned: int
    n_ctx: int
    path: str

    if TYPE_CHECKING:
        def tokenize(self, text: str, add_bos: bool = True) -> list[int]: ...

        def _reusable(self, n: int) -> int: ...

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """lm-evaluation-harness's split (`_encode_pair`): trailing context spaces move to the
        continuation; the context is tokenised alone, the continuation is what follows as
        many tokens of the whole (where a token spans the boundary, the context's tokens are
        not the whole's first ones: lm-eval's still, not the whole's)."""
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.tokenize(context + continuation)
        ctx = self.tokenize(context)
        return list(ctx), whole[len(ctx) :]  # (a copy: `tokenize` may hand back its cache's)

    def _loglikelihood_sync(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse:
        t0 = time.perf_counter()
        scores, n_prompt = [], 0
        with self._lock:
            pairs = []
            for context, continuation in request.pairs:
                ctx, cont = self._encode_pair(context, continuation)
                if not cont:
                    raise ProviderError("empty continuation after tokenisation")
                if len(ctx) + len(cont) > self.n_ctx:
                    raise ProviderError(
                        f"prompt of {len(ctx) + len(cont)} tokens exceeds n_ctx={self.n_ctx}"
                    )
                pairs.append((ctx, cont))
            # pairs with the same context (an item's choices) are evaluated together
            i = 0
            while i < len(pairs):
                j = i + 1
                while j < len(pairs) and pairs[j][0] == pairs[i][0]:
                    j += 1
                ctx = pairs[i][0]
                conts = [cont for _, cont in pairs[i:j]]
                for cont, rows in zip(conts, self._pair_rows(ctx, conts), strict=True):
                    lp = sum(float(r[t]) for r, t in zip(rows, cont, strict=True))
                    greedy = all(int(np.argmax(r)) == t for r, t in zip(rows, cont, strict=True))
                    scores.append(ContinuationScore(lp, greedy, len(cont)))
                    n_prompt += len(ctx) + len(cont)
                i = j
        return LoglikelihoodResponse(
            scores=tuple(scores),
            usage=Usage(prompt_tokens=n_prompt),
            timing=Timing(e2e=time.perf_counter() - t0),
        )

    def _pair_rows(self, ctx: list[int], conts: list[list[int]]) -> list[list[np.ndarray]]:
        """For each continuation of `ctx`: the log-softmax rows predicting its tokens.

        Both paths give, bit for bit, what one pass over ctx + cont[:-1] from position 0
        gives (`path="reference"` is that pass, lm-evaluation-harness's way). llama.cpp's CPU
        matrix products compute a batch's rows in blocks of 4 counted from the batch's start,
        its last (size mod 4) rows another way, and a batch of under 8 rows another way again,
        and a row's result depends on which way it was computed: up to 0.9 nats on a
        log-probability, enough to change 3 of 300 ARC-Easy predictions when the choices were
        evaluated in batches of their own. The fast path therefore shares the context up to
        a multiple of 4 (`_shared_end`) and evaluates each continuation from there, in a batch
        of at least 8 rows that ends where the single pass ends, so every row is computed the
        way the single pass computes it; identical sequences (one-token choices) are
        evaluated once. docs/local-model.md, "Evaluation order and numerics"."""
        c = len(ctx)
        seqs = [ctx + cont[:-1] for cont in conts]
        a = None if self.path == "reference" else _shared_end(c, [len(q) for q in seqs])
        if a is None:
            return [self._decode(q, start=0, first_flag=c - 1) for q in seqs]
        keep = min(_common_prefix(self._tokens, ctx[:a]), self._exact, a) // 4 * 4
        if 0 < a - keep < 8:
            keep = a - 8
        if (a - keep) % UBATCH and (a - keep) % UBATCH < 8:
            keep = max(0, keep - 4)  # a last micro-batch of 4 rows: make it 8
        if keep < a:
            self._decode(ctx[keep:a], start=keep, first_flag=a)
        done: dict[tuple[int, ...], list[np.ndarray]] = {}
        out = []
        for q in seqs:
            key = tuple(q)
            if key not in done:
                done[key] = self._decode(q[a:], start=a, first_flag=c - 1)
            out.append(done[key])
        return out

    def _decode(self, tokens: list[int], start: int, first_flag: int) -> list[np.ndarray]:
        """Evaluate `tokens` at positions start.. and return log-softmax rows for positions
        >= first_flag. The KV cache is truncated at `start` first."""
        llm, lib = self._llm, self._lib
        ctx = llm._ctx
        if start and self._reusable(start) < start:
            tokens, start = self._tokens[:start] + tokens, 0
        ctx.kv_cache_seq_rm(-1, start, -1)
        del self._tokens[start:]
        self._exact = min(self._exact, start)
        self._aligned = min(self._aligned, start)
        rows: list[np.ndarray] = []
        batch = llm._batch.batch
        n_batch = llm.n_batch
        for i in range(0, len(tokens), n_batch):
            chunk = tokens[i : i + n_batch]
            batch.n_tokens = len(chunk)
            flagged = 0
            for j, tok in enumerate(chunk):
                pos = start + i + j
                batch.token[j] = tok
                batch.pos[j] = pos
                batch.seq_id[j][0] = 0
                batch.n_seq_id[j] = 1
                want = pos >= first_flag
                batch.logits[j] = want
                flagged += want
            ctx.decode(llm._batch)
            if flagged:
                ptr = lib.llama_get_logits(ctx.ctx)
                logits = np.ctypeslib.as_array(ptr, shape=(flagged, self._n_vocab))
                rows.extend(_log_softmax(logits[r]) for r in range(flagged))
            self._tokens.extend(chunk)
        end = len(self._tokens)
        if start == self._exact and start % 4 == 0:  # rows as a single pass computes them:
            self._exact = exact_end(start, end)  # micro-batches of 8 rows or more, blocks of 4
        if start == self._aligned and start % UBATCH == 0:
            self._aligned = end // UBATCH * UBATCH
        # keep llama-cpp-python's own bookkeeping in step, so generation can reuse the prefix
        llm.n_tokens = len(self._tokens)
        llm.input_ids[: len(self._tokens)] = self._tokens
        return rows
