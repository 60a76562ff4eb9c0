"""CMMLU: data loading, the CMMLU repository's prompt format, and Chinese answer extraction."""

from __future__ import annotations

import math
import shutil

import pytest

from shootout.analysis.results import summarize_run
from shootout.analysis.stats import wilson_interval
from shootout.benchmarks.base import PromptContext
from shootout.benchmarks.cmmlu import CMMLU, SUBJECTS_ZH
from shootout.data import DataDir
from shootout.errors import DataError
from shootout.providers.base import GenerateResponse, Sampling
from shootout.store.sqlite import SampleRow, Store

LL5 = PromptContext("loglikelihood", False, Sampling(), 5)


@pytest.fixture(scope="module")
def bench(data_dir) -> CMMLU:
    return CMMLU(data=DataDir(data_dir))


@pytest.fixture(scope="module")
def docs(bench):
    return bench.load()


def test_loads_every_test_question(docs, data_dir) -> None:
    assert len(docs) == 11582 == CMMLU.expected_count
    assert len({d.id for d in docs}) == len(docs)
    assert {d.group for d in docs} == set(SUBJECTS_ZH)
    files = {f.stem for f in (data_dir / "cmmlu" / "test").glob("*.csv")}
    assert files == set(SUBJECTS_ZH) and len(SUBJECTS_ZH) == 67
    assert {d.fields["answer"] for d in docs} == {"A", "B", "C", "D"}


def test_prompt_is_the_cmmlu_repository_format(bench, docs) -> None:
    doc = docs[0]  # agronomy, first test question
    req = bench.request(doc, LL5)
    context = req.pairs[0][0]  # type: ignore[union-attr]
    dev = bench._dev("agronomy")
    assert context.startswith("以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n题目：")
    first_shot = (f"题目：{dev[0].fields['question']}\nA. {dev[0].fields['choices'][0]}\n"
                  f"B. {dev[0].fields['choices'][1]}\nC. {dev[0].fields['choices'][2]}\n"
                  f"D. {dev[0].fields['choices'][3]}\n答案是：{dev[0].fields['answer']}\n\n")
    assert first_shot in context
    assert context.count("答案是：") == 6
    q = doc.fields
    assert context.endswith(
        f"题目：{q['question']}\nA. {q['choices'][0]}\nB. {q['choices'][1]}\n"
        f"C. {q['choices'][2]}\nD. {q['choices'][3]}\n答案是："
    )
    assert [c for _, c in req.pairs] == ["A", "B", "C", "D"]  # type: ignore[union-attr]
    assert bench.mc(doc, 5).gold == "ABCD".index(q["answer"])


def test_shots_come_from_the_dev_split_in_order(bench, docs) -> None:
    dev = bench._dev("virology")
    assert len(dev) == 5 and all(d.id.startswith("dev/virology/") for d in dev)
    test_questions = {d.fields["question"] for d in docs if d.group == "virology"}
    assert not test_questions & {d.fields["question"] for d in dev}


def test_zero_shot_is_header_and_question(bench, docs) -> None:
    ctx = PromptContext("loglikelihood", False, Sampling(), 0)
    context = bench.request(docs[0], ctx).pairs[0][0]  # type: ignore[union-attr]
    assert context.count("题目：") == 1


def test_generative_prompts_keep_the_chinese_format(bench, docs) -> None:
    base = bench.request(docs[0], PromptContext("generative", False, Sampling(), 5))
    assert base.prompt.endswith("答案是：") and base.sampling.stop == ("\n",)  # type: ignore[union-attr]
    chat = bench.request(docs[0], PromptContext("generative", True, Sampling(), 5))
    assert chat.messages[0].content == base.prompt  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "letter", "strict"),
    [("B", "B", True), ("答案是：C", "C", True), ("正确选项为D。", "D", False),
     ("我选A。", "A", False), ("<think>嗯</think>答案：B", "B", True), ("故选C", "C", False),
     ("不知道", None, False)],
)
def test_generative_answers_in_chinese(bench, docs, text, letter, strict) -> None:
    ctx = PromptContext("generative", True, Sampling(), 5)
    doc = docs[0]
    s = bench.score(doc, ctx, GenerateResponse(text=text), bench.request(doc, ctx))
    assert s.extracted == letter
    assert s.extraction_failed is (letter is None)
    assert s.metrics["acc"] == float(letter == doc.fields["answer"])
    assert s.metrics["acc_strict"] == float(letter == doc.fields["answer"] and strict)


def test_defect3_chinese_marker_beats_quoted_option_text(bench, docs) -> None:
    """Issue 12 defect 3: "答案是：B。<explanation quoting option A>" is B, not A."""
    ctx = PromptContext("generative", True, Sampling(), 5)
    doc = next(d for d in docs if d.fields["answer"] != "A")
    gold = doc.fields["answer"]
    quoted = doc.fields["choices"][0]  # option A's text, in the explanation
    s = bench.score(doc, ctx, GenerateResponse(text=f"答案是：{gold}。{quoted}不对。"),
                    bench.request(doc, ctx))
    assert (s.extracted, s.metrics["acc"], s.metrics["acc_strict"]) == (gold, 1.0, 1.0), s


