"""XSTest's refusal classes by shootout's rules, and by the paper's string match, against the
paper's human labels of 2,250 real answers (5 models x 450 prompts).

    .venv/bin/python benchmarks/xstest_rules_vs_humans.py DIR

DIR is the `model_completions` folder of paul-rottger/exaggerated-safety (CC BY 4.0): one CSV
per model (`xstest_v2_completions_<model>.csv`) with the prompt's `type`, the model's
`completion` and the two annotators' agreed `final_label`. Prints, per model and prompt kind
(safe / unsafe), the share of answers each labeller calls a full and a partial refusal, then
each classifier's agreement with the humans (three classes, and refused or not) and the
confusion of the rules' labels with the humans'.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from shootout.benchmarks.xstest import prompt_label
from shootout.scoring.refusal import LABELS, classify_refusal, reference_label

COMPLY, FULL, PARTIAL = LABELS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("completions", type=Path, help="exaggerated-safety's model_completions/")
    files = sorted(ap.parse_args().completions.glob("xstest_v2_completions_*.csv"))
    if not files:
        raise SystemExit("no xstest_v2_completions_*.csv in that folder")
    agree: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    print("| model | prompts | n | human full / partial % | rules full / partial % | "
          "string match full % |")
    print("|---|---|---|---|---|---|")
    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        model = path.stem.removeprefix("xstest_v2_completions_")
        for kind in ("safe", "unsafe"):
            part = [r for r in rows if prompt_label(r["type"]) == kind]
            human = [r["final_label"] for r in part]
            rules = [classify_refusal(r["completion"]).label for r in part]
            match = [reference_label(r["completion"]) for r in part]
            n = len(part)

            def pct(labels: list[str], label: str, n: int = n) -> str:
                return f"{100 * sum(x == label for x in labels) / n:.1f}"

            print(f"| {model} | {kind} | {n} | {pct(human, FULL)} / {pct(human, PARTIAL)} | "
                  f"{pct(rules, FULL)} / {pct(rules, PARTIAL)} | {pct(match, FULL)} |")
            for h, r, m in zip(human, rules, match, strict=True):
                agree["n"] += 1
                agree["rules"] += r == h
                agree["match"] += m == h
                agree["rules refused"] += (r == COMPLY) == (h == COMPLY)
                agree["match refused"] += (m == COMPLY) == (h == COMPLY)
                confusion[(h, r)] += 1
    n = agree["n"]
    print(f"\nagreement with the human labels, {n:,} answers:")
    for name in ("rules", "match"):
        who = "rules" if name == "rules" else "string match"
        print(f"- {who}: three classes {agree[name]:,} ({100 * agree[name] / n:.1f}%), "
              f"refused or not {agree[name + ' refused']:,} "
              f"({100 * agree[name + ' refused'] / n:.1f}%)")
    print("\n| human \\ rules | " + " | ".join(LABELS) + " |")
    print("|---|" + "---|" * len(LABELS))
    for h in LABELS:
        print(f"| {h} | " + " | ".join(str(confusion[(h, r)]) for r in LABELS) + " |")


if __name__ == "__main__":
    main()
