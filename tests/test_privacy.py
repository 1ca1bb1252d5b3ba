"""Small-cell suppression (DESIGN.md §8): counts 1..k-1 hidden, and the statistics they reveal."""

import pandas as pd
import pytest

from rwe import aggregates
from rwe.privacy import RULES, SUPPRESSED, is_small, suppress_small_cells, suppress_table
from rwe.report import TABLE_COLUMNS


def test_counts_below_k_are_hidden_and_zero_is_kept():
    table = pd.DataFrame(
        {"term": ["a", "b", "c"], "n": [0, 3, 12], "N": [40, 40, 40], "percent": [0.0, 7.5, 30.0]}
    )
    out = suppress_table("adverse_events", table, 5)
    assert out["n"].tolist() == [0, "<5", 12]
    assert out["percent"].tolist() == [0.0, SUPPRESSED, 30.0]
    assert out["N"].tolist() == [40, 40, 40]


def test_k_itself_is_not_small():
    assert is_small(pd.Series([0, 1, 4, 5, None, "text"]), 5).tolist() == [
        False,
        True,
        True,
        False,
        False,
        False,
    ]


def test_statistics_of_small_groups_are_hidden():
    table = pd.DataFrame(
        {
            "n": [4, 30],
            "events": [2, 10],
            "median": [5.0, 8.0],
            "ci_lower": [1.0, 6.0],
            "ci_upper": [9.0, 11.0],
        }
    )
    out = suppress_table("km_medians", table, 5)
    assert out.loc[0, ["n", "events", "median", "ci_lower"]].tolist() == [
        "<5",
        "<5",
        SUPPRESSED,
        SUPPRESSED,
    ]
    assert out.loc[1, "median"] == 8.0
    # Few events in a large group: the count is hidden, the median is not about a small group.
    out = suppress_table("km_medians", table.assign(events=[10, 3]), 5)
    assert out.loc[1, "events"] == "<5"
    assert out.loc[1, "median"] == 8.0


def test_a_rate_whose_numerator_is_small_is_hidden():
    """ORR 3/40 = 7.5 % tells the count 3 as surely as the count does."""
    response = pd.DataFrame(
        {
            "n_evaluable": [40, 40],
            "PR": [3, 20],
            "orr": [3 / 40, 20 / 40],
            "orr_ci_lower": [0.01, 0.3],
            "cbr": [30 / 40, 4 / 40],
        }
    )
    out = suppress_table("response", response, 5)
    assert out["PR"].tolist() == ["<5", 20]
    assert out["orr"].tolist() == [SUPPRESSED, 0.5]
    assert out["orr_ci_lower"].tolist() == [SUPPRESSED, 0.3]
    assert out["cbr"].tolist() == [0.75, SUPPRESSED]
    assert list(out.columns) == list(response.columns)  # helper counts are not shown


def test_rates_of_a_small_comparison_group_are_hidden():
    tests = pd.DataFrame(
        {"rate_1": [0.5], "rate_0": [0.5], "odds_ratio": [1.0], "p": [1.0], "n_1": [4], "n_0": [50]}
    )
    out = suppress_table("response_tests", tests, 5)
    assert out.loc[0, ["n_1", "n_0"]].tolist() == ["<5", 50]
    assert out.loc[0, ["rate_1", "rate_0", "odds_ratio"]].tolist() == [SUPPRESSED, 0.5, SUPPRESSED]
    assert out.loc[0, "p"] == 1.0


def test_counts_inside_the_cox_diagnostics_value_column():
    diag = pd.DataFrame(
        {
            "statistic": ["n", "events", "concordance"],
            "value": [3.0, 40.0, 0.7],
            "p": [None, None, 0.01],
        }
    )
    out = suppress_table("cox_diagnostics", diag, 5)
    assert out["value"].tolist() == [SUPPRESSED, 40.0, 0.7]


def test_a_plain_list_of_dependent_columns_follows_any_small_count():
    table = pd.DataFrame({"a": [2, 9], "b": [9, 9], "share": [0.1, 0.2]})
    out = suppress_small_cells(table, 5, ["a", "b"], ["share"])
    assert out["share"].tolist() == [SUPPRESSED, 0.2]


@pytest.mark.parametrize("k", [0, 1])
def test_k_zero_or_one_changes_nothing(k):
    table = pd.DataFrame({"n": [1, 2], "percent": [1.0, 2.0]})
    pd.testing.assert_frame_equal(suppress_small_cells(table, k, ["n"], ["percent"]), table)
    pd.testing.assert_frame_equal(suppress_table("adverse_events", table, k), table)


def test_input_is_not_modified_and_unknown_tables_pass_through():
    table = pd.DataFrame({"n": [1, 20], "N": [20, 20], "percent": [5.0, 100.0]})
    before = table.copy()
    suppress_table("adverse_events", table, 5)
    pd.testing.assert_frame_equal(table, before)
    pd.testing.assert_frame_equal(suppress_table("exposure_predictions", table, 5), table)


