"""Golden files for the rendered prompts: a prompt change must be deliberate (and bump the
benchmark's version). Regenerate with SHOOTOUT_UPDATE_GOLDENS=1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.data import DataDir
from shootout.providers.base import Sampling

GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "prompts"
CASES = [
    (name, mode, chat)
    for name, cls in sorted(REGISTRY.items())
    # math: same prompts as math500; needle: sized in a model's tokenizer (tests/unit/test_needle)
    if name not in ("math", "needle")
    for mode in cls.modes
    for chat in ((False,) if mode == "loglikelihood" else (False, True))
]


@pytest.mark.parametrize(("name", "mode", "chat"), CASES)
def test_prompt_matches_golden(name, mode, chat, data_dir):
    cls = REGISTRY[name]
    bench = cls(data=DataDir(data_dir))
    doc = bench.load()[0]
    ctx = PromptContext(mode, chat, Sampling(temperature=0.7, top_p=0.9, max_tokens=32),
                        cls.default_fewshot)
    rendered = json.dumps(
        {"version": cls.version, "request": bench.request(doc, ctx).to_dict()},
        indent=1, ensure_ascii=False, sort_keys=True,
    )
    path = GOLDENS / f"{name}-{mode}-{'chat' if chat else 'base'}.json"
    if os.environ.get("SHOOTOUT_UPDATE_GOLDENS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered + "\n", encoding="utf-8")
    assert path.exists(), f"no golden {path.name}; run with SHOOTOUT_UPDATE_GOLDENS=1"
    assert rendered + "\n" == path.read_text(encoding="utf-8")
