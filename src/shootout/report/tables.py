"""Table structures shared by the Markdown and HTML renderers (numbers: `analysis.formatting`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..analysis.formatting import finite


@dataclass(frozen=True)
class TCell:
    text: str
    bold: bool = False
    mark: str = ""  # a suffix such as "≈" (within noise of the best)
    title: str = ""  # hover text in HTML
    left: bool = False


@dataclass(frozen=True)
class Table:
    id: str
    headers: tuple[str, ...]
    rows: tuple[tuple[TCell, ...], ...]
    left_cols: int = 1  # leading columns aligned left

    def md(self) -> str:
        """GitHub-flavoured Markdown."""
        head = "| " + " | ".join(_md_escape(h) for h in self.headers) + " |"
        sep = "|" + "|".join(
            "---" if i < self.left_cols else "---:" for i in range(len(self.headers))
        ) + "|"
        body = []
        for row in self.rows:
            cells = []
            for c in row:
                t = _md_escape(c.text)
                if c.bold and t:
                    t = f"**{t}**"
                cells.append(t + (f" {c.mark}" if c.mark else ""))
            body.append("| " + " | ".join(cells) + " |")
        return "\n".join([head, sep, *body])


def _md_escape(s: str) -> str:
    return " ".join(str(s).replace("|", "\\|").split())


def cell(text: str, *, bold: bool = False, mark: str = "", title: str = "") -> TCell:
    return TCell(text, bold=bold, mark=mark, title=title)


def lcell(text: str, *, bold: bool = False, mark: str = "", title: str = "") -> TCell:
    return TCell(text, bold=bold, mark=mark, title=title, left=True)


def params(n: int | None) -> str:
    if not n:
        return "–"
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def date(ts: float | None) -> str:
    if not finite(ts):
        return "–"
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
