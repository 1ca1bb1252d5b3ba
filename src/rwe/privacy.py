"""Small-cell suppression of shareable tables (DESIGN.md §8).

With ``min_cell_count`` k > 0, every count from 1 to k − 1 is replaced by ``<k``, and the
statistics of a group that small (its percentages, medians, CIs) by ``suppressed``. Zero is a
fact that identifies nobody and is kept.
"""

from __future__ import annotations

import pandas as pd

SUPPRESSED = "suppressed"

#: Per table: count columns, the column holding the group size, and the columns that
#: describe that group (suppressed with it).
RULES: dict[str, tuple[list[str], str | None, list[str]]] = {
    "baseline": (["n"], "N", ["percent", "median", "min", "max"]),
    "response": (["n_evaluable", "sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"], "n_evaluable",
                 ["orr", "orr_ci_lower", "orr_ci_upper", "cbr", "cbr_ci_lower", "cbr_ci_upper"]),
    "response_tests": (["n_1", "n_0"], None, []),
    "km_medians": (["n", "events"], "n", ["median", "ci_lower", "ci_upper"]),
    "km_landmarks": (["n_risk"], None, []),
    "cox": (["n", "events"], "n", ["hr", "ci_lower", "ci_upper", "p"]),
    "adverse_events": (["n"], "N", ["percent"]),
    "nadir": (["n"], "n", ["median", "min", "max"]),
    "nadir_tests": (["n_1", "n_2"], None, []),
    "exposure_response": (["n", "events"], "n", []),
    "attrition": (["n_in", "n_excluded", "n_out"], None, []),
}  # fmt: skip


def _small(value, k: int) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return 0 < v < k


def suppress_small_cells(
    table: pd.DataFrame,
    k: int,
    count_columns: list[str],
    group_size_column: str | None = None,
    dependent_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Replace counts 1..k−1 by ``<k`` and the statistics of groups smaller than k.

    Parameters
    ----------
    table : pandas.DataFrame
        An aggregate table.
    k : int
        ``min_cell_count``; 0 or 1 returns the table unchanged.
    count_columns : list of str
        Columns holding counts of patients.
    group_size_column : str, optional
        Column holding the size of the group a row describes.
    dependent_columns : list of str, optional
        Columns describing that group (percent, median, CI …), suppressed with it.

    Returns
    -------
    pandas.DataFrame
        A copy; suppressed cells are text.
    """
    if k <= 1 or table.empty:
        return table.copy()
    out = table.astype(object).copy()
    small_group = pd.Series(False, index=table.index)
    if group_size_column and group_size_column in table.columns:
        small_group = table[group_size_column].map(lambda v: _small(v, k))
    for col in count_columns:
        if col in table.columns:
            mask = table[col].map(lambda v: _small(v, k))
            out.loc[mask, col] = f"<{k}"
    for col in dependent_columns or []:
        if col in table.columns:
            out.loc[small_group, col] = SUPPRESSED
    # A percentage of a small count identifies as much as the count itself.
    if "percent" in table.columns and "n" in table.columns:
        out.loc[table["n"].map(lambda v: _small(v, k)), "percent"] = SUPPRESSED
    return out


def suppress_table(name: str, table: pd.DataFrame, k: int) -> pd.DataFrame:
    """Apply the suppression rule of the named output table (unchanged if it has none)."""
    counts, size, dependents = RULES.get(name, ([], None, []))
    return suppress_small_cells(table, k, counts, size, dependents)
