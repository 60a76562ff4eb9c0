"""`shootout run`: score models on benchmarks; resumable."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ..config import RunConfig, load_config_file, validate_config
from ..errors import ConfigError, PartialResultsError
from ..runner.progress import Progress
from ..runner.run import Runner
from ..store.sqlite import Store, default_store_path
from .results import emit_results


class ProtocolName(StrEnum):
    reference = "reference"
    seed = "seed"


def run_command(
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Model spec (repeatable): local, gguf:PATH, openai:MODEL."
    ),
    benchmarks: str = typer.Option(
        None, "--benchmarks", "-b", help="Comma-separated benchmarks or suites (default: quick)."
    ),
    config: Path = typer.Option(None, "--config", "-c", help="YAML run configuration."),
    resume: str = typer.Option(None, "--resume", help="Continue a stored run by its id."),
    base_url: str = typer.Option(None, "--base-url", help="Base URL of an OpenAI-compatible API."),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    scoring: str = typer.Option("auto", "--scoring", help="auto, loglikelihood or generative."),
    logprobs: bool = typer.Option(
        False, "--logprobs", help="The endpoint supports completions echo+logprobs."
    ),
    chat: bool = typer.Option(
        None, "--chat/--no-chat", help="Use chat messages (default: chat for APIs)."
    ),
    limit: int = typer.Option(None, "--limit", help="Seeded sample of N items per benchmark."),
    repeats: int = typer.Option(
        None, "--repeats", "--samples", help="Samples per item for sampled generation (3)."
    ),
    seed: int = typer.Option(1234, "--seed", help="Seed for item sampling, few-shot and sampling."),
    fewshot: int = typer.Option(None, "--fewshot", help="Few-shot count for every benchmark."),
    protocol: ProtocolName = typer.Option(
        ProtocolName.reference, "--protocol",
        help="Decoding when --temperature/--top-p/--repeats are not given: each benchmark's "
        "reference decoding (greedy), or the seed analysis's T 0.7, top-p 0.9, 3 samples.",
    ),
    temperature: float = typer.Option(
        None, "--temperature", help="Sampling temperature (default: set by --protocol)."
    ),
    top_p: float = typer.Option(None, "--top-p", help="Nucleus sampling (default: --protocol)."),
    max_tokens: int = typer.Option(None, "--max-tokens"),
    concurrency: int = typer.Option(None, "--concurrency", help="Requests in flight per model."),
    n_ctx: int = typer.Option(None, "--n-ctx", help="Context size for local models."),
    store: Path = typer.Option(
        None, "--store", help="Results database (.shootout/results.sqlite)."
    ),
    data_dir: str = typer.Option(None, "--data-dir", help="Benchmark data ($SHOOTOUT_DATA)."),
    json_out: bool = typer.Option(False, "--json", help="Print results as JSON on stdout."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    unsafe_exec: bool = typer.Option(
        False, "--unsafe-exec", help="Run model-written code without the bubblewrap sandbox."
    ),
    needle_lengths: str = typer.Option(
        None, "--needle-lengths", help="needle: context lengths, e.g. 1k,2k,4k,8k."
    ),
    needle_depths: str = typer.Option(
        None, "--needle-depths", help="needle: depths in percent, e.g. 0,25,50,75,100."
    ),
    needle_trials: int = typer.Option(None, "--needle-trials", help="needle: trials per cell."),
    needle_variant: str = typer.Option(
        None, "--needle-variant", help="needle: single, multivalue, multikey or multiquery."
    ),
    needle_count: int = typer.Option(
        None, "--needle-count", help="needle: needles per prompt for the multi-needle variants (4)."
    ),
    needle_tokenizer: str = typer.Option(
        None, "--needle-tokenizer",
        help="needle: tokenizer that sizes haystacks: local, gguf:PATH, tiktoken:NAME or chars.",
    ),
    haystack: str = typer.Option(None, "--haystack", help="needle: gatsby, pg, zh or synthetic."),
    context_window: int = typer.Option(
        None, "--context-window", help="needle: the API model's context window in tokens."
    ),
    max_tokens_budget: int = typer.Option(
        None, "--max-tokens-budget", help="needle: refuse grids that cost more tokens than this."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="needle: print the grid's token cost and send nothing."
    ),
) -> None:
    """Run benchmarks on one or more models and print the results."""
    db = Store(store or default_store_path())
    if resume:
        cfg = _resumed_config(db, resume)
    elif config is not None:
        if model or benchmarks:
            raise ConfigError("give either --config or --model/--benchmarks, not both")
        cfg = validate_config(load_config_file(config), str(config))
    else:
        cfg = _cli_config(
            models=model or ["local"],
            benchmarks=benchmarks or "quick",
            model_opts={
                "base_url": base_url,
                "api_key_env": api_key_env,
                "scoring": scoring,
                "logprobs": logprobs,
                "chat": chat,
                "concurrency": concurrency,
                "n_ctx": n_ctx,
            },
            run_opts={
                "limit": limit,
                "repeats": repeats,
                "seed": seed,
                "protocol": protocol.value,
                "sampling": {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens},
            },
            fewshot=fewshot,
            bench_options={
                "needle": {
                    k: v
                    for k, v in {
                        "lengths": needle_lengths,
                        "depths": needle_depths,
                        "trials": needle_trials,
                        "variant": needle_variant,
                        "needles": needle_count,
                        "tokenizer": needle_tokenizer,
                        "haystack": haystack,
                        "context_window": context_window,
                        "max_tokens_budget": max_tokens_budget,
                        "dry_run": dry_run or None,
                    }.items()
                    if v is not None
                }
            },
        )
    with Progress(enabled=not no_progress) as progress:
        runner = Runner(cfg, db, data_dir=data_dir, progress=progress, unsafe_exec=unsafe_exec)
        run_id = asyncio.run(runner.run())
    emit_results(db, run_id, json_out=json_out)
    failed = db.count_failed(run_id)
    if failed:
        raise PartialResultsError(
            f"{failed} samples failed after retries and are left out of the scores; "
            f"rerun the same command (or --resume {run_id}) to retry them"
        )


def _cli_config(
    models: list[str],
    benchmarks: str,
    model_opts: dict[str, Any],
    run_opts: dict[str, Any],
    fewshot: int | None,
    bench_options: dict[str, dict[str, Any]] | None = None,
) -> RunConfig:
    from ..benchmarks import expand_benchmarks

    names = expand_benchmarks(benchmarks.split(","))
    opts = {k: v for k, v in model_opts.items() if v is not None}
    bench_list: list[dict[str, Any]] = [
        {
            "name": n,
            **({"fewshot": fewshot} if fewshot is not None else {}),
            **({"options": bench_options[n]} if (bench_options or {}).get(n) else {}),
        }
        for n in names
    ]
    data = {
        "models": [{"spec": m, **opts} for m in models],
        "benchmarks": bench_list,
        **{k: v for k, v in run_opts.items() if v is not None},
    }
    data["sampling"] = {k: v for k, v in data["sampling"].items() if v is not None}
    return validate_config(data, "command line")


def _resumed_config(db: Store, run_id: str) -> RunConfig:
    run = db.get_run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r} in {db.path}")
    return validate_config(run["spec"], f"stored run {run_id}")
