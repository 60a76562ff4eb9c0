"""`shootout monitor`: probe models on a wall-clock schedule and store each probe; or, with
--summary, what the stored probes say (availability, error classes, TTFT by hour, outages)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from ..errors import ConfigError
from ..store import MonitorSession, Store
from ..terminal import shown
from .console import stdout_console

if TYPE_CHECKING:
    from ..monitor.schedule import Plan


def monitor_command(
    ctx: typer.Context,
    monitor_id: str = typer.Argument(None, help="With --summary: the monitor to summarise."),
    model: list[str] = typer.Option(None, "--model", "-m", help="Model spec to probe "
                                    "(repeatable)."),
    model_arg: list[str] = typer.Option(None, "--model-arg", "-M",
                                        help="Model option KEY=VALUE or MODEL.KEY=VALUE."),
    base_url: str = typer.Option(None, "--base-url", help="Endpoint base URL (-M base_url)."),
    api_key_env: str = typer.Option(None, "--api-key-env",
                                    help="Variable holding the API key (-M api_key_env)."),
    every: str = typer.Option("60s", "--every", help="Interval between probes (30s, 5m, 1h)."),
    duration: str = typer.Option("24h", "--for", help="How long to monitor (1h, 24h, 7d)."),
    timeout: str = typer.Option(None, "--timeout", help="Per probe (default: the interval, "
                                "at most 30s)."),
    max_tokens: int = typer.Option(8, "--max-tokens", min=1, max=4096,
                                   help="Output tokens a probe asks for."),
    summary: bool = typer.Option(False, "--summary", help="Summarise stored probes; send none."),
    store: Path = typer.Option(None, "--store", help="Results database."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Probe models on a schedule: availability, error classes, TTFT and outages over time.

    Each probe is one small fixed request, sent once (no retries), and stored as it ends. The
    schedule is aligned to the wall clock; rerunning the same command while its window is open
    continues the same monitor (slots already probed are not probed again).
    """
    from ..monitor.schedule import parse_duration
    from ..store import default_store_path
    from .runs import open_store

    db = open_store(store) if summary else Store(store or default_store_path())
    specs = list(model or [])
    args = list(model_arg or [])
    args += [f"base_url={base_url}"] if base_url else []
    args += [f"api_key_env={api_key_env}"] if api_key_env else []
    if summary:
        # the probing options would be dropped without a word (an audit's): said instead
        for name in ("model_arg", "base_url", "api_key_env", "every", "duration", "timeout",
                     "max_tokens"):
            src = ctx.get_parameter_source(name)
            if src is not None and src.name == "COMMANDLINE":
                flag = "-M" if name == "model_arg" else max(
                    next(p.opts for p in ctx.command.params if p.name == name), key=len)
                raise ConfigError(f"{flag} sets how models are probed; --summary sends no "
                                  "probe (it reads the stored ones: -m selects models)")
        _summary(db, monitor_id, specs, json_out=json_out)
        return
    if monitor_id:
        raise ConfigError("a monitor id is for --summary; to continue a monitor, rerun its "
                          "command")
    if not specs:
        raise ConfigError("give at least one model to probe (-m SPEC), or --summary")
    plan = _plan(specs, args, every, duration, max_tokens)
    wait = parse_duration(timeout, "--timeout") if timeout else min(plan.every, 30.0)
    session = asyncio.run(_monitor(db, plan, args, wait, _say_err if json_out else _say))
    _summary(db, session.monitor_id, [], json_out=json_out)


def _say(line: str) -> None:  # (a server's error in it: its escape sequences not obeyed)
    print(shown(line), flush=True)


def _say_err(line: str) -> None:  # --json: stdout is the summary's alone
    print(shown(line), file=sys.stderr, flush=True)


def _plan(specs: list[str], args: list[str], every: str, duration: str, max_tokens: int
          ) -> Plan:
    from ..monitor.probe import public_url
    from ..monitor.schedule import Plan, parse_duration
    from ..urls import stored_options

    step, length = parse_duration(every, "--every"), parse_duration(duration, "--for")
    if step < 1:
        raise ConfigError("--every: at least 1s")
    if length < step:
        raise ConfigError("--for must be at least --every")
    options = model_options(specs, args)
    # a base URL as probes name it; any other URL (`base_urls`, `endpoints[].url`) as a run
    # stores it: neither keeps credentials
    shown = {s: {k: public_url(v) if k == "base_url" else stored_options(v)
                 for k, v in o.items()} for s, o in options.items()}
    config = {"models": specs, "options": shown, "probe": {"max_tokens": max_tokens}}
    return Plan(config, step, length)


