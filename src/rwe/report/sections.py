"""Builders of the report's sections: each takes the tables it shows and returns its context.

A builder's parameters are named after what it reads (:mod:`rwe.report.registry` passes them by
name): a table (``results/tables/<name>.csv``, small cells already suppressed), ``figures`` (the
embedded figures by section), ``options`` (:class:`rwe.options.ReportOptions`) or
``provenance`` (``provenance.json``). It returns the dict its partial
(``templates/sections/<id>.html.j2``) reads as ``s``.
"""

from __future__ import annotations

import pandas as pd
import yaml

from rwe.catalog import SELECTION_SEED
from rwe.derive import DAYS_PER_MONTH
from rwe.labels import label
from rwe.options import ReportOptions
from rwe.plausibility import FINDING_COLUMNS
from rwe.privacy import SUPPRESSED
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
from rwe.response import CATEGORIES
from rwe.safety import nadir_window_methods

# --------------------------------------------------------------------------- tables read
# Columns the report reads from each table: DESIGN.md §6 contract columns, then the extras the
# stages append (docs/architecture.md). A table or column that is absent is shown as empty.

ATTRITION_TABLES = {"attrition": ["step", "n_in", "n_excluded", "reason", "n_out"]}
DATA_QUALITY_TABLES = {
    "data_quality": ["file", "column", "n", "n_missing", "percent_missing"],
    "plausibility": FINDING_COLUMNS,
}
BASELINE_TABLES = {
    "baseline": ["analysis_set", "variable", "level", "n", "N", "percent", "median", "min", "max"]
}
RESPONSE_TABLES = {
    "response": [
        *["analysis_set", "variable", "level", "n_evaluable", *CATEGORIES, "NE"],
        *["orr", "orr_ci_lower", "orr_ci_upper", "cbr", "cbr_ci_lower", "cbr_ci_upper"],
    ],
    "response_tests": [
        "analysis_set",
        "variable",
        "measure",
        "rate_1",
        "rate_0",
        "odds_ratio",
        "p",
    ],
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
    "logrank": ["analysis_set", "endpoint", "variable", "chisq", "df", "p", "note"],
}
COX_TABLES = {
    "cox": [
        *["analysis_set", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p"],
        *["n", "events", "note"],
    ],
    "cox_diagnostics": [
        *["analysis_set", "endpoint", "model", "statistic", "term", "value", "df", "p"],
    ],
}
SAFETY_TABLES = {
    "adverse_events": ["analysis_set", "category", "term", "grade_group", "n", "N", "percent"],
    "nadir": ["analysis_set", "test", "group", "n", "median", "min", "max"],
    "nadir_tests": ["analysis_set", "test", "comparison", "p", "W", "method"],
}
EXPOSURE_TABLES = {
    "exposure_response": [
        *["outcome", "exposure", "n", "events", "intercept", "slope", "odds_ratio"],
        *["ci_lower", "ci_upper", "p", "observed_below", "observed_above", "cv_auc", "note"],
    ],
    "exposure_predictions": [
        *["outcome", "exposure", "at", "probability", "ci_lower", "ci_upper", "dose_mg"],
    ],
}
PUBLISHED_TABLES = {"published_comparison": ["quantity", "published", "this_run", "unit", "note"]}

# --------------------------------------------------------------------------- summary, methods


def summary_section(
    baseline: pd.DataFrame,
    response: pd.DataFrame,
    km_medians: pd.DataFrame,
    followup: pd.DataFrame,
    cox: pd.DataFrame,
    adverse_events: pd.DataFrame,
) -> dict:
    """Key results in sentences, from the 'all' analysis set.

    A sentence whose estimate is suppressed is left out rather than printed as "suppressed".
    """
    out = []

    def first(frame, **match):
        for column, value in match.items():
            frame = frame[frame[column] == value]
        return frame.iloc[0] if len(frame) else None

    def say(sentence, *values):
        if not any(v == SUPPRESSED for v in values):
            out.append(sentence)

    def rate(r, name):
        return estimate_ci(
            r[name], r[f"{name}_ci_lower"], r[f"{name}_ci_upper"], scale=100, missing="—"
        )

    n = first(baseline, analysis_set="all", variable="patients")
    if n is not None:
        say(f"{count(n['n'])} patients were analysed.")
    r = first(response, analysis_set="all", variable="all")
    if r is not None:
        say(
            f"ORR {rate(r, 'orr')} %; CBR {rate(r, 'cbr')} % (of {count(r['n_evaluable'])} evaluable).",
            r["orr"],
            r["cbr"],
        )
    for endpoint in ("PFS", "OS"):
        m = first(km_medians, analysis_set="all", endpoint=endpoint, variable="all")
        if m is not None:
            median = estimate_ci(m["median"], m["ci_lower"], m["ci_upper"])
            say(f"Median {endpoint} {median} months ({count(m['events'])} events).", m["median"])
    f = first(followup, analysis_set="all", endpoint="OS")
    if f is not None:
        say(f"Median follow-up (reverse Kaplan–Meier) {num(f['median_followup'])} months.")
    multi = cox[(cox["analysis_set"] == "all") & (cox["model"] == "multivariable")]
    for row in multi.dropna(subset=["hr", "p"]).itertuples():
        if not isinstance(row.hr, str) and not isinstance(row.p, str) and row.p < 0.05:
            hr = estimate_ci(row.hr, row.ci_lower, row.ci_upper, digits=2)
            say(f"{row.endpoint}: {label(row.term)} HR {hr}, p {pval(row.p)} (multivariable).")
    heme = first(adverse_events, analysis_set="all", term="any hematologic", grade_group="ge3")
    if heme is not None:
        say(
            f"Grade ≥3 hematologic adverse events in {num(heme['percent'])} % of patients.",
            heme["percent"],
        )
    return {"sentences": out}


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


def methods_section(options: ReportOptions, provenance: dict) -> dict:
    """The methods paragraphs, generated from the configuration actually used."""
    return {"paragraphs": methods_text(options, provenance)}


def methods_text(options: ReportOptions, provenance: dict) -> list[str]:
    """The methods paragraphs (one string each)."""
    level = int(round(100 * options.conf_level))
    versions = provenance.get("packages", {})
    k = options.min_cell_count
    covariates = ", ".join(label(c) for c in options.covariates)
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
        "their last disease assessment (last follow-up when no assessment is recorded).",
        "Best overall response follows the IMWG 2016 criteria (a response needs two consecutive "
        "assessments); ORR is PR or better and CBR MR or better, among patients with an "
        f"evaluable response; {level}% CIs are exact (Clopper–Pearson). Subgroups are compared "
        "with Fisher's exact test (two-sided) and the conditional maximum-likelihood odds ratio.",
        f"Survival is estimated by Kaplan–Meier with Greenwood variance and {level}% pointwise "
        f"CIs on the '{options.conf_type}' scale; median CIs as R quantile.survfit. Median "
        "follow-up by reverse Kaplan–Meier. Groups are compared with the log-rank test. Cox "
        "models use Efron's method for ties, Wald CIs and p, complete cases; proportional "
        "hazards are checked with the score test of R cox.zph (Kaplan–Meier transform). "
        f"Multivariable covariates: {covariates}.",
        sites_methods(options),
        "Adverse events are graded by CTCAE v5; hematologic grades are "
        f"{HEMATOLOGIC_GRADES[options.hematologic_source]}. Patients, not events, are counted at "
        f"their worst grade. {nadir_methods(options)} Nadirs are compared between groups with "
        "the Wilcoxon rank-sum test "
        "(exact for samples under 50 without ties, otherwise normal approximation with "
        "continuity correction). Exposure–response uses logistic regression on the "
        "time-averaged AUC per day when available, else on the starting dose (Gupta et al. 2016).",
        f"All p values are two-sided; intervals are {level}%. Analysis sets: all patients, and "
        f"each regimen with more than {options.min_regimen_n} patients. {privacy} Computed with "
        f"rwe (commit {provenance.get('git_commit', 'unknown')}), lifelines "
        f"{versions.get('lifelines', '?')}, pandas {versions.get('pandas', '?')}; every estimate "
        "is checked against R's survival package in the test suite.",
    ]


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
        "and its variance per covariate; these are pooled by inverse variance, fixed effect and "
        "random effects with the between-site variance tau² by DerSimonian–Laird and REML as "
        "metafor::rma, with Cochran's Q, I² and H². A site where a covariate cannot be estimated "
        "(constant, no events in a level, an infinite estimate) is left out of that covariate's "
        "pooling, and counted."
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
    return {"attrition": table(attrition, columns)}


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
    caption = "Columns with missing values (all other columns are complete)."
    return {
        "inputs": provenance.get("inputs", []),
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


def baseline_section(baseline: pd.DataFrame) -> dict:
    """Wide baseline table: one column per analysis set, n (%) or median (range)."""
    if baseline.empty:
        return {"baseline": {}}

    def cell(r):
        if str(r["n"]).startswith("<") or r["percent"] == SUPPRESSED or r["median"] == SUPPRESSED:
            return str(r["n"]) if str(r["n"]).startswith("<") else SUPPRESSED
        if not is_missing(r["median"]):
            return f"{num(r['median'])} ({num(r['min'])}–{num(r['max'])})"
        return f"{count(r['n'])} ({num(r['percent'])})"

    b = baseline.copy()
    b["cell"] = [cell(r) for r in b.to_dict("records")]
    b["row"] = [
        f"{label(v)}" + ("" if lv in ("all",) else f": {lv}")
        for v, lv in zip(b["variable"], b["level"], strict=True)
    ]
    order = list(dict.fromkeys(b["row"]))
    sets = list(dict.fromkeys(b["analysis_set"]))
    wide = b.pivot_table(
        index="row", columns="analysis_set", values="cell", aggfunc="first"
    ).reindex(order)[sets]
    rows = [
        [r, *[wide.loc[r, s] if isinstance(wide.loc[r, s], str) else "—" for s in sets]]
        for r in order
    ]
    sizes = b[b["variable"] == "patients"].set_index("analysis_set")["n"]
    header = ["Characteristic", *[f"{s} (N = {count(sizes.get(s))})" for s in sets]]
    caption = (
        "Baseline characteristics: n (%) of patients with a known value, or median (range); "
        "percentages exclude unknown values, counted in 'missing' rows."
    )
    return {"baseline": {"header": header, "rows": rows, "caption": caption, "note": ""}}


# --------------------------------------------------------------------------- outcomes


def rate_ci(r, name: str) -> str:
    """A rate (ORR, CBR) in % with its CI from a row: ``<name>``, ``<name>_ci_lower/upper``."""
    return estimate_ci(
        r[name], r[f"{name}_ci_lower"], r[f"{name}_ci_upper"], scale=100, missing="—"
    )


def response_section(
    response: pd.DataFrame, response_tests: pd.DataFrame, figures: dict[str, list]
) -> dict:
    """Best overall response by set and subgroup, and the subgroup tests."""
    counts = [(c, lambda r, c=c: count(r[c])) for c in CATEGORIES]
    return {
        "figures": figures.get("response", []),
        "response": table(
            response,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Group", lambda r: group(r["variable"], r["level"])),
                ("Evaluable", lambda r: count(r["n_evaluable"])),
                *counts,
                ("NE", lambda r: count(r["NE"])),
                ("ORR % (95% CI)", lambda r: rate_ci(r, "orr")),
                ("CBR % (95% CI)", lambda r: rate_ci(r, "cbr")),
            ],
            caption="Best overall response (IMWG). ORR = PR or better; CBR = MR or better; exact "
            "Clopper–Pearson CIs. NE: not evaluable, excluded from the denominators.",
        ),
        "response_tests": table(
            response_tests,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Subgroup", lambda r: label(r["variable"])),
                ("Measure", lambda r: r["measure"].upper()),
                ("Rate yes %", lambda r: pct(r["rate_1"])),
                ("Rate no %", lambda r: pct(r["rate_0"])),
                ("Odds ratio", lambda r: num(r["odds_ratio"], 2)),
                ("p (Fisher)", lambda r: pval(r["p"])),
            ],
            caption="Fisher's exact test, two-sided; odds ratio is the conditional "
            "maximum-likelihood estimate.",
        ),
    }


