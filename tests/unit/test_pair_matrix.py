"""The head-to-head matrix: each model's significant leads over, and deficits to, each other
model, as the pair tables and the takeaways' tally count them."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from shootout.analysis.compare import PAIRED, UNTESTABLE, PairTest
from shootout.report.pair_matrix import pair_matrix


def _test(a: str, b: str, bench: str, diff: float, significant: bool, *, n_a: int = 50,
          n_b: int = 50) -> PairTest:
    return PairTest(a, b, bench, "acc", PAIRED, 50, 0.5 + diff, 0.5, diff, 0.05, diff - 0.1,
                    diff + 0.1, 0.001 if significant else 0.5,
                    p_holm=0.001 if significant else 0.5, significant=significant,
                    n_a=n_a, n_b=n_b)


def _report(labels: list[str], tests: list[PairTest]) -> SimpleNamespace:
    return SimpleNamespace(data=SimpleNamespace(labels=labels), tests=tuple(tests))


def _cells(got: dict) -> dict[tuple[str, str], tuple[str, bool, str]]:
    table = got["table"]
    labels = list(table.headers[1:-2])
    out = {}
    for row in table.rows:
        for y, c in zip(labels, row[1:-2], strict=True):
            out[(row[0].text, y)] = (c.text, c.bold, c.title)
    return out


def test_each_cell_counts_the_rows_leads_and_deficits_against_the_column():
    tests = [
        _test("a", "b", "x", +0.2, True),  # a ahead of b on x
        _test("a", "b", "y", -0.2, True),  # b ahead of a on y
        _test("a", "b", "z", +0.01, False),  # no difference
        _test("a", "c", "x", -0.3, True),  # c ahead of a on x
        _test("a", "c", "y", -0.3, True),  # and on y
        # b ahead of c, significantly, but on fewer items: no lead (as the tally counts it)
        _test("b", "c", "x", +0.2, True, n_a=40),
        _test("b", "c", "y", +0.01, False),
        replace(_test("a", "d", "x", 0.0, False), method=UNTESTABLE),
    ]
    got = pair_matrix(_report(["a", "b", "c", "d"], tests))
    assert got is not None
    cells = _cells(got)
    assert cells[("a", "b")] == ("1–1", False, "ahead on x; behind on y")
    assert cells[("b", "a")] == ("1–1", False, "ahead on y; behind on x")
    assert cells[("a", "c")] == ("0–2", False, "behind on x, y")
    assert cells[("c", "a")] == ("2–0", True, "ahead on x, y")
    # the lead on fewer items is named in the tooltip, not counted (a review's: it read "no
    # significant difference" beside the pair table's "yes, but b has fewer items")
    uncounted = "significant but not counted, the model ahead scored on fewer items: x (b ahead)"
    assert cells[("b", "c")] == cells[("c", "b")] == ("0–0", False, uncounted)
    # d was never tested (its one benchmark with a only had no standard error): no count
    # where there was no test; the diagonal is empty
    assert cells[("a", "d")][0] == cells[("d", "c")][0] == "–"
    assert cells[("a", "a")][0] == ""
    totals = {row[0].text: (row[-2].text, row[-1].text) for row in got["table"].rows}
    assert totals == {"a": ("1", "3"), "b": ("1", "1"), "c": ("2", "0"), "d": ("0", "0")}
    # a model's totals are the sums of its row (the tally of the key takeaways)
    for row in got["table"].rows:
        counts = [c.text.split("–") for c in row[1:-2] if "–" in c.text and c.text != "–"]
        assert sum(int(w) for w, _ in counts) == int(row[-2].text)
        assert sum(int(l_) for _, l_ in counts) == int(row[-1].text)


def test_two_models_have_no_matrix():
    """One pair: its table says it all."""
    assert pair_matrix(_report(["a", "b"], [_test("a", "b", "x", 0.2, True)])) is None
    assert pair_matrix(_report(["a", "b", "c"], [])) is None


def test_the_matrix_is_in_both_renderings(sample_store):
    """Markdown and HTML put it before the pairs' tables (the sample run: three models)."""
    from shootout.report.build import build_report
    from shootout.report.html import render_html
    from shootout.report.markdown import render_markdown
    from shootout.report.sample_data import RUN_ID

    report = build_report(sample_store, [RUN_ID])
    md = render_markdown(report, None, charts=False)
    head = md.index("## Head-to-head")
    assert head < md.index("| Model | kimi-k2 | llama-3.1-70b | mixtral-8x7b | Ahead | Behind |") \
        < md.index("### kimi-k2 vs llama-3.1-70b")
    html = render_html(report)
    assert html.index('id="head-to-head"') < html.index('id="table-pair-matrix"') \
        < html.index("<h3>kimi-k2 vs llama-3.1-70b</h3>")
