"""The embedded model: a GGUF file run in-process with llama-cpp-python.

Log-likelihood is computed without `logits_all`: we decode with the low-level batch API and
flag only the positions whose logits we need (the last context token and each continuation
token but the last), so a 32K context never copies n_ctx x vocab floats. Contexts are shared
across choices and across items through the KV cache (the common token prefix is kept), which
is what makes MMLU 5-shot take ~0.1 s per item instead of ~20 s.

`path="reference"` evaluates every (context, continuation) pair from scratch in one pass, as
lm-evaluation-harness does; the fast path agrees with it to within small numerical noise
(see docs/local-model.md and tests/integration/test_local_provider.py for the measurement).

A request's `response_format` constrains generation with the grammar llama-cpp-python's
`create_chat_completion` builds for it (JSON mode: its JSON grammar; a JSON Schema: the
schema's grammar), so a chat model takes JSON mode and structured outputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..errors import CapabilityError, ConfigError, ProviderError
from .base import (
    BaseProvider,
    Capabilities,
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    ProviderOptions,
    Timing,
    Usage,
)
from .llama_util import (
    UBATCH,
    Busy,
    _common_prefix,
    _file_sha256,
    _grammar,
    _import_llama,
    _quiet_stderr,
    _stamp,
    free_unless_busy,
    generation_keep,
)
from .local_batch import BatchGenerator
from .local_ll import LoglikelihoodEval

DEFAULT_N_CTX = 8192


def embedded_model_path() -> Path:
    """The default embedded model's GGUF (Gemma 3 270M); see `providers.embedded`."""
    from .embedded import DEFAULT_EMBEDDED, EMBEDDED

    return EMBEDDED[DEFAULT_EMBEDDED].path()


def header_metadata(path: Path) -> dict[str, str]:
    """The GGUF's metadata as llama.cpp's `Llama.metadata` gives it (text values), read from
    the file's header without loading the model (the tokenizer's arrays are skipped)."""
    from ..arch.gguf_header import read_header

    return {k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in read_header(path).meta.items() if not isinstance(v, list | dict)}


class LocalOptions(ProviderOptions):
    """Options of an in-process GGUF model (`local`, `gguf:PATH`)."""

    n_ctx: int | None = Field(
        None, ge=256, description="KV-cache size in tokens (default 8,192, or what a benchmark "
        "needs)"
    )
    n_threads: int | None = Field(None, ge=1, description="CPU threads")
    chat: bool | None = Field(
        None, description="chat messages through the GGUF's template (default: if it has one)"
    )
    path: Literal["fast", "reference"] = Field(
        "fast", description="log-likelihood evaluation: shared-prefix fast path or single pass"
    )
    swa_full: bool = Field(
        False, description="full-size cache for sliding-window layers (slower on long prompts; "
        "the default window-sized cache reuses a prefix only where it is still cached)"
    )
    parallel: int = Field(1, ge=1, le=64, description="decode up to N concurrent generate "
                          "requests as one batch (providers.local_batch); 1: one at a time")


_ABORTERS: list[Any] = []  # llama.cpp abort callbacks set (`LocalProvider._abort`)


