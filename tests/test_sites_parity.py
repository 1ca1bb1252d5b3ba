"""Parity of the site-aware tables with R, computed live by tests/r/sites_reference.R.

R code behind each table (survival, metafor)::

    survfit(Surv(aval, event) ~ 1, data = site)            # site_summary medians, reverse KM
    binom.test(x, n)$conf.int                               # site_summary ORR, CBR
    survdiff(Surv(aval, event) ~ flag + strata(site))       # logrank_stratified
    coxph(Surv(aval, event) ~ x + strata(site))             # cox_stratified (+ concordance, cox.zph)
    rma(yi, vi, method = "FE" | "DL" | "REML", test = "z" | "knha")  # site_meta, on each
    predict(rma); confint(rma)                              # site's coxph (tests/r/meta_fit.R)

Cohorts: a simulated 3-site cohort; the same with heterogeneity between sites (one site's
GFR flag reversed), a site where a covariate is constant and a site with no events in a level.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import aggregates, sites
from rwe.derive import analysis_sets, derive_adsl, derive_adtte
from rwe.io import read_site
from rwe.simulate import simulate_study
from rwe.validate import validate_extract
from test_aggregates import OPTIONS

pytestmark = pytest.mark.r
SUBGROUPS = ["second_line", "refractory_pi", "triple_class_refractory", "emd", "age_ge80"]
SUBGROUPS += ["gfr_le70", "high_risk_cyto"]
COVARIATES = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]
MIN_REGIMEN_N = 40
SUMMARY_VALUES = [c for c in sites.SITE_SUMMARY_COLUMNS if c not in ("site", "note")]
META_KEYS = ["endpoint", "term", "site", "method", "test"]
META_TEXT = [*sites.SITE_META_KEYS, "role", "sites", "note"]
META_VALUES = [c for c in sites.SITE_META_COLUMNS if c not in META_TEXT]
KEYS = {
    "site_summary": (["site"], SUMMARY_VALUES),
    "logrank_stratified": (["analysis_set", "endpoint", "variable"], ["chisq", "df", "p"]),
    "cox_stratified": (
        ["analysis_set", "endpoint", "model", "term"],
        ["hr", "ci_lower", "ci_upper", "p", "n", "events"],
    ),
    "cox_stratified_diagnostics": (
        ["analysis_set", "endpoint", "model", "covariates", "statistic", "term"],
        ["value", "df", "p"],
    ),
    "site_meta": (META_KEYS, META_VALUES),
}


@pytest.fixture(scope="module")
def three_sites(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`rwe simulate OUT --n 600 --seed 3 --sites 3`, read, validated and derived."""
    folder = tmp_path_factory.mktemp("sites")
    written = simulate_study(600, 3, 3, folder)
    raw = {site: read_site(folder / site, site)[0] for site in written}
    typed = validate_extract(raw)
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


