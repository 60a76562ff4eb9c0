"""`shootout run`: score models on benchmarks; resumable."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import RunConfig, check_new_names, load_config_file, validate_config
from ..errors import BudgetError, ConfigError, PartialResultsError
from ..runner.execute import execute_run
from ..runner.progress import Progress
from ..store.sqlite import Store, default_store_path

# re-exported: the alias tables and their expansion live in .aliases
from .aliases import (
    FLAG_ALIASES as FLAG_ALIASES,
    MODEL_FLAG_ALIASES as MODEL_FLAG_ALIASES,
    MODEL_OPTION_ALIASES as MODEL_OPTION_ALIASES,
    OPTION_ALIASES as OPTION_ALIASES,
    RUN_OPTION_ALIASES as RUN_OPTION_ALIASES,
    expand_aliases as expand_aliases,
)
from .dry_run import dry_run_table
from .results import emit_results


class CacheName(StrEnum):
    use = "use"
    refresh = "refresh"
    off = "off"


class ProtocolName(StrEnum):
    reference = "reference"
    seed = "seed"


# `shootout run`'s options, one line each (the command's signature stays short)
ModelOpt = Annotated[
    list[str] | None,
    typer.Option("--model", "-m", help="Model spec (repeatable): local, gguf:PATH, openai:MODEL."),
]
BenchmarksOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--benchmarks", "--tasks", "-b",
        help="Comma-separated benchmarks or suites (repeatable; default: quick).",
    ),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run configuration.")]
ResumeOpt = Annotated[str | None, typer.Option("--resume", help="Continue a stored run by its id.")]
ScoringOpt = Annotated[str, typer.Option("--scoring", help="auto, loglikelihood or generative.")]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", help="Seeded sample of N items per benchmark.")
]
RepeatsOpt = Annotated[
    str | None,
    typer.Option("--repeats", "--samples",
                 help="Samples per item for sampled generation (3), or auto: rounds until the "
                 "resampling SE reaches --target-se (0.01), at most --max-repeats (10)."),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed for item sampling, few-shot and sampling.")
]
FewshotOpt = Annotated[
    int | None, typer.Option("--fewshot", help="Few-shot count for every benchmark.")
]
ProtocolOpt = Annotated[
    ProtocolName,
    typer.Option(
        "--protocol",
        help="Decoding when --temperature/--top-p/--repeats are not given: each benchmark's "
        "reference decoding (greedy), or the seed analysis's T 0.7, top-p 0.9, 3 samples.",
    ),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("--temperature", help="Sampling temperature (default: set by --protocol)."),
]
TopPOpt = Annotated[
    float | None, typer.Option("--top-p", help="Nucleus sampling (default: --protocol).")
]
MaxTokensOpt = Annotated[int | None, typer.Option(
    "--max-tokens", help="Most new tokens per answer (default: each benchmark's own).")]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", help="Requests in flight per model.")
]
NCtxOpt = Annotated[int | None, typer.Option("--n-ctx", help="Context size for local models.")]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Results database (.shootout/results.sqlite).")
]
DataDirOpt = Annotated[
    str | None, typer.Option("--data-dir", help="Benchmark data ($SHOOTOUT_DATA).")
]
JsonOutOpt = Annotated[bool, typer.Option("--json", help="Print results as JSON on stdout.")]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="Benchmark option BENCH.KEY=VALUE (repeatable)."),
]
ModelArgOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model-arg", "-M",
        help="Model option KEY=VALUE or MODEL.KEY=VALUE, VALUE as JSON where it parses "
        "(e.g. -M reasoning_effort=low, -M 'extra_body={\"service_tier\": \"flex\"}').",
    ),
]
CacheOpt = Annotated[
    CacheName | None,
    typer.Option("--cache", help="Response cache: use stored answers (default), refresh them "
                 "(ask again, store for later runs), or off (ask again, keep to this run)."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what each benchmark would cost and send nothing.")
]
MaxCostOpt = Annotated[
    float | None,
    typer.Option("--max-cost",
                 help="Spend at most USD (> 0) on this run: refused when its expected cost is "
                 "over, stopped (resumable) when its spend gets there."),
]
ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", help="Run the I-th of N parts of every benchmark's items (I/N), "
                 "into a store of its own; `shootout merge` puts the parts together."),
]


# an -M name whose value is never echoed back (a key pasted on the command line)
_SECRET_KEY = re.compile(r"key|token|secret|password", re.I)


def run_command(
    ctx: typer.Context,
    model: ModelOpt = None,
    benchmarks: BenchmarksOpt = None,
    config: ConfigOpt = None,
    resume: ResumeOpt = None,
    scoring: ScoringOpt = "auto",
    limit: LimitOpt = None,
    repeats: RepeatsOpt = None,
    seed: SeedOpt = 1234,
    fewshot: FewshotOpt = None,
    protocol: ProtocolOpt = ProtocolName.reference,
    temperature: TemperatureOpt = None,
    top_p: TopPOpt = None,
    max_tokens: MaxTokensOpt = None,
    concurrency: ConcurrencyOpt = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOutOpt = False,
    no_progress: NoProgressOpt = False,
    option: OptionOpt = None,
    model_arg: ModelArgOpt = None,
    cache: CacheOpt = None,
    dry_run: DryRunOpt = False,
    max_cost: MaxCostOpt = None,
    shard: ShardOpt = None,
) -> None:
    """Run benchmarks on one or more models and print the results.

    Benchmark options: -o BENCH.KEY=VALUE (e.g. -o needle.lengths=1k,4k; `shootout list
    benchmarks` names each benchmark's options). Also accepted, as before: --needle-lengths,
    --needle-depths, --needle-trials, --needle-variant, --needle-count, --needle-tokenizer,
    --haystack, --context-window, --max-tokens-budget (needle options) and --unsafe-exec
    (-o unsafe_exec=true: run model-written code without the bubblewrap sandbox),
    --prompt-variants N (-o prompt_variants=N: multiple-choice benchmarks under N prompt
    templates, for the report's prompt sensitivity section) and --judge MODEL
    (-o judge=MODEL: the model of the run, by name or spec, that judges mt_bench and xstest).

    Model options: -M KEY=VALUE (`shootout list models` names each provider's options).
    Also accepted: --base-url URL, --api-key-env VAR (API models), --n-ctx N (local models),
    --logprobs, --chat/--no-chat and --batch (OpenAI's Batch API, Anthropic's Message Batches:
    half price, answers within 24 h): each is -M KEY=VALUE for every model that has KEY.

    Adaptive repeats: --repeats auto, with --target-se X (0.01) and --max-repeats N (10);
    the two are carried as --repeats auto:target_se=X,max_repeats=N.
    """
    _refuse_ignored(ctx, resume=resume is not None, config=config is not None)
    if resume:
        from .runs import open_store

        db = open_store(store, write=True)  # a run to resume is in a store that exists
        cfg = _resumed_config(db, resume)
        if max_cost is not None:
            cfg = with_max_cost(cfg, max_cost)
    elif config is not None:
        if shard is not None:  # the command line's own value: not blamed on the file
            from ..runner.shard import parse_shard

            try:
                parse_shard(shard)
            except ConfigError as e:
                raise ConfigError(f"command line: shard: {e}") from e
        data = with_model_args(load_config_file(config), model_arg or [])
        data = {**data, **({"cache": cache.value} if cache is not None else {}),
                **({"max_cost": max_cost} if max_cost is not None else {}),
                **({"shard": shard} if shard is not None else {})}
        cfg = _with_cli_extras(data, str(config), option or [], dry_run)
        check_new_names(cfg, str(config))
    else:
        flags = {"concurrency": concurrency}
        run_opts = {"limit": limit, "repeats": repeats, "seed": seed, "dry_run": dry_run or None,
                    "max_cost": max_cost, "shard": shard,
                    "cache": cache.value if cache is not None else None,
                    "protocol": protocol.value, "sampling": {
                        "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}}
        # the defaults apply where the option is absent, not to an empty value (an error)
        cfg = _cli_config(["local"] if model is None else model,
                          "quick" if benchmarks is None else ",".join(benchmarks), flags,
                          {"scoring": scoring}, run_opts, fewshot, option or [],
                          model_arg or [])
        check_new_names(cfg, "command line")
    if not resume:
        db = Store(store or shard_store_path(cfg.shard))
    _execute(cfg, db, data_dir, progress=not no_progress, json_out=json_out)


# what still applies to a run whose configuration comes from a --config file or a stored run
# (--resume); any other option given with them would be silently ignored, so it is refused
_WITH_CONFIG = {"config", "store", "data_dir", "json_out", "no_progress", "option", "dry_run",
                "model_arg", "cache", "max_cost", "shard"}
# a resumed run may go on under another cost cap: the cap is not part of what the run is
_WITH_RESUME = {"resume", "store", "data_dir", "json_out", "no_progress", "max_cost"}


def shard_store_path(shard: str | None) -> Path:
    """Where a run stores without --store: the default store, or for shard I/N a file of its
    own beside it (`results.shard-2-of-3.sqlite`), as one SQLite file cannot be shared
    between machines."""
    from ..runner.shard import parse_shard

    path = default_store_path()
    if shard is None:
        return path
    index, count = parse_shard(shard)
    return path.with_name(f"{path.stem}.shard-{index}-of-{count}{path.suffix}")


def _refuse_ignored(ctx: typer.Context, *, resume: bool, config: bool) -> None:
    """One line naming the first option that --resume or --config would ignore."""
    if not (resume or config):
        return
    keep, given, why = (
        (_WITH_RESUME, "--resume", "the run continues with its stored configuration")
        if resume else (_WITH_CONFIG, "--config", "set it in the configuration file")
    )
    for param in ctx.command.params:
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        # typer may vendor click: compare the enum member by name
        if name not in keep and source is not None and source.name == "COMMANDLINE":
            flag = max(param.opts, key=len)
            raise ConfigError(f"{flag} cannot be used with {given}: {why}")


# the run this process is running, as --resume needs it (its id, and --store where it is not
# in the default store): Ctrl-C's message names it (`cli.main`)
current_resume: str | None = None


def resume_args(run_id: str, path: Path) -> str:
    """`RUN_ID`, with `--store PATH` where the run is not in the default store (--store, or
    a shard's store of its own): what `--resume` needs to find it."""
    try:
        same = Path(path).resolve() == default_store_path().resolve()
    except OSError:
        same = False
    return run_id if same else f"{run_id} --store {path}"


def _execute(cfg: RunConfig, db: Store, data_dir: str | None, *, progress: bool,
             json_out: bool) -> None:
    """Run, print the results (or a dry run's prices), and fail if samples failed."""
    global current_resume
    # the runner's own id (`Runner.run_id`); a dry run stores nothing to resume
    current_resume = None if cfg.dry_run else resume_args(cfg.run_id(), db.path)
    unsafe = [b.name for b in cfg.benchmarks if _unsafe(b.name, b.options)]
    if unsafe and not cfg.dry_run:
        print(f"warning: --unsafe-exec: the code models write for {', '.join(unsafe)} runs "
              "without the sandbox, as this user", file=sys.stderr)
    with Progress(enabled=progress) as bar:
        run_id = asyncio.run(execute_run(cfg, db, data_dir=data_dir, progress=bar))
    db.check_still_there()  # results written to a deleted file are not reported as kept
    if cfg.dry_run and not json_out:
        dry_run_table(db, run_id, cfg.max_cost)
    else:
        emit_results(db, run_id, json_out=json_out)
    run = db.get_run(run_id) or {}
    if run.get("status") == "stopped-by-budget":
        from ..runner.budget import stop_message

        raise BudgetError(stop_message(run_id, run["manifest"].get("budget") or {}).replace(
            f"--resume {run_id}", f"--resume {resume_args(run_id, db.path)}"))
    if failed := db.count_failed(run_id):
        again = f"rerun the same command (or --resume {resume_args(run_id, db.path)})"
        # a run with nothing answered is said to be one (its status is "failed"), not
        # reported as one whose scores merely lack some samples
        what = (f"all {failed} samples failed after retries: the run has no scores"
                if db.nothing_answered(run_id)
                else f"{failed} samples failed after retries and are left out of the scores")
        raise PartialResultsError(
            f"{what}{_why_failed(cfg, db, run_id)}; "
            + (f"the same requests would fail again: change what the error names, then "
               f"{again} to retry them" if _would_fail_again(db, run_id)
               else f"{again} to retry them"))


def _would_fail_again(db: Store, run_id: str) -> bool:
    """Whether the most common failure is one that a rerun sends to the same answer: the
    endpoint refused the request as sent (a 4xx not worth retrying: a bad parameter, a model
    that does not exist, a refused key), or a local model's context cannot hold it."""
    import re

    from ..providers.http import retryable_status

    reasons = db.failure_reasons(run_id, limit=1)
    if not reasons:
        return False
    error = reasons[0][1]
    status = re.search(r"\bHTTP (4\d\d)\b", error)
    return bool(status and not retryable_status(int(status.group(1)), {})) \
        or "exceeds n_ctx" in error


def _unsafe(name: str, options: dict[str, Any]) -> bool:
    """Whether a benchmark's options run model-written code without the sandbox (the flag
    is stored as the text "true": read through the benchmark's own options)."""
    from ..benchmarks import find_benchmark_class

    cls = find_benchmark_class(name)
    if cls is None or "unsafe_exec" not in options:
        return False
    return bool(getattr(cls.validate_options(options), "unsafe_exec", False))


def _why_failed(cfg: RunConfig, db: Store, run_id: str) -> str:
    """` (most common: N × ERROR)`, the error cut short, with the key's variable where the
    endpoint refused the credentials."""
    reasons = db.failure_reasons(run_id, limit=1)
    if not reasons:
        return ""
    model, error, n = reasons[0]
    text = " ".join(error.split())
    if len(text) > 200:
        text = text[:199] + "…"
    hint = ""
    if any(f"HTTP {code}" in text for code in (401, 403)):
        from ..providers.registry import validate_options

        for m in cfg.models:
            if m.display == model:
                env = getattr(validate_options(m.spec, m.provider_options), "api_key_env", None)
                hint = f": check ${env}" if env else ""
    return f" (most common: {n} × {model}: {text}{hint})"


def _cli_config(
    models: list[str],
    benchmarks: str,
    provider_flags: dict[str, Any],
    model_opts: dict[str, Any],
    run_opts: dict[str, Any],
    fewshot: int | None,
    options: list[str],
    model_args: list[str] | None = None,
) -> RunConfig:
    from ..benchmarks import expand_benchmarks

    names = expand_benchmarks(benchmarks.split(","))
    bench_options = parse_options(options, names)
    bench_list: list[dict[str, Any]] = [
        {
            "name": n,
            **({"fewshot": fewshot} if fewshot is not None else {}),
            **({"options": bench_options[n]} if bench_options.get(n) else {}),
        }
        for n in names
    ]
    data = {
        "models": _models(models, provider_flags, model_opts),
        "benchmarks": bench_list,
        **{k: v for k, v in run_opts.items() if v is not None},
    }
    data["sampling"] = {k: v for k, v in data["sampling"].items() if v is not None}
    return validate_config(with_model_args(data, model_args or []), "command line")




def with_model_args(data: dict[str, Any], args: Sequence[str]) -> dict[str, Any]:
    """`-M KEY=VALUE` set on every model whose provider has the option KEY (an error if none
    has), `-M MODEL.KEY=VALUE` on the model so named (its name or spec). VALUE is read as
    JSON where it parses (`true`, `16384`, `{"a": 1}`), else kept as text; the provider's
    Options validate it with the rest of the configuration."""
    from ..config import ModelConfig
    from ..naming import derive_names
    from ..providers.registry import option_names

    if not args:
        return data
    # keys every model has, whatever its provider
    generic = set(ModelConfig.model_fields) - {"spec", "name"}
    models = [{"spec": m} if isinstance(m, str) else dict(m) for m in data.get("models") or []]
    try:  # the names tables and messages show (a model without `name:` has one derived)
        shown = derive_names([(str(m.get("spec", "")), m.get("name"), m.get("base_url"))
                              for m in models])
    except ConfigError:
        shown = [str(m.get("name") or m.get("spec")) for m in models]
    for arg in args:
        target, eq, raw = arg.partition("=")
        name, dot, key = target.rpartition(".")
        if not eq or not key.strip():
            raise ConfigError(f"-M {arg!r}: expected KEY=VALUE or MODEL.KEY=VALUE")
        key = key.strip()
        chosen = [m for m, label in zip(models, shown, strict=True)
                  if not dot or name in (m.get("name"), m.get("spec"), label)]
        if dot and not chosen:
            have = ", ".join(shown)
            raise ConfigError(f"-M {arg!r}: no model {name!r} in this run (models: {have})")
        fits = [m for m in chosen if key in generic
                or key in option_names(str(m.get("spec", "")))]
        if not fits:
            specs = ", ".join(str(m.get("spec")) for m in chosen)
            shown_arg = f"{target}=[value not shown]" if _SECRET_KEY.search(key) else arg
            how = " (a key comes from the environment: api_key_env names the variable)" \
                if _SECRET_KEY.search(key) else ""
            raise ConfigError(f"-M {shown_arg!r}: {specs} has no option {key!r}{how}")
        for m in fits:
            m[key] = _json_or_text(raw)
    return {**data, "models": models}


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _models(
    specs: list[str], provider_flags: dict[str, Any], model_opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each model with the provider flags its provider has (--n-ctx goes to local models,
    --base-url to API models); a flag that no model has is an error, not silently dropped."""
    from ..providers.registry import option_names

    named = [_name_and_spec(m) for m in specs]
    given = {k: v for k, v in provider_flags.items() if v is not None}
    accepts = {spec: option_names(spec) for _, spec in named}
    for key in given:
        if not any(key in names for names in accepts.values()):
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to {', '.join(accepts)}")
    return [
        {"spec": spec, **({"name": name} if name else {}), **model_opts,
         **{k: v for k, v in given.items() if k in accepts[spec]}}
        for name, spec in named
    ]


def _name_and_spec(arg: str) -> tuple[str | None, str]:
    """`-m NAME=SPEC` names a model (`-m base=local`); a spec alone is `-m SPEC`. A text before
    "=" with a ":" or "/" in it is part of a spec (a path or a model id), not a name."""
    name, eq, spec = arg.partition("=")
    if eq and name.strip() and spec.strip() and not any(c in name for c in ":/"):
        return name.strip(), spec.strip()
    return None, arg


def parse_options(options: Sequence[str], benchmarks: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`-o BENCH.KEY=VALUE` into {bench: {key: value}}; `-o KEY=VALUE` sets KEY on every
    benchmark of the run that has the option."""
    from ..benchmarks import get_benchmark_class

    out: dict[str, dict[str, Any]] = {}
    for opt in options:
        target, eq, value = opt.partition("=")
        bench, dot, key = target.rpartition(".")
        if not eq or not key:
            raise ConfigError(f"-o {opt!r}: expected BENCH.KEY=VALUE (or KEY=VALUE)")
        if dot and bench not in benchmarks:
            raise ConfigError(f"-o {opt!r}: {bench} is not among this run's benchmarks")
        names = (
            [bench]
            if dot
            else [b for b in benchmarks if key in get_benchmark_class(b).Options.model_fields]
        )
        if not names:
            raise ConfigError(f"-o {opt!r}: no benchmark of this run has the option {key!r}"
                              + _who_has(key))
        for b in names:
            known = get_benchmark_class(b).Options.model_fields
            if key not in known:
                have = ", ".join(known) or "none"
                raise ConfigError(f"-o {opt!r}: {b} has no option {key!r} (its options: {have})")
            out.setdefault(b, {})[key] = value
    return out


def _who_has(key: str) -> str:
    """Which benchmarks have the option `key` (`--judge` is `-o judge=…`: mt_bench's)."""
    from ..benchmarks import REGISTRY

    have = sorted(n for n, cls in REGISTRY.items() if key in cls.Options.model_fields)
    if not have:
        return ""
    return f" (it is an option of {', '.join(have[:8])}{', …' if len(have) > 8 else ''})"


def _with_cli_extras(
    data: dict[str, Any], source: str, options: list[str], dry_run: bool
) -> RunConfig:
    """A config file, with `-o` options and `--dry-run` from the command line on top."""
    cfg = validate_config(data, source)
    check_config_file(cfg, source)
    if not options and not dry_run:
        return cfg
    extra = parse_options(options, [b.name for b in cfg.benchmarks])
    benches = [
        b.model_copy(update={"options": {**b.options, **extra.get(b.name, {})}})
        for b in cfg.benchmarks
    ]
    return cfg.model_copy(update={"benchmarks": benches, "dry_run": cfg.dry_run or dry_run})


def check_config_file(cfg: RunConfig, source: str) -> None:
    """What the run would find wrong only once it starts (a benchmark's name or options, an
    endpoint's URL), found now and said with the file and key it is in."""
    from ..benchmarks import get_benchmark_class
    from ..providers.http import base_url_problem

    for bench in cfg.benchmarks:  # suites expanded: named by the benchmark, not its index
        try:
            get_benchmark_class(bench.name).validate_options(bench.options)
        except ConfigError as e:
            raise ConfigError(f"{source}: benchmarks: {e}") from None
    for model in cfg.models:
        url = model.provider_options.get("base_url")
        if isinstance(url, str) and (bad := base_url_problem(url)):
            raise ConfigError(f"{source}: models: {model.spec}: base_url {bad}")


def _resumed_config(db: Store, run_id: str) -> RunConfig:
    run = db.get_run(run_id)
    if run is None:
        raise db.unknown_run(run_id)
    from ..urls import marked_urls

    if marked := next(marked_urls(run["spec"]), None):
        from ..providers.replicas import display_url

        raise ConfigError(
            f"cannot resume {run_id} by its id: {display_url(marked)} had credentials in its "
            "URL, which are not stored; rerun the command that started it (the same "
            "configuration, credentials included, resumes it)")
    return validate_config(run["spec"], f"stored run {run_id}")


def with_max_cost(cfg: RunConfig, usd: float) -> RunConfig:
    """A resumed run under the cap `usd` given now, in place of every cap it had (its models'
    own too): the cap the user gives last is the one that holds."""
    models = [m.model_copy(update={"max_cost": None}) for m in cfg.models]
    return validate_config({**cfg.model_dump(mode="json"), "max_cost": usd,
                            "models": [m.model_dump(mode="json") for m in models]}, "resume")
