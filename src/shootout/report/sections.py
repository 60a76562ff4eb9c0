"""Report sections added from outside the report package: a title and a function of the built
report that returns paragraphs and tables. Registered sections render in both the Markdown and
the HTML report, after the per-item evidence and before the methodology.

    @register_section("Cost per model")
    def cost_section(report: Report) -> SectionContent:
        return SectionContent(paragraphs=("...",), tables=(Table(...),))

A package registers its sections through the `shootout.report_sections` entry-point group (the
value names the function; its `__section_title__` attribute, set by `register_section`, is the
title).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .tables import Table

if TYPE_CHECKING:
    from .build import Report

ENTRY_POINT_GROUP = "shootout.report_sections"


@dataclass(frozen=True)
class SectionContent:
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    # chart specs (`shootout.report.specs`: BarSpec...), drawn after the tables
    charts: tuple[Any, ...] = ()


SectionFn = Callable[["Report"], SectionContent | None]
_SECTIONS: dict[str, SectionFn] = {}


def register_section(title: str) -> Callable[[SectionFn], SectionFn]:
    """Add a section titled `title` to every report (a decorator)."""

    def add(fn: SectionFn) -> SectionFn:
        fn.__section_title__ = title  # type: ignore[attr-defined]
        _SECTIONS[title] = fn
        return fn

    return add


def unregister_section(title: str) -> None:
    _SECTIONS.pop(title, None)


def _plugins() -> dict[str, SectionFn]:
    found: dict[str, SectionFn] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        fn = ep.load()
        found[str(getattr(fn, "__section_title__", ep.name))] = fn
    return found


# the built-in sections' modules (imported, they register), and their sections' titles in the
# order they are shown: each section's place, and so its id in the HTML, whatever order the
# modules were imported in (it had followed the imports, which differ between a report built
# and one served). A title registered again (a user's own "Function calling") keeps its place.
_BUILT_IN = ("coding", "loadtest", "availability", "function_calling", "integration", "safety",
             "routing", "judged", "prompt_sensitivity", "translation")
_ORDER = ("Coding by language", "Load tests", "Availability", "Function calling",
          "Integration: JSON mode and structured outputs", "Safety: refusal and over-refusal",
          "Routing policies", "Writing and open-ended quality", "Prompt sensitivity",
          "Translation")


def _all() -> dict[str, SectionFn]:
    import importlib

    from . import deployment

    for name in _BUILT_IN:
        importlib.import_module(f"{__package__}.{name}")
    found = {**_plugins(), **{t: _SECTIONS[t] for t in _ORDER if t in _SECTIONS},
             **{t: fn for t, fn in _SECTIONS.items() if t not in _ORDER}}
    # the published analysis's last part, after every other section
    last = found.pop(deployment.TITLE, None)
    return found if last is None else {**found, deployment.TITLE: last}


def extra_sections(report: Report) -> list[dict[str, Any]]:
    """The registered sections' content for the templates (a section returning None is left
    out: it has nothing to say about these runs)."""
    out = []
    for i, (title, fn) in enumerate(_all().items()):
        content = fn(report)
        if content is not None:
            out.append({"id": f"extra-{i}", "title": title,
                        "paragraphs": list(content.paragraphs), "tables": list(content.tables),
                        "charts": [c.id for c in content.charts]})
    return out


def section_charts(report: Report) -> list[Any]:
    """The chart specs of every registered section, for the renderers to draw."""
    return [c for fn in _all().values() if (content := fn(report)) for c in content.charts]


def absent_note(report: Report, bench: str, shown: Collection[str]) -> str:
    """The models a section's `bench` table leaves out because every request of theirs on
    it failed, said ("" where none is): such a model vanished from the Translation and
    Writing sections without a word (an audit's)."""
    missing = [m for m in report.data.labels
               if m not in shown and (m, bench) in report.data.unanswered]
    if not missing:
        return ""
    return (f"{', '.join(missing)}: no score on {bench} (every request failed; the results "
            "table says why).")
