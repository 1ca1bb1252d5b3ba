"""Builders of the report's sections: each takes the tables it shows and returns its context.

A builder's parameters are named after what it reads (:mod:`rwe.report.registry` passes them by
name): a table (``results/tables/<name>.csv``, small cells already suppressed), ``figures`` (the
embedded figures by section), ``options`` (:class:`rwe.options.ReportOptions`) or
``provenance`` (``provenance.json``). It returns the dict its partial
(``templates/sections/<id>.html.j2``) reads as ``s``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import yaml

from rwe.catalog import SELECTION_SEED
from rwe.derive import DAYS_PER_MONTH, DELAYED_ENTRY_STEP
from rwe.endpoints import (
    PAPER_PFS_RULE,
    PFS_RULE_WORDS,
    PFS_SENSITIVITY_PARAMCD,
    endpoint_label,
    pfs_paramcd,
    pfs_sensitivity_rules,
)
from rwe.labels import LAB_UNIT_DISPLAY, exposure_axis_label, unit
from rwe.landmark import COX_TD_COLUMNS, LANDMARK_COLUMNS, RESPONSE_TERM
from rwe.multiplicity import PRESPECIFIED, primary_text
from rwe.options import ReportOptions
from rwe.plausibility import FINDING_COLUMNS
from rwe.privacy import SUPPRESSED
from rwe.published import COMPARISON_COLUMNS, COMPARISON_EXTRA_COLUMNS
from rwe.report.format import (
    count,
    estimate_ci,
    group,
    hr_ci,
    is_missing,
    missing,
    num,
    pct,
    pval,
    table,
    text,
)
from rwe.response import CATEGORIES, RESPONSE_TEST_COLUMNS
from rwe.safety import (
    HEMATOLOGIC_TOXICITY_COLUMNS,
    LAB_GRADES,
    REPORTED_RECORDS,
    TOXICITY_GRADE_GROUPS,
    TOXICITY_TESTS,
    WINDOW_COLUMNS,
    nadir_window_methods,
    treatment_emergent_methods,
    window_text,
)
from rwe.subgroups import INTERACTION_COLUMNS
from rwe.summary import key_results
from rwe.survival_tables import (
    COX_FIRTH_COLUMNS,
    COX_LEVEL_COLUMNS,
    FOLLOWUP_NOTE,
    IMMORTAL_TIME_NOTE,
)
from rwe.tables import BASELINE_COLUMNS, BASELINE_TYPE, baseline_display

# --------------------------------------------------------------------------- tables read
# Columns the report reads from each table: DESIGN.md §6 contract columns, then the extras the
# stages append (docs/architecture.md). A table or column that is absent is shown as empty.

ATTRITION_TABLES = {"attrition": ["step", "n_in", "n_excluded", "reason", "n_out"]}
DATA_QUALITY_TABLES = {
    "data_quality": ["file", "column", "n", "n_missing", "percent_missing"],
    "plausibility": FINDING_COLUMNS,
}
BASELINE_TABLES = {"baseline": [*BASELINE_COLUMNS, BASELINE_TYPE]}
RESPONSE_TABLES = {
    "response": [
        *["analysis_set", "variable", "level", "n_evaluable", *CATEGORIES, "NE"],
        *["orr", "orr_ci_lower", "orr_ci_upper", "cbr", "cbr_ci_lower", "cbr_ci_upper"],
    ],
    "response_tests": [*RESPONSE_TEST_COLUMNS, "or_ci_lower", "or_ci_upper", "note", "n_1", "n_0"],
}
SURVIVAL_TABLES = {
    "km_medians": [
        *["analysis_set", "endpoint", "variable", "level", "n", "events"],
        *["median", "ci_lower", "ci_upper", "note"],
    ],
    "km_landmarks": [
        *["analysis_set", "endpoint", "variable", "level", "month", "n_risk"],
        *["surv", "ci_lower", "ci_upper"],
    ],
    "followup": ["analysis_set", "endpoint", "median_followup", "ci_lower", "ci_upper"],
    "logrank": ["analysis_set", "endpoint", "variable", "chisq", "df", "p", "note", "analysis"],
    "landmark": LANDMARK_COLUMNS,
    "cox_time_dependent": COX_TD_COLUMNS,
}
COX_TABLES = {
    "cox": [
        *["analysis_set", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p"],
        *["n", "events", "n_dropped", *COX_LEVEL_COLUMNS, *COX_FIRTH_COLUMNS, "note"],
        "analysis",
    ],
    "cox_diagnostics": [
        *["analysis_set", "endpoint", "model", "statistic", "term", "value", "df", "p"],
    ],
    "cox_influence": [
        *["analysis_set", "endpoint", "model", "term", "n", "max_abs_dfbetas", "rule"],
        *["cutoff", "n_above", "note"],
    ],
    "subgroup_interactions": INTERACTION_COLUMNS,
}
SAFETY_TABLES = {
    "adverse_events": [
        *["analysis_set", "category", "term", "grade_group", "n", "N", "percent"],
        *["ci_lower", "ci_upper"],
    ],
    "hematologic_toxicity": HEMATOLOGIC_TOXICITY_COLUMNS,
    "safety_window": WINDOW_COLUMNS,
    "nadir": ["analysis_set", "test", "group", "n", "median", "min", "max"],
    "nadir_tests": ["analysis_set", "test", "comparison", "p", "W", "method"],
}
EXPOSURE_TABLES = {
    "exposure_response": [
        *["outcome", "exposure", "n", "events", "intercept", "slope", "odds_ratio"],
        *["ci_lower", "ci_upper", "p", "iqr", "odds_ratio_iqr", "or_iqr_ci_lower"],
        *["or_iqr_ci_upper", "observed_below", "observed_above", "cv_auc", "note"],
        *["adjusted_for", "odds_ratio_adjusted_iqr", "adjusted_iqr_ci_lower"],
        *["adjusted_iqr_ci_upper", "p_adjusted"],
    ],
    "exposure_predictions": [
        *["outcome", "exposure", "at", "probability", "ci_lower", "ci_upper", "dose_mg"],
    ],
}
PUBLISHED_TABLES = {"published_comparison": [*COMPARISON_COLUMNS, *COMPARISON_EXTRA_COLUMNS]}

# --------------------------------------------------------------------------- summary, methods


def key_estimate(r) -> str:
    """A key result's estimate with its CI, in the digits of its unit (NR/NE as :func:`median_ci`)."""
    if r["unit"] == "HR":
        return hr_text(r, "estimate")
    if r["unit"] == "n":
        return count(r["estimate"])
    if r["unit"] == "months":
        return nowrap(median_ci(r, "estimate"))
    if is_missing(r["ci_lower"]) and is_missing(r["ci_upper"]):
        return num(r["estimate"])
    return nowrap(estimate_ci(r["estimate"], r["ci_lower"], r["ci_upper"], missing="—"))


def summary_section(
    baseline: pd.DataFrame,
    response: pd.DataFrame,
    km_medians: pd.DataFrame,
    followup: pd.DataFrame,
    cox: pd.DataFrame,
    landmark: pd.DataFrame,
    cox_time_dependent: pd.DataFrame,
    adverse_events: pd.DataFrame,
    hematologic_toxicity: pd.DataFrame,
    options: ReportOptions,
) -> dict:
    """Every prespecified estimate of all patients with its CI and p (:func:`rwe.summary.key_results`).

    No estimate is chosen by its p value; fragile ones (few events per covariate, a median from
    few events, a sparse covariate level, not estimable) carry a caution.
    """
    tables = {
        "baseline": baseline,
        "response": response,
        "km_medians": km_medians,
        "followup": followup,
        "cox": cox,
        "landmark": landmark,
        "cox_time_dependent": cox_time_dependent,
        "adverse_events": adverse_events,
        "hematologic_toxicity": hematologic_toxicity,
    }
    rows = key_results(
        tables,
        list(options.covariates),
        options.min_events_per_covariate,
        options.min_median_events,
        options.gfr_cutoff,
        row_level_sites=[s for s in options.sites if s not in options.aggregate_sites],
        aggregate_sites=options.aggregate_sites,
        pfs_death_events=options.pfs_death_events,
    )
    columns = [
        ("Estimate", lambda r: r["quantity"]),
        ("Endpoint", lambda r: text(r["endpoint"])),
        (f"Value ({options.ci})", key_estimate),
        ("Unit", lambda r: text(r["unit"])),
        ("p", lambda r: "" if is_missing(r["p"]) else pval(r["p"])),
        ("n", lambda r: "" if is_missing(r["n"]) else count(r["n"])),
        ("Events", lambda r: "" if is_missing(r["events"]) else count(r["events"])),
        ("Caution", lambda r: text(r["flag"])),
    ]
    caption = (
        "Every prespecified estimate of all patients, whatever its p value: response, survival "
        "(PFS under its primary and its sensitivity definitions), "
        "each covariate of the multivariable Cox models, response compared with survival without "
        "immortal-time bias (landmark and time-dependent Cox), grade ≥3 hematologic adverse "
        "events, and grade ≥3 toxicity of the graded blood counts (reported, graded from the "
        f"counts, either; treatment-emergent, exact CIs). Caution: fewer than {options.min_events_per_covariate} events per covariate, "
        f"a median or comparison from fewer than {options.min_median_events} events, a sparse "
        "covariate level, or an estimate that does not exist."
    )
    return {"key_results": table(rows, columns, caption=caption)}


