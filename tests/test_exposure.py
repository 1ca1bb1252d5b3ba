import numpy as np
import pandas as pd
import pytest

from rwe import exposure


def _cohort(n=200, seed=1):
    rng = np.random.default_rng(seed)
    dose = rng.choice([2.3, 3.0, 4.0], n)
    p = 1 / (1 + np.exp(-(-4 + 0.8 * dose)))
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(n)],
            "start_dose_mg": dose,
            "exposure_auc": np.nan,
            "best_response": rng.choice(["PR", "SD", "PD", "NE"], n),
        }
    )
    sick = rng.random(n) < p
    ae = pd.DataFrame(
        {"site": "s", "patient_id": adsl.loc[sick, "patient_id"], "term": "Fatigue", "grade": 2}
    )
    return adsl, ae


def test_dose_is_used_when_exposure_is_missing_and_slope_is_recovered():
    adsl, ae = _cohort(2000)
    models, predictions = exposure.exposure_response(adsl, ae, predict_at=(3, 4))
    fatigue = models.set_index("outcome").loc["fatigue_ge2"]
    assert fatigue["exposure"] == "start_dose_mg"
    assert fatigue["slope"] == pytest.approx(0.8, abs=0.25)
    assert fatigue["ci_lower"] < fatigue["odds_ratio"] < fatigue["ci_upper"]
    pred = predictions[predictions["outcome"] == "fatigue_ge2"].set_index("at")
    assert pred.loc[4, "probability"] > pred.loc[3, "probability"]
    assert 0.5 < fatigue["cv_auc"] < 0.8


def test_outcomes_without_events_are_reported_not_estimated():
    adsl, ae = _cohort()
    models, _ = exposure.exposure_response(adsl, ae)
    rash = models.set_index("outcome").loc["rash_ge2"]
    assert rash["events"] == 0
    assert np.isnan(rash["slope"])
    assert rash["note"] == "not estimable: no events"


def test_disease_control_is_sd_or_better_and_not_cbr():
    adsl, ae = _cohort()
    flags = exposure.outcome_flags(adsl, ae)
    expected = adsl["best_response"].map({"PR": 1, "SD": 1, "PD": 0}).astype("Int64")
    pd.testing.assert_series_equal(flags["disease_control"], expected, check_names=False)


def test_irls_agrees_with_statsmodels_glm_binomial():
    """rwe's IRLS (R glm.fit's start and stopping rule) and statsmodels' GLM give one model."""
    import statsmodels.api as sm

    adsl, ae = _cohort(300, seed=4)
    y = exposure.outcome_flags(adsl, ae)["fatigue_ge2"].to_numpy(int)
    x = adsl["start_dose_mg"].to_numpy(float)
    ours = exposure.logistic_fit(x, y)
    theirs = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit()
    assert ours.converged
    assert ours.params == pytest.approx(theirs.params, rel=1e-6)
    assert ours.bse == pytest.approx(theirs.bse, rel=1e-6)
    assert ours.pvalues == pytest.approx(theirs.pvalues, rel=1e-6)


def test_prediction_ci_is_built_on_the_link_scale():
    adsl, ae = _cohort(300, seed=5)
    y = exposure.outcome_flags(adsl, ae)["fatigue_ge2"].to_numpy(int)
    fit = exposure.logistic_fit(adsl["start_dose_mg"], y)
    p, lower, upper = exposure.predict_probability(fit, 3.0)
    logit = lambda v: np.log(v / (1 - v))  # noqa: E731
    # Symmetric around the prediction on the logit scale, not on the probability scale.
    assert logit(p) - logit(lower) == pytest.approx(logit(upper) - logit(p), rel=1e-9)
    assert 0 < lower < p < upper < 1


