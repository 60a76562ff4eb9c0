"""The README and docs stay true: the config validates, every command parses, and every
benchmark, suite and flag they name exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml

from shootout.benchmarks import REGISTRY, SUITES
from shootout.cli.main import app
from shootout.cli.run import (
    FLAG_ALIASES,
    MODEL_FLAG_ALIASES,
    MODEL_OPTION_ALIASES,
    OPTION_ALIASES,
    RUN_OPTION_ALIASES,
    expand_aliases,
)
from shootout.config import validate_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
ALL_TEXT = {"README.md": README, **DOCS}
CLI = typer.main.get_command(app)
COMMANDS: dict = CLI.commands  # type: ignore[attr-defined]

# flags of other programs that the docs quote (sacrebleu, chromium, llama_cpp.server, vLLM, pip,
# Slurm;
# lm_eval and inspect in docs/from-other-tools.md)
FOREIGN_FLAGS = {"--paired-bs", "--paired-ar", "--headless", "--dump-dom", "--interrupt_requests",
                 "--ignore-eos",
                 "--no-deps",
                 "--model_args", "--num_fewshot", "--batch_size", "--gen_kwargs",
                 "--apply_chat_template", "--log_samples", "--output_path", "--use_cache",
                 "--epochs", "--max-connections", "--model-base-url", "--log-dir",
                 "--job-name", "--array", "--cpus-per-task", "--parsable", "--dependency",
                 "--wrap",
                 # benchmarks/adaptive_repeats.py (docs/adaptive-repeats.md)
                 "--sims", "--scenario",
                 # benchmarks/vs_lm_eval.py (docs/local-model.md)
                 "--lm-eval-python"}
# llama_cpp.server, vLLM and SGLang serving flags (docs/providers.md, docs/serving.md)
FOREIGN_FLAGS |= {"--model_alias", "--chat_format", "--port", "--tensor-parallel-size",
                  "--pipeline-parallel-size", "--data-parallel-size", "--max-model-len",
                  "--trust-remote-code", "--gpu-memory-utilization", "--head", "--address",
                  "--model-path", "--tp", "--dp", "--nnodes", "--node-rank", "--dist-init-addr",
                  "--mem-fraction-static"}


def test_readme_config_block_validates_and_matches_the_example_file():
    block = re.search(r"### A run configuration file\n\n```yaml\n(.*?)```", README, re.S)
    assert block is not None, "README lost its configuration example"
    cfg = validate_config(yaml.safe_load(block.group(1)), "README")
    assert [m.display for m in cfg.models][:1] == ["Gemma 3 270M · Q4_K_M"]
    example = (ROOT / "examples" / "shootout.yaml").read_text(encoding="utf-8")
    assert block.group(1) in example


def _shootout_commands() -> list[tuple[str, str]]:
    cmds = []
    for doc, text in ALL_TEXT.items():
        for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.split("  #")[0].strip().removeprefix("$ ")
                if line.startswith("shootout ") and "..." not in line:
                    cmds.append((doc, line))
    return cmds


@pytest.mark.parametrize(("doc", "line"), _shootout_commands())
def test_documented_commands_parse(doc, line):
    """Every documented command line is accepted by the CLI parser: its subcommand exists and
    `make_context` raises on an unknown option or a bad value."""
    argv = shlex.split(re.sub(r"\[[^\]]*\]", "", line))[1:]  # synopsis: drop [optional] parts
    assert argv[0] in COMMANDS, f"{doc}: unknown command in {line!r}"
    sub = COMMANDS[argv[0]]
    args = [a for a in argv[1:] if a != "|"]
    args = ["r-123" if a == "RUN_ID" else a for a in args]
    if argv[0] == "list":
        args = args[:1]  # "list benchmarks | models"
    if argv[0] == "run":
        args = expand_aliases(args)  # as `shootout` itself does before parsing
    sub.make_context(argv[0], args)  # raises click's UsageError on anything wrong


def _cli_flags() -> set[str]:
    def walk(cmd) -> set[str]:  # a command and, for a group (`shootout data`), its commands
        flags = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        for sub in getattr(cmd, "commands", {}).values():
            flags |= walk(sub)
        return flags

    aliases = (OPTION_ALIASES, FLAG_ALIASES, MODEL_OPTION_ALIASES, MODEL_FLAG_ALIASES,
               RUN_OPTION_ALIASES)
    return walk(CLI).union(*aliases)


def _script_flags() -> set[str]:
    """The flags of the measurement scripts in benchmarks/ (the docs give their commands)."""
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "benchmarks").glob("*.py"))
    return set(re.findall(r"""add_argument\(\s*["'](--[a-z][a-z0-9_-]*)["']""", text))


@pytest.mark.parametrize("doc", sorted(ALL_TEXT))
def test_every_flag_named_in_the_docs_exists(doc):
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9_-]*", ALL_TEXT[doc]))
    missing = named - _cli_flags() - FOREIGN_FLAGS - _script_flags()
    assert not missing, f"{doc} names flags no shootout command has: {sorted(missing)}"


def _names_in_backticks(text: str) -> set[str]:
    return set(re.findall(r"`([a-z][a-z0-9_]*)`", text))


def test_every_benchmark_is_documented_in_the_readme():
    assert set(REGISTRY) <= _names_in_backticks(README), set(REGISTRY) - _names_in_backticks(
        README
    )


def test_every_suite_named_in_the_readme_exists_with_its_members():
    sentence = re.search(r"Suites: (.*?)\n\n", README, re.S)
    assert sentence is not None, "README lost its list of suites"
    named = re.findall(r"`(\w+)`\s+\(([^)]*)\)", sentence.group(1))
    assert {n for n, _ in named} == set(SUITES)
    for name, members in named:
        listed = [m.strip() for m in members.split(",")]
        if all(m in REGISTRY for m in listed):  # "(the multiple-choice set)" is prose
            assert tuple(listed) == SUITES[name], name


def test_benchmark_tables_name_only_real_benchmarks():
    """The README's benchmark tables (header `| name |`) list only registered benchmarks."""
    tables = re.findall(r"^\| name \|.*\n\|[-| ]+\|\n((?:\|.*\n)+)", README, re.M)
    assert tables, "README lost its benchmark tables"
    names = {n for t in tables for row in t.splitlines()
             for n in re.findall(r"`([a-z0-9_]+)`", row.split(" | ")[0])}
    assert names and names <= set(REGISTRY), names - set(REGISTRY)


def test_docs_that_messages_and_docs_point_to_exist():
    """Error messages and docs send users to docs/*.md files: those files exist."""
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py")]
    texts += list(ALL_TEXT.values())
    named = {m for t in texts for m in re.findall(r"docs/[\w-]+\.md", t)}
    assert named, "no docs/ references found: the pattern is wrong"
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, missing


def test_suites_expand_in_run_config_files():
    cfg = validate_config(
        {"models": ["local"], "benchmarks": [{"name": "math_code", "limit": 3}, "gsm8k"]},
        "test",
    )
    by_name = {b.name: b for b in cfg.benchmarks}
    # in the order `-b math_code,gsm8k` gives (gsm8k at its place in the suite, with its own
    # entry: it came last, so the same benchmarks were another run id)
    assert [b.name for b in cfg.benchmarks] == ["gsm8k", "math500", "humaneval"]
    assert by_name["math500"].limit == 3 and by_name["gsm8k"].limit is None  # its own entry
