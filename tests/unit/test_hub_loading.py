"""The Hugging Face hub path, checked against the local files.

The hub cannot be reached here, so `FakeDatasets` stands in for the `datasets` package: it serves
the local data re-shaped exactly as the hub's dataset cards describe each split. Each benchmark
must then load the same questions, choices and answers from either source.
"""

from __future__ import annotations

import gzip
import json
import sys
import types
from collections import defaultdict

import pytest

from shootout.benchmarks import REGISTRY
from shootout.data import DataDir
from shootout.errors import DataError


def _mmlu(data_dir, split):
    import csv

    rows = []
    for f in sorted((data_dir / "mmlu" / split).glob("*.csv")):
        subject = f.name.rsplit("_", 1)[0]
        with f.open(encoding="utf-8", newline="") as fh:
            for q, a, b, c, d, ans in csv.reader(fh):
                rows.append({"question": q, "subject": subject, "choices": [a, b, c, d],
                             "answer": "ABCD".index(ans)})
    return rows


def _arc(data_dir, name):
    sub = "arc_challenge" if name == "ARC-Challenge" else "arc_easy"
    path = data_dir / "arc" / sub / "test_rc_5shot" / "requests.jsonl.gz"
    seen, rows = set(), []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["doc_id"] >= 1_000_000 or r["native_id"] in seen:
                continue
            seen.add(r["native_id"])
            d = r["doc"]
            labels = list("ABCDE"[: len(d["choices"])])
            rows.append({"id": r["native_id"],
                         "question": d["query"].removeprefix("Question: ").removesuffix(
                             "\nAnswer:"),
                         "choices": {"text": d["choices"], "label": labels},
                         "answerKey": labels[d["gold"]]})
    return rows


def _truthfulqa(data_dir):
    recs = json.loads((data_dir / "truthfulqa" / "v1" / "mc_task.json").read_text())
    return [{"question": r["question"],
             **{k: {"choices": list(r[k]), "labels": list(r[k].values())}
                for k in ("mc1_targets", "mc2_targets")}} for r in recs]


def _jsonl(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


class FakeDatasets(types.ModuleType):
    """Serves hub-shaped rows built from the local data directory."""

    def __init__(self, data_dir):
        super().__init__("datasets")
        self.data_dir = data_dir
        self.calls = []

    def load_dataset(self, path, name=None, split=None):
        self.calls.append((path, name, split))
        d = self.data_dir
        table = {
            ("cais/mmlu", "all", "test"): lambda: _mmlu(d, "test"),
            ("cais/mmlu", "all", "dev"): lambda: _mmlu(d, "dev"),
            ("allenai/ai2_arc", "ARC-Challenge", "test"): lambda: _arc(d, "ARC-Challenge"),
            ("allenai/ai2_arc", "ARC-Easy", "test"): lambda: _arc(d, "ARC-Easy"),
            ("Rowan/hellaswag", None, "validation"): lambda: _jsonl(
                d / "hellaswag" / "hellaswag_val.jsonl.gz"),
            ("allenai/winogrande", "winogrande_xl", "validation"): lambda: _jsonl(
                d / "winogrande" / "dev.jsonl"),
            ("truthfulqa/truthful_qa", "multiple_choice", "validation"): lambda: _truthfulqa(d),
            ("openai/gsm8k", "main", "test"): lambda: _jsonl(d / "gsm8k" / "test.jsonl"),
            ("HuggingFaceH4/MATH-500", None, "test"): lambda: _jsonl(d / "math500" / "test.jsonl"),
            ("openai/openai_humaneval", None, "test"): lambda: _jsonl(
                d / "humaneval" / "HumanEval.jsonl.gz"),
        }
        if (path, name, split) not in table:
            raise FileNotFoundError(f"FakeDatasets has no {path}/{name}/{split}")
        return table[(path, name, split)]()


HUB_BENCHMARKS = ["mmlu", "arc_challenge", "arc_easy", "hellaswag", "winogrande",
                  "truthfulqa_mc1", "truthfulqa_mc2", "gsm8k", "math500", "humaneval"]


def _view(doc):
    """What must agree between sources: everything but the item id."""
    return json.dumps({"fields": doc.fields, "group": doc.group}, sort_keys=True, default=str)


@pytest.mark.parametrize("name", HUB_BENCHMARKS)
def test_hub_path_loads_the_same_items(name, data_dir, monkeypatch):
    fake = FakeDatasets(data_dir)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    local = REGISTRY[name](data=DataDir(data_dir)).load()
    hub = REGISTRY[name](data=DataDir(None)).load()
    assert fake.calls, "the hub path was not used"
    assert len(hub) == len(local)
    # same multiset of items (hub order may differ, e.g. MMLU subjects)
    counts = defaultdict(int)
    for d in local:
        counts[_view(d)] += 1
    for d in hub:
        counts[_view(d)] -= 1
    assert not [k for k, v in counts.items() if v], "hub and local items differ"


def test_hub_failure_is_one_clear_line(monkeypatch):
    fake = types.ModuleType("datasets")

    def boom(*a, **k):
        raise ConnectionError("Couldn't reach 'cais/mmlu' on the Hub (LocalEntryNotFoundError)\n"
                              "second line")

    fake.load_dataset = boom  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", fake)
    with pytest.raises(DataError) as e:
        REGISTRY["mmlu"](data=DataDir(None)).load()
    assert "\n" not in str(e.value) and "SHOOTOUT_DATA" in str(e.value)


@pytest.mark.parametrize("name", ["mmlu", "arc_easy", "gsm8k"])
def test_hub_path_renders_the_same_prompts(name, data_dir, monkeypatch):
    from shootout.benchmarks import PromptContext
    from shootout.providers.base import Sampling

    monkeypatch.setitem(sys.modules, "datasets", FakeDatasets(data_dir))
    cls = REGISTRY[name]
    local_b, hub_b = cls(data=DataDir(data_dir)), cls(data=DataDir(None))
    local, hub = local_b.load(), hub_b.load()
    by_view = {_view(d): d for d in hub}
    mode = cls.modes[0]
    ctx = PromptContext(mode, False, Sampling(), cls.default_fewshot)
    for doc in local[:: max(1, len(local) // 5)]:
        twin = by_view[_view(doc)]
        assert local_b.request(doc, ctx).to_dict() == hub_b.request(twin, ctx).to_dict()
