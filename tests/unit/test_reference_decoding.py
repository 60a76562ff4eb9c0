"""Generation settings follow the reference implementations the scores are compared with."""

from __future__ import annotations

from shootout.benchmarks import REGISTRY, PromptContext
from shootout.benchmarks.base import Benchmark
from shootout.data import DataDir
from shootout.providers.base import Sampling


def test_gsm8k_stops_like_lm_eval_gsm8k_cot_v3(data_dir):
    """Defect 6 of issue 12: lm-eval's gsm8k_cot (task version 3.0) stops at "Q:", "</s>" and
    "<|im_end|>"; stopping at a blank line cut reasoning that had a paragraph break."""
    bench = REGISTRY["gsm8k"](data=DataDir(data_dir))
    doc = bench.load()[0]
    req = bench.request(doc, PromptContext("generative", False, Sampling(), 8))
    assert req.sampling.stop == ("Q:", "</s>", "<|im_end|>")


def test_every_generative_benchmark_defaults_to_greedy_decoding():
    """Defect 5 of issue 12: the reference decoding of every benchmark here is greedy."""
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Benchmark)
        assert (cls.default_temperature, cls.default_top_p) == (0.0, 1.0), name
    assert not REGISTRY["needle"].follows_seed_protocol  # RULER scores retrieval greedily
