"""Display strings of the report: numbers, counts, p values, estimates with CIs, tables.

Suppressed cells (text such as ``<5`` or ``suppressed``, :mod:`rwe.privacy`) pass through every
formatter unchanged; a missing value is shown as ``—`` (or as the ``missing`` text asked for).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pandas as pd

from rwe.privacy import SUPPRESSED

#: A table column: its header and the display string of a row (a mapping of column -> value).
Column = tuple[str, Callable[[dict], str]]


def is_missing(v) -> bool:
    """True for None, NaN, pandas.NA and the empty string (an empty CSV cell)."""
    return (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or v is pd.NA
        or (isinstance(v, str) and v == "")
    )


def num(v, digits: int = 1) -> str:
    """A number for display: fixed digits; text (suppressed cells) passes through; missing is —."""
    if isinstance(v, str):
        return v
    if is_missing(v):
        return "—"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def text(v) -> str:
    """Text for display; missing (NaN from an empty CSV cell) is empty."""
    return "" if is_missing(v) else str(v)


def count(v) -> str:
    """A whole count for display; text passes through; missing is —."""
    if isinstance(v, str):
        return v
    return "—" if is_missing(v) else f"{int(v)}"


#: The significance threshold a displayed p value must never be rounded across.
ALPHA = 0.05


def pval(v) -> str:
    """P as journals print it: three decimals, ``<0.001`` below, never rounded across 0.05.

    A p value below 0.05 that three decimals would show as ``0.050`` gets a fourth (0.0497 is
    ``0.0497``; 0.04996 is ``0.0499``, cut rather than rounded up to 0.0500).
    """
    if isinstance(v, str):
        return v
    if is_missing(v):
        return "—"
    if v < 0.001:
        return "<0.001"
    shown = f"{v:.3f}"
    if v < ALPHA <= float(shown):
        shown = f"{v:.4f}"
        if float(shown) >= ALPHA:  # 0.04995 <= p < 0.05: the last four-decimal value below
            shown = f"{ALPHA - 0.0001:.4f}"
    return shown


def p_text(v) -> str:
    """P in a sentence: ``p = 0.003``, ``p < 0.001`` (a suppressed or missing p as is)."""
    shown = pval(v)
    if shown.startswith("<"):
        return f"p < {shown[1:]}"
    return f"p = {shown}" if shown[:1].isdigit() else f"p {shown}"


def pct(v, digits: int = 1) -> str:
    """A proportion shown as a percentage."""
    return v if isinstance(v, str) else ("—" if is_missing(v) else f"{100 * v:.{digits}f}")


def estimate_ci(est, lo, hi, digits=1, scale=1.0, missing="NR") -> str:
    """``est (lo–hi)``; a missing estimate or limit is ``missing`` (not reached).

    With ``missing="—"`` (not estimable) a missing estimate is ``—`` alone, without a CI.
    """
    if SUPPRESSED in (est, lo, hi):
        return SUPPRESSED
    if missing == "—" and not isinstance(est, str) and is_missing(est):
        return "—"

    def f(v):
        if isinstance(v, str):
            return v
        if is_missing(v):
            return missing
        return "∞" if math.isinf(v) else f"{v * scale:.{digits}f}"

    return f"{f(est)} ({f(lo)}–{f(hi)})"


def hr_ci(r, hr="hr", lower="ci_lower", upper="ci_upper") -> str:
    """A hazard ratio with its CI from a row, two decimals; missing is —."""
    return estimate_ci(r[hr], r[lower], r[upper], digits=2, missing="—")


def group(variable, level, name: Callable[[str], str]) -> str:
    """Reader's name of a subgroup level: ``All patients`` or ``<label>: yes/no``.

    ``name`` gives a flag's label (:meth:`rwe.options.ReportOptions.label`).
    """
    if variable == "all":
        return "All patients"
    return f"{name(variable)}: {'yes' if str(level) == '1' else 'no'}"


#: A display string that reads as a number: counts, estimates, CIs, p values, ``<5``, ``NR (…)``.
NUMERIC = re.compile(r"^(?:[<>≤≥−+-]\s?)?(?:\d|∞|NR\b|NE\b)")
#: Cells that are neither text nor number (they do not decide a column's alignment).
NEUTRAL = {"", "—", SUPPRESSED}


def numeric_columns(rows: list[list[str]]) -> list[bool]:
    """Which columns hold numbers only (shown right-aligned), from their display strings."""
    if not rows:
        return []
    flags = []
    for cells in zip(*rows, strict=True):
        shown = [str(c) for c in cells if str(c) not in NEUTRAL]
        flags.append(bool(shown) and all(NUMERIC.match(c) for c in shown))
    return flags


def table(frame: pd.DataFrame, columns: list[Column], caption: str = "", note: str = "") -> dict:
    """A table for the template: header labels and rows of display strings."""
    rows = [[fmt(r) for _, fmt in columns] for r in frame.to_dict("records")]
    return {"header": [h for h, _ in columns], "rows": rows, "caption": caption, "note": note}


def missing(message: str) -> dict:
    """A table that is not shown, and why (rendered as a highlighted note)."""
    return {"missing": message}
