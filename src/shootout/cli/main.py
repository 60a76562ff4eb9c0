"""The `shootout` command line."""

from __future__ import annotations

import sys
from typing import Any

import click
import typer

from .. import __version__
from ..errors import ShootoutError
from .arch import arch
from .data import data_app
from .export import export_command
from .listing import list_command
from .merge import merge_command
from .monitor import monitor_command
from .perf import perf_command
from .report import report_command
from .rescore import rescore_command
from .results import results_command
from .run import expand_aliases, run_command
from .runs import runs_command
from .view import view_command

app = typer.Typer(
    name="shootout",
    help="Put large language models head to head: benchmarks, statistics, cost and latency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

# exit codes: 0 ok, 1 partial results, 2 usage or configuration, 3 data, 4 provider, 5 store,
# 6 sandbox, 70 a bug in shootout (EX_SOFTWARE), 130 interrupted
EXIT_USAGE = 2
EXIT_BUG = 70


def _version(value: bool) -> None:
    if value:
        print(f"shootout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks for errors (accepted anywhere on the line)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options."""


app.command("run")(run_command)
app.command("results")(results_command)
app.command("list")(list_command)
app.command("perf")(perf_command)
app.command("monitor")(monitor_command)
app.command("report")(report_command)
app.command("runs")(runs_command)
app.command("export")(export_command)
app.command("rescore")(rescore_command)
app.command("view")(view_command)
app.command("merge")(merge_command)


app.command("arch", help="Architecture facts: parameters, FLOPs, KV cache, memory.")(arch)
app.add_typer(data_app, name="data")


def _classes(name: str) -> tuple[type[BaseException], ...]:
    """click's exception class `name`, and typer's copy of it: typer >= 0.2x vendors click
    (`typer._click`), so its parser raises classes that are not click's."""
    found: list[type[BaseException]] = [getattr(click.exceptions, name)]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        if hasattr(vendored, name):
            found.append(getattr(vendored, name))
    return tuple(found)


_USAGE_ERRORS = _classes("UsageError")
_CLICK_ERRORS = _classes("ClickException")
# typer's own Exit/Abort (typer.exceptions) are not click's once click is vendored
_EXITS: tuple[type[BaseException], ...] = (*_classes("Exit"), typer.Exit)
_ABORTS: tuple[type[BaseException], ...] = (*_classes("Abort"), typer.Abort, KeyboardInterrupt)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # `--debug` is global: accept it after the subcommand too (`shootout run --debug ...`)
    args = [a for a in args if a != "--debug"]
    try:
        if "run" in args[:1]:
            args = ["run", *expand_aliases(args[1:])]
        app(args=(["--debug"] if debug else []) + args, standalone_mode=False,
            prog_name="shootout")
    except _EXITS as e:
        sys.exit(_exit_code(e))
    except _ABORTS:  # before Exception: typer's Abort is a RuntimeError
        _fail("interrupted; rerun the same command (or --resume RUN_ID) to continue", 130)
    except Exception as e:
        if debug:
            raise
        _report(e, args)


def _report(e: Exception, args: list[str]) -> None:
    """One line on stderr and the exit code that says what kind of failure it was."""
    if isinstance(e, ShootoutError):
        _fail(_one_line(str(e)), e.exit_code)
    elif isinstance(e, _USAGE_ERRORS):
        _usage_error(e, args)
    elif isinstance(e, _CLICK_ERRORS):
        _fail(_one_line(_format(e)), int(getattr(e, "exit_code", 1)))
    else:  # a bug: still one line unless --debug
        _fail(
            f"internal error {type(e).__name__}: {_one_line(str(e))}. This is a bug in "
            f"shootout {__version__}: please report it on the project's issue tracker with "
            "the command and the traceback that --debug prints",
            EXIT_BUG,
        )


def _usage_error(e: Any, args: list[str]) -> None:
    """The parser's own words on one line, with its suggestion and where to find help."""
    ctx = getattr(e, "ctx", None)
    if ctx is not None and type(e).__name__ == "NoArgsIsHelpError":
        print(ctx.get_help(), file=sys.stderr)  # `shootout` alone: the help, as click does
        sys.exit(EXIT_USAGE)
    if ctx is not None:
        path = ctx.command_path
    else:  # some parser errors carry no context: name the subcommand from the arguments
        sub = next((a for a in args if not a.startswith("-")), None)
        path = f"shootout {sub}" if sub in _command_names() else "shootout"
    message = _one_line(e.format_message())
    misplaced = _misplaced_option(e, args) if path == "shootout" else None
    if misplaced:
        message += f" ({misplaced})"
    if not message.endswith((".", "?", "!")):
        message += "."
    _fail(f"{message} Try '{path} --help' for help.", EXIT_USAGE)


def _misplaced_option(e: Any, args: list[str]) -> str | None:
    """`shootout --limit 5 run`: the option exists, but on the subcommand, after its name."""
    option = getattr(e, "option_name", None)
    sub = next((a for a in args if a in _command_names()), None)
    if not option or sub is None:
        return None
    command = getattr(typer.main.get_command(app), "commands", {}).get(sub)
    names = {n for p in getattr(command, "params", ()) for n in (*p.opts, *p.secondary_opts)}
    if option in names:
        return f"{option} is an option of 'shootout {sub}': put it after '{sub}'"
    return None


def _command_names() -> set[str]:
    names = {c.name or "" for c in app.registered_commands}
    return names | {g.name or "" for g in app.registered_groups}


def _format(e: BaseException) -> str:
    fmt = getattr(e, "format_message", None)
    return str(fmt()) if callable(fmt) else str(e)


def _fail(message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def _exit_code(e: BaseException) -> int:
    code = getattr(e, "exit_code", None)
    if code is None:
        code = getattr(e, "code", 0)
    return int(code or 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())
