"""The quick suite through the command line against the fake server's reasoning-model mode:
no item fails, the manifest shows the learnt parameter policy, and the efficiency table shows
and prices the reasoning tokens."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from shootout.testing import FakeOpenAIServer


def test_quick_suite_against_a_reasoning_model(shootout_cmd, tmp_path, data_dir):
    store = str(tmp_path / "s.sqlite")
    env = {**os.environ, "COLUMNS": "250"}
    with FakeOpenAIServer(reasoning_model=True, reasoning_tokens=250) as srv:
        run = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:o4-mini", "--base-url", srv.base_url,
             "-b", "quick", "--limit", "3", "--store", store, "--data-dir", str(data_dir),
             "--no-progress"], capture_output=True, text=True, timeout=600, env=env)
        rejected = [r["param"] for r in srv.rejected]
    assert run.returncode == 0, run.stderr
    assert rejected == ["max_tokens", "temperature", "top_p"]  # one 400 each, then learnt
    assert "(4,500 reasoning)" in run.stdout  # 6 benchmarks x 3 items x 250, in the table
    out = subprocess.run([*shootout_cmd, "results", "--json", "--store", store],
                         capture_output=True, text=True, timeout=120, env=env)
    data = json.loads(out.stdout)
    assert all(r["n_failed"] == 0 for r in data["results"])
    model = data["manifest"]["models"]["o4-mini"]
    assert model["param_policy"] == {"max_tokens": "max_completion_tokens",
                                     "temperature": None, "top_p": None}
    total = next(r for r in data["efficiency"] if r["scope"] == "model")
    assert total["tokens"]["reasoning"] == 4500
    assert total["cost_reasoning_usd"] == pytest.approx(4500 * 4.40 / 1e6)  # output price