PFS_DEATHS = {
    "all": "death from any cause without prior progression is a PFS event (IMWG/FDA convention)",
    "myeloma": "death from myeloma (or of unknown cause) is a PFS event; deaths from other "
    "causes are censored at the day of death",
    "none": "deaths without prior progression are censored at the day of death",
}
HEMATOLOGIC_GRADES = {
    "reported": "as reported",
    "labs": "graded from blood counts with CTCAE v5 thresholds",
    "both": "the worse of the reported grade and the grade from blood counts (CTCAE v5)",
}


def methods_section(
    options: ReportOptions,
    provenance: dict,
    logrank: pd.DataFrame,
    response_tests: pd.DataFrame,
    nadir_tests: pd.DataFrame,
    attrition: pd.DataFrame | None = None,
) -> dict:
    """The methods paragraphs, generated from the configuration actually used.

    With delayed entry (the attrition table's ``delayed entry`` step), a paragraph says how
    every survival estimate used it (:func:`delayed_entry_methods`).
    """
    tests = {
        "log-rank": logrank,
        "Fisher's exact": response_tests,
        "Wilcoxon rank-sum": nadir_tests,
    }
    entry = delayed_entry_methods(attrition)
    return {
        "paragraphs": [
            *methods_text(options, provenance),
            analysis_roles_text(options),
            *([entry] if entry else []),
            multiplicity_text(tests, 1 - options.conf_level, options),
            software_text(options, provenance),
        ]
    }


def delayed_entry_methods(attrition: pd.DataFrame | None) -> str:
    """The methods paragraph on delayed entry ('' when the extract has no ``entry_day``)."""
    if attrition is None or "step" not in attrition:
        return ""
    if not (attrition["step"] == DELAYED_ENTRY_STEP).any():
        return ""
    return (
        "Delayed entry (left truncation): patients.csv gives the day each patient entered "
        "observation (entry_day; a patient referred after the start of therapy), and each "
        "patient counts in the risk sets "
        "only from entry, on (entry, exit], as R Surv(entry, time, status): every Kaplan–Meier "
        "curve, median, landmark and reverse Kaplan–Meier follow-up (survfit), every Cox model, "
        "stratified, per-site and time-dependent ones included (coxph), and the landmark "
        "analyses, where a patient is at risk at a landmark only if observed by then. R survdiff "
        "accepts right-censored data only, so the log-rank tests are the score tests of coxph "
        '(Surv(entry, time, status) ~ group, ties = "exact"): the log-rank statistic on '
        "these risk sets, equal to survdiff when every entry is at day 0. The comparative "
        "analysis uses entry in its Cox hazard ratios, weighted and unweighted Kaplan–Meier "
        "curves, RMST and cumulative incidence (survfit(Surv(entry, time, status), weights = "
        "w)); Gray's test and the Fine–Gray model do not (R cmprsk has no delayed entry), and "
        "say so."
    )


def analysis_roles_text(options: ReportOptions) -> str:
    """Which analyses are primary, which are sensitivity analyses, which are exploratory."""
    codes = [
        f"with {PFS_RULE_WORDS[rule]} as an event ({PFS_SENSITIVITY_PARAMCD[rule]})"
        for rule in pfs_sensitivity_rules(options.pfs_death_events)
    ]
    return (
        "Primary: in all patients from the start of therapy, best overall response (ORR, CBR), "
        f"PFS under its primary definition (pfs_death_events: {options.pfs_death_events}) and "
        f"OS. Sensitivity (prespecified, beside the primary): PFS {' and '.join(codes)}. "
        "Secondary and exploratory: the Cox models, the subgroup comparisons, the per-regimen "
        "analysis sets, response compared with survival (landmark and time-dependent Cox), "
        "adverse events, nadirs and exposure–response."
    )


def multiplicity_text(
    tests: dict[str, pd.DataFrame], alpha: float, options: ReportOptions | None = None
) -> str:
    """The multiplicity statement: which comparisons were prespecified, how many tests are not.

    ``alpha`` is the significance level of the run (1 − ``conf_level``); ``options`` gives the
    prespecified comparisons (config ``primary_comparisons``). A table with an ``analysis``
    column counts its prespecified rows apart.
    """
    counted, prespecified = [], 0
    for name, frame in tests.items():
        if not frame["p"].notna().any():
            continue
        primary = frame.get("analysis", pd.Series("", index=frame.index)) == PRESPECIFIED
        prespecified += int((primary & frame["p"].notna()).sum())
        if (~primary).any():
            counted.append(f"{int((~primary).sum())} {name} tests")
    shown = f" ({', '.join(counted)}, besides the Wald tests of the Cox models)" if counted else ""
    primary_pairs = options.primary_comparisons if options is not None else ()
    head = (
        f"Prespecified comparisons (config primary_comparisons): "
        f"{primary_text(primary_pairs, options.label)}, in all patients, by the multivariable Cox "
        f"model and the log-rank test ({prespecified} log-rank tests); they alone carry a p value "
        "on the Kaplan–Meier plots. "
        if primary_pairs
        else "No comparison was prespecified. "
    )
    return (
        f"{head}All other tests are exploratory and unadjusted for multiplicity{shown}: a p value "
        f"below {alpha:g} is not a finding on its own, and the estimates with their confidence "
        "intervals are the results. Subgroups are compared by the treatment × subgroup "
        "interaction, not by p values within levels."
    )


#: The R function each of rwe's estimators reproduces (the test suite checks them against R).
R_EQUIVALENTS = (
    "Kaplan–Meier curves, medians and landmarks as survival::survfit, quantile.survfit and "
    "summary.survfit; log-rank tests as survdiff; Cox models as coxph with cox.zph and "
    "concordance; exact binomial CIs as binom.test; Fisher's exact test and its conditional "
    "odds ratio as fisher.test; Wilcoxon rank-sum tests as wilcox.test; logistic regression as "
    "glm(family = binomial); the meta-analysis as metafor::rma"
)


def software_text(options: ReportOptions, provenance: dict) -> str:
    """What computed the numbers, with which versions, on which data cut."""
    versions = provenance.get("packages", {})
    libraries = ", ".join(
        f"{name} {versions[name]}" for name in ("pandas", "numpy", "scipy") if name in versions
    )
    r = provenance.get("r", {})
    checked = (
        f"R {r['R']} with survival {r.get('survival', '?')} is installed where this run was made."
        if r.get("R")
        else "R was not found where this run was made."
    )
    return (
        f"Data cut {options.data_cut}. Every estimate was computed by rwe's own estimators "
        f"(commit {provenance.get('git_commit', 'unknown')}; Python "
        f"{provenance.get('python', '?')}, {libraries}), written to reproduce R: "
        f"{R_EQUIVALENTS}. Its test suite compares each with R to a relative 1e-4. {checked}"
    )


