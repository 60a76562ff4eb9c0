"""Time of `shootout results` and `shootout report` on a run of realistic size: 10 models x 15
benchmarks x 3 repeats (issue 18, item 4: >= 500k samples, target <= 5 s each).

    .venv/bin/python benchmarks/results_scale.py [--items 370] [--repeats 1] [--keep PATH]
        [--out DIR] [--no-chunks]

The store is synthetic (`shootout.report.sample_data`, every sample scored by the real scorer):
`--base` items per benchmark are built that way, then copied in SQL (`item~k`, with their
responses under new keys and a seeded share of outcomes flipped) to `--items` per benchmark.
Benchmarks that sample_data has no layout for are written in the layout of one it has (the
multiple-choice ones as ARC, the generative ones as GSM8K under their own primary metric).
Each generative response streams one chunk per output token (60-139 chunk times, spread
between its TTFT and its end), as a real server's do; `--no-chunks` leaves them out (the
store before 2026-12-03, which understated a real run's build).
Prints the sample count, then the best of `--repeats` wall times of the commands run as a
user runs them: `python -m shootout results RUN --json --rebuild` (built from the samples, and
kept in the store), the same without `--rebuild` (served from the kept build),
`report RUN --md F --html F` with `--rebuild` (built from the samples, and kept) and without
(served from the kept report), the same report with the kept report dropped (built from the
report basis that the `--rebuild` kept, as a run's first report is: `report.basis`), and the
in-process build of the results JSON
(`results_payload(rebuild=True)`, imports excluded). `--out` keeps
what the commands wrote (results.json, r.md, r.html), to compare two versions' outputs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results_build import best  # this folder's script (run as a file)

from shootout.benchmarks import REGISTRY
from shootout.cli.results import results_payload
from shootout.report import sample_data
from shootout.store import Store

MODELS = tuple(f"model-{c}" for c in "abcdefghij")
MC = ("mmlu", "cmmlu", "arc_challenge", "arc_easy", "hellaswag", "winogrande",
      "truthfulqa_mc1", "piqa")
GEN = ("gsm8k", "humaneval", "math500", "mgsm", "bbh", "mmlu_pro", "triviaqa")
ACCS = tuple(0.35 + 0.05 * i for i in range(len(MODELS)))
CHUNKS = True  # `--no-chunks`: generative responses without chunk times (as before)


def _plan(base: int) -> None:
    plan: dict[str, Any] = {}
    for b in MC:
        metric = "acc" if b in ("mmlu", "cmmlu", "winogrande", "truthfulqa_mc1", "piqa") \
            else "acc_norm"
        groups = ("astronomy", "law", "virology") if b in ("mmlu", "cmmlu") else ()
        plan[b] = (base, 3, "loglikelihood", metric, groups, ACCS)
    for b in GEN:
        plan[b] = (base, 3, "generative", REGISTRY[b].primary_metric, (), ACCS)
    sample_data.PLAN = plan
    sample_data.FAILED = {}
    real_mc, real_gen = sample_data._mc_item, sample_data._generative

    def mc_item(bench: str, i: int, group: str) -> Any:
        layout = ("mmlu" if bench == "cmmlu" else
                  bench if bench in ("mmlu", "winogrande", "hellaswag", "truthfulqa_mc1")
                  else "arc_challenge")
        return real_mc(layout, i, group)

    def generative(bench: str, i: int, mi: int, right: bool, rng: random.Random,
                   model: str) -> Any:
        req, resp, score = real_gen("humaneval" if bench == "humaneval" else "gsm8k", i, mi,
                                    right, rng, model)
        if CHUNKS:  # one streamed chunk per output token, as a real server streams them
            t = resp["timing"]
            n = resp["usage"]["completion_tokens"]
            gaps = [0.5 + rng.random() for _ in range(n - 1)]
            scale, at = (t["e2e"] - t["ttft"]) / max(sum(gaps), 1e-9), t["ttft"]
            times = [at]
            for g in gaps:
                at += g * scale
                times.append(at)
            t["chunk_times"] = times
        if bench not in ("gsm8k", "humaneval"):
            score.metrics[REGISTRY[bench].primary_metric] = score.metrics.pop("acc")
        return req, resp, score

    sample_data._mc_item = mc_item  # type: ignore[assignment]
    sample_data._generative = generative  # type: ignore[assignment]


def build(path: Path, base: int, items: int, seed: int = 3) -> int:
    _plan(base)
    store = sample_data.build_sample_store(path, models=MODELS)
    store.close()
    db = sqlite3.connect(path)
    rng = random.Random(seed)
    with db:
        for k in range(1, -(-items // base)):
            flip = rng.randrange(1, 7)
            db.execute(
                "INSERT INTO responses SELECT key || ?, model, kind, request_json, response_json, "
                "created_at FROM responses WHERE key NOT LIKE '%~%'", (f"~{k}",))
            # the chunk times as the store writes them (bytes), not as its triggers copy them
            db.execute(
                "UPDATE response_lean SET chunks = (SELECT f.chunks FROM response_lean f "
                "WHERE f.key = substr(response_lean.key, 1, length(response_lean.key) - ?)) "
                "WHERE key LIKE ?", (len(f"~{k}"), f"%~{k}"))
            # ... and their numbers, as the store writes them (`response_nums`)
            db.execute(
                "INSERT INTO response_nums SELECT key || ?, created_at, nums, chunks "
                "FROM response_nums WHERE key NOT LIKE '%~%'", (f"~{k}",))
            db.execute(
                "INSERT INTO samples SELECT run_id, model, benchmark, item_id || ?, repeat, "
                "item_group, response_key || ?, status, CASE WHEN (rowid % ?) = 0 THEN "
                "replace(replace(replace(metrics_json, '1.0', '2.0'), '0.0', '1.0'), '2.0', "
                "'0.0') ELSE metrics_json END, extracted, reason, extraction_failed, error, "
                "attempts, created_at, detail_json FROM samples WHERE item_id NOT LIKE '%~%'",
                (f"~{k}", f"~{k}", flip))
    n = int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    db.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--base", type=int, default=37)
    ap.add_argument("--items", type=int, default=370, help="items per benchmark")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="build the store here (kept; reused if there)")
    ap.add_argument("--out", type=Path, help="write the commands' outputs here (kept)")
    ap.add_argument("--no-chunks", action="store_true",
                    help="store generative responses without chunk times (the layout before)")
    args = ap.parse_args()
    global CHUNKS
    CHUNKS = not args.no_chunks
    # a store and outputs not asked to be kept are removed at the end (the 516k-sample store
    # is 4.6 GB: each run left one in the temporary folder)
    tmp = tempfile.mkdtemp()
    try:
        run_all(args, Path(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(args: argparse.Namespace, tmp: Path) -> None:
    path = args.keep or tmp / "s.sqlite"
    t = time.perf_counter()
    if path.exists():
        n = sqlite3.connect(path).execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        print(f"reusing {path}")
    else:
        n = build(path, args.base, args.items)
        print(f"built in {time.perf_counter() - t:.0f} s: {path}")
    print(f"{n:,} samples: {len(MODELS)} models x {len(MC) + len(GEN)} benchmarks x 3 repeats, "
          f"{os.cpu_count()} cores")
    run, py = sample_data.RUN_ID, sys.executable
    out = args.out or tmp / "report"
    out.mkdir(parents=True, exist_ok=True)
    results = [py, "-m", "shootout", "results", run, "--store", str(path), "--json"]
    report = [py, "-m", "shootout", "report", run, "--store", str(path), "--md",
              str(out / "r.md"), "--html", str(out / "r.html")]
    commands = {
        # built from the samples (and kept in the store), then served from the kept copy
        "shootout results --json --rebuild": [*results, "--rebuild"],
        "shootout results --json": results,
        "shootout report --md --html --rebuild": [*report, "--rebuild"],
        "shootout report --md --html": report,
    }
    # the first report after a run: from the report basis the run's end keeps (the kept
    # report dropped before each turn: `report.basis`)
    commands["shootout report --md --html (from the basis)"] = report
    for name, cmd in commands.items():
        def go(cmd: list[str] = cmd, fresh: bool = "basis" in name) -> None:
            if fresh:
                with sqlite3.connect(path) as db:
                    db.execute("DELETE FROM built_reports")
            stdout = out / ("results.json" if "--json" in cmd else "report.log")
            with open(stdout, "w") as f:
                subprocess.run(cmd, check=True, stdout=f)
        print(f"{name:46} {best(go, args.repeats):7.2f} s", flush=True)
    store = Store(path)
    try:
        print(f"{'results built in-process':46} "
              f"{best(lambda: results_payload(store, run, rebuild=True), args.repeats):7.2f} s")
    finally:
        store.close()


if __name__ == "__main__":
    main()
