"""The README's examples stay true: its config file validates, its commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from shootout.config import validate_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_config_block_validates_and_matches_the_example_file():
    block = re.search(r"### A run configuration file\n\n```yaml\n(.*?)```", README, re.S)
    assert block is not None
    cfg = validate_config(yaml.safe_load(block.group(1)), "README")
    assert [m.display for m in cfg.models][:1] == ["local"]
    example = (ROOT / "examples" / "shootout.yaml").read_text(encoding="utf-8")
    assert block.group(1) in example


def _shootout_commands() -> list[str]:
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("shootout "):
                cmds.append(line)
    return cmds


@pytest.mark.parametrize("line", _shootout_commands())
def test_readme_commands_parse(line):
    """Every documented command is accepted by the CLI parser (`--help` after the command
    path proves the subcommand and its options exist without running anything)."""
    from typer.main import get_command

    from shootout.cli.main import app

    argv = shlex.split(line)[1:]
    cli = get_command(app)
    ctx = cli.make_context("shootout", [*list(argv[:1]), "--help"], resilient_parsing=True)
    assert ctx is not None
    sub = cli.get_command(ctx, argv[0])  # type: ignore[attr-defined]
    assert sub is not None, f"unknown command in README: {line}"
    args = [a for a in argv[1:] if a not in ("[--json]", "|")]
    args = ["r-123" if a == "RUN_ID" else a for a in args]
    if argv[0] == "list":
        args = args[:1]  # "list benchmarks | models"
    sub_ctx = sub.make_context(argv[0], args)  # raises on an unknown option or bad value
    assert sub_ctx is not None
