"""The structured benchmark on the embedded SmolLM2-135M-Instruct: prompt-only, JSON mode and
structured outputs, the last two constrained by llama-cpp-python's grammars. Whatever the
model writes, a JSON-mode answer that was not cut off is JSON, and a structured-outputs answer
that was not cut off satisfies its schema: the grammar allows nothing else."""

from __future__ import annotations

from pathlib import Path

from embedded_run import run_smol


def test_structured_modes_on_the_embedded_chat_model(data_dir: Path, tmp_path: Path) -> None:
    store, run_id = run_smol("structured", limit=4, max_tokens=200, n_ctx=2048,
                             data_dir=data_dir, tmp_path=tmp_path)
    samples = list(store.samples(run_id))
    assert len(samples) == 12 and not [s for s in samples if s.status == "failed"]
    modes = store.get_run(run_id)["manifest"]["benchmarks"]["structured"]["per_model"]["smol"][
        "model_binding"]["modes"]
    assert modes == {"prompt": "accepted", "json_object": "accepted", "json_schema": "accepted"}
    whole = {m: [s for s in samples if s.group == m and s.status == "ok"]
             for m in ("prompt", "json_object", "json_schema")}
    assert whole["json_object"] and whole["json_schema"]
    assert all(s.metrics["parsed_strict"] == 1.0 for s in whole["json_object"])
    assert all(s.metrics["schema_valid"] == 1.0 for s in whole["json_schema"]), [
        s.reason for s in whole["json_schema"]]