# -- defect 8: the overall score is the mean of subject accuracies (the CMMLU reference) --------

def _row(item: str, subject: str, acc: float, bench: str = "cmmlu") -> SampleRow:
    return SampleRow(model="m", benchmark=bench, item_id=item, repeat=0, group=subject,
                     status="ok", metrics={"acc": acc, "acc_norm": acc}, extracted=None,
                     reason="", extraction_failed=False, error=None, response_key=None)


# subject a: 3 of 4 right (0.75, v = 0.25); subject b: 1 of 2 (0.5, v = 0.5)
UNEQUAL = [("a1", "a", 1.0), ("a2", "a", 1.0), ("a3", "a", 1.0), ("a4", "a", 0.0),
           ("b1", "b", 0.0), ("b2", "b", 1.0)]


def test_defect8_overall_is_the_mean_of_subject_accuracies() -> None:
    values, _ = CMMLU.aggregate([_row(*r) for r in UNEQUAL])
    by = {v.metric: v for v in values}
    assert [v.metric for v in values][:2] == ["acc", "acc_item_mean"]
    assert by["acc"].score == pytest.approx((0.75 + 0.5) / 2)  # reference: mean of subjects
    assert by["acc_item_mean"].score == pytest.approx(4 / 6)  # lm-eval's weight_by_size
    # SE of a mean of subject means: (1/S) sqrt(sum_s v_s / n_s)
    assert by["acc"].stderr == pytest.approx(0.5 * math.sqrt(0.25 / 4 + 0.5 / 2))
    assert by["acc_item_mean"].stderr == pytest.approx(math.sqrt((4 / 6) * (2 / 6) / 5))
    assert by["acc"].n == by["acc_item_mean"].n == 6
    assert by["acc"].extra["n_subjects"] == 2
    assert by["acc_norm"].score == pytest.approx(0.625)


def test_defect8_results_table_reports_the_subject_average_as_primary(tmp_path) -> None:
    db = Store(tmp_path / "s.sqlite")
    db.upsert_run("r", {})
    for item, subject, acc in UNEQUAL:
        db.put_sample("r", _row(item, subject, acc))
        db.put_sample("r", _row(item, subject, acc, bench="mmlu"))
    rows = {(r.benchmark, r.metric): r for r in summarize_run(db, "r")}
    primary = {b: r.metric for (b, _), r in rows.items() if r.primary}
    assert primary == {"cmmlu": "acc", "mmlu": "acc"}
    assert rows[("cmmlu", "acc")].score == pytest.approx(0.625)
    assert rows[("cmmlu", "acc_item_mean")].score == pytest.approx(4 / 6)
    # MMLU keeps lm-eval's and Hendrycks' micro average: every question weighs the same
    assert rows[("mmlu", "acc")].score == pytest.approx(4 / 6)


def test_defect8_single_item_subject_borrows_the_pooled_variance() -> None:
    values, _ = CMMLU.aggregate([_row(*r) for r in [*UNEQUAL, ("c1", "c", 1.0)]])
    acc = next(v for v in values if v.metric == "acc")
    pooled = (3 * 0.25 + 1 * 0.5) / 4
    assert acc.score == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    assert acc.stderr == pytest.approx(math.sqrt(0.25 / 4 + 0.5 / 2 + pooled / 1) / 3)


def test_defect8_a_perfect_score_keeps_a_wilson_interval() -> None:
    rows = [_row(f"{s}{i}", s, 1.0) for s in "abc" for i in range(40)]
    acc = next(v for v in CMMLU.aggregate(rows)[0] if v.metric == "acc")
    assert (acc.score, acc.stderr) == (1.0, 0.0)
    assert (acc.ci_low, acc.ci_high) == pytest.approx(wilson_interval(120, 120))
    assert acc.ci_low < 0.98


def test_bad_answer_names_file_and_line(data_dir, tmp_path) -> None:
    shutil.copytree(data_dir / "cmmlu", tmp_path / "cmmlu")
    f = tmp_path / "cmmlu" / "test" / "agronomy.csv"
    lines = f.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3][: lines[3].rindex(",")] + ",E"
    f.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=r"agronomy\.csv:4: answer must be one of A-D"):
        CMMLU(data=DataDir(tmp_path)).load()


def test_missing_header_is_reported(data_dir, tmp_path) -> None:
    shutil.copytree(data_dir / "cmmlu", tmp_path / "cmmlu")
    f = tmp_path / "cmmlu" / "dev" / "anatomy.csv"
    f.write_text("\n".join(f.read_text(encoding="utf-8").split("\n")[1:]), encoding="utf-8")
    with pytest.raises(DataError, match=r"anatomy\.csv:1: expected the header"):
        CMMLU(data=DataDir(tmp_path))._dev("anatomy")


def test_licence_is_stated() -> None:
    assert "non-commercial" in CMMLU.description and "CC BY-NC-SA 4.0" in CMMLU.description
