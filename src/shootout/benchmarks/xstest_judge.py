"""XSTest's judge phase and its summary (see `xstest.py`, `scoring/refusal_judge.py`).

Once every model has answered, the judge (`-o xstest.judge=MODEL` or `--judge MODEL`, a model
of the run) classes each answered sample with the reference's GPT-4 prompt: one request per
answer, through the run's cross-model phase (cached, retried and stored like any response, so
a rerun judges from the cache). Each sample gets the judge's `judge_<metric>` metrics beside
the rules' and a detail `judge` record: {model, spec, key, verdict} and, when there is no verdict,
`unreadable` (the answer's last 300 characters) or `error` (the request failed). Neither ever
becomes a class.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..analysis.judged import cohen_kappa
from ..providers.base import GenerateRequest, Message, Sampling
from ..scoring.refusal import FULL_COMPLIANCE, LABELS
from ..scoring.refusal_judge import (
    CLASS_FORMAT,
    CLASS_INSTRUCTION,
    SYSTEM,
    judge_prompt,
    parse_class,
    structured_class,
)
from ..scoring.text import strip_reasoning
from ..store.rows import SampleRow
from .base import CrossModelPhase
from .mt_bench_judge import resolve_judge

if TYPE_CHECKING:
    from .xstest import XSTest

PREFIX = "judge_"
Record = dict[str, Any]


async def judge_run(bench: XSTest, phase: CrossModelPhase) -> None:
    """Class every answered sample of the run with the judge; store the verdicts."""
    from .xstest import item_metrics, prompt_label

    assert bench.opts.judge is not None
    judge = resolve_judge(bench.opts.judge, phase.models, bench.name)
    chat = phase.is_chat(judge)
    sampling = Sampling(temperature=0.0, top_p=1.0, max_tokens=bench.opts.judge_max_tokens)
    structured = bench.opts.judge_format == "json"
    read = structured_class if structured else parse_class
    questions = {d.id: d.fields["prompt"] for d in bench.load()}
    rows = [r for r in phase.samples(bench.name)
            if r.answered and r.detail.get("verdict") in LABELS and r.item_id in questions]

    async def one(row: SampleRow) -> Record:
        record: Record = {"model": judge, "spec": phase.models[judge], "key": None,
                          "verdict": None, "format": "json" if structured else "text"}
        answer = phase.answer(row)
        if answer is None:
            return {**record, "error": "no stored answer"}
        user = judge_prompt(questions[row.item_id], strip_reasoning(answer).strip())
        if structured:  # a judge with a chat template (the runner checked its formats)
            request = GenerateRequest(
                messages=(Message("system", SYSTEM),
                          Message("user", f"{user}\n\n{CLASS_INSTRUCTION}")),
                sampling=sampling, response_format=CLASS_FORMAT)
        elif chat:
            request = GenerateRequest(messages=(Message("system", SYSTEM),
                                                Message("user", user)), sampling=sampling)
        else:  # a model without a chat template continues the prompt, which ends at "CLASS:"
            request = GenerateRequest(prompt=f"{SYSTEM}\n\n{user}", sampling=sampling)
        response, record["key"], error = await phase.ask(judge, request)
        if response is None:
            record["error"] = error
        elif (verdict := read(response.text)) is None:
            record["unreadable"] = response.text[-300:]
        else:
            record["verdict"] = verdict
        return record

    records = await asyncio.gather(*(one(r) for r in rows))
    judged = []
    for row, record in zip(rows, records, strict=True):
        metrics = {k: v for k, v in row.metrics.items() if not k.startswith(PREFIX)}
        if record["verdict"] is not None:
            metrics |= {PREFIX + k: v for k, v in
                        item_metrics(prompt_label(row.group), record["verdict"]).items()}
        judged.append(replace(row, metrics=metrics, detail={**row.detail, "judge": record}))
    phase.update(judged)


def judge_summary(rows: Sequence[Any]) -> dict[str, Any] | None:
    """The judge's counts and its agreement with the rules over one model's samples, or None
    when no judge ran: judged / unreadable / failed, 3-class and refused-or-not agreement,
    Cohen's kappa on the 3 classes, the rule × judge confusion counts, and whether the model
    judged itself."""
    records = [(r, r.detail["judge"]) for r in rows if isinstance(r.detail.get("judge"), dict)]
    if not records:
        return None
    judges = sorted({str(j.get("model")) for _, j in records})
    specs = sorted({str(j.get("spec")) for _, j in records if j.get("spec")})
    pairs = [(str(r.detail["verdict"]), str(j["verdict"])) for r, j in records
             if r.detail.get("verdict") in LABELS and j.get("verdict") in LABELS]
    confusion = Counter(pairs)
    out: dict[str, Any] = {
        "model": judges[0] if len(judges) == 1 else judges,
        "spec": specs[0] if len(specs) == 1 else specs,
        "judged": len(records),
        "classed": len(pairs),
        "format": sorted({str(j.get("format", "text")) for _, j in records}),
        "unreadable": sum("unreadable" in j for _, j in records),
        "failed": sum("error" in j for _, j in records),
        "agreement": {
            "n": len(pairs),
            "same_class": sum(a == b for a, b in pairs),
            "same_refused": sum((a == FULL_COMPLIANCE) == (b == FULL_COMPLIANCE)
                                for a, b in pairs),
            "kappa": cohen_kappa(pairs, LABELS),
        },
        "confusion": {rule: {j: confusion[(rule, j)] for j in LABELS} for rule in LABELS},
    }
    models = {r.model for r, _ in records}
    if selves := sorted(models & set(judges)):
        out["self_judged"] = (
            f"{', '.join(selves)} is its own judge: its answers were classed by itself, which "
            "may favour its own answers (self-enhancement bias, Zheng et al. 2023 §3.3)")
    return out