def methods_text(options: ReportOptions, provenance: dict) -> list[str]:
    """The methods paragraphs (one string each)."""
    level = f"{100 * options.conf_level:g}"
    k = options.min_cell_count
    covariates = ", ".join(options.label(c) for c in options.covariates)
    if k > 0:
        privacy = (
            f"Counts from 1 to {k - 1} are shown as <{k}, and the percentages, medians and CIs "
            "of groups that small as 'suppressed'; patient-level pictures (the swimmer plot, the "
            "individual points of the nadir plots) and curves of groups that small are left out."
        )
    else:
        privacy = (
            "No small-cell suppression was applied. Patient-level pictures (the swimmer plot, "
            "the individual points of the nadir plots) show at most "
            f"{options.max_patients} patients: with more, a random sample (seed "
            f"{SELECTION_SEED}), stated under the figure."
        )
    return [
        "Time zero is the start of the ixazomib-containing therapy; months are days / "
        f"{DAYS_PER_MONTH}. Overall survival (OS) runs to death from any cause, censored at last "
        "follow-up. Progression-free survival (PFS) runs to progression or death; "
        f"{PFS_DEATHS[options.pfs_death_events]}; patients without an event are censored at "
        "their last disease assessment (last follow-up when no assessment is recorded). "
        f"{pfs_definitions_methods(options)}",
        f"Best overall response follows the IMWG {options.imwg_criteria} criteria (a response "
        f"needs {options.imwg_confirmations} consecutive assessments); ORR is PR or better and CBR MR or better, among patients with an "
        f"evaluable response; {level}% CIs are exact (Clopper–Pearson). Subgroups are compared "
        "with Fisher's exact test (two-sided) and the conditional maximum-likelihood odds ratio.",
        response_survival_methods(options),
        f"Survival is estimated by Kaplan–Meier with Greenwood variance and {level}% pointwise "
        f"CIs on the '{options.conf_type}' scale; median CIs as R quantile.survfit. Median "
        "follow-up by reverse Kaplan–Meier. Groups are compared with the log-rank test. Cox "
        "models use Wald CIs and p, complete cases; proportional hazards are checked with the "
        "score test of R cox.zph (Kaplan–Meier transform), and the influence of single patients "
        "with their dfbetas (R residuals.coxph), counted above the size-adjusted cutoff c/√n "
        "(c from cox.dfbetas_cutoff, stated with the table; exploratory). "
        f"Multivariable covariates: {covariates}. {options.conventions.methods_sentence()} "
        f"A model with fewer than {options.min_events_per_covariate} events per covariate, or "
        "with a covariate without events in one level (monotone likelihood), is also fitted by "
        "Firth's penalised partial likelihood (Heinze & Schemper 2001) with the same "
        f"{options.ties}, shown with profile penalised likelihood CIs and the penalised "
        "likelihood-ratio p beside the ordinary estimate. No "
        f"hazard or odds ratio is reported from fewer than {options.min_events} events. "
        "Subgroup effects of the compared treatments are tested by the likelihood-ratio test "
        "of the treatment × subgroup interaction in a Cox model.",
        sites_methods(options),
        "Adverse events are graded by CTCAE v5; hematologic grades are "
        f"{HEMATOLOGIC_GRADES[options.hematologic_source]}. Patients, not events, are counted at "
        f"their worst grade, with {level}% exact (Clopper–Pearson) CIs. "
        f"{treatment_emergent_methods(*window_options(options))} Hematologic toxicity is also "
        f"graded from the blood counts with CTCAE v5 thresholds ({ctcae_thresholds_text()}; "
        "grade 1 against one lower limit of normal for every patient), values outside the "
        "physiological ranges of the plausibility checks left out (an ANC above the WBC of the "
        "same day is counted, not left out), and shown beside the reported events. "
        f"{nadir_methods(options)} Nadirs are compared between groups with "
        "the Wilcoxon rank-sum test "
        "(exact for samples under 50 without ties, otherwise normal approximation with "
        "continuity correction). Exposure–response uses logistic regression on the "
        "time-averaged AUC per day when available, else on the starting dose (Gupta et al. 2016)"
        + (
            f", unadjusted and adjusted for {', '.join(options.adjust_for)}"
            if options.adjust_for
            else ""
        )
        + "; discrimination is the cross-validated ROC AUC, reported as no better than chance "
        f"at or below {options.chance_auc:g}.",
        f"All p values are two-sided; intervals are {level}%. Analysis sets: all patients, and "
        f"each regimen with more than {options.min_regimen_n} patients. {privacy}",
    ]


def pfs_definitions_methods(options: ReportOptions) -> str:
    """The methods sentences on the primary and sensitivity definitions of PFS.

    Names the primary rule (config ``pfs_death_events``), that IMWG and the FDA count death from
    any cause, each sensitivity definition with its endpoint code (:mod:`rwe.endpoints`), and
    which definition the comparison with the published study uses (the paper's rule).
    """
    primary = options.pfs_death_events
    sensitivity = [
        f"with {PFS_RULE_WORDS[rule]} as an event (endpoint {PFS_SENSITIVITY_PARAMCD[rule]})"
        for rule in pfs_sensitivity_rules(primary)
    ]
    paper = pfs_paramcd(PAPER_PFS_RULE, primary)
    return (
        f"This is the primary PFS definition (pfs_death_events: {primary}). IMWG and the FDA "
        "count death from any cause without prior progression as a PFS event; the published "
        "study censored deaths from other causes. As prespecified sensitivity definitions, PFS "
        "is also analysed, with the same Kaplan–Meier medians and survival at the landmark "
        f"months, log-rank tests and Cox models, {' and '.join(sensitivity)}; these are "
        "labelled 'sensitivity' in every table and shown beside the primary, never instead of "
        "it. The comparison with the published study uses "
        f"PFS under the paper's rule (endpoint {paper})."
    )


def response_survival_methods(options: ReportOptions) -> str:
    """The methods paragraph of response compared with survival without immortal-time bias.

    States the population, time zero, the rule that classifies a patient as a responder at
    each time (the confirmation day: no look-ahead) and that the analyses are exploratory.
    """
    months = ", ".join(f"{m:g}" for m in options.response_landmarks_months)
    return (
        "Response and survival (PFS, OS) are compared without immortal-time bias, as prespecified "
        "exploratory analyses, among the patients whose best response is known from dated assessments (a "
        "responder whose response cannot be dated is left out, and counted). A response (PR or "
        "better) counts from the day it was confirmed, the last of its confirming "
        "assessments, when it became known; its first assessment remains the start of the "
        "duration of response. Only what was known at time t classifies a patient at t: "
        f"(i) landmark analyses at months {months}: the patients event-free and under "
        "follow-up at the landmark, grouped by a response confirmed on or before it (a response "
        "first seen before the landmark but confirmed after it is not counted), with time zero "
        "at the landmark; (ii) Cox models from the start of therapy with response as a "
        "time-dependent covariate that switches on at the confirmation day (counting-process "
        "rows as R survival::tmerge builds them), alone and adjusted for the multivariable "
        "covariates."
    )


def window_options(options: ReportOptions) -> tuple[int, int, bool]:
    """``nadir_window`` of the run (the treatment-emergent window), as the window functions take it."""
    return (
        options.nadir_start_day,
        options.nadir_days_after_end_of_treatment,
        options.nadir_until_progression,
    )


def ctcae_thresholds_text() -> str:
    """The CTCAE v5 thresholds of :data:`rwe.safety.LAB_GRADES` in words, grade 1 first."""
    parts = []
    for test in TOXICITY_TESTS:
        cuts = sorted(LAB_GRADES[test][1], key=lambda cut: cut[1])
        decimals = 1 if any(bound != int(bound) for bound, _ in cuts) else 0
        bounds = ", ".join(f"<{bound:.{decimals}f}" for bound, _ in cuts)
        grades = "–".join(str(g) for g in (cuts[0][1], cuts[-1][1]))
        parts.append(f"{test} {bounds} {LAB_UNIT_DISPLAY[test]} for grades {grades}")
    return "; ".join(parts)


def nadir_methods(options: ReportOptions) -> str:
    """The methods sentence of the nadir window (:func:`rwe.safety.nadir_window_methods`)."""
    return nadir_window_methods(
        options.nadir_start_day,
        options.nadir_days_after_end_of_treatment,
        options.nadir_until_progression,
    )


def sites_methods(options: ReportOptions) -> str:
    """The methods sentence on sites: what was stratified and pooled, or that nothing was."""
    if len(options.sites) < 2:
        return "One site: nothing was stratified by site or pooled across sites."
    return (
        "The sites are pooled into one cohort with a site column. Log-rank tests are also "
        "stratified by site (R survdiff strata()) and Cox models stratified by site (R coxph "
        "strata()): a baseline hazard per site, concordance within sites, cox.zph as R computes "
        "it for a stratified model. Each site's multivariable Cox model gives a log hazard ratio "
        "and its variance per covariate; these are pooled by inverse variance as metafor::rma. "
        f"The prespecified analysis is {options.meta_rule}, with its "
        f"{100 * options.conf_level:g}% prediction interval (metafor predict, the same "
        "quantile) and Q-profile CIs of the between-site variance τ², I² and H² (metafor "
        "confint); fixed effect and random effects by DerSimonian–Laird and REML with Wald z "
        "CIs are sensitivity analyses, with Cochran's Q. A site where a covariate cannot be "
        "estimated (constant, no events in a level, an infinite estimate) is left out of that "
        "covariate's pooling, and counted; a covariate fewer than two sites estimate is not "
        "pooled."
    ) + aggregate_sites_methods(options)


