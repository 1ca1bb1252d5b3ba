"""Nadirs in their window, nadir tests (R wilcox.test), exposure-response (R glm binomial), live."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import exposure, plausibility, safety
from rwe.derive import derive_adae, derive_adlb
from rwe.io import read_site
from rwe.validate import validate_extract
from test_survival_parity import extract_to_adam

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    tables, _ = read_site(ROOT / "data" / "demo", "demo")
    typed = validate_extract({"demo": tables})
    adsl, _ = extract_to_adam(ROOT / "data" / "demo", "demo")
    return adsl, derive_adae(typed["adverse_events"]), derive_adlb(typed["labs"])


def windowed_nadirs(adsl, adlb, **window):
    """The nadirs as the site job computes them: in the window, implausible values left out."""
    windows = safety.nadir_windows(adsl, **window)
    return safety.patient_nadirs(adlb, windows, plausibility.implausible_lab_values(adlb))


@pytest.mark.parametrize(
    "window",
    [
        {},  # the default: day 1 to min(progression, end of treatment + 30 days)
        {"start_day": 0, "days_after_end_of_treatment": 7, "until_progression": False},
    ],
)
def test_nadirs_in_the_window_match_r(tmp_path, demo, window):
    """R: the lowest value per patient and test from start_day to the window's end, with the
    values outside PHYSIOLOGICAL_RANGES left out (tests/r/nadir_reference.R --nadirs)."""
    adsl, _, adlb = demo
    labs = adlb.copy()
    ends = safety.nadir_windows(adsl, **window).set_index("patient_id")["end_day"]
    end = labs["patient_id"].map(ends).to_numpy(dtype=float)
    # Values the window and the ranges must leave out: the lowest counts after the window's
    # end, and impossible haemoglobins, so that a window or range not applied changes nadirs.
    after = np.flatnonzero((labs["day"].to_numpy() > end) & (labs["test"] == "ANC").to_numpy())
    labs.loc[labs.index[after], "value"] = 0.01
    hgb = np.flatnonzero((labs["test"] == "HGB").to_numpy())[::40]
    labs.loc[labs.index[hgb], "value"] = 0.2
    assert len(after) > 10
    assert len(hgb) > 10
    labs.to_csv(tmp_path / "labs.csv", index=False)
    patients = adsl[["patient_id", "progression_day", "end_of_treatment_day"]]
    patients.to_csv(tmp_path / "patients.csv", index=False)
    ranges = pd.DataFrame(
        [(t, u, lo, hi) for t, (u, lo, hi) in plausibility.PHYSIOLOGICAL_RANGES.items()],
        columns=["test", "unit", "low", "high"],
    )
    ranges.to_csv(tmp_path / "ranges.csv", index=False)
    options = {"start_day": 1, "days_after_end_of_treatment": 30, "until_progression": True}
    options |= window
    values = [str(v).upper() if isinstance(v, bool) else v for v in options.values()]
    files = [tmp_path / f"{name}.csv" for name in ("labs", "patients", "ranges")]
    run_r("nadir_reference.R", "--nadirs", *files, *values, tmp_path / "r_nadirs.csv")
    ours = windowed_nadirs(adsl, labs, **window)
    r = pd.read_csv(tmp_path / "r_nadirs.csv")
    compared = assert_tables_match(ours, r, ["patient_id", "test"], ["nadir"], "nadirs")
    assert compared == len(r) >= 4 * 100
    # The window and the ranges mattered: without them the nadirs are different.
    assert not safety.patient_nadirs(labs)["nadir"].equals(ours["nadir"])


def nadir_pairs(adsl, adlb):
    """The demo's nadir comparisons plus small exact cases, with and without ties."""
    rng = np.random.default_rng(8)
    cases = {
        "exact, no ties": (rng.normal(size=9), rng.normal(1, 1, size=12)),
        "exact sizes with ties": (
            np.round(rng.normal(size=15), 1),
            np.round(rng.normal(size=10), 1),
        ),
        "large, normal approximation": (rng.normal(size=60), rng.normal(0.3, 1, size=70)),
        "identical groups": (np.arange(5.0), np.arange(5.0)),
    }
    nadirs = windowed_nadirs(adsl, adlb)
    tests = safety.nadir_test_table({"all": adsl}, nadirs)
    nadirs = safety.nadirs_by_patient(adsl, nadirs)
    for row in tests.itertuples():
        part = nadirs[nadirs["test"] == row.test]
        if row.comparison.startswith("IMiD"):
            x, y = part[part["imid_containing"] == 1], part[part["imid_containing"] == 0]
        else:
            a, b = row.comparison.split(" vs ")
            x, y = part[part["regimen"] == a], part[part["regimen"] == b]
        cases[f"{row.test}: {row.comparison}"] = (x["nadir"].to_numpy(), y["nadir"].to_numpy())
    return cases


