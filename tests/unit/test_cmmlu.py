"""CMMLU: data loading, the CMMLU repository's prompt format, and Chinese answer extraction."""

from __future__ import annotations

import shutil

import pytest

from shootout.benchmarks.base import PromptContext
from shootout.benchmarks.cmmlu import CMMLU, SUBJECTS_ZH, extract_chinese_answer
from shootout.data import DataDir
from shootout.errors import DataError
from shootout.providers.base import GenerateResponse, Sampling

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
    ("text", "letter"),
    [("B", "B"), ("答案是：C", "C"), ("正确选项为D。", "D"), ("我选A。", "A"),
     ("<think>嗯</think>答案：B", "B"), ("不知道", None)],
)
def test_generative_answers_in_chinese(bench, docs, text, letter) -> None:
    ctx = PromptContext("generative", True, Sampling(), 5)
    doc = docs[0]
    s = bench.score(doc, ctx, GenerateResponse(text=text))
    assert s.extracted == letter
    assert s.extraction_failed is (letter is None)
    assert s.metrics["acc"] == float(letter == doc.fields["answer"])


def test_explicit_chinese_answer_is_strict() -> None:
    assert extract_chinese_answer("答案是：B") == ("B", True)
    assert extract_chinese_answer("故选C") == ("C", False)


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
