"""The workflow end to end on two sites, one of which sends ``entry_day`` (delayed entry).

site1's patients enter observation up to months after day 0 (``rwe simulate --codings
delayed_entry``); site2 sends no ``entry_day`` (everyone enters at day 0). The pooled run must
count each patient at risk from entry only, in every table that can, and say so.
"""

from __future__ import annotations

from html import unescape

import numpy as np
import pandas as pd
import pytest
from runner import demo_config, run_workflow

from rwe import survival_tables as st
from rwe.comparative import ENTRY_NOT_USED
from rwe.config import check_config
from rwe.derive import DELAYED_ENTRY_STEP, analysis_sets
from rwe.io import read_adam
from rwe.simulate import simulate_study


@pytest.fixture(scope="module")
def entry_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("entry")
    simulate_study(300, 41, 2, root / "extracts", codings=[["delayed_entry"], []])
    config = demo_config(
        {"site1": str(root / "extracts" / "site1"), "site2": str(root / "extracts" / "site2")}
    )
    workdir = root / "run"
    workdir.mkdir()
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-5000:]
    return config, workdir / "results"


def test_adtte_carries_entry_and_a_site_without_it_enters_at_day_0(entry_run):
    _, results = entry_run
    adtte = read_adam(results / "adam" / "adtte.csv")
    assert {"entry", "entry_days"} <= set(adtte.columns)
    site1 = adtte["site"] == "site1"
    assert (adtte.loc[site1, "entry_days"] > 0).mean() > 0.25
    assert adtte.loc[~site1, "entry_days"].fillna(0).eq(0).all()


def primary(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the primary endpoints (PFS, OS), as the survival rule writes them first."""
    return table[table["endpoint"].isin(["PFS", "OS"])].reset_index(drop=True)


def test_survival_tables_use_the_entry_times(entry_run):
    config, results = entry_run
    adsl = read_adam(results / "adam" / "adsl.csv")
    adtte = read_adam(results / "adam" / "adtte.csv")
    sets = analysis_sets(adsl, config["min_regimen_n"])
    # The primary endpoints' rows come first; the PFS sensitivity rows (rwe.pfs_sensitivity)
    # after them.
    medians = primary(pd.read_csv(results / "tables" / "km_medians.csv"))
    fits = st.km_fits(adsl, adtte, sets, config["subgroups"])
    expected = st.km_median_table(fits)
    assert np.allclose(medians["median"], expected["median"], equal_nan=True)
    # Not what ignoring entry gives: fewer at risk early on.
    plain = st.km_fits(adsl, adtte.drop(columns=["entry", "entry_days"]), sets, [])
    curves = pd.read_csv(results / "adam" / "km_curves.csv")
    whole = curves[(curves["analysis_set"] == "all") & (curves["variable"] == "all")]
    for fit in (f for f in plain if f.analysis_set == "all"):
        ours = whole[whole["endpoint"] == fit.endpoint]
        assert (ours["n_risk"].to_numpy() <= fit.curve["n_risk"].to_numpy()).all()
        assert (ours["n_risk"].to_numpy() < fit.curve["n_risk"].to_numpy()).any()
    logrank = primary(pd.read_csv(results / "tables" / "logrank.csv"))
    ours = st.logrank_table(adsl, adtte, sets, config["subgroups"])
    assert np.allclose(logrank["chisq"], ours["chisq"], equal_nan=True)
    cox = primary(pd.read_csv(results / "tables" / "cox.csv"))
    models = st.cox_models(adsl, adtte, sets, config["cox"]["covariates"])
    run = check_config(config, check_sites=False)  # the run's values, defaults filled in
    expected = st.cox_table(models, run["conf_level"], run["min_events"])
    assert np.allclose(cox["hr"], expected["hr"], equal_nan=True)


def test_the_report_and_tables_say_how_entry_was_used(entry_run):
    _, results = entry_run
    attrition = pd.read_csv(results / "tables" / "attrition.csv")
    assert DELAYED_ENTRY_STEP in set(attrition["step"])
    html = unescape((results / "report.html").read_text(encoding="utf-8"))
    assert "Delayed entry (left truncation)" in html
    assert "Surv(entry, time, status)" in html
    # RMST, Kaplan–Meier and CIF use entry; Gray's test and Fine–Gray say they do not.
    rmst = pd.read_csv(results / "tables" / "rmst.csv", keep_default_na=False)
    assert not rmst["note"].str.contains("delayed entry", regex=False).any()
    risks = pd.read_csv(results / "tables" / "competing_risks.csv", keep_default_na=False)
    tests = risks["analysis"].isin(["gray_test", "fine_gray"])
    assert risks.loc[tests, "note"].str.contains(ENTRY_NOT_USED, regex=False).all()
    assert not risks.loc[~tests, "note"].str.contains(ENTRY_NOT_USED, regex=False).any()
