"""The report's uses of the Cox features: the influence table, the direct-adjusted curves and
their small-cell rules (the estimators themselves are checked against R in
``test_cox_features_parity.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rwe import cox_predict, cox_residuals
from rwe import survival_tables as st
from rwe.derive import analysis_sets
from rwe.privacy import SUPPRESSED, suppress_table
from rwe.survival import cox_fit
from test_survival_parity import COVARIATES, extract_to_adam

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models():
    adsl, adtte = extract_to_adam(ROOT / "data" / "demo", "demo")
    return st.cox_models(adsl, adtte, analysis_sets(adsl, 20), COVARIATES)


def test_influence_cutoff_follows_the_configured_c(models):
    two = cox_residuals.cox_influence_table(models, 2.0)
    three = cox_residuals.cox_influence_table(models, 3.0)
    assert set(two["rule"]) == {"2/√n"}
    assert set(three["rule"]) == {"3/√n"}
    fitted = two["max_abs_dfbetas"].notna()
    assert fitted.sum() > 20
    np.testing.assert_allclose(two.loc[fitted, "cutoff"], 2 / np.sqrt(two.loc[fitted, "n"]))
    # A higher cutoff flags no more patients, and the largest |dfbetas| does not depend on it.
    assert (three.loc[fitted, "n_above"] <= two.loc[fitted, "n_above"]).all()
    assert (three.loc[fitted, "n_above"] < two.loc[fitted, "n_above"]).any()
    np.testing.assert_array_equal(two["max_abs_dfbetas"], three["max_abs_dfbetas"])
    assert all(isinstance(v, int) for v in two.loc[fitted, "n_above"])


def test_influence_counts_patients_above_the_cutoff():
    """On a small data set by hand: the count is of patients with |dfbetas| > c / √n."""
    time = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 0])
    x = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 1], float)
    fit = cox_fit(time, event, x[:, None], ["x"])
    dfbetas = cox_residuals.residuals_coxph(fit, "dfbetas", time=time, event=event, X=x[:, None])
    for c in (0.5, 1.0, 2.0):
        row = cox_residuals.influence(fit, c).iloc[0]
        assert row["n_above"] == int((dfbetas["x"].abs() > c / np.sqrt(10)).sum())
        assert row["max_abs_dfbetas"] == pytest.approx(dfbetas["x"].abs().max())


def test_a_model_not_fitted_has_a_not_estimable_row(models):
    broken = [m for m in models if m.fit is None]
    fake = models[0].__class__(
        *[getattr(models[0], f) for f in ("analysis_set", "endpoint", "model", "covariates")],
        n=5,
        events=0,
        fit=None,
        term_notes={c: "no events" for c in models[0].covariates},
        notes=[],
        n_dropped=0,
        level_counts={},
    )
    table = cox_residuals.cox_influence_table([*broken, fake], 2.0)
    assert len(table) >= 1
    assert table["max_abs_dfbetas"].isna().all()
    assert table["note"].str.startswith("not estimable").all()


def test_influence_table_small_cells_are_hidden(models):
    table = cox_residuals.cox_influence_table(models, 2.0)
    out = suppress_table("cox_influence", table, 11)
    small = (table["n_above"] >= 1) & (table["n_above"] < 11)
    assert small.any()
    assert (out.loc[small, "n_above"] == "<11").all()
    assert (out.loc[~small, "n_above"].astype(str) != "<11").all()


# --------------------------------------------------------------------------- adjusted curves


def cohort(n=60, seed=3):
    rng = np.random.default_rng(seed)
    treated = np.repeat([1, 0], n // 2)
    age = rng.integers(0, 2, n).astype(float)
    time = rng.exponential(10 / (1 + treated + age))
    return pd.DataFrame(
        {
            "treated": treated,
            "age_ge80": age,
            "pfs_time": np.round(time, 1) + 0.1,
            "pfs_event": rng.integers(0, 2, n),
            "os_time": np.round(time * 2, 1) + 0.1,
            "os_event": rng.integers(0, 2, n),
        }
    )


def test_adjusted_curve_of_one_profile_is_its_predicted_curve():
    """Averaging over a cohort of identical patients gives their survfit.coxph curve."""
    data = cohort()
    X = data[["treated", "age_ge80"]].to_numpy(float)
    fit = cox_fit(data["pfs_time"], data["pfs_event"], X, ["treated", "age_ge80"])
    same = pd.DataFrame({"treated": [0.0] * 5, "age_ge80": [1.0] * 5})
    adjusted = cox_predict.adjusted_survival(fit, same, "treated", [1.0])
    profile = cox_predict.survfit_coxph(fit, pd.DataFrame({"treated": [1.0], "age_ge80": [1.0]}))
    np.testing.assert_allclose(adjusted["surv"], profile["surv"], rtol=1e-12)


def test_adjusted_table_reads_curves_at_the_landmarks():
    data = cohort()
    table, curves = cox_predict.comparative_adjusted(
        data, ["A", "B"], ["age_ge80"], [0.05, 3, 1000], "A vs B"
    )
    assert set(table["group"]) == {"A", "B"}
    assert set(table["endpoint"]) == {"PFS", "OS"}
    assert (table.loc[table["month"] == 0.05, "estimate"] == 1.0).all()  # before any event
    assert table.loc[table["month"] == 1000, "estimate"].isna().all()  # beyond follow-up
    for r in table[table["month"] == 3].itertuples():
        c = curves[(curves["endpoint"] == r.endpoint) & (curves["group"] == r.group)]
        assert r.estimate == c.loc[c["time"] <= 3, "surv"].iloc[-1]
    assert (table["n"] == len(data)).all()
    assert (table["note"] == "").all()


def test_adjusted_table_is_not_estimable_without_events_in_a_group():
    data = cohort()
    data.loc[data["treated"] == 0, "os_event"] = 0
    table, curves = cox_predict.comparative_adjusted(data, ["A", "B"], ["age_ge80"], [3], "A vs B")
    os_rows = table[table["endpoint"] == "OS"]
    assert len(os_rows) == 1
    assert os_rows["note"].iloc[0].startswith("not estimable")
    assert set(curves["endpoint"]) == {"PFS"}  # the other endpoint still runs


def test_adjusted_table_small_cells_are_hidden():
    data = cohort(n=8)
    table, _ = cox_predict.comparative_adjusted(data, ["A", "B"], ["age_ge80"], [3], "A vs B")
    out = suppress_table("comparative_adjusted", table, 11)
    assert (out["n"] == "<11").all()
    assert (out["estimate"].astype(str).isin([SUPPRESSED, "nan"])).all()


def test_a_term_without_an_estimate_has_no_influence_either(models):
    """A term cox.csv does not estimate (monotone likelihood) gets no dfbetas, with its note."""
    table = cox_residuals.cox_influence_table(models, 2.0)
    noted = [
        (m.analysis_set, m.endpoint, m.model, t)
        for m in models
        if m.fit is not None
        for t, note in m.term_notes.items()
        if note
    ]
    assert noted  # the demo has such terms
    keyed = table.set_index(["analysis_set", "endpoint", "model", "term"])
    for key in noted:
        assert np.isnan(keyed.loc[key, "max_abs_dfbetas"])
        assert keyed.loc[key, "note"].startswith("not estimable")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("stratified", [False, True])
def test_collapsed_dfbetas_equal_the_patients_own(ties, stratified):
    """The fast path's dfbetas per collapsed row are each of its patients' (R's per row)."""
    rng = np.random.default_rng(7)
    n = 400
    X = rng.integers(0, 2, (n, 3)).astype(float)
    time = rng.integers(1, 15, n).astype(float)  # many ties of time and covariates
    event = rng.integers(0, 2, n)
    strata = rng.integers(0, 3, n) if stratified else None
    terms = ["a", "b", "c"]
    fit = cox_fit(time, event, X, terms, strata=strata, ties=ties)
    rows, patients = cox_residuals.dfbetas_of_fit(fit)
    assert len(rows) < n  # patients were collapsed
    assert patients.sum() == n
    own = cox_residuals.residuals_coxph(
        fit, "dfbetas", time=time, event=event, X=X, strata=strata
    ).to_numpy()
    # Every patient's dfbetas is among the rows', as often as the rows stand for patients.
    ours = np.repeat(rows, patients.astype(int), axis=0)
    np.testing.assert_allclose(np.sort(ours, axis=0), np.sort(own, axis=0), rtol=1e-9, atol=1e-12)
    table = cox_residuals.influence(fit, 1.0)
    cutoff = 1.0 / np.sqrt(n)
    assert table["n_above"].tolist() == (np.abs(own) > cutoff).sum(axis=0).tolist()
