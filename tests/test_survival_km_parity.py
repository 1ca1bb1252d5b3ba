"""Weighted Kaplan–Meier and RMST equal R's survfit, computed live by tests/r/engine_km.R.

For no weights, whole-number weights (R: Greenwood on the weighted counts) and fractional
weights (R: the infinitesimal-jackknife variance it switches to), under each ``conf.type``:
the curve (weighted n at risk and events, S(t), std.err on the log scale, CI), the median
with its CI, and ``print(fit, rmean = tau)``'s restricted mean and its SE at several tau
(including one beyond the last time and one at an event time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.survival import km_curve, km_quantile, rmst

pytestmark = pytest.mark.r
TAUS = [5.0, 12.0, 20.0, 60.0]


def cohort(seed: int = 3, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "time": np.ceil(rng.exponential(14, n)).clip(1, 40),  # ties
            "event": (rng.uniform(size=n) < 0.75).astype(int),
            "w": rng.uniform(0.2, 4.0, n).round(4),
            "wi": rng.integers(1, 4, n),
        }
    )


def weights_of(d: pd.DataFrame, weighting: str):
    return {"none": None, "integer": d["wi"].to_numpy(), "fractional": d["w"].to_numpy()}[weighting]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine_km")
    d = cohort()
    d.to_csv(folder / "data.csv", index=False)
    run_r("engine_km.R", folder / "data.csv", folder / "r", ",".join(map(str, TAUS)))
    r = {name: pd.read_csv(folder / "r" / f"{name}.csv") for name in ("curve", "median", "rmst")}
    r["curve"]["time"] = r["curve"]["time"].astype(float)  # keys compared as text
    r["rmst"]["tau"] = r["rmst"]["tau"].astype(float)
    curves, medians, rmsts = [], [], []
    for weighting in ("none", "integer", "fractional"):
        for conf_type in ("log", "log-log", "plain"):
            curve = km_curve(d["time"], d["event"], conf_type, weights=weights_of(d, weighting))
            key = {"weighting": weighting, "conf_type": conf_type}
            curves.append(curve.assign(**key))
            median, lower, upper = km_quantile(curve)
            medians.append({**key, "median": median, "ci_lower": lower, "ci_upper": upper})
            rmsts += [{**key, **rmst(curve, tau)} for tau in TAUS]
    ours = {
        "curve": pd.concat(curves, ignore_index=True),
        "median": pd.DataFrame(medians),
        "rmst": pd.DataFrame(rmsts),
    }
    return r, ours


def test_weighted_curves_match_r(tables):
    r, ours = tables
    values = ["n_risk", "n_event", "surv", "std_err", "ci_lower", "ci_upper"]
    keys = ["weighting", "conf_type", "time"]
    assert assert_tables_match(ours["curve"], r["curve"], keys, values, "curve") > 1000


def test_weighted_medians_match_r(tables):
    r, ours = tables
    values = ["median", "ci_lower", "ci_upper"]
    assert (
        assert_tables_match(
            ours["median"], r["median"], ["weighting", "conf_type"], values, "median"
        )
        >= 20
    )


def test_rmst_matches_r(tables):
    r, ours = tables
    keys = ["weighting", "conf_type", "tau"]
    assert assert_tables_match(ours["rmst"], r["rmst"], keys, ["rmean", "se"], "rmst") == 72


def test_fractional_weights_use_the_jackknife_variance():
    d = cohort()
    jackknife = km_curve(d["time"], d["event"], weights=d["w"])
    greenwood = km_curve(d["time"], d["event"], weights=d["w"], robust=False)
    assert np.allclose(jackknife["surv"], greenwood["surv"])
    assert not np.allclose(jackknife["std_err"], greenwood["std_err"])


def test_unit_weights_equal_the_unweighted_curve():
    d = cohort()
    plain = km_curve(d["time"], d["event"])
    unit = km_curve(d["time"], d["event"], weights=np.ones(len(d)))
    pd.testing.assert_frame_equal(plain, unit, check_dtype=False)
