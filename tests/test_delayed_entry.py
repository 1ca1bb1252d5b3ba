"""Delayed entry (``entry_day``): validation, derivation, landmark and counting-process rows.

The estimators themselves are checked against R in ``tests/test_delayed_entry_parity.py``; the
rules here are hand-computable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwe.derive import (
    DAYS_PER_MONTH,
    DELAYED_ENTRY_STEP,
    attrition,
    derive_adsl,
    derive_adtte,
)
from rwe.exceptions import InputError
from rwe.io import read_site
from rwe.landmark import counting_process, landmark_table
from rwe.simulate import add_delayed_entry, apply_codings, write_site
from rwe.survival import km_at, km_curve
from rwe.validate import validate_extract


def _validate(folder, **options):
    tables, _ = read_site(folder, "s1")
    return validate_extract({"s1": tables}, site_options={"s1": options})


@pytest.fixture
def late_tables(demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    add_delayed_entry(tables, np.random.default_rng(3))
    return tables


def test_an_extract_with_entry_day_passes_and_keeps_it(tmp_path, late_tables):
    write_site(late_tables, tmp_path)
    typed = _validate(tmp_path)
    entry = typed["patients"]["entry_day"]
    assert str(entry.dtype) == "Int64"
    assert (entry > 0).sum() > 10
    assert (entry == 0).sum() > 10


def test_entry_dates_are_read_back_as_entry_days(tmp_path, late_tables):
    write_site(apply_codings(late_tables, ["dates"], seed=2), tmp_path)
    typed = _validate(tmp_path, dates=True)
    expected = pd.array(late_tables["patients"]["entry_day"], dtype="Int64")
    assert typed["patients"]["entry_day"].reset_index(drop=True).equals(pd.Series(expected))


def test_every_delayed_entry_problem_is_listed_with_file_row_and_column(tmp_path, late_tables):
    p = late_tables["patients"]
    p["entry_day"] = p["entry_day"].astype(object)
    late = p.index[p["entry_day"] > 0]
    ids = list(p["patient_id"])
    first, second, third, fourth = late[:4]
    # Problems name the data row, numbered from 1 (index + 1).
    p.loc[first, "entry_day"] = -3  # negative
    p.loc[second, "entry_day"] = "abc"  # not a whole number
    progressed = p.index[p["progression_day"].notna() & ~p.index.isin(late[:2])][0]
    p.loc[progressed, "entry_day"] = int(p.loc[progressed, "progression_day"])  # event at entry
    p.loc[third, "entry_day"] = int(p.loc[third, "last_followup_day"]) + 5  # entry after exit
    responses = late_tables["responses"]
    who = p.loc[fourth, "patient_id"]
    before = responses.index[responses["patient_id"] == who][0]
    responses.loc[before, "day"] = int(p.loc[fourth, "entry_day"]) - 1  # response before entry
    write_site(late_tables, tmp_path)
    with pytest.raises(InputError) as err:
        _validate(tmp_path)
    found = {(x.file, x.row, x.column) for x in err.value.problems}
    assert ("s1/patients.csv", first + 1, "entry_day") in found
    assert ("s1/patients.csv", second + 1, "entry_day") in found
    assert ("s1/patients.csv", progressed + 1, "progression_day") in found
    for column in ("last_followup_day", "last_assessment_day"):
        if pd.notna(p.loc[third, column]):
            assert ("s1/patients.csv", third + 1, column) in found
    assert ("s1/responses.csv", before + 1, "day") in found
    message = str(err.value)
    assert "is on or before entry_day" in message
    assert "is before the patient's entry_day" in message
    assert not any(pid in message for pid in ids)


def test_a_blank_entry_day_is_refused(tmp_path, late_tables):
    late_tables["patients"]["entry_day"] = late_tables["patients"]["entry_day"].astype(object)
    late_tables["patients"].loc[3, "entry_day"] = None
    write_site(late_tables, tmp_path)
    with pytest.raises(InputError) as err:
        _validate(tmp_path)
    assert ("s1/patients.csv", 4, "entry_day") in {
        (x.file, x.row, x.column) for x in err.value.problems
    }


def test_adtte_gets_entry_only_when_the_extract_has_it(tmp_path, demo_tables, late_tables):
    write_site(demo_tables, tmp_path / "plain")
    write_site(late_tables, tmp_path / "late")
    plain = derive_adsl(_validate(tmp_path / "plain")["patients"])
    adtte = derive_adtte(plain)
    assert list(adtte.columns) == ["site", "patient_id", "paramcd", "aval", "aval_days", "cnsr"]
    assert DELAYED_ENTRY_STEP not in set(attrition(plain, adtte, [], [])["step"])
    late = derive_adsl(_validate(tmp_path / "late")["patients"])
    adtte = derive_adtte(late)
    assert list(adtte.columns)[-2:] == ["entry", "entry_days"]
    days = np.tile(late["entry_day"].to_numpy(dtype=float), adtte["paramcd"].nunique())
    assert np.array_equal(adtte["entry_days"].to_numpy(dtype=float), days)
    assert np.allclose(adtte["entry"], days / DAYS_PER_MONTH)
    assert (adtte["entry_days"] < adtte["aval_days"]).all()
    steps = attrition(late, adtte, [], [])
    row = steps[steps["step"] == DELAYED_ENTRY_STEP].iloc[0]
    assert (row["n_in"], row["n_excluded"], row["n_out"]) == (len(late), 0, len(late))


def test_counting_process_rows_start_at_entry():
    """(0, 10] split at a response at 4, entered at 2: (2, 4] untreated then (4, 10] responder."""
    rows = counting_process([10.0, 10.0, 6.0], [1, 0, 1], [4.0, 3.0, np.inf], entry=[2.0, 5.0, 1.0])
    got = rows[["id", "tstart", "tstop", "event", "responder_td"]].to_numpy().tolist()
    assert got == [
        [0, 2.0, 4.0, 0.0, 0.0],
        [0, 4.0, 10.0, 1.0, 1.0],
        # patient 1 responded at 3, before its entry at 5 would be refused by validation;
        # the row before entry is dropped and the rest starts at entry, as tmerge(tstart=).
        [1, 5.0, 10.0, 0.0, 1.0],
        [2, 1.0, 6.0, 1.0, 0.0],
    ]
    plain = counting_process([10.0, 10.0, 6.0], [1, 0, 1], [4.0, 3.0, np.inf])
    assert plain["tstart"].min() == 0.0
    assert len(plain) == 5


def test_a_patient_who_entered_after_the_landmark_is_not_at_risk_at_it():
    days = [400, 500, 600, 700]
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "b", "c", "d"],
            "responder": pd.array([1, 0, 1, 0], dtype="Int64"),
            "first_response_day": pd.array([30, pd.NA, 60, pd.NA], dtype="Int64"),
            "response_confirmed_day": pd.array([58, pd.NA, 88, pd.NA], dtype="Int64"),
            "best_response_source": "responses.csv",
        }
    )
    entry = np.array([0, 0, 300, 0], dtype=float)
    adtte = pd.DataFrame(
        {
            "site": "s",
            "patient_id": list(adsl["patient_id"]) * 2,
            "paramcd": ["PFS"] * 4 + ["OS"] * 4,
            "aval": np.tile(np.array(days, dtype=float) / DAYS_PER_MONTH, 2),
            "cnsr": [0, 0, 0, 1] * 2,
            "entry": np.tile(entry / DAYS_PER_MONTH, 2),
        }
    )
    table = landmark_table(adsl, adtte, {"all": adsl}, [6])
    row = table[(table["endpoint"] == "OS") & (table["level"] == "all")].iloc[0]
    assert row["n"] == 3  # c entered at day 300, after month 6 (day 183)
    assert row["n_not_at_risk"] == 1
    assert "entered observation after month 6" in row["note"]
    without = landmark_table(adsl, adtte.drop(columns=["entry"]), {"all": adsl}, [6])
    assert without[(without["endpoint"] == "OS") & (without["level"] == "all")]["n"].iloc[0] == 4


def test_survival_before_the_first_time_reports_the_first_times_number_at_risk():
    """R summary(survfit(Surv(entry, time, status) ~ 1), times = t) before the first time.

    It reports the n.risk of the first time (here 2.5: the 7 patients who entered before it),
    not the patients of the curve (8; one enters at 3).
    """
    curve = km_curve(
        [5, 4, 6, 3, 7, 8, 2.5, 6], [1, 0, 1, 1, 1, 0, 1, 1], entry=[0, 1, 2, 0, 3, 1, 0, 2]
    )
    assert curve["n_risk"].iloc[0] == 7
    for t in (0.5, 2.2):
        assert km_at(curve, t, 8) == {"n_risk": 7, "surv": 1.0, "ci_lower": 1.0, "ci_upper": 1.0}
    plain = km_curve([5, 4, 6, 3, 7, 8, 2.5, 6], [1, 0, 1, 1, 1, 0, 1, 1])
    assert km_at(plain, 0.5, 8)["n_risk"] == 8