AGGREGATE_COLUMNS = {
    "cox": aggregates.COX_COLUMNS,
    "km_landmarks": aggregates.KM_LANDMARK_COLUMNS,
    "km_medians": aggregates.KM_MEDIAN_COLUMNS,
    "response": aggregates.RESPONSE_COLUMNS,
}


def test_every_count_column_of_the_rules_is_a_column_of_its_table():
    """A typo in RULES would silently leave a count unsuppressed."""
    exported = {f"aggregate_{name}": columns for name, columns in AGGREGATE_COLUMNS.items()}
    for name, rule in RULES.items():
        if not rule:  # a table without counts
            continue
        known = set({**TABLE_COLUMNS, **exported}[name]) | {
            "n_missing",
            "n_not_evaluable",
            "n_dropped",
            "n_1",
            "n_0",
            "n_2",
        }
        known |= set(rule.get("derived", {}))
        known |= {
            c
            for c in (
                "observed_below_ci_lower",
                "observed_below_ci_upper",
                "observed_above_ci_lower",
                "observed_above_ci_upper",
            )
        }
        assert set(rule.get("counts", [])) <= known, name
        for column, sizes in rule.get("dependent", {}).items():
            assert column in known, (name, column)
            assert set(sizes) <= known, (name, sizes)


# Complementary suppression: no hidden cell follows by subtraction within its table.


def hidden(value) -> bool:
    return isinstance(value, str)


def test_attrition_hides_the_other_side_of_a_small_exclusion():
    attrition = pd.DataFrame(
        {
            "step": ["extract", "response"],
            "n_in": [126, 126],
            "n_excluded": [0, 6],
            "n_out": [126, 120],
        }
    )
    out = suppress_table("attrition", attrition, 11)
    assert out.loc[1, ["n_in", "n_excluded", "n_out"]].tolist() == [126, "<11", SUPPRESSED]
    assert out.loc[0, "n_out"] == 126


def response_row(**counts):
    row = dict.fromkeys(["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"], 0) | counts
    row["n_evaluable"] = sum(v for k, v in row.items() if k != "NE")
    n = row["n_evaluable"]
    row["orr"] = (row["sCR"] + row["CR"] + row["VGPR"] + row["PR"]) / n
    row["cbr"] = row["orr"] + row["MR"] / n
    return row


def test_one_small_response_category_takes_the_next_smallest_with_it():
    """PR 3 of 60: hiding PR alone leaves it as n_evaluable minus the other categories."""
    table = pd.DataFrame([response_row(VGPR=20, PR=3, MR=15, SD=12, PD=30)])
    out = suppress_table("response", table, 11).loc[0]
    assert out["PR"] == "<11"
    # n_evaluable minus the categories: SD, the next smallest, goes too.
    assert out["SD"] == SUPPRESSED
    # ORR x n = VGPR + PR (sCR and CR are 0): VGPR goes too, and ORR can stay.
    assert out["VGPR"] == SUPPRESSED
    assert out[["MR", "PD", "n_evaluable"]].tolist() == [15, 30, 80]
    assert out["orr"] == pytest.approx(23 / 80)


def test_small_cells_that_add_up_to_less_than_k_take_another_one():
    table = pd.DataFrame([response_row(sCR=2, CR=3, VGPR=20, PR=30, MR=15, SD=12, PD=30)])
    out = suppress_table("response", table, 11).loc[0]
    assert out[["sCR", "CR"]].tolist() == ["<11", "<11"]
    assert out["SD"] == SUPPRESSED  # 2 + 3 would be n_evaluable minus the rest


def test_a_small_subgroup_level_hides_the_other_level_under_the_whole_set():
    km = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": "PFS",
            "variable": ["all", "emd", "emd"],
            "level": ["all", "0", "1"],
            "n": [126, 120, 6],
            "events": [94, 89, 5],
            "median": [7.6, 8.0, 2.2],
            "n_missing": [0, 0, 0],
        }
    )
    out = suppress_table("km_medians", km, 11)
    assert out["n"].tolist() == [126, SUPPRESSED, "<11"]
    assert out["events"].tolist() == [94, SUPPRESSED, "<11"]
    assert out["median"].tolist() == [7.6, 8.0, SUPPRESSED]  # a large group keeps its median


def test_adverse_event_grade_groups_do_not_tell_a_small_difference():
    """Any grade 30 and grade ≥2 27 tell 3 patients whose worst grade was 1."""
    ae = pd.DataFrame(
        {
            "analysis_set": "all",
            "category": "non-hematologic",
            "term": "Fatigue",
            "grade_group": ["any", "ge2", "ge3", "ge4"],
            "n": [30, 27, 12, 0],
            "N": 126,
        }
    ).assign(percent=lambda t: 100 * t["n"] / t["N"])
    out = suppress_table("adverse_events", ae, 11)
    assert out["n"].tolist() == [30, SUPPRESSED, 12, 0]
    # Between two shown counts of the chain N ≥ any ≥ ge2 … ≥ 0, no difference of 1..10.
    shown = [126, *(v for v in out["n"] if not hidden(v)), 0]
    assert all(a - b == 0 or a - b >= 11 for a, b in zip(shown, shown[1:], strict=False))


