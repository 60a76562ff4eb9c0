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
from .mmlu import MMLU, SUBJECTS, subject_benchmark
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
    "math_code": ("gsm8k", "math500", "humaneval"),
    # lm-evaluation-harness's group of the same name holds mc1, mc2 and the generative task;
    # the generative one (judged by fine-tuned GPT-3 models) is not implemented here
    "truthfulqa": ("truthfulqa_mc1", "truthfulqa_mc2"),
}


def find_benchmark_class(name: str) -> type[Benchmark] | None:
    """A registered benchmark, or one of the per-subject tasks such as `mmlu_anatomy`."""
    return REGISTRY.get(name) or subject_benchmark(name)


def get_benchmark_class(name: str) -> type[Benchmark]:
    cls = find_benchmark_class(name)
    if cls is not None:
        return cls
    known = [*REGISTRY, *SUITES, *(f"mmlu_{s}" for s in SUBJECTS)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UnknownBenchmarkError(
        f"unknown benchmark {name!r}{hint}; `shootout list benchmarks` shows them all"
    )


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
    "find_benchmark_class",
    "get_benchmark_class",
    "sample_docs",
]
