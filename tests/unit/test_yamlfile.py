"""A user's YAML read strictly: a key given twice is refused, a merge key's is not."""

from __future__ import annotations

import pytest
import yaml

from shootout import yamlfile


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "{x: 1, x: 1}", "- {k: 1, k: 2}",
                                  "m:\n  n: {p: 1}\n  n: {p: 2}\n"])
def test_a_key_given_twice_is_refused(text: str) -> None:
    assert isinstance(yaml.safe_load(text), dict | list)  # what PyYAML alone accepts
    with pytest.raises(yaml.YAMLError, match="is given twice"):
        yamlfile.load(text)


def test_a_merged_key_may_be_overridden() -> None:
    text = "base: &b {temperature: 0.5, top_p: 0.9}\nm: {<<: *b, temperature: 0.7}\n"
    assert yamlfile.load(text) == yaml.safe_load(text)
    assert yamlfile.load(text)["m"] == {"temperature": 0.7, "top_p": 0.9}


@pytest.mark.parametrize(("text", "says"), [
    ("seed: 2025-02-30\n", "cannot read '2025-02-30' as timestamp"),
    ("price: {as_of: 2025-13-45}\n", "cannot read '2025-13-45' as timestamp"),
    ("seed: !!int abc\n", "cannot read 'abc' as int"),
    ("seed: !!float abc\n", "cannot read 'abc' as float"),
    ("seed: !!bool maybe\n", "cannot read 'maybe' as bool"),
    ("seed: !!timestamp abc\n", "cannot read 'abc' as timestamp"),
])
def test_a_value_yaml_cannot_build_is_a_yaml_error_at_its_line(text: str, says: str) -> None:
    """PyYAML raised ValueError, KeyError or AttributeError of its own for these: an internal
    error (exit 70) for a run config, a profiles file or a price table (an audit's)."""
    with pytest.raises(yaml.YAMLError, match=says) as got:
        yamlfile.load(text)
    assert "line 1" in str(got.value)


def test_a_config_with_an_impossible_date_is_one_line_exit_2(tmp_path, capsys) -> None:
    from shootout.cli.main import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text("models: [local]\nbenchmarks: [arc_easy]\nseed: 2025-02-30\n")
    with pytest.raises(SystemExit) as e:
        main(["run", "-c", str(cfg), "--dry-run", "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert f"{cfg}:3: cannot read '2025-02-30' as timestamp" in err, err


@pytest.mark.parametrize(("text", "says"), [
    ("yes: x\n", "(top level): the key True is not text: YAML reads yes/no/on/off"),
    ("5: x\n", "(top level): the key 5 is not text"),
    ("benchmarks: [{name: arc_easy, options: {2025-01-01: x}}]\n",
     "benchmarks.0.options: the key datetime.date(2025, 1, 1) is not text"),
])
def test_a_key_yaml_read_as_no_text_is_named(text: str, says: str, tmp_path, capsys) -> None:
    """`yes: x` said "1: Keys should be strings", a date key "datetime.date(2025, 1, 1).[key]"
    (an audit's)."""
    from shootout.cli.main import main

    cfg = tmp_path / "c.yaml"
    body = text if text.startswith("benchmarks") else "benchmarks: [arc_easy]\n" + text
    cfg.write_text("models: [local]\n" + body)
    with pytest.raises(SystemExit) as e:
        main(["run", "-c", str(cfg), "--dry-run", "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and f"{cfg}: {says}" in err, err
