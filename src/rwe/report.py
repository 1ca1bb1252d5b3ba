"""The reviewer's report: one self-contained HTML file (Jinja2, autoescaped, figures embedded).

Nothing in the report comes from a patient-level row: it is built from the aggregate tables,
the figures and ``provenance.json``. Every string from the input (regimen names, AE terms, site
names) passes through Jinja2's autoescape; the page has a Content-Security-Policy that allows
no script and no request to any address (images are ``data:`` URIs).
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from rwe.cuts import COUNT_STATISTICS, ESTIMATE_CHANGE_COLUMNS, PATIENT_CHANGE_COLUMNS
from rwe.derive import DAYS_PER_MONTH
from rwe.plots import MAX_PATIENTS, SELECTION_SEED, label
from rwe.privacy import SUPPRESSED, suppress_table
from rwe.response import CATEGORIES
from rwe.sites import (
    COX_STRATIFIED_COLUMNS,
    LOGRANK_STRATIFIED_COLUMNS,
    ONE_SITE_NOTE,
    SITE_CONTRIBUTION_COLUMNS,
    SITE_META_COLUMNS,
    SITE_SUMMARY_COLUMNS,
)
from rwe.survival_tables import COX_DIAGNOSTICS_COLUMNS

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SECTIONS = [
    ("summary", "Summary of key results"), ("methods", "Methods"), ("attrition", "Patients analysed"),
    ("data-quality", "Data quality and missingness"), ("baseline", "Baseline characteristics"),
    ("response", "Response"), ("survival", "Survival"), ("cox", "Cox regression"), ("sites", "Sites"), ("safety", "Safety"),
    ("exposure", "Exposure–response"), ("published", "Published vs this run"),
    ("changes", "Changes since the last data cut"), ("provenance", "Provenance"),
]  # fmt: skip
#: Columns the report reads from each table: DESIGN.md §6 contract columns, then the extras the
#: stages append (docs/architecture.md). A table or column that is absent is shown as empty.
TABLE_COLUMNS: dict[str, list[str]] = {
    "attrition": ["step", "n_in", "n_excluded", "reason", "n_out"],
    "data_quality": ["file", "column", "n", "n_missing", "percent_missing"],
    "baseline": ["analysis_set", "variable", "level", "n", "N", "percent", "median", "min", "max"],
    "response": ["analysis_set", "variable", "level", "n_evaluable", *CATEGORIES, "NE", "orr", "orr_ci_lower",
                 "orr_ci_upper", "cbr", "cbr_ci_lower", "cbr_ci_upper"],
    "response_tests": ["analysis_set", "variable", "measure", "rate_1", "rate_0", "odds_ratio", "p"],
    "km_medians": ["analysis_set", "endpoint", "variable", "level", "n", "events", "median", "ci_lower",
                   "ci_upper", "note"],
    "km_landmarks": ["analysis_set", "endpoint", "variable", "level", "month", "n_risk", "surv", "ci_lower",
                     "ci_upper"],
    "followup": ["analysis_set", "endpoint", "median_followup", "ci_lower", "ci_upper"],
    "logrank": ["analysis_set", "endpoint", "variable", "chisq", "df", "p", "note"],
    "cox": ["analysis_set", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p", "n", "events", "note"],
    "cox_diagnostics": ["analysis_set", "endpoint", "model", "statistic", "term", "value", "df", "p"],
    "site_summary": SITE_SUMMARY_COLUMNS,
    "logrank_stratified": LOGRANK_STRATIFIED_COLUMNS,
    "cox_stratified": COX_STRATIFIED_COLUMNS,
    "cox_stratified_diagnostics": [*COX_DIAGNOSTICS_COLUMNS, "note"],
    "site_meta": SITE_META_COLUMNS,
    "site_contributions": SITE_CONTRIBUTION_COLUMNS,
    "adverse_events": ["analysis_set", "category", "term", "grade_group", "n", "N", "percent"],
    "nadir": ["analysis_set", "test", "group", "n", "median", "min", "max"],
    "nadir_tests": ["analysis_set", "test", "comparison", "p", "W", "method"],
    "exposure_response": ["outcome", "exposure", "n", "events", "intercept", "slope", "odds_ratio", "ci_lower",
                          "ci_upper", "p", "observed_below", "observed_above", "cv_auc", "note"],
    "exposure_predictions": ["outcome", "exposure", "at", "probability", "ci_lower", "ci_upper", "dose_mg"],
    "published_comparison": ["quantity", "published", "this_run", "unit", "note"],
    "changes": ["previous_cut", "current_cut", *ESTIMATE_CHANGE_COLUMNS],
    "changes_patients": PATIENT_CHANGE_COLUMNS,
}  # fmt: skip
#: Template keys that show a table, where they differ from the table's name.
SECTION_KEYS = {"adverse_events": ["adverse_events", "ae_by_set"], "exposure_response": ["exposure"],
                "exposure_predictions": ["predictions"], "published_comparison": ["published"]}  # fmt: skip


# --------------------------------------------------------------------------- formatting


def _missing(v) -> bool:
    return (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or v is pd.NA
        or (isinstance(v, str) and v == "")
    )


def num(v, digits: int = 1) -> str:
    """A number for display: fixed digits; text (suppressed cells) passes through; missing is —."""
    if isinstance(v, str):
        return v
    if _missing(v):
        return "—"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def text(v) -> str:
    """Text for display; missing (NaN from an empty CSV cell) is empty."""
    return "" if _missing(v) else str(v)


def count(v) -> str:
    """A whole count for display; text passes through; missing is —."""
    if isinstance(v, str):
        return v
    return "—" if _missing(v) else f"{int(v)}"


def pval(v) -> str:
    """P as journals print it: three significant digits, ``<0.001`` below."""
    if isinstance(v, str):
        return v
    if _missing(v):
        return "—"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def pct(v, digits: int = 1) -> str:
    """A proportion shown as a percentage."""
    return v if isinstance(v, str) else ("—" if _missing(v) else f"{100 * v:.{digits}f}")


def estimate_ci(est, lo, hi, digits=1, scale=1.0, missing="NR") -> str:
    """``est (lo–hi)``; a missing estimate or limit is ``missing`` (not reached)."""
    if SUPPRESSED in (est, lo, hi):
        return SUPPRESSED

    def f(v):
        if isinstance(v, str):
            return v
        if _missing(v):
            return missing
        return "∞" if math.isinf(v) else f"{v * scale:.{digits}f}"

    return f"{f(est)} ({f(lo)}–{f(hi)})"


def table(
    frame: pd.DataFrame, columns: list[tuple[str, object]], caption: str = "", note: str = ""
) -> dict:
    """A table for the template: header labels and rows of display strings."""
    rows = [[fmt(r) for _, fmt in columns] for r in frame.to_dict("records")]
    return {"header": [h for h, _ in columns], "rows": rows, "caption": caption, "note": note}


def _level(variable, level) -> str:
    if variable == "all":
        return "All patients"
    return f"{label(variable)}: {'yes' if str(level) == '1' else 'no'}"


# --------------------------------------------------------------------------- sections


def _figures(figures: pd.DataFrame, folder: Path, section: str) -> list[dict]:
    out = []
    for f in figures[figures["section"] == section].itertuples():
        stem = f.file if "file" in figures.columns else f.name
        data = base64.b64encode((folder / f"{stem}.png").read_bytes()).decode("ascii")
        out.append({"title": f.title, "src": f"data:image/png;base64,{data}", "name": f.name})
    return out


def baseline_section(baseline: pd.DataFrame) -> dict:
    """Wide baseline table: one column per analysis set, n (%) or median (range)."""
    if baseline.empty:
        return {}

    def cell(r):
        if str(r["n"]).startswith("<") or r["percent"] == SUPPRESSED or r["median"] == SUPPRESSED:
            return str(r["n"]) if str(r["n"]).startswith("<") else SUPPRESSED
        if not _missing(r["median"]):
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
    return {
        "header": header,
        "rows": rows,
        "caption": "Baseline characteristics: n (%) of patients with a known "
        "value, or median (range); percentages exclude unknown values, counted in 'missing' rows.",
        "note": "",
    }


def complete_tables(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every table of :data:`TABLE_COLUMNS`, with every column the report reads.

    A table that was not given becomes an empty frame (its section says "not available"); a
    column a stage did not write (an optional extra such as ``note``) becomes empty.

    Returns
    -------
    tuple
        The completed tables, and the names of the tables that were not given.
    """
    absent = [name for name in TABLE_COLUMNS if name not in tables]
    complete = {}
    for name, columns in TABLE_COLUMNS.items():
        frame = tables.get(name, pd.DataFrame(columns=columns))
        extra = [c for c in columns if c not in frame.columns]
        complete[name] = frame.reindex(columns=[*frame.columns, *extra])
    return complete, absent


