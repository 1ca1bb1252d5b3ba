import numpy as np
import pandas as pd
import pytest

from rwe import safety


def _labs(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit"])
    return df.assign(site="s", _row=range(1, len(df) + 1))


def test_ae_category_of_ctcae_terms():
    assert safety.ae_category(" febrile NEUTROPENIA ") == "hematologic"
    assert safety.ae_category("Lymphocyte count decreased") == "hematologic"
    assert safety.ae_category("Peripheral sensory neuropathy") == "non-hematologic"


@pytest.mark.parametrize(
    ("test", "value", "grade"),
    [
        ("ANC", 0.4, 4),
        ("ANC", 0.5, 3),
        ("ANC", 0.99, 3),
        ("ANC", 1.0, 2),
        ("ANC", 1.6, 1),
        ("ANC", 1.8, 0),
        ("PLT", 24, 4),
        ("PLT", 49, 3),
        ("PLT", 74, 2),
        ("PLT", 149, 1),
        ("HGB", 7.9, 3),
        ("HGB", 9.9, 2),
        ("WBC", 0.9, 4),
        ("WBC", 1.9, 3),
        ("WBC", 2.9, 2),
        ("WBC", 3.9, 1),
    ],
)
def test_ctcae_v5_grades_from_labs(test, value, grade):
    out = safety.grade_from_labs(_labs([("a", 10, test, value, "x")]))
    assert (out["grade"].max() if len(out) else 0) == grade


def test_lab_grades_keep_worst_and_first_day_and_ignore_baseline():
    labs = _labs(
        [
            ("a", -3, "ANC", 0.3, "x"),
            ("a", 14, "ANC", 1.2, "x"),
            ("a", 28, "ANC", 0.8, "x"),
            ("a", 42, "ANC", 0.9, "x"),
        ]
    )
    out = safety.grade_from_labs(labs)
    assert out[["grade", "onset_day"]].values.tolist() == [[3, 28]]


def _sets():
    adsl = pd.DataFrame(
        {"site": "s", "patient_id": ["a", "b", "c", "d"], "pn_baseline_grade": [1, 0, 2, None]}
    )
    return {"all": adsl}


def test_ae_table_counts_patients_not_events_at_their_worst_grade():
    ae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "a", "b", "c"],
            "term": ["Fatigue"] * 3 + ["Anemia"],
            "grade": [1, 3, 2, 4],
            "category": ["non-hematologic"] * 3 + ["hematologic"],
        }
    )
    table = safety.adverse_event_table(_sets(), ae).set_index(["term", "grade_group"])
    assert table.loc[("Fatigue", "any"), "n"] == 2
    assert table.loc[("Fatigue", "ge2"), "n"] == 2
    assert table.loc[("Fatigue", "ge3"), "n"] == 1
    assert table.loc[("any hematologic", "ge4"), "n"] == 1
    assert table.loc[("Fatigue", "any"), "percent"] == 50.0
    assert (table["N"] == 4).all()


def test_neuropathy_is_shown_against_baseline():
    ae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "b", "c"],
            "term": [safety.PN_TERM] * 3,
            "grade": [1, 1, 3],
            "category": "non-hematologic",
        }
    )
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
    assert safety.nadir_table({"all": adsl}, safety.patient_nadirs(empty_labs))["n"].eq(0).all()
    assert safety.nadir_test_table({"all": adsl}, safety.patient_nadirs(empty_labs)).empty


def test_wilcoxon_exact_by_hand():
    # x = {1, 2}, y = {3, 4, 5}: W = 0, the most extreme of C(5,2) = 10 arrangements.
    result = safety.wilcoxon_rank_sum([1, 2], [3, 4, 5])
    assert result["W"] == 0
    assert result["p"] == pytest.approx(2 / 10)
    assert result["method"] == "Wilcoxon rank sum exact test"
    assert np.isnan(safety.wilcoxon_rank_sum([], [1.0])["p"])


def test_stage_runs_on_header_only_adam_files(tmp_path):
    """An extract without adverse_events.csv and labs.csv: header-only ADAE/ADLB, as derive writes."""
    from rwe import exposure
    from rwe.io import read_adam

    (tmp_path / "adae.csv").write_text(",".join(safety.ADAE_COLUMNS) + "\n")
    (tmp_path / "adlb.csv").write_text("site,patient_id,day,test,value,unit\n")
    adae, adlb = read_adam(tmp_path / "adae.csv"), read_adam(tmp_path / "adlb.csv")
    adsl = _sets()["all"].assign(
        regimen="Ixa-Rd",
        imid_containing=1,
        start_dose_mg=[4, 3, 4, 3],
        exposure_auc=np.nan,
        best_response=["PR", "PD", "SD", "CR"],
    )
    lab_grades = safety.grade_from_labs(adlb)
    assert lab_grades.empty
    assert list(lab_grades.columns) == safety.ADAE_COLUMNS
    for source in ("reported", "labs", "both"):
        ae = safety.combine_hematologic(adae, lab_grades, source)
        table = safety.adverse_event_table({"all": adsl}, ae, source)
        assert table.empty
        assert list(table.columns) == [*safety.AE_COLUMNS, "ci_lower", "ci_upper", "source", "note"]
    assert safety.nadir_table({"all": adsl}, safety.patient_nadirs(adlb)).empty
    assert safety.nadir_test_table({"all": adsl}, safety.patient_nadirs(adlb)).empty
    models, predictions = exposure.exposure_response(adsl, ae)
    assert len(models) == len(exposure.OUTCOMES)
    assert predictions.empty


def test_ae_table_states_the_hematologic_source():
    ae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "b"],
            "term": ["Anemia", "Fatigue"],
            "grade": [3, 1],
            "category": ["hematologic", "non-hematologic"],
        }
    )
    table = safety.adverse_event_table(_sets(), ae, "both").set_index(["term", "grade_group"])
    assert table.loc[("Anemia", "ge3"), "source"] == "worst of reported and labs"
    assert table.loc[("any hematologic", "any"), "source"] == "worst of reported and labs"
    assert table.loc[("Fatigue", "any"), "source"] == "reported"
    assert table.loc[("Anemia", "ge4"), "n"] == 0


def test_nadirs_are_after_day_0_and_grouped_by_imid_use_and_regimen():
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "b", "c"],
            "regimen": ["Ixa-Rd", "Ixa-Rd", "Ixa-d"],
            "imid_containing": pd.array([1, 1, 0], dtype="Int64"),
        }
    )
    adlb = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "a", "a", "b", "c"],
            "day": [0, 7, 14, 7, 7],
            "test": "PLT",
            "value": [10.0, 90, 80, 120, 60],
            "unit": "10^9/L",
        }
    )
    assert safety.patient_nadirs(adlb)["nadir"].tolist() == [80, 120, 60]  # day 0 is baseline
    table = safety.nadir_table({"all": adsl}, safety.patient_nadirs(adlb)).set_index("group")
    assert set(table["test"]) == {"PLT"}  # no rows for tests without values
    assert table.loc["all", ["n", "median", "min", "max"]].tolist() == [3, 80, 60, 120]
    assert table.loc["IMiD-containing", ["n", "median"]].tolist() == [2, 100]
    assert table.loc["Ixa-d", "n"] == 1
    tests = safety.nadir_test_table({"all": adsl}, safety.patient_nadirs(adlb))
    assert tests["comparison"].tolist() == ["IMiD-containing vs IMiD-free"]  # no Pd or Td patients
    assert tests[["n_1", "n_2"]].values.tolist() == [[2, 1]]
