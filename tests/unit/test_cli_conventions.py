"""Habits users bring from other tools (issue 20): `--tasks` for `--benchmarks`, shell
completion, `--debug` anywhere, and options that `--config` or `--resume` would silently
ignore refused with one line."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
import typer

from shootout.cli.main import app, main

RUN = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]


def test_tasks_is_another_name_for_benchmarks():
    for flag in ("--tasks", "--benchmarks", "-b"):
        ctx = RUN.make_context("run", [flag, "gsm8k,mmlu"])
        assert ctx.params["benchmarks"] == ["gsm8k,mmlu"]  # repeatable: one value each


IGNORED = [
    ("run -c a.yaml --limit 5",
     "error: --limit cannot be used with --config: set it in the configuration file"),
    ("run -c a.yaml --temperature 0.5",
     "error: --temperature cannot be used with --config: set it in the configuration file"),
    # which spelling was typed is not kept: both are named (it named --benchmarks alone)
    ("run --config a.yaml --tasks gsm8k",
     "error: --benchmarks/--tasks cannot be used with --config: set it in the configuration "
     "file"),
    ("run --resume r-1 --samples 3",
     "error: --repeats/--samples cannot be used with --resume: the run continues with its "
     "stored configuration"),
    # given on the command line, even at its default value, it is refused
    ("run --resume r-1 --seed 1234",
     "error: --seed cannot be used with --resume: the run continues with its stored "
     "configuration"),
    ("run --resume r-1 -m local",
     "error: --model cannot be used with --resume: the run continues with its stored "
     "configuration"),
    ("run --resume r-1 -o needle.lengths=1k",
     "error: -o needle.lengths=1k cannot be used with --resume: the run continues with "
     "its stored configuration"),
    # -o is named as typed (it said --option); a flag expanded to -o or -M is named as typed
    # (it named --option, --model-arg)
    ("run --resume r-1 --needle-lengths 1k",
     "error: --needle-lengths (-o needle.lengths=1k) cannot be used with --resume: the "
     "run continues with its stored configuration"),
    ("run --resume r-1 --judge fa",
     "error: --judge (-o judge=fa) cannot be used with --resume: the run continues "
     "with its stored configuration"),
    ("run --resume r-1 --batch",
     "error: --batch (-M batch=true) cannot be used with --resume: the run "
     "continues with its stored configuration"),
    ("run --resume r-1 -c a.yaml",
     "error: --config cannot be used with --resume: the run continues with its stored "
     "configuration"),
    # adaptive repeats' flags asked for --repeats auto, which -c then refused (an audit's)
    ("run -c a.yaml --target-se 0.1",
     "error: --target-se cannot be used with --config: set target_se:/max_repeats: in the "
     "configuration file"),
    ("run -ca.yaml --target-se 0.1",
     "error: --target-se cannot be used with --config: set target_se:/max_repeats: in the "
     "configuration file"),
    ("run --config=a.yaml --max-repeats 5",
     "error: --max-repeats cannot be used with --config: set target_se:/max_repeats: in the "
     "configuration file"),
    ("run --resume r-1 --max-repeats 5",
     "error: --max-repeats cannot be used with --resume: the run continues with its stored "
     "configuration"),
]


@pytest.mark.parametrize(("line", "message"), IGNORED, ids=[c[0] for c in IGNORED])
def test_options_that_config_or_resume_would_ignore_are_refused(line, message, tmp_path,
                                                                capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(shlex.split(line))
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [message]


def test_what_still_applies_with_resume_is_accepted(tmp_path, capsys, monkeypatch):
    """--store, --json, --no-progress, --data-dir: the resume goes on to look the run up."""
    from shootout.store import Store

    monkeypatch.chdir(tmp_path)
    Store(tmp_path / "s.sqlite").close()
    with pytest.raises(SystemExit) as exc:
        main(["run", "--resume", "r-1", "--json", "--no-progress", "--data-dir", "d",
              "--store", str(tmp_path / "s.sqlite")])
    assert exc.value.code == 2
    assert "no run 'r-1'" in capsys.readouterr().err


def test_a_resume_in_a_store_that_does_not_exist_creates_none(tmp_path, capsys, monkeypatch):
    """A mistyped --store with --resume says there is no store there, and leaves no empty
    store behind (it had created one)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--resume", "r-1", "--store", str(tmp_path / "typo.sqlite")])
    assert exc.value.code == 2
    assert capsys.readouterr().err == \
        f"error: no results store at {tmp_path / 'typo.sqlite'}; run `shootout run` first\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", [0, 1, 3])
def test_debug_is_accepted_anywhere(tmp_path, where, monkeypatch):
    from shootout.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    args = ["runs", "--store", "none.sqlite"]
    args.insert(where, "--debug")
    with pytest.raises(ConfigError):  # --debug: the exception itself, not one line
        main(args)


