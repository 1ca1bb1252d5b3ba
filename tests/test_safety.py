import numpy as np
import pandas as pd
import pytest

from rwe import safety
from rwe.exceptions import InputError


def _labs(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit"])
    return df.assign(site="s", _row=range(1, len(df) + 1))


def test_units_are_harmonised():
    labs = _labs([("a", 1, "HGB", 95.0, "g/L"), ("a", 1, "PLT", 120, "10^3/µL"), ("a", 1, "ANC", 1.2, "G/L"),
                  ("a", 1, "SPEP_M", 2.0, "g/dL")])  # fmt: skip
    out = safety.harmonise_lab_units(labs)
    assert out["value"].tolist() == pytest.approx([9.5, 120, 1.2, 2.0])
    assert out["unit"].tolist()[:3] == ["g/dL", "10^9/L", "10^9/L"]


def test_unknown_units_are_all_listed_with_their_rows():
    labs = _labs(
        [
            ("a", 1, "HGB", 9.5, "mmol/L"),
            ("b", 2, "PLT", 100, "10^9/L"),
            ("c", 3, "ANC", 1.0, "cells"),
        ]
    )
    with pytest.raises(InputError) as err:
        safety.harmonise_lab_units(labs, "s/labs.csv")
    rows = {(p.row, p.column) for p in err.value.problems}
    assert rows == {(1, "unit"), (3, "unit")}
    assert "s/labs.csv" in str(err.value)
    assert "b" not in {p.message for p in err.value.problems}


@pytest.mark.parametrize(
    ("test", "value", "grade"),
    [("ANC", 0.4, 4), ("ANC", 0.5, 3), ("ANC", 0.99, 3), ("ANC", 1.0, 2), ("ANC", 1.6, 1), ("ANC", 1.8, 0),
     ("PLT", 24, 4), ("PLT", 49, 3), ("PLT", 74, 2), ("PLT", 149, 1), ("HGB", 7.9, 3), ("HGB", 9.9, 2),
     ("WBC", 0.9, 4), ("WBC", 1.9, 3), ("WBC", 2.9, 2), ("WBC", 3.9, 1)],
)  # fmt: skip
def test_ctcae_v5_grades_from_labs(test, value, grade):
    out = safety.grade_from_labs(_labs([("a", 10, test, value, "x")]))
    assert (out["grade"].max() if len(out) else 0) == grade


def test_lab_grades_keep_worst_and_first_day_and_ignore_baseline():
    labs = _labs([("a", -3, "ANC", 0.3, "x"), ("a", 14, "ANC", 1.2, "x"), ("a", 28, "ANC", 0.8, "x"),
                  ("a", 42, "ANC", 0.9, "x")])  # fmt: skip
    out = safety.grade_from_labs(labs)
    assert out[["grade", "onset_day"]].values.tolist() == [[3, 28]]


def _sets():
    adsl = pd.DataFrame(
        {"site": "s", "patient_id": ["a", "b", "c", "d"], "pn_baseline_grade": [1, 0, 2, None]}
    )
    return {"all": adsl}


def test_ae_table_counts_patients_not_events_at_their_worst_grade():
    ae = pd.DataFrame({"site": "s", "patient_id": ["a", "a", "b", "c"], "term": ["Fatigue"] * 3 + ["Anemia"],
                       "grade": [1, 3, 2, 4], "category": ["non-hematologic"] * 3 + ["hematologic"]})  # fmt: skip
    table = safety.adverse_event_table(_sets(), ae).set_index(["term", "grade_group"])
    assert table.loc[("Fatigue", "any"), "n"] == 2
    assert table.loc[("Fatigue", "ge2"), "n"] == 2
    assert table.loc[("Fatigue", "ge3"), "n"] == 1
    assert table.loc[("any hematologic", "ge4"), "n"] == 1
    assert table.loc[("Fatigue", "any"), "percent"] == 50.0
    assert (table["N"] == 4).all()


def test_neuropathy_is_shown_against_baseline():
    ae = pd.DataFrame({"site": "s", "patient_id": ["a", "b", "c"], "term": [safety.PN_TERM] * 3, "grade": [1, 1, 3],
                       "category": "non-hematologic"})  # fmt: skip
    table = safety.adverse_event_table(_sets(), ae).set_index(["term", "grade_group"])
    # a: 1 -> 1 (not worse); b: 0 -> 1 (worse); c: 2 -> 3 (worse)
    assert table.loc[(f"{safety.PN_TERM} (worse than baseline)", "any"), "n"] == 2
    assert table.loc[("Peripheral neuropathy before treatment", "any"), "n"] == 2


def test_hematologic_source_option():
    adae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a"],
            "term": ["Anemia"],
            "grade": [2],
            "category": ["hematologic"],
        }
    )
    labs = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a"],
            "term": ["Anemia"],
            "grade": [3],
            "category": ["hematologic"],
        }
    )
    for source, worst in (("reported", 2), ("labs", 3), ("both", 3)):
        assert (
            safety.worst_grades(safety.combine_hematologic(adae, labs, source))["grade"].max()
            == worst
        )
    with pytest.raises(ValueError, match="hematologic_source"):
        safety.combine_hematologic(adae, labs, "guess")


def test_empty_safety_inputs_give_empty_tables_not_errors():
    empty_ae = pd.DataFrame(columns=["site", "patient_id", "term", "grade", "category"])
    empty_labs = pd.DataFrame(columns=["site", "patient_id", "day", "test", "value", "unit"])
    adsl = _sets()["all"].assign(regimen="Ixa-Rd", imid_containing=1)
    table = safety.adverse_event_table({"all": adsl}, empty_ae)
    assert (table.loc[table["term"] == "any hematologic", "n"] == 0).all()
    assert safety.nadir_table({"all": adsl}, empty_labs)["n"].eq(0).all()
    assert safety.nadir_test_table({"all": adsl}, empty_labs).empty


def test_wilcoxon_exact_by_hand():
    # x = {1, 2}, y = {3, 4, 5}: W = 0, the most extreme of C(5,2) = 10 arrangements.
    result = safety.wilcoxon_rank_sum([1, 2], [3, 4, 5])
    assert result["W"] == 0
    assert result["p"] == pytest.approx(2 / 10)
    assert result["method"] == "Wilcoxon rank sum exact test"
    assert np.isnan(safety.wilcoxon_rank_sum([], [1.0])["p"])
