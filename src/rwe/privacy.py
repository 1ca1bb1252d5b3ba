"""Small-cell suppression of the report and of the shareable tables (DESIGN.md §8).

With ``min_cell_count`` k > 0, every count from 1 to k − 1 is written ``<k``, and a statistic
that describes a group that small (its percentage, median, range, CI, rate) is written
``suppressed``. Zero identifies nobody and is kept. A percentage whose numerator is a small count
(7.5 % of 40 = 3 patients) is suppressed with it, since it tells the count.

This is primary suppression only: a hidden cell can sometimes be recovered from the totals of
the other cells (secondary suppression is not attempted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from rwe.cuts import COUNT_STATISTICS

SUPPRESSED = "suppressed"

_RESPONSE_COUNTS = [
    "n_evaluable",
    "sCR",
    "CR",
    "VGPR",
    "PR",
    "MR",
    "SD",
    "PD",
    "NE",
    "n_not_evaluable",
    "n_missing",
]


def _numerator(rate: str, size: str) -> Callable[[pd.DataFrame], pd.Series]:
    """Count behind a proportion column (``rate * size``), for tables that hold only the rate."""

    def count(frame: pd.DataFrame) -> pd.Series:
        rates = pd.to_numeric(frame[rate], errors="coerce")
        sizes = pd.to_numeric(frame[size], errors="coerce")
        return (rates * sizes).round()

    return count


def _count_on_rows(column: str, statistics) -> Callable[[pd.DataFrame], pd.Series]:
    """``column`` where it holds a count: on the rows whose ``statistic`` is one of ``statistics``.

    For long tables with one row per statistic (cox_diagnostics, changes), where the same
    column holds counts on some rows and estimates on others.
    """

    def count(frame: pd.DataFrame) -> pd.Series:
        is_count = frame["statistic"].isin(list(statistics))
        return pd.to_numeric(frame[column], errors="coerce").where(is_count)

    return count


_DIAGNOSTIC_COUNT = _count_on_rows("value", ("n", "events", "n_dropped"))


#: Per output table: ``counts`` (columns of patient counts), ``dependent`` (column -> the count
#: columns whose smallness hides it) and ``derived`` (hidden helper counts, e.g. the numerator
#: of a rate, available to ``dependent`` and dropped afterwards).
RULES: dict[str, dict] = {
    "attrition": {"counts": ["n_in", "n_excluded", "n_out"]},
    "data_quality": {"counts": ["n_missing"], "dependent": {"percent_missing": ["n_missing"]}},
    "plausibility": {"counts": ["n_rows"]},
    "baseline": {
        "counts": ["n", "N"],
        "dependent": {c: ["n", "N"] for c in ("percent", "median", "min", "max")},
    },
    "response": {
        "counts": _RESPONSE_COUNTS,
        "derived": {"_orr_n": _numerator("orr", "n_evaluable"), "_cbr_n": _numerator("cbr", "n_evaluable")},
        "dependent": {
            **{c: ["n_evaluable", "_orr_n"] for c in ("orr", "orr_ci_lower", "orr_ci_upper")},
            **{c: ["n_evaluable", "_cbr_n"] for c in ("cbr", "cbr_ci_lower", "cbr_ci_upper")},
        },
    },
    "response_tests": {
        "counts": ["n_1", "n_0"],
        "derived": {"_r1": _numerator("rate_1", "n_1"), "_r0": _numerator("rate_0", "n_0")},
        "dependent": {"rate_1": ["n_1", "_r1"], "rate_0": ["n_0", "_r0"], "odds_ratio": ["n_1", "n_0", "_r1", "_r0"]},
    },
    "km_medians": {
        "counts": ["n", "events", "n_missing"],
        "dependent": {c: ["n"] for c in ("median", "ci_lower", "ci_upper")},
    },
    "km_landmarks": {"counts": ["n_risk"]},
    "logrank": {"counts": ["n_missing"]},
    "cox": {
        "counts": ["n", "events", "n_dropped"],
        "dependent": {c: ["n", "events"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "cox_diagnostics": {"derived": {"_count": _DIAGNOSTIC_COUNT}, "dependent": {"value": ["_count"]}},
    "site_summary": {
        "counts": ["n", "pfs_events", "os_events", "n_evaluable"],
        "derived": {"_orr_n": _numerator("orr", "n_evaluable"), "_cbr_n": _numerator("cbr", "n_evaluable")},
        "dependent": {
            **{f"{e}_{c}": ["n"] for e in ("pfs", "os") for c in ("median", "ci_lower", "ci_upper")},
            **{c: ["n"] for c in ("median_followup", "followup_ci_lower", "followup_ci_upper")},
            **{c: ["n_evaluable", "_orr_n"] for c in ("orr", "orr_ci_lower", "orr_ci_upper")},
            **{c: ["n_evaluable", "_cbr_n"] for c in ("cbr", "cbr_ci_lower", "cbr_ci_upper")},
        },
    },
    "logrank_stratified": {"counts": ["n_missing"]},
    "cox_stratified": {
        "counts": ["n", "events", "n_dropped"],
        "dependent": {c: ["n", "events"] for c in ("hr", "ci_lower", "ci_upper")},
    },
    "cox_stratified_diagnostics": {"derived": {"_count": _DIAGNOSTIC_COUNT}, "dependent": {"value": ["_count"]}},
    "site_meta": {
        "counts": ["n", "events"],
        "dependent": {c: ["n", "events"] for c in ("log_hr", "se", "hr", "ci_lower", "ci_upper")},
    },
    "site_contributions": {},  # yes/no per site and analysis: no counts
    # An aggregate-only site's export (rwe.aggregates), suppressed at the site before it leaves.
    "aggregate_cox": {
        "counts": ["n", "events", "n_dropped"],
        "dependent": {c: ["n", "events"] for c in ("log_hr", "variance")},
    },
    "aggregate_km_landmarks": {
        "counts": ["n", "n_risk"],
        "dependent": {c: ["n"] for c in ("surv", "ci_lower", "ci_upper")},
    },
    "aggregate_km_medians": {
        "counts": ["n", "events"],
        "dependent": {c: ["n"] for c in ("median", "ci_lower", "ci_upper", "median_followup",
                                         "followup_ci_lower", "followup_ci_upper")},
    },
    "aggregate_response": {"counts": ["n", "n_evaluable", *_RESPONSE_COUNTS[1:9], "n_not_evaluable", "orr_n",
                                      "cbr_n"]},
    "changes": {
        "derived": {
            "_previous": _count_on_rows("previous", COUNT_STATISTICS),
            "_current": _count_on_rows("current", COUNT_STATISTICS),
        },
        "dependent": {"previous": ["_previous"], "current": ["_current"], "difference": ["_previous", "_current"]},
    },
    "changes_patients": {"counts": ["n_previous", "n_current", "added", "removed", "outcome_changed"]},
    "adverse_events": {"counts": ["n", "N"], "dependent": {"percent": ["n", "N"]}},
    "nadir": {"counts": ["n"], "dependent": {c: ["n"] for c in ("median", "min", "max")}},
    "nadir_tests": {"counts": ["n_1", "n_2"], "dependent": {"W": ["n_1", "n_2"]}},
    "exposure_response": {
        "counts": ["n", "events"],
        "dependent": {
            c: ["events"]
            for c in ("observed_below", "observed_below_ci_lower", "observed_below_ci_upper",
                      "observed_above", "observed_above_ci_lower", "observed_above_ci_upper")
        },
    },
}  # fmt: skip


def is_small(values: pd.Series, k: int) -> pd.Series:
    """True where a value is a count from 1 to k − 1 (text, blanks and zero are not)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return (numbers > 0) & (numbers < k)


