"""The response cache policy: `use` stored answers, `refresh` them, or `off` (this run's
answers are its own). Runs of the same requests under different model names (so different
runs), by the in-process FakeProvider whose answer can change between runs."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterator
from typing import ClassVar

import pytest

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.benchmarks.base import Doc
from shootout.benchmarks.multiple_choice import MCQuestion, MultipleChoiceBenchmark
from shootout.cli.main import main
from shootout.config import validate_config
from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider


class Shapes(MultipleChoiceBenchmark):
    name: ClassVar[str] = "toy_shapes"
    version: ClassVar[str] = "1"
    citation: ClassVar[str] = "test"
    description: ClassVar[str] = "toy"
    domain: ClassVar[str] = "knowledge"

    def load(self) -> list[Doc]:
        return [Doc(str(i), {"gold": 0}) for i in range(6)]

    def mc(self, doc: Doc, fewshot: int) -> MCQuestion:
        return MCQuestion.simple(f"Shape {doc.id}?", ["circle", "square"], 0)


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    register_benchmark(Shapes)
    yield
    REGISTRY.pop(Shapes.name, None)


def _run(store: Store, provider: FakeProvider, name: str, **model: object) -> tuple[str, float]:
    """(run id, accuracy) of one run of the toy benchmark."""
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": name, **model}],
                           "benchmarks": ["toy_shapes"]}, "test")
    run_id = asyncio.run(Runner(cfg, store).run({name: provider}))
    scores = [s.metrics["acc"] for s in store.samples(run_id)]
    return run_id, sum(scores) / len(scores)


def test_use_refresh_and_off(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    right, wrong = FakeProvider(answer="Answer: A"), FakeProvider(answer="Answer: B")
    first, acc = _run(store, right, "first")
    assert (len(right.calls), acc) == (6, 1.0)
    # use (the default): the same requests are answered from the cache, not asked again
    _, acc = _run(store, wrong, "again")
    assert (len(wrong.calls), acc) == (0, 1.0)
    # off: asked again; this run's answers are its own, the cache keeps the first ones
    off, acc = _run(store, wrong, "off", cache="off")
    assert (len(wrong.calls), acc) == (6, 0.0)
    _, acc = _run(store, wrong, "after-off")
    assert (len(wrong.calls), acc) == (6, 1.0)
    # refresh: asked again, and the new answers replace the stored ones for later runs
    _, acc = _run(store, wrong, "refresh", cache="refresh")
    assert (len(wrong.calls), acc) == (12, 0.0)
    _, acc = _run(store, right, "after-refresh")
    assert (len(right.calls), acc) == (6, 0.0)
    manifest = store.get_run(off)["manifest"]
    assert manifest["cache"] == {"off": {"policy": "off", "answers_from_cache": 0, "answers": 6}}
    report = render_markdown(build_report(store, [first, off]), charts=False)
    assert "- Response cache: first: 0 of 6 answers from the cache (policy use)." in report
    assert "- Response cache: off: 0 of 6 answers from the cache (policy off)." in report


def test_an_off_run_resumes_from_its_own_answers(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    flaky = FakeProvider(answer="Answer: A")
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "m"}], "cache": "off",
                           "benchmarks": ["toy_shapes"]}, "test")
    run_id = asyncio.run(Runner(cfg, store).run({"m": flaky}))
    assert asyncio.run(Runner(cfg, store).run({"m": flaky})) == run_id
    assert len(flaky.calls) == 6


def test_the_default_keeps_run_ids_and_a_policy_changes_them():
    base = {"models": ["openai:x"], "benchmarks": ["mmlu"], "limit": 5}
    plain = validate_config(base, "t").run_id()
    assert validate_config({**base, "cache": "use"}, "t").run_id() == plain
    assert validate_config({**base, "cache": "refresh"}, "t").run_id() != plain
    per_model = {**base, "models": [{"spec": "openai:x", "cache": "off"}]}
    assert validate_config(per_model, "t").run_id() != plain


def test_cache_flag_is_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(shlex.split("run -m openai:x --cache sometimes"))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert err.startswith("error: Invalid value for '--cache': ")


def _served_run(store: Store, srv, name: str) -> tuple[str, int]:
    """(run id, requests the server got) of a 6-item arc_easy run against the fake server."""
    from shootout.providers.openai import OpenAIProvider

    before = len(srv.requests)
    cfg = validate_config({"models": [{"spec": "openai:fake-model", "name": name,
                                       "base_url": srv.base_url}],
                           "benchmarks": ["arc_easy"], "limit": 6}, "test")
    provider = OpenAIProvider("fake-model", base_url=srv.base_url, concurrency=4)

    async def go() -> str:
        try:
            return await Runner(cfg, store).run({name: provider})
        finally:
            await provider.aclose()

    run_id = asyncio.run(go())
    return run_id, len(srv.requests) - before


def test_a_changed_system_fingerprint_is_not_served_old_answers(tmp_path, data_dir):
    from shootout.testing import FakeOpenAIServer

    store = Store(tmp_path / "s.sqlite")
    with FakeOpenAIServer(system_fingerprint="fp_1") as srv:
        _, asked = _served_run(store, srv, "first")
        assert asked == 6
        # the same build: one live answer confirms it, the other five come from the cache
        same, asked = _served_run(store, srv, "same")
        assert asked == 1
        assert store.get_run(same)["manifest"]["cache"]["same"]["answers_from_cache"] == 5
        assert store.get_run(same)["manifest"]["models"]["same"]["system_fingerprints"] == [
            "fp_1"]
        # a new build behind the same name: every stored answer is asked again
        srv.system_fingerprint = "fp_2"
        new, asked = _served_run(store, srv, "new")
        assert asked == 6
        assert store.get_run(new)["manifest"]["cache"]["new"]["answers_from_cache"] == 0
        # and the new answers replace the old ones
        _, asked = _served_run(store, srv, "after")
        assert asked == 1


def test_a_new_checkpoint_behind_the_same_name_is_not_served_old_answers(tmp_path):
    """vLLM's /models entry names the checkpoint it serves (`root`); a new one under the same
    served name is asked again. vLLM stamps `created` with each request's time: ignored."""
    from shootout.testing import FakeOpenAIServer

    store = Store(tmp_path / "s.sqlite")
    with FakeOpenAIServer(model_entry={"root": "/ckpt/v1", "created": 1}) as srv:
        _, asked = _served_run(store, srv, "first")
        assert asked == 6
        srv.model_entry = {"root": "/ckpt/v1", "created": 2}
        _, asked = _served_run(store, srv, "same")
        assert asked == 0
        srv.model_entry = {"root": "/ckpt/v2", "created": 3}
        _, asked = _served_run(store, srv, "new")
        assert asked == 6


