"""Report section: the headline estimates under R's and SAS's conventions side by side."""

from __future__ import annotations

import pandas as pd

from rwe.options import ReportOptions
from rwe.report.format import count, hr_ci, pval, table, text
from rwe.report.sections import median_ci

#: The table this section reads (``tables/conventions_comparison.csv``, the survival rule).
CONVENTIONS_TABLES = {
    "conventions_comparison": [
        *["endpoint", "estimate", "term"],
        *["r_value", "r_ci_lower", "r_ci_upper", "r_p"],
        *["sas_value", "sas_ci_lower", "sas_ci_upper", "sas_p"],
        *["n", "events", "note"],
    ]
}


def _estimate(r: dict, side: str) -> str:
    """A median (months) or hazard ratio with its CI, as the rest of the report shows it."""
    row = {
        "median": r[f"{side}_value"],
        "ci_lower": r[f"{side}_ci_lower"],
        "ci_upper": r[f"{side}_ci_upper"],
        "n": r["n"],
        "note": r.get("note"),
    }
    if r["estimate"] == "median":
        return median_ci(row)
    return hr_ci(row, hr="median")


def conventions_section(conventions_comparison: pd.DataFrame, options: ReportOptions) -> dict:
    """All patients' PFS/OS medians and multivariable HRs under ``conventions: r`` and ``sas``.

    R's ``survfit``/``coxph`` defaults (log-scale CI, Efron ties) against SAS PROC LIFETEST and
    PHREG's (log-log CI, Breslow ties), so that a reviewer used to either sees why the numbers
    differ; the run's own tables use the configured ``conventions``.
    """
    ci = options.ci
    columns = [
        ("Endpoint", lambda r: r["endpoint"]),
        (
            "Estimate",
            lambda r: (
                "Median, months" if r["estimate"] == "median" else f"HR: {options.label(r['term'])}"
            ),
        ),
        (f"R: log CI, Efron ties ({ci})", lambda r: _estimate(r, "r")),
        ("p (R)", lambda r: pval(r["r_p"])),
        (f"SAS: log-log CI, Breslow ties ({ci})", lambda r: _estimate(r, "sas")),
        ("p (SAS)", lambda r: pval(r["sas_p"])),
        ("n", lambda r: count(r["n"])),
        ("Events", lambda r: count(r["events"])),
        ("Note", lambda r: text(r["note"])),
    ]
    caption = (
        "The headline estimates of all patients under both software conventions: Kaplan–Meier "
        "medians with their CIs, and the hazard ratios of the multivariable Cox model with their "
        f"Wald CIs. This run's other tables use conventions: {options.conventions.name}."
    )
    return {"conventions": table(conventions_comparison, columns, caption=caption)}
