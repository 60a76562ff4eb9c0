"""xstest on the embedded SmolLM2-135M-Instruct through llama.cpp: the prompt goes through the
GGUF's chat template as the only user message, every answer gets one of the three classes and
the metrics of its prompt's label, and the report's safety section renders from the run."""

from __future__ import annotations

from pathlib import Path

from embedded_run import run_smol

from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.scoring.refusal import LABELS


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
