"""`shootout run`'s configuration from its command line (split out of `cli.run`, which
imports these names from here): `-m NAME=SPEC` models with the provider flags each one has,
`-M [MODEL.]KEY=VALUE` model options, `-o [BENCH.]KEY=VALUE` benchmark options, and a
configuration file's checks with the command line's options on top."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..config import RunConfig, validate_config
from ..errors import ConfigError
from ..naming import endpoint_urls
from .aliases import as_typed

# an -M name whose value is never echoed back (a key pasted on the command line)
_SECRET_KEY = re.compile(r"key|token|secret|password", re.I)


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
    has), `-M MODEL.KEY=VALUE` on the model so named (its name or spec), over any `-M KEY=`.
    VALUE is read as JSON where it parses (`true`, `16384`, `{"a": 1}`), else kept as text;
    the provider's Options validate it with the rest of the configuration."""
    from ..config import ModelConfig
    from ..naming import derive_names
    from ..providers.registry import option_names

    if not args:
        return data
    # keys every model has, whatever its provider
    generic = set(ModelConfig.model_fields) - {"spec", "name"}
    models = [{"spec": m} if isinstance(m, str) else dict(m) for m in data.get("models") or []]
    try:  # the names tables and messages show (a model without `name:` has one derived)
        shown = derive_names([(str(m.get("spec", "")), m.get("name"), m) for m in models])
    except ConfigError:
        shown = [str(m.get("name") or m.get("spec")) for m in models]
    # a model's own setting wins over one for every model, wherever each was given
    # (`-M fb.base_url=U --base-url V` sent fb to V, as the later of the two)
    given: dict[tuple[int, str, bool], tuple[Any, str]] = {}  # a model's key: value, as typed
    for arg in sorted(args, key=lambda a: bool(a.partition("=")[0].rpartition(".")[1])):
        target, eq, raw = arg.partition("=")
        name, dot, key = target.rpartition(".")
        label = as_typed(f"-M {arg!r}", "-M", arg)  # `--n-ctx 4096` named so, not as -M
        if not eq or not key.strip():
            raise ConfigError(f"{label}: expected KEY=VALUE or MODEL.KEY=VALUE")
        key = key.strip()
        chosen = [m for m, label in zip(models, shown, strict=True)
                  if not dot or name in (m.get("name"), m.get("spec"), label)]
        if dot and not chosen:
            have = ", ".join(shown)
            raise ConfigError(f"{label}: no model {name!r} in this run (models: {have})")
        fits = [m for m in chosen if key in generic
                or key in option_names(str(m.get("spec", "")))]
        if not fits:
            specs = ", ".join(str(m.get("spec")) for m in chosen)
            shown_arg = f"{target}=[value not shown]" if _SECRET_KEY.search(key) else arg
            how = " (a key comes from the environment: api_key_env names the variable)" \
                if _SECRET_KEY.search(key) else ""
            raise ConfigError(f"{as_typed(f'-M {shown_arg!r}', '-M', arg)}: {specs} has no "
                              f"option {key!r}{how}")
        value = _json_or_text(raw)
        for m in fits:
            # one key of one model given two values at one level (every model's, or the
            # model's own, named by its name or by its spec): the later had won, silently
            # (`--base-url A -m x --base-url B` sent every model to B)
            first, typed = given.setdefault((id(m), key, bool(dot)), (value, raw))
            if first != value:
                both = "" if _SECRET_KEY.search(key) else f" ({typed!r}, then {raw!r})"
                whom = f"model {m.get('name') or m.get('spec')}" if dot else "every model"
                raise ConfigError(
                    f"{label}: {key} is given twice for {whom}{both}; a model's own is "
                    f"-M NAME.{key}=VALUE (`-m NAME=SPEC` names it)")
            m[key] = value
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
        # as typed: `--judge x` is named so, not as the -o it expands to (an audit's)
        label = as_typed(f"-o {opt!r}", "-o", opt)
        target, eq, value = opt.partition("=")
        bench, dot, key = target.rpartition(".")
        if not eq or not key or (dot and not bench):  # ('.x=1': no benchmark named)
            raise ConfigError(f"{label}: expected BENCH.KEY=VALUE (or KEY=VALUE)")
        if dot and bench not in benchmarks:
            raise ConfigError(f"{label}: {bench} is not among this run's benchmarks")
        names = (
            [bench]
            if dot
            else [b for b in benchmarks if key in get_benchmark_class(b).Options.model_fields]
        )
        if not names:
            raise ConfigError(f"{label}: no benchmark of this run has the option {key!r}"
                              + _who_has(key))
        for b in names:
            known = get_benchmark_class(b).Options.model_fields
            if key not in known:
                have = ", ".join(known) or "none"
                raise ConfigError(f"{label}: {b} has no option {key!r} (its options: {have})")
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
        for url in endpoint_urls(model.provider_options):
            if bad := base_url_problem(url):
                raise ConfigError(f"{source}: models: {model.spec}: base_url {bad}")
