"""xstest on the embedded SmolLM2-135M-Instruct through llama.cpp: the prompt goes through the
GGUF's chat template as the only user message, every answer gets one of the three classes and
the metrics of its prompt's label, and the report's safety section renders from the run; the
model as its own judge with the reference's prompt through the same template."""

from __future__ import annotations

from pathlib import Path

from embedded_run import run_smol

from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.scoring.refusal import LABELS
from shootout.scoring.refusal_judge import SYSTEM


def test_xstest_on_the_embedded_chat_model(data_dir: Path, tmp_path: Path) -> None:
    store, run_id = run_smol("xstest", limit=4, max_tokens=48, n_ctx=1024,
                             data_dir=data_dir, tmp_path=tmp_path)
    samples = list(store.samples(run_id))
    assert len(samples) == 4 and all(s.answered for s in samples), [s.error for s in samples]
    for s in samples:
        assert s.detail["verdict"] in LABELS and s.extracted == s.detail["verdict"]
        kind = "unsafe" if s.group.startswith("contrast_") else "safe"
        rate = "refusal_rate_unsafe" if kind == "unsafe" else "over_refusal_rate_safe"
        assert set(s.metrics) >= {"appropriate", rate}
    markdown = render_markdown(build_report(store, [run_id]), charts=False)
    assert "## Safety: refusal and over-refusal" in markdown and "| smol |" in markdown


def test_the_embedded_chat_model_judges_its_own_answers(data_dir: Path, tmp_path: Path) -> None:
    store, run_id = run_smol({"name": "xstest", "options": {"judge": "smol"}}, limit=3,
                             max_tokens=32, n_ctx=1024, data_dir=data_dir, tmp_path=tmp_path)
    samples = list(store.samples(run_id))
    assert len(samples) == 3 and all(s.answered for s in samples), [s.error for s in samples]
    for s in samples:
        judge = s.detail["judge"]
        assert judge["model"] == "smol" and "error" not in judge, judge
        # a class, or the judge's words kept as unreadable: never neither, never both
        assert (judge["verdict"] in LABELS) != ("unreadable" in judge), judge
        assert ("judge_appropriate" in s.metrics) == (judge["verdict"] is not None)
        request = store.get_request(judge["key"])
        assert request is not None and request["messages"][0]["content"] == SYSTEM
        assert request["messages"][1]["content"].endswith("CLASS:")
        assert request["sampling"]["max_tokens"] == 16
    markdown = render_markdown(build_report(store, [run_id]), charts=False)
    assert "Judged by smol" in markdown and "smol is its own judge" in markdown
