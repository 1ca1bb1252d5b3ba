"""What changed between two data cuts: headline estimates side by side, patients counted.

A run is labelled by its ``data_cut``. Its headline estimates (:func:`headline_estimates`) and
a per-patient outcome record (:func:`patient_outcomes`, which stays under ``results/adam/``)
are kept for the next cut; :func:`estimate_changes` and :func:`patient_changes` compare a new
cut with the previous one. Only counts and aggregate estimates leave the machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.derive import KEYS

# table -> (rows kept, columns naming the estimate, estimate columns)
HEADLINES = {
    "attrition": (lambda t: t["step"] == "patients in the extract", [], ["n_out"]),
    "km_medians": (
        lambda t: t["variable"] == "all",
        ["analysis_set", "endpoint"],
        ["n", "events", "median", "ci_lower", "ci_upper"],
    ),
    "followup": (lambda t: t.index >= 0, ["analysis_set", "endpoint"], ["median_followup"]),
    "response": (
        lambda t: t["variable"] == "all",
        ["analysis_set"],
        [
            "n_evaluable",
            "orr",
            "orr_ci_lower",
            "orr_ci_upper",
            "cbr",
            "cbr_ci_lower",
            "cbr_ci_upper",
        ],
    ),
    "cox": (
        lambda t: t["model"] == "multivariable",
        ["analysis_set", "endpoint", "term"],
        ["hr", "ci_lower", "ci_upper", "p", "n", "events"],
    ),
}
ESTIMATE_CHANGE_COLUMNS = [
    "table",
    "estimate",
    "statistic",
    "previous",
    "current",
    "difference",
    "status",
]
#: Headline statistics (table, statistic) that each setting of the conventions changes.
CONVENTION_STATISTICS = {
    "conf_type": {("km_medians", "ci_lower"), ("km_medians", "ci_upper")},
    "ties": {("cox", s) for s in ("hr", "ci_lower", "ci_upper", "p")},
}
#: Statistics of HEADLINES that are patient counts (for display and small-cell suppression).
COUNT_STATISTICS = ("n", "events", "n_out", "n_evaluable")
PATIENT_CHANGE_COLUMNS = ["site", "n_previous", "n_current", "added", "removed", "outcome_changed"]
OUTCOME_COLUMNS = ["pfs_months", "pfs_censored", "os_months", "os_censored", "best_response"]


def headline_estimates(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The estimates a reader compares between cuts, one row per estimate and statistic.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Result tables by name (``attrition``, ``km_medians``, ``followup``, ``response``,
        ``cox``); a missing table contributes no rows.

    Returns
    -------
    pandas.DataFrame
        ``table, estimate, statistic, value``; ``estimate`` names the row (e.g.
        ``all / PFS / gfr_le70``).
    """
    rows = []
    for name, (keep, keys, values) in HEADLINES.items():
        table = tables.get(name)
        if table is None or table.empty:
            continue
        kept = table[keep(table)]
        label = (
            kept[keys].astype(str).agg(" / ".join, axis=1)
            if keys
            else pd.Series("patients", index=kept.index)
        )
        for col in values:
            rows.append(
                pd.DataFrame(
                    {"table": name, "estimate": label, "statistic": col, "value": kept[col]}
                )
            )
    if not rows:
        return pd.DataFrame(columns=["table", "estimate", "statistic", "value"])
    return pd.concat(rows, ignore_index=True)


