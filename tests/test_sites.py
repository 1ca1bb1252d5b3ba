"""Site-aware statistics: the stratified Cox kernel by brute force, and the one-site tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwe import sites
from rwe.derive import analysis_sets, derive_adsl, derive_adtte
from rwe.io import read_site
from rwe.simulate import simulate_study
from rwe.survival import concordance, cox_fit, efron_loglik
from rwe.validate import validate_extract

COVARIATES = ["gfr_le70", "emd", "age_ge80"]


def efron_brute_force(time, event, X, beta, strata):
    """Efron log-likelihood, score and information by a loop over strata and death times."""
    loglik, score, info = 0.0, np.zeros(X.shape[1]), np.zeros((X.shape[1],) * 2)
    risk = np.exp(X @ beta)
    for s in np.unique(strata):
        for t in np.unique(time[(strata == s) & (event == 1)]):
            at_risk = (strata == s) & (time >= t)
            dead = (strata == s) & (time == t) & (event == 1)
            d = int(dead.sum())
            loglik += (X[dead] @ beta).sum()
            score += X[dead].sum(axis=0)
            for j in range(d):
                w = risk * (at_risk - j / d * dead)
                a0, a1 = w.sum(), w @ X
                a2 = (X * w[:, None]).T @ X
                loglik -= np.log(a0)
                score -= a1 / a0
                info += a2 / a0 - np.outer(a1, a1) / a0**2
    return loglik, score, info


@pytest.fixture
def tied():
    """Small data with heavy ties in time and in covariates, in three strata."""
    rng = np.random.default_rng(7)
    n = 60
    time = rng.integers(1, 8, n).astype(float)
    event = rng.integers(0, 2, n)
    X = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n)]).astype(float)
    strata = rng.choice(["b", "a", "c"], n)
    return time, event, X, strata


def test_stratified_kernel_equals_brute_force(tied):
    time, event, X, strata = tied
    beta = np.array([0.4, -0.3])
    loglik, score, info = efron_loglik(time, event, X, beta, strata=strata)
    expected = efron_brute_force(time, event, X, beta, strata)
    assert loglik == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(score, expected[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(info, expected[2], rtol=1e-10, atol=1e-12)


def test_stratified_loglik_is_the_sum_over_strata(tied):
    time, event, X, strata = tied
    beta = np.array([0.1, 0.2])
    total = efron_loglik(time, event, X, beta, strata=strata)[0]
    parts = [
        efron_loglik(time[strata == s], event[strata == s], X[strata == s], beta)[0]
        for s in np.unique(strata)
    ]
    assert total == pytest.approx(sum(parts), rel=1e-12)


def test_one_stratum_equals_the_unstratified_fit(tied):
    time, event, X, _ = tied
    plain = cox_fit(time, event, X, ["x1", "x2"])
    one = cox_fit(time, event, X, ["x1", "x2"], strata=np.full(time.size, "site1"))
    np.testing.assert_allclose(one.coef, plain.coef, rtol=1e-12)
    np.testing.assert_allclose(one.var, plain.var, rtol=1e-12)
    assert one.loglik == pytest.approx(plain.loglik, rel=1e-12)
    assert one.global_tests == pytest.approx(plain.global_tests, rel=1e-12)
    assert one.concordance == pytest.approx(plain.concordance, rel=1e-12)
    pd.testing.assert_frame_equal(one.zph, plain.zph)


def test_stratified_concordance_compares_pairs_within_strata():
    time = np.array([1.0, 2, 3, 4, 1, 2, 3])
    event = np.array([1, 1, 0, 1, 1, 0, 1])
    risk = np.array([3.0, 2, 2, 1, 0, 5, 1])
    strata = np.array([0, 0, 0, 0, 1, 1, 1])
    # Stratum 0: pairs (1,2) (1,3) (1,4) (2,3) (2,4) concordant except (2,3) tied: 4.5 of 5.
    # Stratum 1: pairs (1,2) (1,3) discordant: 0 of 2. Summed over strata: 4.5 / 7.
    assert concordance(time, event, risk, strata=strata) == pytest.approx(4.5 / 7)


@pytest.fixture(scope="module")
def one_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one_site")
    simulate_study(120, 5, 1, folder)
    typed = validate_extract({"demo": read_site(folder, "demo")[0]})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


def test_one_site_tables_hold_a_note_and_no_numbers(one_site):
    adsl, adtte = one_site
    sets = analysis_sets(adsl, 20)
    models = sites.stratified_cox_models(adsl, adtte, sets, COVARIATES)
    tables = {
        "logrank_stratified": sites.logrank_stratified_table(adsl, adtte, sets, COVARIATES),
        "cox_stratified": sites.cox_stratified_table(models),
        "cox_stratified_diagnostics": sites.cox_stratified_diagnostics_table(models),
        "site_meta": sites.site_meta(sites.site_cox_models(adsl, adtte, COVARIATES), COVARIATES),
    }
    assert models == []
    for name, table in tables.items():
        assert len(table) == 1, name
        assert table["note"].iloc[0] == sites.ONE_SITE_NOTE
        assert table.drop(columns="note").isna().all(axis=None), name
    summary = sites.site_summary(adsl, adtte)
    assert summary["site"].tolist() == ["demo"]  # no pooled row: it would repeat the site
    assert summary["note"].iloc[0] == sites.ONE_SITE_NOTE
    assert summary["n"].iloc[0] == 120


def test_site_summary_pooled_row_and_columns(one_site):
    adsl, adtte = one_site
    other = adsl.assign(site="other")
    both = pd.concat([adsl, other], ignore_index=True)
    both_tte = pd.concat([adtte, adtte.assign(site="other")], ignore_index=True)
    summary = sites.site_summary(both, both_tte)
    assert list(summary.columns) == sites.SITE_SUMMARY_COLUMNS
    assert summary["site"].tolist() == ["demo", "other", sites.POOLED]
    assert summary["n"].tolist() == [120, 120, 240]
    # Two identical sites: the pooled median equals each site's.
    assert summary["pfs_median"].nunique() == 1


def test_a_covariate_constant_in_every_site_is_dropped_from_the_stratified_model(one_site):
    adsl, adtte = one_site
    both = pd.concat([adsl.assign(emd=0), adsl.assign(site="other", emd=1)], ignore_index=True)
    both_tte = pd.concat([adtte, adtte.assign(site="other")], ignore_index=True)
    models = sites.stratified_cox_models(both, both_tte, {"all": both}, ["emd", "gfr_le70"])
    multi = sites.cox_stratified_table(models).query(
        "model == 'multivariable' and endpoint == 'PFS'"
    )
    emd = multi.set_index("term").loc["emd"]
    assert np.isnan(emd["hr"])
    assert "constant within every site" in emd["note"]
    assert multi.set_index("term").loc["gfr_le70", "hr"] > 0
