"""Data cuts: headline estimates compared, patients added / removed / changed counted."""

import numpy as np
import pandas as pd
import pytest

from rwe.cuts import estimate_changes, headline_estimates, patient_changes, patient_outcomes


def km(median_pfs):
    return pd.DataFrame(
        {
            "analysis_set": ["all", "all", "all"],
            "endpoint": ["PFS", "PFS", "OS"],
            "variable": ["all", "emd", "all"],
            "level": ["all", "1", "all"],
            "n": [10, 4, 10],
            "events": [6, 3, 4],
            "median": [median_pfs, 2.0, np.nan],
            "ci_lower": [3.0, 1.0, 9.0],
            "ci_upper": [np.nan, 5.0, np.nan],
        }
    )


def test_headline_estimates_keep_whole_set_rows_only():
    out = headline_estimates({"km_medians": km(7.5)})
    assert set(out["estimate"]) == {"all / PFS", "all / OS"}
    assert (
        out.loc[(out["estimate"] == "all / PFS") & (out["statistic"] == "median"), "value"].item()
        == 7.5
    )
    assert len(out) == 2 * 5


def test_missing_tables_contribute_nothing():
    assert headline_estimates({}).empty


def test_estimate_changes_status():
    prev = headline_estimates({"km_medians": km(7.5)})
    cur = headline_estimates({"km_medians": km(8.0).iloc[[0, 1]]})  # OS row gone
    changes = estimate_changes(prev, cur)
    # The current cut's order first (PFS rows before the previous-only OS rows), not sorted.
    assert list(changes["estimate"].unique()) == ["all / PFS", "all / OS"]
    out = changes.set_index(["estimate", "statistic"])
    assert out.loc[("all / PFS", "median"), "status"] == "changed"
    assert out.loc[("all / PFS", "median"), "difference"] == pytest.approx(0.5)
    assert out.loc[("all / PFS", "ci_upper"), "status"] == "unchanged"  # NA both times
    assert out.loc[("all / PFS", "n"), "status"] == "unchanged"
    assert (out.loc["all / OS", "status"] == "dropped").all()
    back = estimate_changes(cur, prev).set_index(["estimate", "statistic"])
    assert (back.loc["all / OS", "status"] == "new").all()


def outcomes(rows):
    adsl = pd.DataFrame(
        [(s, p, br) for s, p, br, *_ in rows], columns=["site", "patient_id", "best_response"]
    )
    adtte = pd.DataFrame(
        [(s, p, "PFS", pfs, 0) for s, p, _, pfs, _ in rows]
        + [(s, p, "OS", os_, 1) for s, p, _, _, os_ in rows],
        columns=["site", "patient_id", "paramcd", "aval", "cnsr"],
    )
    return patient_outcomes(adsl, adtte)


def test_patient_changes_per_site():
    prev = outcomes(
        [("a", "1", "PR", 3.0, 9.0), ("a", "2", "SD", 2.0, 5.0), ("b", "1", "CR", 8.0, 12.0)]
    )
    cur = outcomes(
        [
            ("a", "1", "PR", 3.0, 9.0),  # unchanged
            ("a", "3", "PD", 1.0, 2.0),  # added
            ("b", "1", "CR", 8.0, 14.0),  # longer OS follow-up: changed
        ]
    )
    out = patient_changes(prev, cur).set_index("site")
    assert out.loc["a"].to_dict() == {
        "n_previous": 2,
        "n_current": 2,
        "added": 1,
        "removed": 1,
        "outcome_changed": 0,
    }
    assert out.loc["b"].to_dict() == {
        "n_previous": 1,
        "n_current": 1,
        "added": 0,
        "removed": 0,
        "outcome_changed": 1,
    }


def test_a_csv_round_trip_of_the_times_is_no_change():
    prev = outcomes([("a", "1", "PR", 87.72073921971253, 9.0)])
    cur = outcomes([("a", "1", "PR", 87.72073921971252, 9.0)])
    assert patient_changes(prev, cur)["outcome_changed"].item() == 0


def test_same_patient_id_at_two_sites_is_two_patients():
    prev = outcomes([("a", "1", "PR", 3.0, 9.0)])
    cur = outcomes([("a", "1", "PR", 3.0, 9.0), ("b", "1", "PR", 3.0, 9.0)])
    out = patient_changes(prev, cur).set_index("site")
    assert out.loc["b", "added"] == 1
    assert out.loc["a", "added"] == 0
