"""Unit tests of rwe.survival on examples small enough to check by hand.

R parity on whole cohorts is in test_survival_parity.py, lifelines in test_survival_lifelines.py,
the vectorised kernels against their slow definitions in test_survival_kernels.py.
"""

import numpy as np
import pytest

from rwe import survival


def test_km_by_hand():
    # times 1, 2+, 3, 3, 4+: S(1) = 4/5, S(3) = 4/5 * (1 - 2/3) = 4/15
    curve = survival.km_curve([1, 2, 3, 3, 4], [1, 0, 1, 1, 0])
    assert curve["time"].tolist() == [1, 2, 3, 4]
    assert curve["n_risk"].tolist() == [5, 4, 3, 1]
    assert curve["surv"].to_numpy() == pytest.approx([0.8, 0.8, 4 / 15, 4 / 15])
    # Greenwood: sum d / (n (n - d)) = 1/20 + 2/3
    assert curve["std_err"].iloc[2] == pytest.approx(np.sqrt(1 / 20 + 2 / 3))


def test_median_is_first_time_survival_drops_to_half_or_below():
    curve = survival.km_curve([1, 2, 3, 4], [1, 1, 1, 1])
    # S = .75, .5, .25, 0: flat at exactly 0.5 between 2 and 3 -> R takes the midpoint
    assert survival.km_quantile(curve)[0] == pytest.approx(2.5)
    curve = survival.km_curve([1, 2, 3], [1, 1, 1])
    assert survival.km_quantile(curve)[0] == 2.0  # S = 2/3, 1/3: first time <= 0.5


def test_median_not_reached_is_nan_never_a_number():
    curve = survival.km_curve([1, 2, 3, 4, 5], [1, 0, 0, 0, 0])
    median, lower, upper = survival.km_quantile(curve)
    assert np.isnan(median)
    assert np.isnan(upper)


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_ci_contains_the_estimate(conf_type):
    rng = np.random.default_rng(1)
    curve = survival.km_curve(rng.exponential(10, 80), rng.integers(0, 2, 80), conf_type)
    inside = curve[(curve["surv"] > 0) & (curve["surv"] < 1)]
    assert (inside["ci_lower"] <= inside["surv"]).all()
    assert (inside["surv"] <= inside["ci_upper"]).all()


def test_conf_type_changes_the_intervals_but_not_the_estimate():
    rng = np.random.default_rng(2)
    t, e = rng.exponential(10, 60), rng.integers(0, 2, 60)
    curves = {ct: survival.km_curve(t, e, ct) for ct in survival.CONF_TYPES}
    for ct in ("log-log", "plain"):
        assert np.allclose(curves[ct]["surv"], curves["log"]["surv"])
        assert not np.allclose(curves[ct]["ci_lower"], curves["log"]["ci_lower"], equal_nan=True)
    with pytest.raises(ValueError, match="conf_type"):
        survival.km_curve(t, e, "logit")


def test_landmark_uses_last_value_before_and_number_at_risk_at_time():
    curve = survival.km_curve([1, 2, 3, 3, 4], [1, 0, 1, 1, 0])
    at = survival.km_at(curve, 2.5, 5)
    assert at["surv"] == pytest.approx(0.8)
    assert at["n_risk"] == 3
    assert np.isnan(survival.km_at(curve, 10, 5)["surv"])  # beyond follow-up: no estimate


def test_logrank_two_groups_by_hand():
    # Group a dies at 1 and 2, b at 3 and 4; every one at risk until they die.
    test = survival.logrank([1, 2, 3, 4], [1, 1, 1, 1], ["a", "a", "b", "b"])
    # Expected deaths in a: 2/4 + 1/3 + 0 + 0; hypergeometric variances 1/4*... (R survdiff)
    e_a = 0.5 + 1 / 3
    var = 0.25 + 2 / 9
    assert test["expected"][0] == pytest.approx(e_a)
    assert test["chisq"] == pytest.approx((2 - e_a) ** 2 / var)
    assert test["df"] == 1


def test_logrank_without_events_is_not_testable():
    test = survival.logrank([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])
    assert np.isnan(test["chisq"])
    assert "not testable" in test["note"]
