"""The structured benchmark: JSON read from answers (whole, fenced, in prose), jsonschema
validation of valid and invalid outputs, the scoring table, the modes on the wire, and a run
against the fake OpenAI server that serves JSON and refuses `json_schema` with a 400."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from shootout.benchmarks import PromptContext, get_benchmark_class, sample_docs
from shootout.benchmarks.base import Doc
from shootout.benchmarks.structured import Structured, with_mode
from shootout.benchmarks.structured_tasks import (
    BOOLQ_SCHEMA,
    CARD_SCHEMA,
    GSM8K_SCHEMA,
    MMLU_SCHEMA,
)
from shootout.config import validate_config
from shootout.data import DataDir
from shootout.errors import ConfigError
from shootout.providers.base import GenerateResponse, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.runner.run import Runner
from shootout.scoring.structured import read_json, schema_errors
from shootout.store.sqlite import Store
from shootout.testing import FakeOpenAIServer, FakeProvider

CHAT = PromptContext("generative", True, Sampling(max_tokens=512), 0)

# (answer text, value read, where it was found)
READS = [
    ('{"answer": "B"}', {"answer": "B"}, "whole"),
    ('  \n[1, 2]\n', [1, 2], "whole"),
    ('```json\n{"answer": "B"}\n```', {"answer": "B"}, "fence"),
    ('Sure:\n```\n{"answer": 4}\n```\nDone.', {"answer": 4}, "fence"),
    ('The answer is {"answer": "C"} as asked.', {"answer": "C"}, "prose"),
    ('Options {A, B} then {"answer": "D"}', {"answer": "D"}, "prose"),
    # cut off: the inner object is not the answer
    ('{"question": {"text": "q"}, "answer": {"letter": "A"', None, ""),
    ("The answer is B.", None, ""),
    ("", None, ""),
]


@pytest.mark.parametrize(("text", "value", "source"), READS)
def test_json_is_read_from_whole_fenced_and_prose_answers(text: str, value: Any,
                                                           source: str) -> None:
    got = read_json(text)
    assert (got.value, got.source, got.parsed) == (value, source, bool(source))


CARD_OK = {"question": {"text": "q", "options": ["a", "b", "c", "d"]},
           "answer": {"letter": "B", "text": "b"}, "confidence": "high", "note": None}

# (schema, value, the start of the first error or "" when valid)
VALIDATIONS = [
    (GSM8K_SCHEMA, {"reasoning": "3 + 4", "answer": 7}, ""),
    (GSM8K_SCHEMA, {"reasoning": "3 + 4", "answer": 7.5}, ""),
    (GSM8K_SCHEMA, {"reasoning": "3 + 4", "answer": "7"}, "answer: '7' is not of type 'number'"),
    (GSM8K_SCHEMA, {"answer": 7}, "(root): 'reasoning' is a required property"),
    (GSM8K_SCHEMA, {"reasoning": "", "answer": True}, "answer: True is not of type 'number'"),
    (MMLU_SCHEMA, {"answer": "A"}, ""),
    (MMLU_SCHEMA, {"answer": "E"}, "answer: 'E' is not one of"),
    (MMLU_SCHEMA, {"answer": "A", "why": "x"}, "(root): Additional properties are not allowed"),
    (MMLU_SCHEMA, ["A"], "(root): ['A'] is not of type 'object'"),
    (CARD_SCHEMA, CARD_OK, ""),
    (CARD_SCHEMA, {**CARD_OK, "note": "a remark"}, ""),
    (CARD_SCHEMA, {**CARD_OK, "note": 3}, "note: 3 is not of type 'string', 'null'"),
    (CARD_SCHEMA, {**CARD_OK, "confidence": "total"}, "confidence: 'total' is not one of"),
    (CARD_SCHEMA, {**CARD_OK, "question": {"text": "q", "options": ["a", 2]}},
     "question/options/1: 2 is not of type 'string'"),
    (CARD_SCHEMA, {**CARD_OK, "answer": {"letter": "B"}},
     "answer: 'text' is a required property"),
    (BOOLQ_SCHEMA, {"answer": False, "confidence": "low", "evidence": None}, ""),
    (BOOLQ_SCHEMA, {"answer": "false", "confidence": "low", "evidence": None},
     "answer: 'false' is not of type 'boolean'"),
]


@pytest.mark.parametrize(("schema", "value", "error"), VALIDATIONS)
def test_jsonschema_accepts_valid_and_names_what_is_wrong(schema: dict[str, Any], value: Any,
                                                          error: str) -> None:
    errors = schema_errors(value, schema)
    assert (errors[0] if errors else "").startswith(error) and bool(errors) == bool(error)


def _doc(kind: str, gold: dict[str, Any], schema: dict[str, Any], mode: str = "prompt") -> Doc:
    return with_mode(Doc(f"{kind}-0", {"kind": kind, "schema_name": kind, "schema": schema,
                                       "task": "t", "gold": gold}), mode)


GSM = _doc("gsm8k", {"answer": "18"}, GSM8K_SCHEMA)
CARD = _doc("card", {"letter": "B", "options": ["a", "b", "c", "d"]}, CARD_SCHEMA)
BOOL = _doc("boolq", {"answer": True}, BOOLQ_SCHEMA)

# (doc, answer, acc, schema_valid, parsed, parsed_strict)
SCORES = [
    (GSM, '{"reasoning": "16-3-4=9; 9*2", "answer": 18}', 1, 1, 1, 1),
    (GSM, '{"reasoning": "", "answer": 18.0}', 1, 1, 1, 1),
    (GSM, '```json\n{"reasoning": "", "answer": 18}\n```', 1, 1, 1, 0),
    (GSM, '{"reasoning": "", "answer": 17}', 0, 1, 1, 1),
    (GSM, '{"reasoning": "", "answer": "18"}', 0, 0, 1, 1),  # right, but a string: invalid
    (GSM, "The answer is 18.", 0, 0, 0, 0),
    # an infinite number is no answer (1e999 reads as inf, within the tolerance of any gold),
    # and NaN or Infinity is not JSON (Python's json reads them; the item raised on NaN)
    (GSM, '{"reasoning": "no idea", "answer": 1e999}', 0, 1, 1, 1),
    (GSM, '{"reasoning": "no idea", "answer": -1e999}', 0, 1, 1, 1),
    (GSM, '{"reasoning": "", "answer": Infinity}', 0, 0, 0, 0),
    (GSM, '{"reasoning": "", "answer": NaN}', 0, 0, 0, 0),
    (GSM, 'So: {"reasoning": "", "answer": NaN}', 0, 0, 0, 0),
    (CARD, json.dumps(CARD_OK), 1, 1, 1, 1),
    (CARD, json.dumps({**CARD_OK, "question": {"text": "q", "options": [" a", "b ", "c",
                                                                         "d"]}}), 1, 1, 1, 1),
    (CARD, json.dumps({**CARD_OK, "question": {"text": "q", "options": ["a", "b", "c"]}}),
     0, 1, 1, 1),  # an option left out
    (CARD, json.dumps({**CARD_OK, "answer": {"letter": "C", "text": "c"}}), 0, 1, 1, 1),
    (BOOL, '{"answer": true, "confidence": "high", "evidence": "It is."}', 1, 1, 1, 1),
    (BOOL, '{"answer": false, "confidence": "high", "evidence": null}', 0, 1, 1, 1),
    (BOOL, 'Here: {"answer": true, "confidence": "sure", "evidence": null}', 0, 0, 1, 0),
    # a reasoning model's thinking, left in the answer by its server: the object it thought
    # about is not its answer; the JSON after it is, though not a whole-answer JSON
    (GSM, '<think>Maybe {"reasoning": "", "answer": 17}? No: 18.</think>\n'
          '{"reasoning": "", "answer": 18}', 1, 1, 1, 0),
    (GSM, '<think>{"reasoning": "", "answer": 18}</think>The answer is 18.', 0, 0, 0, 0),
]


@pytest.mark.parametrize(("doc", "text", "acc", "valid", "parsed", "strict"), SCORES)
def test_scoring_table(doc: Doc, text: str, acc: int, valid: int, parsed: int,
                       strict: int) -> None:
    bench = Structured(data=DataDir(None))
    score = bench.score(doc, CHAT, GenerateResponse(text=text), bench.request(doc, CHAT))
    assert score.metrics == {"acc": acc, "schema_valid": valid, "parsed": parsed,
                             "parsed_strict": strict}
    assert score.detail["format_mode"] == "prompt" and score.detail["kind"] == doc.fields["kind"]
    if text.startswith("<think>") and parsed:
        assert score.detail["json_from"] == "after_reasoning"


def test_modes_option_and_the_wire_format_of_each_mode() -> None:
    assert Structured(data=DataDir(None), options={"modes": "json_schema, prompt"}
                      ).opts.modes == ("json_schema", "prompt")
    with pytest.raises(ConfigError, match="modes: json; choose from prompt, json_object"):
        Structured(data=DataDir(None), options={"modes": "prompt,json"})
    bench = Structured(data=DataDir(None))
    doc = _doc("gsm8k", {"answer": "1"}, GSM8K_SCHEMA)
    wire = {m: bench.request(with_mode(doc, m), CHAT).to_dict() for m in
            ("prompt", "json_object", "json_schema")}
    assert "response_format" not in wire["prompt"]  # prompt-only keeps the plain cache key
    assert wire["json_object"]["response_format"] == {"type": "json_object"}
    assert wire["json_schema"]["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "gsm8k", "schema": GSM8K_SCHEMA, "strict": True}}
    # the same prompt in every mode: only the API mechanism differs
    assert len({json.dumps(w["messages"]) for w in wire.values()}) == 1


def test_tasks_are_120_with_unique_stable_ids_and_schemas_their_golds_satisfy(
        data_dir: Path) -> None:
    docs = get_benchmark_class("structured")(data=DataDir(data_dir)).load()
    assert len(docs) == 120 and len({d.id for d in docs}) == 120
    assert [d.id for d in docs][:2] == ["gsm8k-0", "gsm8k-33"]
    assert "mmlu-abstract_algebra-1" in {d.id for d in docs}
    assert docs[-1].id == "boolq-3040"
    for d in docs:  # every schema is strict-mode shaped: all properties required, no extras
        schema = d.fields["schema"]
        assert schema["required"] == list(schema["properties"])
        assert schema["additionalProperties"] is False


def right_answer(doc: Doc) -> dict[str, Any]:
    f, kind = doc.fields["gold"], doc.fields["kind"]
    if kind == "gsm8k":
        return {"reasoning": "worked out", "answer": float(f["answer"])}
    if kind == "mmlu":
        return {"answer": f["answer"]}
    if kind == "card":
        letter = f["letter"]
        return {"question": {"text": "q", "options": f["options"]},
                "answer": {"letter": letter, "text": f["options"]["ABCD".index(letter)]},
                "confidence": "high", "note": None}
    return {"answer": f["answer"], "confidence": "medium", "evidence": None}


# OpenAI's answer to a json_schema response_format on a model without structured outputs
REFUSAL = {"error": {"message": "Invalid parameter: 'response_format' of type 'json_schema' is "
                     "not supported with this model.", "type": "invalid_request_error",
                     "param": "response_format", "code": None}}


def test_run_against_a_fake_server_that_refuses_json_schema(data_dir: Path,
                                                            tmp_path: Path) -> None:
    """JSON mode and prompt-only answers are scored; json_schema, refused with HTTP 400 by the
    endpoint, is recorded as unsupported (one probe, no samples, no failures) and the report's
    integration section says so."""
    all_docs = Structured(data=DataDir(data_dir)).load()
    cfg = validate_config({"models": [{"spec": "openai:fake-model", "name": "fake"}],
                           "benchmarks": ["structured"], "limit": 5}, "test")
    sampled = sample_docs(all_docs, 5, cfg.seed)

    def answer(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        doc = next(d for d in sampled if prompt.startswith(d.fields["task"]))
        text = json.dumps(right_answer(doc))
        return text if body.get("response_format") else f"```json\n{text}\n```"

    def refuse(body: dict[str, Any]) -> dict[str, Any] | None:
        return REFUSAL if (body.get("response_format") or {}).get("type") == "json_schema" else None

    with FakeOpenAIServer(answer_fn=answer, reject_fn=refuse) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=4)

        async def go() -> str:
            try:
                return await Runner(cfg, Store(tmp_path / "r.sqlite"),
                                    data_dir=str(data_dir)).run({"fake": provider})
            finally:
                await provider.aclose()

        run_id = asyncio.run(go())
        assert len(srv.rejected) == 1  # the probe, and no json_schema request after it
        sent = srv.rejected[0]["body"]["response_format"]
        assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
        assert set(sent["json_schema"]) == {"name", "schema", "strict"}
        formats = [(r["body"].get("response_format") or {}).get("type") for r in srv.requests]
    assert formats.count("json_object") == 5 + 1  # the items and the probe
    store = Store(tmp_path / "r.sqlite")
    samples = list(store.samples(run_id))
    assert sorted({s.group for s in samples}) == ["json_object", "prompt"]
    assert len(samples) == 10 and all(s.status == "ok" for s in samples)
    assert all(s.metrics["acc"] == 1.0 for s in samples)
    assert {s.metrics["parsed_strict"] for s in samples if s.group == "prompt"} == {0.0}
    binding = store.get_run(run_id)["manifest"]["benchmarks"]["structured"]["per_model"][
        "fake"]["model_binding"]["modes"]
    assert binding["prompt"] == binding["json_object"] == "accepted"
    assert binding["json_schema"].startswith("unsupported: the endpoint refused it (HTTP 400")

    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown

    report = render_markdown(build_report(store, [run_id]), charts=False)
    assert "## Integration: JSON mode and structured outputs" in report
    section = report.split("## Integration: JSON mode and structured outputs")[1]
    rows = [line for line in section.splitlines() if line.startswith("| fake |")]
    assert rows[0].startswith("| fake | prompt only | accepted | 100.0 | 0.0 | 100.0 [")
    assert rows[1].startswith("| fake | JSON mode | accepted | 100.0 | 100.0 | 100.0 [")
    assert rows[2].startswith("| fake | structured outputs | unsupported | – |")
    assert "fake, structured outputs: the endpoint refused it (HTTP 400" in report


def test_a_provider_without_response_format_runs_prompt_only(data_dir: Path,
                                                             tmp_path: Path) -> None:
    """A provider whose capabilities list no response_format (Anthropic's, the FakeProvider)
    sends nothing for those modes: they are unsupported, without a probe."""
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                           "benchmarks": ["structured"], "limit": 3}, "test")
    fake = FakeProvider(answer='{"answer": "A"}')
    store = Store(tmp_path / "r.sqlite")
    run_id = asyncio.run(Runner(cfg, store, data_dir=str(data_dir)).run({"fake": fake}))
    samples = list(store.samples(run_id))
    assert len(samples) == 3 and {s.group for s in samples} == {"prompt"}
    modes = store.get_run(run_id)["manifest"]["benchmarks"]["structured"]["per_model"]["fake"][
        "model_binding"]["modes"]
    assert modes["json_schema"] == "unsupported: fake has no json_schema response_format here"


# llama_cpp.server 0.3.36's answer to "type": "json_schema" (seen on 127.0.0.1, HTTP 500)
LLAMA_SERVER_500 = {"error": {
    "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
    "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': "
    "'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}",
    "type": "internal_server_error", "param": None, "code": None}}


@pytest.mark.parametrize(("status", "body", "verdict"), [
    (500, LLAMA_SERVER_500, "unsupported: the endpoint failed on it (HTTP 500"),
    (422, {"detail": [{"loc": ["body", "response_format"], "msg": "bad"}]},
     "unsupported: the endpoint refused it (HTTP 422"),
    (503, {"error": {"message": "overloaded"}}, "accepted"),  # a passing fault: not the mode's
])
def test_the_probe_tells_a_refused_format_from_a_passing_fault(status: int, body: Any,
                                                               verdict: str) -> None:
    import httpx

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    provider = OpenAIProvider("smol", base_url="http://127.0.0.1:9/v1",
                              transport=httpx.MockTransport(server))
    bench = Structured(data=DataDir(None), options={"modes": "json_schema"})
    doc = Doc("mmlu-0", {"kind": "mmlu", "schema_name": "choice", "schema": MMLU_SCHEMA,
                         "task": "t", "gold": {"answer": "A"}})

    async def go() -> list[Doc]:
        try:
            return await bench.bind(provider, [doc], CHAT)
        finally:
            await provider.aclose()

    docs = asyncio.run(go())
    assert bench.binding_info()["modes"]["json_schema"].startswith(verdict)
    assert len(docs) == (1 if verdict == "accepted" else 0)


def test_headlines_are_on_the_modes_every_model_ran() -> None:
    """One endpoint refused json_schema: its model's headline was over 240 items, the
    other's over 360 with json_schema in them, and the report bolded the other's 90.6 over
    86.7 while on the modes both ran it scored 85.8 (an audit's). Both are now over the
    modes both ran, and say so; the per-mode rows keep every mode."""
    from shootout.analysis.results import breakdowns, score_groups
    from shootout.report.split import cell_figures
    from shootout.store.rows import SampleRow

    def rows(model: str, acc: dict[str, list[float]]) -> list[SampleRow]:
        return [SampleRow(model, "structured", f"t{i}@{mode}", 0, mode, "ok",
                          {"acc": v, "parsed": 1.0}, None, "", False, None, None, {})
                for mode, vals in acc.items() for i, v in enumerate(vals)]

    a = rows("a", {"prompt": [1.0, 0.0, 0.0, 1.0], "json_schema": [1.0, 1.0, 1.0, 1.0]})
    a.append(SampleRow("a", "structured", "t9@prompt", 0, "prompt", "failed", {}, None, "",
                       False, "HTTP 500", None, {}))
    b = rows("b", {"prompt": [1.0, 1.0, 0.0, 1.0]})
    scores, _ = score_groups({("a", "structured"): a, ("b", "structured"): b})
    acc = {s.model: s for s in scores if s.metric == "acc"}
    assert acc["a"].score == 0.5 and acc["a"].n == 4 and acc["b"].score == 0.75
    assert acc["a"].extra["compared_groups"] == ["prompt"] == acc["b"].extra["compared_groups"]
    assert acc["a"].n_attempted == 5 and acc["a"].n_failed == 1
    assert acc["a"].score_failed_as_wrong == 0.4
    per_item, _ = cell_figures(a, acc["a"])
    assert sorted(per_item) == ["t0@prompt", "t1@prompt", "t2@prompt", "t3@prompt"]
    modes = {(s.model, s.group): s.score for s in breakdowns({("a", "structured"): a})}
    assert modes == {("a", "json_schema"): 1.0, ("a", "prompt"): 0.5}
    alone, _ = score_groups({("a", "structured"): a})  # one model: over all it ran
    (mine,) = [s for s in alone if s.metric == "acc"]
    assert mine.score == 0.75 and "compared_groups" not in mine.extra


def test_a_run_whose_endpoints_took_other_modes_compares_on_the_shared_ones(
        data_dir: Path, tmp_path: Path) -> None:
    """Two endpoints, one refusing json_schema: both headlines over prompt and JSON mode
    (n the same), and the report's integration section says so."""
    all_docs = Structured(data=DataDir(data_dir)).load()
    cfg = validate_config({"models": [{"spec": "openai:m", "name": "takes"},
                                      {"spec": "openai:m", "name": "refuses"}],
                           "benchmarks": ["structured"], "limit": 4}, "test")
    sampled = sample_docs(all_docs, 4, cfg.seed)

    def answer(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        doc = next(d for d in sampled if prompt.startswith(d.fields["task"]))
        return json.dumps(right_answer(doc))

    def refuse(body: dict[str, Any]) -> dict[str, Any] | None:
        return REFUSAL if (body.get("response_format") or {}).get("type") == "json_schema" else None

    with FakeOpenAIServer(answer_fn=answer) as one, \
            FakeOpenAIServer(answer_fn=answer, reject_fn=refuse) as two:
        providers = {"takes": OpenAIProvider("m", base_url=one.base_url),
                     "refuses": OpenAIProvider("m", base_url=two.base_url)}

        async def go() -> str:
            try:
                return await Runner(cfg, Store(tmp_path / "r.sqlite"),
                                    data_dir=str(data_dir)).run(providers)
            finally:
                for p in providers.values():
                    await p.aclose()

        run_id = asyncio.run(go())
    store = Store(tmp_path / "r.sqlite")
    from shootout.analysis.results import build_results
    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown

    acc = {s.model: s for s in build_results(store, [run_id]).runs[0].scores
           if s.metric == "acc"}
    assert acc["takes"].n == acc["refuses"].n == 8  # 4 tasks x prompt and JSON mode
    assert acc["takes"].extra["compared_groups"] == ["json_object", "prompt"]
    report = render_markdown(build_report(store, [run_id]), charts=False)
    assert ("headline score (the results table, rankings and tests) is over the modes every "
            "one of them ran (JSON mode, prompt only)") in report


def test_compared_groups_cover_a_benchmarks_own_aggregate_and_the_parallel_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark with its own `aggregate` had its headline over every group while its n
    counted the compared ones; and any run with `structured` lost its build in shares, also
    where every model ran the same modes (a review's)."""
    from shootout.analysis.parallel import plan
    from shootout.analysis.results import score_groups
    from shootout.analysis.stats import summarize
    from shootout.scores import Score
    from shootout.store.rows import SampleRow

    def rows(model: str, acc: dict[str, list[float]]) -> list[SampleRow]:
        return [SampleRow(model, "structured", f"t{i}@{mode}", 0, mode, "ok",
                          {"acc": v}, None, "", False, None, None, {})
                for mode, vals in acc.items() for i, v in enumerate(vals)]

    def own(cls: type, ok: list[SampleRow]) -> tuple[list[Score], dict[str, Any]]:
        s = summarize([[r.metrics["acc"]] for r in ok])
        return [Score("acc", s.mean, s.se, s.n, s.ci_low, s.ci_high)], {}

    monkeypatch.setattr(Structured, "aggregate", classmethod(own))
    a = rows("a", {"prompt": [1.0, 0.0, 0.0, 1.0], "json_schema": [1.0, 1.0, 1.0, 1.0]})
    b = rows("b", {"prompt": [1.0, 1.0, 0.0, 1.0]})
    scores, _ = score_groups({("a", "structured"): a, ("b", "structured"): b})
    acc = {s.model: s for s in scores if s.metric == "acc"}
    assert acc["a"].score == 0.5 and acc["a"].n == 4 == acc["a"].n_attempted
    assert acc["a"].extra["compared_groups"] == ["prompt"]
    monkeypatch.undo()

    monkeypatch.setenv("SHOOTOUT_WORKERS", "2")
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run("r-1", {"models": ["a", "b"]}, status="complete")
    for r in rows("a", {"prompt": [1.0] * 3}) + rows("b", {"prompt": [0.0] * 3}):
        store.put_sample("r-1", r)
    assert plan(store, "r-1") is not None  # the same modes: built in shares
    for r in rows("a", {"json_schema": [1.0] * 3}):
        store.put_sample("r-1", r)
    assert plan(store, "r-1") is None  # modes that differ: one process sees every model


def test_a_schema_the_endpoint_refuses_for_some_tasks_makes_the_mode_unsupported(
        data_dir: Path, tmp_path: Path) -> None:
    """An endpoint that takes the first task's flat schema and refuses the nullable unions of
    others: the probe of the first task alone passed, and the other tasks' items failed as the
    model's (40 of 120 per mode; an audit's). Each distinct schema is probed."""
    cfg = validate_config({"models": [{"spec": "openai:fake-model", "name": "fake"}],
                           "benchmarks": [{"name": "structured",
                                           "options": {"modes": "json_schema"}}]}, "test")

    def refuse(body: dict[str, Any]) -> dict[str, Any] | None:
        fmt = body.get("response_format") or {}
        union = '"type": [' in json.dumps(fmt)
        return REFUSAL if fmt.get("type") == "json_schema" and union else None

    with FakeOpenAIServer(answer_fn=lambda body: "{}", reject_fn=refuse) as srv:
        provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=4)

        async def go() -> str:
            try:
                return await Runner(cfg, Store(tmp_path / "r.sqlite"),
                                    data_dir=str(data_dir)).run({"fake": provider})
            finally:
                await provider.aclose()

        run_id = asyncio.run(go())
        probes = len(srv.requests)
    store = Store(tmp_path / "r.sqlite")
    assert list(store.samples(run_id)) == [] and 1 < probes <= 4
    binding = store.get_run(run_id)["manifest"]["benchmarks"]["structured"]["per_model"][
        "fake"]["model_binding"]["modes"]
    assert binding["json_schema"].startswith("unsupported: the endpoint refused it")
