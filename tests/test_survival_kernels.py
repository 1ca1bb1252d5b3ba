"""The vectorised kernels of rwe.survival equal their textbook definitions, computed slowly.

Each reference below is the straightforward O(n²) or per-event-time loop, written out here;
the data are small, with heavy ties (events and censorings at the same time), and the edge
cases: a single event, everyone censored, everyone dead at one time.
"""

import numpy as np
import pandas as pd
import pytest

from rwe import survival

RNG_SEEDS = range(12)


def random_cohort(seed: int, n: int = 40, p: int = 2):
    """Times on a coarse grid (many ties, events and censorings at the same times)."""
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 7, n).astype(float)
    event = rng.integers(0, 2, n)
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)][:p]).astype(float)
    return time, event, X


def edge_cohorts():
    rng = np.random.default_rng(99)
    n = 15
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    time = rng.integers(1, 5, n).astype(float)
    single = np.zeros(n, dtype=int)
    single[3] = 1
    return {
        "single event": (time, single, X),
        "all censored": (time, np.zeros(n, dtype=int), X),
        "all dead at one time": (np.full(n, 2.0), np.ones(n, dtype=int), X),
        "event and censoring tied": (
            np.array([1.0, 1, 1, 2, 2, 3]),
            np.array([1, 0, 1, 0, 1, 0]),
            X[:6],
        ),
    }


CASES = [random_cohort(seed) for seed in RNG_SEEDS] + list(edge_cohorts().values())
IDS = [f"random{seed}" for seed in RNG_SEEDS] + list(edge_cohorts())


# --------------------------------------------------------------------------- references


def efron_by_time(time, event, X, beta):
    """Per distinct event time: Efron log-likelihood, score and information (Therneau §3.3)."""
    eta = X @ beta
    risk = np.exp(eta)
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        dead = (time == t) & (event == 1)
        d = int(dead.sum())
        r, x = risk[at_risk], X[at_risk]
        s0, s1, s2 = r.sum(), r @ x, (x * r[:, None]).T @ x
        rd, xd = risk[dead], X[dead]
        d0, d1, d2 = rd.sum(), rd @ xd, (xd * rd[:, None]).T @ xd
        loglik, score, info = eta[dead].sum(), xd.sum(axis=0), np.zeros((X.shape[1],) * 2)
        for j in range(d):
            a0, a1, a2 = s0 - j / d * d0, s1 - j / d * d1, s2 - j / d * d2
            loglik -= np.log(a0)
            score = score - a1 / a0
            info += a2 / a0 - np.outer(a1 / a0, a1 / a0)
        yield t, loglik, score, info


def efron_reference(time, event, X, beta):
    p = X.shape[1]
    total = [0.0, np.zeros(p), np.zeros((p, p))]
    for _, *terms in efron_by_time(time, event, X, beta):
        total = [a + b for a, b in zip(total, terms, strict=True)]
    return total


def logrank_reference(time, event, group):
    groups, g = np.unique(group, return_inverse=True)
    k = len(groups)
    observed = np.bincount(g, weights=event, minlength=k)
    expected, var = np.zeros(k), np.zeros((k, k))
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        n = at_risk.sum()
        share = np.bincount(g[at_risk], minlength=k) / n
        d = event[time == t].sum()
        expected += d * share
        if n > 1:
            var += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    return observed, expected, var


def concordance_reference(time, event, risk):
    concordant = tied = total = 0.0
    for i in np.flatnonzero(event == 1):
        later = (time > time[i]) | ((time == time[i]) & (event == 0))
        concordant += np.sum(risk[i] > risk[later])
        tied += np.sum(risk[i] == risk[later])
        total += later.sum()
    return (concordant + tied / 2) / total if total else np.nan