def test_regimens_add_up_to_all_patients_in_the_adverse_event_table():
    ae = pd.DataFrame(
        {
            "analysis_set": ["all", "Ixa-Rd", "Ixa-Pd", "Ixa-Cd"],
            "category": "hematologic",
            "term": "Anemia",
            "grade_group": "any",
            "n": [40, 25, 12, 3],
            "N": [100, 60, 30, 10],
        }
    ).assign(percent=lambda t: 100 * t["n"] / t["N"])
    out = suppress_table("adverse_events", ae, 11)
    assert out["n"].tolist() == [40, 25, SUPPRESSED, "<11"]
    assert out["N"].tolist() == [100, 60, SUPPRESSED, "<11"]


def test_baseline_missing_values_are_not_told_by_n_and_N():
    base = pd.DataFrame(
        {
            "analysis_set": "all",
            "variable": ["gfr", "sex", "sex"],
            "level": ["all", "F", "M"],
            "n": [125, 54, 72],
            "N": 126,
            "percent": [None, 42.9, 57.1],
            "median": [67.0, None, None],
        }
    )
    out = suppress_table("baseline", base, 11)
    assert out.loc[0, "n"] == SUPPRESSED  # 126 - 125 = 1 patient without a GFR
    assert out.loc[0, "median"] == 67.0
    assert out.loc[1:, "n"].tolist() == [54, 72]


def test_cox_patients_left_out_are_hidden_in_numbers_and_notes():
    cox = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": "PFS",
            "term": ["gfr_le70", "age_ge80"],
            "hr": [2.2, 0.7],
            "n": [125, 126],
            "events": [93, 94],
            "n_dropped": [1, 0],
            "note": ["1 patients with a missing covariate left out; fewer than 10 events", None],
        }
    )
    out = suppress_table("cox", cox, 11)
    assert out.loc[0, ["n", "n_dropped", "hr"]].tolist() == [SUPPRESSED, "<11", 2.2]
    assert (
        out.loc[0, "note"] == "<11 patients with a missing covariate left out; fewer than 10 events"
    )
    assert out.loc[1, ["n", "n_dropped"]].tolist() == [126, 0]


def test_a_small_change_between_data_cuts_is_hidden_with_one_side():
    changes = pd.DataFrame(
        {
            "statistic": ["n", "median"],
            "previous": [120, 7.1],
            "current": [126, 7.6],
            "difference": [6, 0.5],
        }
    )
    out = suppress_table("changes", changes, 11)
    assert out.loc[0, "difference"] == SUPPRESSED
    assert sum(hidden(v) for v in out.loc[0, ["previous", "current"]]) == 1
    assert out.loc[1].tolist() == ["median", 7.1, 7.6, 0.5]


def test_counts_in_notes():
    from rwe.privacy import mask_counts_in_text

    notes = pd.Series(["3 patients left out", "fewer than 10 events", "12 of 40 patients", None])
    assert mask_counts_in_text(notes, 11).tolist() == [
        "<11 patients left out",
        "fewer than 10 events",
        "12 of 40 patients",
        None,
    ]


def test_the_published_comparison_hides_this_runs_rates_of_small_groups():
    from rwe.privacy import suppress_tables
    from rwe.published import published_comparison

    rows = [
        ("all", "all", response_row(PR=40, SD=80)),
        ("triple_class_refractory", "1", response_row(PR=2, SD=18)),
        ("triple_class_refractory", "0", response_row(PR=38, SD=62)),
    ]
    response = pd.DataFrame(
        [{"analysis_set": "all", "variable": v, "level": lv, **row} for v, lv, row in rows]
    )
    tables = {"response": response}
    tables["published_comparison"] = published_comparison(tables, "zhou_2026", 0.95, 70)
    out = suppress_tables(tables, 11, "zhou_2026", 70)["published_comparison"].set_index("quantity")
    assert out.loc["ORR, triple-class refractory", "this_run"] == SUPPRESSED  # 2 of 20
    assert out.loc["ORR (≥PR)", "this_run"] == pytest.approx(100 * 40 / 120)


def test_row_counts_of_small_input_files_are_hidden():
    from rwe.privacy import suppress_inputs

    inputs = [{"file": "patients.csv", "rows": 7}, {"file": "labs.csv", "rows": 900}]
    assert [i["rows"] for i in suppress_inputs(inputs, 11)] == ["<11", 900]
    assert suppress_inputs(inputs, 0) == inputs


def test_a_table_without_a_rule_cannot_leave_with_suppression_on():
    table = pd.DataFrame({"n": [3]})
    with pytest.raises(KeyError, match="no small-cell rule for table 'new_table'"):
        suppress_table("new_table", table, 5)
    assert suppress_table("new_table", table, 0).equals(table)  # suppression off: as written
