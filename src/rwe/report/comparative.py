"""The report's "Comparative effectiveness" section (tables of :mod:`rwe.comparative`)."""

from __future__ import annotations

import pandas as pd

from rwe.options import ReportOptions
from rwe.report.adjusted import ADJUSTED_FIGURES, ADJUSTED_TABLES, adjusted_table
from rwe.report.format import count, estimate_ci, hr_ci, is_missing, num, pval, table, text

COMPARATIVE_TABLES = {
    "comparative_attrition": ["step", "n_in", "n_excluded", "reason", "n_out"],
    "ps_balance": [
        *["covariate", "type", "sample", "mean_treated", "mean_control", "diff"],
        *["sd_denominator", "smd", "imbalanced", "threshold", "ess_treated", "ess_control"],
        "comparison",
    ],
    "comparative_effects": [
        *["endpoint", "comparison", "method", "hr", "ci_lower", "ci_upper", "p", "se"],
        *["variance", "n", "events", "ess_treated", "ess_control", "outcome_share"],
        *["common_outcome", "evalue", "evalue_ci", "note", "estimand", "weighting", "ties"],
    ],
    "comparative_km": [
        *["endpoint", "comparison", "method", "group", "statistic", "month", "estimate"],
        *["ci_lower", "ci_upper", "n_risk"],
    ],
    "rmst": [
        *["endpoint", "comparison", "method", "group", "tau", "estimate", "se", "ci_lower"],
        *["ci_upper", "p", "note"],
    ],
    "competing_risks": [
        *["analysis", "group", "cause", "month", "estimate", "se", "ci_lower", "ci_upper"],
        *["n_risk", "statistic", "df", "p", "note", "comparison"],
    ],
}
COMPARATIVE_TABLES |= ADJUSTED_TABLES
METHOD_NAMES = {"unweighted": "Unweighted", "weighted": "IPT-weighted"}
#: The R functions the section's estimators reproduce (checked against R in the test suite).
R_EQUIVALENTS = (
    "The propensity score is R glm(family = binomial); balance follows R cobalt (standardised "
    "mean differences with the standardisation factor of the unweighted groups, Kish effective "
    "sample sizes); weighted Kaplan–Meier curves, medians and RMST are R survfit(weights = w), "
    "quantile.survfit and print.survfit(rmean = τ); weighted hazard ratios are R coxph(weights "
    "= w, robust = TRUE); cumulative incidence is Aalen–Johansen as R survfit with a "
    "multi-state status, Gray's test R cmprsk::cuminc and the subdistribution hazard ratio R "
    "cmprsk::crr; E-values follow VanderWeele & Ding (2017). Progression is the event of "
    "interest; death without progression is a competing event."
)
#: Order of the figures in the section (stems of rwe.comparative_plots.make_figures).
FIGURE_ORDER = ["love_plot", "ps_overlap", "km_weighted_pfs", "km_weighted_os"]
FIGURE_ORDER += ["km_unweighted_pfs", "km_unweighted_os", "cif", *ADJUSTED_FIGURES]


def _flag(v) -> bool:
    """A boolean cell as written to CSV (True/False, or their text)."""
    return str(v).strip().lower() in ("true", "1")


def balance_statement(ps_balance: pd.DataFrame, options: ReportOptions) -> str:
    """The sentence that says whether weighting balanced every covariate (never left out)."""
    weighted = ps_balance[ps_balance["sample"] == "weighted"]
    if weighted.empty:
        return ""
    threshold = f"{float(weighted['threshold'].iloc[0]):g}"
    failed = weighted[weighted["imbalanced"].map(_flag)]
    if failed.empty:
        return (
            f"Balance achieved: after weighting every covariate has an absolute standardised "
            f"mean difference of at most {threshold}."
        )
    names = ", ".join(
        f"{options.label(c)} (SMD {num(s, 3)})"
        for c, s in zip(failed["covariate"], failed["smd"], strict=True)
    )
    return (
        f"Balance NOT achieved: after weighting, {len(failed)} of {len(weighted)} covariates "
        f"have an absolute standardised mean difference above {threshold}: {names}. The "
        "weighted estimates may still be confounded by them."
    )


def _evalue_text(r) -> str:
    if is_missing(r["evalue"]):
        return "—"
    return f"{num(r['evalue'], 2)} (CI: {num(r['evalue_ci'], 2)})"


