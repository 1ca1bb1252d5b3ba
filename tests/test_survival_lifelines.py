"""Each estimator of rwe.survival against lifelines, where lifelines computes the same quantity.

lifelines is an independent implementation (Python, its own code paths), so agreement here is
evidence separate from the R parity tests. Conventions that differ are mapped, not tolerated:

- ``KaplanMeierFitter``'s interval is the "exponential Greenwood" one, i.e. R's
  ``conf.type = "log-log"``; it is compared with ours at that setting.
- ``logrank_test`` / ``multivariate_logrank_test`` are R ``survdiff``: same statistic.
- ``CoxPHFitter`` uses Efron ties, as R and rwe do. It stops Newton–Raphson when the step is
  below ``precision = 1e-7`` (its default), while rwe stops, as R, when the log-likelihood
  changes by less than 1e-9 relative: both are within about 1e-7 of the exact maximum, so
  coefficients are compared at rel 1e-6; standard errors and the log-likelihood, flat at the
  maximum, agree far closer.
- ``lifelines.utils.concordance_index`` scores a *higher* prediction as a *longer* survival;
  a Cox risk score is the opposite, so it is given ``-risk``.
"""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import concordance_index

from rwe import survival


@pytest.fixture(params=[1, 2, 3], ids=lambda s: f"seed{s}")
def cohort(request):
    """200 patients, times in whole months (many ties, events and censorings tied)."""
    rng = np.random.default_rng(request.param)
    n = 200
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    time = np.round(rng.exponential(np.exp(-0.5 * x[:, 0]) * 10)) + 1
    event = rng.integers(0, 2, n)
    group = rng.integers(0, 3, n)
    return time, event, x, group


def test_km_curve_and_log_log_ci_equal_kaplan_meier_fitter(cohort):
    time, event, _, _ = cohort
    km = KaplanMeierFitter().fit(time, event)
    ours = survival.km_curve(time, event, conf_type="log-log")
    theirs = km.survival_function_.loc[ours["time"]].iloc[:, 0].to_numpy()
    assert ours["surv"].to_numpy() == pytest.approx(theirs, rel=1e-12)
    inside = ((ours["surv"] > 0) & (ours["surv"] < 1)).to_numpy()
    ci = km.confidence_interval_.loc[ours["time"]].to_numpy()[inside]
    assert ours["ci_lower"].to_numpy()[inside] == pytest.approx(ci[:, 0], rel=1e-12)
    assert ours["ci_upper"].to_numpy()[inside] == pytest.approx(ci[:, 1], rel=1e-12)


def test_logrank_equals_lifelines_two_and_three_groups(cohort):
    time, event, _, group = cohort
    two = group < 2
    theirs = logrank_test(
        time[two & (group == 0)],
        time[two & (group == 1)],
        event[two & (group == 0)],
        event[two & (group == 1)],
    )
    ours = survival.logrank(time[two], event[two], group[two])
    assert ours["chisq"] == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours["p"] == pytest.approx(theirs.p_value, rel=1e-10)
    theirs = multivariate_logrank_test(time, group, event)
    ours = survival.logrank(time, event, group)
    assert ours["chisq"] == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours["df"] == theirs.degrees_of_freedom


def test_cox_fit_equals_coxphfitter_efron(cohort):
    time, event, x, _ = cohort
    fit = survival.cox_fit(time, event, x, ["a", "b"])
    data = pd.DataFrame({"t": time, "e": event, "a": x[:, 0], "b": x[:, 1]})
    theirs = CoxPHFitter().fit(data, "t", "e")
    assert fit.coef == pytest.approx(theirs.params_.to_numpy(), rel=1e-6)
    assert fit.se == pytest.approx(theirs.standard_errors_.to_numpy(), rel=1e-6)
    assert fit.loglik == pytest.approx(theirs.log_likelihood_, rel=1e-10)
    assert fit.global_tests["lr_chisq"] == pytest.approx(
        theirs.log_likelihood_ratio_test().test_statistic, rel=1e-6
    )
    assert fit.concordance == pytest.approx(theirs.concordance_index_, rel=1e-10)


@pytest.mark.parametrize("risk_kind", ["binary", "continuous"])
def test_concordance_equals_lifelines_concordance_index(cohort, risk_kind):
    time, event, x, _ = cohort
    risk = x[:, 0] if risk_kind == "binary" else x @ np.array([0.7, -0.2])
    assert survival.concordance(time, event, risk) == pytest.approx(
        concordance_index(time, -risk, event), rel=1e-12
    )
