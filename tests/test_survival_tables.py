"""Unit tests of rwe.survival_tables: the groups, and the tables built from the estimators.

R parity of every table on whole cohorts is in test_survival_parity.py.
"""

import numpy as np
import pandas as pd
import pytest

from rwe import survival_tables as st
from rwe.derive import derive_adtte


def _cohort(events_in_exposed: bool):
    rng = np.random.default_rng(4)
    n = 40
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(n)],
            "flag": pd.array(rng.integers(0, 2, n), dtype="Int64"),
            "constant": pd.array([1] * n, dtype="Int64"),
            "empty": pd.array([None] * n, dtype="Int64"),
        }
    )
    event = rng.integers(0, 2, n)
    if not events_in_exposed:
        event[adsl["flag"].to_numpy() == 1] = 0
    adsl = adsl.assign(
        progression_day=pd.array(np.where(event == 1, 100, None), dtype="Int64"),
        last_assessment_day=pd.array(rng.integers(100, 400, n), dtype="Int64"),
        death_day=pd.array([None] * n, dtype="Int64"),
        death_cause=None,
        last_followup_day=pd.array([400] * n, dtype="Int64"),
    )
    adsl["last_assessment_day"] = adsl["last_assessment_day"].where(event == 0, 100)
    return adsl, derive_adtte(adsl)


def test_cox_reports_degenerate_covariates_instead_of_nonsense():
    adsl, adtte = _cohort(events_in_exposed=False)
    models = st.cox_models(adsl, adtte, {"all": adsl}, ["flag", "constant", "empty"])
    table = st.cox_table(models)
    rows = table[table["endpoint"] == "PFS"].set_index(["model", "term"])
    assert np.isnan(rows.loc[("univariable", "flag"), "hr"])
    assert "not estimable: no events with flag = 1" in rows.loc[("univariable", "flag"), "note"]
    assert "constant: dropped" in rows.loc[("univariable", "constant"), "note"]
    assert "all missing: dropped" in rows.loc[("univariable", "empty"), "note"]


def test_cox_small_set_is_flagged():
    adsl, adtte = _cohort(events_in_exposed=True)
    table = st.cox_table(st.cox_models(adsl, adtte, {"all": adsl}, ["flag"]))
    assert (
        "fewer than 10 events per covariate" in table.loc[0, "note"] or table.loc[0, "events"] >= 10
    )
    assert np.isfinite(table.loc[0, "hr"])


def test_pfs_death_events_option_changes_pfs_medians():
    rng = np.random.default_rng(5)
    n = 60
    death = rng.integers(50, 300, n)
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(n)],
            "progression_day": pd.array([None] * n, dtype="Int64"),
            "last_assessment_day": pd.array(death - 10, dtype="Int64"),
            "death_day": pd.array(death, dtype="Int64"),
            "death_cause": np.where(rng.random(n) < 0.5, "other", "myeloma"),
            "last_followup_day": pd.array(death, dtype="Int64"),
        }
    )
    medians = {}
    for option in ("all", "myeloma", "none"):
        adtte = derive_adtte(adsl, option)
        table = st.km_median_table(st.km_fits(adsl, adtte, {"all": adsl}, []))
        medians[option] = table.query("endpoint == 'PFS'")["median"].item()
    assert medians["all"] < medians["myeloma"]
    assert np.isnan(medians["none"])  # every death censored: no PFS events at all


def test_groups_do_not_depend_on_the_order_of_adtte_or_the_index_of_a_set():
    adsl, adtte = _cohort(events_in_exposed=True)
    stranger = adtte.iloc[:1].assign(patient_id="not in ADSL")
    shuffled = pd.concat([adtte.sample(frac=1, random_state=1), stranger])
    subset = adsl[adsl["flag"] == 1]
    reindexed = subset.reset_index(drop=True)
    expected = st.km_median_table(st.km_fits(adsl, adtte, {"all": adsl, "f": subset}, ["flag"]))
    got = st.km_median_table(st.km_fits(adsl, shuffled, {"all": adsl, "f": reindexed}, ["flag"]))
    pd.testing.assert_frame_equal(got, expected)


def test_a_second_adtte_row_for_a_patient_is_an_error():
    adsl, adtte = _cohort(events_in_exposed=True)
    with pytest.raises(ValueError, match="more than one row"):
        st.km_fits(adsl, pd.concat([adtte, adtte.iloc[:1]]), {"all": adsl}, [])


def test_km_curves_is_every_group_curve_in_one_table():
    adsl, adtte = _cohort(events_in_exposed=True)
    fits = st.km_fits(adsl, adtte, {"all": adsl}, ["flag"])
    curves = st.km_curves(fits)
    assert list(curves.columns) == st.KM_CURVES_COLUMNS
    assert len(curves) == sum(len(f.curve) for f in fits)
    one = curves.query("endpoint == 'OS' and variable == 'flag' and level == '1'")
    fit = next(f for f in fits if (f.endpoint, f.variable, f.level) == ("OS", "flag", "1"))
    assert one["surv"].tolist() == fit.curve["surv"].tolist()


def test_cox_models_are_fitted_once_and_read_by_both_tables():
    adsl, adtte = _cohort(events_in_exposed=True)
    adtte = adtte.assign(aval=adtte["aval"] + np.arange(len(adtte)) / 100)  # events spread out
    models = st.cox_models(adsl, adtte, {"all": adsl}, ["flag"])
    st.cox_table(models)
    diagnostics = st.cox_diagnostics_table(models)
    fit = models[0].fit
    assert "zph" in vars(fit)  # computed once, kept on the model
    assert diagnostics.query("statistic == 'concordance'")["value"].iloc[0] == fit.concordance
