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
        known = set({**TABLE_COLUMNS, **exported}[name]) | {
            "n_missing",
            "n_not_evaluable",
            "n_dropped",
            "n_1",
            "n_0",
            "n_2",
        }
        known |= set(rule.get("derived", {}))
        known |= {c for c in ("observed_below_ci_lower", "observed_below_ci_upper",
                              "observed_above_ci_lower", "observed_above_ci_upper")}  # fmt: skip
        assert set(rule.get("counts", [])) <= known, name
        for column, sizes in rule.get("dependent", {}).items():
            assert column in known, (name, column)
            assert set(sizes) <= known, (name, sizes)
