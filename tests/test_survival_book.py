"""R survival's own hand-computed tests, and the defects they found in rwe (issue 23).

The cases (tests/agreement.py) are those of therneau/survival's ``tests/`` folder that rwe
expresses: each quantity is asserted against its closed form (ported from ``book1.R`` to
``book6.R``) and against R fitted live on the same data (``tests/r/survival_book.R``), at 1e-6.
The tests after them pin each defect of the issue with a case small enough to check by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import agreement
from rwe.survival import cox_fit, km_curve, logrank

RTOL = agreement.RTOL


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return agreement.agreement(tmp_path_factory.mktemp("book"))


@pytest.mark.r
def test_every_case_matches_its_closed_form_and_r(table):
    assert len(table) >= 170
    assert table["hand"].notna().sum() >= 70
    hand = table[table["hand"].notna()]
    bad = hand[~(hand["rel_err_hand"] <= RTOL)]
    assert bad.empty, f"rwe differs from the closed form:\n{bad.to_string()}"
    bad = table[~(table["rel_err_R"] <= RTOL)]
    assert bad.empty, f"rwe differs from R:\n{bad.to_string()}"


@pytest.mark.r
def test_agreement_page_is_up_to_date(table):
    """docs/agreement.md is what ``python tests/agreement.py`` writes from these cases."""
    assert agreement.DOC.read_text() == agreement.render(table), (
        "docs/agreement.md is stale: run `python tests/agreement.py`"
    )


@pytest.mark.r
def test_infinite_coefficients_and_aliasing_are_rs(table):
    rows = table.set_index(["case", "quantity"])
    assert rows.loc[("infcox", "coef x1"), "rwe"] < -22  # infcox.R: all(fit3$coef < -22)
    assert rows.loc[("infcox", "coef x2"), "rwe"] < -22
    sing = table[table["case"] == "singtest"].set_index("quantity")["rwe"]
    assert sing[["coef 2", "coef 3", "coef 4"]].isna().all()  # singtest.R: NA
    assert sing[["coef 1", "coef 5", "coef 6", "coef 7"]].notna().all()


# --------------------------------------------------------------------------- the defects

TEST1 = agreement.TEST1  # one row with a missing status


def test_missing_status_leaves_the_row_out():
    complete = TEST1.dropna()
    for status in (TEST1["status"], TEST1["status"].astype("Int64")):  # NaN and pd.NA
        curve = km_curve(TEST1["time"], status)
        pd.testing.assert_frame_equal(curve, km_curve(complete["time"], complete["status"]))
        assert curve["n_event"].min() >= 0
        fit = cox_fit(TEST1["time"], status, TEST1[["x"]], ["x"], ties="breslow")
        assert fit.n == 6
        assert fit.coef[0] == pytest.approx(np.log(1.5 + np.sqrt(33) / 2), rel=1e-8)
    test = logrank(TEST1["time"], TEST1["status"], TEST1["x"] == 1)
    assert test["chisq"] == pytest.approx(2.0, rel=1e-12)  # worked by hand in agreement.py


def test_missing_covariate_time_weight_or_stratum_leaves_the_row_out():
    data = agreement.TESTW1.assign(s=[1, 1, 1, 2, 2, 2, 1, 2, 1])
    full = cox_fit(data["time"], data["status"], data[["x"]], ["x"], weights=data["wt"])
    for column in ("time", "x", "wt", "s"):
        holed = data.astype({column: float}).copy()
        holed.loc[len(holed)] = [2.0, 1, 1, 1, 1]
        holed.loc[len(holed) - 1, column] = np.nan
        fit = cox_fit(holed["time"], holed["status"], holed[["x"]], ["x"], weights=holed["wt"])
        if column != "s":
            assert fit.coef[0] == pytest.approx(full.coef[0], rel=1e-12), column
        strat = cox_fit(data["time"], data["status"], data[["x"]], ["x"], strata=data["s"])
        holed_strat = cox_fit(
            holed["time"], holed["status"], holed[["x"]], ["x"], strata=holed["s"]
        )
        if column in ("s", "time", "x"):
            assert holed_strat.coef[0] == pytest.approx(strat.coef[0], rel=1e-12), column


def test_a_status_other_than_0_or_1_is_refused():
    with pytest.raises(ValueError, match="^event: status must be 0"):
        km_curve([1, 2, 3], [1, 2, 0])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_weights_of_zero_or_less_are_refused_naming_the_argument(ties):
    data = agreement.TESTW1
    for bad in (0.0, -1.0):
        w = data["wt"].to_numpy(float)
        w[2] = bad  # a death in a tied time: R refuses rather than count it in the fractions
        with pytest.raises(ValueError, match="^weights: invalid weights, must be > 0"):
            cox_fit(data["time"], data["status"], data[["x"]], ["x"], weights=w, ties=ties)
    with pytest.raises(ValueError, match="^weights: case weights must be non-negative"):
        km_curve([1, 2, 3], [1, 1, 0], weights=[1, -1, 1])


def test_iteration_limit_counts_newton_steps_as_r():
    """R ``iter.max = 1`` is one Newton step: U(0) / I(0) (book1.R: 8/5; book3.R)."""
    fit = cox_fit(TEST1["time"], TEST1["status"], TEST1[["x"]], ["x"], 1, ties="breslow")
    assert fit.coef[0] == pytest.approx(8 / 5, rel=1e-12)
    _, u0, i0 = agreement.book3(0.0)
    t2 = agreement.TEST2
    fit = cox_fit(t2["stop"], t2["event"], t2[["x"]], ["x"], 1, start=t2["start"], ties="breslow")
    assert fit.coef[0] == pytest.approx(u0 / i0, rel=1e-12)
    at0 = cox_fit(TEST1["time"], TEST1["status"], TEST1[["x"]], ["x"], 0, ties="breslow")
    assert at0.coef[0] == 0
    assert at0.var[0, 0] == pytest.approx(1 / agreement.book1(0.0)[2], rel=1e-12)


def test_null_model_gives_its_log_likelihood():
    time, status = TEST1["time"], TEST1["status"]
    null = cox_fit(time, status, np.zeros((len(TEST1), 0)), [], ties="breslow")
    assert null.loglik == pytest.approx(agreement.book1(0.0)[0], rel=1e-12)
    assert null.coef.size == 0
    counting = agreement.TEST2
    null = cox_fit(
        counting["stop"], counting["event"], np.zeros((10, 0)), [], start=counting["start"]
    )
    assert null.loglik == pytest.approx(agreement.book4(0.0)[0], rel=1e-12)


def test_no_events_single_subject_and_logrank_without_events_do_not_crash():
    time = np.arange(1.0, 7)
    fit = cox_fit(time, np.zeros(6), np.tile([0.0, 1.0], 3)[:, None], ["x"])
    assert np.isnan(fit.coef[0])  # R: coefficients NA, variance 0, loglik 0
    assert fit.var[0, 0] == 0
    assert fit.loglik == 0
    assert fit.note.startswith("not estimable: no events")
    one = cox_fit([3.0], [1], [[1.0]], ["x"])
    assert not one.converged  # R: "Ran out of iterations and did not converge" (0 / 0)
    assert one.loglik == 0
    test = logrank(time, np.zeros(6), [1, 2] * 3)
    assert np.isnan(test["chisq"])  # R: chisq 0 with a warning; rwe says why
    assert test["note"] == "not testable: fewer than two groups with events"


def test_monotone_likelihood_converges_and_flags_as_r():
    """infcox.R: both coefficients run to -infinity; R converges and flags both."""
    test3 = pd.DataFrame(
        {
            "t": np.arange(1.0, 13),
            "d": [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            "x1": np.tile([0, 1], 6),
            "x2": np.repeat([0, 1], 6),
        }
    )
    fit = cox_fit(test3["t"], test3["d"], test3[["x1", "x2"]], ["x1", "x2"], 25)
    assert fit.converged
    assert fit.infinite.all()
    # infcox.R: all.equal(round(fit3$log, 4), c(-6.8669, -1.7918))
    assert np.round([fit.loglik_null, fit.loglik], 4).tolist() == [-6.8669, -1.7918]


@pytest.fixture(scope="module")
def demo_monotone_rows():
    """The demo's Ixa-Pd PFS multivariable time-dependent Cox rows (two coefficients → ∞)."""
    from pathlib import Path

    from rwe import landmark
    from rwe.derive import analysis_sets
    from test_survival_parity import COVARIATES, extract_to_adam

    adsl, adtte = extract_to_adam(Path(__file__).resolve().parents[1] / "data" / "demo", "demo")
    fitted = []
    original = landmark._time_dependent_fit

    def spy(cp, terms, *args):
        fitted.append((cp, terms))
        return original(cp, terms, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(landmark, "_time_dependent_fit", spy)
    try:
        sets = {"Ixa-Pd": analysis_sets(adsl, 20)["Ixa-Pd"]}
        landmark.time_dependent_cox_table(adsl, adtte, sets, COVARIATES)
    finally:
        mp.undo()
    cp, terms = next((cp, terms) for cp, terms in fitted if len(terms) == 6)  # PFS first
    return cp, terms


def test_monotone_fit_does_not_depend_on_the_order_of_the_sums(demo_monotone_rows):
    """The fit R reports with "Loglik converged before variable 4,5": the same iterations,
    flags and finite coefficients (to 1e-10) whatever the order of the rows, i.e. of every
    running sum; so on any CPU and BLAS (R's values: test_landmark_parity.py)."""
    cp, terms = demo_monotone_rows
    fits = []
    for seed in range(4):
        rows = cp.sample(frac=1, random_state=seed) if seed else cp
        X = rows[terms].to_numpy(float)
        fits.append(cox_fit(rows["tstop"], rows["event"], X, terms, start=rows["tstart"]))
    first = fits[0]
    assert first.converged
    assert [terms[j] for j in np.flatnonzero(first.infinite)] == ["emd", "high_risk_cyto"]
    finite = ~first.infinite
    for fit in fits[1:]:
        assert fit.iterations == first.iterations
        assert (fit.infinite == first.infinite).all()
        np.testing.assert_allclose(fit.coef[finite], first.coef[finite], rtol=1e-10)
        np.testing.assert_allclose(fit.coef, first.coef, rtol=1e-6)
