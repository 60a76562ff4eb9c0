"""`shootout perf` results are kept under their id: `shootout runs` lists them and
`shootout results ID` prints them again, table or JSON (issue 20)."""

from __future__ import annotations

import json

import pytest
from toy_run import Colours, toy_run

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.cli.main import main
from shootout.store import Store
from shootout.testing import FakeOpenAIServer


def _out(capsys, *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


def test_a_load_test_is_listed_and_printed_again(tmp_path, capsys):
    store = str(tmp_path / "s.sqlite")
    register_benchmark(Colours)
    try:
        eval_id = toy_run(Store(store))
    finally:
        REGISTRY.pop(Colours.name, None)
    with FakeOpenAIServer(ttft=0.005, itl=0.001, fill_max_tokens=True) as srv:
        perf = json.loads(_out(capsys, "perf", "--base-url", srv.base_url, "--model", "fm",
                               "--concurrency", "1,2", "--requests", "4", "--output-tokens",
                               "4", "--input-tokens", "20", "--store", store, "--json"))
    runs = json.loads(_out(capsys, "runs", "--json", "--store", store))["runs"]
    assert [r["run_id"] for r in runs] == [perf["perf_id"], eval_id]  # newest first
    load = runs[0]
    assert load["kind"] == "perf" and load["models"] == ["fm"] and load["status"] == "complete"
    assert load["benchmarks"] == ["load test c=1, c=2"]
    assert load["items"] == {"requests": 8} and load["failed"] == 0
    again = json.loads(_out(capsys, "results", perf["perf_id"], "--json", "--store", store))
    assert again == perf
    table = _out(capsys, "results", perf["perf_id"], "--store", store)
    assert f"perf {perf['perf_id']}: fm at" in table and "c=2" in table
    # the default of `results` stays the latest evaluation run
    assert json.loads(_out(capsys, "results", "--json", "--store", store))["run_id"] == eval_id


def test_levels_get_disjoint_prompts_and_the_warm_up_its_own():
    from shootout.cli.perf import level_prompts
    from shootout.providers.base import GenerateRequest

    prompts = [GenerateRequest(prompt=str(i)) for i in range(8)]
    warm, shares = level_prompts(prompts, 3)
    assert warm.prompt == "7"
    assert [[p.prompt for p in s] for s in shares] == [["0", "1"], ["2", "3"], ["4", "5"]]
    warm, shares = level_prompts(prompts[:4], 3)  # one item a level
    assert warm.prompt == "3" and [len(s) for s in shares] == [1, 1, 1]
    warm, shares = level_prompts(prompts[:2], 3)  # fewer items than levels: all share
    assert warm.prompt == "0" and all(len(s) == 2 for s in shares)


def test_prompts_from_a_benchmark_fitted_to_each_model_are_refused_in_one_line(data_dir):
    """`perf --from-benchmark needle` said "needle: no tokenizer bound; the runner must call
    bind" (exit 4): needle sizes its prompts with the model's tokenizer, which perf lacks."""
    from shootout.errors import ConfigError
    from shootout.perf.prompts import benchmark_requests

    with pytest.raises(ConfigError, match="needle builds its prompts with each model's "
                       "tokenizer and window"):
        benchmark_requests("needle", 2, None, chat=True, seed=0, data_dir=str(data_dir))
    assert len(benchmark_requests("gsm8k", 2, 8, chat=True, seed=0,
                                  data_dir=str(data_dir))) == 2


@pytest.mark.parametrize("model", ["anthropic:claude-haiku-4-5", "local"])
def test_perf_of_a_model_that_is_not_openai_compatible_is_refused_in_one_line(
        model, tmp_path, capsys):
    """`perf -m anthropic:...` sent OpenAI's format (a Bearer key, /chat/completions, the
    model named 'anthropic:...') and failed at its warm-up naming the server (an audit's)."""
    from shootout.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["perf", "--base-url", "http://127.0.0.1:9/v1", "-m", model, "-n", "2",
              "--store", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert f"perf -m {model}: perf load-tests an OpenAI-compatible endpoint" in err


def test_an_empty_stream_in_a_load_test_is_an_error_not_an_unstreamed_answer(tmp_path, capsys):
    """A run re-asks an empty stream without streaming and keeps that answer; a load test
    did too, and counted it completed, its latency that of the second request alone (a
    review's): there it is an error."""
    from shootout.testing.fake_server import Fault

    store = str(tmp_path / "s.sqlite")
    with FakeOpenAIServer(schedule={3: Fault.EMPTY_STREAM}) as srv:
        perf = json.loads(_out(capsys, "perf", "--base-url", srv.base_url, "--model", "fm",
                               "--concurrency", "1", "--requests", "4", "--output-tokens", "4",
                               "--input-tokens", "20", "--store", store, "--json"))
        streamed = [r["body"].get("stream") for r in srv.requests]
    (level,) = perf["levels"]
    assert level["completed"] == 3 and level["errors"] == 1, level
    assert False not in streamed  # nothing was asked again without streaming


@pytest.mark.parametrize(("args", "said"), [
    (["--concurrency", "1", "--max-concurrency", "4"],
     "--max-concurrency bounds a --rate level's requests in flight"),
    (["--from-benchmark", "gsm8k", "--input-tokens", "50"],
     "--input-tokens sizes synthetic prompts; --from-benchmark sends the benchmark's own"),
])
def test_a_load_test_option_that_would_do_nothing_is_refused(args, said, tmp_path, capsys):
    """--max-concurrency without --rate, and --input-tokens with --from-benchmark, were
    taken and dropped without a word (an audit's), where --ramp-up with --rate is refused."""
    with pytest.raises(SystemExit) as e:
        main(["perf", "--base-url", "http://127.0.0.1:9/v1", "-m", "x", *args, "--store",
              str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and said in err, err