def model_options(specs: list[str], args: list[str]) -> dict[str, dict[str, Any]]:
    """Each spec's provider options from -M (as `shootout run` reads them)."""
    from ..providers.registry import option_names
    from .run import with_model_args

    if len(set(specs)) != len(specs):
        raise ConfigError("each model once: a spec is given twice")
    models = with_model_args({"models": [{"spec": s} for s in specs]}, args)["models"]
    for m in models:  # a run's own settings (system_prompt, max_attempts, rpm...) were taken
        # and dropped without a word (an audit's): a probe is one fixed request, sent once
        if extra := sorted(k for k in m if k != "spec" and k not in option_names(m["spec"])):
            raise ConfigError(f"-M {extra[0]}: a run's setting, not the provider's; a probe "
                              "is one fixed request sent once, with the provider's options "
                              "alone")
    return {m["spec"]: {k: v for k, v in m.items() if k != "spec"} for m in models}


async def _monitor(db: Store, plan: Plan, args: list[str], timeout: float,
                   say: Callable[[str], None]) -> MonitorSession:
    """Build the providers, then find or start the session (so a slow start-up does not make
    the first slot overdue), and probe to its end."""
    from ..monitor.loop import Prober, run_monitor
    from ..monitor.probe import Target, probe_request, probing, public_url
    from ..monitor.render import span, utc
    from ..monitor.schedule import open_session
    from ..providers.registry import build_provider

    specs: list[str] = plan.config["models"]
    max_tokens: int = plan.config["probe"]["max_tokens"]
    options = model_options(specs, args)
    targets = []
    claimed: str | None = None
    try:
        for spec in specs:
            provider = build_provider(spec, options[spec])
            targets.append(Target(spec, public_url(getattr(provider, "base_url", "") or ""),
                                  provider))
            probing(spec, provider)
        requests = {t.model: probe_request(t.provider.capabilities.chat, max_tokens)
                    for t in targets}
        session, resumed = open_session(db, plan)
        if (owner := db.claim_monitor(session.monitor_id)) is not None:
            pid = json.loads(owner).get("pid")
            raise ConfigError(f"monitor {session.monitor_id} is already being probed by process "
                              f"{pid}: one process per monitor (two would probe each slot "
                              f"twice); `shootout monitor --summary {session.monitor_id}` "
                              "shows what it found")
        claimed = session.monitor_id
        say(f"{'continuing' if resumed else 'starting'} monitor {session.monitor_id}: "
            f"{', '.join(specs)}, a probe every {span(plan.every)} until {utc(session.end)} UTC"
            f"; `shootout monitor --summary {session.monitor_id}` shows what it found")
        await run_monitor(Prober(db, session, requests, timeout, say), targets)
    finally:
        if claimed is not None:
            db.release_monitor(claimed)
        for t in targets:
            await t.provider.aclose()
    return session


def _summary(db: Store, monitor_id: str | None, specs: list[str], *, json_out: bool) -> None:
    from ..monitor.summary import summarize

    session = _find(db, monitor_id, specs)
    result = summarize(session, db.probes([session.monitor_id]))
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        print_summary(result)


def _find(db: Store, monitor_id: str | None, specs: list[str]) -> MonitorSession:
    """The monitor named; else the latest that probed every model given (or any)."""
    if monitor_id:
        found = db.get_monitor(monitor_id)
        if found is None:
            raise ConfigError(f"no monitor {monitor_id!r} in {db.path}")
        return found
    sessions = [s for s in db.list_monitors()
                if set(specs) <= set(s.config.get("models") or [])]
    if not sessions:
        what = f"of {', '.join(specs)}" if specs else "yet"
        raise ConfigError(f"no monitor {what} in {db.path}; start one with "
                          "`shootout monitor -m SPEC --every 60s --for 24h`")
    return sessions[-1]


def print_summary(result: dict[str, Any]) -> None:
    from ..monitor import render

    console = stdout_console()
    console.print(render.describe(result), highlight=False, soft_wrap=True)
    for m in result["models"]:
        console.print(render.headline(m), highlight=False, soft_wrap=True)
    for title, headers, rows in (
        ("Outages (the longest first)", render.OUTAGE_HEADERS,
         [r for m in result["models"] for r in render.outage_rows(m)]),
        ("TTFT of successful probes by hour of day, ms", render.HOUR_HEADERS,
         [r for m in result["models"] for r in render.hour_rows(m)]),
    ):
        if not rows:
            continue
        table = Table(title=title)
        for h in headers:
            table.add_column(h, justify="left" if h in ("Model", "Classes") else "right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
    sys.stdout.flush()
