"""The report's translation section: every corpus metric of a translation benchmark per model
(the main table has chrF++ only), equal to the results' figures, with sacrebleu's signatures,
in the Markdown and the HTML report; a real run on the fake OpenAI server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shootout.analysis.formatting import ci, pct
from shootout.analysis.results import build_results
from shootout.cli.main import main
from shootout.report.build import build_report
from shootout.report.html import render_html
from shootout.report.markdown import render_markdown
from shootout.report.translation import translation_section
from shootout.store import Store
from shootout.testing import FakeOpenAIServer


def test_every_corpus_metric_per_model_with_its_signature(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as srv:
        main(["run", "-m", "openai:a", "-m", "openai:b", "--base-url", srv.base_url,
              "--no-progress", "-b", "translation_zh_en,gsm8k", "--limit", "6", "--json",
              "--data-dir", str(data_dir), "--store", str(path)])
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    store = Store(path)
    report = build_report(store, [run_id])
    content = translation_section(report)
    assert content is not None
    (table,) = content.tables
    assert table.headers == ("translation_zh_en: model", "chrF++", "BLEU", "n")
    scores = {(s.model, s.metric): s for s in build_results(store, [run_id]).runs[0].scores
              if s.benchmark == "translation_zh_en"}
    for row in table.rows:
        model = row[0].text
        for cell_, metric in zip(row[1:3], ("chrf", "bleu"), strict=True):
            s = scores[(model, metric)]
            assert cell_.text == f"{pct(s.score)} {ci(s.ci_low, s.ci_high)}"
        assert row[3].text == "6"
    assert "Signatures: chrF++ `nrefs:1|" in content.paragraphs[1]
    assert "BLEU `nrefs:1|" in content.paragraphs[1] and "tok:13a" in content.paragraphs[1]
    md = render_markdown(report, charts=False)
    # no architecture known for these models: no active-parameter row, nor a note of one
    assert "Active parameters" not in md and "Serving cost follows active" not in md
    assert "\n## Translation\n" in md and "| translation_zh_en: model | chrF++ | BLEU | n |" in md
    html = render_html(report)
    assert 'id="table-translation-translation_zh_en"' in html and '"r">chrF++</th>' in html


def test_each_direction_says_its_own_signature(tmp_path: Path, data_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """zh->en and en->zh in one report: one line of signatures showed the first benchmark's
    BLEU `tok:13a` over both tables, where en->zh is BLEU'd with `tok:zh` (an audit's)."""
    path = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as srv:
        main(["run", "-m", "openai:a", "--base-url", srv.base_url, "--no-progress", "-b",
              "translation_zh_en,translation_en_zh", "--limit", "4", "--json",
              "--data-dir", str(data_dir), "--store", str(path)])
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    content = translation_section(build_report(Store(path), [run_id]))
    assert content is not None
    said = content.paragraphs[1]
    zh_en, en_zh = said.split("translation_zh_en: ")[1], said.split("translation_en_zh: ")[1]
    assert "tok:13a" in zh_en.split("translation_en_zh")[0] and "tok:zh" in en_zh.split(
        "translation_zh_en")[0], said


def test_a_model_with_no_score_is_said_not_dropped(tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A model whose every translation request failed vanished from the section without a
    word (an audit's): the section names it."""
    path = tmp_path / "s.sqlite"
    def reject(body: dict) -> dict | None:
        return {"error": {"message": "no"}} if body.get("model") == "c" else None

    # (c's samples failed: exit 1)
    with FakeOpenAIServer(reject_fn=reject) as srv, pytest.raises(SystemExit):
        main(["run", "-m", "openai:a", "-m", "openai:c", "--base-url", srv.base_url,
              "--no-progress", "-b", "translation_zh_en", "--limit", "3", "--json",
              "--data-dir", str(data_dir), "--store", str(path)])
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    content = translation_section(build_report(Store(path), [run_id]))
    assert content is not None
    assert content.paragraphs[-1] == ("c: no score on translation_zh_en (every request "
                                      "failed; the results table says why).")