def aggregate_sites_methods(options: ReportOptions) -> str:
    """The methods sentence on aggregate-only sites ('' when every site sent patient rows)."""
    if not options.aggregate_sites:
        return ""
    return (
        f" Sent as aggregates only (rwe export-aggregates, computed at the site with this run's "
        f"covariates, landmarks and min_cell_count): {', '.join(options.aggregate_sites)}. Their "
        "per-site Cox log hazard ratios and variances enter the meta-analysis and their "
        "Kaplan–Meier and response summaries the per-site table; the pooled and site-stratified "
        "analyses, response, safety and exposure tables need patient rows and hold the other "
        "sites only (site_contributions.csv). An estimate a site withheld for small cells leaves "
        "it out of that covariate's pooling, counted."
    )


# --------------------------------------------------------------------------- data


def attrition_section(attrition: pd.DataFrame) -> dict:
    """Patients analysed: each exclusion step."""
    columns = [
        ("Step", lambda r: r["step"]),
        ("In", lambda r: count(r["n_in"])),
        ("Excluded", lambda r: count(r["n_excluded"])),
        ("Reason", lambda r: text(r["reason"])),
        ("Analysed", lambda r: count(r["n_out"])),
    ]
    caption = "Patients at each step of the analysis: in, excluded (with the reason) and analysed."
    return {"attrition": table(attrition, columns, caption=caption)}


def files_read_table(provenance: dict) -> dict:
    """The files read per site, with their rows and the format detected."""
    return table(
        pd.DataFrame(provenance.get("inputs", []), columns=["site", "file", "rows", "format"]),
        [
            ("Site", lambda r: text(r["site"])),
            ("File", lambda r: text(r["file"])),
            ("Rows", lambda r: count(r["rows"])),
            ("Format detected", lambda r: text(r["format"])),
        ],
        caption="Files read from each site, with their data rows and the encoding and "
        "separator detected.",
    )


def _some(v) -> bool:
    """A count above zero; a suppressed count (``<k``) is some."""
    return isinstance(v, str) or (not is_missing(v) and v > 0)


def data_quality_section(
    data_quality: pd.DataFrame, plausibility: pd.DataFrame, provenance: dict, options: ReportOptions
) -> dict:
    """The files read, the columns with missing values and the plausibility findings."""
    columns = [
        ("File", lambda r: r["file"]),
        ("Column", lambda r: r["column"]),
        ("Rows", lambda r: count(r["n"])),
        ("Missing", lambda r: count(r["n_missing"])),
        ("% missing", lambda r: num(r["percent_missing"])),
    ]
    incomplete = data_quality[data_quality["n_missing"].map(_some).astype(bool)]
    caption = (
        "Input columns with missing values: rows, missing cells and their percentage (every "
        "other column is complete)."
    )
    return {
        "inputs": files_read_table(provenance),
        "data_quality": table(incomplete, columns, caption=caption),
        **plausibility_findings(plausibility, options),
    }


def plausibility_findings(plausibility: pd.DataFrame, options: ReportOptions) -> dict:
    """What the plausibility checks found (``tables/plausibility.csv``): a sentence and a table.

    Only checks that found rows are listed; the sentence names every check that ran and the
    ``plausibility.on_implausible`` setting.
    """
    found = plausibility[plausibility["n_rows"].map(_some).astype(bool)]
    checks = "; ".join(dict.fromkeys(plausibility["check"].astype(str)))
    setting = f"plausibility.on_implausible: {options.on_implausible}"
    if plausibility.empty:
        sentence = ""
    elif found.empty:
        sentence = f"The plausibility checks found nothing ({setting}). Checked: {checks}."
    else:
        sentence = (
            f"The plausibility checks found {len(found)} kind(s) of implausible values: counted "
            f"below, never dropped ({setting}). Checked: {checks}."
        )
    columns = [
        ("File", lambda r: r["file"]),
        ("Column", lambda r: r["column"]),
        ("Check", lambda r: text(r["check"])),
        ("Rows found", lambda r: count(r["n_rows"])),
        ("Rows checked", lambda r: count(r["n_checked"])),
        ("What the analysis does", lambda r: text(r["note"])),
    ]
    caption = (
        "Implausible values: well-formed, but impossible (ranges in the harmonised units; "
        "docs/input_contract.md). Values are never shown."
    )
    shown = table(found, columns, caption=caption) if len(found) else {}
    return {"plausibility_text": sentence, "plausibility": shown}


#: Indent of a level under its variable in a table cell (em spaces survive HTML and DOCX).
INDENT = "\u2003"


def baseline_section(baseline: pd.DataFrame, options: ReportOptions) -> dict:
    """Table 1, as gtsummary's ``tbl_summary``: labels with units, one column per analysis set.

    Laid out by :func:`rwe.tables.baseline_display`: one row per continuous or 0/1 variable,
    levels indented under the others, an Unknown row (a count) under every variable with
    missing values.
    """
    if baseline.empty:
        return {"baseline": {}}
    shown = baseline_display(baseline, options.gfr_cutoff)
    sets = list(shown.columns[3:])
    rows = [
        [INDENT * int(r["indent"]) + r["characteristic"], *[r[s] for s in sets]]
        for r in shown.to_dict("records")
    ]
    sizes = baseline[baseline["variable"] == "patients"].set_index("analysis_set")["n"]
    header = ["Characteristic", *[f"{s} (N = {count(sizes.get(s))})" for s in sets]]
    caption = (
        "Baseline characteristics: n (%) of the patients with a known value, or median (range) "
        "for continuous variables; Unknown: patients with the value missing, left out of the "
        "percentages."
    )
    baseline_table = {"header": header, "rows": rows, "caption": caption, "note": "", "open": True}
    return {"baseline": baseline_table}


# --------------------------------------------------------------------------- outcomes


def nowrap(value: str) -> str:
    """An estimate with its CI kept on one line (no-break spaces)."""
    return value.replace(" ", "\u00a0")


def hr_text(r, hr="hr", lower="ci_lower", upper="ci_upper") -> str:
    """A hazard (or odds) ratio with its CI on one line; — when it does not exist."""
    if is_missing(r[hr]):
        return "—"
    return nowrap(hr_ci(r, hr, lower, upper))


def median_ci(r, est="median", lower="ci_lower", upper="ci_upper") -> str:
    """A Kaplan–Meier median (or follow-up) with its CI: NR only where it is not reached.

    An empty median is "NR" (the curve stays above 50%), an empty upper limit "NR" (the upper
    confidence curve stays above 50%) unless its note says the CI is not estimable (the curve
    falls to 0, R gives NA: "NE"), an empty lower limit of a reached median "NE"; a median not
    reached with no lower limit is plain "NR", and a group without patients "—".
    """
    values = (r[est], r[lower], r[upper])
    if SUPPRESSED in values:
        return SUPPRESSED
    if r.get("n") == 0 or (isinstance(r.get("n"), float) and r["n"] == 0):
        return "—"
    if is_missing(r[est]):
        return "NR" if is_missing(r[lower]) else f"NR ({num(r[lower])}–NR)"
    # A limit R gives as NA because the curve falls to 0 is not estimable, not "not reached".
    undefined = "CI not estimable" in text(r.get("note"))
    low = "NE" if is_missing(r[lower]) else num(r[lower])
    high = ("NE" if undefined else "NR") if is_missing(r[upper]) else num(r[upper])
    return f"{num(r[est])} ({low}–{high})"


def median_note(options: ReportOptions) -> str:
    """What NR, NE and — mean in a table of medians, and the flag of medians from few events."""
    return (
        "NR: not reached (the curve, or its upper confidence limit, stays above 50%); NE: not "
        "estimable (R gives NA for the lower limit, e.g. where the curve falls to 0); —: no "
        f"patients. Medians from fewer than {options.min_median_events} events are flagged as "
        "imprecise."
    )


def _count_or_inf(value) -> float:
    """A count as a float; infinity when unknown (a table without per-level counts)."""
    try:
        return float(value) if not is_missing(value) else np.inf
    except (TypeError, ValueError):  # a suppressed cell ("<k"): too small anyway
        return 0.0