def zph_reference(time, event, X, beta):
    """cox.zph(transform = "km") as its definition: a score test for x * g(t) at beta."""
    p = X.shape[1]
    curve = survival.km_curve(time, event)
    per_time = list(efron_by_time(time, event, X, beta))

    def g_raw(t):  # 1 - S(t-)
        before = curve[curve["time"] < t]
        return 1 - (before["surv"].iloc[-1] if len(before) else 1.0)

    deaths = [int(((time == t) & (event == 1)).sum()) for t, *_ in per_time]
    raw = np.array([g_raw(t) for t, *_ in per_time])
    g = raw - np.repeat(raw, deaths).mean()
    u2 = sum(gk * u for gk, (_, _, u, _) in zip(g, per_time, strict=True))
    blocks = [
        [sum(w * i for w, (_, _, _, i) in zip(weights, per_time, strict=True)) for weights in row]
        for row in [[np.ones_like(g), g], [g, g * g]]
    ]
    imat = np.block(blocks)
    u = np.concatenate([np.zeros(p), u2])
    return [
        float(
            u[[*range(p), p + j]]
            @ np.linalg.solve(
                imat[np.ix_([*range(p), p + j], [*range(p), p + j])], u[[*range(p), p + j]]
            )
        )
        for j in range(p)
    ]


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("time", "event", "X"), CASES, ids=IDS)
def test_efron_sums_equal_the_per_time_loop(time, event, X):
    beta = np.array([0.4, -0.3])[: X.shape[1]]
    loglik, score, info = survival.efron_loglik(time, event, X, beta)
    ref_loglik, ref_score, ref_info = efron_reference(time, event, X, beta)
    assert loglik == pytest.approx(ref_loglik, rel=1e-12, abs=1e-12)
    assert score == pytest.approx(ref_score, rel=1e-10, abs=1e-12)
    assert info == pytest.approx(ref_info, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(("time", "event", "X"), CASES, ids=IDS)
def test_logrank_equals_the_per_time_loop(time, event, X):
    group = (X[:, 1] > 0).astype(int) + X[:, 0].astype(int)  # up to three groups
    observed, expected, var = logrank_reference(time, event, group)
    usable = expected > 0
    diff = (observed - expected)[usable][1:]
    vv = var[np.ix_(usable, usable)][1:, 1:]
    if usable.sum() >= 2 and np.linalg.matrix_rank(vv) < len(diff):
        # Everyone dead at one time: no variance (R survdiff stops: solve is singular); rwe
        # says the test is not testable, and why.
        test = survival.logrank(time, event, group)
        assert np.isnan(test["chisq"])
        assert test["note"].startswith("not testable: the variance of the test is singular")
        return
    test = survival.logrank(time, event, group)
    assert test["observed"] == pytest.approx(observed)
    assert test["expected"] == pytest.approx(expected, rel=1e-12, abs=1e-14)
    if usable.sum() >= 2:
        assert test["chisq"] == pytest.approx(float(diff @ np.linalg.solve(vv, diff)), rel=1e-10)
    else:
        assert np.isnan(test["chisq"])


def test_stratified_logrank_sums_the_strata():
    time, event, X = random_cohort(5, n=60)
    group, strata = X[:, 0], (X[:, 1] > 0).astype(int)
    parts = [
        logrank_reference(time[strata == s], event[strata == s], group[strata == s]) for s in (0, 1)
    ]
    observed, expected, var = (sum(p[i] for p in parts) for i in range(3))
    diff = (observed - expected)[1:]
    test = survival.logrank(time, event, group, strata=strata)
    assert test["chisq"] == pytest.approx(
        float(diff @ np.linalg.solve(var[1:, 1:], diff)), rel=1e-10
    )


@pytest.mark.parametrize(("time", "event", "X"), CASES, ids=IDS)
@pytest.mark.parametrize("risk_kind", ["few distinct", "continuous"])
def test_concordance_equals_the_pair_count(time, event, X, risk_kind):
    risk = X[:, 0] if risk_kind == "few distinct" else X @ np.array([0.4, -0.3])
    expected = concordance_reference(time, event, risk)
    got = survival.concordance(time, event, risk)
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("time", "event", "X"), CASES[:6], ids=IDS[:6])
def test_cox_zph_equals_its_definition(time, event, X):
    fit = survival.cox_fit(time, event, X, ["a", "b"])
    expected = zph_reference(time, event, X, fit.coef)
    assert fit.zph["chisq"].to_numpy()[:2] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("time", "event", "X"), CASES, ids=IDS)
def test_km_at_equals_filtering_the_curve(time, event, X):
    curve = survival.km_curve(time, event)
    for t in [0.5, 1, 2.5, 3, time.max(), time.max() + 1]:
        at = survival.km_at(curve, t, len(time))
        if t > curve["time"].max():
            assert np.isnan(at["surv"])
            continue
        before, after = curve[curve["time"] <= t], curve[curve["time"] >= t]
        assert at["surv"] == (before["surv"].iloc[-1] if len(before) else 1.0)
        assert at["n_risk"] == (after["n_risk"].iloc[0] if len(before) else len(time))


def test_km_curve_is_the_same_sorted_or_not():
    time, event, _ = random_cohort(3)
    order = np.argsort(time, kind="stable")
    pd.testing.assert_frame_equal(
        survival.km_curve(time, event), survival.km_curve(time[order], event[order])
    )


def binary_covariates(X):
    """Two 0/1 covariates: identical patients are collapsed into one row with a count."""
    return np.column_stack([X[:, 0], X[:, 1] > 0]).astype(float)


@pytest.mark.parametrize(("time", "event", "X"), CASES, ids=IDS)
def test_collapsed_identical_patients_give_the_same_sums(time, event, X):
    X = binary_covariates(X)
    beta = np.array([0.4, -0.3])
    loglik, score, info = survival.efron_loglik(time, event, X, beta)
    ref_loglik, ref_score, ref_info = efron_reference(time, event, X, beta)
    assert loglik == pytest.approx(ref_loglik, rel=1e-12, abs=1e-12)
    assert score == pytest.approx(ref_score, rel=1e-10, abs=1e-12)
    assert info == pytest.approx(ref_info, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(("time", "event", "X"), CASES[:6], ids=IDS[:6])
def test_collapsed_fit_gives_the_same_zph_and_concordance(time, event, X):
    X = binary_covariates(X)
    fit = survival.cox_fit(time, event, X, ["a", "b"])
    assert fit.n == len(time)
    assert fit.events == event.sum()
    assert fit.zph["chisq"].to_numpy()[:2] == pytest.approx(
        zph_reference(time, event, X, fit.coef), rel=1e-9
    )
    assert fit.concordance == pytest.approx(concordance_reference(time, event, X @ fit.coef))
