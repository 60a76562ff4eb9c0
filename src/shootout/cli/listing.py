"""`shootout list benchmarks | models`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..benchmarks import SUITES, all_benchmark_classes
from ..errors import ConfigError
from ..providers.registry import describe_options, describe_specs
from .console import stdout_console


def list_command(
    what: str = typer.Argument(..., help="benchmarks or models"),
    name: str = typer.Argument(
        None, help="One benchmark (e.g. needle) or provider (e.g. openai): its options, each "
        "with its default and what it does."),
) -> None:
    """List the benchmarks or the model spec forms shootout knows; with a name, one
    benchmark's or provider's options in full."""
    console = stdout_console()
    if name is not None:
        if what not in ("benchmarks", "models"):
            raise ConfigError(f"list what? expected 'benchmarks' or 'models', got {what!r}")
        console.print(_options_table(what, name))
        return
    if what == "benchmarks":
        table = Table("benchmark", "domain", "metric", "modes", "shots", "version", "options",
                      "description")
        for name, cls in all_benchmark_classes().items():
            table.add_row(
                name,
                cls.domain,
                cls.primary_metric,
                ",".join(cls.modes),
                str(cls.default_fewshot),
                cls.version,
                ", ".join(cls.Options.model_fields) or "–",
                cls.description,
            )
        console.print(table)
        for suite, names in SUITES.items():
            console.print(Text.assemble("suite ", (suite, "bold"), f": {', '.join(names)}"))
        console.print(Text.assemble(
            "per subject: ", ("mmlu_<subject>", "bold"), " (e.g. mmlu_anatomy) runs one of the "
            "57 MMLU subjects"))
        console.print("each option's default and meaning: shootout list benchmarks NAME")
    elif what == "models":
        console.print(embedded_table())
        for form in describe_specs():
            console.print(f"- {form}")
        from ..config import ModelConfig

        # (the name is not an option: `-m NAME=SPEC`, or `name:` in a run config's entry)
        generic = ", ".join(k for k in ModelConfig.model_fields if k not in ("spec", "name"))
        console.print("model options (a run config's model entry, or -M KEY=VALUE; also, for "
                      f"every provider: {generic}; a model's name is -m NAME=SPEC, or name: "
                      "in its entry):")
        for line in describe_options():
            console.print(f"- {line}")
        console.print("each option's default and meaning: shootout list models PROVIDER "
                      "(openai, anthropic, gguf, local)")
    else:
        raise ConfigError(f"list what? expected 'benchmarks' or 'models', got {what!r}")


def _options_table(what: str, name: str) -> Table:
    """The options of one benchmark (`-o NAME.KEY=VALUE`) or provider (`-M KEY=VALUE`): each
    one's default and description, as its Options model declares them."""
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    from ..benchmarks import get_benchmark_class
    from ..providers.registry import provider_class

    options: type[BaseModel]
    if what == "benchmarks":
        cls = get_benchmark_class(name)  # (an unknown name: one line with the nearest)
        options, how = cls.Options, f"-o {cls.name}.KEY=VALUE"
        title = f"{cls.name}: {cls.description} ({how})"
    else:
        provider = provider_class(name.rstrip(":"))
        options, how = provider.Options, "-M KEY=VALUE"
        title = f"{', '.join(p + ':' for p in provider.prefixes)} options ({how})"
    table = Table("option", "default", "description", title=title, title_justify="left")
    for key, field in options.model_fields.items():
        if field.default is not PydanticUndefined:
            default = field.default
        elif field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = "(required)"
        table.add_row(key, _shown(default), field.description or "")
    if not options.model_fields:
        table.add_row("(none)", "", "")
    return table


def _shown(default: Any) -> str:
    """An option's default as typed on the command line: `true`, `1k,4k`, `–` for none."""
    if default is None or default in ({}, [], ()):
        return "–"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple | list):
        return ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in default)
    return str(default)


def embedded_table() -> Table:
    """The embedded models, with facts read from each GGUF's header (exact counts)."""
    from ..arch.gguf_header import read_header
    from ..arch.resolve import read_gguf
    from ..providers.embedded import EMBEDDED

    table = Table("spec", "model", "parameters", "quantisation", "context", "licence", "kind",
                  "chat template", title="embedded models (no key, no network)")
    for name, m in EMBEDDED.items():
        spec = "local" if name == "gemma3-270m" else f"local:{name}"
        try:
            path = m.path()
        except ConfigError as e:
            table.add_row(spec, m.title, "–", m.quantisation, "–", m.licence, m.kind,
                          f"not installed: {e}")
            continue
        facts = read_gguf(path)
        template = str(read_header(path).meta.get("tokenizer.chat_template") or "")
        chat = ("yes (ChatML)" if "<|im_start|>" in template else "yes") if template else "no"
        table.add_row(spec, m.title, f"{facts.params.total:,}", m.quantisation,
                      f"{facts.spec.context_length:,}", m.licence, m.kind, chat)
    return table
