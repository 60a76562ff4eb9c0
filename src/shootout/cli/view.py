"""`shootout view RUN_ID`: the report and a per-sample browser on http://127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import ConfigError
from .runs import open_store


def view_command(
    run_id: str = typer.Argument(..., help="Run id (`shootout runs` lists them)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535,
                             help="Port on 127.0.0.1 (0: any free port)."),
    store: Path = typer.Option(None, "--store", help="Results database."),
) -> None:
    """Serve the HTML report and a per-sample browser (filter by model, benchmark, correct or
    not, disagreement between two models; each sample's prompt, output, extraction and
    reason) on 127.0.0.1 until interrupted. The report is `shootout report RUN_ID --html`'s,
    kept in the store as that one is."""
    from ..analysis.routing import DEFAULT_WITHIN
    from ..report.kept import Options, Outputs, report_payload
    from ..viewer import make_server

    db = open_store(store)
    opts = Options(models=None, profiles=None, items_pair=None, route_within=DEFAULT_WITHIN)
    out = Outputs(md=None, html=Path("report.html"), charts=True, max_items=5)
    html = str(report_payload(db, [run_id], opts, out, ())["html"])
    try:
        server = make_server(db, run_id, html, port)
    except OSError as e:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}; "
                          "try another --port (0: any free one)") from None
    host, bound = server.server_address[:2]
    print(f"serving run {run_id} on http://{host!s}:{bound}/ (samples: /samples); "
          "Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C (or `kill`) is how it ends: not an interrupted job
        from . import main

        main.forget_swallowed_interrupt()  # (an earlier Ctrl-C a finalizer took: the same)
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
