"""Issue 22: names that read well in tables and reports, unique within a run."""

from __future__ import annotations

import re

import pytest

from shootout.cli.main import main
from shootout.config import validate_config
from shootout.errors import ConfigError
from shootout.naming import derive_names, specs_by_name
from shootout.providers.embedded import EMBEDDED


def names(*models: str | dict) -> list[str]:
    cfg = validate_config({"models": list(models), "benchmarks": ["arc_easy"]}, "test")
    return [m.display for m in cfg.models]


def test_embedded_models_are_named_by_title_and_quantisation():
    assert names("local", "local:smollm2-135m") == [
        "Gemma 3 270M · Q4_K_M", "SmolLM2 135M Instruct · Q4_1"]


def _gguf(path, name: str | None, file_type: int | None):
    """A header-only GGUF with `general.name` and `general.file_type` as given."""
    import gguf

    w = gguf.GGUFWriter(str(path), arch="llama")
    if name is not None:
        w.add_name(name)
    if file_type is not None:
        w.add_file_type(file_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_a_gguf_file_is_named_by_its_general_name_and_quantisation(tmp_path):
    assert names(f"gguf:{_gguf(tmp_path / 'a.gguf', 'Tiny Llama 1B', 15)}") == [
        "Tiny Llama 1B · Q4_K_M"]
    assert names(f"gguf:{_gguf(tmp_path / 'my-model.gguf', None, None)}") == ["my-model"]


def test_an_embedded_models_gguf_file_is_named_as_the_embedded_model():
    """Issue 22's names for its example's files: "SmolLM2 135M Instruct · Q4_1" (the file's
    own `general.name` reads "Smollm2 135M 8k Lc100K Mix1 Ep2") and "Gemma 3 270M ·
    Q4_K_M" ("Gemma 3 270m"), as `local:` names them; given both ways in one run, the same
    model twice, they clash and one needs a name."""
    smol, gemma = EMBEDDED["smollm2-135m"].path(), EMBEDDED["gemma3-270m"].path()
    assert names(f"gguf:{smol}", f"gguf:{gemma}") == [
        "SmolLM2 135M Instruct · Q4_1", "Gemma 3 270M · Q4_K_M"]
    with pytest.raises(ConfigError, match="two models are called"):
        names("local:smollm2-135m", f"gguf:{smol}")
    assert names("local:smollm2-135m", {"spec": f"gguf:{smol}", "name": "mine"})[1] == "mine"


def test_api_models_are_named_by_id_with_the_host_when_ids_repeat():
    assert names("openai:gpt-4o") == ["gpt-4o"]
    assert names({"spec": "openai:m", "base_url": "http://a.example/v1"},
                 {"spec": "openai:m", "base_url": "http://b.example/v1"}) == [
        "m @ a.example", "m @ b.example"]



def test_two_servers_on_one_host_are_named_by_host_and_port():
    """Two local servers of one model id on two ports were refused as "two models are called
    'gpt-4o-mini @ 127.0.0.1'" (an audit's); a third id that does not clash keeps its name."""
    assert names({"spec": "openai:m", "base_url": "http://127.0.0.1:41509/v1"},
                 {"spec": "openai:m", "base_url": "http://127.0.0.1:41555/v1"},
                 {"spec": "openai:m", "base_url": "http://b.example/v1"},
                 {"spec": "openai:n", "base_url": "http://127.0.0.1:41509/v1"}) == [
        "m @ 127.0.0.1:41509", "m @ 127.0.0.1:41555", "m @ b.example", "n"]
    with pytest.raises(ConfigError, match=re.escape("two models are called 'm @ 127.0.0.1:1'")):
        names({"spec": "openai:m", "base_url": "http://127.0.0.1:1/v1"},
              {"spec": "openai:m", "base_url": "http://127.0.0.1:1/v2"})

def test_replicas_are_named_by_their_endpoints_hosts_where_names_would_clash():
    """A model on replicas (`base_urls`, `endpoints`) has no `base_url`: it was called
    "@ default endpoint", so two such models clashed (a docs-drift audit). Where the name
    did not clash it stays as it was: a stored run's samples are under it."""
    gpus = {"spec": "openai:m", "base_urls": ["http://gpu1:8000/v1", "http://gpu1:8001/v1",
                                              "http://gpu2:8000/v1"]}
    node = {"spec": "openai:m", "endpoints": [{"url": "http://node-a:8000/v1",
                                               "concurrency": 64}]}
    assert names(gpus, node, {"spec": "openai:m"}) == [
        "m @ gpu1 +1", "m @ node-a", "m @ default endpoint"]
    assert names(gpus, {"spec": "openai:m", "base_url": "http://b.example/v1"}) == [
        "m @ default endpoint", "m @ b.example"]


def test_a_given_name_wins():
    assert names({"spec": "local", "name": "base"}) == ["base"]


def test_a_name_clash_is_one_line_naming_both_specs():
    with pytest.raises(ConfigError) as err:
        names("local", "local:gemma3-270m")
    assert str(err.value) == (
        "test: models: two models are called 'Gemma 3 270M · Q4_K_M' (local and "
        "local:gemma3-270m); give one a name (`name:` in the config, NAME=SPEC with -m)")


def test_cli_name_equals_spec(tmp_path, capsys, monkeypatch):
    from shootout.cli.run import _models

    got = _models(["base=local", "chat=local:smollm2-135m", "gguf:/m/a=b.gguf"], {}, {})
    assert [(m.get("name"), m["spec"]) for m in got] == [
        ("base", "local"), ("chat", "local:smollm2-135m"), (None, "gguf:/m/a=b.gguf")]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["run", "-m", "a=local", "-m", "a=local:smollm2-135m", "-b", "arc_easy"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: command line: models: two models are called 'a' (local and "
        "local:smollm2-135m); give one a name (`name:` in the config, NAME=SPEC with -m)")


def test_stored_runs_map_names_back_to_specs():
    spec = {"models": [{"spec": "local"}, {"spec": "local:smollm2-135m", "name": "chat"},
                       "openai:x"]}
    assert specs_by_name(spec) == {"Gemma 3 270M · Q4_K_M": "local", "chat":
                                   "local:smollm2-135m", "x": "openai:x"}
    assert derive_names([("openai:x", None, None)]) == ["x"]


def test_list_models_names_every_generic_model_option(capsys):
    """`list models` named six of the options every model takes; the docs set the others
    (`-M rpm=500`, `-M NAME.max_cost=5`) (a docs-drift audit)."""
    from shootout.config import ModelConfig

    main(["list", "models"])
    out = " ".join(capsys.readouterr().out.split())  # as one line, however it wrapped
    listed = out.split("for every provider: ", 1)[1].split(";", 1)[0].split(", ")
    # not `name`, which -M refuses ("has no option 'name'"): -m NAME=SPEC (an audit's)
    assert listed == [k for k in ModelConfig.model_fields if k not in ("spec", "name")]
    assert {"rpm", "tpm", "max_cost", "cache"} <= set(listed)
    assert "a model's name is -m NAME=SPEC, or name: in its entry" in out


def test_list_gives_one_benchmarks_or_providers_options_with_defaults(capsys, monkeypatch):
    """`list benchmarks` / `list models` named the options only: their defaults and what
    they do were in the code's descriptions alone (an audit's). With a name, each option's
    default and description, from its Options model."""
    monkeypatch.setenv("COLUMNS", "200")
    main(["list", "benchmarks", "needle"])
    rows = {r.split("│")[1].strip(): [c.strip() for c in r.split("│")[2:4]]
            for r in capsys.readouterr().out.splitlines() if r.count("│") == 4}
    assert rows["trials"] == ["3", "prompts per length x depth cell (at most 1000)"]
    assert rows["variant"][0] == "single" and rows["calibrate"][0] == "true"
    assert rows["lengths"][0] == "–"
    main(["list", "models", "openai"])
    rows = {r.split("│")[1].strip(): [c.strip() for c in r.split("│")[2:4]]
            for r in capsys.readouterr().out.splitlines() if r.count("│") == 4}
    assert rows["concurrency"][0] == "32" and rows["api_key_env"][0] == "OPENAI_API_KEY"
    for args in (["list", "benchmarks", "nope"], ["list", "models", "nope"]):
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2
