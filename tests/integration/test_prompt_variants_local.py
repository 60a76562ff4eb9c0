"""Prompt variants through the real CLI on the embedded model: three templates of ARC-Easy
scored by llama.cpp, then the report's prompt sensitivity section."""

from __future__ import annotations

import json
import subprocess

import pytest

LIMIT = 4


@pytest.mark.timeout(1200)  # 12 log-likelihood items: seconds on an idle machine
def test_three_templates_on_the_embedded_model_reach_the_report(shootout_cmd, tmp_path,
                                                                 data_dir):
    store = str(tmp_path / "pv.sqlite")
    proc = subprocess.run(
        [*shootout_cmd, "run", "-m", "local", "-b", "arc_easy", "--prompt-variants", "3",
         "--limit", str(LIMIT), "--store", store, "--data-dir", str(data_dir), "--json"],
        capture_output=True, text=True, timeout=1100,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    primary = {r["benchmark"]: r for r in payload["results"] if r["primary"]}
    assert set(primary) == {"arc_easy", "arc_easy@v1", "arc_easy@v2"}
    assert all(r["n"] == LIMIT and r["n_failed"] == 0 for r in primary.values())
    assert payload["manifest"]["benchmarks"]["arc_easy@v2"]["fewshot"] == 3
    hashes = {b: e["per_model"]["Gemma 3 270M · Q4_K_M"]["template_hash"]
              for b, e in payload["manifest"]["benchmarks"].items()}
    assert len(set(hashes.values())) == 3  # three prompts, not one sent three times
    md = tmp_path / "r.md"
    rep = subprocess.run([*shootout_cmd, "report", "--store", store, "--md", str(md),
                          "--no-charts"], capture_output=True, text=True, timeout=600)
    assert rep.returncode == 0, rep.stderr[-2000:]
    section = md.read_text(encoding="utf-8").split("## Prompt sensitivity", 1)[1]
    header = "| Model | v0 reference | v1 reworded | v2 few-shot swap | Spread (max − min) | SD |"
    assert header in section
    assert "| Gemma 3 270M · Q4_K_M |" in section.split("\n## ", 1)[0]