def test_wilcoxon_matches_r(tmp_path, demo):
    adsl, _, adlb = demo
    cases = nadir_pairs(adsl, adlb)
    long = pd.concat(
        [
            pd.DataFrame({"comparison": k, "group": g, "value": v})
            for k, (x, y) in cases.items()
            for g, v in ((1, x), (2, y))
        ]
    )
    long.to_csv(tmp_path / "nadir_pairs.csv", index=False)
    run_r("nadir_reference.R", tmp_path / "nadir_pairs.csv", tmp_path / "r_nadir.csv")
    ours = pd.DataFrame(
        [{"comparison": k, **safety.wilcoxon_rank_sum(x, y)} for k, (x, y) in cases.items()]
    )
    r = pd.read_csv(tmp_path / "r_nadir.csv")
    assert assert_tables_match(ours, r, ["comparison"], ["W", "p"], "nadir_tests") >= 2 * len(cases)
    assert (ours["method"] == "Wilcoxon rank sum exact test").any()  # both branches are exercised
    assert ours["method"].str.contains("continuity").any()


def test_logistic_models_match_r_glm(tmp_path, demo):
    adsl, adae, adlb = demo
    ae = safety.combine_hematologic(adae, safety.grade_from_labs(adlb), "both")
    flags = exposure.outcome_flags(adsl, ae)
    models, predictions = exposure.exposure_response(
        adsl, ae, predict_at=(3, 4), adjust_for=["regimen"], min_events=5
    )
    estimable = models[~models["note"].fillna("").str.startswith("not estimable")]
    assert len(estimable) >= 5
    data = pd.concat(
        [
            pd.DataFrame(
                {
                    "outcome": o,
                    "x": adsl["exposure_auc"],
                    "y": flags[o],
                    "regimen": adsl["regimen"],
                }
            ).dropna()
            for o in estimable["outcome"]
        ]
    )
    data.to_csv(tmp_path / "er_data.csv", index=False)
    points = sorted(predictions["at"].unique())  # the median AUC of patients on 3 and 4 mg
    assert len(points) == 2
    run_r(
        "exposure_reference.R",
        tmp_path / "er_data.csv",
        tmp_path / "r",
        ",".join(repr(float(p)) for p in points),
    )
    r_models = pd.read_csv(tmp_path / "r" / "exposure_response.csv")
    cols = ["intercept", "slope", "odds_ratio", "ci_lower", "ci_upper", "p"]
    cols += ["iqr", "odds_ratio_iqr", "or_iqr_ci_lower", "or_iqr_ci_upper"]
    # Adjusted for regimen (R glm(y ~ x + factor(regimen))), as exposure.adjust_for does.
    cols += ["odds_ratio_adjusted", "adjusted_ci_lower", "adjusted_ci_upper", "p_adjusted"]
    assert estimable["odds_ratio_adjusted"].notna().all()
    assert assert_tables_match(estimable, r_models, ["outcome"], cols, "exposure_response") == len(
        cols
    ) * len(estimable)
    r_pred = pd.read_csv(tmp_path / "r" / "exposure_predictions.csv")
    assert (
        assert_tables_match(
            predictions,
            r_pred,
            ["outcome", "at"],
            ["probability", "ci_lower", "ci_upper"],
            "exposure_predictions",
        )
        > 0
    )
