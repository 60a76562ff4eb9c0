"""Usage mistakes get the parser's own message on one line and exit 2, never exit 70.

Exit 70 is reserved for bugs in shootout. typer >= 0.2x vendors click, so its parser raises
exceptions that are not `click.ClickException`s; before they were caught, every line below
ended as "internal error NoSuchOption ..." with exit 70.
"""

from __future__ import annotations

import shlex

import pytest

from shootout.cli.main import main

CASES = [
    # unknown options, with the parser's suggestion where it has one
    ("run --model local --no-such-flag",
     "error: No such option: --no-such-flag. "
     "Try 'shootout run --help' for help."),
    # a model or benchmark flag that stands for -M/-o, given without its value
    ("run -m local --n-ctx", "error: --n-ctx needs a value"),
    ("run -m local --haystack", "error: --haystack needs a value"),
    # a flag after it was taken as its value (`--n-ctx --dry-run`: n_ctx not an integer)
    ("run -m local --n-ctx --dry-run -b arc_easy",
     "error: --n-ctx needs a value (it was followed by --dry-run)"),
    ("run --limt 3",
     "error: No such option: --limt (Possible options: --limit). "
     "Try 'shootout run --help' for help."),
    ("results --jsn",
     "error: No such option: --jsn (Possible options: --json). "
     "Try 'shootout results --help' for help."),
    ("list --json", "error: No such option: --json. Try 'shootout list --help' for help."),
    # unknown commands
    ("frobnicate", "error: No such command 'frobnicate'. Try 'shootout --help' for help."),
    ("runn", "error: No such command 'runn'. Did you mean 'run', 'runs'? Try 'shootout --help' "
     "for help."),
    # malformed values
    ("run --limit abc",
     "error: Invalid value for '--limit': Input should be a valid integer, unable to parse "
     "string as an integer. Try 'shootout run --help' for help."),
    ("run --seed 1.5",
     "error: Invalid value for '--seed': Input should be a valid integer, unable to parse "
     "string as an integer. Try 'shootout run --help' for help."),
    ("run --temperature hot",
     "error: Invalid value for '--temperature': Input should be a valid number, unable to "
     "parse string as a number. Try 'shootout run --help' for help."),
    ("run --concurrency x",
     "error: Invalid value for '--concurrency': Input should be a valid integer, unable to "
     "parse string as an integer. Try 'shootout run --help' for help."),
    ("run --protocol foo",
     "error: Invalid value for '--protocol': Value error, 'foo' is not one of 'reference', "
     "'seed'. Try 'shootout run --help' for help."),
    ("run --json=yes",
     "error: Option '--json' does not take a value. Try 'shootout run --help' for help."),
    # missing values and arguments
    ("run -m", "error: Option '-m' requires an argument. Try 'shootout run --help' for help."),
    ("run -b", "error: Option '-b' requires an argument. Try 'shootout run --help' for help."),
    ("report --items",
     "error: Option '--items' requires an argument. Try 'shootout report --help' for help."),
    ("perf --concurrency",
     "error: Option '--concurrency' requires an argument. Try 'shootout perf --help' for help."),
    ("list", "error: Missing argument 'what'. Try 'shootout list --help' for help."),
    ("arch", "error: Missing argument 'config'. Try 'shootout arch --help' for help."),
    # a roofline option without the roofline (--batch was dropped without a word: an audit's)
    ("arch local --batch 8", "error: --batch set the roofline: give --accelerator too"),
    # extra arguments
    ("run extra_arg",
     "error: Got unexpected extra argument(s) (extra_arg). Try 'shootout run --help' for help."),
    ("results r-1 r-2",
     "error: Got unexpected extra argument(s) (r-2). Try 'shootout results --help' for help."),
    ("list benchmarks needle extra",
     "error: Got unexpected extra argument(s) (extra). Try 'shootout list --help' for help."),
    # a name after `list benchmarks` is one benchmark's options: an unknown one is one line
    ("list benchmarks extra",
     "error: unknown benchmark 'extra'; `shootout list benchmarks` shows them all"),
    # a flag in the wrong place
    ("--limit 5 run",
     "error: No such option: --limit (--limit is an option of 'shootout run': put it after "
     "'run'). Try 'shootout --help' for help."),
    # out-of-range values are refused by the run configuration, also as usage (exit 2)
    ("run --repeats -1",
     "error: command line: repeats: Input should be greater than or equal to 1 (got -1)"),
    ("run --temperature nan",
     "error: command line: sampling.temperature: Input should be a finite number (got nan)"),
    ("run --temperature 2.5",
     "error: command line: sampling.temperature: Input should be less than or equal to 2 "
     "(got 2.5)"),
    ("run --scoring nope",
     "error: command line: models.0.scoring: Input should be 'auto', 'loglikelihood' or "
     "'generative'"),
    # an option no benchmark of the run has names the benchmarks that have it
    ("run -m local -b gsm8k --judge x",
     "error: --judge (-o 'judge=x'): no benchmark of this run has the option 'judge' (it is "
     "an option of mt_bench, xstest)"),
    ("run -m openai:gpt-4o -b gsm8k --n-ctx 4096",
     "error: --n-ctx (-M 'n_ctx=4096'): openai:gpt-4o has no option 'n_ctx'"),
    ("run -m local -b gsm8k -o judge=x",
     "error: -o 'judge=x': no benchmark of this run has the option 'judge' (it is an option "
     "of mt_bench, xstest)"),
    ("run -c a.yaml -m local",
     "error: --model cannot be used with --config: set it in the configuration file"),
]


