import pandas as pd

from rwe.privacy import SUPPRESSED, suppress_small_cells, suppress_table


def test_counts_below_k_are_hidden_and_zero_is_kept():
    table = pd.DataFrame(
        {"term": ["a", "b", "c"], "n": [0, 3, 12], "N": [40, 40, 40], "percent": [0.0, 7.5, 30.0]}
    )
    out = suppress_table("adverse_events", table, 5)
    assert out["n"].tolist() == [0, "<5", 12]
    assert out["percent"].tolist() == [0.0, SUPPRESSED, 30.0]


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


def test_k_zero_changes_nothing():
    table = pd.DataFrame({"n": [1, 2]})
    pd.testing.assert_frame_equal(suppress_small_cells(table, 0, ["n"]), table)
