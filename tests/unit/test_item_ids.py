"""Every benchmark's full data: item ids are unique and the item count is the documented one.

Samples are stored under (run, model, benchmark, item id, repeat): two items sharing an id
overwrite each other, shrink `n` and pair different questions in paired tests (HellaSwag's
`ind` did this to 433 items). The counts are the record counts of shared/data/SOURCES.md and
of the papers, written here independently of each benchmark's own `expected_count`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from shootout.benchmarks import REGISTRY
from shootout.data import DataDir

DOCUMENTED_COUNTS = {
    "mmlu": 14042,
    "arc_challenge": 1172,
    "arc_easy": 2376,
    "hellaswag": 10042,
    "winogrande": 1267,
    "truthfulqa_mc1": 817,
    "truthfulqa_mc2": 817,
    "gsm8k": 1319,
    "math500": 500,
    "math": 5000,
    "humaneval": 164,
    "mbpp": 500,  # test split, task_id 11-510
    "multipl_e": 161 + 154 + 158 + 161 + 156 + 159,  # cpp, go, java, js, rs, ts
    "humanevalfix": 155,  # the HumanEval problems with a stored bug (docs/coding.md)
    "translation_zh_en": 1012,
    "translation_en_zh": 1012,
    "wmt22_zh_en": 1875,
    "wmt22_en_zh": 2037,
    "wmt23_zh_en": 1976,
    "wmt23_en_zh": 2074,
    "cmmlu": 11582,
    "bfcl": 1240,
    "piqa": 1838,
    "boolq": 3270,
    "triviaqa": 7993,
    "mmlu_pro": 12032,
    "bbh": 6511,
    "mgsm": 2750,
    "ifeval": 541,
    "mt_bench": 80,  # two turns each (FastChat llm_judge/data/mt_bench)
    "structured": 120,  # built from gsm8k, mmlu and boolq items (benchmarks/structured_tasks.py)
    "xstest": 450,  # 250 safe prompts, 200 unsafe contrasts
}

# needle's items are a grid built from options (lengths x depths x trials), not a data file
GRID_BENCHMARKS = {"needle"}


def test_every_benchmark_has_a_documented_count():
    assert set(REGISTRY) - GRID_BENCHMARKS == set(DOCUMENTED_COUNTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTED_COUNTS))
def test_item_ids_are_unique_and_n_is_the_documented_count(name, data_dir):
    docs = REGISTRY[name](data=DataDir(data_dir)).load()
    repeated = {i: c for i, c in Counter(d.id for d in docs).items() if c > 1}
    assert not repeated, f"{name}: {len(repeated)} ids shared by several items, e.g. " + ", ".join(
        list(repeated)[:5]
    )
    assert len(docs) == DOCUMENTED_COUNTS[name]


def test_needle_grid_ids_are_unique(data_dir):
    bench = REGISTRY["needle"](
        data=DataDir(data_dir),
        options={"lengths": "1k,2k,4k", "depths": "0,12.5,25,50,100", "trials": 3},
    )
    ids = [d.id for d in bench.load()]
    assert len(ids) == 3 * 5 * 3
    assert len(set(ids)) == len(ids)