def survival_section(
    km_medians: pd.DataFrame,
    followup: pd.DataFrame,
    km_landmarks: pd.DataFrame,
    logrank: pd.DataFrame,
    figures: dict[str, list],
    options: ReportOptions,
) -> dict:
    """Kaplan–Meier medians, follow-up, landmark survival, log-rank tests and the curves."""
    set_endpoint = [("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"])]
    return {
        "km_medians": table(
            km_medians,
            [
                *set_endpoint,
                ("Group", lambda r: group(r["variable"], r["level"])),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                (
                    "Median, months (95% CI)",
                    lambda r: estimate_ci(r["median"], r["ci_lower"], r["ci_upper"]),
                ),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Kaplan–Meier medians; NR = not reached.",
        ),
        "followup": table(
            followup,
            [
                *set_endpoint,
                (
                    "Median follow-up, months (95% CI)",
                    lambda r: estimate_ci(r["median_followup"], r["ci_lower"], r["ci_upper"]),
                ),
            ],
            caption="Median follow-up by the reverse Kaplan–Meier method.",
        ),
        "km_landmarks": table(
            km_landmarks[km_landmarks["variable"] == "all"],
            [
                *set_endpoint,
                ("Month", lambda r: num(r["month"], 0)),
                ("At risk", lambda r: count(r["n_risk"])),
                (
                    "Survival % (95% CI)",
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
                ("Subgroup", lambda r: label(r["variable"])),
                ("Chi-square", lambda r: num(r["chisq"], 2)),
                ("df", lambda r: count(r["df"])),
                ("p", lambda r: pval(r["p"])),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Log-rank tests.",
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


def cox_section(cox: pd.DataFrame, cox_diagnostics: pd.DataFrame, figures: dict[str, list]) -> dict:
    """The Cox models, their diagnostics and the forest plots."""
    diag = cox_diagnostics[
        (cox_diagnostics["model"] == "multivariable")
        & ~cox_diagnostics["statistic"].isin(["n", "events", "n_dropped"])
    ]
    return {
        "figures": figures.get("cox", []),
        "cox": table(
            cox,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Endpoint", lambda r: r["endpoint"]),
                ("Model", lambda r: r["model"]),
                ("Covariate", lambda r: label(r["term"])),
                ("HR (95% CI)", hr_ci),
                ("p", lambda r: pval(r["p"])),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Cox proportional-hazards models, Efron ties; Wald CIs and p; complete cases.",
        ),
        "cox_diagnostics": table(
            diag,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Endpoint", lambda r: r["endpoint"]),
                ("Statistic", lambda r: DIAGNOSTIC_NAMES.get(r["statistic"], r["statistic"])),
                (
                    "Term",
                    lambda r: label(r["term"]) if isinstance(r["term"], str) and r["term"] else "",
                ),
                ("Value", lambda r: num(r["value"], 3)),
                ("df", lambda r: count(r["df"])),
                ("p", lambda r: pval(r["p"])),
            ],
            caption="Diagnostics of the multivariable models: global tests, concordance, and the "
            "proportional-hazards test of R cox.zph (Kaplan–Meier transform of time).",
        ),
    }


# --------------------------------------------------------------------------- safety, exposure


def n_percent(n, percent) -> str:
    """``n (percent)``; a suppressed percentage shows the (suppressed) count only."""
    return f"{count(n)} ({num(percent)})" if not isinstance(percent, str) else f"{n}"


def adverse_event_table(adverse_events: pd.DataFrame) -> dict:
    """Patients with each adverse event of all patients, by worst grade (one column per group)."""
    ae = adverse_events[adverse_events["analysis_set"] == "all"]
    if ae.empty:
        return {}
    cells = ae.assign(cell=[n_percent(n, p) for n, p in zip(ae["n"], ae["percent"], strict=True)])
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
        "caption": f"Patients with each adverse event, n (%) of N = {n_all}; worst grade per patient.",
        "note": "",
    }


def adverse_events_by_set(adverse_events: pd.DataFrame) -> dict:
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
        cell=[n_percent(n, p) for n, p in zip(totals["n"], totals["percent"], strict=True)],
    )
    wide = totals.pivot_table(
        index="analysis_set", columns="col", values="cell", aggfunc="first", sort=False
    )
    sizes = totals.groupby("analysis_set", sort=False)["N"].first()
    return {
        "header": ["Analysis set / regimen", "N", *wide.columns],
        "rows": [[s, count(sizes[s]), *wide.loc[s].tolist()] for s in wide.index],
        "caption": "Patients with any hematologic and non-hematologic adverse event, by analysis "
        "set and regimen, n (%).",
        "note": "",
    }


def safety_section(
    adverse_events: pd.DataFrame,
    nadir: pd.DataFrame,
    nadir_tests: pd.DataFrame,
    figures: dict[str, list],
    provenance: dict,
    options: ReportOptions,
) -> dict:
    """Adverse events, nadir blood counts and their tests; what was not sent is named."""
    out = {
        "adverse_events": adverse_event_table(adverse_events),
        "ae_by_set": adverse_events_by_set(adverse_events),
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
            "WBC, ANC, PLT in 10^9/L, HGB in g/dL.",
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
    if "labs.csv" not in supplied and options.hematologic_source != "reported":
        out["adverse_events"]["note"] = (
            "Hematologic grades from labs were requested, but no labs.csv was sent."
        )
    return out


def exposure_section(
    exposure_response: pd.DataFrame, exposure_predictions: pd.DataFrame, figures: dict[str, list]
) -> dict:
    """Logistic exposure–response models and their predicted probabilities."""

    def at(r):
        where = "" if r["exposure"] == "start_dose_mg" else f" (median AUC {num(r['at'], 3)})"
        return f"{num(r['dose_mg'], 1)} mg{where}"

    def outcome(r):
        return r["outcome"].replace("_", " ")

    return {
        "exposure_response": table(
            exposure_response,
            [
                ("Outcome", outcome),
                ("Exposure", lambda r: r["exposure"]),
                ("n", lambda r: count(r["n"])),
                ("Events", lambda r: count(r["events"])),
                (
                    "OR per unit (95% CI)",
                    lambda r: estimate_ci(
                        r["odds_ratio"], r["ci_lower"], r["ci_upper"], digits=2, missing="—"
                    ),
                ),
                ("p", lambda r: pval(r["p"])),
                (
                    "Observed below / above median %",
                    lambda r: f"{pct(r['observed_below'])} / {pct(r['observed_above'])}",
                ),
                ("CV AUC", lambda r: num(r["cv_auc"], 2)),
                ("Note", lambda r: text(r.get("note"))),
            ],
            caption="Logistic regression of each outcome on exposure (Wald CI). Disease control "
            "= best response ≥ SD (not CBR).",
        ),
        "exposure_predictions": table(
            exposure_predictions,
            [
                ("Outcome", outcome),
                ("At", at),
                (
                    "Predicted % (95% CI)",
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


def published_section(published_comparison: pd.DataFrame, options: ReportOptions) -> dict:
    """The seed paper's published figures next to this run's (with a configured reference)."""
    reference = options.published_reference
    if not reference or not len(published_comparison):
        return {"published_comparison": {}}
    columns = [
        ("Quantity", lambda r: r["quantity"]),
        ("Published", lambda r: num(r["published"], 2)),
        ("This run", lambda r: num(r["this_run"], 2)),
        ("Unit", lambda r: text(r["unit"])),
        ("Note", lambda r: text(r.get("note"))),
    ]
    caption = (
        f"Published figures ({reference}) next to this run. The demo extract is synthetic and "
        "calibrated to them: agreement checks the pipeline, not the medicine."
    )
    return {"published_comparison": table(published_comparison, columns, caption=caption)}


def provenance_section(provenance: dict) -> dict:
    """The input files with their hashes, the software versions and the configuration used."""
    return {
        "inputs": provenance.get("inputs", []),
        "packages": provenance.get("packages", {}),
        "git_commit": provenance.get("git_commit", ""),
        "run_time": provenance.get("run_time", ""),
        "config_yaml": yaml.safe_dump(
            provenance.get("config", {}), sort_keys=False, allow_unicode=True
        ),
    }
