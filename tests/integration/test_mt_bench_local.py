"""MT-Bench on the embedded SmolLM2-135M-Instruct judging its own answers with constrained
verdicts (`judge_format=json`): the judge prompt goes through the GGUF's chat template and
llama-cpp-python's grammar for the verdict schema, so every judgment that was not cut off is
the JSON object and its rating is read. Free-text judging by this model gave no readable grade
(0 of 32 in an 8-question run), which is why the option exists."""

from __future__ import annotations

import json
from pathlib import Path

from embedded_run import run_smol

from shootout.report.build import build_report
from shootout.report.markdown import render_markdown


def test_the_embedded_chat_model_gives_readable_constrained_grades(data_dir: Path,
                                                                   tmp_path: Path) -> None:
    options = {"judge": "smol", "judge_format": "json", "judge_max_tokens": 300}
    store, run_id = run_smol({"name": "mt_bench", "options": options}, limit=1,
                             max_tokens=24, n_ctx=4096, data_dir=data_dir, tmp_path=tmp_path)
    (sample,) = store.samples(run_id)
    grades = sample.detail["judge"]["single"]
    assert len(grades) == 2 and sample.detail["judge"]["format"] == "json"
    for g in grades:
        # 300 tokens hold the 200-character explanation and the JSON around it: never cut off
        assert "error" not in g and "unreadable" not in g, g
        assert g["rating"] is not None and 1 <= g["rating"] <= 10
        request = store.get_request(g["key"])
        assert request is not None and request["response_format"]["type"] == "json_schema"
        text = store.get_response(g["key"])["text"]
        assert set(json.loads(text, strict=False)) == {"explanation", "rating"}, text
    assert 0.1 <= sample.metrics["grade"] <= 1.0
    markdown = render_markdown(build_report(store, [run_id]), charts=False)
    assert "0 of 2 grades (0%) could not be read" in markdown