def drop_empty_levels(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """``frame`` without the subgroup levels that have no patients (``column`` 0), and their number.

    The whole set (``variable`` ``all``) is kept even when empty.
    """
    values = pd.to_numeric(frame[column], errors="coerce") if len(frame) else frame[column]
    empty = (values == 0) & (frame["variable"].astype(str) != "all")
    return frame[~empty], int(empty.sum())


def empty_note(empty: int) -> str:
    """The note on the empty subgroup levels a table leaves out ('' when none)."""
    if not empty:
        return ""
    return f"{empty} empty subgroup level{'s' if empty != 1 else ''} (no patients) not shown."


def rate_ci(r, name: str) -> str:
    """A rate (ORR, CBR) in % with its CI from a row: ``<name>``, ``<name>_ci_lower/upper``."""
    return estimate_ci(
        r[name], r[f"{name}_ci_lower"], r[f"{name}_ci_upper"], scale=100, missing="—"
    )


def response_section(
    response: pd.DataFrame,
    response_tests: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
) -> dict:
    """Best overall response by set and subgroup, and the subgroup tests.

    Subgroup levels without evaluable patients are dropped and counted; no odds ratio is shown
    where a level has fewer than ``min_events`` patients.
    """
    counts = [(c, lambda r, c=c: count(r[c])) for c in CATEGORIES]
    response, empty = drop_empty_levels(response, "n_evaluable")

    def odds_ratio(r):
        smaller = min(_count_or_inf(r.get("n_1")), _count_or_inf(r.get("n_0")))
        if smaller < options.min_events:
            return "—"
        return hr_text(r, "odds_ratio", "or_ci_lower", "or_ci_upper")

    return {
        "figures": figures.get("response", []),
        "response": table(
            response,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Group", lambda r: group(r["variable"], r["level"], options.label)),
                ("Evaluable", lambda r: count(r["n_evaluable"])),
                *counts,
                ("NE", lambda r: count(r["NE"])),
                (f"ORR % ({options.ci})", lambda r: rate_ci(r, "orr")),
                (f"CBR % ({options.ci})", lambda r: rate_ci(r, "cbr")),
            ],
            caption="Best overall response (IMWG). ORR = PR or better; CBR = MR or better; exact "
            "Clopper–Pearson CIs. NE: not evaluable, excluded from the denominators.",
            note=empty_note(empty),
        ),
        "response_tests": table(
            response_tests,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Subgroup", lambda r: options.label(r["variable"])),
                ("Measure", lambda r: r["measure"].upper()),
                ("Rate yes %", lambda r: pct(r["rate_1"])),
                ("Rate no %", lambda r: pct(r["rate_0"])),
                (f"Odds ratio ({options.ci})", odds_ratio),
                ("p (Fisher)", lambda r: pval(r["p"])),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Fisher's exact test, two-sided; odds ratio of response with the subgroup "
            "flag (yes vs no): the conditional maximum-likelihood estimate with its exact "
            "conditional CI (R fisher.test). Exploratory, not adjusted for multiplicity; no odds "
            f"ratio where a level has fewer than {options.min_events} patients.",
        ),
    }


LANDMARK_GROUPS = {
    "all": "At risk at the landmark",
    "1": "Response confirmed by then",
    "0": "No confirmed response by then",
}
TD_TERMS = {RESPONSE_TERM: "Response (time-dependent)"}


def survival_section(
    km_medians: pd.DataFrame,
    followup: pd.DataFrame,
    km_landmarks: pd.DataFrame,
    logrank: pd.DataFrame,
    landmark: pd.DataFrame,
    cox_time_dependent: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
) -> dict:
    """Kaplan–Meier medians, follow-up, landmark survival, log-rank tests and the curves.

    With them, response compared with survival without immortal-time bias (landmark analysis
    and time-dependent Cox).
    """
    set_endpoint = [
        ("Set", lambda r: r["analysis_set"]),
        ("Endpoint", lambda r: endpoint_label(r["endpoint"])),
    ]
    note = ("Note", lambda r: text(r.get("note")))
    biased = (
        f"The responder subgroup is compared from day 0, as configured: {IMMORTAL_TIME_NOTE}."
        if "responder" in options.subgroups
        else ""
    )
    months = ", ".join(f"{m:g}" for m in options.response_landmarks_months)
    td_rows, td_notes = notes_once(cox_time_dependent, ["analysis_set", "endpoint", "model"])
    km_medians, empty = drop_empty_levels(km_medians, "n")
    return {
        "km_medians": table(
            km_medians,
            [
                *set_endpoint,
                ("Group", lambda r: group(r["variable"], r["level"], options.label)),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                (f"Median, months ({options.ci})", lambda r: nowrap(median_ci(r))),
                note,
            ],
            caption="Kaplan–Meier medians.",
            note=" ".join(n for n in (median_note(options), biased, empty_note(empty)) if n),
        ),
        "followup": table(
            followup,
            [
                *set_endpoint,
                (
                    f"Median follow-up, months ({options.ci})",
                    lambda r: nowrap(median_ci(r, "median_followup")),
                ),
            ],
            caption="Median follow-up by the reverse Kaplan–Meier method.",
            note=f"Follow-up is the {FOLLOWUP_NOTE}.",
        ),
        "km_landmarks": table(
            km_landmarks[km_landmarks["variable"] == "all"],
            [
                *set_endpoint,
                ("Month", lambda r: num(r["month"], 0)),
                ("At risk", lambda r: count(r["n_risk"])),
                (
                    f"Survival % ({options.ci})",
                    lambda r: estimate_ci(
                        r["surv"], r["ci_lower"], r["ci_upper"], scale=100, missing="—"
                    ),
                ),
            ],
            caption="Survival at landmark months (all patients of each set; subgroups in "
            "km_landmarks.csv).",
        ),
        "logrank": table(
            logrank,
            [
                *set_endpoint,
                ("Subgroup", lambda r: options.label(r["variable"])),
                ("Chi-square", lambda r: num(r["chisq"], 2)),
                ("df", lambda r: count(r["df"])),
                ("p", lambda r: pval(r["p"])),
                ("Analysis", lambda r: text(r.get("analysis"))),
                note,
            ],
            caption="Log-rank tests: prespecified (the configured primary comparisons, all "
            "patients) or exploratory; none adjusted for multiplicity.",
            note=biased,
        ),
        "landmark": table(
            landmark,
            [
                *set_endpoint,
                ("Landmark, month", lambda r: num(r["landmark_month"], 0)),
                ("Group", lambda r: LANDMARK_GROUPS.get(str(r["level"]), str(r["level"]))),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                (
                    f"Median from the landmark, months ({options.ci})",
                    lambda r: nowrap(median_ci(r)),
                ),
                (
                    f"HR responded vs not ({options.ci})",
                    lambda r: (
                        ""
                        if str(r["level"]) != "all"
                        else hr_text(r, "hr", "hr_ci_lower", "hr_ci_upper")
                    ),
                ),
                ("p (Cox)", lambda r: "" if str(r["level"]) != "all" else pval(r["hr_p"])),
                (
                    "p (log-rank)",
                    lambda r: "" if str(r["level"]) != "all" else pval(r["logrank_p"]),
                ),
                note,
            ],
            caption=f"Landmark analysis of response (months {months}): patients event-free and "
            "under follow-up at the landmark, by whether a response (≥ PR) had been confirmed by "
            "then (a response confirmed after the landmark does not count); time counted from "
            "the landmark.",
            note=median_note(options),
        ),
        "cox_time_dependent": table(
            td_rows,
            [
                *set_endpoint,
                ("Model", lambda r: "adjusted" if r["model"] == "multivariable" else "unadjusted"),
                ("Covariate", lambda r: TD_TERMS.get(r["term"], options.label(r["term"]))),
                (f"HR ({options.ci})", hr_text),
                ("p", lambda r: pval(r["p"])),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                note,
            ],
            caption="Cox models with response (≥ PR) as a time-dependent covariate (counting-"
            "process rows as R tmerge builds them: each patient's follow-up split at the day "
            "the response was confirmed), alone and adjusted for the multivariable covariates; "
            f"{options.ties}, Wald CI.",
            note="; ".join(td_notes) + "." if td_notes else "",
        ),
        "figures": figures.get("survival", []),
        "swimmer": figures.get("swimmer", []),
        "k": options.min_cell_count,
    }


DIAGNOSTIC_NAMES = {
    "lr": "Likelihood-ratio test",
    "wald": "Wald test",
    "score": "Score (log-rank) test",
    "concordance": "Concordance",
    "zph": "PH test (cox.zph)",
}