class LocalProvider(LoglikelihoodEval, BaseProvider):
    """Any GGUF file in-process (`gguf:PATH`); `EmbeddedProvider` serves the shipped ones."""

    prefixes: ClassVar[tuple[str, ...]] = ("gguf",)
    Options: ClassVar[type[ProviderOptions]] = LocalOptions
    spec_help: ClassVar[str] = "gguf:/path/to/model.gguf (any GGUF model, in-process)"
    _batcher: BatchGenerator | None = None  # parallel > 1: its answers can differ (docs)

    def __init__(
        self, model_path: Path | None = None, *, context_needed: int | None = None,
        load: bool = True, **options: Any,
    ) -> None:
        """`load=False` (a dry run): the model is not loaded and no context is made; what a
        dry run needs of it (its chat template, its context length, the facts the manifest
        records) is read from the GGUF file's header, and only needle, which sizes its
        prompts in the model's tokens, loads its vocabulary (`_tokenizer`)."""
        o = LocalOptions.model_validate(options)
        self.options = o
        self.path = o.path
        self.chat = o.chat
        embedded = model_path is None
        self.model_path = embedded_model_path() if model_path is None else model_path
        if not self.model_path.is_file():
            raise ConfigError(f"GGUF file not found: {self.model_path}")
        # an explicit n_ctx wins; else the default, raised to what a benchmark needs (needle)
        self.n_ctx = o.n_ctx or max(DEFAULT_N_CTX, context_needed or 0)
        self._busy = Busy()  # requests inside llama.cpp now (the worker's)
        self._vocab: Any = None  # the vocabulary alone, where the model is not loaded
        if load:
            self._llm: Any = self._load(o.n_threads)
            md = self._llm.metadata
        else:
            self._lib = _import_llama()  # as a run needs it: a dry run says it is missing too
            self._llm = None
            md = header_metadata(self.model_path)
        stem = "gemma-3-270m-Q4_K_M" if embedded else self.model_path.stem
        self.model_id = "local" if embedded else f"gguf:{stem}"
        self._metadata = dict(md)
        self._template: str | None = md.get("tokenizer.chat_template")
        self._has_template = self._template is not None
        self._n_vocab = self._llm.n_vocab() if load else 0
        self._tokens: list[int] = []  # what the KV cache holds, position by position
        # the cached positions [0, _exact) hold what a single pass from position 0 holds, bit
        # for bit (see _pair_rows); generation's own batches do not keep that promise
        self._exact = 0
        # the cached positions [0, _aligned) were computed in whole micro-batches counted
        # from position 0, as a single pass over any longer prompt computes them
        self._aligned = 0
        self._tok_cache: OrderedDict[str, list[int]] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._lock = threading.Lock()
        self._n_swa = 0 if o.swa_full or not load else \
            int(self._lib.llama_model_n_swa(self._llm._model.model))
        self._batcher = BatchGenerator(self, o.parallel) if o.parallel > 1 and load else None

    def _reusable(self, n: int) -> int:
        """How much of a cached prefix of `n` tokens can be kept: all of it, unless the
        sliding-window layers no longer hold the `n_swa` positions before `n` (the rule
        llama.cpp's server applies before reusing a slot's cache); then none."""
        if n <= 0 or self._n_swa == 0:
            return max(n, 0)
        lib = self._lib
        pos_min = lib.llama_memory_seq_pos_min(lib.llama_get_memory(self._llm._ctx.ctx), 0)
        return 0 if pos_min < 0 or pos_min > max(0, n - self._n_swa) else n

    @classmethod
    def from_spec(
        cls, argument: str, options: ProviderOptions, context_needed: int | None = None,
        *, load: bool = True,
    ) -> LocalProvider:
        path = Path(argument).expanduser() if argument else None
        if path is not None and not path.is_file():
            raise ConfigError(f"GGUF file not found: {path}")
        return cls(path, context_needed=context_needed, load=load,
                   **options.model_dump(exclude_unset=True))

    @classmethod
    def for_dry_run(
        cls, argument: str, options: ProviderOptions, context_needed: int | None = None
    ) -> LocalProvider:
        """The provider as a dry run needs it: the model not loaded (`__init__`'s `load`)."""
        return cls.from_spec(argument, options, context_needed, load=False)

    def _load(self, n_threads: int | None) -> Any:
        llama_cpp = _import_llama()
        self._lib = llama_cpp
        try:
            with _quiet_stderr():
                llm = llama_cpp.Llama(
                    str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_batch=min(self.n_ctx, 2048),
                    n_ubatch=UBATCH,
                    # one-token decode steps gain little from a second thread and suffer badly
                    # from barrier waits when cores are shared; prompt batches use them all
                    n_threads=n_threads or max(1, (os.cpu_count() or 2) // 2),
                    n_threads_batch=n_threads or os.cpu_count(),
                    logits_all=False,
                    # Sliding-window models (Gemma 3: 5 of 6 layers see 512 tokens) keep only
                    # the last window of those layers' cache unless swa_full: attention then
                    # costs O(window), not O(context), per token (issue 24). Rewinding such a
                    # cache behind its window would attend to overwritten cells, silently
                    # (measured: up to 4.0 nats off), so every rewind goes through
                    # `_reusable`, which falls back to a fresh evaluation as llama.cpp's
                    # server does (tests/integration/test_local_e2e.py, test_swa_cache.py).
                    swa_full=self.options.swa_full,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as e:
            if "llama_context" in str(e):  # the model loaded; its context did not fit
                why = "-M n_ctx" if self.options.n_ctx else "the default, or what a " \
                    "benchmark needs (needle lengths)"
                raise ConfigError(
                    f"llama.cpp could not make a context of {self.n_ctx:,} tokens for "
                    f"{self.model_path.name} (n_ctx from {why}): {e}; a smaller one needs "
                    "less memory") from e
            raise ConfigError(f"llama.cpp could not load {self.model_path}: {e}") from e
        # freed with this provider, or before interpreter teardown at the latest
        # llama.cpp's log of an aborted decode (Ctrl-C: "decode: removing memory module
        # entries ...") went to stderr beside the one line that says the run was interrupted;
        # a failed decode raises in llama-cpp-python, and shootout says it in one line
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        weakref.finalize(self, free_unless_busy, llm, self._busy)
        return llm

    # -- protocol -------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            loglikelihood=True,
            chat=self.is_chat,
            tokenize=True,
            count_prompt_tokens=True,
            context_window=self.context_window,
            prompt_limit=self.n_ctx,
            max_connections=self.options.parallel,
            response_formats=("json_object", "json_schema") if self.is_chat else (),
        )

    @property
    def is_chat(self) -> bool:
        return self._has_template if self.chat is None else self.chat

    @property
    def context_window(self) -> int:
        return int(self._metadata.get(f"{self._arch()}.context_length", self.n_ctx))

    def _arch(self) -> str:
        return str(self._metadata.get("general.architecture", ""))

    def info(self) -> dict[str, Any]:
        keep = ("general.name", "general.architecture", "general.file_type", "general.size_label")
        return {
            "model_id": self.model_id,
            "gguf": str(self.model_path),
            "llama_cpp_python": getattr(self._lib, "__version__", "?"),
            "n_ctx": self.n_ctx,
            "context_window": self.context_window,
            "loglikelihood_path": self.path,
            **{k: self._metadata[k] for k in keep if k in self._metadata},
            # not in a dry run: hashing reads every byte of the weights (minutes for a large
            # model), and a dry run's manifest has no answer that would be keyed to them
            "gguf_sha256": _file_sha256(str(self.model_path), *_stamp(self.model_path))
            if self._llm is not None else None,
            "chat_template_sha256": (
                hashlib.sha256(self._template.encode()).hexdigest() if self._template else None
            ),
        }

    def cache_identity(self) -> str:
        """The weights by content (the GGUF's sha256, hashed once per file version), not by
        name: a new checkpoint saved under the same file name is not served old answers."""
        assert self.model_path is not None
        digest = _file_sha256(str(self.model_path), *_stamp(self.model_path))
        batched = f"|parallel={self.options.parallel}" if self._batcher is not None else ""
        # the full-size cache of sliding-window layers reads other numbers than the window
        # cache (docs/local-model.md): its answers are not the default's
        full = "|swa_full" if self.options.swa_full else ""
        return f"{self.model_id}|sha256:{digest[:16]}|{self.path}{batched}{full}"

    async def aclose(self) -> None:
        self._busy.stopping = True  # a request not yet begun does not begin
        if self._busy.n:  # a run stopped (Ctrl-C) mid-request: llama.cpp stops it too
            self._abort()
        self._pool.shutdown(wait=True)
        self.close()

    def _abort(self) -> None:
        """Make llama.cpp abort the decode under way at its next step (a long prompt's next
        batch of 512 tokens, or the next token): a stopped run waited for the request to
        end (47 s here; 10 minutes for a 16k-token needle prompt). The request fails, and
        is asked again when the run resumes. The callback is set only now: llama.cpp calls
        it at every step of every decode."""
        llm = self._llm
        if llm is None:
            return
        # kept for the process's life: the decode may call it after this provider is gone
        # (a second Ctrl-C unwinds past it while the worker is still inside llama.cpp)
        _ABORTERS.append(self._lib.ggml_abort_callback(lambda _data: True))
        self._lib.llama_set_abort_callback(llm._ctx.ctx, _ABORTERS[-1], None)

    def close(self) -> None:
        """Free the model now; llama.cpp's own finaliser fails noisily at interpreter exit.
        Not while a request is inside llama.cpp (a second Ctrl-C while the first stopped the
        run): freeing its context under the worker crashed the process (segmentation fault)."""
        if self._vocab is not None:
            self._vocab.close()
            self._vocab = None
        llm = self._llm
        if self._batcher is not None:
            self._batcher.close()
        if llm is not None and not self._busy.n:
            llm.close()
            self._llm = None

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        self._require_loaded()
        if self._batcher is not None and not request.response_format:
            return await self._batcher.generate(request)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._busy.running, self._generate_sync, request
        )

    async def loglikelihood(self, request: LoglikelihoodRequest) -> LoglikelihoodResponse:
        self._require_loaded()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._busy.running, self._loglikelihood_sync, request
        )

    def _require_loaded(self) -> None:
        if self._llm is None:  # a dry run's provider: nothing is ever asked of it
            raise RuntimeError(f"{self.model_id} was built for a dry run: the model is not "
                               "loaded")

    # -- tokenisation ---------------------------------------------------------------------
    def _tokenizer(self) -> Any:
        """What tokenizes: the model, or where it was not loaded (a dry run) its vocabulary
        alone, loaded on first use (no weights; the same tokens)."""
        if self._llm is not None:
            return self._llm
        if self._vocab is None:
            with _quiet_stderr():
                self._vocab = self._lib.Llama(str(self.model_path), vocab_only=True,
                                              verbose=False)
        return self._vocab

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        llm = self._tokenizer()
        if len(text) > 16_384:  # long-context prompts are built once; caching them costs memory
            return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False))
        key = f"{int(add_bos)}{text}"
        hit = self._tok_cache.get(key)
        if hit is None:
            hit = list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False))
            self._tok_cache[key] = hit
            if len(self._tok_cache) > 256:
                self._tok_cache.popitem(last=False)
        return hit

    async def count_prompt_tokens(self, request: GenerateRequest) -> int | None:
        """The prompt's tokens as generation would feed them (the chat template rendered)."""
        if request.messages is not None:
            return len(self._render_chat(request)[0])
        assert request.prompt is not None
        return len(self.tokenize(request.prompt))

    # -- generation -----------------------------------------------------------------------
    def _generate_sync(self, request: GenerateRequest) -> GenerateResponse:
        s = request.sampling
        kwargs = _completion_kwargs(request)
        with self._lock:
            t0 = time.perf_counter()
            if request.messages is not None:
                prompt_tokens, chat_stop = self._render_chat(request)
                kwargs["stop"] = [*s.stop, *chat_stop] or None
            else:
                assert request.prompt is not None
                prompt_tokens = self.tokenize(request.prompt)
            n_prompt = len(prompt_tokens)
            # llama-cpp-python keeps the longest common prefix with the last sequence: that
            # much of it, at most, that leaves every row of the prompt computed as a single
            # pass from position 0 computes it (else a greedy answer would depend on the
            # prompt before it: docs/local-model.md, "Generation and the cached prefix")
            cached = generation_keep(
                min(_common_prefix(self._tokens, prompt_tokens), self._aligned), n_prompt)
            if self._reusable(cached) < cached:  # the window-sized cache cannot rewind there
                cached = 0
            if n_prompt + s.max_tokens > self.n_ctx:
                raise ProviderError(
                    f"prompt of {n_prompt} tokens + {s.max_tokens} exceeds n_ctx={self.n_ctx}"
                )
            self._llm.n_tokens = cached  # llama-cpp-python reuses no more than this
            self._exact, self._aligned = 0, cached
            text, times, finish = [], [], None
            try:
                for chunk in self._llm.create_completion(prompt=prompt_tokens, **kwargs):
                    ch = chunk["choices"][0]
                    piece = ch.get("text") if "text" in ch else \
                        (ch.get("delta") or {}).get("content")
                    if piece:
                        times.append(time.perf_counter() - t0)
                        text.append(piece)
                    finish = ch.get("finish_reason") or finish
            finally:  # what the cache holds now, that of a request that failed or was stopped
                self._tokens = list(self._llm.input_ids[: self._llm.n_tokens])
            e2e = time.perf_counter() - t0
            # the prompt's whole micro-batches from `cached` on were computed as its single
            # pass computes them; its last, partial one and the generated tokens' one-row
            # batches were not. The log-likelihood path's promise (`_exact`, rows that may sit
            # in other micro-batches than a generation's) is not extended: it starts afresh.
            self._aligned = n_prompt // UBATCH * UBATCH
            self._exact = 0
        out = "".join(text)
        # the tokens sampled: each but the last was evaluated into the cache after the prompt
        # (llama-cpp-python's `generate` evaluates a token when the next is asked for). The
        # answer's text tokenized again left out a matched stop sequence's tokens, and an
        # end-of-sequence token, as a server's count does not.
        n_out = max(len(self._tokens) - n_prompt + 1, 0) if (out or finish) else 0
        return GenerateResponse(
            text=out,
            finish_reason=finish,
            usage=Usage(prompt_tokens=n_prompt, completion_tokens=n_out,
                        cached_tokens=max(cached, 0)),
            timing=Timing(ttft=times[0] if times else None, e2e=e2e, chunk_times=tuple(times)),
            model_reported=self.model_id,
        )

    def _render_chat(self, request: GenerateRequest) -> tuple[list[int], list[str]]:
        """The chat prompt as llama.cpp's server renders it: the GGUF's own Jinja template
        (llama-cpp-python's Jinja2ChatFormatter, as its `create_chat_completion` and
        `llama_cpp.server` use), tokenized with special tokens; and the template's stops."""
        # no item can be answered so: the run stops with this line (a per-item failure said
        # "rerun to retry them", which could never help)
        if self._template is None:
            raise CapabilityError(f"{self.model_id} has no chat template: leave out --chat "
                                  "(text prompts), or give a chat model")
        if not self.is_chat:
            raise CapabilityError(f"{self.model_id} is set to chat=false (text prompts only): "
                                  "leave out --chat, or the chat=false setting")
        fmt = self._lib.llama_chat_format
        llm = self._tokenizer()
        model = llm._model
        eos, bos = llm.token_eos(), llm.token_bos()
        formatter = fmt.Jinja2ChatFormatter(
            template=self._template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        msgs = [{"role": m.role, "content": m.content} for m in request.messages or ()]
        result = formatter(messages=msgs)
        tokens = llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        stop = result.stop if isinstance(result.stop, list) else [result.stop]
        return list(tokens), [x for x in stop if x]


def _completion_kwargs(request: GenerateRequest) -> dict[str, Any]:
    """llama-cpp-python's `create_completion` arguments for the request's sampling: only
    temperature and top-p sample (no top-k, min-p or repeat penalty: the APIs' defaults);
    a JSON schema asked for as a grammar."""
    s = request.sampling
    kwargs: dict[str, Any] = {
        "max_tokens": s.max_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": 0,
        "min_p": 0.0,
        "repeat_penalty": 1.0,
        "stop": list(s.stop) or None,
        "seed": s.seed,
        "stream": True,
    }
    if request.response_format:
        kwargs["grammar"] = _grammar(json.dumps(request.response_format, sort_keys=True))
    return kwargs
