"""Properties of cox_fit's general (counting-process, weighted) path that hold by definition.

R parity of each option is in test_survival_cox_parity.py; these check the general path
against the fast path and against the data it should be equivalent to.
"""

from __future__ import annotations

import numpy as np
import pytest

from rwe.survival import cox_fit


def cohort(seed: int = 4, n: int = 80):
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 12, n).astype(float)  # heavy ties
    event = rng.integers(0, 2, n)
    X = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    return time, event, X


def same_fit(a, b):
    assert a.coef == pytest.approx(b.coef, rel=1e-9)
    assert a.var == pytest.approx(b.var, rel=1e-8)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    assert a.zph["chisq"].to_numpy() == pytest.approx(b.zph["chisq"].to_numpy(), rel=1e-8)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_unit_weights_give_the_fast_path_fit(ties):
    time, event, X = cohort()
    fast = cox_fit(time, event, X, ["a", "b"], ties=ties)
    general = cox_fit(time, event, X, ["a", "b"], ties=ties, weights=np.ones(len(time)))
    same_fit(fast, general)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_splitting_follow_up_without_a_change_gives_the_same_fit(ties):
    time, event, X = cohort()
    split = np.floor(time / 2)
    two = split > 0  # rows split in (0, split] and (split, time]
    start = np.concatenate([np.zeros(len(time)), split[two]])
    stop = np.concatenate([np.where(two, split, time), time[two]])
    status = np.concatenate([np.where(two, 0, event), event[two]])
    rows = np.concatenate([X, X[two]])
    whole = cox_fit(time, event, X, ["a", "b"], ties=ties)
    pieces = cox_fit(stop, status, rows, ["a", "b"], ties=ties, start=start)
    same_fit(whole, pieces)


def test_whole_number_weights_are_replicated_rows_with_breslow_ties():
    time, event, X = cohort()
    w = np.random.default_rng(1).integers(1, 4, len(time))
    weighted = cox_fit(time, event, X, ["a", "b"], ties="breslow", weights=w)
    assert not weighted.robust  # R: robust only for fractional weights or clusters
    rep = np.repeat(np.arange(len(time)), w)
    replicated = cox_fit(time[rep], event[rep], X[rep], ["a", "b"], ties="breslow")
    assert weighted.coef == pytest.approx(replicated.coef, rel=1e-9)
    assert weighted.var == pytest.approx(replicated.var, rel=1e-8)


def test_robust_is_a_cluster_of_one_row_each_and_fractional_weights_imply_it():
    time, event, X = cohort()
    robust = cox_fit(time, event, X, ["a", "b"], robust=True)
    clusters = cox_fit(time, event, X, ["a", "b"], cluster=np.arange(len(time)))
    assert robust.var == pytest.approx(clusters.var, rel=1e-10)
    assert robust.var_naive == pytest.approx(cox_fit(time, event, X, ["a", "b"]).var, rel=1e-8)
    fractional = cox_fit(time, event, X, ["a", "b"], weights=np.full(len(time), 0.5))
    assert fractional.robust
    assert "se_naive" in fractional.table()


def test_start_must_be_before_stop():
    with pytest.raises(ValueError, match="start < stop"):
        cox_fit([2.0, 3.0], [1, 1], [[0.0], [1.0]], ["x"], start=[2.0, 0.0])
