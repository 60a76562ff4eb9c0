"""`request_latency`: each model's stored responses once, in key order, whatever the order of
the samples that use them."""

from __future__ import annotations

from dataclasses import replace

from shootout.analysis.results import request_latency
from shootout.store import RunRecord, SampleRow, StoredResponse

ROW = SampleRow(model="a", benchmark="gsm8k", item_id="i", repeat=0, group="", status="ok",
                metrics={"acc": 1.0}, extracted=None, reason="", extraction_failed=False,
                error=None, response_key=None, detail={})


def _resp(key: str, e2e: float, kind: str = "generate") -> StoredResponse:
    return StoredResponse(key, kind, 1.0, {"completion_tokens": 4}, {"ttft": 0.5, "e2e": e2e})


def test_each_models_responses_once_in_key_order() -> None:
    keys = [("b", "k3"), ("a", "k2"), ("b", "k1"), ("a", "k0"), ("a", "k2"), ("b", None),
            ("c", None), ("a", "k-lost")]
    samples = tuple(replace(ROW, model=m, item_id=f"i{i}", response_key=k)
                    for i, (m, k) in enumerate(keys))
    responses = {r.key: r for r in (_resp("k0", 1.0), _resp("k1", 2.0), _resp("k2", 4.0),
                                    _resp("k3", 8.0, "loglikelihood"))}
    run = RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0, spec={},
                    manifest={}, samples=samples, responses=responses)
    got = request_latency(run)
    assert list(got) == ["a", "b"]  # c has no stored response
    assert got["a"] == {"e2e_ms": [1000.0, 4000.0], "ttft_ms": [500.0, 500.0],
                        "tokens_per_s": [4.0, 1.0], "generate_e2e_ms": [1000.0, 4000.0]}
    assert got["b"] == {"e2e_ms": [2000.0, 8000.0], "ttft_ms": [500.0, 500.0],
                        "tokens_per_s": [2.0], "generate_e2e_ms": [2000.0]}


def test_the_report_says_how_many_requests_each_api_model_had_in_flight(tmp_path, data_dir,
                                                                       monkeypatch):
    """TTFT against a one-slot llama.cpp server at the default concurrency of 32 was mostly
    queue time (28 s against 1 s at concurrency 1), and neither the manifest nor the report
    said what the concurrency was (an audit's)."""
    from shootout.cli.main import main
    from shootout.testing import FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456")
    store, md = tmp_path / "s.db", tmp_path / "r.md"
    with FakeOpenAIServer() as srv:
        main(["run", "-m", "openai:fake-model", "-M", "concurrency=3", "--base-url",
              srv.base_url, "-b", "arc_easy", "--limit", "2", "--data-dir", str(data_dir),
              "--no-progress", "--store", str(store)])
    main(["report", "--store", str(store), "--md", str(md)])
    text = " ".join(md.read_text(encoding="utf-8").split())
    assert "Requests in flight at once, at most: fake-model 3; a server that answers fewer" \
        in text
