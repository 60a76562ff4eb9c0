"""Translation and CMMLU end to end on the embedded (base) model through the real CLI.

Small on purpose: 3 items per benchmark, greedy (--temperature 0 gives one repeat), so six
short generations plus three CMMLU log-likelihood items.
"""

from __future__ import annotations

import json
import subprocess

import pytest

BENCHES = ["translation_zh_en", "translation_en_zh", "cmmlu"]
SIG_PREFIX = {
    "chrf": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:yes|nc:6|nw:2|space:no|version:",
    "bleu": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:",
}


def test_translation_and_cmmlu_through_the_cli(shootout_cmd, tmp_path, data_dir):
    proc = subprocess.run(
        [*shootout_cmd, "run", "--model", "local", "--benchmarks", ",".join(BENCHES),
         "--limit", "3", "--temperature", "0", "--store", str(tmp_path / "s.sqlite"),
         "--data-dir", str(data_dir), "--no-progress", "--json"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    rows = {(r["benchmark"], r["metric"]): r for r in payload["results"]}

    for bench, tok in (("translation_zh_en", "13a"), ("translation_en_zh", "zh")):
        for metric in ("chrf", "bleu"):
            r = rows[(bench, metric)]
            assert r["primary"] is (metric == "chrf")
            assert r["n"] == 3 and r["repeats"] == 1 and r["n_failed"] == 0
            assert 0.0 <= r["ci_low"] <= r["score"] <= r["ci_high"] <= 1.0
            assert r["extra"]["raw_score"] == pytest.approx(100 * r["score"])
            assert r["extra"]["signature"].startswith(SIG_PREFIX[metric])
            assert r["extraction_failure_rate"] is not None
        assert f"tok:{tok}" in rows[(bench, "bleu")]["extra"]["signature"]
        analysis = payload["analyses"]["Gemma 3 270M · Q4_K_M"][bench]
        assert analysis["n_items"] == 3 and set(analysis["signatures"]) == {"chrf", "bleu"}
        per_model = payload["manifest"]["benchmarks"][bench]["per_model"]["Gemma 3 270M · Q4_K_M"]
        assert per_model["mode"] == "generative" and per_model["chat"] is False

    acc = rows[("cmmlu", "acc")]
    assert acc["primary"] and acc["n"] == 3 and 0.0 <= acc["score"] <= 1.0
    man = payload["manifest"]
    assert man["benchmarks"]["cmmlu"]["fewshot"] == 5
    gemma = man["benchmarks"]["cmmlu"]["per_model"]["Gemma 3 270M · Q4_K_M"]
    assert gemma["mode"] == "loglikelihood"
    assert "wmt22_zh_en/generaltest2022.zh-en.src.zh" in man["data_checksums"]  # FLORES shots
    assert any(b["benchmark"] == "cmmlu" for b in payload["breakdowns"])
