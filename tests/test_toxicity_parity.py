"""Hematologic toxicity reported vs graded from labs, the treatment-emergent window and the
exact CIs of the safety tables, against R (tests/r/toxicity_reference.R), live."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import plausibility, safety
from rwe.derive import derive_adae, derive_adlb
from rwe.io import read_site
from rwe.validate import validate_extract
from test_survival_parity import extract_to_adam

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    """The demo's ADSL, reported AEs and labs, with values the window and the ranges must
    leave out: a few AEs on day 0 (before day 1), grade 4 ANC after each patient's window,
    impossible haemoglobins (grade 3 if graded) and grade 3 platelets in it."""
    tables, _ = read_site(ROOT / "data" / "demo", "demo")
    typed = validate_extract({"demo": tables})
    adsl, _ = extract_to_adam(ROOT / "data" / "demo", "demo")
    adae = derive_adae(typed["adverse_events"])
    adae = adae.astype({c: object for c in adae.columns if adae[c].dtype == "category"})
    adae.loc[adae.index[::15], "onset_day"] = 0
    labs = derive_adlb(typed["labs"]).copy()
    ends = safety.nadir_windows(adsl).set_index("patient_id")["end_day"]
    end = labs["patient_id"].map(ends).to_numpy(dtype=float)
    day, test = labs["day"].to_numpy(dtype=float), labs["test"].astype(str).to_numpy()
    labs.loc[labs.index[np.flatnonzero((day > end) & (test == "ANC"))[::3]], "value"] = 0.3
    in_window = (day >= 1) & (day <= end)
    labs.loc[labs.index[np.flatnonzero(in_window & (test == "HGB"))[::60]], "value"] = 0.5
    labs.loc[labs.index[np.flatnonzero(in_window & (test == "PLT"))[::90]], "value"] = 30.0
    return adsl, adae, labs


def ours(adsl, adae, labs, window, conf_level):
    """The tables as the site job and the safety stage compute them."""
    windows = safety.nadir_windows(adsl, **window)
    lab_grades = safety.lab_toxicity(labs, windows, plausibility.implausible_lab_values(labs))
    sets = {"all": adsl, **{r: g for r, g in adsl.groupby("regimen", observed=True)}}
    kept = adae[safety.in_window(adae, windows)]
    return (
        safety.hematologic_toxicity_table(sets, kept, lab_grades, conf_level),
        safety.window_counts(adae, windows, lab_grades),
        sets,
    )


@pytest.mark.parametrize(
    ("window", "conf_level"),
    [
        ({}, 0.95),  # the default: day 1 to min(progression, end of treatment + 30 days)
        ({"start_day": 0, "days_after_end_of_treatment": 7, "until_progression": False}, 0.9),
    ],
)
def test_hematologic_toxicity_matches_r(tmp_path, demo, window, conf_level):
    """R: worst CTCAE v5 grade per patient of the reported terms and of the plausible counts
    in the window, n/N and binom.test(n, N, conf.level)$conf.int for every row."""
    adsl, adae, labs = demo
    toxicity, counted_out, sets = ours(adsl, adae, labs, window, conf_level)
    patients = pd.concat(
        [g[["site", "patient_id"]].assign(analysis_set=name) for name, g in sets.items()]
    ).merge(adsl[["site", "patient_id", "progression_day", "end_of_treatment_day"]])
    patients.to_csv(tmp_path / "patients.csv", index=False)
    adae[["site", "patient_id", "term", "grade", "onset_day"]].to_csv(
        tmp_path / "ae.csv", index=False
    )
    labs[["site", "patient_id", "day", "test", "value", "unit"]].to_csv(
        tmp_path / "labs.csv", index=False
    )
    ranges = pd.DataFrame(
        [(t, u, lo, hi) for t, (u, lo, hi) in plausibility.PHYSIOLOGICAL_RANGES.items()],
        columns=["test", "unit", "low", "high"],
    )
    ranges.to_csv(tmp_path / "ranges.csv", index=False)
    options = {"start_day": 1, "days_after_end_of_treatment": 30, "until_progression": True}
    options |= window
    values = [str(v).upper() if isinstance(v, bool) else v for v in options.values()]
    files = [tmp_path / f"{n}.csv" for n in ("patients", "ae", "labs", "ranges")]
    run_r("toxicity_reference.R", "--toxicity", *files, *values, conf_level, tmp_path / "r")
    r = pd.read_csv(tmp_path / "r" / "hematologic_toxicity.csv")
    keys = ["analysis_set", "test", "grade_group", "source"]
    cols = ["n", "N", "percent", "ci_lower", "ci_upper", "n_with_labs"]
    assert assert_tables_match(toxicity, r, keys, cols, "hematologic_toxicity") >= 6 * len(r)
    r_window = pd.read_csv(tmp_path / "r" / "safety_window.csv")
    window_cols = safety.WINDOW_COLUMNS[1:]
    compared = assert_tables_match(counted_out, r_window, ["records"], window_cols, "window")
    assert compared == 5 * 5
    # The window and the ranges mattered: every kind of record was counted out somewhere, and
    # the lab grades differ from those of every value from day 0 on.
    assert (counted_out["n_before_window"] + counted_out["n_after_window"] > 0).all()
    assert (counted_out["n_after_window"] > 0).all()
    moved = len(adae.index[::15])  # the AEs moved to day 0 by the fixture
    assert counted_out["n_before_window"].iloc[0] == (0 if options["start_day"] == 0 else moved)
    assert counted_out.set_index("records").loc["HGB", "n_implausible"] > 0
    unwindowed = safety.lab_toxicity(labs)
    assert not unwindowed["grade"].equals(
        safety.lab_toxicity(labs, safety.nadir_windows(adsl, **window))["grade"]
    )
    # Lab grading finds toxicity the reports miss (the point), in this extract.
    whole = toxicity[
        (toxicity["analysis_set"] == "all")
        & (toxicity["test"] == "any")
        & (toxicity["grade_group"] == "ge3")
    ].set_index("source")["n"]
    assert whole["labs"] > whole["reported"]
    assert whole["either"] >= max(whole["labs"], whole["reported"])


def test_adverse_event_cis_match_r_binom_test(tmp_path, demo):
    """Every row of the reported-AE table: its CI is 100 * binom.test(n, N)$conf.int."""
    adsl, adae, _ = demo
    sets = {"all": adsl, **{r: g for r, g in adsl.groupby("regimen", observed=True)}}
    table = safety.adverse_event_table(sets, adae, "reported", 0.95)
    assert len(table) > 100
    assert (table["n"] == 0).any()  # the one-sided limits of binom.test are compared too
    table.assign(row=range(len(table)))[["row", "n", "N"]].to_csv(tmp_path / "n.csv", index=False)
    run_r("toxicity_reference.R", "--ci", tmp_path / "n.csv", 0.95, tmp_path / "r.csv")
    r = pd.read_csv(tmp_path / "r.csv")
    compared = assert_tables_match(
        table.assign(row=range(len(table))), r, ["row"], ["ci_lower", "ci_upper"], "AE CIs"
    )
    assert compared == 2 * len(table)