def edge_sites(adsl: pd.DataFrame, adtte: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """site1's GFR flag reversed (heterogeneity: tau² > 0); EMD constant (0) at site2; no
    events among site3's patients aged 80 or more."""
    adsl = adsl.copy()
    site = adsl["site"]
    adsl.loc[site == "site1", "gfr_le70"] = 1 - adsl.loc[site == "site1", "gfr_le70"]
    adsl.loc[site == "site2", "emd"] = 0
    old = adsl.loc[(site == "site3") & (adsl["age_ge80"] == 1), "patient_id"]
    adtte = adtte.copy()
    adtte.loc[(adtte["site"] == "site3") & adtte["patient_id"].isin(old), "cnsr"] = 1
    return adsl, adtte


def rwe_tables(adsl, adtte) -> dict[str, pd.DataFrame]:
    sets = analysis_sets(adsl, MIN_REGIMEN_N)
    stratified = sites.stratified_cox_models(adsl, adtte, sets, COVARIATES)
    diagnostics = sites.cox_stratified_diagnostics_table(stratified)
    counts = ["n", "events", "n_dropped"]  # compared in cox_stratified
    return {
        "site_summary": sites.site_summary(adsl, adtte),
        "logrank_stratified": sites.logrank_stratified_table(adsl, adtte, sets, SUBGROUPS),
        "cox_stratified": sites.cox_stratified_table(stratified),
        "cox_stratified_diagnostics": diagnostics[~diagnostics["statistic"].isin(counts)],
        "site_meta": sites.site_meta(sites.site_cox_models(adsl, adtte, COVARIATES), COVARIATES),
    }


def run_sites_reference(tmp_path: Path, adsl, adtte, subgroups: list[str]) -> Path:
    """Write ADSL and ADTTE, run tests/r/sites_reference.R on them; the folder of R's tables."""
    adam = tmp_path / "adam"
    adam.mkdir(exist_ok=True)
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    args = ("log", 0.95, MIN_REGIMEN_N, ",".join(subgroups), ",".join(COVARIATES))
    run_r("sites_reference.R", adam, tmp_path / "r", *args)
    return tmp_path / "r"


def compare_with_r(tmp_path: Path, adsl: pd.DataFrame, adtte: pd.DataFrame) -> tuple[int, int]:
    """Values compared, and the values R gave (every non-missing cell of R's value columns)."""
    r_dir = run_sites_reference(tmp_path, adsl, adtte, SUBGROUPS)
    ours = rwe_tables(adsl, adtte)
    compared = expected = 0
    for name, (keys, values) in KEYS.items():
        r = pd.read_csv(r_dir / f"{name}.csv", keep_default_na=False, na_values=["NA"])
        for column in ("term", "method", "test"):
            if column in r.columns:
                r[column] = r[column].fillna("")
        py = ours[name].copy()
        for column in ("term", "method", "test"):
            if column in py.columns:
                py[column] = py[column].fillna("")
        compared += assert_tables_match(py, r, keys, values, name)
        expected += int(r[values].notna().to_numpy().sum())
    return compared, expected


def test_three_sites_match_r(tmp_path, three_sites):
    compared, expected = compare_with_r(tmp_path, *three_sites)
    assert compared == expected > 2500


def test_edge_sites_match_r(tmp_path, three_sites):
    adsl, adtte = edge_sites(*three_sites)
    tables = rwe_tables(adsl, adtte)
    meta = tables["site_meta"].assign(test=lambda d: d["test"].fillna(""))
    meta = meta.set_index(META_KEYS)
    # The edge cases are there: a site left out of a term's pooling, and between-site variance.
    assert "constant" in meta.loc[("PFS", "emd", "site2", "", ""), "note"]
    assert "no events" in meta.loc[("OS", "age_ge80", "site3", "", ""), "note"]
    # Three sites: the prespecified REML has Hartung-Knapp intervals (t on 2 df).
    prespecified = meta.loc[("OS", "age_ge80", "pooled", "REML", "knha")]
    assert prespecified["role"] == "prespecified"
    assert prespecified["k"] == 2
    assert prespecified["df"] == 1
    het = meta.loc[("PFS", "gfr_le70", "pooled", "REML", "knha")]
    assert het["tau2"] > 0
    assert het["df"] == 2
    assert het["pi_lower"] < het["ci_lower"]
    assert meta.loc[("PFS", "gfr_le70", "pooled", "REML", "z"), "role"] == "sensitivity"
    compared, expected = compare_with_r(tmp_path, adsl, adtte)
    assert compared == expected > 2500


def test_aggregate_site_pooled_as_r_pools_its_rows(tmp_path):
    """Two row-level sites + site3 sent as aggregates (rwe export-aggregates) give the site_meta
    of R ``rma`` on the three sites' ``coxph`` fits, and site3's summary row is R's
    ``survfit``/``binom.test`` on its rows."""
    folder = tmp_path / "extracts"
    written = simulate_study(600, 3, 3, folder)
    raw = {site: read_site(folder / site, site)[0] for site in written}
    typed = validate_extract(raw)
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    adtte = derive_adtte(adsl)
    aggregates.export_site_aggregates(folder / "site3", "site3", tmp_path / "site3", OPTIONS)
    sent = aggregates.read_site_aggregates(tmp_path / "site3", "site3", OPTIONS)
    rows = (adsl["site"] != "site3").to_numpy()
    row_adsl = adsl[rows].reset_index(drop=True)
    row_adtte = adtte[(adtte["site"] != "site3").to_numpy()].reset_index(drop=True)
    ours = {
        "site_meta": sites.site_meta(
            sites.site_cox_models(row_adsl, row_adtte, COVARIATES),
            COVARIATES,
            0.95,
            aggregates.cox_estimates("site3", sent),
        ),
        "site_summary": sites.site_summary(
            row_adsl, row_adtte, aggregate_rows=[aggregates.summary_row("site3", sent)]
        ),
    }
    assert list(ours["site_summary"]["site"]) == ["site1", "site2", "site3", "pooled"]
    r_dir = run_sites_reference(tmp_path, adsl, adtte, [])
    compared = expected = 0
    for name in ("site_meta", "site_summary"):
        keys, values = KEYS[name]
        r = pd.read_csv(r_dir / f"{name}.csv", keep_default_na=False, na_values=["NA"])
        py = ours[name]
        if name == "site_meta":
            r[["method", "test"]] = r[["method", "test"]].fillna("")
            py = py.assign(method=py["method"].fillna(""), test=py["test"].fillna(""))
        else:  # the pooled row of rwe holds the row-level sites only: compare the sites' rows
            r, py = r[r["site"] != "pooled"], py[py["site"] != "pooled"]
        compared += assert_tables_match(py, r, keys, values, name)
        expected += int(r[values].notna().to_numpy().sum())
    # site_meta: 2 endpoints x 5 terms x (3 sites x 11 values + 4 pooled rows of 14 to 29
    # values); site_summary: 3 sites x 19 values, 4 of them NA in both (OS median or its upper
    # limit not reached).
    assert compared == expected > 2 * 5 * (3 * 11 + 4 * 14) + 3 * 19 - 4