def test_a_local_model_is_keyed_by_its_weights_not_its_file_name(tmp_path):
    from shootout.providers.local import LocalOptions, LocalProvider

    def identity(path) -> str:
        p = LocalProvider.__new__(LocalProvider)  # the identity needs no loaded model
        p.model_id, p.model_path, p.path = "gguf:model.gguf", path, "fast"
        p.options = LocalOptions()
        return p.cache_identity()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "model.gguf").write_bytes(b"GGUF weights v1")
    (tmp_path / "b" / "model.gguf").write_bytes(b"GGUF weights v2")
    first = identity(tmp_path / "a" / "model.gguf")
    assert first != identity(tmp_path / "b" / "model.gguf")  # same name and size
    (tmp_path / "b" / "model.gguf").write_bytes(b"GGUF weights v1")
    assert first == identity(tmp_path / "b" / "model.gguf")  # same weights, moved


def test_cache_off_unquoted_in_a_run_config_file_is_off(tmp_path):
    """`cache: off`, as docs/providers.md writes it, is the boolean false to YAML 1.1
    (PyYAML), and was refused as not among 'use', 'refresh' or 'off' (an audit's)."""
    from shootout.config import load_config_file

    path = tmp_path / "run.yaml"
    path.write_text("models: [{spec: local, cache: off}, local:smollm2-135m]\n"
                    "benchmarks: [arc_easy]\ncache: off\n")
    cfg = validate_config(load_config_file(path), "run.yaml")
    assert cfg.cache == "off" and cfg.models[0].cache == "off" and cfg.models[1].cache is None
    path.write_text("models: [local]\nbenchmarks: [arc_easy]\ncache: true\n")
    with pytest.raises(Exception, match="cache"):  # `on`/`true` is none of the three
        validate_config(load_config_file(path), "run.yaml")


def test_a_local_model_with_the_full_window_cache_is_not_served_the_window_caches_answers(
        tmp_path, data_dir, monkeypatch):
    """`-M swa_full=true` reads other log-likelihoods than the default window-sized cache
    (docs/local-model.md: up to 0.146 nats), but was keyed as it: a run with it after one
    without sent nothing and kept the window cache's answers (an audit's). The default's
    keys are unchanged: a third run without it is served the first one's."""
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    store = tmp_path / "s.sqlite"

    def attempts(model: str, *extra: str) -> list[int]:
        try:
            main(["run", "-m", model, "-b", "arc_easy", "--limit", "2", "-M", "n_threads=1",
                  *extra, "--store", str(store), "--no-progress", "--json"])
        except SystemExit as e:
            assert not e.code
        db = Store(str(store))
        try:
            return [r[0] for r in db._db.execute(  # of the newest run
                "SELECT attempts FROM samples WHERE run_id = (SELECT run_id FROM runs "
                "ORDER BY created_at DESC LIMIT 1)")]
        finally:
            db.close()

    assert attempts("local") == [1, 1]
    assert attempts("full=local", "-M", "swa_full=true") == [1, 1]  # asked, not served
    assert attempts("again=local") == [0, 0]  # served the first run's answers