def notes_once(frame: pd.DataFrame, model: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Notes shared by every row of a model said once, the rest left on their rows.

    Returns ``frame`` with each row's own notes in ``note``, and one line per model that has
    shared notes (``all, PFS, multivariable: 14 patients with a missing covariate left out``).
    """
    if frame.empty:
        return frame, []
    out, shared_lines = frame.astype({"note": object}), []
    for key, part in frame.groupby(model, sort=False):
        shared = set.intersection(*(set(_notes(n)) for n in part["note"]))
        out.loc[part.index, "note"] = [
            "; ".join(n for n in _notes(note) if n not in shared) for note in part["note"]
        ]
        if shared:
            common = "; ".join(_in_order(shared, part["note"]))
            shared_lines.append(f"{', '.join(map(str, key))}: {common}")
    return out, shared_lines


def _notes(note) -> list[str]:
    """A note's parts, split at the top-level "; " only (a part may hold "; " in brackets)."""
    parts, depth, start, note = [], 0, 0, text(note)
    for i, char in enumerate(note):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if depth == 0 and note.startswith("; ", i):
            parts.append(note[start:i])
            start = i + 2
    parts.append(note[start:])
    return [n for n in parts if n]


def _in_order(shared: set[str], notes) -> list[str]:
    """The shared notes in the order the first note gives them (not sorted: not reordered)."""
    first = _notes(next(iter(notes), ""))
    return [n for n in first if n in shared]


def cox_side_by_side(
    cox: pd.DataFrame, covariate: Callable[[str], str]
) -> tuple[list[list[str]], list[str]]:
    """Univariable and multivariable Cox estimates side by side (as ``gtsummary::tbl_merge``).

    ``covariate`` gives a covariate's label (:meth:`rwe.options.ReportOptions.label`).

    Returns
    -------
    rows : list of list of str
        Per set, endpoint and covariate: the univariable N (events), HR (CI) and p, the
        multivariable HR (CI) and p, and the notes about this covariate only.
    model_notes : list of str
        Per multivariable model, once: its N and events and the notes shared by all its rows.
    """
    rows, model_notes = [], []
    for (name, endpoint), part in cox.groupby(["analysis_set", "endpoint"], sort=False):
        uni = part[part["model"] == "univariable"].set_index("term")
        multi = part[part["model"] == "multivariable"].set_index("term")
        shared = {
            m: set.intersection(*(set(_notes(n)) for n in frame["note"])) if len(frame) else set()
            for m, frame in (("univariable", uni), ("multivariable", multi))
        }
        for term in dict.fromkeys([*multi.index, *uni.index]):
            u = uni.loc[term] if term in uni.index else None
            m = multi.loc[term] if term in multi.index else None
            own = []
            for model, r in (("univariable", u), ("multivariable", m)):
                if r is not None:
                    own += [f"{model}: {n}" for n in _notes(r["note"]) if n not in shared[model]]
            rows.append(
                [
                    name,
                    endpoint_label(endpoint),
                    covariate(term),
                    "" if u is None else f"{count(u['n'])} ({count(u['events'])})",
                    "" if u is None else hr_text(u),
                    "" if u is None else pval(u["p"]),
                    "" if m is None else hr_text(m),
                    "" if m is None else pval(m["p"]),
                    "" if m is None else hr_text(m, *COX_FIRTH_COLUMNS[:3]),
                    "" if m is None or is_missing(m["firth_p"]) else pval(m["firth_p"]),
                    "" if m is None else text(m.get("analysis", "")),
                    "; ".join(own),
                ]
            )
        if len(multi):
            first = multi.iloc[0]
            common = "; ".join(_in_order(shared["multivariable"], multi["note"]))
            model_notes.append(
                f"{name}, {endpoint_label(endpoint)}: multivariable model of {count(first['n'])} "
                "patients and "
                f"{count(first['events'])} events" + (f" ({common})" if common else "")
            )
    return rows, model_notes


def subgroup_table(subgroup_interactions: pd.DataFrame, options: ReportOptions) -> dict:
    """Treatment HR within each subgroup level, with the interaction test of each subgroup."""
    frame = subgroup_interactions
    first = ~frame.duplicated(["endpoint", "variable"])
    treatment = text(frame["treatment"].iloc[0]) if len(frame) else ""
    return table(
        frame,
        [
            ("Endpoint", lambda r: r["endpoint"]),
            ("Subgroup", lambda r: options.label(r["variable"])),
            ("Level", lambda r: {"1": "yes", "0": "no"}.get(str(r["level"]), str(r["level"]))),
            ("n", lambda r: count(r["n"])),
            ("Events", lambda r: count(r["events"])),
            (f"HR {treatment} ({options.ci})", hr_text),
            (
                "Interaction p (LR)",
                lambda r: "" if is_missing(r["interaction_p"]) else pval(r["interaction_p"]),
            ),
            ("Analysis", lambda r: text(r["analysis"])),
            ("Note", lambda r: text(r["note"])),
        ],
        caption=f"Subgroup effects of {treatment}: the hazard ratio within each level of each "
        "subgroup (Wald CI; no p value within a level) and, per subgroup, the likelihood-ratio "
        "test of the treatment × subgroup interaction in a Cox model (R anova of coxph with and "
        f"without the interaction; {options.ties}; stratified by site when several sites are "
        "pooled). Empty levels are dropped and counted; no "
        f"hazard ratio from fewer than {options.min_events} events. "
        f"{int(first.sum())} subgroup comparisons, none adjusted for multiplicity.",
    )


def cox_section(
    cox: pd.DataFrame,
    cox_diagnostics: pd.DataFrame,
    subgroup_interactions: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
    cox_influence: pd.DataFrame | None = None,
) -> dict:
    """The Cox models side by side, diagnostics, forest plots, and the subgroup effects."""
    diag = cox_diagnostics[
        (cox_diagnostics["model"] == "multivariable")
        & ~cox_diagnostics["statistic"].isin(["n", "events", "n_dropped"])
    ]
    rows, model_notes = cox_side_by_side(cox, options.label)
    header = [
        "Set",
        "Endpoint",
        "Covariate (yes vs no)",
        "Univariable N (events)",
        f"Univariable HR ({options.ci})",
        "p",
        f"Multivariable HR ({options.ci})",
        "p",
        f"Firth HR (profile {options.ci})",
        "p",
        "Analysis",
        "Note",
    ]
    return {
        "figures": figures.get("cox", []),
        "cox": {
            "header": header,
            "rows": rows,
            "caption": "Cox proportional-hazards models, univariable and multivariable side by "
            f"side: {options.ties}, Wald CIs and p, complete cases. Where a model has fewer "
            f"than {options.min_events_per_covariate} events per covariate, or a covariate has "
            "no events in one level (monotone likelihood), Firth's penalised partial likelihood "
            f"(Heinze & Schemper 2001, same {options.ties}) is fitted too: its hazard ratio with "
            "the profile penalised likelihood CI and the penalised likelihood-ratio p (as R "
            "coxphf(pl = TRUE) reports them). No hazard ratio is shown from fewer than "
            f"{options.min_events} events. Analysis: prespecified (the configured primary "
            "comparisons, multivariable model of all patients) or exploratory.",
            "note": "; ".join(model_notes) + "." if model_notes else "",
        },
        "cox_diagnostics": table(
            diag,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Endpoint", lambda r: endpoint_label(r["endpoint"])),
                ("Statistic", lambda r: DIAGNOSTIC_NAMES.get(r["statistic"], r["statistic"])),
                (
                    "Term",
                    lambda r: (
                        options.label(r["term"]) if isinstance(r["term"], str) and r["term"] else ""
                    ),
                ),
                ("Value", lambda r: num(r["value"], 3)),
                ("df", lambda r: count(r["df"])),
                ("p", lambda r: pval(r["p"])),
            ],
            caption="Diagnostics of the multivariable models: global tests, concordance, and the "
            "proportional-hazards test of R cox.zph (Kaplan–Meier transform of time).",
        ),
        "cox_influence": cox_influence_table(cox_influence, options),
        "subgroups": subgroup_table(subgroup_interactions, options),
    }


def _not_estimable(note) -> str:
    """The "not estimable: ..." part of a note (the model's notes are under the Cox table)."""
    first = str(note).split("; ")[0] if isinstance(note, str) else ""
    return first if first.startswith("not estimable") else ""


def cox_influence_table(cox_influence: pd.DataFrame | None, options: ReportOptions) -> dict:
    """Influence of single patients on the multivariable models (from ``cox_influence.csv``).

    The cutoff's rule (``c/√n``, c from config ``cox.dfbetas_cutoff``) is read from the table,
    so the caption states the rule the run used.
    """
    if cox_influence is None:
        return {}
    rows = cox_influence[cox_influence["model"] == "multivariable"]
    rule = next(iter(rows["rule"].dropna()), "") if "rule" in rows else ""
    return table(
        rows,
        [
            ("Set", lambda r: r["analysis_set"]),
            ("Endpoint", lambda r: r["endpoint"]),
            ("Term", lambda r: options.label(r["term"])),
            ("Largest |dfbetas|", lambda r: num(r["max_abs_dfbetas"], 3)),
            (f"Cutoff {rule}", lambda r: num(r["cutoff"], 3)),
            ("Patients above", lambda r: count(r["n_above"])),
            ("Note", lambda r: text(_not_estimable(r.get("note")))),
        ],
        caption="Influence of single patients on the multivariable models: per term, the "
        "largest absolute dfbetas (the change in the coefficient, in standard errors, when the "
        'patient is left out; R residuals(coxph, type = "dfbetas"), same ties) and the patients '
        f"whose |dfbetas| exceeds the size-adjusted cutoff {rule} (Belsley, Kuh & Welsch; c from "
        "config cox.dfbetas_cutoff). Exploratory: a diagnostic, not a test.",
    )


