"""Builder of the Sites section: per-site summary, stratified and meta-analysed estimates."""

from __future__ import annotations

import pandas as pd

from rwe.catalog import SITE_TABLES
from rwe.options import ReportOptions
from rwe.privacy import SUPPRESSED
from rwe.report.format import (
    count,
    estimate_ci,
    hr_ci,
    is_missing,
    missing,
    num,
    pval,
    table,
    text,
)
from rwe.report.sections import rate_ci
from rwe.sites import (
    COX_STRATIFIED_COLUMNS,
    LOGRANK_STRATIFIED_COLUMNS,
    ONE_SITE_NOTE,
    SITE_CONTRIBUTION_COLUMNS,
    SITE_META_COLUMNS,
    SITE_SUMMARY_COLUMNS,
    pooled_label,
)
from rwe.survival_tables import COX_DIAGNOSTICS_COLUMNS

#: The columns the report reads of each of :data:`rwe.catalog.SITE_TABLES`, in its order.
SITES_TABLES = dict(
    zip(
        SITE_TABLES,
        [
            SITE_SUMMARY_COLUMNS,
            LOGRANK_STRATIFIED_COLUMNS,
            COX_STRATIFIED_COLUMNS,
            [*COX_DIAGNOSTICS_COLUMNS, "note"],
            SITE_META_COLUMNS,
            SITE_CONTRIBUTION_COLUMNS,
        ],
        strict=True,
    )
)


def one_site(frame: pd.DataFrame) -> bool:
    """True when a site-aware table holds only the one-site note row."""
    return len(frame) > 0 and bool((frame["note"] == ONE_SITE_NOTE).all())


def contributions_table(contributions: pd.DataFrame) -> dict:
    """Which analyses each site could contribute to: one row per analysis, a column per site."""
    if contributions.empty:
        return {}
    cells = contributions.assign(
        cell=[
            c if c == "yes" and r in ("patient rows", "") else f"{c}: {r}"
            for c, r in zip(
                contributions["contributes"], contributions["reason"].fillna(""), strict=True
            )
        ]
    )
    names = list(dict.fromkeys(cells["site"].astype(str)))
    kinds = dict(zip(cells["site"].astype(str), cells["kind"], strict=False))
    wide = cells.pivot(index="description", columns="site", values="cell")
    wide = wide.reindex(list(dict.fromkeys(cells["description"]))).reset_index()
    return table(
        wide,
        [
            ("Analysis", lambda r: r["description"]),
            *[(f"{name} ({kinds[name]})", lambda r, name=name: text(r[name])) for name in names],
        ],
        caption="Which analyses each site could contribute to. A site that sent aggregates only "
        "(rwe export-aggregates) is in the meta-analysis of per-site Cox models and has its row "
        "in the per-site summary; the pooled and stratified analyses need patient rows.",
    )


def site_summary_table(site_summary: pd.DataFrame, options: ReportOptions) -> dict:
    """Per site and pooled: medians, response rates and follow-up."""
    return table(
        site_summary,
        [
            ("Site", lambda r: text(r["site"])),
            ("n", lambda r: count(r["n"])),
            (
                f"Median PFS, months ({options.ci})",
                lambda r: estimate_ci(r["pfs_median"], r["pfs_ci_lower"], r["pfs_ci_upper"]),
            ),
            (
                f"Median OS, months ({options.ci})",
                lambda r: estimate_ci(r["os_median"], r["os_ci_lower"], r["os_ci_upper"]),
            ),
            (f"ORR % ({options.ci})", lambda r: rate_ci(r, "orr")),
            (f"CBR % ({options.ci})", lambda r: rate_ci(r, "cbr")),
            (
                f"Median follow-up, months ({options.ci})",
                lambda r: estimate_ci(
                    r["median_followup"], r["followup_ci_lower"], r["followup_ci_upper"]
                ),
            ),
            ("Note", lambda r: text(r["note"])),
        ],
        caption="Per site and pooled: Kaplan–Meier medians (NR = not reached), ORR and CBR with "
        "exact CIs among evaluable patients, median follow-up by reverse Kaplan–Meier (OS).",
    )


def cox_by_site_table(
    cox: pd.DataFrame, cox_stratified: pd.DataFrame, options: ReportOptions
) -> dict:
    """Hazard ratios of all patients pooled as one cohort beside those stratified by site."""
    keys = ["endpoint", "model", "term"]
    both = cox[cox["analysis_set"] == "all"].merge(
        cox_stratified[cox_stratified["analysis_set"] == "all"], on=keys, suffixes=("", "_s")
    )
    return table(
        both,
        [
            ("Endpoint", lambda r: r["endpoint"]),
            ("Model", lambda r: r["model"]),
            ("Covariate", lambda r: options.label(r["term"])),
            (f"HR pooled ({options.ci})", hr_ci),
            ("p", lambda r: pval(r["p"])),
            (
                f"HR stratified by site ({options.ci})",
                lambda r: hr_ci(r, "hr_s", "ci_lower_s", "ci_upper_s"),
            ),
            ("p ", lambda r: pval(r["p_s"])),
            ("Note (stratified)", lambda r: text(r["note_s"])),
        ],
        caption="Cox models of all patients, pooled as one cohort and stratified by site "
        f"(a baseline hazard per site, R coxph strata()); {options.ties}, Wald CIs, complete "
        "cases.",
    )


