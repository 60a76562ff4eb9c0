"""Numbers and p-values as the report, its takeaways and the CLI tables print them.

Scores are fractions inside and points (percent) when printed. A value that is missing or not
finite prints as `missing` ("–" in tables; sentences say "n/a").
"""

from __future__ import annotations

import math
from typing import Any


def finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def pct(x: float | None, digits: int = 1, *, sign: bool = False, unit: str = "",
        missing: str = "–") -> str:
    """A fraction in points: 0.1234 -> "12.3" (sign: "+12.3"; unit "%": "12.3%")."""
    if not finite(x):
        return missing
    assert x is not None
    return f"{100 * x:{'+' if sign else ''}.{digits}f}{unit}"


def signed(x: float | None) -> str:
    return pct(x, sign=True)


def ci(lo: float | None, hi: float | None, sign: bool = False, brackets: bool = True) -> str:
    """An interval in points: "[61.2, 70.4]", or "61.2–70.4" without brackets."""
    if not (finite(lo) and finite(hi)):
        return "–"
    a, b = pct(lo, sign=sign), pct(hi, sign=sign)
    return f"[{a}, {b}]" if brackets else f"{a}–{b}"


def pval(p: float | None, name: str = "") -> str:
    """A p-value to three decimals, "<0.001" below that, four around 0.05 (0.0496, 0.0504:
    "0.050" hid which side of the threshold it is); with a `name` (p, Holm p...) as
    "Holm p=0.012", "Holm p<0.001" or "Holm p n/a"."""
    if not finite(p):
        return f"{name} n/a" if name else "–"
    assert p is not None
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    if text == "0.050":  # which side of 0.05 it is on decides "significant": show it
        text = f"{p:.4f}"
        if text == "0.0500":  # Holm rejects at p <= alpha: 0.05 itself is significant
            text = "≤0.0500" if p <= 0.05 else ">0.0500"
    if not name:
        return text
    return f"{name}{text}" if text[0] in "<>≤" else f"{name}={text}"


def num(x: float | None, fmt: str = "{:,.0f}") -> str:
    return fmt.format(x) if finite(x) else "–"


def money(x: float | None) -> str:
    """US dollars in the report: "$1.25", or three significant digits under $0.10, written
    out ("$0.0000249": `.3g` wrote $2.49e-05 under $0.0001)."""
    if not finite(x):
        return "–"
    assert x is not None
    return f"${x:,.2f}" if x >= 0.1 else f"${sig3(x)}"


def sig3(x: float) -> str:
    """Three significant digits as `.3g` writes them, but a small number written out
    ("0.0000249", not "2.49e-05")."""
    text = f"{x:.3g}"
    if "e+" in text:  # $1.23e+03
        return f"{float(text):,.0f}"
    if "e-" not in text:
        return text
    digits = 2 - math.floor(math.log10(abs(float(text))))
    return f"{float(text):.{digits}f}".rstrip("0").rstrip(".")


def money_cli(x: float | None) -> str:
    """US dollars in the CLI's efficiency table (no sign; four decimals from $0.01 to $10,
    two significant digits written out below $0.01: a cost per point of $8.1e-05 read 0.0000,
    and $0.0001485 read 0.0001 beside 9.2e-05, a ratio of 1.09 for 1.62)."""
    if not finite(x):
        return "–"
    assert x is not None
    if 0 < abs(x) < 0.01:
        digits = 1 - math.floor(math.log10(abs(float(f"{x:.2g}"))))
        return f"{x:.{digits}f}"
    return f"{x:.4f}" if x < 10 else f"{x:,.2f}"


def json_safe(obj: Any) -> Any:
    """NaN and infinities are not JSON: an undefined value (an SE from one item) becomes null,
    in dicts, lists and tuples at any depth."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
