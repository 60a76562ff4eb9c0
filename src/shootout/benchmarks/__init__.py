"""The benchmark registry."""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from ..errors import ConfigError, UnknownBenchmarkError
from .arc import ARCChallenge, ARCEasy
from .base import Benchmark, Doc, ItemScore, Mode, PromptContext, sample_docs
from .bbh import BBH
from .bfcl import BFCL
from .boolq import BoolQ
from .cmmlu import CMMLU
from .gsm8k import GSM8K
from .hellaswag import HellaSwag
from .humaneval import HumanEval
from .humanevalfix import HumanEvalFix
from .ifeval import IFEval
from .math import MATH500, MATHFull
from .mbpp import MBPP
from .mgsm import MGSM
from .mmlu import MMLU, SUBJECTS, subject_benchmark
from .mmlu_pro import MMLUPro
from .mt_bench import MTBench
from .multipl_e import MultiPLE
from .needle import NeedleInAHaystack
from .piqa import PIQA
from .prompt_variants import split_variant, variant_benchmark, with_variants
from .structured import Structured
from .translation import FloresEnZh, FloresZhEn, WMT22EnZh, WMT22ZhEn, WMT23EnZh, WMT23ZhEn
from .triviaqa import TriviaQA
from .truthfulqa import TruthfulQAMC1, TruthfulQAMC2
from .winogrande import WinoGrande
from .xstest import XSTest

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
        HumanEvalFix,
        MBPP,
        MultiPLE,
        FloresZhEn,
        FloresEnZh,
        WMT22ZhEn,
        WMT22EnZh,
        WMT23ZhEn,
        WMT23EnZh,
        CMMLU,
        NeedleInAHaystack,
        BFCL,
        PIQA,
        BoolQ,
        TriviaQA,
        MMLUPro,
        BBH,
        MGSM,
        IFEval,
        Structured,
        XSTest,
        MTBench,
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
    # the seed analysis's table, row for row
    "seed": (
        "mmlu",
        "humaneval",
        "math",
        "gsm8k",
        "hellaswag",
        "arc_challenge",
        "winogrande",
        "truthfulqa_mc1",
        "translation_zh_en",
        "needle",
    ),
    # knowledge, reasoning, commonsense, math, code, multilingual, long context, instruction
    # following
    "standard15": (
        "mmlu",
        "mmlu_pro",
        "triviaqa",
        "arc_challenge",
        "bbh",
        "hellaswag",
        "winogrande",
        "piqa",
        "gsm8k",
        "math500",
        "humaneval",
        "mgsm",
        "translation_zh_en",
        "needle",
        "ifeval",
    ),
    # refusal of unsafe prompts and over-refusal of safe ones
    "safety": ("xstest",),
    # every built-in benchmark (plug-ins are named one by one)
    "all": tuple(REGISTRY),
}


ENTRY_POINT_GROUP = "shootout.benchmarks"


def register_benchmark(cls: type[Benchmark]) -> type[Benchmark]:
    """Add a benchmark class under its `name` (usable as a class decorator). Third-party
    packages register theirs through the `shootout.benchmarks` entry-point group instead."""
    REGISTRY[cls.name] = cls
    return cls


def _entry_point(name: str) -> type[Benchmark] | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                cls: type[Benchmark] = ep.load()
            except Exception as e:  # a broken plug-in: one line, naming it
                raise ConfigError(f"benchmark plug-in {ep.value} cannot load: {e}") from e
            return register_benchmark(cls)
    return None


def all_benchmark_classes() -> dict[str, type[Benchmark]]:
    """The built-in and registered benchmarks, and every plug-in's (entry points)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in REGISTRY:
            _entry_point(ep.name)
    return dict(REGISTRY)


def find_benchmark_class(name: str) -> type[Benchmark] | None:
    """A registered benchmark, a per-subject task such as `mmlu_anatomy`, or a plug-in's."""
    return (REGISTRY.get(name) or subject_benchmark(name) or _prompt_variant(name)
            or _entry_point(name))


def _prompt_variant(name: str) -> type[Benchmark] | None:
    """`arc_easy@v1`: a benchmark under one of the prompt templates (`prompt_variants`)."""
    base, index = split_variant(name)
    return variant_benchmark(name, find_benchmark_class(base)) if index else None


def get_benchmark_class(name: str) -> type[Benchmark]:
    cls = find_benchmark_class(name)
    if cls is not None:
        return cls
    known = [*REGISTRY, *SUITES, *(f"mmlu_{s}" for s in SUBJECTS)]
    # compared in lower case ("ARC_EASY" is too far from arc_easy as written)
    lower = {k.lower(): k for k in known}
    close = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), n=1)]
    hint = f" (did you mean {close[0]}?)" if close else ""
    if close and close[0] == name and name in SUITES:  # where one benchmark is asked for
        # (`perf --from-benchmark quick` said "did you mean quick?")
        hint = f" ({name} is a suite of {len(SUITES[name])} benchmarks; give one of them)"
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
    "all_benchmark_classes",
    "expand_benchmarks",
    "find_benchmark_class",
    "get_benchmark_class",
    "register_benchmark",
    "sample_docs",
    "split_variant",
    "with_variants",
]
