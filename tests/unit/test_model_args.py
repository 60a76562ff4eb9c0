"""Model arguments: request fields per model in YAML (`extra_body`), `-M KEY=VALUE` on the
command line (JSON where it parses), validated by the provider's options; a system prompt per
model. Run against the fake OpenAI server, whose request log shows what was sent."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from shootout.cli.main import main
from shootout.cli.run import expand_aliases, with_model_args
from shootout.errors import ConfigError
from shootout.providers.base import GenerateRequest, LoglikelihoodRequest, Message
from shootout.runner.sample import with_system_prompt
from shootout.testing import FakeOpenAIServer


def test_model_args_parse_json_and_go_to_the_models_that_have_them():
    data = {"models": [{"spec": "local", "name": "small"}, {"spec": "openai:o3"}]}
    out = with_model_args(data, [
        "reasoning_effort=low",  # only the OpenAI model has it
        'extra_body={"service_tier": "flex", "n": 1}',
        "openai:o3.concurrency=4",
        "small.system_prompt=Answer briefly.",
        "openai:o3.system_prompt=null",
    ])
    small, o3 = out["models"]
    assert "reasoning_effort" not in small and o3["reasoning_effort"] == "low"
    assert o3["extra_body"] == {"service_tier": "flex", "n": 1}
    assert o3["concurrency"] == 4  # JSON: a number, not "4"
    assert small["system_prompt"] == "Answer briefly." and o3["system_prompt"] is None
    assert data["models"][0] == {"spec": "local", "name": "small"}  # the input is untouched


def test_a_model_is_named_as_tables_and_messages_name_it():
    """A model without `name:` is shown by a derived name ("gpt-4.1" for openai:gpt-4.1), and
    messages (--max-cost's) say `-M NAME.KEY`: that name selects it, as its spec does."""
    data = {"models": [{"spec": "openai:gpt-4.1"}, {"spec": "openai:o3"}]}
    out = with_model_args(data, ["gpt-4.1.concurrency=3", "openai:o3.concurrency=5"])
    assert [m.get("concurrency") for m in out["models"]] == [3, 5]


def test_model_flags_are_model_args():
    """--base-url, --api-key-env, --n-ctx, --logprobs, --chat/--no-chat stand for -M KEY=VALUE
    (both `--flag VALUE` and `--flag=VALUE`); nothing after `--` is touched."""
    argv = ["-m", "local", "--n-ctx", "8192", "--base-url=http://h/v1", "--api-key-env", "K",
            "--logprobs", "--no-chat", "--chat", "--limit", "3", "--", "--n-ctx", "1"]
    assert expand_aliases(argv) == [
        "-m", "local", "-M", "n_ctx=8192", "-M", "base_url=http://h/v1", "-M", "api_key_env=K",
        "-M", "logprobs=true", "-M", "chat=false", "-M", "chat=true", "--limit", "3",
        "--", "--n-ctx", "1"]
    data = {"models": [{"spec": "local"}, {"spec": "openai:m"}]}
    out = with_model_args(data, ["n_ctx=8192", "base_url=http://h/v1", "chat=false"])
    local, api = out["models"]
    assert local["n_ctx"] == 8192 and "n_ctx" not in api  # an int, on the local model only
    assert api["base_url"] == "http://h/v1" and "base_url" not in local
    assert api["chat"] is False


def test_a_models_own_setting_wins_over_one_for_every_model_in_any_order():
    """`-M fb.base_url=U --base-url V` sent fb to V (the later of the two), and `monitor`
    always put --base-url last: the model's own setting is the one meant (an audit's)."""
    data = {"models": [{"spec": "openai:fa"}, {"spec": "openai:fb"}]}
    for args in (["fb.base_url=http://u/v1", "base_url=http://v/v1"],
                 ["base_url=http://v/v1", "fb.base_url=http://u/v1"]):
        fa, fb = with_model_args(data, args)["models"]
        assert (fa["base_url"], fb["base_url"]) == ("http://v/v1", "http://u/v1"), args
    # one setting for every model given twice: the same value is one; two values are an
    # error (the later had won, silently: `--base-url A -m x --base-url B` sent both to B)
    fa, _ = with_model_args(data, ["chat=true", "chat=true"])["models"]
    assert fa["chat"] is True
    with pytest.raises(ConfigError, match="chat is given twice for every model"):
        with_model_args(data, ["chat=false", "chat=true"])


@pytest.mark.parametrize(("args", "message"), [
    (["reasoning_effort"], "-M 'reasoning_effort': expected KEY=VALUE or MODEL.KEY=VALUE"),
    (["n_ctx=4096"], "-M 'n_ctx=4096': openai:o3 has no option 'n_ctx'"),
    (["gpt.concurrency=2"], "-M 'gpt.concurrency=2': no model 'gpt' in this run "
                            "(models: o3)"),
])
def test_model_args_that_fit_no_model_are_refused(args, message):
    with pytest.raises(ConfigError) as e:
        with_model_args({"models": ["openai:o3"]}, args)
    assert str(e.value) == message


@pytest.mark.parametrize(("line", "first_line"), [
    ("run -m openai:o3 -M reasoning_effort=extreme",
     "error: command line: models.0: reasoning_effort: Input should be 'none', 'minimal', "
     "'low', 'medium', 'high' or 'xhigh' (for openai:o3)"),
    ("run -m openai:o3 -M extra_body=5",
     "error: command line: models.0: extra_body: Input should be a valid dictionary "
     "(for openai:o3)"),
    ("run -m openai:o3 -M temperature=0",
     "error: -M 'temperature=0': openai:o3 has no option 'temperature'"),
    # a key pasted on the command line is not echoed back (it was, in the error)
    ("run -m openai:o3 -M api_key=sk-test-SECRET456",
     "error: -M 'api_key=[value not shown]': openai:o3 has no option 'api_key' (a key comes "
     "from the environment: api_key_env names the variable)"),
])
def test_a_bad_model_arg_is_a_one_line_usage_error(line, first_line, tmp_path, capsys,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(shlex.split(line))
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert exc.value.code == 2 and lines == [first_line]


def test_system_prompt_goes_first_and_joins_a_benchmark_system_message():
    user = GenerateRequest(messages=(Message("user", "Q?"),))
    assert with_system_prompt(user, "Be brief.").messages == (
        Message("system", "Be brief."), Message("user", "Q?"))
    both = GenerateRequest(messages=(Message("system", "Answer A-D."), Message("user", "Q?")))
    assert with_system_prompt(both, "Be brief.").messages == (
        Message("system", "Be brief.\n\nAnswer A-D."), Message("user", "Q?"))
    assert with_system_prompt(user, None) is user
    ll = LoglikelihoodRequest(pairs=(("a", "b"),))
    assert with_system_prompt(ll, "Be brief.") is ll  # nothing to put it in


def _run(args: list[str], tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        main([*args, "--store", str(tmp_path / "s.sqlite"), "--json", "--no-progress"])
    except SystemExit as e:
        assert e.code in (0, None)


def test_cli_model_args_reach_the_request(tmp_path, monkeypatch, data_dir, capsys):
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    with FakeOpenAIServer() as srv:
        _run(["run", "-m", "openai:fake-model", "--base-url", srv.base_url, "-b", "arc_easy",
              "--limit", "2", "--scoring", "generative",
              "-M", 'extra_body={"service_tier": "flex"}', "-M", "reasoning_effort=low",
              "-M", "system_prompt=You are terse."], tmp_path, monkeypatch)
        bodies = [r["body"] for r in srv.requests]
    assert len(bodies) == 2
    for body in bodies:
        assert body["service_tier"] == "flex" and body["reasoning_effort"] == "low"
        assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    out = json.loads(capsys.readouterr().out)
    model = out["manifest"]["models"]["fake-model"]
    assert model["spec"] == "openai:fake-model"


def test_yaml_request_fields_per_model(tmp_path, monkeypatch, data_dir, capsys):
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    with FakeOpenAIServer() as srv:
        cfg = {"models": [
            {"spec": "openai:fake-model", "name": "flex", "base_url": srv.base_url,
             "extra_body": {"service_tier": "flex"}},
            {"spec": "openai:fake-model", "name": "terse", "base_url": srv.base_url,
             "system_prompt": "One letter only."},
        ], "benchmarks": ["arc_easy"], "limit": 2}
        path = tmp_path / "run.yaml"
        path.write_text(yaml.safe_dump(cfg))
        # -M on top of a config file: here, on one model by its name
        _run(["run", "-c", str(path), "-M", "flex.reasoning_effort=high"], tmp_path,
             monkeypatch)
        bodies = [r["body"] for r in srv.requests]
    flex = [b for b in bodies if b.get("service_tier") == "flex"]
    terse = [b for b in bodies if b["messages"][0]["role"] == "system"
             and b["messages"][0]["content"].startswith("One letter only.")]
    assert len(flex) == 2 and len(terse) == 2 and len(bodies) == 4
    assert all(b["reasoning_effort"] == "high" for b in flex)
    assert not any("reasoning_effort" in b or "service_tier" in b for b in terse)


def test_list_models_names_each_providers_options():
    from shootout.providers.registry import describe_options

    lines = describe_options()
    openai = next(x for x in lines if x.startswith("openai:"))
    anthropic = next(x for x in lines if x.startswith("anthropic:"))
    assert "reasoning_effort" in openai and "param_policy" in openai
    assert "thinking_budget" in anthropic


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:99999/v1", "base URL is not a URL (Port out of range"),
    ("http://127.0.0.1:abc/v1", "base URL is not a URL (Port could not be cast"),
    ("http://[::1", "base URL is not a URL (Invalid IPv6 URL)"),
    ("http://", "base URL has no host"),
    ("http://user:sk-test-URLKEY777@127.0.0.1:99999/v1", "base URL is not a URL (Port out"),
])
def test_a_bad_base_url_is_one_line(url, message, tmp_path, capsys, monkeypatch):
    """A malformed base URL was an internal error (exit 70); the message shows the URL
    without its credentials."""
    monkeypatch.chdir(tmp_path)
    for args in (["--base-url", url], ["-M", f"base_urls=[\"{url}\"]"]):
        with pytest.raises(SystemExit) as exc:
            main(["run", "-m", "openai:x", *args, "-b", "gsm8k", "--limit", "1",
                  "--dry-run", "--store", str(tmp_path / "s.sqlite")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and message in err, err
        assert "URLKEY777" not in err and "QUERY888" not in err
    for f in tmp_path.rglob("*"):  # nothing written holds it
        assert not f.is_file() or b"URLKEY777" not in f.read_bytes(), f


@pytest.mark.parametrize("url", ["", "  "])
def test_an_empty_base_url_is_refused(url, tmp_path, capsys, monkeypatch):
    """`--base-url "$URL"` with $URL unset sent the run to OpenAI's endpoint, with the
    OpenAI key: refused in one line."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["run", "-m", "openai:x", "--base-url", url, "-b", "gsm8k", "--limit", "1",
              "--dry-run", "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "base_url is empty" in err, err


@pytest.mark.parametrize("arg", ["base_urls=[]", "endpoints=[]"])
def test_an_empty_replica_list_is_refused(arg, tmp_path, capsys, monkeypatch):
    """An empty `base_urls`/`endpoints` was dropped, and the model sent to OpenAI's endpoint
    (an audit's 'cannot reach https://api.openai.com/v1'; with a key, paid requests)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["run", "-m", "openai:x", "-M", arg, "-b", "gsm8k", "--limit", "1",
              "--dry-run", "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1, err
    assert f"{arg.split('=')[0]} is empty" in err


def test_a_batch_journal_reads_the_default_journal_written_before_it(tmp_path):
    """Jobs submitted before a run's journal was kept beside its store are in the default
    journal: a rerun still finds them there (a review's), and its own journal's entries win."""
    from shootout.providers.batch import BatchJournal

    earlier, mine = tmp_path / "default.jsonl", tmp_path / "run.jsonl"
    BatchJournal(earlier).add("openai", "batch_old", ["a", "b"])
    journal = BatchJournal(mine, earlier)
    assert journal.jobs("openai") == {"a": "batch_old", "b": "batch_old"}
    journal.add("openai", "batch_new", ["b"])
    assert journal.jobs("openai") == {"a": "batch_old", "b": "batch_new"}
    assert journal.jobs("anthropic") == {} and "batch_new" not in earlier.read_text()
