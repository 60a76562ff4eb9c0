"""`shootout run`'s flags that stand for an option (`--haystack pg` is `-o needle.haystack=pg`,
`--n-ctx 8192` is `-M n_ctx=8192`), expanded in argv before the command line is parsed: the
command keeps few parameters, and the flags of earlier releases keep working."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError

# Flags of earlier releases, kept working: each is the same as a benchmark option
# (`-o BENCH.KEY=VALUE`; no BENCH: every benchmark that has KEY).
OPTION_ALIASES: dict[str, str] = {
    "--needle-lengths": "needle.lengths",
    "--needle-depths": "needle.depths",
    "--needle-trials": "needle.trials",
    "--needle-variant": "needle.variant",
    "--needle-count": "needle.needles",
    "--needle-tokenizer": "needle.tokenizer",
    "--haystack": "needle.haystack",
    "--context-window": "needle.context_window",
    "--max-tokens-budget": "needle.max_tokens_budget",
    # every multiple-choice benchmark of the run (docs/prompt-sensitivity.md)
    "--prompt-variants": "prompt_variants",
    "--judge": "judge",
}
FLAG_ALIASES: dict[str, str] = {"--unsafe-exec": "unsafe_exec=true"}
# Model flags, each the same as a model option (`-M KEY=VALUE`: every model of the run whose
# provider has KEY, an error if none has)
MODEL_OPTION_ALIASES: dict[str, str] = {
    "--base-url": "base_url",
    "--api-key-env": "api_key_env",
    "--n-ctx": "n_ctx",
}
MODEL_FLAG_ALIASES: dict[str, str] = {
    "--logprobs": "logprobs=true",
    "--chat": "chat=true",
    "--no-chat": "chat=false",
    "--batch": "batch=true",
}
# Settings of `--repeats auto`, carried in its value: `--repeats auto --target-se 0.02`
# becomes `--repeats auto:target_se=0.02` (config.RunConfig reads it; runner.adaptive)
RUN_OPTION_ALIASES: dict[str, str] = {
    "--target-se": "target_se",
    "--max-repeats": "max_repeats",
}


# the last expansion's options by the flag typed for them (`("-o", "judge=fa")` -> "--judge"),
# for an error that names what the user typed
TYPED: dict[tuple[str, str], str] = {}


def as_typed(shown: str, short: str, value: str) -> str:
    """`shown` (how an error names the option `short value`, "-o 'judge=x'"), led by the
    flag the user typed for it where the last expansion made it from one ("--judge")."""
    typed = TYPED.get((short, value))
    return f"{typed} ({shown})" if typed else shown


def expand_aliases(args: Sequence[str]) -> list[str]:
    """`run`'s flags that stand for an option, as that option (`--haystack pg` becomes
    `-o needle.haystack=pg`, `--n-ctx 8192` becomes `-M n_ctx=8192`); everything else is left
    as it is, and everything after `--` too."""
    TYPED.clear()
    out: list[str] = []
    adaptive: dict[str, str] = {}
    it = iter(args)
    for arg in it:
        flag, eq, value = arg.partition("=")
        if arg == "--":
            return [*_with_adaptive(out, adaptive), arg, *it]
        elif flag in OPTION_ALIASES or flag in MODEL_OPTION_ALIASES or flag in RUN_OPTION_ALIASES:
            if not eq:
                given = next(it, None)
                if given is None or (given.startswith("--") and len(given) > 2):
                    # (`--n-ctx --dry-run` took the flag as the value)
                    raise ConfigError(f"{flag} needs a value"
                                      + (f" (it was followed by {given})" if given else ""))
                value = given
            if flag in RUN_OPTION_ALIASES:
                adaptive[flag] = value
                continue
            out += (["-o", f"{OPTION_ALIASES[flag]}={value}"] if flag in OPTION_ALIASES
                    else ["-M", f"{MODEL_OPTION_ALIASES[flag]}={value}"])
            TYPED.setdefault((out[-2], out[-1]), flag)
        elif arg in FLAG_ALIASES:
            out += ["-o", FLAG_ALIASES[arg]]
            TYPED.setdefault(("-o", out[-1]), arg)
        elif arg in MODEL_FLAG_ALIASES:
            out += ["-M", MODEL_FLAG_ALIASES[arg]]
            TYPED.setdefault(("-M", out[-1]), arg)
        else:
            out.append(arg)
    return _with_adaptive(out, adaptive)


def _with_adaptive(args: list[str], given: dict[str, str]) -> list[str]:
    """`args` with --target-se/--max-repeats (checked) folded into `--repeats auto`'s value."""
    if not given:
        return args
    first = next(iter(given))
    for flag, value in given.items():
        _check_adaptive_value(flag, value)
    at = next((i for i, a in enumerate(args) if a.partition("=")[0] in ("--repeats", "--samples")),
              None)
    flag, eq, value = args[at].partition("=") if at is not None else ("", "", "")
    if at is not None and not eq:
        value = args[at + 1] if at + 1 < len(args) else ""
    # as `cli.run` refuses the other flags with -c (`-cX.yaml` attached too) or --resume
    with_flag = [a.partition("=")[0] for a in args if a.partition("=")[0] in (
        "--config", "--resume") or (a.startswith("-c") and not a.startswith("--"))]
    if at is None and (given_with := next(iter(with_flag), None)):
        given_with = "--resume" if given_with == "--resume" else "--config"
        why = ("the run continues with its stored configuration" if given_with == "--resume"
               else "set target_se:/max_repeats: in the configuration file")
        raise ConfigError(f"{first} cannot be used with {given_with}: {why}")
    if at is None or not value.startswith("auto"):
        raise ConfigError(f"{first} applies to adaptive repeats: add --repeats auto")
    extra = ",".join(f"{RUN_OPTION_ALIASES[f]}={v}" for f, v in given.items())
    merged = f"{value},{extra}" if ":" in value else f"auto:{extra}"
    return [*args[:at], f"{flag}={merged}", *args[at + (1 if eq else 2):]]


def _check_adaptive_value(flag: str, value: str) -> None:
    """One line for a bad --target-se or --max-repeats."""
    try:
        ok = 0 < float(value) <= 0.5 if flag == "--target-se" else 2 <= int(value) <= 100
    except ValueError:
        ok = False
    if not ok:
        want = ("a number above 0 and at most 0.5" if flag == "--target-se"
                else "a whole number from 2 to 100")
        raise ConfigError(f"{flag}: expected {want}, got {value!r}")
