"""Landmark and counting-process rules, by hand (R parity is in test_landmark_parity.py)."""

import numpy as np
import pandas as pd
import pytest

from rwe.derive import DAYS_PER_MONTH
from rwe.landmark import counting_process, landmark_table, response_timing


def test_counting_process_splits_follow_up_at_the_response_as_tmerge():
    """R: tmerge(d, d, id, event = event(time, status)) then tdc(frd); see the docstring."""
    rows = counting_process(
        time=[10, 20, 30, 3, 15, 40],
        event=[1, 0, 1, 1, 1, 0],
        response_time=[5, np.nan, 30, np.nan, 0, 12],
    )
    expected = [
        (0, 0, 5, 0, 0),  # responds on day 5: split, event on the last row
        (0, 5, 10, 1, 1),
        (1, 0, 20, 0, 0),  # never responds
        (2, 0, 30, 1, 0),  # responds on the day of the event: no split, still 0
        (3, 0, 3, 1, 0),
        (4, 0, 15, 1, 1),  # responds on day 0: 1 from the start
        (5, 0, 12, 0, 0),
        (5, 12, 40, 0, 1),
    ]
    assert [
        tuple(r) for r in rows[["id", "tstart", "tstop", "event", "responder_td"]].to_numpy()
    ] == expected


def test_counting_process_carries_baseline_covariates_and_refuses_time_zero():
    covariates = pd.DataFrame({"emd": [1, 0]})
    rows = counting_process([10, 20], [1, 0], [5, np.inf], covariates)
    assert rows["emd"].tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="> 0"):
        counting_process([0, 20], [1, 0], [np.nan, np.nan])


def test_only_patients_with_a_known_response_history_are_compared():
    adsl = pd.DataFrame(
        {
            "responder": pd.array([1, 1, 0, None, 1, 1], dtype="Int64"),
            "first_response_day": pd.array([56, None, None, None, 28, 28], dtype="Int64"),
            "response_confirmed_day": pd.array([84, None, None, None, 56, 56], dtype="Int64"),
            "best_response_source": ["responses.csv"] * 4 + ["patients.csv", "labs.csv"],
        }
    )
    timing = response_timing(adsl)
    # undated, NE, no dates sent; derived from dated laboratory assessments: known
    assert timing["response_known"].tolist() == [1, 0, 1, 0, 0, 1]
    # The response counts from its confirmation (day 84), not its first assessment (day 56).
    assert timing["response_month"][0] == pytest.approx(84 / DAYS_PER_MONTH)
    assert np.isinf(timing["response_month"][2])  # a non-responder never responds


def test_a_response_seen_before_the_landmark_but_confirmed_after_it_does_not_count():
    """No look-ahead: at month 3 (day 91.3) a PR first seen on day 84 and confirmed on day 112
    was not yet known; the patient is in the "not responded" group, and in the time-dependent
    model switches to responder on day 112 (R: tmerge(..., responder_td = tdc(112 / 30.4375)))."""
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["early", "late", "never", "none2"],
            "responder": pd.array([1, 1, 0, 0], dtype="Int64"),
            "first_response_day": pd.array([28, 84, None, None], dtype="Int64"),
            "response_confirmed_day": pd.array([56, 112, None, None], dtype="Int64"),
            "best_response_source": "responses.csv",
        }
    )
    months = [10.0, 12.0, 6.0, 8.0]
    adtte = pd.DataFrame(
        {
            "site": "s",
            "patient_id": adsl["patient_id"],
            "paramcd": "OS",
            "aval": months,
            "cnsr": 0,
        }
    )
    table = landmark_table(adsl, adtte, {"all": adsl}, [3]).set_index(["endpoint", "level"])
    assert table.loc[("OS", "1"), "n"] == 1  # only the response confirmed by day 91
    assert table.loc[("OS", "0"), "n"] == 3  # "late" is not a responder yet at month 3
    # Time from the landmark: the responder's event at 10 - 3 = 7 months.
    assert table.loc[("OS", "1"), "median"] == pytest.approx(7)
    timing = response_timing(adsl)
    rows = counting_process(months, [1, 1, 1, 1], timing["response_month"])
    late = rows[rows["id"] == 1]
    assert late["tstart"].tolist() == [0, pytest.approx(112 / DAYS_PER_MONTH)]
    assert late["responder_td"].tolist() == [0, 1]


def test_landmark_compares_those_event_free_at_it_from_the_landmark():
    n = 8
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"P{i}" for i in range(n)],
            "responder": pd.array([1, 1, 1, 0, 0, 0, 1, 0], dtype="Int64"),
            "first_response_day": pd.array(
                [30, 60, 200, None, None, None, 30, None], dtype="Int64"
            ),
            "response_confirmed_day": pd.array(
                [30, 60, 200, None, None, None, 30, None], dtype="Int64"
            ),
            "best_response_source": "responses.csv",
        }
    )
    months = [10, 12, 14, 5, 6, 8, 2, 1]  # the last two have an event before month 3
    adtte = pd.DataFrame(
        {
            "site": "s",
            "patient_id": adsl["patient_id"],
            "paramcd": "OS",
            "aval": np.array(months, float),
            "cnsr": 0,
        }
    )
    table = landmark_table(adsl, adtte, {"all": adsl}, [3]).set_index(["endpoint", "level"])
    row = table.loc[("OS", "all")]
    assert (row["n"], row["n_not_at_risk"], row["n_unknown"]) == (6, 2, 0)
    # Responded by month 3 (day 91): the first two; the third responds later: not yet.
    assert table.loc[("OS", "1"), "n"] == 2
    assert table.loc[("OS", "0"), "n"] == 4
    # Time from the landmark: events at 7 and 9; S = 0.5 from 7 to 9, so R's median is 8.
    assert table.loc[("OS", "1"), "median"] == pytest.approx(8)
