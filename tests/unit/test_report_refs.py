"""report.refs: the report's models, in the configuration's order."""

from __future__ import annotations

from shootout.report.refs import model_refs


def test_unnamed_models_keep_the_configurations_order() -> None:
    """An unnamed model's samples are stored under its display name ("gpt-4o-mini" for
    `openai:gpt-4o-mini`), which the configuration's `spec` did not match: the named model
    came first and the rest sorted after (an audit's: the demo's base model came last)."""
    spec = {"models": [{"spec": "openai:zeta-model"}, {"spec": "openai:x", "name": "beta"},
                       {"spec": "openai:alpha-model"}]}
    scored = {"alpha-model", "beta", "zeta-model"}
    refs = model_refs([("r-1", spec, scored)])
    assert [r.label for r in refs] == ["zeta-model", "beta", "alpha-model"]
    # a model with samples that the configuration does not list comes after, sorted
    refs = model_refs([("r-1", spec, scored | {"extra"})])
    assert [r.label for r in refs] == ["zeta-model", "beta", "alpha-model", "extra"]
