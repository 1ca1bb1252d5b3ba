"""One or two rows of each comparative-effectiveness table, as rwe.comparative writes them."""

from __future__ import annotations

import pandas as pd

from rwe.report import TABLE_COLUMNS

LABEL = "Ixa-Rd vs Ixa-Pd"


def comparative_tables(imbalanced: bool = True, level: str = "Ixa-Pd") -> dict[str, pd.DataFrame]:
    """Fixture tables of the report's Comparative effectiveness section.

    ``imbalanced``: the weighted SMD of emd stays above the threshold 0.1. ``level``: the
    control level's name (as it came from the input).
    """
    label = f"Ixa-Rd vs {level}"
    balance = {"type": "binary", "threshold": 0.1, "comparison": label}
    weighted_emd = 0.16 if imbalanced else 0.02
    rows = {
        "comparative_attrition": [
            {"step": "patients in the extract", "n_in": 60, "n_excluded": 0, "n_out": 60},
            {
                "step": f"Ixa-Rd or {level}",
                "n_in": 60,
                "n_excluded": 20,
                "n_out": 40,
                "reason": "regimen is another level",
            },
        ],
        "ps_balance": [
            {
                **balance,
                "covariate": "emd",
                "sample": "unweighted",
                "mean_treated": 0.2,
                "mean_control": 0.1,
                "diff": 0.1,
                "sd_denominator": 0.35,
                "smd": 0.29,
                "imbalanced": True,
                "ess_treated": 25.0,
                "ess_control": 15.0,
            },
            {
                **balance,
                "covariate": "emd",
                "sample": "weighted",
                "mean_treated": 0.15,
                "mean_control": 0.15 - 0.35 * weighted_emd,
                "diff": 0.35 * weighted_emd,
                "sd_denominator": 0.35,
                "smd": weighted_emd,
                "imbalanced": imbalanced,
                "ess_treated": 23.1,
                "ess_control": 12.4,
            },
        ],
        "comparative_effects": [
            {
                "endpoint": "PFS",
                "comparison": label,
                "method": "unweighted",
                "hr": 0.8,
                "ci_lower": 0.5,
                "ci_upper": 1.3,
                "p": 0.37,
                "n": 40,
                "events": 30,
            },
            {
                "endpoint": "PFS",
                "comparison": label,
                "method": "weighted",
                "hr": 0.7,
                "ci_lower": 0.45,
                "ci_upper": 1.1,
                "p": 0.12,
                "n": 40,
                "events": 30,
                "variance": "robust",
                "estimand": "ATE",
                "weighting": "ATE, stabilised",
                "ties": "breslow",
                "evalue": 2.21,
                "evalue_ci": 1.0,
                "note": "",
            },
        ],
        "comparative_km": [
            {
                "endpoint": "PFS",
                "comparison": label,
                "method": "weighted",
                "group": "Ixa-Rd",
                "statistic": "median",
                "estimate": 8.1,
                "ci_lower": 6.0,
                "ci_upper": None,
                "n_risk": 25,
            },
            {
                "endpoint": "PFS",
                "comparison": label,
                "method": "weighted",
                "group": level,
                "statistic": "surv",
                "month": 12.0,
                "estimate": 0.41,
                "ci_lower": 0.3,
                "ci_upper": 0.55,
                "n_risk": 9,
            },
        ],
        "rmst": [
            {
                "endpoint": "PFS",
                "comparison": label,
                "method": "weighted",
                "group": g,
                "tau": 24.0,
                "estimate": e,
                "se": 1.5,
                "ci_lower": e - 3,
                "ci_upper": e + 3,
                "p": p,
                "note": "",
            }
            for g, e, p in (
                ("Ixa-Rd", 12.5, None),
                (level, 10.0, None),
                ("difference", 2.5, 0.24),
                ("ratio", 1.25, 0.25),
            )
        ],
        "competing_risks": [
            {
                "analysis": "cif",
                "group": "Ixa-Rd",
                "cause": "progression",
                "month": 12.0,
                "estimate": 0.41,
                "se": 0.07,
                "ci_lower": 0.29,
                "ci_upper": 0.58,
                "n_risk": 16,
            },
            {
                "analysis": "cif",
                "group": level,
                "cause": "death without progression",
                "month": 12.0,
                "estimate": 0.0,
                "se": 0.0,
                "n_risk": 7,
            },
            {
                "analysis": "gray_test",
                "group": "all",
                "cause": "progression",
                "statistic": 0.05,
                "df": 1,
                "p": 0.82,
            },
            {
                "analysis": "fine_gray",
                "group": "all",
                "cause": "progression",
                "estimate": 0.93,
                "se": 0.28,
                "ci_lower": 0.54,
                "ci_upper": 1.63,
                "statistic": -0.24,
                "p": 0.81,
            },
        ],
        "comparative_adjusted": [
            {
                "endpoint": e,
                "comparison": label,
                "method": "direct-adjusted Cox",
                "group": g,
                "month": 12.0,
                "estimate": s,
                "n": 60,
                "events": 40,
                "note": "",
            }
            for e in ("PFS", "OS")
            for g, s in (("Ixa-Rd", 0.52), (level, 0.47))
        ],  # fmt: skip
    }
    return {name: pd.DataFrame(r).reindex(columns=TABLE_COLUMNS[name]) for name, r in rows.items()}