def _rmst_rows(rmst: pd.DataFrame) -> pd.DataFrame:
    """One row per endpoint and method: both groups, the difference and the ratio."""
    rows = []
    for (endpoint, method), part in rmst.groupby(["endpoint", "method"], sort=False):
        by = {g: r for g, r in zip(part["group"], part.to_dict("records"), strict=True)}
        groups = [g for g in by if g not in ("difference", "ratio")]
        rows.append(
            {
                "endpoint": endpoint,
                "method": method,
                "tau": part["tau"].iloc[0],
                "treated": by.get(groups[0]) if groups else None,
                "control": by.get(groups[1]) if len(groups) > 1 else None,
                "difference": by.get("difference"),
                "ratio": by.get("ratio"),
                "note": part["note"].iloc[0],
            }
        )
    return pd.DataFrame(rows)


def _cif_text(r) -> str:
    """A cumulative incidence in %, with its CI when it has one (none at 0)."""
    if is_missing(r["ci_lower"]) and not is_missing(r["estimate"]):
        return num(100 * r["estimate"], 1) if not isinstance(r["estimate"], str) else r["estimate"]
    return estimate_ci(r["estimate"], r["ci_lower"], r["ci_upper"], 1, 100, "—")


def _km_statistic(r) -> str:
    return "Median" if r["statistic"] == "median" else f"Survival at {num(r['month'], 0)} months"


def _km_value(r) -> str:
    if r["statistic"] == "median":
        return estimate_ci(r["estimate"], r["ci_lower"], r["ci_upper"], 1, missing="NR")
    return estimate_ci(r["estimate"], r["ci_lower"], r["ci_upper"], 1, 100, "—")


def _ci(r, digits=1) -> str:
    return (
        "—"
        if r is None
        else estimate_ci(r["estimate"], r["ci_lower"], r["ci_upper"], digits, missing="—")
    )


