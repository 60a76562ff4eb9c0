"""A translation whose request failed is left out of the corpus score, as every benchmark
leaves its failed samples out, and with failed counted wrong it is an empty translation in
the corpus: that figure was "not computable", a failed sample having no references (a
methodology audit's)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from shootout.cli.main import main
from shootout.testing import FakeOpenAIServer

N = 8


def test_failed_translations_count_as_empty_ones_with_failed_counted_wrong(
        tmp_path, monkeypatch, data_dir, capsys):
    sacrebleu = pytest.importorskip("sacrebleu")
    from shootout.benchmarks import REGISTRY
    from shootout.data import DataDir

    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    by_id = {d.id: d for d in REGISTRY["translation_zh_en"](data=DataDir(data_dir)).load()}
    refused = {d.fields["src"] for i, d in enumerate(by_id.values()) if i % 2}

    def refuse(body):  # every other item's requests refused (400: not retried)
        text = json.dumps(body, ensure_ascii=False)
        return {"error": {"message": "no"}} if any(s in text for s in refused) else None

    path = tmp_path / "s.sqlite"
    with FakeOpenAIServer(reject_fn=refuse) as srv, pytest.raises(SystemExit):
        main(["run", "-m", "openai:fake", "--base-url", srv.base_url, "-b",
              "translation_zh_en", "--limit", str(N), "--temperature", "0", "--store",
              str(path), "--no-progress", "--json"])
    out = capsys.readouterr().out
    rows = {r["metric"]: r for r in json.loads(out[out.index("{"):])["results"]}
    db = sqlite3.connect(path)
    docs = [by_id[i] for i, in db.execute("SELECT item_id FROM samples ORDER BY item_id")]
    got = dict(db.execute("SELECT item_id, extracted FROM samples WHERE status = 'ok'"))
    db.close()
    failed = N - len(got)
    assert len(docs) == N and 0 < failed < N
    assert rows["chrf"]["n_failed"] == failed and rows["chrf"]["n"] == N - failed
    hyps = [got.get(d.id) or "" for d in docs]  # the failed ones empty
    refs = [[d.fields["refs"][0] for d in docs]]
    chrf = sacrebleu.metrics.CHRF(word_order=2).corpus_score(hyps, refs).score / 100
    bleu = sacrebleu.metrics.BLEU().corpus_score(hyps, refs).score / 100
    assert rows["chrf"]["score_failed_as_wrong"] == pytest.approx(chrf, abs=1e-9)
    assert rows["bleu"]["score_failed_as_wrong"] == pytest.approx(bleu, abs=1e-9)
    # the score itself is over the answered items alone
    answered = [d for d in docs if d.id in got]
    alone = sacrebleu.metrics.CHRF(word_order=2).corpus_score(
        [got[d.id] for d in answered], [[d.fields["refs"][0] for d in answered]]).score / 100
    assert rows["chrf"]["score"] == pytest.approx(alone, abs=1e-9)
