"""The seed, standard15 and all suites: their members, and their expansion in run configs."""

from __future__ import annotations

import pytest

from shootout.analysis.takeaways import normalize_domain
from shootout.benchmarks import REGISTRY, SUITES, expand_benchmarks
from shootout.config import load_config_file, validate_config

# standard15 names only registered benchmarks (ifeval, its instruction-following member, is in)
NOT_YET_REGISTERED: set[str] = set()


def test_seed_is_the_seed_table():
    assert expand_benchmarks(["seed"]) == [
        "mmlu", "humaneval", "math", "gsm8k", "hellaswag", "arc_challenge", "winogrande",
        "truthfulqa_mc1", "translation_zh_en", "needle",
    ]


def test_standard15_is_fifteen_benchmarks_over_every_area():
    names = SUITES["standard15"]
    assert len(set(names)) == len(names) == 15
    assert {n for n in names if n not in REGISTRY} <= NOT_YET_REGISTERED
    domains = {normalize_domain(REGISTRY[n].domain) for n in names if n in REGISTRY}
    assert {"knowledge", "reasoning", "commonsense", "math", "coding", "multilingual",
            "long_context", "instruction_following"} <= domains
    assert "ifeval" in names  # instruction following


def test_all_is_every_built_in_benchmark():
    assert set(SUITES["all"]) == set(REGISTRY)
    assert len(SUITES["all"]) >= 20


def test_suites_expand_in_a_yaml_run_config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("models: [local]\nbenchmarks:\n  - {name: seed, limit: 5}\n  - name: piqa\n",
                    encoding="utf-8")
    cfg = validate_config(load_config_file(path), str(path))
    names = [b.name for b in cfg.benchmarks]
    assert names == [*SUITES["seed"], "piqa"]
    assert all(b.limit == 5 for b in cfg.benchmarks if b.name != "piqa")


def test_a_config_orders_suites_as_the_command_line_and_refuses_dropped_settings():
    """`benchmarks: [quick, gsm8k, arc_easy]` put arc_easy last and `-b quick,gsm8k,arc_easy`
    first: two run ids for one run. And a second suite's settings for the members it shares
    with the first were dropped without a word (an audit's)."""
    from shootout.benchmarks import expand_benchmarks
    from shootout.config import validate_config
    from shootout.errors import ConfigError

    for listed in (["quick", "gsm8k", "arc_easy"], ["quick", "arc_easy", "arc_easy"],
                   ["arc_easy", "quick"]):
        cfg = validate_config({"models": ["local"], "benchmarks": listed}, "test")
        assert [b.name for b in cfg.benchmarks] == expand_benchmarks(listed), listed
    cfg = validate_config({"models": ["local"], "benchmarks": [
        "quick", {"name": "arc_easy", "limit": 4}]}, "test")
    assert cfg.benchmarks[0].name == "arc_easy" and cfg.benchmarks[0].limit == 4
    with pytest.raises(ConfigError, match="'mmlu' is in two suites listed with different"):
        validate_config({"models": ["local"], "benchmarks": [
            {"name": "quick"}, {"name": "mc", "limit": 3}]}, "test")
    # the same settings: each shared member once
    cfg = validate_config({"models": ["local"], "benchmarks": ["quick", "mc"]}, "test")
    assert [b.name for b in cfg.benchmarks] == expand_benchmarks(["quick", "mc"])
