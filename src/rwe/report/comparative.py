"""The report's "Comparative effectiveness" section (tables of :mod:`rwe.comparative`)."""

from __future__ import annotations

import pandas as pd

from rwe.comparative_inference import covariate_label
from rwe.options import ReportOptions
from rwe.report.adjusted import ADJUSTED_FIGURES, ADJUSTED_TABLES, adjusted_table
from rwe.report.format import count, estimate_ci, hr_ci, is_missing, num, pval, table, text

COMPARATIVE_TABLES = {
    "target_trial": ["component", "target_trial", "emulation"],
    "comparative_attrition": ["step", "n_in", "n_excluded", "reason", "n_out"],
    "ps_balance": [
        *["covariate", "type", "sample", "mean_treated", "mean_control", "diff"],
        *["sd_denominator", "smd", "imbalanced", "threshold", "ess_treated", "ess_control"],
        "comparison",
    ],
    "ps_weights": [
        *["comparison", "group", "n", "n_outside_support", "support_lower", "support_upper"],
        *["weight_min", "weight_p05", "weight_p25", "weight_median", "weight_p75"],
        *["weight_p95", "weight_max", "weight_sum", "ess"],
    ],
    "comparative_effects": [
        *["endpoint", "comparison", "method", "hr", "ci_lower", "ci_upper", "p", "se"],
        *["variance", "n", "events", "ess_treated", "ess_control", "outcome_share"],
        *["common_outcome", "evalue", "evalue_ci", "note", "estimand", "weighting", "ties"],
        "balance_achieved",
    ],
    "comparative_km": [
        *["endpoint", "comparison", "method", "group", "statistic", "month", "estimate"],
        *["ci_lower", "ci_upper", "n_risk", "balance_achieved"],
    ],
    "rmst": [
        *["endpoint", "comparison", "method", "group", "tau", "estimate", "se", "ci_lower"],
        *["ci_upper", "p", "note", "balance_achieved"],
    ],
    "comparative_bootstrap": [
        *["endpoint", "comparison", "quantity", "month", "estimate"],
        *["fixed_ci_lower", "fixed_ci_upper", "fixed_variance"],
        *["boot_se", "boot_bias", "normal_lower", "normal_upper"],
        *["percentile_lower", "percentile_upper", "replicates", "failed", "seed", "note"],
    ],
    "comparative_sensitivity": [
        *["analysis", "weighting", "endpoint", "comparison", "n", "ess_treated", "ess_control"],
        *["max_abs_smd", "balance_achieved", "hr", "ci_lower", "ci_upper", "p"],
        *["rmst_difference", "rmst_ci_lower", "rmst_ci_upper", "tau", "note"],
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
    "The propensity score is R glm(family = binomial), with restricted cubic splines of the "
    "configured continuous covariates as R Hmisc::rcspline.eval (knots at Harrell's "
    "percentiles); balance follows R cobalt (standardised mean differences with the "
    "standardisation factor of the unweighted groups, Kish effective sample sizes); weighted "
    "Kaplan–Meier curves, medians and RMST are R survfit(weights = w), quantile.survfit and "
    "print.survfit(rmean = τ); weighted hazard ratios are R coxph(weights = w, robust = TRUE); "
    "bootstrap intervals are R boot.ci's normal and percentile intervals; cumulative incidence "
    "is Aalen–Johansen as R survfit with a multi-state status, Gray's test R cmprsk::cuminc and "
    "the subdistribution hazard ratio R cmprsk::crr; E-values follow VanderWeele & Ding (2017). "
    "Progression is the event of interest; death without progression is a competing event."
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
        f"{covariate_label(c, options.gfr_cutoff)} (SMD {num(s, 3)})"
        for c, s in zip(failed["covariate"], failed["smd"], strict=True)
    )
    return (
        f"Balance NOT achieved: after weighting, {len(failed)} of {len(weighted)} covariates "
        f"have an absolute standardised mean difference above {threshold}: {names}. The "
        "weighted estimates below are therefore not interpretable as effects of the regimen: "
        "they are marked so, no E-value is computed, and they are not reported as results."
    )


def _interpretable(r) -> str:
    """Whether a weighted estimate may be read as an effect: ``no`` when balance failed."""
    flag = r.get("balance_achieved")
    if r.get("method", "weighted") != "weighted" or is_missing(flag):
        return "unadjusted" if r.get("method") == "unweighted" else "—"
    return "yes" if _flag(flag) else "no: balance not achieved"


def _evalue_text(r) -> str:
    if is_missing(r["evalue"]) or _interpretable(r).startswith("no"):
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
                "balance_achieved": part["balance_achieved"].iloc[0]
                if "balance_achieved" in part
                else None,
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


QUANTITY_NAMES = {
    "hr": "Hazard ratio",
    "rmst_difference": "RMST difference (months)",
    "rmst_ratio": "RMST ratio",
    "surv_difference": "Survival difference",
}


def _quantity(r) -> str:
    quantity = text(r["quantity"])
    name = QUANTITY_NAMES.get(quantity, quantity)
    if quantity == "surv_difference":
        return f"{name} at {num(r['month'], 0)} months (%)"
    if quantity.startswith("rmst"):
        return f"{name}, τ = {num(r['month'], 1)}"
    return name


def _boot_ci(r, lower: str, upper: str, estimate: str = "estimate") -> str:
    """An interval of the bootstrap table, scaled and rounded as its quantity."""
    digits, scale = (2, 1.0) if r["quantity"] in ("hr", "rmst_ratio") else (1, 1.0)
    if r["quantity"] == "surv_difference":
        scale = 100.0
    if is_missing(r[lower]) and is_missing(r[upper]):
        return "—"
    return estimate_ci(r[estimate], r[lower], r[upper], digits, scale, "—").split(" ", 1)[-1]


def _boot_estimate(r) -> str:
    digits, scale = (2, 1.0) if r["quantity"] in ("hr", "rmst_ratio") else (1, 1.0)
    if r["quantity"] == "surv_difference":
        scale = 100.0
    return num(
        r["estimate"] * scale if not isinstance(r["estimate"], str) else r["estimate"], digits
    )


def _boot_interpretable(r) -> str:
    note = text(r.get("note"))
    if note.startswith("not interpretable"):
        return "no: balance not achieved"
    return "—" if note.startswith("not estimable") or is_missing(r["estimate"]) else "yes"


def _boot_note(r) -> str:
    """The bootstrap row's note, unless it only repeats the balance verdict."""
    note = text(r.get("note"))
    return "" if note.startswith("not interpretable") else note


def comparative_section(
    target_trial: pd.DataFrame,
    comparative_attrition: pd.DataFrame,
    ps_balance: pd.DataFrame,
    ps_weights: pd.DataFrame,
    comparative_effects: pd.DataFrame,
    comparative_km: pd.DataFrame,
    rmst: pd.DataFrame,
    comparative_bootstrap: pd.DataFrame,
    comparative_sensitivity: pd.DataFrame,
    competing_risks: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
    comparative_adjusted: pd.DataFrame | None = None,
) -> dict:
    """The comparison as a target-trial emulation: protocol, balance, weights, effects, bootstrap.

    Its CIs and ties follow the run's ``conf_level`` and ``conventions``. When balance fails,
    every weighted estimate is marked not interpretable and no E-value is shown.
    """
    label_of = next(iter(comparative_effects.get("comparison", pd.Series(dtype=str))), "")
    treated, _, control = str(label_of).partition(" vs ")
    shown = {f["name"]: f for f in figures.get("comparative", [])}
    cr = competing_risks
    tests = cr[cr["analysis"].isin(["gray_test", "fine_gray"])]
    weighting = next(iter(comparative_effects["weighting"].dropna()), "")
    km = comparative_km
    boot = comparative_bootstrap
    replicates = boot["replicates"].dropna() + boot["failed"].dropna() if len(boot) else []
    b = int(max(replicates)) if len(replicates) else 0
    seed = next(iter(boot["seed"].dropna()), "") if len(boot) else ""
    boot_text = (
        f"Bootstrap: {b} replicates (seed {count(seed)}), patients resampled within each group, "
        "the propensity model refitted and the weights and estimates recomputed in each."
        if b
        else next(iter(boot["note"].dropna()), "")
        if len(boot)
        else ""
    )
    support = ps_weights[ps_weights["group"] == "all"]
    overlap = ""
    if len(support) and not is_missing(support["support_lower"].iloc[0]):
        r = support.iloc[0]
        overlap = (
            f"Common support of the propensity score: {num(r['support_lower'], 2)} to "
            f"{num(r['support_upper'], 2)}; patients outside it: {count(r['n_outside_support'])}."
        )
    context = {
        "protocol": table(
            target_trial,
            [
                ("Component", lambda r: text(r["component"])),
                ("Target trial", lambda r: text(r["target_trial"])),
                ("Emulation with these data", lambda r: text(r["emulation"])),
            ],
            caption="Protocol of the emulated target trial, written from the configuration "
            "(compare.*) before the data are analysed.",
        ),
        "overlap": overlap,
        "bootstrap_text": boot_text,
        "weights": table(
            ps_weights,
            [
                ("Group", lambda r: text(r["group"])),
                ("Patients", lambda r: count(r["n"])),
                ("Outside common support", lambda r: count(r["n_outside_support"])),
                ("Min", lambda r: num(r["weight_min"], 2)),
                ("P5", lambda r: num(r["weight_p05"], 2)),
                ("P25", lambda r: num(r["weight_p25"], 2)),
                ("Median", lambda r: num(r["weight_median"], 2)),
                ("P75", lambda r: num(r["weight_p75"], 2)),
                ("P95", lambda r: num(r["weight_p95"], 2)),
                ("Max", lambda r: num(r["weight_max"], 2)),
                ("ESS", lambda r: num(r["ess"], 1)),
            ],
            caption="Distribution of the inverse-probability-of-treatment weights of the "
            "analysed patients (percentiles as R quantile type 7) and Kish's effective sample "
            "size (ESS); patients whose propensity score lies outside the common support.",
        ),
        "bootstrap": table(
            boot,
            [
                ("Endpoint", lambda r: text(r["endpoint"])),
                ("Quantity", _quantity),
                ("Estimate", _boot_estimate),
                (
                    f"{options.ci}, weights fixed",
                    lambda r: _boot_ci(r, "fixed_ci_lower", "fixed_ci_upper"),
                ),
                (
                    f"{options.ci}, bootstrap normal",
                    lambda r: _boot_ci(r, "normal_lower", "normal_upper"),
                ),
                (
                    f"{options.ci}, bootstrap percentile",
                    lambda r: _boot_ci(r, "percentile_lower", "percentile_upper"),
                ),
                (
                    "Replicates (failed)",
                    lambda r: f"{count(r['replicates'])} ({count(r['failed'])})",
                ),
                ("Interpretable", _boot_interpretable),
                ("Note", _boot_note),
            ],
            caption="IPT-weighted estimates with intervals that hold the estimated weights fixed "
            "(robust sandwich for the hazard ratio, R survfit's weighted variance for RMST and "
            "survival) and intervals from the bootstrap of the whole pipeline (R boot.ci: "
            "normal with bias correction, percentile). A replicate where a quantity cannot be "
            "estimated is left out and counted.",
        ),
        "sensitivity": table(
            comparative_sensitivity,
            [
                ("Analysis", lambda r: text(r["analysis"])),
                ("Weighting", lambda r: text(r["weighting"])),
                ("Endpoint", lambda r: text(r["endpoint"])),
                ("Patients", lambda r: count(r["n"])),
                ("ESS", lambda r: f"{num(r['ess_treated'], 1)} / {num(r['ess_control'], 1)}"),
                ("Max |SMD|", lambda r: num(r["max_abs_smd"], 3)),
                (f"HR ({options.ci})", hr_ci),
                (
                    f"RMST difference ({options.ci})",
                    lambda r: estimate_ci(
                        r["rmst_difference"],
                        r["rmst_ci_lower"],
                        r["rmst_ci_upper"],
                        1,
                        missing="—",
                    ),
                ),
                ("Interpretable", lambda r: _interpretable({**r, "method": "weighted"})),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="The primary weighted analysis beside its prespecified sensitivity analyses "
            "(propensity-score trimming, weight truncation): weighted Cox HR (robust variance) "
            "and weighted RMST difference at the primary τ; each analysis is interpretable only "
            "when it balances every covariate.",
        ),
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
                ("Covariate", lambda r: covariate_label(r["covariate"], options.gfr_cutoff)),
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
                ("Interpretable", _interpretable),
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
                ("Interpretable", _interpretable),
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
                ("Interpretable", _interpretable),
                ("Note", lambda r: text(r["note"])),
            ],
            caption="Restricted mean survival time up to τ, in months (R print(survfit, rmean = "
            "τ)), per group, unweighted and IPT-weighted; difference and ratio with Wald CIs "
            "(weights held fixed; the bootstrap table has intervals that are not). A τ beyond "
            "the time where a group has too few patients at risk gives no estimate.",
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
    # Tables are numbered in the order of this dict: the order the partial shows them.
    first = ["comparison", "weighting", "methods", "protocol", "balance_statement"]
    first += ["balance_failed", "figures", "attrition", "balance", "overlap", "weights"]
    first += ["effects", "bootstrap_text", "bootstrap", "sensitivity"]
    return {k: context[k] for k in first} | context