def test_constant_exposure_is_reported_not_estimated():
    adsl, ae = _cohort()
    models, predictions = exposure.exposure_response(adsl.assign(start_dose_mg=4.0), ae)
    fatigue = models.set_index("outcome").loc["fatigue_ge2"]
    assert fatigue["note"] == "not estimable: exposure is constant"
    assert np.isnan(fatigue["odds_ratio"])
    assert "fatigue_ge2" not in set(predictions["outcome"])


def test_without_adverse_event_records_ae_outcomes_are_noted_and_disease_control_is_fitted():
    adsl, ae = _cohort(400, seed=6)
    adsl["best_response"] = np.where(adsl["start_dose_mg"] > 3, "PR", "PD")
    adsl.loc[adsl.index[::3], "best_response"] = "SD"
    adsl.loc[adsl.index[::5], "best_response"] = "PD"
    models, _ = exposure.exposure_response(adsl, ae.iloc[0:0])
    models = models.set_index("outcome")
    ae_outcomes = models.drop(index="disease_control")
    assert ae_outcomes["slope"].isna().all()
    assert ae_outcomes["note"].str.startswith("not estimable: no adverse-event records").all()
    assert np.isfinite(models.loc["disease_control", "slope"])


def test_partly_missing_auc_falls_back_to_dose_with_a_note():
    adsl, ae = _cohort(300, seed=7)
    adsl["exposure_auc"] = adsl["start_dose_mg"] * 0.25
    adsl.loc[adsl.index[:5], "exposure_auc"] = np.nan
    models, _ = exposure.exposure_response(adsl, ae)
    assert (models["exposure"] == "start_dose_mg").all()
    assert models["note"].str.contains("exposure_auc missing for 5 of 300 patients").all()
    models, _ = exposure.exposure_response(adsl.dropna(subset=["exposure_auc"]), ae)
    assert (models["exposure"] == "exposure_auc").all()


def test_adjustment_matrix_codes_a_category_against_its_first_level_as_r():
    adsl = pd.DataFrame({"regimen": ["Ixa-Rd", "Ixa-Pd", None, "Ixa-d"], "age": [60, 70, 80, 90]})
    design = exposure.adjustment_matrix(adsl, ["regimen", "age", "absent"])
    assert list(design.columns) == ["regimenIxa-Rd", "regimenIxa-d", "age"]  # Ixa-Pd: reference
    assert design.iloc[0].tolist() == [1.0, 0.0, 60.0]
    assert design.iloc[1].tolist() == [0.0, 0.0, 70.0]
    assert design.iloc[2, :2].isna().all()  # a missing regimen stays missing


def test_chance_note_follows_the_configured_rule():
    assert exposure.chance_note(0.55, 0.55).startswith("cross-validated AUC 0.55 ≤ 0.55")
    assert exposure.chance_note(0.56, 0.55) == ""
    assert exposure.chance_note(float("nan"), 0.55) == ""


def test_no_odds_ratio_from_fewer_than_min_events():
    rng = np.random.default_rng(1)
    n = 80
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(n)],
            "exposure_auc": rng.uniform(0.5, 2, n),
            "start_dose_mg": 4.0,
            "regimen": np.where(np.arange(n) % 2, "Ixa-Rd", "Ixa-Pd"),
            "best_response": np.where(np.arange(n) < 3, "PD", "PR"),  # 77 with disease control
        }
    )
    ae = pd.DataFrame(columns=["site", "patient_id", "term", "grade"])
    models, _ = exposure.exposure_response(adsl, ae, min_events=100, adjust_for=["regimen"])
    row = models.set_index("outcome").loc["disease_control"]
    assert np.isnan(row["odds_ratio"])
    assert np.isnan(row["odds_ratio_adjusted"])
    assert row["note"].startswith("not estimable: 77 events (fewer than 100)")
    fitted, _ = exposure.exposure_response(adsl, ae, min_events=5, adjust_for=["regimen"])
    row = fitted.set_index("outcome").loc["disease_control"]
    assert np.isfinite(row["odds_ratio"])
    assert np.isfinite(row["odds_ratio_adjusted"])
    assert row["adjusted_for"] == "regimen"
