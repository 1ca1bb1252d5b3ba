"""Key results: every prespecified estimate, whatever its p, flagged where it is fragile."""

import numpy as np
import pandas as pd

from rwe.summary import KEY_RESULT_COLUMNS, key_results

COVARIATES = ["gfr_le70", "emd"]
#: The config thresholds of the summary (schema defaults).
CONFIG = {"min_events_per_covariate": 10, "min_median_events": 10, "gfr_cutoff": 70}


def _tables(events=68, emd_events=(60, 8)):
    cox = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": "PFS",
            "model": "multivariable",
            "term": COVARIATES,
            "hr": [2.1, np.nan],
            "ci_lower": [1.2, np.nan],
            "ci_upper": [3.7, np.nan],
            "p": [0.054, np.nan],
            "n": 120,
            "events": events,
            "note": ["", "not estimable: no events with emd = 1 (monotone likelihood); x"],
        }
    )
    km = pd.DataFrame(
        {
            "analysis_set": "all",
            "endpoint": "PFS",
            "variable": ["all", "emd", "emd"],
            "level": ["all", "0", "1"],
            "n": [120, 100, 20],
            "events": [events, *emd_events],
            "median": [7.9, 8.0, 3.0],
            "ci_lower": [6.9, 7.0, np.nan],
            "ci_upper": [11.0, 12.0, np.nan],
        }
    )
    return {"cox": cox, "km_medians": km}


def test_every_prespecified_covariate_is_reported_whatever_its_p():
    rows = key_results(_tables(), COVARIATES, **CONFIG)
    assert list(rows.columns) == KEY_RESULT_COLUMNS
    cox = rows[rows["topic"] == "cox"].set_index("quantity")
    assert len(cox) == 2  # p = 0.054 and a term that is not estimable are both there
    gfr = cox.loc["GFR ≤ 70, HR (multivariable)"]
    assert (gfr["estimate"], gfr["ci_lower"], gfr["ci_upper"], gfr["p"]) == (2.1, 1.2, 3.7, 0.054)
    assert cox["flag"].iloc[1].startswith("not estimable: no events with emd = 1")


def test_few_events_per_covariate_and_sparse_levels_are_flagged():
    rows = key_results(_tables(events=14), COVARIATES, **CONFIG).set_index("quantity")
    assert rows.loc["GFR ≤ 70, HR (multivariable)", "flag"] == ""  # one term fitted: 14 events
    assert "fewer than 10 events" not in rows.loc["median PFS", "flag"]
    emd = rows.loc["Extramedullary disease, HR (multivariable)", "flag"]
    assert "sparse: 8 events with Extramedullary disease" in emd
    rows = key_results(_tables(events=6, emd_events=(5, 1)), COVARIATES, **CONFIG).set_index(
        "quantity"
    )
    assert rows.loc["median PFS", "flag"] == "fewer than 10 events"
    assert "6.0 events per covariate (< 10)" in rows.loc["GFR ≤ 70, HR (multivariable)", "flag"]


def test_thresholds_come_from_the_arguments():
    rows = key_results(
        _tables(events=14),
        COVARIATES,
        **(CONFIG | {"min_events_per_covariate": 15, "min_median_events": 20}),
    )
    rows = rows.set_index("quantity")
    assert "14.0 events per covariate (< 15)" in rows.loc["GFR ≤ 70, HR (multivariable)", "flag"]
    assert rows.loc["median PFS", "flag"] == "fewer than 20 events"


def test_suppressed_cells_pass_through_and_absent_tables_give_no_rows():
    tables = _tables()
    km = tables["km_medians"].astype({"median": object, "ci_lower": object, "ci_upper": object})
    km.loc[0, ["median", "ci_lower", "ci_upper"]] = "suppressed"
    tables["km_medians"] = km
    rows = key_results(tables, COVARIATES, **CONFIG).set_index("quantity")
    assert rows.loc["median PFS", "estimate"] == "suppressed"
    assert key_results({}, COVARIATES, **CONFIG).empty


def test_the_summary_lists_pfs_under_both_rules_and_says_which_is_primary():
    tables = _tables()
    extra = tables["km_medians"].iloc[[0]].assign(endpoint="PFSALL", median=6.5, events=80)
    tables["km_medians"] = pd.concat([tables["km_medians"], extra], ignore_index=True)
    rows = key_results(tables, COVARIATES, **CONFIG, pfs_death_events="myeloma")
    medians = rows[rows["topic"] == "survival"].set_index("quantity")
    primary = medians.loc[
        "median PFS, primary: death from myeloma or unknown cause (other deaths censored)"
    ]
    assert (primary["endpoint"], primary["estimate"]) == ("PFS", 7.9)
    sensitivity = medians.loc["median PFS, sensitivity: death from any cause"]
    assert (sensitivity["endpoint"], sensitivity["estimate"], sensitivity["events"]) == (
        "PFSALL",
        6.5,
        80,
    )
    assert list(medians.index[:2]) == [primary.name, sensitivity.name]  # primary first
