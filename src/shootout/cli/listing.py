"""`shootout list benchmarks | models`."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from ..benchmarks import SUITES, all_benchmark_classes
from ..errors import ConfigError
from ..providers.registry import describe_options, describe_specs
from .console import stdout_console


def list_command(
    what: str = typer.Argument(..., help="benchmarks or models"),
) -> None:
    """List the benchmarks or the model spec forms shootout knows."""
    console = stdout_console()
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
    else:
        raise ConfigError(f"list what? expected 'benchmarks' or 'models', got {what!r}")


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
