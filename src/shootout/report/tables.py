"""Table structures shared by the Markdown and HTML renderers, and number formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


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


def cell(text: str, **kw: object) -> TCell:
    return TCell(text, **kw)  # type: ignore[arg-type]


def lcell(text: str, **kw: object) -> TCell:
    return TCell(text, left=True, **kw)  # type: ignore[arg-type]


def ok(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def pct(x: float | None, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}" if ok(x) else "–"


def signed(x: float | None) -> str:
    return f"{100 * x:+.1f}" if ok(x) else "–"


def ci(lo: float | None, hi: float | None, sign: bool = False) -> str:
    if not (ok(lo) and ok(hi)):
        return "–"
    f = signed if sign else pct
    return f"[{f(lo)}, {f(hi)}]"


def pval(p: float | None) -> str:
    if not ok(p):
        return "–"
    assert p is not None
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def num(x: float | None, fmt: str = "{:,.0f}") -> str:
    return fmt.format(x) if ok(x) else "–"


def money(x: float | None) -> str:
    if not ok(x):
        return "–"
    assert x is not None
    return f"${x:,.2f}" if x >= 0.1 else f"${x:.3g}"


def params(n: int | None) -> str:
    if not n:
        return "–"
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def date(ts: float | None) -> str:
    if not ok(ts):
        return "–"
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
