"""The direct-adjusted survival table of the "Comparative effectiveness" section.

Kept apart from :mod:`rwe.report.comparative` (one hook there): the table of
:func:`rwe.cox_predict.comparative_adjusted`.
"""

from __future__ import annotations

import pandas as pd

from rwe.cox_predict import ADJUSTED_TABLE_COLUMNS
from rwe.options import ReportOptions
from rwe.report.format import count, num, table, text

ADJUSTED_TABLES = {"comparative_adjusted": ADJUSTED_TABLE_COLUMNS}
#: The figure the comparative script adds (after the section's own).
ADJUSTED_FIGURES = ["adjusted_curves"]


def _survival(value) -> str:
    if isinstance(value, str):  # suppressed
        return value
    return "—" if pd.isna(value) else num(100 * value, 1)


def adjusted_table(comparative_adjusted: pd.DataFrame | None, options: ReportOptions) -> dict:
    """Each group's direct-adjusted survival (%) at the landmark months, or why it is missing."""
    if comparative_adjusted is None or comparative_adjusted.empty:
        return {}
    ties = options.ties
    return table(
        comparative_adjusted,
        [
            ("Endpoint", lambda r: text(r["endpoint"])),
            ("Group", lambda r: text(r["group"])),
            ("Month", lambda r: num(r["month"], 0)),
            ("Adjusted survival, %", lambda r: _survival(r["estimate"])),
            ("Events / n", lambda r: f"{count(r['events'])} / {count(r['n'])}"),
            ("Note", lambda r: text(r.get("note"))),
        ],
        caption="Direct-adjusted (marginal) survival, exploratory: an unweighted Cox model "
        f"({ties}) of the group and the propensity model's covariates; every analysed patient "
        "is given each group in turn and the predicted curves (R survfit.coxph) are averaged, "
        "as R rowMeans(survfit(fit, newdata)$surv). Adjustment by outcome regression, beside "
        "the weighting above; point estimates without CIs.",
    )
