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
    weights = {"comparison": label, "support_lower": 0.2, "support_upper": 0.9}
    not_interpretable = "not interpretable: balance not achieved (|SMD| > 0.1: emd +0.160)"
    rows = {
        "target_trial": [
            {"component": "Time zero", "target_trial": "Randomisation", "emulation": "Day 0"},
        ],
        "ps_weights": [
            {
                **weights,
                "group": g,
                "n": n,
                "n_outside_support": o,
                "weight_min": 0.5,
                "weight_p05": 0.6,
                "weight_p25": 0.8,
                "weight_median": 1.0,
                "weight_p75": 1.2,
                "weight_p95": 2.5,
                "weight_max": 4.2,
                "weight_sum": n,
                "ess": 0.8 * n,
            }
            for g, n, o in (("Ixa-Rd", 25, 2), (level, 15, 1), ("all", 40, 3))
        ],
        "comparative_bootstrap": [
            {
                "endpoint": "PFS",
                "comparison": label,
                "quantity": "hr",
                "estimate": 0.7,
                "fixed_ci_lower": 0.45,
                "fixed_ci_upper": 1.1,
                "boot_se": 0.3,
                "boot_bias": 0.01,
                "normal_lower": 0.4,
                "normal_upper": 1.25,
                "percentile_lower": 0.42,
                "percentile_upper": 1.3,
                "replicates": 199,
                "failed": 1,
                "seed": 2026,
                "note": not_interpretable if imbalanced else "",
            },
            {
                "endpoint": "PFS",
                "comparison": label,
                "quantity": "surv_difference",
                "month": 12.0,
                "estimate": -0.05,
                "fixed_ci_lower": -0.2,
                "fixed_ci_upper": 0.1,
                "normal_lower": -0.25,
                "normal_upper": 0.12,
                "percentile_lower": -0.22,
                "percentile_upper": 0.15,
                "replicates": 200,
                "failed": 0,
                "seed": 2026,
                "note": not_interpretable if imbalanced else "",
            },
        ],
        "comparative_sensitivity": [
            {
                "analysis": a,
                "weighting": w,
                "endpoint": "PFS",
                "comparison": label,
                "n": n,
                "ess_treated": 23.1,
                "ess_control": 12.4,
                "max_abs_smd": smd,
                "balance_achieved": smd <= 0.1,
                "hr": 0.7,
                "ci_lower": 0.45,
                "ci_upper": 1.1,
                "p": 0.12,
                "rmst_difference": 2.5,
                "rmst_ci_lower": -0.5,
                "rmst_ci_upper": 5.5,
                "tau": 18.0,
            }
            for a, w, n, smd in (
                ("primary", "ATE, stabilised", 40, weighted_emd),
                ("trimmed", "ATE, stabilised, PS trimmed to [0.05, 0.95]", 38, 0.05),
            )
        ],
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
                "evalue": None if imbalanced else 2.21,
                "evalue_ci": None if imbalanced else 1.0,
                "note": "",
                "balance_achieved": not imbalanced,
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
                "balance_achieved": not imbalanced,
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
                "balance_achieved": not imbalanced,
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
                "balance_achieved": not imbalanced,
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
