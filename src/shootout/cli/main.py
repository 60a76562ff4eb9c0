"""The `shootout` command line."""

from __future__ import annotations

import sys

import click
import typer

from ..errors import ShootoutError
from .listing import list_command
from .perf import perf_command
from .report import report_command
from .results import results_command
from .run import run_command

app = typer.Typer(
    name="shootout",
    help="Put large language models head to head: benchmarks, statistics, cost and latency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """Global options."""


app.command("run")(run_command)
app.command("results")(results_command)
app.command("list")(list_command)
app.command("perf")(perf_command)
app.command("report")(report_command)


def _register_optional() -> None:
    """Subcommands whose modules may be absent in a trimmed install."""
    try:
        from .arch import arch
    except ImportError:
        return
    app.command("arch", help="Architecture facts: parameters, FLOPs, KV cache, memory.")(arch)


_register_optional()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False, prog_name="shootout")
    except ShootoutError as e:
        if debug:
            raise
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        if debug:
            raise
        print(f"error: {_one_line(e.format_message())}", file=sys.stderr)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        print(
            "error: interrupted; rerun the same command (or --resume RUN_ID) to continue",
            file=sys.stderr,
        )
        sys.exit(130)
    except Exception as e:  # a bug: still one line unless --debug
        if debug:
            raise
        print(
            f"error: internal error {type(e).__name__}: {_one_line(str(e))} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        sys.exit(70)


def _one_line(text: str) -> str:
    return " ".join(text.split())
