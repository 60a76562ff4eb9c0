"""`shootout report`: the Markdown golden file, the CLI, several runs, absent data, errors.

The golden file is the Markdown report of a synthetic stored run (shootout.report.sample_data:
fixed seeds and timestamps). Regenerate it after an intended change with
`SHOOTOUT_UPDATE_GOLDENS=1 pytest tests/integration/test_report.py`, and read the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.report.sample_data import RUN_ID, build_sample_store

GOLDEN = Path(__file__).resolve().parents[1] / "goldens" / "report.md"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "s.sqlite"
    build_sample_store(path).close()
    return path


def _store(path: Path):
    from shootout.store.sqlite import Store

    return Store(path)


def test_markdown_golden(sample_store, tmp_path) -> None:
    md_path = tmp_path / "report.md"
    text = render_markdown(build_report(_store(sample_store), [RUN_ID]), md_path)
    for png in re.findall(r"\]\((report_files/[\w.]+\.png)\)", text):
        assert (tmp_path / png).stat().st_size > 5000, png
    if os.environ.get("SHOOTOUT_UPDATE_GOLDENS") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), "no golden yet: run with SHOOTOUT_UPDATE_GOLDENS=1"
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "report.md differs from tests/goldens/report.md; if intended, regenerate with "
        "SHOOTOUT_UPDATE_GOLDENS=1 and review the diff"
    )


def test_report_is_deterministic(sample_store) -> None:
    a = render_markdown(build_report(_store(sample_store), [RUN_ID]), None, charts=False)
    b = render_markdown(build_report(_store(sample_store), [RUN_ID]), None, charts=False)
    assert a == b


def test_sections_and_numbers(sample_store) -> None:
    text = render_markdown(build_report(_store(sample_store), [RUN_ID]), None, charts=False)
    for heading in ("## Key takeaways", "## Architecture", "## Benchmark results",
                    "## Head-to-head", "## Deep dives", "## Long context",
                    "## Efficiency and cost", "## Weaknesses and limitations",
                    "## Use-case recommendations", "## Per-item evidence", "## Methodology"):
        assert heading in text
    assert "_No long-context (needle) benchmark in these runs._" in text
    assert "### mmlu by group" in text  # the subject breakdown
    assert "2026-01-01 00:00 UTC" in text  # the stored date, not today's
    # the sample's GSM8K gap is real; a lead is only ever claimed with its Holm p
    for line in text.splitlines():
        if " leads " in line:
            assert "Holm p" in line


def _two_runs(tmp_path: Path) -> Path:
    path = tmp_path / "two.sqlite"
    build_sample_store(path).close()
    build_sample_store(path, models=("kimi-k2", "qwen3-30b-a3b"), run_id="r-sample000002",
                       seed=11).close()
    return path


def test_same_model_in_two_runs_is_kept_apart(tmp_path) -> None:
    path = _two_runs(tmp_path)
    rep = build_report(_store(path), [RUN_ID, "r-sample000002"])
    labels = rep.data.labels
    assert "kimi-k2@r-sample000001" in labels and "kimi-k2@r-sample000002" in labels
    assert "qwen3-30b-a3b" in labels and "mixtral-8x7b" in labels
    sel = build_report(_store(path), [RUN_ID, "r-sample000002"], models=["kimi-k2"])
    assert sel.data.labels == ["kimi-k2@r-sample000001", "kimi-k2@r-sample000002"]
    one = build_report(_store(path), [RUN_ID, "r-sample000002"],
                       models=["kimi-k2@r-sample000002", "mixtral-8x7b"],
                       items_pair=("mixtral-8x7b", "kimi-k2@r-sample000002"))
    assert one.data.labels == ["kimi-k2@r-sample000002", "mixtral-8x7b"]
    assert one.items is not None and one.items.a == "mixtral-8x7b"


def _cli(shootout_cmd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*shootout_cmd, "report", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_writes_markdown_and_html(shootout_cmd, tmp_path) -> None:
    path = _two_runs(tmp_path)
    md, html = tmp_path / "out" / "r.md", tmp_path / "out" / "r.html"
    proc = _cli(shootout_cmd, RUN_ID, "r-sample000002", "--store", str(path), "--md", str(md),
                "--html", str(html), "--items", "kimi-k2@r-sample000001,mixtral-8x7b",
                "--max-items", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = md.read_text()
    assert "kimi-k2@r-sample000002" in text
    assert (tmp_path / "out" / "r_files" / "scores.png").exists()
    page = html.read_text()
    assert page.startswith("<!doctype html>")
    # self-contained: nothing is loaded from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    assert {c["model"] for c in data["cells"]} >= {"kimi-k2@r-sample000002", "mixtral-8x7b"}


def test_cli_prints_markdown_without_outputs(shootout_cmd, sample_store) -> None:
    proc = _cli(shootout_cmd, RUN_ID, "--store", str(sample_store))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("# Model shootout: kimi-k2 vs llama-3.1-70b vs mixtral-8x7b")


@pytest.mark.parametrize(("args", "message"), [
    (["r-missing"], "unknown run id 'r-missing'"),
    ([RUN_ID, "--models", "kimi-k2,gpt-9"], "unknown model 'gpt-9'"),
    ([RUN_ID, "--items", "kimi-k2"], "--items needs exactly two models"),
    ([RUN_ID, "--items", "kimi-k2,gpt-9"], "--items: unknown model 'gpt-9'"),
])
def test_cli_errors_are_one_line(shootout_cmd, sample_store, args, message) -> None:
    proc = _cli(shootout_cmd, *args, "--store", str(sample_store))
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1


def test_cli_bad_profiles_names_file_and_key(shootout_cmd, sample_store, tmp_path) -> None:
    bad = tmp_path / "profiles.yaml"
    bad.write_text("profiles:\n  mine:\n    weights: {coding: 1, vibes: 3}\n")
    proc = _cli(shootout_cmd, RUN_ID, "--store", str(sample_store), "--profiles", str(bad))
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "'vibes'" in proc.stderr


def test_cli_user_profiles_are_used(shootout_cmd, sample_store, tmp_path) -> None:
    prof = tmp_path / "profiles.yaml"
    prof.write_text("profiles:\n  factual:\n    description: Facts first\n"
                    "    weights: {factuality: 3, knowledge: 1}\n")
    proc = _cli(shootout_cmd, RUN_ID, "--store", str(sample_store), "--profiles", str(prof))
    assert proc.returncode == 0, proc.stderr
    assert "### factual" in proc.stdout and "### coding" not in proc.stdout


@pytest.mark.slow
def test_report_on_two_real_runs_of_the_embedded_model(shootout_cmd, tmp_path, data_dir) -> None:
    """The embedded model by log-likelihood, then generatively at temperature 0."""
    store = str(tmp_path / "real.sqlite")
    common = ["run", "--model", "local", "-b", "arc_easy", "--limit", "10", "--store", store,
              "--data-dir", str(data_dir), "--no-progress", "--json"]
    ids = []
    for extra in ([], ["--scoring", "generative", "--temperature", "0"]):
        proc = subprocess.run([*shootout_cmd, *common, *extra], capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        ids.append(json.loads(proc.stdout)["run_id"])
    md, html = tmp_path / "real.md", tmp_path / "real.html"
    proc = _cli(shootout_cmd, *ids, "--store", store, "--md", str(md), "--html", str(html))
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = md.read_text()
    assert f"local@{ids[0]}" in text and f"local@{ids[1]}" in text
    # acc_norm does not exist for generative scoring: the common metric is compared
    assert "| arc_easy | reasoning | acc | 10 |" in text
    assert "acc compared: acc_norm is not available for every model" in text
    assert "Gemma" in text or "gemma" in text  # architecture from the GGUF
    assert html.stat().st_size > 10_000
