import numpy as np
import pandas as pd
import pytest

from rwe.published import (
    COMPARISON_COLUMNS,
    COMPARISON_EXTRA_COLUMNS,
    intervals_overlap,
    published_comparison,
)

#: The reference and config of the demo run.
RUN = {"reference": "zhou_2026", "conf_level": 0.95, "gfr_cutoff": 70}


def _tables(tcr_hr=(4.09, 2.33, 7.20, 0.0004)):
    hr, lower, upper, p = tcr_hr
    return {
        "response": pd.DataFrame(
            {
                "analysis_set": ["all"],
                "variable": ["all"],
                "level": ["all"],
                "n_evaluable": [120],
                "orr": [0.5],
                "orr_ci_lower": [0.4],
                "orr_ci_upper": [0.6],
                "cbr": [0.8],
            }
        ),
        "km_medians": pd.DataFrame(
            {
                "analysis_set": ["all", "all"],
                "endpoint": ["PFS", "OS"],
                "variable": ["all", "all"],
                "level": ["all", "all"],
                "median": [8.1, np.nan],
                "ci_lower": [6.0, 50.0],
                "ci_upper": [11.0, np.nan],
            }
        ),
        "cox": pd.DataFrame(
            {
                "analysis_set": "all",
                "endpoint": "PFS",
                "model": "multivariable",
                "term": ["gfr_le70", "triple_class_refractory"],
                "hr": [2.5, hr],
                "ci_lower": [1.5, lower],
                "ci_upper": [4.0, upper],
                "p": [0.001, p],
            }
        ),
    }


def test_comparison_reads_each_estimate_from_its_table():
    out = published_comparison(_tables(), **RUN).set_index("quantity")
    assert list(out.reset_index().columns) == [*COMPARISON_COLUMNS, *COMPARISON_EXTRA_COLUMNS]
    assert out.loc["ORR (≥PR)", "this_run"] == 50.0
    assert out.loc["ORR (≥PR)", "published"] == 52.5
    assert out.loc["ORR (≥PR)", ["this_run_ci_lower", "this_run_ci_upper"]].tolist() == [40.0, 60.0]
    assert out.loc["ORR (≥PR)", "difference"] == pytest.approx(-2.5)
    assert out.loc["median PFS", "this_run"] == 8.1
    assert out.loc["median PFS", ["published_ci_lower", "published_ci_upper"]].tolist() == [
        6.9,
        11.0,
    ]
    assert np.isnan(out.loc["median OS", "this_run"])  # not reached stays empty, never a number
    assert np.isnan(out.loc["median OS", "published_ci_upper"])  # not reached in the paper
    assert out.loc["PFS HR, GFR ≤ 70 (multivariable)", "this_run"] == 2.5
    assert out.loc["PFS HR, GFR ≤ 70 (multivariable)", "published"] == 2.11
    # A table that is absent leaves its rows empty rather than failing.
    assert np.isnan(out.loc["median age", "this_run"])


def test_hazard_ratios_are_compared_by_their_ratio_and_interval_overlap():
    """The paper's PFS triple-class HR 3.76 (1.00–14.20) against 4.09 (2.33–7.20): ratio 1.09.

    No verdict from p values: p 0.051 (paper) vs 0.0004 (this run) is no disagreement, since
    the intervals overlap.
    """
    out = published_comparison(_tables(), **RUN).set_index("quantity")
    row = out.loc["PFS HR, Triple-class refractory (multivariable)"]
    assert (row["published"], row["published_p"], row["this_run_p"]) == (3.76, 0.051, 0.0004)
    assert row["ratio"] == pytest.approx(4.09 / 3.76)
    assert np.isnan(row["difference"])  # a difference of hazard ratios means nothing
    assert row["intervals_overlap"] == "yes"
    far = published_comparison(_tables(tcr_hr=(30.0, 15.0, 60.0, 1e-6)), **RUN)
    far = far.set_index("quantity").loc["PFS HR, Triple-class refractory (multivariable)"]
    assert far["intervals_overlap"] == "no"
    assert "same_conclusion" not in out.columns
    orr = out.loc["ORR (≥PR)"]  # percentages: difference in points, no ratio
    assert orr["difference"] == pytest.approx(-2.5)
    assert np.isnan(orr["ratio"])


@pytest.mark.parametrize(
    ("published", "this_run", "expected"),
    [
        ((1.0, 2.0), (1.5, 3.0), "yes"),
        ((1.0, 2.0), (2.5, 3.0), "no"),
        ((1.0, 2.0), (2.0, 3.0), "yes"),  # touching limits share a value
        ((50.0, np.nan), (10.0, 40.0), "no"),  # upper not reached: unbounded above
        ((50.0, np.nan), (10.0, 60.0), "yes"),
        ((np.nan, np.nan), (1.0, 2.0), ""),
    ],
)
def test_intervals_overlap(published, this_run, expected):
    assert intervals_overlap(published, this_run) == expected


def test_labels_show_the_run_cutoff_and_note_the_paper_s_when_it_differs():
    out = published_comparison(_tables(), **(RUN | {"gfr_cutoff": 60})).set_index("quantity")
    row = out.loc["PFS HR, GFR ≤ 60 (multivariable)"]
    assert row["note"] == "the paper's flag is GFR ≤ 70"
    assert out.loc["PFS log-rank p, GFR ≤ 60", "note"].endswith("the paper's flag is GFR ≤ 70")
    same = published_comparison(_tables(), **RUN).set_index("quantity")
    assert same.loc["PFS HR, GFR ≤ 70 (multivariable)", "note"] == ""


def test_pfs_is_compared_under_the_paper_rule_whatever_the_primary():
    """Primary PFS counting every death: the paper's rule is the sensitivity PFSMYE."""
    tables = _tables()
    paper = pd.DataFrame(
        {
            "analysis_set": ["all"],
            "endpoint": ["PFSMYE"],
            "variable": ["all"],
            "level": ["all"],
            "median": [9.0],
            "ci_lower": [7.0],
            "ci_upper": [12.0],
        }
    )
    tables["km_medians"] = pd.concat([tables["km_medians"], paper], ignore_index=True)
    tables["cox"] = pd.concat(
        [tables["cox"], tables["cox"].assign(endpoint="PFSMYE", hr=[1.5, 3.0])], ignore_index=True
    )
    out = published_comparison(tables, **RUN).set_index("quantity")
    assert out.loc["median PFS", "this_run"] == 9.0
    assert "PFS, sensitivity: death from myeloma" in out.loc["median PFS", "note"]
    assert out.loc["PFS HR, GFR ≤ 70 (multivariable)", "this_run"] == 1.5
    # Without a PFSMYE endpoint the primary PFS is the paper's rule: read as before.
    assert (
        published_comparison(_tables(), **RUN).set_index("quantity").loc["median PFS", "this_run"]
        == 8.1
    )
