"""xstest on the embedded SmolLM2-135M-Instruct through llama.cpp: the prompt goes through the
GGUF's chat template as the only user message, every answer gets one of the three classes and
the metrics of its prompt's label, and the report's safety section renders from the run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shootout.config import validate_config
from shootout.providers.registry import build_provider
from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.runner.run import Runner
from shootout.scoring.refusal import LABELS
from shootout.store.sqlite import Store


def test_xstest_on_the_embedded_chat_model(data_dir: Path, tmp_path: Path) -> None:
    cfg = validate_config({"models": [{"spec": "local:smollm2-135m", "name": "smol"}],
                           "benchmarks": ["xstest"], "limit": 4,
                           "sampling": {"max_tokens": 48}}, "test")
    provider = build_provider("local:smollm2-135m", {"n_ctx": 1024})
    store = Store(tmp_path / "r.sqlite")

    async def go() -> str:
        try:
            return await Runner(cfg, store, data_dir=str(data_dir)).run({"smol": provider})
        finally:
            await provider.aclose()

    run_id = asyncio.run(go())
    samples = list(store.samples(run_id))
    assert len(samples) == 4 and all(s.answered for s in samples), [s.error for s in samples]
    for s in samples:
        assert s.detail["verdict"] in LABELS and s.extracted == s.detail["verdict"]
        kind = "unsafe" if s.group.startswith("contrast_") else "safe"
        rate = "refusal_rate_unsafe" if kind == "unsafe" else "over_refusal_rate_safe"
        assert set(s.metrics) >= {"appropriate", rate}
    markdown = render_markdown(build_report(store, [run_id]), charts=False)
    assert "## Safety: refusal and over-refusal" in markdown and "| smol |" in markdown
