"""A synthetic, deterministic stored run for tests and demos of the report (no model needed).

Three models (named after entries of the architecture table so that panel has data) on seven
benchmarks; scores are drawn from a seeded generator around fixed per-model accuracies, so one
difference is large (GSM8K) and most are within noise. Timestamps are fixed.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

from ..store.sqlite import SampleRow, Store

RUN_ID = "r-sample000001"
CREATED = 1767225600.0  # 2026-01-01 00:00 UTC
MODELS = ("kimi-k2", "llama-3.1-70b", "mixtral-8x7b")
# benchmark -> (items, repeats, mode, metric, groups, accuracy per model)
PLAN: dict[str, tuple[int, int, str, str, tuple[str, ...], tuple[float, ...]]] = {
    "mmlu": (60, 1, "loglikelihood", "acc", ("astronomy", "law", "virology"), (0.78, 0.74, 0.62)),
    "arc_challenge": (50, 1, "loglikelihood", "acc_norm", (), (0.70, 0.68, 0.66)),
    "hellaswag": (50, 1, "loglikelihood", "acc_norm", (), (0.80, 0.82, 0.76)),
    "winogrande": (50, 1, "loglikelihood", "acc", (), (0.72, 0.70, 0.69)),
    "truthfulqa_mc1": (50, 1, "loglikelihood", "acc", (), (0.45, 0.40, 0.33)),
    "gsm8k": (40, 3, "generative", "acc", (), (0.88, 0.80, 0.45)),
    "humaneval": (30, 3, "generative", "pass@1", (), (0.70, 0.55, 0.35)),
}
PRICES = {"kimi-k2": {"input_per_m": 0.6, "output_per_m": 2.5, "source": "sample"},
          "llama-3.1-70b": {"input_per_m": 0.9, "output_per_m": 0.9, "source": "sample"},
          "mixtral-8x7b": {"input_per_m": 0.24, "output_per_m": 0.24, "source": "sample"}}
SAMPLING = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 512, "stop": [], "seed": None}


def build_sample_store(path: Path | str, *, models: tuple[str, ...] = MODELS,
                       run_id: str = RUN_ID, seed: int = 7) -> Store:
    store = Store(path)
    spec = {
        "models": [{"spec": f"openai:{m}", "name": m, "price": PRICES.get(m)} for m in models],
        "benchmarks": [{"name": b} for b in PLAN],
        "limit": None, "repeats": 3, "seed": 1234,
        "sampling": {"temperature": 0.7, "top_p": 0.9, "max_tokens": None},
    }
    store.upsert_run(run_id, spec)
    rng = random.Random(seed)
    for mi, model in enumerate(models):
        for bench, (n, reps, mode, metric, groups, accs) in PLAN.items():
            difficulty = random.Random(f"{bench}")  # the same item difficulties for every model
            for i in range(n):
                ease = difficulty.uniform(-0.25, 0.25)
                for rep in range(reps):
                    _put(store, run_id, rng, model, mi, bench, i, rep, mode, metric,
                         groups, accs[mi % len(accs)] + ease)
    store.set_manifest(run_id, _manifest(models))
    store.set_run_status(run_id, "complete")
    store._db.execute("UPDATE runs SET created_at=?, updated_at=? WHERE run_id=?",
                      (CREATED, CREATED + 3723.0, run_id))
    return store


def _put(store: Store, run_id: str, rng: random.Random, model: str, mi: int, bench: str,
         i: int, rep: int, mode: str, metric: str, groups: tuple[str, ...], p: float) -> None:
    right = rng.random() < p
    item = f"{bench}/{i}"
    key = hashlib.sha256(f"{model}|{item}|{rep}".encode()).hexdigest()
    if mode == "generative":
        answer = str(i * 7 + (0 if right else 1 + mi))
        text = f"Let me work through it step by step.\nThe answer is {answer}."
        ttft = 0.15 + 0.1 * mi + rng.random() * 0.2
        toks = 60 + rng.randrange(80)
        resp = {"kind": "generate", "text": text, "reasoning": None, "finish_reason": "stop",
                "usage": {"prompt_tokens": 200, "completion_tokens": toks, "cached_tokens": 0,
                          "estimated": False},
                "timing": {"ttft": ttft, "e2e": ttft + toks / (40.0 + 15 * mi),
                           "chunk_times": [], "first_reasoning": None, "first_answer": None},
                "model_reported": model}
        metrics = {metric: float(right)}
        if metric == "acc":
            metrics["acc_strict"] = float(right and rng.random() < 0.9)
        extracted, reason = answer, f"gold {i * 7}; extracted {answer} by 'the answer is'"
    else:
        lls = [round(-rng.uniform(1, 9), 3) for _ in range(4)]
        gold = i % 4
        if right:
            lls[gold] = max(lls) + 0.5
        resp = {"kind": "loglikelihood", "scores": [
            {"logprob": x, "is_greedy": False, "n_tokens": 3} for x in lls],
            "usage": {"prompt_tokens": 300, "completion_tokens": 0, "cached_tokens": 0,
                      "estimated": False},
            "timing": {"ttft": None, "e2e": 0.05 + 0.02 * mi + rng.random() * 0.03,
                       "chunk_times": [], "first_reasoning": None, "first_answer": None}}
        metrics = {"acc": float(right)}
        if metric == "acc_norm":
            metrics["acc_norm"] = float(right if rng.random() < 0.9 else not right)
        extracted = "ABCD"[max(range(4), key=lambda k: lls[k])]
        reason = f"gold {gold}; loglikelihoods " + ", ".join(f"{x:.3f}" for x in lls)
    store.put_response(key, model, resp["kind"], {"item": item, "repeat": rep}, resp)
    store.put_sample(run_id, SampleRow(
        model=model, benchmark=bench, item_id=item, repeat=rep,
        group=groups[i % len(groups)] if groups else "", status="ok", metrics=metrics,
        extracted=extracted, reason=reason, extraction_failed=False, error=None,
        response_key=key, detail={"mode": mode}))


def _manifest(models: tuple[str, ...]) -> dict[str, Any]:
    benches = {}
    for bench, (n, reps, mode, _, _, _) in PLAN.items():
        benches[bench] = {
            "version": "1", "citation": "", "n_items": n, "fewshot": 0, "fewshot_seed": 1234,
            "sample_seed": 1234,
            "per_model": {m: {"mode": mode, "chat": mode == "generative", "repeats": reps,
                              "sampling": SAMPLING if mode == "generative" else None,
                              "template_hash": hashlib.sha256(bench.encode()).hexdigest()[:16]}
                          for m in models},
        }
    return {
        "tool": "shootout", "version": "0.1.0", "git_commit": "0123456789abcdef0123",
        "python": "3.11.2", "platform": "Linux-x86_64", "resumed": False,
        "models": {m: {"spec": f"openai:{m}", "model_id": m, "base_url": "http://127.0.0.1/v1"}
                   for m in models},
        "benchmarks": benches,
        "data_checksums": {f"{b}/test.jsonl": hashlib.sha256(b.encode()).hexdigest()
                           for b in PLAN},
        "data_dir": "/data",
    }
