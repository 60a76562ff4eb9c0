"""The shipped example configurations validate, and the seed analysis prices itself without
sending a request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from shootout.cli.main import main
from shootout.config import validate_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_validates(path):
    validate_config(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def test_seed_analysis_is_the_seed_protocol_on_five_api_models():
    cfg = validate_config(yaml.safe_load((EXAMPLES / "seed-analysis.yaml").read_text()), "seed")
    assert cfg.protocol == "seed" and len(cfg.models) == 5
    assert all(m.spec.startswith("openai:") and m.provider_options["base_url"].startswith(
        "https://") for m in cfg.models)
    assert len({b.name for b in cfg.benchmarks}) == 11  # ten, translation both ways


def test_seed_analysis_dry_run_prints_its_cost_and_sends_nothing(tmp_path, data_dir, capsys,
                                                                 monkeypatch):
    import httpx

    def no_network(*args, **kwargs):
        raise AssertionError("a dry run sent a request")

    monkeypatch.setattr(httpx.AsyncClient, "send", no_network)
    monkeypatch.setenv("COLUMNS", "200")
    main(["run", "-c", str(EXAMPLES / "seed-analysis.yaml"), "--dry-run",
          "--store", str(tmp_path / "s.db"), "--data-dir", str(data_dir), "--no-progress"])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.startswith("dry run: ")]
    assert len(lines) == 5 * 11
    assert all(re.search(r"at most \$[\d,]+\.\d\d$", ln) for ln in lines), lines[:3]
    # each model's total row: requests, prompt tokens, output expected and at most, dollars
    for model in ("kimi-k2", "gpt-4o", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.1-405b",
                  "all models"):
        assert re.search(rf"{re.escape(model)}\s+│\s+all\s+(│\s+[\d,]+\s+){{4}}"
                         r"│\s+\$[\d,.]+\s+│\s+\$[\d,.]+", out), model