def logrank_stratified_table(logrank_stratified: pd.DataFrame, options: ReportOptions) -> dict:
    """Log-rank tests stratified by site."""
    return table(
        logrank_stratified,
        [
            ("Set", lambda r: r["analysis_set"]),
            ("Endpoint", lambda r: r["endpoint"]),
            ("Subgroup", lambda r: options.label(r["variable"])),
            ("Chi-square", lambda r: num(r["chisq"], 2)),
            ("df", lambda r: count(r["df"])),
            ("p", lambda r: pval(r["p"])),
            ("Note", lambda r: text(r["note"])),
        ],
        caption="Log-rank tests stratified by site (R survdiff strata()).",
    )


def bounded(est, lower, upper, digits: int = 2) -> str:
    """``est (lower–upper)``; a bound that does not exist is ``undefined`` (the note says why)."""
    if SUPPRESSED in (est, lower, upper):
        return SUPPRESSED
    if is_missing(est):
        return "—"
    if is_missing(lower) and is_missing(upper):  # no CI (fixed effect), or an empty one
        return f"{est:.{digits}f}"

    def f(v):
        return "undefined" if is_missing(v) else f"{v:.{digits}f}"

    return f"{est:.{digits}f} ({f(lower)}–{f(upper)})"


def interval(lower, upper, digits: int = 2) -> str:
    """``lower–upper``, or empty when the interval does not exist."""
    if SUPPRESSED in (lower, upper):
        return SUPPRESSED
    if is_missing(lower) or is_missing(upper):
        return ""
    return f"{lower:.{digits}f}–{upper:.{digits}f}"


def _pooled_sites(r) -> str:
    return f"{count(r['k'])}: {r['sites']}" if not is_missing(r.get("sites")) else count(r["k"])


def site_meta_table(site_meta: pd.DataFrame, options: ReportOptions) -> dict:
    """The pooled rows of the meta-analysis of the per-site multivariable Cox models.

    Per endpoint and covariate, the prespecified analysis (config ``meta``) first, with its
    prediction interval and the Q-profile CIs of I² and τ², then the sensitivity analyses.
    """
    pooled = site_meta[site_meta["method"].fillna("").astype(str) != ""]
    return table(
        pooled,
        [
            ("Endpoint", lambda r: r["endpoint"]),
            ("Covariate", lambda r: options.label(r["term"])),
            ("Analysis", lambda r: pooled_label(r["method"], text(r["test"]), text(r["role"]))),
            (f"HR ({options.ci})", hr_ci),
            (
                f"{100 * options.conf_level:g}% prediction interval",
                lambda r: interval(r["pi_lower"], r["pi_upper"]),
            ),
            ("p", lambda r: pval(r["p"])),
            ("Sites pooled", _pooled_sites),
            ("Q (p)", lambda r: f"{num(r['q'], 2)} ({pval(r['q_p'])})"),
            (
                f"I² % ({options.ci})",
                lambda r: bounded(r["i2"], r["i2_ci_lower"], r["i2_ci_upper"], 0),
            ),
            (
                f"τ² ({options.ci})",
                lambda r: bounded(r["tau2"], r["tau2_ci_lower"], r["tau2_ci_upper"], 3),
            ),
            ("Note", lambda r: text(r["note"])),
        ],
        caption="Meta-analysis of the per-site multivariable Cox models, inverse-variance "
        f"pooled hazard ratios as R metafor::rma. Prespecified: {options.meta_rule}; its "
        "prediction interval as metafor predict() (the same quantile), and Q-profile CIs of I² "
        "and τ² as confint() (an undefined bound, beyond metafor's search limit or an empty "
        "set, is said in the note). Sensitivity: fixed effect and random effects "
        "(DerSimonian–Laird, REML) with Wald z CIs. Sites pooled: how many, and whether each "
        "sent patient rows or aggregates only; per-site estimates and weights in site_meta.csv "
        "and the plots.",
    )


def sites_section(
    site_summary: pd.DataFrame,
    site_contributions: pd.DataFrame,
    cox: pd.DataFrame,
    cox_stratified: pd.DataFrame,
    logrank_stratified: pd.DataFrame,
    site_meta: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
) -> dict:
    """The Sites section.

    Which analyses each site could contribute to, the per-site summary, HRs stratified by site
    beside the pooled ones, stratified log-rank tests and the per-site meta-analysis. With one
    site, each table but the summary says that nothing was stratified or pooled.
    """
    nothing = missing("One site: nothing stratified by site or pooled across sites.")
    if not one_site(site_meta):  # one site sent rows, others aggregates only
        nothing = missing("One site sent patient rows: nothing stratified by site.")
    if all(one_site(t) for t in (cox_stratified, logrank_stratified, site_meta)):
        return {
            "site_summary": site_summary_table(site_summary, options),
            "note": nothing["missing"],
        }
    return {
        "site_summary": site_summary_table(site_summary, options),
        "note": "",
        "site_contributions": contributions_table(site_contributions),
        "cox_by_site": nothing
        if one_site(cox_stratified)
        else cox_by_site_table(cox, cox_stratified, options),
        "logrank_stratified": nothing
        if one_site(logrank_stratified)
        else logrank_stratified_table(logrank_stratified, options),
        "site_meta": nothing if one_site(site_meta) else site_meta_table(site_meta, options),
        "figures": figures.get("sites", []),
    }
