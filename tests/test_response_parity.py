"""ORR/CBR with Clopper–Pearson CIs and Fisher tests against R binom.test / fisher.test, live."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.derive import analysis_sets
from rwe.response import (
    RESPONSE_COLUMNS,
    RESPONSE_TEST_COLUMNS,
    RESPONSE_TEST_EXTRA_COLUMNS,
    response_table,
    response_test_table,
)
from test_survival_parity import SUBGROUPS, extract_to_adam

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]


def compare(tmp_path, adsl, min_regimen_n=20):
    adsl.to_csv(tmp_path / "adsl.csv", index=False)
    run_r(
        "response_reference.R",
        tmp_path / "adsl.csv",
        tmp_path / "r",
        min_regimen_n,
        ",".join(SUBGROUPS),
        0.95,
    )
    sets = analysis_sets(adsl, min_regimen_n)
    n = assert_tables_match(
        response_table(sets, SUBGROUPS),
        pd.read_csv(tmp_path / "r" / "response.csv"),
        RESPONSE_COLUMNS[:3],
        [*RESPONSE_COLUMNS[3:], "n_not_evaluable"],
        "response",
    )
    n += assert_tables_match(
        response_test_table(sets, SUBGROUPS),
        pd.read_csv(tmp_path / "r" / "response_tests.csv"),
        RESPONSE_TEST_COLUMNS[:3],
        [*RESPONSE_TEST_COLUMNS[3:], *RESPONSE_TEST_EXTRA_COLUMNS[:2]],
        "response_tests",
    )
    return n


def test_demo_matches_r(tmp_path):
    adsl, _ = extract_to_adam(ROOT / "data" / "demo", "demo")
    assert compare(tmp_path, adsl) > 500


def test_edge_tables_match_r(tmp_path):
    """A subgroup where everyone responds, one where nobody does, blanks, and a tiny regimen."""
    adsl, _ = extract_to_adam(ROOT / "data" / "demo", "demo")
    adsl = adsl.copy()
    adsl.loc[adsl.index[:4], "best_response"] = np.nan  # blank: not evaluable, and not "NE"
    adsl.loc[adsl["emd"] == 1, "best_response"] = "CR"  # every EMD patient responds: OR = Inf
    adsl.loc[adsl["age_ge80"] == 1, "best_response"] = "PD"  # no old patient responds: OR = 0
    adsl.loc[(adsl["emd"] == 1) & (adsl["age_ge80"] == 1), "emd"] = 0
    assert compare(tmp_path, adsl, min_regimen_n=5) > 500
    tests = (
        response_test_table({"all": adsl}, ["emd", "age_ge80"])
        .set_index(["variable", "measure"])
        .sort_index()
    )
    assert tests.loc[("emd", "orr"), "odds_ratio"] == np.inf
    assert tests.loc[("age_ge80", "orr"), "odds_ratio"] == 0
