"""Plausibility checks: one test per check, warn vs stop, and nothing echoed."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rwe import plausibility, safety
from rwe.exceptions import InputError
from rwe.plausibility import PHYSIOLOGICAL_RANGES, check_extract, plausibility_findings
from rwe.validate import validate_extract

SECRET = "SECRET-PATIENT-42"
ROOT = Path(__file__).resolve().parents[1]


def patients(**columns) -> pd.DataFrame:
    """Two patients of site ``s``; the first has an identifier that must never be echoed."""
    base = {
        "site": ["s", "s"],
        "patient_id": [SECRET, "P2"],
        "progression_day": pd.array([100, pd.NA], dtype="Int64"),
        "last_assessment_day": pd.array([100, 300], dtype="Int64"),
        "death_day": pd.array([pd.NA, pd.NA], dtype="Int64"),
        "last_followup_day": pd.array([400, 400], dtype="Int64"),
    }
    base.update(columns)
    return pd.DataFrame(base)


def labs(rows) -> pd.DataFrame:
    """Harmonised lab rows (patient, day, test, value) of site ``s``."""
    table = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value"])
    units = table["test"].map(lambda t: PHYSIOLOGICAL_RANGES.get(t, ("",))[0])
    return table.assign(site="s", unit=units)


def finding(findings: pd.DataFrame, check: str) -> pd.Series:
    rows = findings[findings["check"].str.contains(check, regex=False)]
    assert len(rows) == 1, (check, findings)
    return rows.iloc[0]


def test_anc_above_wbc_of_the_same_day_is_counted():
    table = labs(
        [
            (SECRET, 10, "WBC", 3.0),
            (SECRET, 10, "ANC", 3.5),  # above: counted
            (SECRET, 20, "WBC", 3.0),
            (SECRET, 20, "ANC", 3.0),  # equal: plausible
            ("P2", 10, "WBC", 2.0),
            ("P2", 10, "ANC", 1.0),  # below
            ("P2", 30, "ANC", 9.0),  # no WBC that day: not checkable
            (SECRET, 30, "WBC", 1.0),  # a WBC of another day does not count for P2's ANC
            ("P2", -3, "WBC", 5.0),
            ("P2", -3, "ANC", 6.0),  # a baseline draw: above, counted
        ]
    )
    above, checked = plausibility.anc_above_wbc(table)
    assert (above, checked) == (2, 4)
    found = finding(plausibility_findings({"patients": patients(), "labs": table}), "ANC above")
    assert (found["file"], found["column"], found["n_rows"]) == ("s/labs.csv", "value", 2)
    assert "kept" in found["note"]


def test_anc_compared_with_the_highest_wbc_of_a_day_with_two_draws():
    table = labs([("P2", 5, "WBC", 1.0), ("P2", 5, "WBC", 4.0), ("P2", 5, "ANC", 2.0)])
    assert plausibility.anc_above_wbc(table) == (0, 1)


@pytest.mark.parametrize("test", sorted(PHYSIOLOGICAL_RANGES))
def test_values_outside_the_physiological_range_are_counted_per_analyte(test):
    unit, low, high = PHYSIOLOGICAL_RANGES[test]
    inside = [low, (low + high) / 2, high]  # the limits themselves are plausible
    outside = [high * 1.5 + 1] + ([low - 0.5] if low > 0 else [])
    table = labs([("P2", 10 + i, test, v) for i, v in enumerate(inside + outside)])
    flagged = plausibility.implausible_lab_values(table)
    assert flagged.tolist() == [False] * len(inside) + [True] * len(outside)
    found = finding(plausibility_findings({"patients": patients(), "labs": table}), test + " ")
    assert found["n_rows"] == len(outside)
    assert found["n_checked"] == len(inside) + len(outside)
    assert f"{low:g}–{high:g} {unit}" in found["check"]


def test_a_range_applies_only_in_its_harmonised_unit():
    table = labs([("P2", 1, "BMPC", 250.0), ("P2", 2, "HGB", 120.0)])
    table.loc[0, "unit"] = "cells/µL"  # another unit: no range known, never flagged
    assert plausibility.implausible_lab_values(table).tolist() == [False, True]


def test_hgb_in_g_per_l_written_as_g_per_dl_is_caught_after_validation(site_folder):
    """Through validation: the harmonised value, not the sent spelling, is checked."""
    from rwe.io import read_site

    frame = pd.read_csv(site_folder / "labs.csv")
    hgb = frame.index[frame["test"] == "HGB"][:3]
    frame.loc[hgb, "value"] = frame.loc[hgb, "value"] * 10  # g/L numbers under a g/dL unit
    frame.to_csv(site_folder / "labs.csv", index=False)
    raw, _ = read_site(site_folder, "t")
    found = finding(check_extract(validate_extract({"t": raw})), "HGB outside")
    assert found["n_rows"] == 3  # the simulated extract itself is plausible


def test_days_after_death_are_counted_where_validation_lets_them_through():
    table = patients(
        death_day=pd.array([200, 300], dtype="Int64"),
        last_assessment_day=pd.array([250, 300], dtype="Int64"),  # first: after death
        last_followup_day=pd.array([260, 300], dtype="Int64"),  # first: after death
        end_of_treatment_day=pd.array([210, 290], dtype="Int64"),  # first: after death
    )
    responses = pd.DataFrame(
        {"site": "s", "patient_id": [SECRET, SECRET, "P2"], "day": [150, 220, 280]}
    )
    findings = plausibility_findings({"patients": table, "responses": responses})
    for column in ("last_assessment_day", "last_followup_day", "end_of_treatment_day"):
        row = findings[findings["column"] == column].iloc[0]
        assert (row["file"], row["n_rows"], row["n_checked"]) == ("s/patients.csv", 1, 2)
    row = finding(findings, "after the patient's death_day")
    assert (row["file"], row["column"], row["n_rows"], row["n_checked"]) == (
        "s/responses.csv",
        "day",
        1,
        3,
    )


def test_orderings_validation_refuses_are_not_checked_twice():
    """Death before progression is refused by validation; plausibility does not count it again."""
    from rwe.validate import check_patient_logic

    table = patients(
        death_day=pd.array([50, pd.NA], dtype="Int64"),  # before progression (day 100)
        last_assessment_day=pd.array([100, 300], dtype="Int64"),
    )
    refused = check_patient_logic(table.assign(_row=[1, 2]), "s/patients.csv")
    assert {p.column for p in refused} == {"death_day"}
    found = plausibility.implausible(plausibility_findings({"patients": table}))
    assert set(found["column"]) == {"last_assessment_day", "last_followup_day"}
    checked = set(plausibility_findings({"patients": table})["column"])
    assert not checked & {"progression_day", "death_day"}


def test_findings_per_site_of_a_pooled_extract():
    both = pd.concat([patients(), patients(site=["r", "r"])], ignore_index=True)
    table = pd.concat(
        [labs([("P2", 1, "HGB", 99.0)]), labs([("P2", 1, "HGB", 9.0)]).assign(site="r")]
    )
    findings = plausibility_findings({"patients": both, "labs": table})
    hgb = findings[findings["check"].str.startswith("HGB")].set_index("file")["n_rows"]
    assert hgb.to_dict() == {"s/labs.csv": 1, "r/labs.csv": 0}


def test_warn_returns_the_findings_and_stop_raises_every_one():
    table = labs([(SECRET, 10, "WBC", 3.0), (SECRET, 10, "ANC", 3.5), (SECRET, 11, "HGB", 130.0)])
    tables = {"patients": patients(), "labs": table}
    warned = check_extract(tables, "warn")
    assert len(plausibility.implausible(warned)) == 2
    with pytest.raises(InputError) as err:
        check_extract(tables, "stop")
    problems = err.value.problems
    assert {(p.file, p.column) for p in problems} == {("s/labs.csv", "value")}
    assert len(problems) == 2
    assert all("on 1 of" in p.message for p in problems)
    # Nothing implausible: stop goes on.
    assert plausibility.implausible(check_extract({"patients": patients()}, "stop")).empty
    with pytest.raises(ValueError, match="on_implausible"):
        check_extract(tables, "ignore")


def test_no_value_or_identifier_is_echoed():
    table = labs([(SECRET, 10, "WBC", 3.0), (SECRET, 10, "ANC", 3.51), (SECRET, 11, "HGB", 123.4)])
    frame = patients(death_day=pd.array([5, pd.NA], dtype="Int64"))
    tables = {"patients": frame, "labs": table}
    findings = check_extract(tables)
    with pytest.raises(InputError) as err:
        check_extract(tables, "stop")
    for text in (findings.to_csv(), str(err.value)):
        for secret in (SECRET, "3.51", "123.4"):
            assert secret not in text


# --------------------------------------------------------------------------- nadir window


def window_patients(**columns) -> pd.DataFrame:
    return patients(**columns).drop(columns=["last_assessment_day", "death_day"])


def test_window_default_ends_at_progression_or_30_days_after_end_of_treatment():
    frame = window_patients(
        progression_day=pd.array([100, pd.NA], dtype="Int64"),
        end_of_treatment_day=pd.array([90, 50], dtype="Int64"),
    )
    windows = safety.nadir_windows(frame)
    assert windows["start_day"].tolist() == [1, 1]
    assert windows["end_day"].tolist() == [100, 80]  # min(100, 90 + 30); 50 + 30
    no_end = safety.nadir_windows(window_patients(progression_day=pd.array([pd.NA] * 2, "Int64")))
    assert np.isinf(no_end["end_day"]).all()  # nothing ended: up to the last follow-up


def test_window_edges_are_included_and_values_outside_are_not_nadirs():
    frame = window_patients(end_of_treatment_day=pd.array([pd.NA, 50], dtype="Int64"))
    windows = safety.nadir_windows(frame, start_day=1, days_after_end_of_treatment=30)
    table = labs(
        [
            (SECRET, 0, "ANC", 0.1),  # day 0: before the window
            (SECRET, 1, "ANC", 1.5),  # first day: in
            (SECRET, 100, "ANC", 1.2),  # progression day: in (the nadir)
            (SECRET, 101, "ANC", 0.2),  # after progression: out
            ("P2", 80, "ANC", 0.9),  # end of treatment + 30: in (the nadir)
            ("P2", 81, "ANC", 0.3),  # one day later: out
        ]
    )
    nadirs = safety.patient_nadirs(table, windows).set_index("patient_id")["nadir"]
    assert nadirs.to_dict() == {SECRET: 1.2, "P2": 0.9}
    wider = safety.nadir_windows(frame, start_day=0, until_progression=False)
    nadirs = safety.patient_nadirs(table, wider).set_index("patient_id")["nadir"]
    assert nadirs.to_dict() == {SECRET: 0.1, "P2": 0.9}


def test_implausible_values_are_left_out_of_the_nadirs_and_counted():
    table = labs([("P2", 5, "HGB", 0.5), ("P2", 6, "HGB", 9.0)])
    frame = window_patients()
    windows = safety.nadir_windows(frame)
    flagged = plausibility.implausible_lab_values(table)
    assert safety.patient_nadirs(table, windows)["nadir"].tolist() == [0.5]
    assert safety.patient_nadirs(table, windows, flagged)["nadir"].tolist() == [9.0]
    found = finding(plausibility_findings({"patients": frame, "labs": table}), "HGB outside")
    assert found["n_rows"] == 1
    assert found["note"] == plausibility.OUT_OF_RANGE_NOTE


def test_methods_sentence_follows_the_window_config():
    default = safety.nadir_window_methods()
    assert "from day 1 to the earlier of progression and 30 days after the end of treatment" in (
        default
    )
    other = safety.nadir_window_methods(
        start_day=0, days_after_end_of_treatment=14, until_progression=False
    )
    assert "from day 0 to 14 days after the end of treatment" in other
    assert "progression" not in other


def test_the_bundled_demo_is_plausible():
    """data/demo (rwe.simulate): ANC ≤ WBC on every draw, every value in range, no day after death."""
    from rwe.io import read_site

    raw, _ = read_site(ROOT / "data" / "demo", "demo")
    findings = check_extract(validate_extract({"demo": raw}), "stop")
    assert len(findings) >= 9  # every check ran (and found nothing)
    assert (findings["n_checked"] > 0).all()


def test_rwe_check_lists_the_findings(site_folder, capsys):
    from rwe.cli import main

    frame = pd.read_csv(site_folder / "labs.csv")
    frame.loc[frame.index[frame["test"] == "PLT"][:2], "value"] = 20000
    frame.to_csv(site_folder / "labs.csv", index=False)
    assert main(["check", str(site_folder), "--site", "t"]) == 0
    out = capsys.readouterr().out
    assert "implausible: t/labs.csv, column value: PLT outside its physiological range" in out
    assert "on 2 rows (left out of the nadirs)" in out
