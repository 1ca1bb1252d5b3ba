"""Builder of the section on changes since the last data cut."""

from __future__ import annotations

import pandas as pd

from rwe.cuts import COUNT_STATISTICS, ESTIMATE_CHANGE_COLUMNS, PATIENT_CHANGE_COLUMNS
from rwe.options import ReportOptions
from rwe.report.format import count, num, pct, pval, table, text

CHANGES_TABLES = {
    "changes": ["previous_cut", "current_cut", *ESTIMATE_CHANGE_COLUMNS],
    "changes_patients": PATIENT_CHANGE_COLUMNS,
}


def changes_section(
    changes: pd.DataFrame, changes_patients: pd.DataFrame, options: ReportOptions
) -> dict:
    """Changes since the last data cut: patients per site, then the estimates that moved."""
    label = options.data_cut
    if changes.empty:  # not produced: the tables say so
        return {"note": "", "changes": {}, "changes_patients": {}}
    previous = changes["previous_cut"].dropna().astype(str)
    previous = previous[previous != ""]
    if previous.empty:
        note = f"Data cut {label} is the first kept under results/cuts/: nothing to compare yet."
        return {"note": note, "changes": {}, "changes_patients": {}}
    before = previous.iloc[0]

    def value(r, column):
        if r["statistic"] in COUNT_STATISTICS:
            return count(r[column])
        if r["statistic"].startswith(("orr", "cbr")):
            return pct(r[column])
        return pval(r[column]) if r["statistic"] == "p" else num(r[column], 2)

    moved = changes[changes["status"] != "unchanged"]
    unchanged = int((changes["status"] == "unchanged").sum())
    return {
        "note": "",
        "changes_patients": table(
            changes_patients,
            [
                ("Site", lambda r: text(r["site"])),
                (f"Patients in {before}", lambda r: count(r["n_previous"])),
                (f"Patients in {label}", lambda r: count(r["n_current"])),
                ("Added", lambda r: count(r["added"])),
                ("Removed", lambda r: count(r["removed"])),
                ("Outcome changed", lambda r: count(r["outcome_changed"])),
            ],
            caption="Patients per site in the previous and in this data cut. A changed outcome is "
            "a different PFS or OS time or status, or a different best response.",
        ),
        "changes": table(
            moved,
            [
                ("Table", lambda r: text(r["table"])),
                ("Estimate", lambda r: text(r["estimate"])),
                ("Statistic", lambda r: text(r["statistic"])),
                (before, lambda r: value(r, "previous")),
                (label, lambda r: value(r, "current")),
                ("Difference", lambda r: value(r, "difference")),
                ("Status", lambda r: text(r["status"])),
            ],
            caption=f"Headline estimates of data cut {label} that differ from {before}; "
            f"{unchanged} others are unchanged (all in tables/changes.csv). ORR and CBR in %.",
        ),
    }