# --------------------------------------------------------------------------- safety, exposure


def n_percent(n, percent) -> str:
    """``n (percent)``; a suppressed percentage shows the (suppressed) count only."""
    return f"{count(n)} ({num(percent)})" if not isinstance(percent, str) else f"{n}"


def n_percent_ci(r) -> str:
    """``n (percent; lower–upper)`` of a row with an exact CI; suppressed: the count only."""
    values = [r["percent"], r.get("ci_lower"), r.get("ci_upper")]
    if any(isinstance(v, str) for v in values):
        return f"{r['n']}"
    if any(is_missing(v) for v in values):
        return n_percent(r["n"], r["percent"])
    return f"{count(r['n'])} ({num(values[0])}; {num(values[1])}–{num(values[2])})"


def adverse_event_table(adverse_events: pd.DataFrame, options: ReportOptions) -> dict:
    """Patients with each adverse event of all patients, by worst grade (one column per group)."""
    ae = adverse_events[adverse_events["analysis_set"] == "all"]
    if ae.empty:
        return {}
    cells = ae.assign(cell=[n_percent_ci(r) for r in ae.to_dict("records")])
    wide = cells.pivot_table(
        index=["category", "term"],
        columns="grade_group",
        values="cell",
        aggfunc="first",
        sort=False,
    )
    rows = [
        [cat, term, *[wide.loc[(cat, term), g] for g in ("any", "ge2", "ge3", "ge4")]]
        for cat, term in wide.index
    ]
    size = ae["N"].iloc[0]
    n_all = size if isinstance(size, str) else int(size)
    return {
        "header": ["Category", "Term (CTCAE v5)", "Any grade", "Grade ≥2", "Grade ≥3", "Grade 4"],
        "rows": rows,
        "caption": f"Patients with each treatment-emergent adverse event, n (%; {options.ci}, "
        f"exact) of N = {n_all}; worst grade per patient.",
        "note": "",
    }


def adverse_events_by_set(adverse_events: pd.DataFrame, options: ReportOptions) -> dict:
    """Patients with any hematologic and non-hematologic event, by analysis set."""
    totals = adverse_events[
        adverse_events["term"].isin(["any hematologic", "any non-hematologic"])
        & adverse_events["grade_group"].isin(["any", "ge3"])
    ]
    if totals.empty:
        return {}
    grades = totals["grade_group"].map({"any": "any grade", "ge3": "grade ≥3"})
    totals = totals.assign(
        col=totals["term"].str.replace("any ", "") + " " + grades,
        cell=[n_percent_ci(r) for r in totals.to_dict("records")],
    )
    wide = totals.pivot_table(
        index="analysis_set", columns="col", values="cell", aggfunc="first", sort=False
    )
    sizes = totals.groupby("analysis_set", sort=False)["N"].first()
    return {
        "header": ["Analysis set / regimen", "N", *wide.columns],
        "rows": [[s, count(sizes[s]), *wide.loc[s].tolist()] for s in wide.index],
        "caption": "Patients with any treatment-emergent hematologic and non-hematologic adverse "
        f"event, by analysis set and regimen, n (%; {options.ci}, exact).",
        "note": "",
    }


#: Readers' names of the grade bands of the hematologic toxicity table.
TOXICITY_GRADE_WORDS = {
    group: "any grade" if lowest == 1 else f"grade {lowest}" if lowest == 4 else f"grade ≥{lowest}"
    for group, lowest in TOXICITY_GRADE_GROUPS.items()
}


def toxicity_name(test: str) -> str:
    """``Neutropenia (ANC)``; the row of any of them names the four tests."""
    if test in TOXICITY_TESTS:
        return f"{TOXICITY_TESTS[test]} ({test})"
    return f"Any of the four ({', '.join(TOXICITY_TESTS)})"


def hematologic_toxicity_display(
    hematologic_toxicity: pd.DataFrame, options: ReportOptions
) -> dict:
    """Reported vs lab-graded hematologic toxicity of all patients, one row per analyte and band."""
    tox = hematologic_toxicity[hematologic_toxicity["analysis_set"] == "all"]
    if tox.empty:
        return {}
    cells = tox.assign(cell=[n_percent_ci(r) for r in tox.to_dict("records")])
    wide = cells.pivot_table(
        index=["test", "grade_group"], columns="source", values="cell", aggfunc="first", sort=False
    )
    with_labs = tox.groupby("test", sort=False)["n_with_labs"].first()
    rows = [
        [
            toxicity_name(test),
            TOXICITY_GRADE_WORDS[band],
            *[wide.loc[(test, band), source] for source in ("reported", "labs", "either")],
            count(with_labs[test]),
        ]
        for test, band in wide.index
    ]
    size = count(tox["N"].iloc[0])
    notes = [n for n in dict.fromkeys(tox["note"].fillna("")) if n]
    window = window_text(*window_options(options))
    return {
        "header": [
            "Toxicity (test)",
            "Worst grade",
            "Reported adverse event",
            "Graded from blood counts (CTCAE v5)",
            "Either",
            "Patients with counts",
        ],
        "rows": rows,
        "caption": f"Hematologic toxicity, all patients (N = {size}): patients with a reported "
        "adverse event of the analyte's CTCAE v5 term, patients whose plausible blood counts "
        "reach the grade by CTCAE v5 thresholds, and patients with either; treatment-emergent, "
        f"{window}; worst grade per patient; n (%; {options.ci}, exact Clopper–Pearson).",
        "note": "; ".join(notes) + ("." if notes else ""),
    }


def safety_window_display(safety_window: pd.DataFrame) -> dict:
    """What the treatment-emergent window counted out, per kind of record."""
    return table(
        safety_window,
        [
            (
                "Records",
                lambda r: (
                    r["records"] if r["records"] == REPORTED_RECORDS else f"{r['records']} values"
                ),
            ),
            ("Sent", lambda r: count(r["n_records"])),
            ("Before the window", lambda r: count(r["n_before_window"])),
            ("After the window", lambda r: count(r["n_after_window"])),
            ("Implausible (left out)", lambda r: count(r["n_implausible"])),
            ("Analysed", lambda r: count(r["n_analysed"])),
        ],
        caption="Records in and out of the treatment-emergent window (the window of the "
        "sentence above), all sites; values outside the physiological ranges are left out.",
    )


def safety_text(options: ReportOptions) -> str:
    """The sentence that states the window and the grading of the safety tables."""
    return (
        f"{treatment_emergent_methods(*window_options(options))} Hematologic toxicity is shown "
        "as reported and as graded from the blood counts in the same window by CTCAE v5 "
        f"thresholds ({ctcae_thresholds_text()}); values outside the physiological ranges of "
        "the plausibility checks are left out. The adverse-event tables grade hematologic "
        f"events {HEMATOLOGIC_GRADES[options.hematologic_source]} (safety.hematologic_source)."
    )


def safety_section(
    adverse_events: pd.DataFrame,
    hematologic_toxicity: pd.DataFrame,
    safety_window: pd.DataFrame,
    nadir: pd.DataFrame,
    nadir_tests: pd.DataFrame,
    figures: dict[str, list],
    provenance: dict,
    options: ReportOptions,
) -> dict:
    """Adverse events, nadir blood counts and their tests; what was not sent is named."""
    out = {
        "text": safety_text(options),
        "hematologic_toxicity": hematologic_toxicity_display(hematologic_toxicity, options),
        "safety_window": safety_window_display(safety_window),
        "adverse_events": adverse_event_table(adverse_events, options),
        "ae_by_set": adverse_events_by_set(adverse_events, options),
        "nadir": table(
            nadir[nadir["analysis_set"] == "all"],
            [
                ("Test", lambda r: r["test"]),
                ("Group", lambda r: r["group"]),
                ("n", lambda r: count(r["n"])),
                (
                    "Median (range)",
                    lambda r: estimate_ci(r["median"], r["min"], r["max"], digits=2, missing="—"),
                ),
            ],
            caption="Nadir blood counts in each patient's nadir window (Methods), all patients: "
            f"median (range); WBC, ANC and PLT in {LAB_UNIT_DISPLAY['ANC']}, HGB in "
            f"{LAB_UNIT_DISPLAY['HGB']}.",
        ),
        "nadir_tests": table(
            nadir_tests,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Test", lambda r: r["test"]),
                ("Comparison", lambda r: r["comparison"]),
                ("W", lambda r: num(r["W"], 1)),
                ("p", lambda r: pval(r["p"])),
                ("Method", lambda r: r["method"]),
            ],
            caption="Wilcoxon rank-sum (Mann–Whitney U) tests, two-sided.",
        ),
        "figures": figures.get("safety", []),
    }
    supplied = {i["file"] for i in provenance.get("inputs", [])}
    for needed, keys in (
        ("adverse_events.csv", ["adverse_events"]),
        ("labs.csv", ["nadir", "nadir_tests"]),
    ):
        if needed not in supplied:
            for key in keys:
                out[key] = missing(
                    f"Not available: no site sent {needed}, so this analysis was not run."
                )
    for needed, column in (
        ("adverse_events.csv", "reported adverse events"),
        ("labs.csv", "grades from blood counts"),
    ):
        if needed not in supplied and out["hematologic_toxicity"].get("rows"):
            note = f"{out['hematologic_toxicity']['note']} No site sent {needed}: no {column}."
            out["hematologic_toxicity"]["note"] = note.strip()
    if "labs.csv" not in supplied and options.hematologic_source != "reported":
        out["adverse_events"]["note"] = (
            "Hematologic grades from labs were requested, but no labs.csv was sent."
        )
    return out