def _shootout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shootout", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def test_shell_completion_completes_commands_and_installs(tmp_path):
    got = _shootout({"_SHOOTOUT_COMPLETE": "complete_bash", "COMP_WORDS": "shootout ru",
                     "COMP_CWORD": "1"})
    assert got.returncode == 0 and got.stdout.split() == ["run", "runs"]
    got = _shootout({"_SHOOTOUT_COMPLETE": "complete_bash", "COMP_WORDS": "shootout export x --fo",
                     "COMP_CWORD": "3"})
    assert got.stdout.split() == ["--format"]
    # the shell named, not detected: typer asks shellingham, which reads the process tree
    # and, in a full test run, sometimes finds no shell ("Shell None is not supported")
    installed = _shootout({"HOME": str(tmp_path), "SHELL": "/bin/bash",
                           "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
                          "--install-completion", "bash")
    assert installed.returncode == 0, installed.stderr
    assert "shootout" in (tmp_path / ".bashrc").read_text()


def test_run_help_names_every_flag_that_stands_for_an_option():
    """`--judge`, `--haystack`, `--n-ctx`... are expanded before parsing, so they are not
    parameters of `run`: its help has to name each one (the README uses `--judge`)."""
    from shootout.cli.aliases import (
        FLAG_ALIASES,
        MODEL_FLAG_ALIASES,
        MODEL_OPTION_ALIASES,
        OPTION_ALIASES,
        RUN_OPTION_ALIASES,
    )

    text = " ".join((RUN.help or "").split())
    for table in (OPTION_ALIASES, FLAG_ALIASES, MODEL_OPTION_ALIASES, MODEL_FLAG_ALIASES,
                  RUN_OPTION_ALIASES):
        for flag in table:
            assert flag in text, flag


def test_a_servers_escape_sequences_reach_the_terminal_escaped(tmp_path, capsys, monkeypatch,
                                                              data_dir):
    """A server's 400 whose body holds terminal escapes (a colour, a window title): the
    error line shows them as \\x1b, it does not send them to the terminal."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from shootout.cli.main import main

    body = "\x1b[31mred\x1b]0;pwned\x07"  # (not JSON: a proxy's page)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(400)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    try:
        with pytest.raises(SystemExit) as e:
            main(["run", "-m", "openai:m", "--base-url",
                  f"http://127.0.0.1:{httpd.server_address[1]}/v1", "-b", "arc_easy",
                  "--limit", "1", "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capsys.readouterr().err
    assert e.value.code != 0
    line = next(x for x in err.splitlines() if x.startswith("error:"))
    assert "\x1b" not in line and "\x07" not in line
    assert "\\x1b[31mred" in line


@pytest.mark.parametrize("opt", [".x=1", "=1", "x", "arc_easy.=1"])
def test_an_option_without_a_benchmark_or_key_says_the_form(opt):
    """`-o .x=1` read "is not among this run's benchmarks" with no name in it (an audit's)."""
    from shootout.cli.run_config import parse_options
    from shootout.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        parse_options([opt], ["arc_easy"])
    assert str(e.value) == f"-o {opt!r}: expected BENCH.KEY=VALUE (or KEY=VALUE)"


def test_the_command_list_gives_each_command_one_sentence_on_unbroken_lines():
    """`shootout --help` at 80 columns broke `runs`, `rescore`, `view` and `merge` mid-
    sentence (their docstrings' hard line breaks) and showed `view`'s whole paragraph."""
    from shootout.cli.main import COMMANDS, load_command

    for name in COMMANDS:
        short = load_command(name).short_help
        assert short and "\n" not in short and "  " not in short, (name, short)
        assert short.endswith(".") and ". " not in short.rstrip("."), (name, short)


def test_a_top_level_options_key_says_where_options_go():
    """A top-level `options:` was refused with a bare "Extra inputs are not permitted"."""
    from shootout.config import validate_config
    from shootout.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        validate_config({"models": ["local"], "benchmarks": ["needle"],
                         "options": {"needle": {"lengths": "1k"}}}, "run.yaml")
    assert str(e.value) == (
        "run.yaml: options: Extra inputs are not permitted: a benchmark's options go on its "
        "entry, `benchmarks: [{name: BENCH, options: {KEY: VALUE}}]`")


@pytest.mark.parametrize(("preset", "as_program", "want"),
                         [({}, True, "1"), ({"OPENBLAS_NUM_THREADS": "3"}, True, "3"),
                          ({"OMP_NUM_THREADS": "4"}, True, None),
                          ({"GOTO_NUM_THREADS": "4"}, True, None), ({}, False, None)])
def test_the_program_keeps_openblas_to_one_thread_unless_told(preset, as_program, want):
    """`shootout` (the program) has numpy's OpenBLAS run one thread per process, as it reads
    OPENBLAS_NUM_THREADS when numpy is first imported: its threads, spinning between a
    report's small products, took the cores of its forked processes. A value the user set
    (there or in the variables OpenBLAS reads after it) is kept, and a caller's process
    (`main(argv)`) is left as it is. No numpy before main."""
    code = (
        "import os, sys\n"
        "import shootout.cli.main as m\n"
        "assert 'numpy' not in sys.modules, 'numpy imported before main'\n"
        "sys.argv = ['shootout', '--version']\n"
        f"args = None if {as_program} else ['--version']\n"
        "try:\n"
        "    m.main(args)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")}
    env.update(preset)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == str(want)
