"""Parity of the comparative-effectiveness tables with R, computed live by tests/r/comparative_reference.R.

R side: ``glm(family = binomial)``; the weights by formula; cobalt's SMD by hand with
``weighted.mean``; ``coxph(Surv(t, e) ~ treated, weights = w, robust = TRUE)``;
``print(survfit(...), rmean = tau)``; ``quantile`` and ``summary(times =)`` of weighted
``survfit``; ``survfit(Surv(t, factor(status)) ~ 1)``;
``cmprsk::cuminc`` (Gray's test) and ``cmprsk::crr``; E-values by VanderWeele & Ding's formulas.
Cohorts: the bundled demo extract (two option sets) and a simulated cohort of 600 patients
with continuous covariates (two option sets); the three CI types of km.conf_type.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import RTOL, assert_tables_match, run_r
from rwe import comparative as cmp
from rwe.derive import derive_adsl, derive_adtte
from rwe.io import read_site
from rwe.simulate import simulate_site, write_site
from rwe.validate import validate_extract

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]
COX_COVARIATES = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]
LANDMARKS = [6, 12, 24]
KEYS = {
    "ps_model": (["term"], ["coef", "se", "z", "p"]),
    "ps_weights": (
        ["group"],
        [
            *["n", "n_outside_support", "support_lower", "support_upper", "weight_min"],
            *["weight_p05", "weight_p25", "weight_median", "weight_p75", "weight_p95"],
            *["weight_max", "weight_sum", "ess"],
        ],
    ),
    "ps_balance": (
        ["covariate", "sample"],
        [
            "mean_treated",
            "mean_control",
            "diff",
            "sd_denominator",
            "smd",
            "ess_treated",
            "ess_control",
        ],
    ),
    "comparative_effects": (
        ["endpoint", "method"],
        [
            "hr",
            "ci_lower",
            "ci_upper",
            "p",
            "se",
            "n",
            "events",
            "outcome_share",
            "evalue",
            "evalue_ci",
        ],
    ),
    "comparative_km": (
        ["endpoint", "method", "group", "statistic", "month"],
        ["estimate", "ci_lower", "ci_upper", "n_risk"],
    ),
    "rmst": (
        ["endpoint", "method", "group"],
        ["tau", "estimate", "se", "ci_lower", "ci_upper", "p"],
    ),
    "competing_risks": (
        ["analysis", "group", "cause", "month"],
        ["estimate", "se", "ci_lower", "ci_upper", "n_risk", "statistic", "df", "p"],
    ),
}


def extract_to_adam(folder: Path, site: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables, _ = read_site(folder, site)
    typed = validate_extract({site: tables})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


@pytest.fixture(scope="module")
def demo():
    return extract_to_adam(ROOT / "data" / "demo", "demo")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulated") / "sim"
    write_site(simulate_site(600, seed=15, site="sim"), folder)
    return extract_to_adam(folder, "sim")


def compare_with_r(tmp_path: Path, adsl, adtte, **options) -> int:
    """Run R and rwe on the same ADaM files; every table equal at 1e-4. Returns values compared."""
    adam = tmp_path / "adam"
    adam.mkdir(exist_ok=True)
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    o = {
        "treatment": "regimen",
        "levels": ["Ixa-Rd", "Ixa-Pd"],
        "estimand": "ATE",
        "stabilize": True,
        "trim": None,
        "truncate": None,
        "rmst_tau_months": None,
        "rmst_min_at_risk": 1,
        "spline_knots": {},
        "balance_threshold": 0.1,
        "evalue_common_outcome": 0.15,
        "conf_type": "log",
        "ties": "efron",
        **options,
    }
    na = lambda v: "NA" if v is None else ",".join(map(str, v)) if isinstance(v, list) else v  # noqa: E731
    run_r(
        "comparative_reference.R",
        adam,
        tmp_path / "r",
        o["treatment"],
        na(o["levels"]),
        na(o["covariates"]),
        o["estimand"],
        str(o["stabilize"]).upper(),
        na(o["trim"]),
        na(o["truncate"]),
        na(o["rmst_tau_months"]),
        o["balance_threshold"],
        o["evalue_common_outcome"],
        0.95,
        na(LANDMARKS),
        o["conf_type"],
        o["ties"],
        o["rmst_min_at_risk"],
        na([f"{c}:{k}" for c, k in o["spline_knots"].items()] or None),
    )
    o["bootstrap"] = {"replicates": 0}  # the bootstrap has its own parity test
    result = cmp.compare(adsl, adtte, landmarks_months=LANDMARKS, **o)
    r_dir = tmp_path / "r"
    # Per patient: the propensity score and the final weight.
    r_ps = pd.read_csv(r_dir / "ps.csv", dtype={"patient_id": str})
    ours = result.analysed[["site", "patient_id", "ps", "weight"]]
    compared = assert_tables_match(ours, r_ps, ["site", "patient_id"], ["ps", "weight"], "ps")
    for name, (keys, values) in KEYS.items():
        py = result.tables[name]
        if name == "ps_model":
            py = py.dropna(subset=["coef"])
        compared += assert_tables_match(py, pd.read_csv(r_dir / f"{name}.csv"), keys, values, name)
    # The imbalance flags follow from the SMDs: equal unless an SMD sits at the threshold.
    r_bal = pd.read_csv(r_dir / "ps_balance.csv")
    flags = result.tables["ps_balance"].merge(r_bal, on=["covariate", "sample"])
    near = np.isclose(flags["smd_x"].abs(), o["balance_threshold"], rtol=RTOL)
    assert (flags["imbalanced_x"] == flags["imbalanced_y"])[~near].all()
    return compared


def test_demo_default_options_match_r(tmp_path, demo):
    assert compare_with_r(tmp_path, *demo, covariates=COX_COVARIATES) > 150


def test_demo_att_trimmed_truncated_match_r(tmp_path, demo):
    n = compare_with_r(
        tmp_path,
        *demo,
        covariates=COX_COVARIATES,
        estimand="ATT",
        stabilize=False,
        trim=0.2,
        truncate=[0.05, 0.95],
        rmst_tau_months=24,
        evalue_common_outcome=0.5,
        conf_type="log-log",
        ties="breslow",
    )
    assert n > 150


def test_simulated_cohort_with_continuous_covariates_matches_r(tmp_path, simulated):
    adsl, adtte = simulated
    covariates = ["age", "prior_lines", "gfr", "triple_class_refractory", "emd"]
    assert adsl["regimen"].isin(["Ixa-Rd", "Ixa-Pd"]).sum() > 200
    n = compare_with_r(tmp_path, adsl, adtte, covariates=covariates, trim=0.05)
    assert n > 200


def test_simulated_att_stabilised_matches_r(tmp_path, simulated):
    adsl, adtte = simulated
    covariates = ["age", "prior_lines", "high_risk_cyto", "age_ge80"]
    n = compare_with_r(
        tmp_path,
        adsl,
        adtte,
        covariates=covariates,
        estimand="ATT",
        truncate=[0.01, 0.99],
        levels=["Ixa-Pd", "Ixa-Rd"],
        conf_type="plain",
    )
    assert n > 150


def test_demo_regimen_confounders_with_splines_and_refused_tau_match_r(tmp_path, demo):
    adsl, adtte = demo
    n = compare_with_r(
        tmp_path,
        adsl,
        adtte,
        covariates=cmp.REGIMEN_CONFOUNDERS,
        spline_knots={"gfr": 3, "age": 4},
        rmst_tau_months=30,
        rmst_min_at_risk=5,
    )
    assert n > 150
    # PFS at 30 months is refused for Ixa-Pd (fewer than 5 at risk), OS is not.
    result = cmp.compare(
        adsl,
        adtte,
        covariates=cmp.REGIMEN_CONFOUNDERS,
        rmst_tau_months=30,
        rmst_min_at_risk=5,
        bootstrap={"replicates": 0},
    )
    rmst = result.tables["rmst"]
    pfs = rmst[rmst["endpoint"] == "PFS"]
    assert pfs["estimate"].isna().all()
    assert pfs["note"].str.contains("beyond the time where Ixa-Pd has fewer than 5").all()
    assert rmst.loc[rmst["endpoint"] == "OS", "estimate"].notna().all()


def test_data_driven_tau_is_the_last_time_with_enough_at_risk_as_r(tmp_path, simulated):
    adsl, adtte = simulated
    n = compare_with_r(
        tmp_path,
        adsl,
        adtte,
        covariates=["age", "gfr", "prior_lines"],
        spline_knots={"gfr": 5},
        rmst_min_at_risk=10,
    )
    assert n > 150
