"""A synthetic, deterministic stored run for tests and demos of the report (no model needed).

Three models (named after entries of the architecture table so that panel has data) on seven
benchmarks; whether an item is right is drawn from a seeded generator around fixed per-model
accuracies, so one difference is large (GSM8K) and most are within noise. Timestamps are fixed.

The samples are internally consistent: every stored request has the layout a benchmark of that
kind sends (with synthetic questions, labelled as such), and each score, extracted answer and
reason comes from the real scorer applied to the stored response. The option log-likelihoods
are chosen so that the drawn outcome holds for acc and acc_norm alike (the multiple-choice
scorer then computes both, the extracted letter and the reason, and building fails if it
disagrees with the draw); GSM8K outputs go through the GSM8K scorer. HumanEval is the
exception: its outcome is drawn (running the sandbox would make a demo need bwrap), with the
sandbox's reason and status. Two WinoGrande requests of one model fail after retries, as a
real run's can.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..benchmarks import REGISTRY
from ..benchmarks.base import Doc, ItemScore, PromptContext
from ..benchmarks.gsm8k import CHAT_TEMPLATE as GSM8K_CHAT
from ..benchmarks.humaneval import CHAT_TEMPLATE as HUMANEVAL_CHAT
from ..benchmarks.multiple_choice import MCQuestion, MultipleChoiceBenchmark
from ..config import PROTOCOL_DESCRIPTIONS
from ..data.files import DataDir
from ..providers.base import (
    ContinuationScore,
    GenerateRequest,
    GenerateResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Message,
    Sampling,
)
from ..scoring.code import extract_code
from ..store.sqlite import SampleRow, Store

RUN_ID = "r-sample000001"
CREATED = 1767225600.0  # 2026-01-01 00:00 UTC
MODELS = ("kimi-k2", "llama-3.1-70b", "mixtral-8x7b")
# benchmark -> (items, repeats, mode, compared metric, groups, accuracy per model)
PLAN: dict[str, tuple[int, int, str, str, tuple[str, ...], tuple[float, ...]]] = {
    "mmlu": (60, 1, "loglikelihood", "acc", ("astronomy", "law", "virology"), (0.78, 0.74, 0.62)),
    "arc_challenge": (50, 1, "loglikelihood", "acc_norm", (), (0.70, 0.68, 0.66)),
    "hellaswag": (50, 1, "loglikelihood", "acc_norm", (), (0.80, 0.82, 0.76)),
    "winogrande": (50, 1, "loglikelihood", "acc", (), (0.72, 0.70, 0.69)),
    "truthfulqa_mc1": (50, 1, "loglikelihood", "acc", (), (0.45, 0.40, 0.33)),
    "gsm8k": (40, 3, "generative", "acc", (), (0.88, 0.80, 0.45)),
    "humaneval": (30, 3, "generative", "pass@1", (), (0.70, 0.55, 0.35)),
}
# (model, benchmark) -> items whose request failed after retries
FAILED = {("llama-3.1-70b", "winogrande"): (48, 49)}
PRICES = {"kimi-k2": {"input_per_m": 0.6, "output_per_m": 2.5, "source": "sample"},
          "llama-3.1-70b": {"input_per_m": 0.9, "output_per_m": 0.9, "source": "sample"},
          "mixtral-8x7b": {"input_per_m": 0.24, "output_per_m": 0.24, "source": "sample"}}
SAMPLING = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 512, "stop": [], "seed": None}
_CHAT = PromptContext(mode="generative", chat=True, sampling=Sampling(0.7, 0.9, 512), fewshot=0)
# option texts of different lengths, so that acc (raw) and acc_norm (per character) can differ
_OPTIONS = {
    "arc_challenge": ("It stays the same.", "It slowly increases over many years.",
                      "It reverses.", "Nothing measurable happens in the short run."),
    "hellaswag": ("puts the tool back.", "starts sanding the edge of the board carefully.",
                  "waves.", "reads the instructions printed on the side of the box."),
    "truthfulqa_mc1": ("Nothing in particular happens.", "You will be cursed.",
                       "It brings seven years of bad luck to everyone nearby.", "You die."),
}


def build_sample_store(path: Path | str, *, models: tuple[str, ...] = MODELS,
                       run_id: str = RUN_ID, seed: int = 7) -> Store:
    store = Store(path)
    spec = {
        "models": [{"spec": f"openai:{m}", "name": m, "price": PRICES.get(m)} for m in models],
        "benchmarks": [{"name": b} for b in PLAN],
        "limit": None, "repeats": 3, "seed": 1234, "protocol": "seed",
        "sampling": {"temperature": None, "top_p": None, "max_tokens": None},
    }
    store.upsert_run(run_id, spec)
    rng = random.Random(seed)
    for mi, model in enumerate(models):
        for bench, (n, reps, _, _, _, accs) in PLAN.items():
            difficulty = random.Random(f"{bench}")  # the same item difficulties for every model
            for i in range(n):
                ease = difficulty.uniform(-0.25, 0.25)
                for rep in range(reps):
                    _put(store, run_id, rng, (model, mi), (bench, i, rep),
                         accs[mi % len(accs)] + ease)
    store.set_manifest(run_id, _manifest(models))
    store.set_run_status(run_id, "complete")
    store.set_run_times(run_id, CREATED, CREATED + 3723.0)
    return store


def _put(store: Store, run_id: str, rng: random.Random, who: tuple[str, int],
         where: tuple[str, int, int], p: float) -> None:
    """One sample: model `who` (name, index) on item `where` (benchmark, index, repeat),
    right with probability p."""
    (model, mi), (bench, i, rep) = who, where
    _, _, mode, metric, groups, _ = PLAN[bench]
    right = rng.random() < p
    item = f"{bench}/{i}"
    key = hashlib.sha256(f"{model}|{item}|{rep}".encode()).hexdigest()
    group = groups[i % len(groups)] if groups else ""
    req: GenerateRequest | LoglikelihoodRequest
    if mode == "generative":
        req, resp, score = _generative(bench, i, mi, right, rng, model)
    else:
        req, resp, score = _loglikelihood(bench, i, group, metric, right, rng, mi)
    failed = SampleRow(
        model=model, benchmark=bench, item_id=item, repeat=rep, group=group, status="failed",
        metrics={}, extracted=None, reason="", extraction_failed=False,
        error="after 5 attempts: HTTP 503 Service Unavailable", response_key=key)
    if i in FAILED.get((model, bench), ()):  # drawn all the same, so other cells do not move
        store.put_sample(run_id, failed)
        return
    store.put_response(key, model, resp["kind"], req.to_dict(), resp)
    store.put_sample(run_id, replace(
        failed, status="ok", metrics=dict(score.metrics), extracted=score.extracted,
        reason=score.reason, extraction_failed=score.extraction_failed, error=None,
        detail={"mode": mode, **score.detail}))


# --------------------------------------------------------------------------- log-likelihood


def _loglikelihood(bench: str, i: int, group: str, metric: str, right: bool,
                   rng: random.Random, mi: int
                   ) -> tuple[LoglikelihoodRequest, dict[str, Any], ItemScore]:
    q = _mc_item(bench, i, group)
    lls = [round(-rng.uniform(1, 9), 3) for _ in q.pairs]
    _fix_outcome(lls, q, right)
    resp = {"kind": "loglikelihood", "scores": [
        {"logprob": x, "is_greedy": False, "n_tokens": 3} for x in lls],
        "usage": {"prompt_tokens": 300, "completion_tokens": 0, "cached_tokens": 0,
                  "estimated": False},
        "timing": {"ttft": None, "e2e": 0.05 + 0.02 * mi + rng.random() * 0.03,
                   "chunk_times": [], "first_reasoning": None, "first_answer": None}}
    response = LoglikelihoodResponse(tuple(ContinuationScore(x, False, 3) for x in lls))
    scorer = REGISTRY[bench](data=DataDir(None))
    assert isinstance(scorer, MultipleChoiceBenchmark)
    score = scorer.score_loglikelihood(Doc(f"{bench}/{i}", {}), q, response)
    if score.metrics[metric] != float(right):  # the sample must say what it was built to say
        raise AssertionError(f"{bench}/{i}: {metric} is {score.metrics[metric]}, not {right}")
    return LoglikelihoodRequest(pairs=q.pairs), resp, score


def _fix_outcome(lls: list[float], q: MCQuestion, right: bool) -> None:
    """Move the gold option's log-likelihood so both acc (raw) and acc_norm (per character)
    pick it exactly when `right`: above every other option by both measures, or below them all.
    Keeping the two in agreement keeps the scorer's extracted letter (the raw argmax) in line
    with the compared metric, so every evidence row reads consistently. Log-likelihoods stay
    negative: the thresholds are scaled towards or away from zero."""
    g, size = q.gold, [max(len(c), 1) for c in q.choice_texts]
    others = [k for k in range(len(lls)) if k != g]
    raw_top, norm_top = max(lls[k] for k in others), max(lls[k] / size[k] for k in others)
    if right:
        lls[g] = round(0.7 * max(raw_top, norm_top * size[g]), 3)
    elif lls[g] >= raw_top or lls[g] / size[g] >= norm_top:
        low = min(min(lls[k] for k in others), min(lls[k] / size[k] for k in others) * size[g])
        lls[g] = round(1.3 * low, 3)


def _mc_item(bench: str, i: int, group: str) -> MCQuestion:
    """A synthetic item in the request layout of its benchmark."""
    if bench == "winogrande":  # partial scoring: the option fills the blank in the context
        opts: tuple[str, ...] = ("Alex", "Jordan")
        pre = f"(Synthetic sentence {i}) Alex lent Jordan a book because"
        pairs = tuple((f"{pre} {o}", " had already finished reading it.") for o in opts)
        return MCQuestion(pairs, tuple(c for _, c in pairs), i % 2, pre + " _ had already "
                          "finished reading it.", opts)
    if bench == "mmlu":  # the options are in the context; the continuations are letters
        opts = tuple(f"Statement {k + 1} about {group}" for k in range(4))
        text = f"Synthetic {group} question {i}: which statement is the keyed answer?"
        lines = [text, *(f"{L}. {o}" for L, o in zip("ABCD", opts, strict=True)), "Answer:"]
        ctx = (f"The following are multiple choice questions (with answers) about {group}.\n\n"
               + "\n".join(lines))
        pairs = tuple((ctx, f" {L}") for L in "ABCD")
        return MCQuestion(pairs, tuple(c for _, c in pairs), i % 4, text, opts)
    opts = tuple(_OPTIONS[bench][(k + i) % 4] for k in range(4))
    ctx = {"arc_challenge": f"Question: Synthetic science question {i}: what happens to the "
                            "measured quantity?\nAnswer:",
           "hellaswag": f"Synthetic activity {i}: A person picks up a tool. They",
           "truthfulqa_mc1": f"Q: Synthetic misconception question {i}: what happens if you "
                             "break a mirror?\nA:"}[bench]
    pairs = tuple((ctx, f" {o}") for o in opts)
    return MCQuestion(pairs, tuple(c for _, c in pairs), i % 4, ctx, opts)


# --------------------------------------------------------------------------- generative


def _generative(bench: str, i: int, mi: int, right: bool, rng: random.Random, model: str
                ) -> tuple[GenerateRequest, dict[str, Any], ItemScore]:
    if bench == "gsm8k":
        req, text, score = _gsm8k(i, mi, right, rng)
    else:
        req, text, score = _humaneval(i, mi, right)
    ttft = 0.15 + 0.1 * mi + rng.random() * 0.2
    toks = 60 + rng.randrange(80)
    resp: dict[str, Any] = {
        "kind": "generate", "text": text, "reasoning": None, "finish_reason": "stop",
        "usage": {"prompt_tokens": 200, "completion_tokens": toks, "cached_tokens": 0,
                  "estimated": False},
        "timing": {"ttft": ttft, "e2e": ttft + toks / (40.0 + 15 * mi),
                   "chunk_times": [], "first_reasoning": None, "first_answer": None},
        "model_reported": model}
    return req, resp, score


def _chat(text: str) -> GenerateRequest:
    return GenerateRequest(messages=(Message("user", text),), sampling=_CHAT.sampling)


def _gsm8k(i: int, mi: int, right: bool, rng: random.Random
           ) -> tuple[GenerateRequest, str, ItemScore]:
    gold = i * 7
    question = (f"(Synthetic problem {i}) A farmer packs {i} boxes of 7 eggs each. How many "
                "eggs does the farmer pack?")
    answer = gold if right else gold + 1 + mi
    # most answers follow the requested format; one that does not is wrong (simple-evals'
    # scoring reads the number after "Answer")
    if rng.random() < 0.9 or right:
        text = f"{i} boxes times 7 eggs.\nAnswer: {answer}"
    else:
        text = f"{i} boxes times 7 eggs, so the farmer packs {answer} eggs."
    scorer = REGISTRY["gsm8k"](data=DataDir(None))
    doc = Doc(f"gsm8k/{i}", {"question": question, "gold": str(gold)})
    request = _chat(GSM8K_CHAT.format(question=question))
    score = scorer.score(doc, _CHAT, GenerateResponse(text), request)
    if score.metrics["acc"] != float(right):
        raise AssertionError(f"gsm8k/{i}: the scorer disagrees with the drawn outcome")
    return request, text, score


def _humaneval(i: int, mi: int, right: bool) -> tuple[GenerateRequest, str, ItemScore]:
    name = f"add_{i}"
    prompt = (f"def {name}(x: int) -> int:\n    \"\"\"Return x plus {i}.\n"
              f"    >>> {name}(1)\n    {i + 1}\n    \"\"\"\n")
    body = f"    return x + {i}\n" if right else f"    return x + {i + 1 + mi}\n"
    text = f"```python\n{prompt}{body}```"
    status = "ok" if right else "failed"
    score = ItemScore(
        metrics={"pass@1": float(right)},
        extracted=extract_code(text, prompt, name, chat=True),
        reason="all tests passed" if right else "failed: exited 1: AssertionError",
        detail={"status": status, "stderr_tail": "" if right else "AssertionError",
                "duration": 0.05},
    )
    return _chat(HUMANEVAL_CHAT.format(prompt=prompt)), text, score


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
        "protocol": {"name": "seed", "description": PROTOCOL_DESCRIPTIONS["seed"]},
        "tool": "shootout", "version": "0.1.0", "git_commit": "0123456789abcdef0123",
        "python": "3.11.2", "platform": "Linux-x86_64", "resumed": False,
        "models": {m: {"spec": f"openai:{m}", "model_id": m, "base_url": "http://127.0.0.1/v1"}
                   for m in models},
        "benchmarks": benches,
        # files of its own (its items are made up): a real data file's path with a made-up
        # sha256 would refuse an export's gold column (the run "read" another file)
        "data_checksums": {f"sample/{b}.jsonl": hashlib.sha256(b.encode()).hexdigest()
                           for b in PLAN},
        "data_dir": "/data",
    }
