"""`shootout list benchmarks | models`."""

from __future__ import annotations

import typer
from rich.table import Table

from ..benchmarks import REGISTRY, SUITES
from ..errors import ConfigError
from ..providers.registry import describe_specs
from .console import stdout_console


def list_command(
    what: str = typer.Argument(..., help="benchmarks or models"),
) -> None:
    """List the benchmarks or the model spec forms shootout knows."""
    console = stdout_console()
    if what == "benchmarks":
        table = Table("benchmark", "domain", "metric", "modes", "shots", "version", "description")
        for name, cls in REGISTRY.items():
            table.add_row(
                name,
                cls.domain,
                cls.primary_metric,
                ",".join(cls.modes),
                str(cls.default_fewshot),
                cls.version,
                cls.description,
            )
        console.print(table)
        for suite, names in SUITES.items():
            console.print(f"suite [bold]{suite}[/bold]: {', '.join(names)}")
        console.print(
            "per subject: [bold]mmlu_<subject>[/bold] (e.g. mmlu_anatomy) runs one of the 57 "
            "MMLU subjects"
        )
    elif what == "models":
        for form in describe_specs():
            console.print(f"- {form}")
    else:
        raise ConfigError(f"list what? expected 'benchmarks' or 'models', got {what!r}")
