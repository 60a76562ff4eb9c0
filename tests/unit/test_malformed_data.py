"""A data file whose records have a field of the wrong type (null, a number where text
belongs) or missing: one line naming the file (and line, where the loader knows it) and exit 3,
never an internal error, and never a prompt that says "None" (a helper's corrupted copies)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shootout.cli.main import main

Edit = Callable[[dict[str, Any]], dict[str, Any]]


def _copy(data_dir: Path, tmp: Path, rel: str, edit: Edit) -> Path:
    """The data dir with every record of `rel` edited (the other folders linked)."""
    root = tmp / "data"
    root.mkdir()
    folder = rel.split("/")[0]
    for d in data_dir.iterdir():
        if d.name != folder:
            (root / d.name).symlink_to(d)
    src = data_dir / folder
    for f in src.rglob("*"):
        if f.is_file():
            (root / f.relative_to(data_dir)).parent.mkdir(parents=True, exist_ok=True)
            (root / f.relative_to(data_dir)).write_bytes(f.read_bytes())
    target = root / rel
    opener: Any = gzip.open if rel.endswith(".gz") else open
    with opener(target, "rt", encoding="utf-8") as fh:
        rows = [json.loads(x) for x in fh if x.strip()]
    with opener(target, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(edit(r)) + "\n" for r in rows)
    return root


def _set(key: str, value: Any) -> Edit:
    return lambda r: {**r, key: value}


def _drop(key: str) -> Edit:
    return lambda r: {k: v for k, v in r.items() if k != key}


@pytest.mark.parametrize("bench, rel, edit, says", [
    ("winogrande", "winogrande/dev.jsonl", _set("sentence", None),
     "field 'sentence' is NoneType, not text"),
    ("winogrande", "winogrande/dev.jsonl", _set("option1", 7), "field 'option1' is int"),
    ("hellaswag", "hellaswag/hellaswag_val.jsonl.gz", _set("ctx_b", None),
     "field 'ctx_b' is NoneType"),
    ("gsm8k", "gsm8k/test.jsonl", _set("question", None), "field 'question' is NoneType"),
    ("math500", "math500/test.jsonl", _set("problem", 12345), "field 'problem' is int"),
    ("mt_bench", "mt_bench/question.jsonl", _drop("question_id"), "missing or bad field"),
    ("mt_bench", "mt_bench/question.jsonl", _set("question_id", "x"), "missing or bad field"),
    ("mt_bench", "mt_bench/question.jsonl", _drop("category"), "missing field 'category'"),
    # an audit's corrupted copies that were accepted: a prompt with "None" in it, a string
    # taken as four one-letter endings, the reference answer "None", kwargs no check takes
    ("math500", "math500/test.jsonl", _set("answer", None), "field 'answer' is NoneType"),
    ("boolq", "boolq/validation.jsonl", _set("passage", None), "field 'passage' is NoneType"),
    ("piqa", "piqa/validation.jsonl", _set("sol1", 5), "field 'sol1' is int"),
    ("hellaswag", "hellaswag/hellaswag_val.jsonl.gz", _set("endings", "abcd"),
     "field 'endings' holds something that is not text"),
    ("ifeval", "ifeval/input_data.jsonl",
     lambda r: {**r, "kwargs": [{f"x{k}": v for k, v in kw.items()} if kw else kw
                                for kw in r["kwargs"]]}, "do not fit it"),
    ("bfcl", "bfcl/BFCL_v4_simple_python.json", _set("question", "hi"),
     "'question' must be a list of turns"),
    ("bfcl", "bfcl/BFCL_v4_simple_python.json", _set("function", "f"),
     "'function' a list of objects"),
])
def test_a_malformed_field_is_one_line_and_exit_3(bench: str, rel: str, edit: Edit, says: str,
                                                   data_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    if not (data_dir / rel).exists():
        pytest.skip(f"{rel} not in this data dir")
    root = _copy(data_dir, tmp_path, rel, edit)
    with pytest.raises(SystemExit) as e:
        main(["run", "-m", "openai:x", "-b", bench, "--limit", "2", "--dry-run",
              "--data-dir", str(root), "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert e.value.code == 3, err
    assert err.count("\n") == 1 and says in err and "internal error" not in err, err
    assert rel.split("/")[-1] in err or bench in err, err


def test_malformed_json_says_where_on_the_line(tmp_path: Path) -> None:
    """"malformed JSON (Invalid control character at)": json's message stops where its own
    text goes on with the position (an audit's)."""
    from shootout.data.files import read_jsonl
    from shootout.errors import DataError

    bad = tmp_path / "test.jsonl"
    bad.write_text('{"a": 1}\n{"question": "x\ty"}\n')
    with pytest.raises(DataError) as got:
        list(read_jsonl(bad))
    assert str(got.value) == (f"{bad}:2: malformed JSON (Invalid control character at "
                              "column 16)")
