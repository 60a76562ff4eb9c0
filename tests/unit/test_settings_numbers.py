"""A true/false where a number is meant is an error, not 1 or 0 (`shootout.settings`)."""

from __future__ import annotations

import pytest

from shootout.config import validate_config
from shootout.errors import ConfigError
from shootout.providers.local import LocalProvider
from shootout.providers.replicas import EndpointOptions


def _cfg(**over: object) -> dict[str, object]:
    return {"models": ["local"], "benchmarks": ["arc_easy"], **over}


@pytest.mark.parametrize(("data", "where"), [
    (_cfg(limit=True), "limit"),
    (_cfg(repeats=True), "repeats"),
    (_cfg(seed=False), "seed"),
    (_cfg(max_cost=True), "max_cost"),
    (_cfg(sampling={"temperature": False}), "sampling.temperature"),
    (_cfg(sampling={"max_tokens": True}), "sampling.max_tokens"),
    (_cfg(benchmarks=[{"name": "arc_easy", "limit": True}]), "benchmarks.0.limit"),
    (_cfg(benchmarks=[{"name": "arc_easy", "fewshot": False}]), "benchmarks.0.fewshot"),
    (_cfg(models=[{"spec": "local", "max_attempts": True}]), "models.0.max_attempts"),
    (_cfg(models=[{"spec": "local", "price": {"input_per_m": True}}]),
     "models.0.price.input_per_m"),
])
def test_a_boolean_for_a_number_is_refused(data, where):
    with pytest.raises(ConfigError) as e:
        validate_config(data, "c.yaml")
    assert str(e.value).startswith(f"c.yaml: {where}: ")
    assert "not true" in str(e.value) or "not false" in str(e.value)


@pytest.mark.parametrize("seed", [-1, 2**31, 10**23])
def test_a_seed_no_backend_takes_is_refused(seed):
    """A negative seed reached numpy's generator (ValueError) on the local batched path, and
    llama.cpp reads -1 as "random": one line, before anything runs (an audit's)."""
    with pytest.raises(ConfigError, match=r"^c\.yaml: seed: "):
        validate_config(_cfg(seed=seed), "c.yaml")
    assert validate_config(_cfg(seed=0), "c.yaml").seed == 0
    assert validate_config(_cfg(seed=2**31 - 1), "c.yaml").seed == 2**31 - 1


def test_numbers_and_booleans_where_meant_still_pass():
    cfg = validate_config(_cfg(limit=3, repeats="auto", dry_run=True,
                               sampling={"temperature": 0, "top_p": 1}), "c.yaml")
    assert cfg.limit == 3 and cfg.dry_run is True and cfg.sampling.temperature == 0.0
    assert validate_config(_cfg(limit="3"), "c.yaml").limit == 3  # YAML's quoted numbers


def test_provider_and_replica_options_refuse_booleans_for_numbers():
    with pytest.raises(ValueError, match="not true"):
        EndpointOptions(url="http://127.0.0.1:1/v1", concurrency=True)  # type: ignore[arg-type]
    opts = LocalProvider.Options
    numeric = [n for n, f in opts.model_fields.items()
               if f.annotation in (int, float, int | None, float | None)]
    assert numeric, "the local provider has number options"
    with pytest.raises(ValueError, match="not true"):
        opts.model_validate({numeric[0]: True})


def test_a_provider_option_error_reads_as_one_plain_line():
    from shootout.providers.registry import validate_options

    with pytest.raises(ConfigError) as e:
        validate_options("local", {"n_ctx": True})
    assert str(e.value) == "n_ctx: Input should be a number, not true (for local)"


def test_a_context_too_large_for_memory_names_n_ctx(monkeypatch):
    """A context llama.cpp cannot make (`n_ctx: 99999999999`: a minute of the kernel's time,
    then its one line) is said to be the context, with where its size came from, not the
    model file (a CLI audit)."""
    import types

    import pytest

    from shootout.errors import ConfigError
    from shootout.providers import local

    def refuse(*a, **k):
        raise ValueError("Failed to create llama_context")

    monkeypatch.setattr(local, "_import_llama", lambda: types.SimpleNamespace(Llama=refuse))
    with pytest.raises(ConfigError) as got:
        local.LocalProvider(n_ctx=99_999_999)
    assert "could not make a context of 99,999,999 tokens" in str(got.value)
    assert "-M n_ctx" in str(got.value) and "could not load" not in str(got.value)
    monkeypatch.setattr(local, "_import_llama", lambda: types.SimpleNamespace(
        Llama=lambda *a, **k: (_ for _ in ()).throw(ValueError("bad magic"))))
    with pytest.raises(ConfigError, match=r"could not load .*bad magic"):
        local.LocalProvider()


def test_a_scoring_mode_a_benchmark_lacks_is_a_usage_error(tmp_path, capsys, monkeypatch,
                                                           data_dir):
    """`--scoring loglikelihood` on GSM8K (generative only) exited 4, a provider's failure;
    it is the options' clash, exit 2, saying what to give (an audit's)."""
    from shootout.cli.main import main

    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    with pytest.raises(SystemExit) as e:
        main(["run", "-m", "local", "-b", "gsm8k", "--scoring", "loglikelihood", "--limit",
              "1", "--dry-run", "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "gsm8k supports only generative scoring, not --scoring loglikelihood" in err


@pytest.mark.parametrize(("options", "where"), [
    ({"timeout": "inf"}, "timeout"),
    ({"timeout": float("nan")}, "timeout"),
    ({"batch_poll": 1e999}, "batch_poll"),
])
def test_no_option_is_infinite(options, where):
    """`-M timeout=inf` was taken (a request that never times out), and a batch poll or a
    replica's weight of 1e999 (an audit's): every setting is a finite number."""
    from shootout.providers.registry import validate_options

    with pytest.raises(ConfigError, match=rf"^{where}: Input should be a finite number"):
        validate_options("openai:x", options)
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finite number"):
        EndpointOptions.model_validate({"url": "http://127.0.0.1:1/v1", "weight": 1e999})