def estimate_changes(
    previous: pd.DataFrame, current: pd.DataFrame, conventions_changed=()
) -> pd.DataFrame:
    """Each headline estimate of the previous and the current cut, and how it changed.

    ``status`` is ``new`` (only in the current cut), ``dropped`` (only in the previous),
    ``changed`` or ``unchanged`` (equal to 1e-12 relative, or both not estimable). With
    ``conventions_changed`` (settings of the conventions that differ from the previous cut's,
    e.g. ``["ties"]``), a changed estimate that those settings affect
    (:data:`CONVENTION_STATISTICS`) says so: ``changed (conventions: ties differ)``.
    """
    keys = ["table", "estimate", "statistic"]
    # The current cut's order, then what only the previous cut had (an outer merge would sort).
    order = pd.concat([current[keys], previous[keys]]).drop_duplicates()
    merged = previous.merge(
        current,
        on=keys,
        how="outer",
        suffixes=("_previous", "_current"),
        indicator=True,
        sort=False,
    )
    merged = order.merge(merged, on=keys, how="left")
    prev = pd.to_numeric(merged["value_previous"], errors="coerce")
    cur = pd.to_numeric(merged["value_current"], errors="coerce")
    same = np.isclose(prev, cur, rtol=1e-12, atol=0) | (prev.isna() & cur.isna())
    status = np.select(
        [merged["_merge"] == "right_only", merged["_merge"] == "left_only", same],
        ["new", "dropped", "unchanged"],
        "changed",
    ).astype(object)
    affected = {pair for setting in conventions_changed for pair in CONVENTION_STATISTICS[setting]}
    if affected:
        pairs = zip(merged["table"], merged["statistic"], strict=True)
        hit = np.array([pair in affected for pair in pairs])
        what = " and ".join(conventions_changed)
        status[hit & (status == "changed")] = f"changed (conventions: {what} differ)"
    return pd.DataFrame(
        {
            "table": merged["table"],
            "estimate": merged["estimate"],
            "statistic": merged["statistic"],
            "previous": prev,
            "current": cur,
            "difference": cur - prev,
            "status": status,
        }
    )[ESTIMATE_CHANGE_COLUMNS]


def patient_outcomes(adsl: pd.DataFrame, adtte: pd.DataFrame) -> pd.DataFrame:
    """One row per patient with what defines their outcome (kept locally for the next cut).

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id`` and ``pfs_months, pfs_censored, os_months, os_censored,
        best_response``.
    """
    wide = adtte.pivot(index=KEYS, columns="paramcd", values=["aval", "cnsr"])
    out = adsl[[*KEYS, "best_response"]].set_index(KEYS)
    for endpoint in ("PFS", "OS"):
        present = endpoint in wide.columns.get_level_values(1)
        out[f"{endpoint.lower()}_months"] = wide[("aval", endpoint)] if present else np.nan
        out[f"{endpoint.lower()}_censored"] = wide[("cnsr", endpoint)] if present else np.nan
    return out.reset_index()[[*KEYS, *OUTCOME_COLUMNS]]


def patient_changes(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Patients added, removed or with a changed outcome since the previous cut, per site.

    Parameters
    ----------
    previous, current : pandas.DataFrame
        :func:`patient_outcomes` of the two cuts.

    Returns
    -------
    pandas.DataFrame
        ``site, n_previous, n_current, added, removed, outcome_changed`` (counts only).
    """
    merged = previous.merge(current, on=KEYS, how="outer", suffixes=("_p", "_c"), indicator=True)
    changed = pd.Series(False, index=merged.index)
    for col in OUTCOME_COLUMNS:
        a, b = merged[f"{col}_p"], merged[f"{col}_c"]
        if col == "best_response":
            same = (a.astype(object) == b.astype(object)) | (a.isna() & b.isna())
        else:  # months from whole days: a CSV round trip may move the last digit, a day cannot
            a, b = pd.to_numeric(a).to_numpy(float), pd.to_numeric(b).to_numpy(float)
            same = np.isclose(a, b, rtol=1e-9, atol=0) | (np.isnan(a) & np.isnan(b))
        changed |= ~same & (merged["_merge"] == "both")
    merged["added"] = merged["_merge"] == "right_only"
    merged["removed"] = merged["_merge"] == "left_only"
    merged["outcome_changed"] = changed
    merged["in_previous"] = merged["_merge"] != "right_only"
    merged["in_current"] = merged["_merge"] != "left_only"
    counts = merged.groupby("site", sort=True)[
        ["in_previous", "in_current", "added", "removed", "outcome_changed"]
    ].sum()
    counts = counts.rename(columns={"in_previous": "n_previous", "in_current": "n_current"})
    return counts.reset_index().astype({c: int for c in PATIENT_CHANGE_COLUMNS[1:]})