def exposure_section(
    exposure_response: pd.DataFrame,
    exposure_predictions: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
) -> dict:
    """Logistic exposure–response models and their predicted probabilities."""

    def at(r):
        where = "" if r["exposure"] == "start_dose_mg" else f" (median AUC {num(r['at'], 3)})"
        return f"{num(r['dose_mg'], 1)} mg{where}"

    def outcome(r):
        return r["outcome"].replace("_", " ")

    def odds_ratio(r):
        """Per interquartile range of the exposure (R IQR), as the stage computed it."""
        values = (r["odds_ratio_iqr"], r["or_iqr_ci_lower"], r["or_iqr_ci_upper"])
        return estimate_ci(*values, digits=2, missing="—")

    def adjusted_odds_ratio(r):
        """The same, adjusted for ``exposure.adjust_for`` (the regimen)."""
        values = (
            r["odds_ratio_adjusted_iqr"],
            r["adjusted_iqr_ci_lower"],
            r["adjusted_iqr_ci_upper"],
        )
        return estimate_ci(*values, digits=2, missing="—")

    adjusted_for = exposure_response["adjusted_for"].dropna().astype(str)
    adjusted_for = adjusted_for.iloc[0] if len(adjusted_for) else ""
    chance = exposure_response["cv_auc"] <= options.chance_auc
    unit = exposure_axis_label(
        exposure_response["exposure"].iloc[0] if len(exposure_response) else "", options.auc_unit
    )
    sentences = [
        f"Exposure: {unit}.",
        f"Adjusted for {adjusted_for.replace('+', ', ')} (patients on different regimens are "
        "not pooled without it)."
        if adjusted_for
        else "Not adjusted for regimen (exposure.adjust_for is empty).",
        f"No odds ratio from fewer than {options.min_events} events.",
    ]
    if chance.any():
        sentences.append(
            f"For {int(chance.sum())} of {int(exposure_response['cv_auc'].notna().sum())} "
            f"outcomes the cross-validated AUC is at or below {options.chance_auc:g}: the "
            "exposure does not discriminate patients with the outcome from those without "
            "better than chance, whatever its odds ratio."
        )

    return {
        "exposure_response": table(
            exposure_response,
            [
                ("Outcome", outcome),
                ("Exposure", lambda r: r["exposure"]),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                ("IQR", lambda r: num(r["iqr"], 3)),
                (f"OR per IQR ({options.ci})", odds_ratio),
                ("p", lambda r: pval(r["p"])),
                (f"OR per IQR adjusted ({options.ci})", adjusted_odds_ratio),
                ("p", lambda r: pval(r["p_adjusted"])),
                (
                    "Observed below / above median %",
                    lambda r: f"{pct(r['observed_below'])} / {pct(r['observed_above'])}",
                ),
                ("CV AUC", lambda r: num(r["cv_auc"], 2)),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Logistic regression of each outcome on exposure (Wald CI); odds ratios per "
            "interquartile range (IQR) of the exposure, exp(slope × IQR). Disease control = best "
            "response ≥ SD (not CBR).",
            note=" ".join(sentences),
        ),
        "exposure_predictions": table(
            exposure_predictions,
            [
                ("Outcome", outcome),
                ("At", at),
                (
                    f"Predicted % ({options.ci})",
                    lambda r: estimate_ci(
                        r["probability"], r["ci_lower"], r["ci_upper"], scale=100, missing="—"
                    ),
                ),
            ],
            caption="Predicted probability at the configured doses/exposures.",
        ),
        "figures": figures.get("exposure", []),
    }


# --------------------------------------------------------------------------- published, provenance


def signed(value: float, digits: int) -> str:
    """A difference with its digits, without a negative zero (−0.0)."""
    return num(round(value, digits) + 0.0, digits)


def published_value(r, side: str) -> str:
    """One side of the published comparison: the value (whole for counts) with its CI."""
    digits = 2 if r["unit"] == "HR" else 1
    value, lower, upper = r[side], r[f"{side}_ci_lower"], r[f"{side}_ci_upper"]
    if r["unit"] == "p":
        return ""
    whole = not isinstance(value, str) and not is_missing(value) and float(value).is_integer()
    if r["unit"] == "n" or (whole and r["unit"] == "years"):
        return count(value)
    if is_missing(lower) and is_missing(upper):
        return num(value, digits)
    if r["unit"] == "months":
        return nowrap(median_ci({"median": value, "ci_lower": lower, "ci_upper": upper}))
    return nowrap(estimate_ci(value, lower, upper, digits=digits, missing="—"))


def published_section(published_comparison: pd.DataFrame, options: ReportOptions) -> dict:
    """The seed paper's estimates next to this run's: CIs and p, ratio or difference, overlap."""
    reference = options.published_reference
    if not reference or not len(published_comparison):
        return {"published_comparison": {}}

    def p_or_blank(v):
        return "" if is_missing(v) else pval(v)

    def published_p(r):  # the paper gave only a bound: "published p < 0.001" in the note
        bound = "published p <" in text(r.get("note"))
        return f"<{num(r['published_p'], 3)}" if bound else p_or_blank(r["published_p"])

    columns = [
        ("Quantity", lambda r: r["quantity"]),
        ("Unit", lambda r: text(unit(r["unit"]))),
        (f"Published ({options.ci})", lambda r: published_value(r, "published")),
        ("p", lambda r: published_p(r)),
        (f"This run ({options.ci})", lambda r: published_value(r, "this_run")),
        ("p", lambda r: p_or_blank(r["this_run_p"])),
        (
            "Ratio or difference",
            lambda r: (
                f"ratio {num(r['ratio'], 2)}"
                if not is_missing(r.get("ratio"))
                else ""
                if r["unit"] in ("n", "p") or is_missing(r["difference"])
                else signed(r["difference"], 1) + (" points" if r["unit"] == "%" else "")
            ),
        ),
        ("CIs overlap", lambda r: text(r.get("intervals_overlap"))),
        ("Note", lambda r: text(r.get("note"))),
    ]
    caption = (
        f"Published estimates ({reference}) next to this run, compared on their own scale: "
        "hazard ratios by their ratio (this run / published), percentages by their difference "
        "in percentage points, other quantities by their difference (this run − published), "
        f"and whether the intervals overlap (the paper's as published, this run's {options.ci}). "
        "Conclusions are not "
        "compared by which side of a significance level the p values fall. The demo extract is "
        "synthetic and calibrated to the paper: agreement checks the pipeline, not the medicine."
    )
    return {"published_comparison": table(published_comparison, columns, caption=caption)}


def provenance_section(provenance: dict) -> dict:
    """The input files with their hashes, the software versions and the configuration used."""
    inputs = pd.DataFrame(provenance.get("inputs", []), columns=["site", "file", "rows", "sha256"])
    packages = pd.DataFrame(
        list(provenance.get("packages", {}).items()), columns=["name", "version"]
    )
    return {
        "inputs": table(
            inputs,
            [
                ("Site", lambda r: text(r["site"])),
                ("File", lambda r: text(r["file"])),
                ("Rows", lambda r: count(r["rows"])),
                ("SHA-256", lambda r: text(r["sha256"])),
            ],
            caption="Input files of this run with their SHA-256 checksums.",
        )
        | {"numeric": [False, False, True, False]},  # a checksum is text
        "packages": table(
            packages,
            [("Package", lambda r: text(r["name"])), ("Version", lambda r: text(r["version"]))],
            caption="Software versions of this run.",
        )
        | {"numeric": [False, False]},  # a version is text
        "git_commit": provenance.get("git_commit", ""),
        "run_time": provenance.get("run_time", ""),
        "config_yaml": yaml.safe_dump(
            provenance.get("config", {}), sort_keys=False, allow_unicode=True
        ),
    }
