"""The benchmark registry."""

from __future__ import annotations

import difflib

from ..errors import UnknownBenchmarkError
from .arc import ARCChallenge, ARCEasy
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, sample_docs
from .cmmlu import CMMLU
from .gsm8k import GSM8K
from .hellaswag import HellaSwag
from .humaneval import HumanEval
from .math import MATH500, MATHFull
from .mmlu import MMLU
from .needle import NeedleInAHaystack
from .translation import FloresEnZh, FloresZhEn, WMT22EnZh, WMT22ZhEn, WMT23EnZh, WMT23ZhEn
from .truthfulqa import TruthfulQAMC1, TruthfulQAMC2
from .winogrande import WinoGrande

REGISTRY: dict[str, type[Benchmark]] = {
    cls.name: cls
    for cls in (
        MMLU,
        ARCChallenge,
        ARCEasy,
        HellaSwag,
        WinoGrande,
        TruthfulQAMC1,
        TruthfulQAMC2,
        GSM8K,
        MATH500,
        MATHFull,
        HumanEval,
        FloresZhEn,
        FloresEnZh,
        WMT22ZhEn,
        WMT22EnZh,
        WMT23ZhEn,
        WMT23EnZh,
        CMMLU,
        NeedleInAHaystack,
    )
}

SUITES: dict[str, tuple[str, ...]] = {
    "quick": ("arc_easy", "arc_challenge", "hellaswag", "winogrande", "truthfulqa_mc1", "mmlu"),
    "mc": (
        "mmlu",
        "arc_challenge",
        "arc_easy",
        "hellaswag",
        "winogrande",
        "truthfulqa_mc1",
        "truthfulqa_mc2",
    ),
}


def get_benchmark_class(name: str) -> type[Benchmark]:
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownBenchmarkError(
            f"unknown benchmark {name!r}{hint}; `shootout list benchmarks` shows them all"
        ) from None


def expand_benchmarks(names: list[str]) -> list[str]:
    """Expand suite names and validate each benchmark name, keeping order without repeats."""
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        for n in SUITES.get(name, (name,)):
            get_benchmark_class(n)
            if n not in out:
                out.append(n)
    if not out:
        raise UnknownBenchmarkError("no benchmarks given")
    return out


__all__ = [
    "REGISTRY",
    "SUITES",
    "Benchmark",
    "Doc",
    "ItemScore",
    "Mode",
    "PromptContext",
    "expand_benchmarks",
    "get_benchmark_class",
    "sample_docs",
]
