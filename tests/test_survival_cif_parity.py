"""Aalen–Johansen cumulative incidence equals R's survfit(Surv(time, factor(status)) ~ 1).

Computed live by tests/r/engine_cif.R: per cause and time, ``pstate``, its infinitesimal
jackknife ``std.err`` and the CI under each ``conf.type``, unweighted and with fractional case
weights; data with ties within and across causes and censorings at event times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.survival import cumulative_incidence, km_curve

pytestmark = pytest.mark.r


def cohort(seed: int = 5, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "time": np.ceil(rng.exponential(10, n)).clip(1, 30),
            "status": rng.choice([0, 1, 2], n, p=[0.3, 0.45, 0.25]),
            "w": rng.uniform(0.2, 3.0, n).round(4),
        }
    )


def test_cumulative_incidence_matches_r(tmp_path):
    d = cohort()
    d.to_csv(tmp_path / "data.csv", index=False)
    run_r("engine_cif.R", tmp_path / "data.csv", tmp_path / "r.csv")
    r = pd.read_csv(tmp_path / "r.csv")
    r["time"] = r["time"].astype(float)
    ours = []
    for weighting, weights in (("none", None), ("fractional", d["w"].to_numpy())):
        for conf_type in ("log", "log-log", "plain"):
            cif = cumulative_incidence(d["time"], d["status"], weights, conf_type)
            ours.append(cif.assign(weighting=weighting, conf_type=conf_type))
    keys = ["weighting", "conf_type", "cause", "time"]
    values = ["cif", "std_err", "ci_lower", "ci_upper"]
    assert assert_tables_match(pd.concat(ours), r, keys, values, "cif") > 1000


def test_one_cause_is_one_minus_kaplan_meier():
    d = cohort()
    event = (d["status"] > 0).astype(int)
    cif = cumulative_incidence(d["time"], event)
    km = km_curve(d["time"], event)
    assert np.allclose(cif["cif"], 1 - km["surv"])


def test_causes_and_survival_add_up_to_one():
    d = cohort()
    cif = cumulative_incidence(d["time"], d["status"])
    total = cif.groupby("time")["cif"].sum().to_numpy()
    km = km_curve(d["time"], (d["status"] > 0).astype(int))
    assert np.allclose(total + km["surv"].to_numpy(), 1)
