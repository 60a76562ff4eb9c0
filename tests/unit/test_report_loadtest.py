"""`shootout report RUN_ID PERF_ID`: a load test measured against the fake OpenAI server shows
in the Markdown and the HTML report as a "Load tests" section, its figures the stored ones
(issue 20, item 4)."""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import replace

import pytest
from toy_run import Colours, toy_run

from shootout.analysis.formatting import num
from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.cli.main import main
from shootout.report.loadtest import error_rate, ms
from shootout.store import Store
from shootout.testing import FakeOpenAIServer, Fault


def _out(capsys, *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[str, str, str]:
    """A store with an evaluation run and a load test at c=1 and c=3 (one request in six at
    c=3 fails with HTTP 500, so the error rate is not 0)."""
    store = str(tmp_path_factory.mktemp("lt") / "s.sqlite")
    register_benchmark(Colours)
    try:
        eval_id = toy_run(Store(store))
    finally:
        REGISTRY.pop(Colours.name, None)
    # requests 0-6 are the warm-up and c=1's; two of c=3's (7-12) fail
    faults = {9: Fault.SERVER_ERROR, 11: Fault.SERVER_ERROR}
    with FakeOpenAIServer(ttft=0.004, itl=0.001, fill_max_tokens=True, schedule=faults) as srv:
        main(["perf", "--base-url", srv.base_url, "--model", "fm", "--concurrency", "1,3",
              "--requests", "6", "--output-tokens", "5", "--input-tokens", "20",
              "--store", store, "--json"])
    perf_id = Store(store).list_perf()[0]["perf_id"]
    return store, eval_id, perf_id


def _table(text: str, header: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("| Level |") and header in ln)
    rows = {}
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_markdown_section_has_the_stored_figures(stored, capsys):
    store, eval_id, perf_id = stored
    perf = Store(store).get_perf(perf_id)
    assert perf is not None
    levels = {lv["label"]: lv for lv in perf["levels"]}
    assert set(levels) == {"c=1", "c=3"} and levels["c=3"]["errors"] == 2  # the faults hit
    md = _out(capsys, "report", eval_id, perf_id, "--store", store)
    assert "## Load tests" in md and f"Load test `{perf_id}` of fm at" in md
    assert eval_id in md and "toy_colours" in md  # the evaluation is still reported
    through = _table(md, "Error rate")
    latency = _table(md, "TTFT p50")
    for label, lv in levels.items():
        assert through[label][:3] == [str(lv["requests"]), str(lv["completed"]),
                                      f"{100 * lv['errors'] / lv['requests']:.1f}%"]
        assert through[label][3] == f"{lv['request_throughput']:,.2f}"
        assert through[label][4] == f"{lv['output_throughput']:,.1f}"
        assert latency[label][:6] == [f"{lv[k][p]:,.1f}" for k in ("ttft_ms", "itl_ms")
                                      for p in ("median", "p90", "p99")]
        assert latency[label][6:] == [ms(lv["tpot_ms"], "median"), ms(lv["e2e_ms"], "median"),
                                      ms(lv["e2e_ms"], "p99")]
    assert through["c=1"][2] == "0.0%" and through["c=3"][2] == "33.3%"
    assert "c=3 errors: 2 × " in md


def test_html_section_and_embedded_figures(stored, tmp_path, capsys):
    store, eval_id, perf_id = stored
    perf = Store(store).get_perf(perf_id)
    assert perf is not None
    out = tmp_path / "r.html"
    _out(capsys, "report", eval_id, perf_id, "--store", store, "--html", str(out))
    page = out.read_text(encoding="utf-8")
    assert "<h2>Load tests</h2>" in page and "Time to first token by level" in page
    c3 = next(lv for lv in perf["levels"] if lv["label"] == "c=3")
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    for figure in (f"{c3['ttft_ms']['p99']:,.1f}", f"{c3['itl_ms']['median']:,.1f}",
                   f"{c3['output_throughput']:,.1f}", "33.3%"):
        assert figure in text
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    assert data["load_tests"][0]["perf_id"] == perf_id
    assert data["load_tests"][0]["levels"] == perf["levels"]


def test_only_a_load_test_id_reports_the_latest_run_with_it(stored, capsys):
    store, eval_id, perf_id = stored
    md = _out(capsys, "report", perf_id, "--store", store)
    assert "## Load tests" in md and eval_id in md


def test_no_load_test_no_section(stored, capsys):
    store, eval_id, _ = stored
    assert "Load tests" not in _out(capsys, "report", eval_id, "--store", store)


def test_helpers():
    assert error_rate({"requests": 0, "errors": 0}) is None
    assert ms({"n": 0, "median": None}, "median") == "–"
    assert num(None) == "–"


def test_charts_of_throughput_and_ttft(stored, tmp_path, capsys):
    from shootout.report.build import build_report
    from shootout.report.kept import load_perf
    from shootout.report.loadtest import load_test_section

    store, eval_id, perf_id = stored
    db = Store(store)
    perf = db.get_perf(perf_id)
    assert perf is not None
    report = replace(build_report(db, [eval_id]), perf=load_perf(db, [perf_id]))
    content = load_test_section(report)
    assert content is not None
    through, ttft = content.charts
    assert through.categories == ("c=1", "c=3") and through.ymax is None  # not a percent
    assert through.series[0].values == tuple(lv["output_throughput"] for lv in perf["levels"])
    assert [s.values for s in ttft.series] == [
        tuple(lv["ttft_ms"][k] for lv in perf["levels"]) for k in ("median", "p99")]
    md = tmp_path / "r.md"
    _out(capsys, "report", eval_id, perf_id, "--store", store, "--md", str(md))
    assert (tmp_path / "r_files" / "load-throughput-chart.png").stat().st_size > 1000
    assert "r_files/load-ttft-chart.png" in md.read_text(encoding="utf-8")


def test_a_load_test_alone_says_what_shows_it(tmp_path, capsys):
    """A store with a load test and no evaluation run: `report ID` names what shows the load
    test (it said only "no runs"), one line, exit 2."""
    store = str(tmp_path / "s.sqlite")
    with FakeOpenAIServer(ttft=0.001, itl=0.0005, fill_max_tokens=True) as srv:
        main(["perf", "--base-url", srv.base_url, "--model", "fm", "--concurrency", "1",
              "--requests", "2", "--output-tokens", "3", "--input-tokens", "10",
              "--store", store, "--json"])
    capsys.readouterr()
    perf_id = Store(store).list_perf()[0]["perf_id"]
    with pytest.raises(SystemExit) as e:
        main(["report", perf_id, "--store", store])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no evaluation run" in err and f"`shootout results {perf_id}`" in err


def test_rows_mark_estimated_tpot_and_leave_means_of_nothing_out():
    """An estimated token count makes the TPOT that divides by it an estimate ("~"), as the
    token columns were marked; a level where nothing completed has no mean tokens ("–",
    not "0 / 0.0")."""
    from shootout.report.loadtest import _latency_row, _throughput_row

    stat = {"n": 3, "mean": 10.0, "median": 10.0, "p90": 12.0, "p99": 13.0}
    none = {"n": 0, "mean": None, "median": None, "p90": None, "p99": None}
    lv = {"label": "c=1", "requests": 3, "completed": 3, "errors": 0, "tokens_estimated": True,
          "request_throughput": 1.0, "output_throughput": 5.0, "input_tokens_mean": 16.0,
          "output_tokens_mean": 7.0, "ttft_ms": stat, "itl_ms": stat, "tpot_ms": stat,
          "e2e_ms": stat}
    assert _latency_row("", lv)[7].text.startswith("~")
    assert not _latency_row("", {**lv, "tokens_estimated": False})[7].text.startswith("~")
    failed = {**lv, "completed": 0, "errors": 3, "input_tokens_mean": 0.0,
              "output_tokens_mean": 0.0, "tpot_ms": none}
    assert _throughput_row("", failed)[-1].text == "–"
    assert _latency_row("", failed)[7].text == "–"


def test_an_interrupted_load_test_says_how_much_was_measured():
    """An interrupted test read as a finished one in the report (an audit's)."""
    from shootout.report.loadtest import _describe

    perf = {"perf_id": "p-1", "model": "m", "base_url": "http://h/v1", "created_at": 0,
            "config": {"levels": [["concurrency", 1], ["concurrency", 4]], "requests": 8,
                       "input_tokens": 10, "output_tokens": 4, "duration": 60,
                       "interrupted": True},
            "levels": [{"label": "c=1"}]}
    assert "; interrupted: 1 of the 2 levels measured." in _describe(perf)
    del perf["config"]["interrupted"]
    assert "interrupted" not in _describe(perf)
