"""A report's parts built beside the rest (issue 18): its own charts drawn in a forked
process while the report is built (`report.kept.early_charts`), and a large run's rankings and
routing built in another while the models are compared (`report.build.build_report`). The
report is the same, byte for byte, either way.

The checks that a part was built in another process run in a fresh interpreter: `beside`
does not fork in a process with other threads, which other tests may have left in this one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.report.sample_data import RUN_ID, build_sample_store
from shootout.report.specs import core_specs

# a script's start that counts the charts drawn in its own process (`drawn_here`)
COUNTING = """\
from shootout.report import charts
drawn_here = []
_render_png = charts.render_png
def _counted(spec, path):
    drawn_here.append(spec.id)
    return _render_png(spec, path)
charts.render_png = _counted
"""


def _script(body: str, start: str = "") -> str:
    p = subprocess.run([sys.executable, "-c", start + textwrap.dedent(body)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_two_besides_at_once_each_compute_in_a_process_of_their_own() -> None:
    """The report's charts and its rankings are computed beside it at the same time. With a
    process pool per `beside`, the first pool's thread kept the second from forking (it ran
    in this process). A result never asked for has its process stopped and reaped."""
    out = _script("""
        import gc, os, time
        from shootout.analysis.parallel import beside
        here = os.getpid()
        a = beside(os.getpid)
        b = beside(os.getpid)
        pa, pb = a(), b()
        assert here not in (pa, pb) and pa != pb, (here, pa, pb)
        assert a() == pa  # asked again: the value, not a new computation
        dropped = beside(lambda: time.sleep(60))
        t0 = time.monotonic()
        del dropped
        gc.collect()
        try:
            os.waitpid(-1, os.WNOHANG)
            raise SystemExit("a child is left")
        except ChildProcessError:
            pass
        assert time.monotonic() - t0 < 10
        print("ok")
    """)
    assert out == "ok\n"


def test_charts_drawn_beside_are_the_ones_drawn_in_process(tmp_path: Path) -> None:
    """`shootout report --md` draws the report's own charts in a forked process while the
    report is built: the Markdown and every PNG are the bytes drawn in this process, and
    none of those charts is drawn again here (a spec that compared unequal would be)."""
    out = _script(f"""
        import base64
        from pathlib import Path
        from shootout.report import charts, kept
        from shootout.report.build import build_report
        from shootout.report.model import load_report_data
        from shootout.report.sample_data import RUN_ID, build_sample_store
        store = build_sample_store({str(tmp_path / "s.sqlite")!r})
        data = load_report_data(store, [RUN_ID], None)
        out = kept.Outputs(md=Path({str(tmp_path / "r.md")!r}), html=None, charts=True,
                           max_items=5)
        early = kept.early_charts(data, out)
        report = build_report(store, [RUN_ID], data=data)
        beside = kept.render(report, out, early)
        assert drawn_here == [], drawn_here
        alone = kept.render(report, out)
        assert sorted(f"{{i}}.png" for i in drawn_here) == sorted(beside["files"]), drawn_here
        assert len(drawn_here) == 4, drawn_here
        assert beside == alone
        print("ok")
    """, COUNTING)
    assert out == "ok\n"


def test_a_chart_drawn_from_another_spec_is_drawn_again(tmp_path: Path) -> None:
    """A chart drawn beside is written as drawn only where the finished report's spec of its
    id is the one it was drawn from; any other is drawn anew."""
    store = build_sample_store(tmp_path / "s.sqlite")
    report = build_report(store, [RUN_ID])
    specs = {s.id: s for s in core_specs(report)}
    md = tmp_path / "r.md"
    render_markdown(report, md, drawn={"scores": (specs["scores"], b"as drawn"),
                                       "domains": (specs["scores"], b"stale")})
    files = md.parent / "r_files"
    assert (files / "scores.png").read_bytes() == b"as drawn"
    assert (files / "domains.png").read_bytes().startswith(b"\x89PNG")


def test_a_large_reports_rankings_and_items_built_beside_are_the_same(tmp_path: Path) -> None:
    """A large run's report (`SHOOTOUT_WORKERS=2` makes any run one) builds its rankings and
    routing in a forked process, and its per-item view in another (reading the store through
    a connection of its own): the same Markdown and HTML as built in one process, and
    neither `_rank` nor `pair_items` called in this one."""
    out = _script(f"""
        import os
        from shootout.report import build, evidence
        from shootout.report.html import render_html
        from shootout.report.markdown import render_markdown
        from shootout.report.sample_data import RUN_ID, build_sample_store
        store = build_sample_store({str(tmp_path / "s.sqlite")!r})
        calls = []
        def counting(real):
            def counted(*args):
                calls.append(real.__name__)
                return real(*args)
            return counted
        build._rank = counting(build._rank)
        evidence.pair_items = counting(evidence.pair_items)
        got = {{}}
        for n in ("1", "2"):
            os.environ["SHOOTOUT_WORKERS"] = n
            report = build.build_report(store, [RUN_ID])
            assert report.rankings and report.routing and report.items.sets
            got[n] = (render_markdown(report, None, charts=False), render_html(report))
            # in this process with one worker only
            assert sorted(calls) == ["_rank", "pair_items"], (n, calls)
        assert got["1"] == got["2"]
        print("ok")
    """)
    assert out == "ok\n"


def test_a_primed_process_warms_up_then_computes_the_call_sent_to_it(tmp_path: Path) -> None:
    """`primed` forks at once and runs its warm-up there (a report's matplotlib import, while
    the run is read); the call sent later is computed in that same process, after it, and
    sending a large one does not wait for the warm-up. One sent what cannot be pickled, or
    that died, leaves the call to this process; a second call is refused. A primed process
    dropped before its call is not stopped (a signal in matplotlib's writing of its font
    cache left its lock file): it ends once warmed up, and is reaped."""
    out = _script(f"""
        import gc, os, time
        from pathlib import Path
        from shootout.analysis import primed as P
        here = os.getpid()
        WARM = []

        def warm():
            time.sleep(1.5)
            WARM.append(os.getpid())

        def where(x):
            return os.getpid(), list(WARM), len(x)

        p = P.primed(warm)
        t0 = time.monotonic()
        got = p.run(where, b"x" * 10_000_000)  # far more than a pipe holds
        assert time.monotonic() - t0 < 1.0, time.monotonic() - t0
        pid, warmed, n = got()
        assert pid != here and warmed == [pid] and n == 10_000_000, (here, pid, warmed, n)
        assert got() == (pid, warmed, n)  # asked again: the value, not a new computation
        try:
            p.run(where, b"")
            raise SystemExit("a second call was taken")
        except RuntimeError:
            pass

        unsent = P.primed(lambda: None).run(lambda: os.getpid())
        assert unsent() == here
        died = P.primed(lambda: os._exit(3)).run(where, b"ab")
        assert died() == (here, [], 2)

        mark = Path({str(tmp_path / "warmed")!r})
        def slow():
            time.sleep(1.0)
            mark.write_text("done")
        dropped = P.primed(slow)
        del dropped
        gc.collect()
        t0 = time.monotonic()
        while P._UNREAPED and time.monotonic() - t0 < 20:
            time.sleep(0.1)
            P._reap()
        assert not P._UNREAPED and mark.read_text() == "done"  # warmed up, not stopped
        try:
            os.waitpid(-1, os.WNOHANG)
            raise SystemExit("a child is left")
        except ChildProcessError:
            pass
        print("ok")
    """)
    assert out == "ok\n"


def test_charts_drawn_in_a_primed_process_are_the_ones_drawn_in_process(tmp_path: Path
                                                                         ) -> None:
    """`shootout report --md` forks the process that draws its charts before it reads the
    run (`kept.chart_drawer`: matplotlib is imported meanwhile): the Markdown and every PNG
    are the bytes drawn in this process, none drawn again here, and the Markdown's text is
    rendered before the charts are waited for."""
    out = _script(f"""
        from pathlib import Path
        from shootout.report import charts, kept, markdown
        from shootout.report.build import build_report
        from shootout.report.model import load_report_data
        from shootout.report.sample_data import RUN_ID, build_sample_store
        store = build_sample_store({str(tmp_path / "s.sqlite")!r})
        out = kept.Outputs(md=Path({str(tmp_path / "r.md")!r}), html=None, charts=True,
                           max_items=5)
        drawer = kept.chart_drawer(out)
        assert drawer is not None
        from shootout.analysis import parallel
        def no_beside(fn):
            raise AssertionError("drawn beside, not in the primed process")
        parallel.beside = no_beside
        data = load_report_data(store, [RUN_ID], None)
        early = kept.early_charts(data, out, drawer)
        order = []
        real_env = markdown._env
        def env():
            order.append("text")
            return real_env()
        markdown._env = env
        def waited():
            order.append("charts")
            return early()
        report = build_report(store, [RUN_ID], data=data)
        primed = kept.render(report, out, waited)
        assert drawn_here == [], drawn_here
        assert order == ["text", "charts"], order
        alone = kept.render(report, out)
        assert len(drawn_here) == 4, drawn_here
        assert primed == alone
        print("ok")
    """, COUNTING)
    assert out == "ok\n"


def test_charts_that_fail_partway_leave_no_png_behind(tmp_path: Path, monkeypatch) -> None:
    """Where matplotlib fails after some of the Markdown's charts were written (an
    ImportError from the second), the report is the text without charts, with the warning,
    and none of the PNGs written before the failure (the text links none of them)."""
    from shootout.report import charts, kept

    store = build_sample_store(tmp_path / "s.sqlite")
    report = build_report(store, [RUN_ID])
    real = charts.render_png
    calls: list[str] = []

    def partway(spec, path):
        calls.append(spec.id)
        if len(calls) > 1:
            raise ImportError("No module named 'matplotlib.backends'")
        return real(spec, path)

    monkeypatch.setattr(charts, "render_png", partway)
    out = kept.Outputs(md=tmp_path / "r.md", html=None, charts=True, max_items=5)
    got = kept.render(report, out)
    assert len(calls) == 2  # one chart written, then the failure
    assert "no PNG charts" in got["warning"]
    assert got["files"] == {}
    assert "r_files/" not in got["md"]


def test_ctrl_c_just_after_the_fork_does_not_unwind_this_process_in_the_child() -> None:
    """A Ctrl-C that reaches a `beside` or `primed` child before its handler is set (just
    after the fork) raised KeyboardInterrupt there, in a copy of this process's stack: its
    `finally` blocks and its traceback ran in the child. It is held across the fork now:
    the child takes it once its handler is set and ends at once, and the call is computed
    here; a pool's worker (a share of a results build) ends, and the build is done here.
    (The fork below raises it in the child as the fork returns.)"""
    out = _script("""
        import os, signal
        from shootout.analysis import parallel, primed as P
        here = os.getpid()
        r, w = os.pipe()
        real = os.fork

        def fork():
            pid = real()
            if pid == 0:
                try:
                    signal.raise_signal(signal.SIGINT)
                except KeyboardInterrupt:
                    os.write(w, b"unwound in the child\\n")
                    os._exit(99)
            return pid

        os.fork = fork
        try:
            assert parallel.beside(os.getpid)() == here
            assert P.primed(lambda: None).run(os.getpid)() == here
            # a pool's workers (a results build's shares): they end, and the build is
            # left to this process
            assert parallel.in_processes(abs, [-1, -2]) is None
        finally:
            os.fork = real
        os.close(w)
        with os.fdopen(r) as f:
            print(f.read() or "ok")
        assert not signal.pthread_sigmask(signal.SIG_BLOCK, [])  # nothing held here
    """)
    assert out == "ok\n"
