"""The "Coding by language" report section: Python (HumanEval) beside MultiPL-E's languages
per model, a skipped language shown as skipped, paired differences, and its chart, in the
Markdown and the HTML report."""

from __future__ import annotations

from pathlib import Path

from shootout.analysis.formatting import pval
from shootout.report.build import build_report
from shootout.report.coding import TITLE, coding_section
from shootout.report.html import render_html
from shootout.report.markdown import render_markdown
from shootout.report.specs import BarSpec, chart_specs
from shootout.store.sqlite import SampleRow, Store

RUN = "r-coding000001"
# model -> language -> right answers among problems 0..9
RIGHT = {"alpha": {"py": 8, "js": 6, "rs": 5}, "beta": {"py": 3, "js": 2, "rs": 5}}
SKIPPED = {"go": "Go toolchain not found (/usr/bin/go); install the Debian package(s): "
                 "apt-get install golang"}


def _store(tmp_path: Path, models=("alpha", "beta"), options: dict | None = None) -> Store:
    store = Store(tmp_path / "results.sqlite")
    store.upsert_run(RUN, {"models": [{"spec": f"openai:{m}", "name": m} for m in models],
                           "benchmarks": [{"name": "humaneval"},
                                          {"name": "multipl_e", "options": options or {}}],
                           "limit": 10, "seed": 1234, "protocol": "seed"})
    for m in models:
        for lang, right in RIGHT[m].items():
            bench = "humaneval" if lang == "py" else "multipl_e"
            for i in range(10):
                item = f"HumanEval/{i}" if lang == "py" else f"{lang}/HumanEval_{i}_x"
                store.put_sample(RUN, SampleRow(
                    model=m, benchmark=bench, item_id=item, repeat=0,
                    group="" if lang == "py" else lang, status="ok",
                    metrics={"pass@1": float(i < right)}, extracted="", reason="",
                    extraction_failed=False, error=None, response_key=None,
                    detail={"mode": "generative", "status": "ok"}))
    per_model = {m: {"mode": "generative", "chat": False, "repeats": 1,
                     "model_binding": {"skipped_languages": SKIPPED}} for m in models}
    store.set_manifest(RUN, {"benchmarks": {"multipl_e": {"version": "1", "n_items": 30,
                                                          "per_model": per_model}},
                             "models": {m: {"spec": f"openai:{m}"} for m in models}})
    store.set_run_status(RUN, "complete")
    return store


def test_table_pairs_and_chart(tmp_path: Path) -> None:
    report = build_report(_store(tmp_path), [RUN])
    content = coding_section(report)
    assert content is not None
    summary, pairs = content.tables
    assert summary.headers == ("Model", "Python", "Go", "JavaScript", "Rust")
    alpha = [c.text for c in summary.rows[0]]
    assert alpha[0] == "alpha" and alpha[1].startswith("80.0 [") and alpha[1].endswith("n=10")
    assert alpha[2] == "skipped" and summary.rows[0][2].title.startswith("Go toolchain")
    assert alpha[3].startswith("60.0") and alpha[4].startswith("50.0")
    # paired on the ten shared problems: alpha − beta
    rows = {(r[0].text, r[1].text): [c.text for c in r[2:]] for r in pairs.rows}
    assert rows[("alpha − beta", "Python")][0] == "+50.0"
    assert rows[("alpha − beta", "Rust")][0] == "+0.0"
    assert rows[("alpha − beta", "Python")][3] == "10"
    # greedy 0/1 problems: McNemar's exact p (5 discordant, all alpha's: 2·0.5⁵ = 0.0625), as
    # the head-to-head tests them; the t-test's p (0.015) bolded it as significant
    python = next(r for r in pairs.rows if r[1].text == "Python")
    assert python[4].text == pval(0.0625) and not python[2].bold
    assert ("alpha − beta", "Go") not in rows
    (chart,) = content.charts
    assert isinstance(chart, BarSpec) and chart.categories == ("Python", "Go", "JavaScript",
                                                               "Rust")
    assert chart.series[0].values == (80.0, None, 60.0, 50.0)
    assert chart in chart_specs(report)


def test_renders_in_markdown_and_html(tmp_path: Path) -> None:
    report = build_report(_store(tmp_path), [RUN])
    md_path = tmp_path / "report.md"
    markdown = render_markdown(report, md_path)
    assert f"## {TITLE}" in markdown
    assert "| alpha | 80.0 [" in markdown and "| skipped |" in markdown
    assert "coding_by_language.png" in markdown
    assert (tmp_path / "report_files" / "coding_by_language.png").stat().st_size > 1000
    html = render_html(report)
    assert f"<h2>{TITLE}</h2>" in html and 'data-chart="coding_by_language"' in html


def test_absent_without_multipl_e(tmp_path: Path) -> None:
    store = Store(tmp_path / "results.sqlite")
    store.upsert_run(RUN, {"models": [{"spec": "openai:alpha", "name": "alpha"}],
                           "benchmarks": [{"name": "humaneval"}]})
    store.put_sample(RUN, SampleRow("alpha", "humaneval", "HumanEval/0", 0, "", "ok",
                                    {"pass@1": 1.0}, "", "", False, None, None, {}))
    store.set_manifest(RUN, {})
    report = build_report(store, [RUN])
    read: list[tuple[str, str]] = []

    class Recorded(dict):  # a large run's cells are read from the store when asked for
        def __getitem__(self, key: tuple[str, str]) -> list[SampleRow]:
            read.append(key)
            return super().__getitem__(key)

    object.__setattr__(report.data, "samples", Recorded(report.data.samples))  # (frozen)
    assert coding_section(report) is None
    assert TITLE not in render_markdown(report, charts=False)
    assert ("alpha", "humaneval") not in read  # no section of it: its samples not read


def test_a_language_asked_for_but_never_drawn_is_said(tmp_path: Path) -> None:
    """`-o multipl_e.languages=cpp,js,go,rs` with a --limit that drew no cpp problem: the
    table had no C++ column and said nothing of it (an audit's)."""
    store = _store(tmp_path, options={"languages": "cpp,js,go,rs"})
    content = coding_section(build_report(store, [RUN]))
    assert content is not None
    assert "No problem of C++ was drawn (--limit): it is not in the table." in \
        content.paragraphs[0]
    assert "go" not in content.paragraphs[0].split("No problem of")[1]  # skipped, said so
