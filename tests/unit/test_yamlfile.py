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