@pytest.mark.parametrize(("line", "first_line"), CASES, ids=[c[0] for c in CASES])
def test_usage_error_is_one_line_with_exit_2(line, first_line, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the store a run would open is created here, not in the repo
    with pytest.raises(SystemExit) as exc:
        main(shlex.split(line))
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert exc.value.code == 2, err
    assert lines == [first_line]


def test_debug_is_accepted_after_the_subcommand(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # without --debug: one line; with it anywhere: the ConfigError's traceback
    with pytest.raises(SystemExit):
        main(["results", "--json"])
    assert capsys.readouterr().err.startswith("error: no results store")
    from shootout.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["results", "--json", "--debug"])


def test_version(capsys):
    main(["--version"])  # returns: exit status 0
    from shootout import __version__

    assert capsys.readouterr().out.strip() == f"shootout {__version__}"


def test_an_internal_error_says_it_is_a_bug_with_the_version(capsys, monkeypatch):
    import shootout.cli.listing as listing
    from shootout import __version__

    def broken() -> list[str]:
        raise KeyError("boom")

    monkeypatch.setattr(listing, "describe_specs", broken)
    with pytest.raises(SystemExit) as exc:
        main(["list", "models"])
    lines = capsys.readouterr().err.splitlines()
    assert exc.value.code == 70
    assert len(lines) == 1
    assert lines[0].startswith("error: internal error KeyError: 'boom'. This is a bug in ")
    assert f"shootout {__version__}" in lines[0] and "issue tracker" in lines[0]


def test_names_users_bring_from_lm_eval(data_dir):
    """`truthfulqa` is lm-eval's group (mc1, mc2; its judged generative task is absent here)
    and `mmlu_<subject>` its per-subject task; a near miss gets the exact suggestion."""
    from shootout.benchmarks import expand_benchmarks, get_benchmark_class
    from shootout.data import DataDir
    from shootout.errors import UnknownBenchmarkError

    assert expand_benchmarks(["truthfulqa"]) == ["truthfulqa_mc1", "truthfulqa_mc2"]
    cls = get_benchmark_class("mmlu_anatomy")
    docs = cls(data=DataDir(data_dir)).load()
    assert cls.name == "mmlu_anatomy" and len(docs) == 135
    assert {d.group for d in docs} == {"anatomy"}
    with pytest.raises(UnknownBenchmarkError, match="did you mean mmlu_anatomy"):
        get_benchmark_class("mmlu_anatomie")
    # in capitals: "ARC_EASY" had no suggestion (every letter differs from arc_easy)
    with pytest.raises(UnknownBenchmarkError, match=r"did you mean arc_easy\?"):
        get_benchmark_class("ARC_EASY")


def test_a_command_line_value_over_a_config_file_is_not_blamed_on_the_file(
        tmp_path, capsys, monkeypatch, data_dir):
    """`-c run.yaml --max-cost -1` said "run.yaml: max_cost: ..." of a file with no max_cost
    in it (an audit's); an error of the file's own is still the file's."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "run.yaml"
    cfg.write_text("models: [local]\nbenchmarks: [arc_easy]\n")
    for extra, says in ((["--max-cost", "-1"], "max_cost: Input should be greater than 0"),
                        (["-M", "n_ctx=abc"], "n_ctx: Input should be a valid integer")):
        with pytest.raises(SystemExit) as e:
            main(["run", "-c", str(cfg), *extra, "--dry-run"])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"error: command line (over {cfg}): ") and says in err, err
    cfg.write_text("models: [local]\nbenchmarks: [arc_easy]\nlimit: -5\n")
    with pytest.raises(SystemExit) as e:
        main(["run", "-c", str(cfg), "--max-cost", "1", "--dry-run"])
    assert capsys.readouterr().err.startswith(f"error: {cfg}: limit: ")
    # a file valid only with the command line's value still runs (a review's: checked
    # alone first, `thinking: adaptive` without the budget `-M` gives was refused)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("SHOOTOUT_DATA", str(data_dir))
    cfg.write_text('models: [{spec: "anthropic:claude-opus-4-7", thinking: adaptive}]\n'
                   "benchmarks: [arc_easy]\nlimit: 1\n")
    main(["run", "-c", str(cfg), "-M", "thinking_budget=1024", "--dry-run"])
    assert "error" not in capsys.readouterr().err
