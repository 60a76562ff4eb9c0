"""Prompts for a load test: synthetic ones of a given length, or a benchmark's own."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from ..errors import ConfigError
from ..providers.base import GenerateRequest, Message, Sampling

# Short, common English words: about one token each in the usual BPE/SentencePiece vocabularies.
_WORD_TEXT = (
    "the of and to in is was for on are with as at be by this had not but from or have an they "
    "which one you were her all she there would their we him been has when who will more no if "
    "out so said what up its about into than them can only other new some could time these two "
    "may then do first any my now such like our over man me even most made after also did many "
    "before must through back years where much your way well down should because each just those "
    "people how too little state good very make world still own see men work long get here "
    "between both life being under never day same another know while last might us great old "
    "year off come since against go came right used take three"
)
_WORDS = tuple(_WORD_TEXT.split())

Counter = Callable[[str], Awaitable[int | None]]


async def synthetic_requests(
    n: int,
    input_tokens: int,
    output_tokens: int,
    *,
    chat: bool,
    seed: int,
    count: Counter | None = None,
    extra_stop: tuple[str, ...] = (),
) -> list[GenerateRequest]:
    """`n` distinct prompts of about `input_tokens` tokens (distinct, so that no server prefix
    cache serves one from another). With `count` (the server's tokenizer) the word count is
    calibrated to the target; without it, a word is taken as one token."""
    if input_tokens < 1 or output_tokens < 1:
        raise ConfigError("--input-tokens and --output-tokens must be at least 1")
    rng = random.Random(seed)
    words = input_tokens
    if count is not None:
        probe = _text(rng, 0, input_tokens)
        got = await count(probe)
        if got:
            words = max(1, round(input_tokens * input_tokens / got))
    sampling = Sampling(temperature=0.0, max_tokens=output_tokens, stop=extra_stop)
    out = []
    for i in range(n):
        text = _text(rng, i, words)
        out.append(
            GenerateRequest(messages=(Message("user", text),), sampling=sampling)
            if chat
            else GenerateRequest(prompt=text, sampling=sampling)
        )
    return out


def _text(rng: random.Random, i: int, words: int) -> str:
    return f"{i} " + " ".join(rng.choice(_WORDS) for _ in range(max(0, words - 1)))


def benchmark_requests(
    name: str,
    n: int,
    output_tokens: int | None,
    *,
    chat: bool,
    seed: int,
    data_dir: str | None,
) -> list[GenerateRequest]:
    """The generative requests a run of benchmark `name` would send (a seeded sample of `n`
    items, default few-shot), with max_tokens set to `output_tokens` when given."""
    from dataclasses import replace

    from ..benchmarks import PromptContext, get_benchmark_class, sample_docs
    from ..data.files import DataDir, resolve_data_dir

    if output_tokens is not None and output_tokens < 1:  # (-3 was sent as max_tokens)
        raise ConfigError("--output-tokens must be at least 1")
    cls = get_benchmark_class(name)
    if "generative" not in cls.modes:
        raise ConfigError(f"{name} has no generative mode; --from-benchmark needs one")
    if cls.items_fitted_to_model:  # (needle: it said "no tokenizer bound", exit 4)
        raise ConfigError(f"{name} builds its prompts with each model's tokenizer and window, "
                          "which perf does not ask a server for; --from-benchmark takes "
                          "another benchmark (or give --input-tokens for prompts of a length)")
    bench = cls(data=DataDir(resolve_data_dir(data_dir)), fewshot_seed=seed)
    docs = sample_docs(bench.load(), n, seed)
    sampling = Sampling(temperature=0.0, max_tokens=output_tokens or cls.default_max_tokens)
    ctx = PromptContext(mode="generative", chat=chat, sampling=sampling,
                        fewshot=cls.default_fewshot)
    bench.prepare(docs, ctx)
    out = []
    for doc in docs:
        req = bench.request(doc, ctx)
        if not isinstance(req, GenerateRequest):
            raise ConfigError(f"{name} did not build a generation request")
        out.append(replace(req, sampling=replace(req.sampling, max_tokens=sampling.max_tokens)))
    if not out:
        raise ConfigError(f"{name} has no items to sample prompts from")
    return out
