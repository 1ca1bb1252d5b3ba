"""Target-trial protocol, weight diagnostics, the RMST horizon and the bootstrap machinery.

R computes the same quantities live in test_comparative_parity.py (weights, overlap, τ) and
test_comparative_bootstrap_parity.py (bootstrap replicates and boot.ci); these tests check the
rules on hand-computed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from rwe import comparative as cmp
from rwe import comparative_inference as ci
from rwe.exceptions import ConfigError
from test_comparative import adsl_adtte


def test_rcs_basis_by_hand_and_linear_beyond_the_outer_knots():
    knots = [0.0, 1.0, 2.0]
    # x = 3: (3)^3 - (2)^3 (2 - 0)/(2 - 1) + (1)^3 (1 - 0)/(2 - 1) = 27 - 16 + 1 = 12; / (2 - 0)^2.
    assert ci_basis(3.0, knots) == pytest.approx(3.0)
    assert ci_basis(0.5, knots) == pytest.approx(0.125 / 4)
    assert ci_basis(-1.0, knots) == 0.0
    x = np.array([3.0, 4.0, 5.0, 6.0])
    second = np.diff(cmp.rcs_basis(x, [0, 1, 2, 2.5])[:, 0], 2)
    np.testing.assert_allclose(second, 0, atol=1e-9)  # linear beyond the last knot


def ci_basis(x, knots):
    return float(cmp.rcs_basis(np.array([x]), knots)[0, 0])


def test_ps_design_inserts_the_spline_terms_after_their_covariate():
    cohort = pd.DataFrame({"age": np.arange(20.0), "emd": [0, 1] * 10})
    X = cmp.ps_design(cohort, ["age", "emd"], {"age": 4})
    assert list(X.columns) == ["age", "age'", "age''", "emd"]
    np.testing.assert_allclose(
        cmp.rcs_knots(cohort["age"], 4), np.quantile(np.arange(20.0), [0.05, 0.35, 0.65, 0.95])
    )


def test_common_support_and_patients_outside_it():
    ps = np.array([0.1, 0.4, 0.9, 0.2, 0.5, 0.6])
    treated = np.array([1, 1, 1, 0, 0, 0])
    assert ci.common_support(ps, treated) == (0.2, 0.6)
    assert ci.outside_support(ps, treated).tolist() == [True, False, True, False, False, False]


def test_weight_summary_quantiles_ess_and_overlap_counts():
    cohort = pd.DataFrame(
        {
            "treated": [1, 1, 1, 0, 0, 0],
            "ps": [0.1, 0.4, 0.9, 0.2, 0.5, 0.6],
            "kept": [True] * 6,
            "weight": [1.0, 2.0, 3.0, 1.0, 1.0, 4.0],
        }
    )
    table = ci.weight_summary(cohort, ["A", "B"], "A vs B").set_index("group")
    assert table.loc["A", "n_outside_support"] == 2
    assert table.loc["B", "n_outside_support"] == 0
    assert table.loc["all", "n_outside_support"] == 2
    assert table.loc["A", "weight_median"] == 2.0
    assert table.loc["B", "weight_p25"] == 1.0
    assert table.loc["B", "weight_p75"] == 2.5  # type 7: 1 + 0.5 * (4 - 1)
    assert table.loc["A", "ess"] == pytest.approx(36 / 14)
    assert table.loc["all", "weight_sum"] == 12


def test_at_risk_limit_is_the_kth_largest_time():
    assert ci.at_risk_limit([5, 1, 4, 2, 3], 2) == 4
    assert ci.at_risk_limit([1, 2], 3) == -np.inf


def test_a_tau_beyond_too_few_at_risk_is_refused_with_the_arm_named():
    data = pd.DataFrame({"treated": [1, 1, 1, 0, 0, 0], "pfs_time": [2.0, 6, 9, 1, 3, 8]})
    tau, note, refusal = ci.rmst_horizon(data, "PFS", ["A", "B"], 3.0, 2)
    assert (tau, note, refusal) == (3.0, "", "")  # A has 2 at risk up to 6, B up to 3
    tau, note, refusal = ci.rmst_horizon(data, "PFS", ["A", "B"], 4.0, 2)
    assert refusal == (
        "not estimable: τ = 4 months is beyond the time where B has fewer than 2 patients at "
        "risk (3.0 months)"
    )
    tau, note, refusal = ci.rmst_horizon(data, "PFS", ["A", "B"], None, 2)
    assert tau == 3.0
    assert not refusal
    assert "not prespecified" in note


def test_rmst_rows_of_a_refused_tau_have_no_estimate():
    adsl, adtte = adsl_adtte(120, seed=2)
    result = cmp.compare(
        adsl,
        adtte,
        covariates=["age_ge80"],
        rmst_tau_months=1000,
        rmst_min_at_risk=3,
        bootstrap={"replicates": 0},
    )
    rmst = result.tables["rmst"]
    assert rmst["estimate"].isna().all()
    assert rmst["note"].str.startswith("not estimable: τ = 1000 months is beyond").all()
    boot = result.tables["comparative_bootstrap"]
    assert boot.loc[boot["quantity"].str.startswith("rmst"), "estimate"].isna().all()


def test_norm_inter_as_boot_order_statistics_and_interpolation():
    t = np.arange(1.0, 20.0)  # R = 19
    np.testing.assert_allclose(ci.norm_inter(t, [0.05, 0.5, 0.01]), [1.0, 10.0, 1.0])
    t = np.arange(1.0, 21.0)  # R = 20: (R + 1) 0.25 = 5.25
    q1, q2, q3 = special.ndtri([0.25, 5 / 21, 6 / 21])
    assert ci.norm_inter(t[::-1], [0.25])[0] == pytest.approx(5 + (q1 - q2) / (q3 - q2))


def test_boot_ci_normal_is_bias_corrected():
    out = ci.boot_ci(1.0, [0.0, 2.0, 4.0], 0.95)
    z = special.ndtri(0.975)
    assert out["bias"] == 1.0
    assert out["se"] == 2.0
    np.testing.assert_allclose(out["normal"], [-2 * z, 2 * z])


def test_bootstrap_indices_resample_within_each_group():
    treated = np.array([1, 0, 1, 0, 0, 1, 1])
    idx = ci.bootstrap_indices(treated, 50, seed=7)
    assert idx.shape == (50, 7)
    assert (treated[idx[:, :4]] == 1).all()
    assert (treated[idx[:, 4:]] == 0).all()
    np.testing.assert_array_equal(idx, ci.bootstrap_indices(treated, 50, seed=7))
    assert not np.array_equal(idx, ci.bootstrap_indices(treated, 50, seed=8))


def test_bootstrap_table_and_its_cap():
    adsl, adtte = adsl_adtte(120, seed=2)
    options = {"covariates": ["age_ge80", "emd"], "rmst_tau_months": 5, "rmst_min_at_risk": 3}
    result = cmp.compare(adsl, adtte, bootstrap={"replicates": 30, "seed": 1}, **options)
    boot = result.tables["comparative_bootstrap"]
    assert set(boot["quantity"]) == set(ci.BOOT_QUANTITIES)
    hr = boot[(boot["endpoint"] == "PFS") & (boot["quantity"] == "hr")].iloc[0]
    effects = result.tables["comparative_effects"]
    weighted = effects[(effects["endpoint"] == "PFS") & (effects["method"] == "weighted")].iloc[0]
    assert hr["estimate"] == pytest.approx(weighted["hr"])
    assert hr["fixed_ci_lower"] == pytest.approx(weighted["ci_lower"])
    assert hr["replicates"] + hr["failed"] == 30
    assert hr["percentile_lower"] < hr["estimate"] < hr["percentile_upper"]
    again = cmp.compare(adsl, adtte, bootstrap={"replicates": 30, "seed": 1}, **options)
    pd.testing.assert_frame_equal(boot, again.tables["comparative_bootstrap"])
    capped = cmp.compare(adsl, adtte, bootstrap={"replicates": 30, "max_patients": 10}, **options)
    table = capped.tables["comparative_bootstrap"]
    assert table["boot_se"].isna().all()
    assert table["note"].str.contains("exceed compare.bootstrap.max_patients").all()


def test_sensitivity_rows_are_the_primary_pipeline_with_their_options():
    adsl, adtte = adsl_adtte(150, seed=5)
    adsl["age"] = np.random.default_rng(5).normal(65, 10, len(adsl))
    adsl.loc[adsl["regimen"] == "Ixa-Rd", "age"] += 8  # a PS that varies, with extremes
    options = {"covariates": ["age", "emd"], "rmst_tau_months": 5, "rmst_min_at_risk": 3}
    sens = {"trim": 0.1, "truncate": [0.1, 0.9]}
    result = cmp.compare(adsl, adtte, sensitivity=sens, bootstrap={"replicates": 0}, **options)
    table = result.tables["comparative_sensitivity"]
    assert table["analysis"].tolist() == ["primary"] * 2 + ["trimmed"] * 2 + ["truncated"] * 2
    pfs = table[table["endpoint"] == "PFS"]
    assert pfs["hr"].notna().all()
    assert pfs["rmst_difference"].notna().all()
    assert table["hr"].nunique() > 1  # the analyses differ
    for name, change in (("trimmed", {"trim": 0.1}), ("truncated", {"truncate": [0.1, 0.9]})):
        alone = cmp.compare(adsl, adtte, bootstrap={"replicates": 0}, **options, **change)
        effects = alone.tables["comparative_effects"]
        rmst = alone.tables["rmst"]
        for endpoint in ("PFS", "OS"):
            row = table[(table["analysis"] == name) & (table["endpoint"] == endpoint)].iloc[0]
            hr = effects[(effects["endpoint"] == endpoint) & (effects["method"] == "weighted")]
            diff = rmst[
                (rmst["endpoint"] == endpoint)
                & (rmst["method"] == "weighted")
                & (rmst["group"] == "difference")
            ]
            assert row["hr"] == pytest.approx(hr["hr"].iloc[0], nan_ok=True)
            assert row["ci_upper"] == pytest.approx(hr["ci_upper"].iloc[0], nan_ok=True)
            assert row["rmst_difference"] == pytest.approx(diff["estimate"].iloc[0], nan_ok=True)
            assert row["n"] == len(alone.analysed)
            balanced = bool(alone.tables["rmst"]["balance_achieved"].dropna().iloc[0])
            assert row["balance_achieved"] == balanced


def test_failed_balance_marks_weighted_estimates_and_drops_evalues():
    adsl, adtte = adsl_adtte(150, seed=5)
    options = {"covariates": ["age_ge80", "emd"], "bootstrap": {"replicates": 0}}
    strict = cmp.compare(adsl, adtte, balance_threshold=1e-9, **options)
    effects = strict.tables["comparative_effects"]
    weighted = effects["method"] == "weighted"
    assert effects.loc[weighted, "note"].str.contains("not interpretable").all()
    assert effects.loc[weighted, "evalue"].isna().all()
    assert (effects.loc[weighted, "balance_achieved"] == False).all()  # noqa: E712
    loose = cmp.compare(adsl, adtte, balance_threshold=10, **options)
    effects = loose.tables["comparative_effects"]
    weighted = effects["method"] == "weighted"
    assert effects.loc[weighted & (effects["endpoint"] == "PFS"), "evalue"].notna().all()
    assert not effects.loc[weighted, "note"].str.contains("not interpretable").any()


def test_target_trial_protocol_is_written_from_the_options():
    table = ci.target_trial_table(
        ["A", "B"],
        "regimen",
        ["age", "gfr"],
        "ATT",
        "ATT, stabilised",
        18,
        5,
        "myeloma",
        200,
        0.9,
        0.1,
    )
    assert table["component"].tolist() == [
        "Eligibility",
        "Treatment strategies",
        "Assignment",
        "Time zero",
        "Outcomes",
        "Follow-up",
        "Causal contrast",
        "Analysis",
    ]
    text = " ".join(table["target_trial"]) + " ".join(table["emulation"])
    for phrase in ("age, gfr", "ATT", "τ = 18 months (prespecified)", "90% intervals", "200 boot"):
        assert phrase in text
    assert "deaths from other causes censored" in text


def test_a_spline_of_a_covariate_not_in_the_model_is_a_config_error():
    adsl, adtte = adsl_adtte()
    with pytest.raises(ConfigError, match="compare.spline_knots: not propensity covariates: gfr"):
        cmp.compare(adsl, adtte, covariates=["age_ge80"], spline_knots={"gfr": 3})


def test_the_config_check_names_a_propensity_covariate_or_spline_that_is_not_in_adsl(tmp_path):
    from rwe.config import check_config

    config = {
        "sites": {"s1": str(tmp_path)},
        "compare": {"covariates": ["age", "prior_line"], "spline_knots": {"egfr": 3}},
    }
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert "compare.covariates: 'prior_line' is not a column of ADSL" in str(err.value)
    assert "compare.spline_knots: 'egfr' is not a column of ADSL" in str(err.value)
    defaults = check_config({"sites": {"s1": str(tmp_path)}})["compare"]
    assert defaults["rmst_tau_months"] == 18
    assert defaults["bootstrap"] == {"replicates": 200, "seed": 2026, "max_patients": 5000}
    assert defaults["sensitivity"] == {"trim": 0.05, "truncate": [0.01, 0.99]}
