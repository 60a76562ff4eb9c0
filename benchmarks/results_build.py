"""Time of building a run's results and its report, on the synthetic sample run scaled up.

    .venv/bin/python benchmarks/results_build.py [--scale 10] [--repeats 3]

Builds `shootout.report.sample_data`'s run (3 models, 7 benchmarks) with `--scale` times its
items in a temporary store, then prints the best of `--repeats` in-process times (imports
excluded) of the results JSON (`cli.results.results_payload`) and of the Markdown report
(`report.build.build_report` + `render_markdown`, no charts), and how often each benchmark's
`aggregate` ran per build (one per model: issue 13).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shootout.benchmarks import REGISTRY
from shootout.cli.results import results_payload
from shootout.report import sample_data
from shootout.report.build import build_report
from shootout.report.markdown import render_markdown


def count_aggregates() -> Counter[str]:
    calls: Counter[str] = Counter()
    for cls in {*REGISTRY.values()}:
        original = cls.aggregate.__func__  # type: ignore[attr-defined]

        def counted(c: Any, rows: Any, _orig: Any = original) -> Any:
            calls[c.name] += 1
            return _orig(c, rows)

        cls.aggregate = classmethod(counted)  # type: ignore[method-assign,assignment]
    return calls


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sample_data.PLAN = {b: (n * args.scale, *rest) for b, (n, *rest) in sample_data.PLAN.items()}
    with tempfile.TemporaryDirectory() as tmp:
        store = sample_data.build_sample_store(Path(tmp) / "s.sqlite")
        run = sample_data.RUN_ID
        n = len(list(store.samples(run)))
        calls = count_aggregates()
        builds = {
            # rebuilt each time: without it the timed calls served the kept build
            "results JSON": lambda: results_payload(store, run, rebuild=True),
            "report (Markdown)": lambda: render_markdown(build_report(store, [run]), None,
                                                         charts=False),
        }
        print(f"{n:,} samples, 3 models x {len(sample_data.PLAN)} benchmarks")
        for name, fn in builds.items():
            calls.clear()
            fn()
            per_build = sorted(set(calls.values()))
            print(f"{name:18} {best(fn, args.repeats):6.2f} s   aggregate calls per benchmark "
                  f"per build: {per_build} (3 models)")


if __name__ == "__main__":
    main()
