"""Unit logic of rwe.comparative: weights, trimming, balance, E-values, cohort and attrition.

The numbers that R computes are checked against live R in test_comparative_parity.py; these
tests check the rules by hand-derived values and properties.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwe import comparative as cmp
from rwe.exceptions import ConfigError
from rwe.survival import cox_fit


def adsl_adtte(n: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"P{i}" for i in range(n)],
            "regimen": np.where(
                np.arange(n) % 3 == 0, "Ixa-Pd", np.where(np.arange(n) % 3 == 1, "Ixa-Rd", "Ixa-d")
            ),
            "age_ge80": pd.array(rng.integers(0, 2, n), dtype="Int64"),
            "emd": pd.array(rng.integers(0, 2, n), dtype="Int64"),
            "progression_day": np.where(np.arange(n) % 4 == 0, 100.0, np.nan),
            "death_day": np.where(np.arange(n) % 4 == 1, 200.0, np.nan),
        }
    )
    adsl.loc[5, "emd"] = pd.NA
    time = rng.exponential(12, n)
    pfs = adsl[["site", "patient_id"]].assign(paramcd="PFS", aval=time, cnsr=rng.integers(0, 2, n))
    os_ = adsl[["site", "patient_id"]].assign(paramcd="OS", aval=time * 2, cnsr=1)
    return adsl, pd.concat([pfs, os_], ignore_index=True)


# --------------------------------------------------------------------------- weights


def test_ate_and_att_weights_follow_their_formulas():
    treated = np.array([1, 1, 0, 0])
    ps = np.array([0.8, 0.5, 0.25, 0.5])
    np.testing.assert_allclose(cmp.ipt_weights(treated, ps, "ATE"), [1.25, 2, 4 / 3, 2])
    np.testing.assert_allclose(cmp.ipt_weights(treated, ps, "ATT"), [1, 1, 1 / 3, 1])


def test_stabilised_weights_multiply_by_the_group_share():
    treated = np.array([1, 0, 0, 0])
    ps = np.array([0.5, 0.2, 0.4, 0.5])
    plain = cmp.ipt_weights(treated, ps, "ATE")
    stable = cmp.ipt_weights(treated, ps, "ATE", stabilize=True)
    np.testing.assert_allclose(stable, plain * np.array([0.25, 0.75, 0.75, 0.75]))
    att = cmp.ipt_weights(treated, ps, "ATT", stabilize=True)
    np.testing.assert_allclose(att, [1, 0.25 * 3, 2 / 3 * 3, 1 * 3])


def test_unknown_estimand_is_refused():
    with pytest.raises(ValueError, match="estimand"):
        cmp.ipt_weights([1, 0], [0.5, 0.5], "ATC")


def test_trimming_keeps_scores_within_the_bounds():
    ps = np.array([0.04, 0.05, 0.5, 0.95, 0.96])
    assert cmp.trim_keep(ps, 0.05).tolist() == [False, True, True, True, False]
    assert cmp.trim_keep(ps, None).all()


def test_truncation_caps_at_the_percentiles():
    w = np.arange(1.0, 102.0)  # 1..101: the 1st and 99th percentiles are 2 and 100
    out = cmp.truncate_weights(w, [0.01, 0.99])
    assert out.min() == 2
    assert out.max() == 100
    assert (out[1:-1] == w[1:-1]).all()
    assert (cmp.truncate_weights(w, None) == w).all()


def test_kish_effective_sample_size():
    assert cmp.effective_sample_size(np.ones(7)) == pytest.approx(7)
    assert cmp.effective_sample_size([1, 3]) == pytest.approx(16 / 10)


# --------------------------------------------------------------------------- balance


def test_binary_smd_uses_p_times_one_minus_p_of_the_unweighted_groups():
    X = pd.DataFrame({"flag": [1, 1, 0, 0, 1, 0, 0, 0]})
    treated = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    w = np.array([1, 1, 1, 1, 1, 3, 3, 3.0])
    bal = cmp.balance_table(X, treated, w, "ATE").set_index("sample")
    denom = np.sqrt((0.5 * 0.5 + 0.25 * 0.75) / 2)
    assert bal.loc["unweighted", "smd"] == pytest.approx((0.5 - 0.25) / denom)
    assert bal.loc["weighted", "sd_denominator"] == pytest.approx(denom)
    assert bal.loc["weighted", "smd"] == pytest.approx((0.5 - 1 / 10) / denom)
    assert bal.loc["weighted", "ess_control"] == pytest.approx(100 / 28)
    assert bal["type"].eq("binary").all()


def test_continuous_att_smd_is_standardised_by_the_treated_sd():
    X = pd.DataFrame({"age": [60.0, 70, 80, 50, 55, 90]})
    treated = np.array([1, 1, 1, 0, 0, 0])
    bal = cmp.balance_table(X, treated, np.ones(6), "ATT", threshold=0.5)
    row = bal[bal["sample"] == "unweighted"].iloc[0]
    assert row["type"] == "continuous"
    assert row["sd_denominator"] == pytest.approx(np.std([60, 70, 80], ddof=1))
    assert row["smd"] == pytest.approx((70 - 65) / 10)
    assert bool(row["imbalanced"]) is False  # 0.5 is not above the threshold 0.5


# --------------------------------------------------------------------------- E-values


def test_evalue_of_a_rare_outcome_hr():
    estimate, ci = cmp.evalue(2.0, 1.5, 2.7, common=False)
    assert estimate == pytest.approx(2 + np.sqrt(2))
    assert ci == pytest.approx(1.5 + np.sqrt(1.5 * 0.5))


def test_evalue_of_a_protective_hr_uses_its_inverse_and_the_upper_limit():
    estimate, ci = cmp.evalue(0.5, 0.3, 0.8, common=False)
    assert estimate == pytest.approx(2 + np.sqrt(2))
    assert ci == pytest.approx(1.25 + np.sqrt(1.25 * 0.25))


def test_evalue_of_a_ci_that_includes_one_is_one():
    assert cmp.evalue(1.3, 0.9, 1.8, common=False)[1] == 1.0


def test_common_outcome_transformation():
    rr = (1 - 0.5 ** np.sqrt(2.0)) / (1 - 0.5 ** np.sqrt(0.5))
    estimate, _ = cmp.evalue(2.0, 1.5, 2.7, common=True)
    assert estimate == pytest.approx(rr + np.sqrt(rr * (rr - 1)))
    assert cmp.hr_to_rr(1.0, True) == pytest.approx(1.0)


# --------------------------------------------------------------------------- cohort


def test_competing_status_progression_death_or_censored():
    adsl = pd.DataFrame(
        {"progression_day": [10, np.nan, np.nan, 5], "death_day": [np.nan, 20, np.nan, 30]}
    )
    assert cmp.competing_status(adsl).tolist() == [1, 2, 0, 1]


def test_cohort_counts_every_patient_left_out():
    adsl, adtte = adsl_adtte()
    cohort, attrition = cmp.comparison_cohort(
        adsl, adtte, "regimen", ["Ixa-Rd", "Ixa-Pd"], ["age_ge80", "emd"]
    )
    assert (attrition["n_in"] - attrition["n_excluded"] == attrition["n_out"]).all()
    assert (attrition["n_out"].iloc[:-1].to_numpy() == attrition["n_in"].iloc[1:].to_numpy()).all()
    assert attrition["n_out"].iloc[-1] == len(cohort)
    in_levels = adsl["regimen"].isin(["Ixa-Rd", "Ixa-Pd"])
    assert attrition.loc[1, "n_excluded"] == (~in_levels).sum()
    assert attrition.loc[2, "n_excluded"] == (in_levels & adsl["emd"].isna()).sum()
    assert set(cohort["treated"]) == {0, 1}
    assert (cohort["treated"] == (cohort["group"] == "Ixa-Rd")).all()


def test_trimming_is_counted_in_attrition():
    adsl, adtte = adsl_adtte(90, seed=3)
    cohort, _ = cmp.comparison_cohort(
        adsl, adtte, "regimen", ["Ixa-Rd", "Ixa-Pd"], ["age_ge80", "emd"]
    )
    weighted, model, trimmed = cmp.weight_cohort(cohort, ["age_ge80", "emd"], trim=0.49)
    kept = int(weighted["kept"].sum())
    assert trimmed.iloc[0]["n_excluded"] == len(cohort) - kept
    assert weighted.loc[~weighted["kept"], "weight"].isna().all()


@pytest.mark.parametrize(
    ("treatment", "levels", "covariates", "message"),
    [
        ("arm", ["Ixa-Rd", "Ixa-Pd"], [], "not a column"),
        ("regimen", ["Ixa-Rd", "Ixa-Pd"], ["frailty"], "not columns of ADSL: frailty"),
        ("regimen", ["Ixa-Rd", "Ixa-Rd"], [], "two different levels"),
        ("regimen", ["Ixa-Rd", "Ixa-Pd"], ["site"], "not numeric"),
    ],
)
def test_a_comparison_that_cannot_be_made_is_a_config_error(treatment, levels, covariates, message):
    adsl, adtte = adsl_adtte()
    with pytest.raises(ConfigError, match=message):
        cmp.comparison_cohort(adsl, adtte, treatment, levels, covariates)


def test_default_covariates_are_the_confounders_of_regimen_choice_that_exist():
    adsl, _ = adsl_adtte()
    adsl = adsl.assign(prior_lines=2, gfr=60.0, refractory_imid=0)
    assert cmp.comparison_covariates(adsl, None) == ["refractory_imid", "prior_lines", "gfr"]
    assert cmp.comparison_covariates(adsl, ["emd"]) == ["emd"]


def test_a_cohort_with_one_level_writes_every_table_with_the_reason():
    adsl, adtte = adsl_adtte()
    result = cmp.compare(adsl, adtte, levels=["Ixa-Rd", "Ixa-Xd"], covariates=["age_ge80"])
    assert set(result.tables) == set(cmp.TABLE_NAMES)
    assert "no patient with regimen = Ixa-Xd" in result.reason
    for name, table in result.tables.items():
        if name in ("target_trial", "comparative_attrition"):
            continue
        assert len(table) == 1, name
        assert table.astype(str).apply(lambda c: c.str.contains("not estimable")).any().any(), name
    # The attrition still counts every patient.
    attrition = result.tables["comparative_attrition"]
    assert attrition["n_in"].iloc[0] == len(adsl)


def test_trimming_that_empties_a_group_is_not_an_error():
    adsl, adtte = adsl_adtte(90, seed=3)
    # Only Ixa-Rd patients have age_ge80 = 1 and emd = 1 here: their PS is the highest, and
    # trimming just below it keeps no Ixa-Pd patient.
    adsl.loc[adsl["regimen"] == "Ixa-Pd", ["age_ge80", "emd"]] = 0
    adsl.loc[adsl["regimen"] == "Ixa-Rd", ["age_ge80", "emd"]] = 1
    adsl.loc[adsl.index[adsl["regimen"] == "Ixa-Rd"][:3], ["age_ge80", "emd"]] = 0
    result = cmp.compare(
        adsl, adtte, covariates=["age_ge80", "emd"], trim=0.3, bootstrap={"replicates": 0}
    )
    assert "no patient of one level is left after trimming at 0.3" in result.reason
    assert result.tables["comparative_effects"]["note"].str.contains("not estimable").all()


# --------------------------------------------------------------------------- competing risks


def test_fine_gray_without_competing_events_is_cox_with_breslow_ties():
    rng = np.random.default_rng(4)
    n = 120
    x = rng.integers(0, 2, n).astype(float)
    time = np.round(rng.exponential(10 / np.exp(0.5 * x)))
    status = rng.choice([0, 1], n, p=[0.3, 0.7])
    fg = cmp.fine_gray(time, status, x[:, None], ["x"])
    cox = cox_fit(time, status, x[:, None], ["x"], ties="breslow")
    assert fg.converged
    assert fg.coef[0] == pytest.approx(cox.coef[0], rel=1e-5)


def test_gray_test_does_not_depend_on_group_labels():
    rng = np.random.default_rng(5)
    n = 150
    time = rng.exponential(10, n)
    status = rng.choice([0, 1, 2], n)
    group = rng.integers(0, 2, n)
    a = cmp.gray_test(time, status, group)
    b = cmp.gray_test(time, status, np.where(group == 1, "b", "a"))
    c = cmp.gray_test(time, status, 1 - group)
    assert a["df"] == 1
    assert 0 <= a["p"] <= 1
    assert a["statistic"] == pytest.approx(b["statistic"]) == pytest.approx(c["statistic"])


def test_cif_landmark_before_the_first_time_is_zero():
    curves = pd.DataFrame(
        {
            "group": "A",
            "cause": "progression",
            "time": [2.0, 5.0],
            "n_risk": [10, 8],
            "cif": [0.1, 0.3],
            "std_err": [0.05, 0.08],
            "ci_lower": [0.02, 0.1],
            "ci_upper": [0.4, 0.6],
        }
    )
    rows = {r["month"]: r for r in cmp.cif_landmarks(curves, [1, 3, 5, 6])}
    assert rows[1]["estimate"] == 0
    assert rows[1]["n_risk"] == 10
    assert rows[3]["estimate"] == 0.1
    assert rows[3]["n_risk"] == 8
    assert rows[5]["estimate"] == 0.3
    assert 6 not in rows  # beyond the last time: no estimate (R extend = FALSE)
