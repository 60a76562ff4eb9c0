"""The HTML report in headless Chromium with the network off: no errors, tables, every chart.

The page records any window error, unhandled rejection, blocked load (its CSP allows nothing
from outside) or console.error into #console-errors, checks after load that every chart it
promises (body[data-charts]) is an SVG with content and a size, and sets
body[data-status] to "ok" or "error". `--dump-dom` shows all of it; a screenshot is taken and
checked for content. Set SHOOTOUT_ARTIFACTS=DIR to keep the screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from shootout.report.build import build_report
from shootout.report.html import render_html
from shootout.report.model import load_report_data
from shootout.report.sample_data import RUN_ID, build_sample_store
from shootout.store.sqlite import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
EXPECTED_CHARTS = {"scores", "domains", "cost_quality", "latency", "needle_0"}


def _needle() -> dict:
    lengths, depths = [1000, 4000, 16000], [0.0, 25.0, 50.0, 75.0, 100.0]
    grid = [[1.0, 1.0, 0.9, 1.0, 1.0], [1.0, 0.8, 0.6, 0.9, 1.0], [0.9, 0.5, 0.3, 0.6, 0.9]]
    bucket = {"beginning": (0.97, 0.02, 6, [0, 20]), "middle": (0.6, 0.08, 3, [40, 60]),
              "end": (0.97, 0.02, 6, [80, 100])}
    return {
        "lengths": lengths, "depths": depths, "heatmap": grid, "counts": [[4] * 5] * 3,
        "overall": {"acc": 0.82, "stderr": 0.04, "n": 60, "recall": 0.85},
        "by_length": {"1000": {"acc": 0.98}, "4000": {"acc": 0.86}, "16000": {"acc": 0.64}},
        "buckets": {k: {"acc": a, "stderr": se, "n": n, "range": r}
                    for k, (a, se, n, r) in bucket.items()},
        "gap": {"value": 0.37, "stderr": 0.082, "ci": [0.21, 0.53]},
        "effective_length": 4000, "threshold": 0.85,
    }


def _report(tmp_path: Path):
    """The sample run, plus needle and efficiency data as those modules would provide them."""
    store = build_sample_store(tmp_path / "s.sqlite")
    base = build_report(store, [RUN_ID])
    data = base.data
    analyses = {**data.analyses, "kimi-k2": {**data.analyses["kimi-k2"], "needle": _needle()}}
    prices = {"kimi-k2": (0.6, 2.5, 4.1), "llama-3.1-70b": (0.9, 0.9, 3.2),
              "mixtral-8x7b": (0.24, 0.24, 0.9)}
    eff = [{"scope": "model", "model": m, "label": m, "run_id": RUN_ID, "cost_usd": c,
            "price": {"input_per_m": i, "output_per_m": o, "source": "test"},
            "score_points": 60.0, "cost_per_point": c / 60.0, "cost_per_1k_items": c / 0.33,
            "covers": {"benchmarks": ["mmlu"], "input_tokens": 1000, "output_tokens": 10},
            "latency": {"ttft_ms": {"median": 250.0 + 80 * k}},
            "throughput": {"per_request_output_tokens_per_s": {"median": 60.0 - 10 * k}}}
           for k, (m, (i, o, c)) in enumerate(prices.items())]  # efficiency_report's shape
    data = replace(data, analyses=analyses, efficiency=eff)
    return build_report(store, [RUN_ID], data=data)


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           # the network is off: no proxy reachable, no name resolves
           "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _dom(page: Path, tmp: Path) -> str:
    proc = _chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri(), tmp=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _body(dom: str) -> dict[str, str]:
    m = re.search(r"<body([^>]*)>", dom)
    assert m, "no <body> in the DOM: the page did not load"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))


def test_html_renders_without_errors_in_chromium(tmp_path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(_report(tmp_path)), encoding="utf-8")
    dom = _dom(page, tmp_path)
    body = _body(dom)
    errors = re.search(r'<pre id="console-errors"([^>]*)>(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(2).strip() == "", errors.group(2)
    assert body.get("data-status") == "ok", body
    assert set(body["data-charts"].split()) == EXPECTED_CHARTS
    for chart in EXPECTED_CHARTS:
        svg = re.search(rf'<svg[^>]*data-chart="{chart}"[^>]*>(.*?)</svg>', dom, re.S)
        assert svg and len(re.findall(r"<(rect|path|circle|polygon|line)", svg.group(1))) > 5
    assert int(body["data-tables"]) >= 10
    for table_id in ("results", "domains", "pair-0", "efficiency", "latency", "arch",
                     "needle-buckets-0", "profile-0"):
        assert f'<table id="table-{table_id}"' in dom, table_id
    # ids are unique (a table's is not its section's), and each TOC anchor is a section's
    ids = re.findall(r'\bid="([^"]*)"', dom)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    toc = re.findall(r'<nav class="toc"[^>]*>(.*?)</nav>', dom, re.S)[0]
    for anchor in toc.split("</a>")[:-1]:
        target = anchor.rpartition('href="#')[2].partition('"')[0]
        assert f'<section id="{target}">' in dom, target
    # and every section has its entry (Routing policies, a registered section, had none)
    for section in re.findall(r'<section id="([^"]+)">', dom):
        assert f'href="#{section}"' in toc, section
    assert "lost-in-the-middle gap" in dom.lower()

    shot = tmp_path / "report.png"
    proc = _chromium("--window-size=1366,2400", "--hide-scrollbars", f"--screenshot={shot}",
                     page.as_uri(), tmp=tmp_path)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    _assert_not_blank(shot)
    keep = os.environ.get("SHOOTOUT_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report_browser.png")


def _assert_not_blank(png: Path) -> None:
    from PIL import Image, ImageStat

    im = Image.open(png).convert("L")
    w, h = im.size
    assert (w, h) == (1366, 2400)
    stat = ImageStat.Stat(im)
    assert stat.stddev[0] > 20, "screenshot is (nearly) uniform: blank page"
    dark = sum(im.histogram()[:128]) / (w * h)
    assert 0.02 < dark < 0.6, f"implausible share of dark pixels: {dark:.3f}"
    # the charts are drawn in colour: the bar chart's blue must be on the page
    import numpy as np

    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    blue = (np.abs(rgb - np.array([0, 114, 178])) < 40).all(axis=2)
    assert blue.sum() > 500, "no chart colour on the page"


def test_the_check_fails_on_a_broken_or_blank_page(tmp_path) -> None:
    html = render_html(_report(tmp_path))
    broken = re.sub(r'<svg class="chart" data-chart="domains".*?</svg>', "", html, flags=re.S)
    page = tmp_path / "broken.html"
    page.write_text(broken.replace("</main>", "<script>undefinedCall();</script></main>"))
    dom = _dom(page, tmp_path)
    assert _body(dom)["data-status"] == "error"
    assert "charts not rendered: domains" in dom and "undefinedCall" in dom
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><html><body></body></html>")
    assert "data-status" not in _body(_dom(blank, tmp_path))


def test_html_is_self_contained(tmp_path) -> None:
    html = render_html(_report(tmp_path))
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    store = Store(tmp_path / "s.sqlite")  # reopen: the data module reads the same run
    assert load_report_data(store, [RUN_ID]).labels == ["kimi-k2", "llama-3.1-70b",
                                                        "mixtral-8x7b"]


LONG_NAME = "SmolLM2 135M Instruct · Q4_1 · tuned on support tickets v2.1"  # 60 characters

_MEASURE = """<script>
addEventListener("load", () => setTimeout(() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest(".tw, nav"))
    .slice(0, 5).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className);
  document.body.setAttribute("data-overflow", String(root.scrollWidth - root.clientWidth));
  document.body.setAttribute("data-wide", wide.join(" "));
  const boxed = [...document.querySelectorAll(".tw")].filter(e => e.scrollWidth > e.clientWidth)
    .map(e => e.firstElementChild ? e.firstElementChild.id : "?");
  document.body.setAttribute("data-scrolling-tables", boxed.join(" "));
}, 500));
</script></body>"""


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_model_name_never_makes_the_page_scroll_sideways(tmp_path, width) -> None:
    """Issue 22: a 60-character model name in every table header, chart legend and heading;
    tables may scroll inside their own box, the page itself must not."""
    assert len(LONG_NAME) == 60
    store = build_sample_store(tmp_path / "s.sqlite",
                               models=("kimi-k2", "llama-3.1-70b", LONG_NAME))
    html = render_html(build_report(store, [RUN_ID]))
    assert html.count(LONG_NAME) > 10
    page = tmp_path / "long.html"
    page.write_text(html.replace("</body>", _MEASURE, 1), encoding="utf-8")
    proc = _chromium(f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom",
                     page.as_uri(), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = _body(proc.stdout)
    assert body.get("data-overflow") == "0", body
    assert body.get("data-wide") == "", body
    if width >= 1280:  # on a desktop even the tables fit: none needs its own scrollbar
        assert body.get("data-scrolling-tables") == "", body


def test_five_models_domain_table_fits_a_desktop_and_a_wider_one_says_it_scrolls(
        tmp_path) -> None:
    """Five models' domain table was put beside its chart, cut at 1,280 px, and scrolled in
    its box with no sign that it did (an audit's). Beside the chart only while it fits; any
    table wider than its box says so under it (`data-more`, a hint kept in view)."""
    five = ("kimi-k2", "llama-3.1-70b", "mixtral-8x7b", "qwen2.5-72b", "gemma-2-27b")
    store = build_sample_store(tmp_path / "s.sqlite", models=five)
    html = render_html(build_report(store, [RUN_ID]))
    page = tmp_path / "five.html"
    page.write_text(html.replace("</body>", _MEASURE, 1), encoding="utf-8")
    proc = _chromium("--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom",
                     page.as_uri(), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = _body(proc.stdout)
    assert "table-domains" not in body.get("data-scrolling-tables", ""), body
    # at a phone's width, tables scroll: each of those says so
    proc = _chromium("--window-size=390,900", "--virtual-time-budget=5000", "--dump-dom",
                     page.as_uri(), tmp=tmp_path)
    body = _body(proc.stdout)
    scrolling = body.get("data-scrolling-tables", "").split()
    assert "table-domains" in scrolling, body
    marked = re.findall(r'<div class="tw[^"]*"[^>]*data-more=""[^>]*><table id="([^"]+)"',
                        proc.stdout)
    assert sorted(marked) == sorted(scrolling), (marked, scrolling)


def test_sorting_a_column_orders_p_values_and_intervals_by_value(tmp_path) -> None:
    """"<0.001" sorted last of the p column (parseFloat gave NaN), intervals and hashes as
    text (an audit's). Each data table's columns are sorted by a click, in the page."""
    html = render_html(_report(tmp_path))
    probe = r"""<script>
    window.addEventListener("load", function () {
      var out = [];
      document.querySelectorAll("table.data").forEach(function (table) {
        table.querySelectorAll("th").forEach(function (th, i) {
          var h = th.textContent.trim();
          if (h !== "p" && h !== "95% CI") return;
          th.click();
          out.push(h + "\t" + Array.prototype.map.call(table.tBodies[0].rows, function (r) {
            return r.cells[i].textContent.trim(); }).join("\t"));
        });
      });
      var pre = document.createElement("pre");
      pre.id = "sorted"; pre.textContent = out.join("\n"); document.body.appendChild(pre);
    });
    </script></body>"""
    page = tmp_path / "sorted.html"
    page.write_text(html.replace("</body>", probe), encoding="utf-8")
    dom = _dom(page, tmp_path)
    got = re.search(r'<pre id="sorted">(.*?)</pre>', dom, re.S)
    assert got is not None and got.group(1).strip(), "no p or CI column was sorted"

    def value(cell: str) -> float:
        cell = cell.replace("&lt;", "<").replace("\u2212", "-")
        if cell.startswith("["):
            lo, hi = (float(x) for x in cell.strip("[]").split(","))
            return (lo + hi) / 2
        return float(cell.lstrip("<")) - (1e-9 if cell.startswith("<") else 0.0)

    columns = [line.split("\t") for line in got.group(1).strip().splitlines()]
    assert any(c[0] == "p" and any(v.startswith("&lt;") or v.startswith("<") for v in c[1:])
               for c in columns), "the sample report has a p below 0.001"
    for header, *cells in columns:
        numbers = [value(c) for c in cells if c not in ("–", "")]
        assert numbers == sorted(numbers), (header, cells)



def test_green_marks_a_best_score_not_a_significant_difference(tmp_path) -> None:
    """The head-to-head's bold (a significant difference) was drawn with the results table's
    green "highest score in the row" (an audit's): green stays with the best scores."""
    html = render_html(_report(tmp_path))
    pair = re.search(r'<table id="table-pair-0".*?</table>', html, re.S)
    results = re.search(r'<table id="table-results".*?</table>', html, re.S)
    assert pair is not None and results is not None
    assert "<strong>" in pair.group(0) and " best\"" not in pair.group(0)
    assert " best\"" in results.group(0)


def test_a_column_sorts_from_the_keyboard_and_says_its_order(tmp_path) -> None:
    """Headers sorted on a click only: no tab stop, no aria-sort (an audit's). Enter on a
    focused header sorts it, and the header says which way; the other headers say nothing."""
    html = render_html(_report(tmp_path))
    probe = r"""<script>
    window.addEventListener("load", function () {
      var table = document.getElementById("table-results"), ths = table.querySelectorAll("th");
      var th = ths[3], out = [th.tabIndex];
      th.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
      out.push(th.getAttribute("aria-sort"));
      th.dispatchEvent(new KeyboardEvent("keydown", {key: " ", bubbles: true}));
      out.push(th.getAttribute("aria-sort"));
      ths[0].click();
      out.push(th.getAttribute("aria-sort") === null, ths[0].getAttribute("aria-sort"));
      out.push(document.querySelector("nav.toc").getAttribute("aria-label"));
      var pre = document.createElement("pre");
      pre.id = "keys"; pre.textContent = out.join("|"); document.body.appendChild(pre);
    });
    </script></body>"""
    page = tmp_path / "keys.html"
    page.write_text(html.replace("</body>", probe), encoding="utf-8")
    got = re.search(r'<pre id="keys">(.*?)</pre>', _dom(page, tmp_path), re.S)
    assert got is not None
    assert got.group(1) == "0|ascending|descending|true|ascending|Sections", got.group(1)


def test_the_head_to_head_matrix_sorts_by_the_net_lead(tmp_path) -> None:
    """A matrix cell "1–2" (ahead–behind) sorted by its leading number put it with "1–0" and
    above "0–0" (a review's): it sorts by the net lead, then by the leads; the diagonal's
    blank and an untested pair's "–" after every count."""
    html = render_html(_report(tmp_path))
    assert 'id="table-pair-matrix"' in html  # the sample report has three models
    cells = ["0–3", "1–2", "", "0–0", "2–0", "1–0", "–"]
    rows = "".join(f"<tr><td>m{i}</td><td>{c}</td></tr>" for i, c in enumerate(cells))
    table = (f'<table id="probe" class="data"><thead><tr><th>Model</th><th>x</th></tr></thead>'
             f"<tbody>{rows}</tbody></table>")
    probe = r"""<script>
    window.addEventListener("load", function () {
      var th = document.querySelectorAll("#probe th")[1];
      th.click();
      var pre = document.createElement("pre");
      pre.id = "sorted";
      pre.textContent = Array.prototype.map.call(document.querySelector("#probe").tBodies[0].rows,
        function (r) { return "[" + r.cells[1].textContent + "]"; }).join(" ");
      document.body.appendChild(pre);
    });
    </script></body>"""
    page = tmp_path / "matrix.html"
    body = re.search(r"<body[^>]*>", html)
    assert body is not None
    page.write_text(html.replace(body.group(0), body.group(0) + table, 1)
                    .replace("</body>", probe), encoding="utf-8")
    got = re.search(r'<pre id="sorted">(.*?)</pre>', _dom(page, tmp_path), re.S)
    assert got is not None
    order = got.group(1).split(" ")
    assert order[:5] == ["[0–3]", "[1–2]", "[0–0]", "[1–0]", "[2–0]"], order
    assert sorted(order[5:]) == sorted(["[]", "[–]"]), order
