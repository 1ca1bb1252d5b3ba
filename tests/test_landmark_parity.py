"""Landmark and time-dependent Cox analyses of response against R, live (tests/r/landmark_reference.R).

R computes, independently of rwe, at each landmark L: ``survfit``/``quantile`` medians,
``survdiff`` and ``coxph(Surv(aval - L, event) ~ responded_by_landmark)`` among patients with
``aval > L``; and ``coxph(Surv(tstart, tstop, event) ~ responder_td [+ covariates])`` on the
rows ``tmerge(..., event = event(aval, event))`` then ``tmerge(..., responder_td = tdc(rt))``
build. No look-ahead: R reads only ``response_confirmed_day`` (the day a response became
known), so responded-by-L means confirmed by L and ``rt`` is the confirmation month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import landmark
from rwe.derive import analysis_sets
from test_survival_parity import COVARIATES, extract_to_adam

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]
LANDMARKS = [1, 3, 6]


@pytest.fixture(scope="module")
def demo():
    return extract_to_adam(ROOT / "data" / "demo", "demo")


def run_reference(tmp_path, adsl, adtte, min_regimen_n=20, conf_type="log"):
    adam = tmp_path / "adam"
    adam.mkdir(exist_ok=True)
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    run_r(
        "landmark_reference.R",
        adam,
        tmp_path / "r",
        conf_type,
        0.95,
        min_regimen_n,
        ",".join(map(str, LANDMARKS)),
        ",".join(COVARIATES),
    )
    return {
        name: pd.read_csv(tmp_path / "r" / f"{name}.csv")
        for name in ("landmark", "cox_time_dependent", "tmerge_input", "tmerge")
    }


def compare(tmp_path, adsl, adtte, min_regimen_n=20, conf_type="log") -> int:
    r = run_reference(tmp_path, adsl, adtte, min_regimen_n, conf_type)
    sets = analysis_sets(adsl, min_regimen_n)
    ours = landmark.landmark_table(adsl, adtte, sets, LANDMARKS, conf_type, 0.95)
    values = landmark.LANDMARK_COLUMNS[4:-2]
    n = assert_tables_match(ours, r["landmark"], landmark.LANDMARK_COLUMNS[:4], values, "landmark")
    ours = landmark.time_dependent_cox_table(adsl, adtte, sets, COVARIATES, 0.95)
    n += assert_tables_match(
        ours,
        r["cox_time_dependent"],
        landmark.COX_TD_COLUMNS[:4],
        ["hr", "ci_lower", "ci_upper", "p", "n", "events", "n_rows"],
        "cox_time_dependent",
    )
    return n


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_demo_matches_r(tmp_path, demo, conf_type):
    adsl = demo[0]
    # The demo holds responses first seen by a landmark and confirmed after it (the look-ahead
    # the confirmation day removes): those patients are "not responded" at that landmark.
    first, confirmed = (
        adsl[c].to_numpy(float, na_value=np.nan) / landmark.DAYS_PER_MONTH
        for c in ("first_response_day", landmark.CONFIRMED_DAY)
    )
    assert all(((first <= L) & (confirmed > L)).sum() >= 5 for L in LANDMARKS[:2])
    assert compare(tmp_path, *demo, conf_type=conf_type) > 300


def test_counting_process_rows_are_those_of_tmerge(tmp_path, demo):
    r = run_reference(tmp_path, *demo)
    given = r["tmerge_input"]
    ours = landmark.counting_process(given["aval"], given["event"], given["rt"])
    expected = r["tmerge"]
    assert len(ours) == len(expected) > len(given)  # some follow-up is split at the response
    for column in landmark.COUNTING_PROCESS_COLUMNS:
        np.testing.assert_allclose(
            ours[column].to_numpy(float),
            expected[column].to_numpy(float),
            rtol=1e-12,
            err_msg=column,
        )


def test_edge_cohorts_match_r(tmp_path, demo):
    """Responses on day 0 and at the event day, unknown responses, and a regimen with no responder."""
    adsl, adtte = demo
    adsl = adsl.copy()
    responders = adsl.index[adsl["responder"] == 1]
    day = landmark.CONFIRMED_DAY
    adsl.loc[responders[:3], day] = 0  # covariate 1 from the start
    os_days = adtte[adtte["paramcd"] == "OS"].set_index("patient_id")["aval_days"]
    ids = adsl.loc[responders[3:6], "patient_id"]
    adsl.loc[responders[3:6], day] = os_days.loc[ids].to_numpy()  # at the end
    adsl.loc[responders[6:9], day] = pd.NA  # a responder without a confirmation day: unknown
    adsl.loc[responders[9:12], "best_response_source"] = "labs.csv"  # derived: dated, known
    adsl.loc[adsl.index[:5], "responder"] = pd.NA  # NE: unknown
    pd_regimen = adsl["regimen"] == "Ixa-Pd"
    adsl.loc[pd_regimen, "responder"] = 0  # no responder in this set: not compared
    adsl.loc[pd_regimen, day] = pd.NA
    assert compare(tmp_path, adsl, adtte) > 300
    table = landmark.landmark_table(adsl, adtte, analysis_sets(adsl, 20), LANDMARKS)
    not_compared = table[(table["analysis_set"] == "Ixa-Pd") & (table["level"] == "all")]
    assert not_compared["hr"].isna().all()
    assert not_compared["note"].str.contains("no patient responded").all()
    assert (table.loc[table["analysis_set"] == "all", "n_unknown"] >= 8).all()