def suppress_small_cells(
    table: pd.DataFrame,
    k: int,
    count_columns: Sequence[str],
    dependent_columns: Mapping[str, Sequence[str]] | Sequence[str] = (),
) -> pd.DataFrame:
    """Write counts from 1 to k − 1 as ``<k`` and hide the statistics of groups that small.

    Parameters
    ----------
    table : pandas.DataFrame
        An aggregate table (one row per estimate).
    k : int
        ``min_cell_count``. With k ≤ 1 nothing is small and an unchanged copy is returned.
    count_columns : sequence of str
        Columns holding numbers of patients; absent columns are skipped.
    dependent_columns : mapping or sequence of str
        Statistics to hide with small counts. A mapping names, for each statistic, the count
        columns whose smallness hides it (a column there need not be shown: it may be a helper);
        a plain list hides the statistic wherever any of ``count_columns`` is small.

    Returns
    -------
    pandas.DataFrame
        A copy with the same columns; suppressed cells hold the text ``<k`` or ``suppressed``.
    """
    out = table.copy()
    if k <= 1 or table.empty:
        return out
    if not isinstance(dependent_columns, Mapping):
        dependent_columns = {c: list(count_columns) for c in dependent_columns}
    small = {c: is_small(table[c], k) for c in table.columns}
    hide = {}
    for column, sizes in dependent_columns.items():
        if column in table.columns:
            masks = [small[s] for s in sizes if s in small]
            hide[column] = np.logical_or.reduce(masks) if masks else None
    for column in count_columns:
        if column in table.columns and small[column].any():
            out[column] = out[column].astype(object)
            out.loc[small[column], column] = f"<{k}"
    for column, mask in hide.items():
        if mask is not None and mask.any():
            out[column] = out[column].astype(object)
            out.loc[mask, column] = SUPPRESSED
    return out


def suppress_table(name: str, table: pd.DataFrame, k: int) -> pd.DataFrame:
    """Apply :data:`RULES` of the named output table (an unknown table is returned unchanged).

    Parameters
    ----------
    name : str
        File stem of the table in ``results/tables`` (``km_medians`` …).
    table : pandas.DataFrame
        The table as written by its stage.
    k : int
        ``min_cell_count``.

    Returns
    -------
    pandas.DataFrame
        The suppressed copy, with exactly the columns of ``table``.
    """
    rule = RULES.get(name, {})
    derived = {}
    for helper, count in rule.get("derived", {}).items():
        try:
            derived[helper] = count(table)
        except KeyError:  # a column the helper needs is absent: nothing to derive
            continue
    helped = table.assign(**derived) if derived else table
    out = suppress_small_cells(helped, k, rule.get("counts", []), rule.get("dependent", {}))
    return out[list(table.columns)]
