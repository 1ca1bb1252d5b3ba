"""The bootstrap of the weighted comparison against R, live (tests/r/comparative_bootstrap_reference.R).

rwe draws the stratified resamples; R reruns the whole pipeline on each (splines, glm, weights,
truncation, coxph, survfit) and computes boot::boot.ci's normal and percentile intervals from
a boot object holding its replicates. The replicate estimates and the intervals must agree at
1e-4, so both the pipeline and the interval methods are checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from r_reference import RTOL, run_r
from rwe import comparative as cmp
from rwe.comparative_inference import bootstrap_indices
from test_comparative_parity import ROOT, extract_to_adam

pytestmark = pytest.mark.r
LANDMARKS = [6, 12, 24]


@pytest.fixture(scope="module")
def demo():
    return extract_to_adam(ROOT / "data" / "demo", "demo")


def na(v):
    return "NA" if v is None else ",".join(map(str, v)) if isinstance(v, list) else v


def bootstrap_with_r(tmp_path, adsl, adtte, covariates, splines, taus, replicates, **options):
    o = {"estimand": "ATE", "stabilize": True, "trim": None, "truncate": None, **options}
    cohort, _ = cmp.comparison_cohort(adsl, adtte, "regimen", ["Ixa-Rd", "Ixa-Pd"], covariates)
    pipeline = {
        **o,
        "splines": splines,
        "taus": taus,
        "landmarks_months": LANDMARKS,
        "ties": "efron",
    }
    levels = ["Ixa-Rd", "Ixa-Pd"]
    point = cmp.weighted_estimates(cohort, levels, covariates, **pipeline)
    indices = bootstrap_indices(cohort["treated"].to_numpy(), replicates, seed=11)
    intervals, t = cmp.bootstrap_comparison(
        cohort,
        levels,
        covariates,
        point,
        replicates=replicates,
        seed=11,
        indices=indices,
        **pipeline,
    )
    cols = ["treated", *covariates, "pfs_time", "pfs_event", "os_time", "os_event"]
    cohort[cols].to_csv(tmp_path / "cohort.csv", index=False)
    np.savetxt(tmp_path / "indices.csv", indices + 1, fmt="%d", delimiter=",")
    run_r(
        "comparative_bootstrap_reference.R",
        tmp_path,
        tmp_path / "r",
        ",".join(covariates),
        na([f"{c}:{k}" for c, k in splines.items()] or None),
        o["estimand"],
        str(o["stabilize"]).upper(),
        na(o["trim"]),
        na(o["truncate"]),
        taus["PFS"],
        taus["OS"],
        na(LANDMARKS),
        "efron",
        0.95,
    )
    r_t0 = pd.read_csv(tmp_path / "r" / "t0.csv")["t0"].to_numpy(float)
    r_t = pd.read_csv(tmp_path / "r" / "t.csv").to_numpy(float)
    r_ci = pd.read_csv(tmp_path / "r" / "boot_ci.csv")
    np.testing.assert_allclose(list(point.values()), r_t0, rtol=RTOL, equal_nan=True)
    assert t.shape == r_t.shape
    np.testing.assert_allclose(t, r_t, rtol=RTOL, atol=1e-10, equal_nan=True)
    ours = np.array(
        [[*intervals[k]["normal"], *intervals[k]["percentile"]] for k in point], dtype=float
    )
    theirs = r_ci[["normal_lower", "normal_upper", "percentile_lower", "percentile_upper"]]
    np.testing.assert_allclose(ours, theirs.to_numpy(float), rtol=RTOL, atol=1e-10)
    return int(np.isfinite(t).sum()), int((~np.isfinite(t)).sum())


def test_bootstrap_of_the_demo_pipeline_matches_r(tmp_path, demo):
    finite, failed = bootstrap_with_r(
        tmp_path,
        *demo,
        covariates=cmp.REGIMEN_CONFOUNDERS,
        splines={"gfr": 3},
        taus={"PFS": 18.0, "OS": 18.0},
        replicates=60,
    )
    assert finite > 60 * 10  # 12 quantities, almost all estimable


def test_bootstrap_with_truncation_trimming_and_att_matches_r(tmp_path, demo):
    finite, failed = bootstrap_with_r(
        tmp_path,
        *demo,
        covariates=["age", "gfr", "prior_lines", "refractory_pi"],
        splines={},
        taus={"PFS": 12.0, "OS": 24.0},
        replicates=40,
        estimand="ATT",
        stabilize=False,
        trim=0.05,
        truncate=[0.02, 0.98],
    )
    assert finite > 40 * 10