def build_context(tables: dict[str, pd.DataFrame], figures: pd.DataFrame, figure_dir: Path, provenance: dict,
                  config: dict) -> dict:  # fmt: skip
    """Everything the template shows, as display strings (suppressed where configured).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The aggregate tables by file stem (``results/tables/<name>.csv``); any may be absent.
    figures : pandas.DataFrame
        The figure index written by :func:`rwe.plots.make_figures` (``name, section, title``,
        optionally ``file``, the path of the figure under ``figure_dir`` without suffix).
    figure_dir : pathlib.Path
        Folder of the figure files.
    provenance : dict
        ``results/provenance.json``.
    config : dict
        The configuration of the run.

    Returns
    -------
    dict
        The template context. Every table passes through :func:`rwe.privacy.suppress_table`
        with ``min_cell_count`` before anything is shown.
    """
    k = int(config.get("min_cell_count", 0))
    tables, absent = complete_tables(tables)
    t = {name: suppress_table(name, frame, k) for name, frame in tables.items()}
    ctx = {"title": config.get("report", {}).get("title", "rwe report"), "csp": CSP, "sections": SECTIONS,
           "k": k, "figures": {}}  # fmt: skip
    for section in ("survival", "cox", "response", "safety", "exposure", "swimmer", "sites"):
        ctx["figures"][section] = _figures(figures, figure_dir, section)
    ctx["sites"] = list(config.get("sites", {}))
    ctx["run_time"] = provenance.get("run_time", "")
    ctx["summary"] = summary(t)
    ctx["methods"] = methods_text(config, provenance)
    ctx["attrition"] = table(t["attrition"], [("Step", lambda r: r["step"]), ("In", lambda r: count(r["n_in"])),
                             ("Excluded", lambda r: count(r["n_excluded"])), ("Reason", lambda r: text(r["reason"])),
                             ("Analysed", lambda r: count(r["n_out"]))])  # fmt: skip
    dq = t["data_quality"][pd.to_numeric(tables["data_quality"]["n_missing"], errors="coerce") > 0]
    ctx["data_quality"] = table(dq, [("File", lambda r: r["file"]), ("Column", lambda r: r["column"]),
                                ("Rows", lambda r: count(r["n"])), ("Missing", lambda r: count(r["n_missing"])),
                                ("% missing", lambda r: num(r["percent_missing"]))],
                                caption="Columns with missing values (all other columns are complete).")  # fmt: skip
    ctx["inputs"] = provenance.get("inputs", [])
    ctx["baseline"] = baseline_section(t["baseline"])
    ctx["response"] = table(t["response"], [
        ("Set", lambda r: r["analysis_set"]), ("Group", lambda r: _level(r["variable"], r["level"])),
        ("Evaluable", lambda r: count(r["n_evaluable"])), *[(c, lambda r, c=c: count(r[c])) for c in CATEGORIES],
        ("NE", lambda r: count(r["NE"])),
        ("ORR % (95% CI)", lambda r: estimate_ci(r["orr"], r["orr_ci_lower"], r["orr_ci_upper"], scale=100, missing="—")),
        ("CBR % (95% CI)", lambda r: estimate_ci(r["cbr"], r["cbr_ci_lower"], r["cbr_ci_upper"], scale=100, missing="—")),
    ], caption="Best overall response (IMWG). ORR = PR or better; CBR = MR or better; exact Clopper–Pearson CIs. "
       "NE: not evaluable, excluded from the denominators.")  # fmt: skip
    ctx["response_tests"] = table(t["response_tests"], [
        ("Set", lambda r: r["analysis_set"]), ("Subgroup", lambda r: label(r["variable"])),
        ("Measure", lambda r: r["measure"].upper()), ("Rate yes %", lambda r: pct(r["rate_1"])),
        ("Rate no %", lambda r: pct(r["rate_0"])), ("Odds ratio", lambda r: num(r["odds_ratio"], 2)),
        ("p (Fisher)", lambda r: pval(r["p"])),
    ], caption="Fisher's exact test, two-sided; odds ratio is the conditional maximum-likelihood estimate.")  # fmt: skip
    ctx["km_medians"] = table(t["km_medians"], [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]),
        ("Group", lambda r: _level(r["variable"], r["level"])), ("n", lambda r: count(r["n"])),
        ("Events", lambda r: count(r["events"])),
        ("Median, months (95% CI)", lambda r: estimate_ci(r["median"], r["ci_lower"], r["ci_upper"])),
        ("Note", lambda r: text(r.get("note"))),
    ], caption="Kaplan–Meier medians; NR = not reached.")  # fmt: skip
    ctx["km_landmarks"] = table(t["km_landmarks"][t["km_landmarks"]["variable"] == "all"], [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]), ("Month", lambda r: num(r["month"], 0)),
        ("At risk", lambda r: count(r["n_risk"])),
        ("Survival % (95% CI)", lambda r: estimate_ci(r["surv"], r["ci_lower"], r["ci_upper"], scale=100, missing="—")),
    ], caption="Survival at landmark months (all patients of each set; subgroups in km_landmarks.csv).")  # fmt: skip
    ctx["followup"] = table(t["followup"], [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]),
        ("Median follow-up, months (95% CI)", lambda r: estimate_ci(r["median_followup"], r["ci_lower"], r["ci_upper"])),
    ], caption="Median follow-up by the reverse Kaplan–Meier method.")  # fmt: skip
    ctx["logrank"] = table(t["logrank"], [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]),
        ("Subgroup", lambda r: label(r["variable"])), ("Chi-square", lambda r: num(r["chisq"], 2)),
        ("df", lambda r: count(r["df"])), ("p", lambda r: pval(r["p"])), ("Note", lambda r: text(r.get("note"))),
    ], caption="Log-rank tests.")  # fmt: skip
    ctx["cox"] = table(t["cox"], [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]), ("Model", lambda r: r["model"]),
        ("Covariate", lambda r: label(r["term"])),
        ("HR (95% CI)", lambda r: estimate_ci(r["hr"], r["ci_lower"], r["ci_upper"], digits=2, missing="—")),
        ("p", lambda r: pval(r["p"])), ("n", lambda r: count(r["n"])), ("Events", lambda r: count(r["events"])),
        ("Note", lambda r: text(r.get("note"))),
    ], caption="Cox proportional-hazards models, Efron ties; Wald CIs and p; complete cases.")  # fmt: skip
    diag = t["cox_diagnostics"]
    diag = diag[
        (diag["model"] == "multivariable") & ~diag["statistic"].isin(["n", "events", "n_dropped"])
    ]
    ctx |= sites_section(t)
    ctx["cox_diagnostics"] = table(diag, [
        ("Set", lambda r: r["analysis_set"]), ("Endpoint", lambda r: r["endpoint"]),
        ("Statistic", lambda r: {"lr": "Likelihood-ratio test", "wald": "Wald test", "score": "Score (log-rank) test",
                                 "concordance": "Concordance", "zph": "PH test (cox.zph)"}.get(r["statistic"], r["statistic"])),
        ("Term", lambda r: label(r["term"]) if isinstance(r["term"], str) and r["term"] else ""),
        ("Value", lambda r: num(r["value"], 3)), ("df", lambda r: count(r["df"])), ("p", lambda r: pval(r["p"])),
    ], caption="Diagnostics of the multivariable models: global tests, concordance, and the proportional-hazards "
       "test of R cox.zph (Kaplan–Meier transform of time).")  # fmt: skip
    ae = t["adverse_events"]
    ae_all = ae[ae["analysis_set"] == "all"] if not ae.empty else ae
    if not ae_all.empty:
        wide = ae_all.assign(cell=[f"{count(n)} ({num(p)})" if not isinstance(p, str) else f"{n}"
                                   for n, p in zip(ae_all["n"], ae_all["percent"], strict=True)])  # fmt: skip
        wide = wide.pivot_table(
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
        n_all = (
            int(ae_all["N"].iloc[0])
            if not isinstance(ae_all["N"].iloc[0], str)
            else ae_all["N"].iloc[0]
        )
        ctx["adverse_events"] = {"header": ["Category", "Term (CTCAE v5)", "Any grade", "Grade ≥2", "Grade ≥3", "Grade 4"],
                                 "rows": rows, "caption": f"Patients with each adverse event, n (%) of N = {n_all}; "
                                 "worst grade per patient.", "note": ""}  # fmt: skip
    else:
        ctx["adverse_events"] = {}
    totals = ae[
        ae["term"].isin(["any hematologic", "any non-hematologic"])
        & ae["grade_group"].isin(["any", "ge3"])
    ]
    if not totals.empty:
        totals = totals.assign(col=totals["term"].str.replace("any ", "") + " " + totals["grade_group"].map({"any": "any grade", "ge3": "grade ≥3"}),
                               cell=[f"{count(n)} ({num(p)})" if not isinstance(p, str) else f"{n}"
                                     for n, p in zip(totals["n"], totals["percent"], strict=True)])  # fmt: skip
        wide = totals.pivot_table(
            index="analysis_set", columns="col", values="cell", aggfunc="first", sort=False
        )
        sizes = totals.groupby("analysis_set", sort=False)["N"].first()
        ctx["ae_by_set"] = {"header": ["Analysis set / regimen", "N", *wide.columns],
                            "rows": [[s, count(sizes[s]), *wide.loc[s].tolist()] for s in wide.index],
                            "caption": "Patients with any hematologic and non-hematologic adverse event, by analysis "
                            "set and regimen, n (%).", "note": ""}  # fmt: skip
    else:
        ctx["ae_by_set"] = {}
    ctx["nadir"] = table(t["nadir"][t["nadir"]["analysis_set"] == "all"], [
        ("Test", lambda r: r["test"]), ("Group", lambda r: r["group"]), ("n", lambda r: count(r["n"])),
        ("Median (range)", lambda r: estimate_ci(r["median"], r["min"], r["max"], digits=2, missing="—")),
    ], caption="Nadir blood counts on treatment (all patients): WBC, ANC, PLT in 10^9/L, HGB in g/dL.")  # fmt: skip
    ctx["nadir_tests"] = table(t["nadir_tests"], [
        ("Set", lambda r: r["analysis_set"]), ("Test", lambda r: r["test"]), ("Comparison", lambda r: r["comparison"]),
        ("W", lambda r: num(r["W"], 1)), ("p", lambda r: pval(r["p"])), ("Method", lambda r: r["method"]),
    ], caption="Wilcoxon rank-sum (Mann–Whitney U) tests, two-sided.")  # fmt: skip
    ctx["exposure"] = table(t["exposure_response"], [
        ("Outcome", lambda r: r["outcome"].replace("_", " ")), ("Exposure", lambda r: r["exposure"]),
        ("n", lambda r: count(r["n"])), ("Events", lambda r: count(r["events"])),
        ("OR per unit (95% CI)", lambda r: estimate_ci(r["odds_ratio"], r["ci_lower"], r["ci_upper"], digits=2, missing="—")),
        ("p", lambda r: pval(r["p"])),
        ("Observed below / above median %", lambda r: f"{pct(r['observed_below'])} / {pct(r['observed_above'])}"),
        ("CV AUC", lambda r: num(r["cv_auc"], 2)), ("Note", lambda r: text(r.get("note"))),
    ], caption="Logistic regression of each outcome on exposure (Wald CI). Disease control = best response ≥ SD "
       "(not CBR).")  # fmt: skip
    ctx["predictions"] = table(t["exposure_predictions"], [
        ("Outcome", lambda r: r["outcome"].replace("_", " ")),
        ("At", lambda r: f"{num(r['dose_mg'], 1)} mg" + ("" if r["exposure"] == "start_dose_mg" else f" (median AUC {num(r['at'], 3)})")),
        ("Predicted % (95% CI)", lambda r: estimate_ci(r["probability"], r["ci_lower"], r["ci_upper"], scale=100, missing="—")),
    ], caption="Predicted probability at the configured doses/exposures.")  # fmt: skip
    supplied = {i["file"] for i in provenance.get("inputs", [])}
    for needed, keys in (
        ("adverse_events.csv", ["adverse_events"]),
        ("labs.csv", ["nadir", "nadir_tests"]),
    ):
        if needed not in supplied:
            for key in keys:
                ctx[key] = {
                    "missing": f"Not available: no site sent {needed}, so this analysis was not run."
                }
    if (
        "labs.csv" not in supplied
        and config.get("safety", {}).get("hematologic_source") != "reported"
    ):
        ctx["adverse_events"]["note"] = (
            "Hematologic grades from labs were requested, but no labs.csv was sent."
        )
    ctx |= changes_section(t, config.get("data_cut", ""))
    for name in absent:
        for key in SECTION_KEYS.get(name, [name]):
            ctx[key] = {
                "missing": f"Not available: tables/{name}.csv was not produced by this run."
            }
    reference = config.get("report", {}).get("published_reference")
    pub = t["published_comparison"]
    ctx["published_reference"] = reference
    ctx["published"] = table(pub, [
        ("Quantity", lambda r: r["quantity"]), ("Published", lambda r: num(r["published"], 2)),
        ("This run", lambda r: num(r["this_run"], 2)), ("Unit", lambda r: text(r["unit"])), ("Note", lambda r: text(r.get("note"))),
    ], caption=f"Published figures ({reference}) next to this run. The demo extract is synthetic and calibrated to "
       "them: agreement checks the pipeline, not the medicine.") if reference and len(pub) else {}  # fmt: skip
    ctx["config_yaml"] = yaml.safe_dump(
        provenance.get("config", config), sort_keys=False, allow_unicode=True
    )
    ctx["packages"] = provenance.get("packages", {})
    ctx["git_commit"] = provenance.get("git_commit", "")
    return ctx


def _one_site(frame: pd.DataFrame) -> bool:
    """True when a site-aware table holds only the one-site note row."""
    return len(frame) > 0 and bool((frame["note"] == ONE_SITE_NOTE).all())


def _hr_ci(r, hr="hr", lower="ci_lower", upper="ci_upper") -> str:
    return estimate_ci(r[hr], r[lower], r[upper], digits=2, missing="—")


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


def sites_section(t: dict[str, pd.DataFrame]) -> dict:
    """The Sites section, from the suppressed tables.

    Which analyses each site could contribute to, the per-site summary, HRs stratified by site
    beside the pooled ones, stratified log-rank tests and the per-site meta-analysis.

    With one site, each table but the summary says that nothing was stratified or pooled.
    """
    one_site = {"missing": "One site: nothing stratified by site or pooled across sites."}
    if not _one_site(t["site_meta"]):  # one site sent rows, others aggregates only
        one_site = {"missing": "One site sent patient rows: nothing stratified by site."}
    summary_rows = t["site_summary"]
    names = ("cox_stratified", "logrank_stratified", "site_meta")
    one_site_only = all(_one_site(t[name]) for name in names)
    out = {
        "site_contributions": contributions_table(t["site_contributions"]),
        "site_summary": table(
            summary_rows,
            [
                ("Site", lambda r: text(r["site"])),
                ("n", lambda r: count(r["n"])),
                (
                    "Median PFS, months (95% CI)",
                    lambda r: estimate_ci(r["pfs_median"], r["pfs_ci_lower"], r["pfs_ci_upper"]),
                ),
                (
                    "Median OS, months (95% CI)",
                    lambda r: estimate_ci(r["os_median"], r["os_ci_lower"], r["os_ci_upper"]),
                ),
                (
                    "ORR % (95% CI)",
                    lambda r: estimate_ci(
                        r["orr"], r["orr_ci_lower"], r["orr_ci_upper"], scale=100, missing="—"
                    ),
                ),
                (
                    "CBR % (95% CI)",
                    lambda r: estimate_ci(
                        r["cbr"], r["cbr_ci_lower"], r["cbr_ci_upper"], scale=100, missing="—"
                    ),
                ),
                (
                    "Median follow-up, months (95% CI)",
                    lambda r: estimate_ci(
                        r["median_followup"], r["followup_ci_lower"], r["followup_ci_upper"]
                    ),
                ),
                ("Note", lambda r: text(r["note"])),
            ],
            caption="Per site and pooled: Kaplan–Meier medians (NR = not reached), ORR and CBR with "
            "exact CIs among evaluable patients, median follow-up by reverse Kaplan–Meier (OS).",
        ),
        "sites_note": one_site["missing"] if one_site_only else "",
    }
    strat = t["cox_stratified"]
    if _one_site(strat):
        out["cox_by_site"] = one_site
    else:
        cox = t["cox"][t["cox"]["analysis_set"] == "all"]
        keys = ["endpoint", "model", "term"]
        both = cox.merge(strat[strat["analysis_set"] == "all"], on=keys, suffixes=("", "_s"))
        out["cox_by_site"] = table(
            both,
            [
                ("Endpoint", lambda r: r["endpoint"]),
                ("Model", lambda r: r["model"]),
                ("Covariate", lambda r: label(r["term"])),
                ("HR pooled (95% CI)", _hr_ci),
                ("p", lambda r: pval(r["p"])),
                (
                    "HR stratified by site (95% CI)",
                    lambda r: _hr_ci(r, "hr_s", "ci_lower_s", "ci_upper_s"),
                ),
                ("p ", lambda r: pval(r["p_s"])),
                ("Note (stratified)", lambda r: text(r["note_s"])),
            ],
            caption="Cox models of all patients, pooled as one cohort and stratified by site "
            "(a baseline hazard per site, R coxph strata()); Efron ties, Wald CIs, complete cases.",
        )
    lr = t["logrank_stratified"]
    out["logrank_stratified"] = (
        one_site
        if _one_site(lr)
        else table(
            lr,
            [
                ("Set", lambda r: r["analysis_set"]),
                ("Endpoint", lambda r: r["endpoint"]),
                ("Subgroup", lambda r: label(r["variable"])),
                ("Chi-square", lambda r: num(r["chisq"], 2)),
                ("df", lambda r: count(r["df"])),
                ("p", lambda r: pval(r["p"])),
                ("Note", lambda r: text(r["note"])),
            ],
            caption="Log-rank tests stratified by site (R survdiff strata()).",
        )
    )
    meta = t["site_meta"]
    if _one_site(meta):
        out["site_meta"] = one_site
    else:
        pooled = meta[meta["method"].fillna("").astype(str) != ""]
        methods = {
            "FE": "Fixed effect",
            "DL": "Random (DerSimonian–Laird)",
            "REML": "Random (REML)",
        }
        out["site_meta"] = table(
            pooled,
            [
                ("Endpoint", lambda r: r["endpoint"]),
                ("Covariate", lambda r: label(r["term"])),
                ("Model", lambda r: methods.get(r["method"], r["method"])),
                ("HR (95% CI)", _hr_ci),
                ("p", lambda r: pval(r["p"])),
                ("Sites", lambda r: count(r["k"])),
                ("Q (p)", lambda r: f"{num(r['q'], 2)} ({pval(r['q_p'])})"),
                ("I² %", lambda r: num(r["i2"], 0)),
                ("τ²", lambda r: num(r["tau2"], 3)),
                ("Note", lambda r: text(r["note"])),
            ],
            caption="Meta-analysis of the per-site multivariable Cox models: inverse-variance "
            "pooled hazard ratios, fixed effect and random effects (DerSimonian–Laird and REML, "
            "as metafor::rma); per-site estimates and weights in site_meta.csv and the plots.",
        )
    return out


def changes_section(t: dict[str, pd.DataFrame], label: str) -> dict:
    """Changes since the last data cut: patients per site, then the estimates that moved.

    Parameters
    ----------
    t : dict of str to pandas.DataFrame
        The suppressed tables; ``changes`` and ``changes_patients`` are read.
    label : str
        This run's ``data_cut``.
    """
    changes, patients = t["changes"], t["changes_patients"]
    if changes.empty:  # not produced: the tables say so
        return {"changes_note": ""}
    previous = changes["previous_cut"].dropna().astype(str)
    previous = previous[previous != ""]
    if previous.empty:
        note = f"Data cut {label} is the first kept under results/cuts/: nothing to compare yet."
        return {"changes_note": note, "changes": {}, "changes_patients": {}}
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
        "changes_note": "",
        "changes_patients": table(
            patients,
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


def summary(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Key results in sentences, from the 'all' analysis set of the (suppressed) tables.

    A sentence whose estimate is suppressed is left out rather than printed as "suppressed".
    """
    out = []

    def first(name, **match):
        frame = tables[name]
        for column, value in match.items():
            frame = frame[frame[column] == value]
        return frame.iloc[0] if len(frame) else None

    def say(sentence, *values):
        if not any(v == SUPPRESSED for v in values):
            out.append(sentence)

    n = first("baseline", analysis_set="all", variable="patients")
    if n is not None:
        say(f"{count(n['n'])} patients were analysed.")
    r = first("response", analysis_set="all", variable="all")
    if r is not None:
        say(f"ORR {estimate_ci(r['orr'], r['orr_ci_lower'], r['orr_ci_upper'], scale=100, missing='—')} %; "
            f"CBR {estimate_ci(r['cbr'], r['cbr_ci_lower'], r['cbr_ci_upper'], scale=100, missing='—')} % "
            f"(of {count(r['n_evaluable'])} evaluable).", r["orr"], r["cbr"])  # fmt: skip
    for endpoint in ("PFS", "OS"):
        m = first("km_medians", analysis_set="all", endpoint=endpoint, variable="all")
        if m is not None:
            say(f"Median {endpoint} {estimate_ci(m['median'], m['ci_lower'], m['ci_upper'])} months "
                f"({count(m['events'])} events).", m["median"])  # fmt: skip
    f = first("followup", analysis_set="all", endpoint="OS")
    if f is not None:
        say(f"Median follow-up (reverse Kaplan–Meier) {num(f['median_followup'])} months.")
    cox = tables["cox"]
    multi = cox[(cox["analysis_set"] == "all") & (cox["model"] == "multivariable")]
    for row in multi.dropna(subset=["hr", "p"]).itertuples():
        if not isinstance(row.hr, str) and not isinstance(row.p, str) and row.p < 0.05:
            say(f"{row.endpoint}: {label(row.term)} HR {estimate_ci(row.hr, row.ci_lower, row.ci_upper, digits=2)}, "
                f"p {pval(row.p)} (multivariable).")  # fmt: skip
    heme = first("adverse_events", analysis_set="all", term="any hematologic", grade_group="ge3")
    if heme is not None:
        say(
            f"Grade ≥3 hematologic adverse events in {num(heme['percent'])} % of patients.",
            heme["percent"],
        )
    return out


def methods_text(config: dict, provenance: dict) -> list[str]:
    """The methods paragraph, generated from the configuration actually used."""
    death = {
        "all": "death from any cause without prior progression is a PFS event (IMWG/FDA convention)",
        "myeloma": "death from myeloma (or of unknown cause) is a PFS event; deaths from other causes are censored "
                   "at the day of death",
        "none": "deaths without prior progression are censored at the day of death",
    }[config.get("pfs_death_events", "all")]  # fmt: skip
    level = int(round(100 * config.get("conf_level", 0.95)))
    versions = provenance.get("packages", {})
    heme = {"reported": "as reported", "labs": "graded from blood counts with CTCAE v5 thresholds",
            "both": "the worse of the reported grade and the grade from blood counts (CTCAE v5)"}[
        config.get("safety", {}).get("hematologic_source", "reported")]  # fmt: skip
    k = int(config.get("min_cell_count", 0))
    max_patients = config.get("figures", {}).get("max_patients", MAX_PATIENTS)
    return [
        f"Time zero is the start of the ixazomib-containing therapy; months are days / {DAYS_PER_MONTH}. "
        "Overall survival (OS) runs to death from any cause, censored at last follow-up. Progression-free survival "
        f"(PFS) runs to progression or death; {death}; patients without an event are censored at their last "
        "disease assessment (last follow-up when no assessment is recorded).",
        "Best overall response follows the IMWG 2016 criteria (a response needs two consecutive assessments); "
        f"ORR is PR or better and CBR MR or better, among patients with an evaluable response; {level}% CIs are exact "
        "(Clopper–Pearson). Subgroups are compared with Fisher's exact test (two-sided) and the conditional "
        "maximum-likelihood odds ratio.",
        f"Survival is estimated by Kaplan–Meier with Greenwood variance and {level}% pointwise CIs on the "
        f"'{config.get('km', {}).get('conf_type', 'log')}' scale; median CIs as R quantile.survfit. Median follow-up by reverse "
        "Kaplan–Meier. Groups are compared with the log-rank test. Cox models use Efron's method for ties, Wald "
        "CIs and p, complete cases; proportional hazards are checked with the score test of R cox.zph "
        "(Kaplan–Meier transform). Multivariable covariates: "
        + ", ".join(label(c) for c in config.get("cox", {}).get("covariates", []))
        + ".",
        sites_methods(config),
        f"Adverse events are graded by CTCAE v5; hematologic grades are {heme}. Patients, not events, are counted "
        "at their worst grade. Nadir blood counts are compared with the Wilcoxon rank-sum test (exact for samples "
        "under 50 without ties, otherwise normal approximation with continuity correction). Exposure–response "
        "uses logistic regression on the time-averaged AUC per day when available, else on the starting dose "
        "(Gupta et al. 2016).",
        f"All p values are two-sided; intervals are {level}%. Analysis sets: all patients, and each regimen with "
        f"more than {config.get('min_regimen_n', 20)} patients. "
        + (
            f"Counts from 1 to {k - 1} are shown as <{k}, and the percentages, medians and CIs of groups that "
            "small as 'suppressed'; patient-level pictures (the swimmer plot, the individual points of the nadir "
            "plots) and curves of groups that small are left out."
            if k > 0
            else "No small-cell suppression was applied. Patient-level pictures (the swimmer plot, the individual "
            f"points of the nadir plots) show at most {max_patients} patients: with more, a random sample "
            f"(seed {SELECTION_SEED}), stated under the figure."
        )
        + f" Computed with rwe (commit {provenance.get('git_commit', 'unknown')}), lifelines "
        f"{versions.get('lifelines', '?')}, pandas {versions.get('pandas', '?')}; every estimate is checked against "
        "R's survival package in the test suite.",
    ]


def sites_methods(config: dict) -> str:
    """The methods sentence on sites: what was stratified and pooled, or that nothing was."""
    if len(config.get("sites", {})) < 2:
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
    ) + aggregate_sites_methods(config)


def aggregate_sites_methods(config: dict) -> str:
    """The methods sentence on aggregate-only sites ('' when every site sent patient rows)."""
    names = [
        n for n, e in config.get("sites", {}).items() if isinstance(e, dict) and "aggregates" in e
    ]
    if not names:
        return ""
    return (
        f" Sent as aggregates only (rwe export-aggregates, computed at the site with this run's "
        f"covariates, landmarks and min_cell_count): {', '.join(names)}. Their per-site Cox log "
        "hazard ratios and variances enter the meta-analysis and their Kaplan–Meier and response "
        "summaries the per-site table; the pooled and site-stratified analyses, response, "
        "safety and exposure tables need patient rows and hold the other sites only "
        "(site_contributions.csv). An estimate a site withheld for small cells leaves it out of "
        "that covariate's pooling, counted."
    )


def render_report(context: dict) -> str:
    """Render the HTML report from :func:`build_context` output."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rwe", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(tables: dict[str, pd.DataFrame], figures: pd.DataFrame, figure_dir, provenance: dict, config: dict,
                 path) -> None:  # fmt: skip
    """Build and write ``report.html``."""
    html = render_report(build_context(tables, figures, Path(figure_dir), provenance, config))
    Path(path).write_text(html, encoding="utf-8")