def comparative_section(
    comparative_attrition: pd.DataFrame,
    ps_balance: pd.DataFrame,
    comparative_effects: pd.DataFrame,
    comparative_km: pd.DataFrame,
    rmst: pd.DataFrame,
    competing_risks: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
    comparative_adjusted: pd.DataFrame | None = None,
) -> dict:
    """Propensity-score weighted comparison: balance, HRs with E-values, RMST, competing risks.

    Its CIs and ties follow the run's ``conf_level`` and ``conventions``.
    """
    label_of = next(iter(comparative_effects.get("comparison", pd.Series(dtype=str))), "")
    treated, _, control = str(label_of).partition(" vs ")
    shown = {f["name"]: f for f in figures.get("comparative", [])}
    cr = competing_risks
    tests = cr[cr["analysis"].isin(["gray_test", "fine_gray"])]
    weighting = next(iter(comparative_effects["weighting"].dropna()), "")
    km = comparative_km
    return {
        "comparison": label_of,
        "weighting": text(weighting),
        "methods": f"{R_EQUIVALENTS} Kaplan–Meier CIs are on the {options.conf_type} scale "
        f"and Cox models use {options.ties} (conventions: {options.conventions.name}).",
        "balance_statement": balance_statement(ps_balance, options),
        "balance_failed": bool(
            ps_balance.loc[ps_balance["sample"] == "weighted", "imbalanced"].map(_flag).any()
        ),
        "figures": [shown[n] for n in FIGURE_ORDER if n in shown],
        "attrition": table(
            comparative_attrition,
            [
                ("Step", lambda r: text(r["step"])),
                ("In", lambda r: count(r["n_in"])),
                ("Left out", lambda r: count(r["n_excluded"])),
                ("Why", lambda r: text(r["reason"])),
                ("Analysed", lambda r: count(r["n_out"])),
            ],
            caption="Patients of the comparison; no patient is left out without being counted.",
        ),
        "balance": table(
            ps_balance,
            [
                ("Covariate", lambda r: options.label(r["covariate"])),
                ("Sample", lambda r: METHOD_NAMES.get(r["sample"], r["sample"])),
                (f"Mean {treated}", lambda r: num(r["mean_treated"], 2)),
                (f"Mean {control}", lambda r: num(r["mean_control"], 2)),
                ("SMD", lambda r: num(r["smd"], 3)),
                ("Imbalanced", lambda r: "yes" if _flag(r["imbalanced"]) else "no"),
                ("ESS", lambda r: f"{num(r['ess_treated'], 1)} / {num(r['ess_control'], 1)}"),
            ],
            caption="Standardised mean differences (SMD) before and after inverse-probability-of-"
            "treatment weighting, as R cobalt computes them (the standardisation factor from the "
            "unweighted groups; p(1 − p) for binary covariates); ESS: Kish effective sample size, "
            f"{treated} / {control}.",
        ),
        "effects": table(
            comparative_effects,
            [
                ("Endpoint", lambda r: text(r["endpoint"])),
                ("Method", lambda r: METHOD_NAMES.get(r["method"], r["method"])),
                (f"HR ({options.ci})", hr_ci),
                ("p", lambda r: pval(r["p"])),
                ("Events / n", lambda r: f"{count(r['events'])} / {count(r['n'])}"),
                ("ESS", lambda r: f"{num(r['ess_treated'], 1)} / {num(r['ess_control'], 1)}"),
                ("E-value (CI limit)", _evalue_text),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption=f"Hazard ratios of {label_of}. Unweighted: Cox model ({options.ties}). "
            "IPT-weighted: weighted Cox model with robust (sandwich) variance, as R coxph(weights "
            "= w, robust = TRUE, same ties). E-values (VanderWeele & Ding 2017) of the weighted HR "
            "and of its CI limit closer to 1; the common-outcome transformation is used when the "
            "event is not rare.",
        ),
        "km": table(
            km,
            [
                ("Endpoint", lambda r: text(r["endpoint"])),
                ("Method", lambda r: METHOD_NAMES.get(r["method"], r["method"])),
                ("Group", lambda r: text(r["group"])),
                ("Estimate", _km_statistic),
                (f"Value ({options.ci})", _km_value),
                ("At risk", lambda r: count(r["n_risk"])),
            ],
            caption="Kaplan–Meier median (months) and survival at the landmarks (%) of each "
            "group, unweighted and IPT-weighted (R survfit with weights); at risk: patients.",
        ),
        "rmst": table(
            _rmst_rows(rmst),
            [
                ("Endpoint", lambda r: text(r["endpoint"])),
                ("Method", lambda r: METHOD_NAMES.get(r["method"], r["method"])),
                ("τ (months)", lambda r: num(r["tau"], 1)),
                (f"RMST {treated}", lambda r: _ci(r["treated"])),
                (f"RMST {control}", lambda r: _ci(r["control"])),
                (f"Difference ({options.ci})", lambda r: _ci(r["difference"])),
                ("p", lambda r: pval(r["difference"]["p"]) if r["difference"] else "—"),
                (f"Ratio ({options.ci})", lambda r: _ci(r["ratio"], 2)),
                ("Note", lambda r: text(r["note"])),
            ],
            caption="Restricted mean survival time up to τ, in months (R print(survfit, rmean = "
            "τ)), per group, unweighted and IPT-weighted; difference and ratio with Wald CIs.",
        ),
        "cif": table(
            cr[cr["analysis"] == "cif"],
            [
                ("Group", lambda r: text(r["group"])),
                ("Event", lambda r: text(r["cause"])),
                ("Month", lambda r: num(r["month"], 0)),
                (f"Cumulative incidence, % ({options.ci})", _cif_text),
                ("At risk", lambda r: count(r["n_risk"])),
            ],
            caption="Cumulative incidence of progression, with death without progression as a "
            "competing event (Aalen–Johansen, as R survfit with a multi-state status).",
        ),
        "tests": table(
            tests,
            [
                (
                    "Analysis",
                    lambda r: {"gray_test": "Gray's test", "fine_gray": "Fine–Gray SHR"}.get(
                        r["analysis"], r["analysis"]
                    ),
                ),
                (
                    f"Estimate ({options.ci})",
                    lambda r: _ci(r, 2) if r["analysis"] == "fine_gray" else "—",
                ),
                ("Statistic", lambda r: num(r["statistic"], 3)),
                ("p", lambda r: pval(r["p"])),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption=f"Progression, {label_of}: Gray's test of equal cumulative incidence (R "
            "cmprsk::cuminc; chi-square statistic) and the Fine–Gray subdistribution hazard ratio "
            "(R cmprsk::crr; Wald z).",
        ),
        "adjusted": adjusted_table(comparative_adjusted, options),
    }
