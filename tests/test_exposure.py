import numpy as np
import pandas as pd
import pytest

from rwe import exposure


def _cohort(n=200, seed=1):
    rng = np.random.default_rng(seed)
    dose = rng.choice([2.3, 3.0, 4.0], n)
    p = 1 / (1 + np.exp(-(-4 + 0.8 * dose)))
    adsl = pd.DataFrame({"site": "s", "patient_id": [f"p{i}" for i in range(n)], "start_dose_mg": dose,
                         "exposure_auc": np.nan, "best_response": rng.choice(["PR", "SD", "PD", "NE"], n)})  # fmt: skip
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
