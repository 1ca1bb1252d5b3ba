"""Inverse-variance meta-analysis against R ``metafor::rma``, live, and by hand."""

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.meta import heterogeneity_ci, inverse_variance, resolve_test


def cases() -> pd.DataFrame:
    """Per-site log hazard ratios and variances: heterogeneous, homogeneous, 1, 2 and 12 sites."""
    rng = np.random.default_rng(11)
    rows = []

    def add(name, yi, vi):
        rows.extend((name, y, v) for y, v in zip(yi, vi, strict=True))

    add("heterogeneous", [0.9, 0.1, 0.55, -0.2, 1.3], [0.04, 0.09, 0.05, 0.12, 0.2])
    add("homogeneous", [0.50, 0.52, 0.49, 0.51], [0.1, 0.2, 0.15, 0.3])  # DL/REML tau2 = 0
    add("one_site", [0.7], [0.05])
    add("two_sites", [0.2, 1.1], [0.03, 0.06])  # tau2 CI: upper bound beyond the search limit
    add("two_close_sites", [0.300, 0.305], [0.04, 0.05])  # tau2 = 0, Q(0) below both quantiles
    add("many_sites", rng.normal(0.4, 0.35, 12), rng.uniform(0.01, 0.3, 12))
    add("tiny_variances", [0.31, 0.29, 0.35], [1e-4, 2e-4, 1.5e-4])
    return pd.DataFrame(rows, columns=["case", "yi", "vi"])


COMBINATIONS = [("FE", "z"), ("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha")]
VALUES = ["k", "estimate", "se", "ci_lower", "ci_upper", "z", "p", "df", "pi_lower", "pi_upper"]
VALUES += ["tau2", "tau", "q", "q_p", "i2", "h2"]
VALUES += [f"{q}_ci_{side}" for q in ("tau2", "tau", "i2", "h2") for side in ("lower", "upper")]


def rwe_table(data: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    rows = []
    for case, d in data.groupby("case", sort=False):
        for method, test in COMBINATIONS:
            fit = inverse_variance(d["yi"], d["vi"], method, conf_level, test)
            if method != "FE" and len(d) > 1:
                fit |= heterogeneity_ci(d["yi"], d["vi"], fit["tau2"], conf_level)
            rows.append({**fit, "case": case, "method": method, "test": test})
    return pd.DataFrame(rows)


@pytest.mark.r
@pytest.mark.parametrize("conf_level", [0.95, 0.9])
def test_inverse_variance_equals_metafor_rma(tmp_path, conf_level):
    """R: ``rma(yi, vi, method = m, test = t, level = 100 * conf_level)``, ``predict()`` and
    ``confint()`` for m in FE, DL, REML and t in z, knha (FE with z only)."""
    data = cases()
    data.to_csv(tmp_path / "cases.csv", index=False)
    run_r("meta_reference.R", tmp_path / "cases.csv", tmp_path / "r.csv", conf_level)
    r = pd.read_csv(tmp_path / "r.csv")
    ours = rwe_table(data, conf_level)
    compared = assert_tables_match(ours, r, ["case", "method", "test"], VALUES, "meta")
    assert compared == int(r[VALUES].notna().to_numpy().sum()) > 0.75 * len(r) * len(VALUES)
    # The cases exercise what they claim: heterogeneity found, and tau2 truncated at 0.
    het = r[(r["case"] == "heterogeneous") & (r["method"] != "FE")]
    assert (het["tau2"] > 0).all()
    assert (r.loc[r["case"] == "homogeneous", "tau2"] == 0).all()
    # knha: t on k - 1 df, wider than Wald here; the prediction interval contains the CI.
    reml = r[r["method"] == "REML"].set_index(["case", "test"])
    assert reml.loc[("heterogeneous", "knha"), "df"] == 4
    with_pi = r[r["pi_lower"].notna()]
    assert len(with_pi) == (r["method"] != "FE").sum()  # FE has none, in metafor and rwe
    assert (with_pi["pi_lower"] <= with_pi["ci_lower"] + 1e-12).all()
    # The undefined Q-profile bounds are NA in R (metafor's ">" and "<") and in rwe, with why.
    assert np.isnan(reml.loc[("two_sites", "knha"), "tau2_ci_upper"])
    assert reml.loc[("two_sites", "knha"), "tau2_ci_lower"] >= 0
    assert np.isnan(reml.loc[("two_close_sites", "knha"), "tau2_ci_lower"])
    notes = ours[ours["method"] == "REML"].set_index(["case", "test"])["ci_note"]
    assert "above the search limit 100" in notes[("two_sites", "knha")]
    assert "empty set" in notes[("two_close_sites", "knha")]
    assert notes[("heterogeneous", "knha")] == ""


def test_fixed_effect_by_hand():
    """Two sites with equal variance: the pooled estimate is their mean, se = sqrt(v / 2)."""
    out = inverse_variance([0.2, 0.6], [0.04, 0.04], "FE")
    assert out["estimate"] == pytest.approx(0.4)
    assert out["se"] == pytest.approx(np.sqrt(0.02))
    # Q = sum w (y - mean)^2 = 25 * (0.04 + 0.04) = 2; I2 = (Q - df) / Q = 50 %
    assert out["q"] == pytest.approx(2.0)
    assert out["i2"] == pytest.approx(50.0)
    assert out["tau2"] == 0


def test_dersimonian_laird_by_hand():
    """tau2 = (Q - df) / (sum w - sum w^2 / sum w) = (2 - 1) / (50 - 25) = 0.04."""
    out = inverse_variance([0.2, 0.6], [0.04, 0.04], "DL")
    assert out["tau2"] == pytest.approx(0.04)
    assert out["se"] == pytest.approx(np.sqrt(0.08 / 2))


def test_no_usable_site_is_not_estimable():
    out = inverse_variance([np.nan, 0.3], [0.1, 0.0], "REML")
    assert np.isnan(out["estimate"])
    assert out["note"].startswith("not estimable")


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        inverse_variance([0.1], [0.1], "PM")


def test_hartung_knapp_by_hand():
    """Two sites, equal variance 0.04, tau2 (DL) = 0.04: w = 12.5 each, mu = 0.4,
    RSS = 12.5 * (0.04 + 0.04) = 1 = s2w (1 df), so se = sqrt(1 / 25) = 0.2, t = 2 and the CI is
    0.4 ± qt(0.975, 1) * 0.2; the prediction interval 0.4 ± qt(0.975, 1) * sqrt(0.04 + 0.04)."""
    out = inverse_variance([0.2, 0.6], [0.04, 0.04], "DL", test="knha")
    t1 = 12.706204736174698  # qt(0.975, 1) = tan(0.475 pi)
    assert t1 == pytest.approx(np.tan(0.475 * np.pi))
    assert out["df"] == 1
    assert out["se"] == pytest.approx(0.2)
    assert out["z"] == pytest.approx(2.0)
    assert out["ci_upper"] == pytest.approx(0.4 + t1 * 0.2)
    assert out["pi_upper"] == pytest.approx(0.4 + t1 * np.sqrt(0.08))
    # p of t = 2 on 1 df: 1 - 2 atan(2) / pi
    assert out["p"] == pytest.approx(1 - 2 * np.arctan(2) / np.pi)


def test_q_profile_by_hand():
    """Two sites, equal variance v: Q(tau2) = (y1 - y2)^2 / (2 (v + tau2)), so the bound for
    quantile c is tau2 = d^2 / (2 c) - v; I2 = tau2 / (v + tau2) with vt = v."""
    from scipy import stats

    d, v = 1.0, 0.04
    out = heterogeneity_ci([0.0, d], [v, v], tau2=0.46, conf_level=0.9)
    lower = d**2 / (2 * stats.chi2.ppf(0.95, 1)) - v
    assert out["tau2_ci_lower"] == pytest.approx(lower, rel=1e-12)
    assert out["i2_ci_lower"] == pytest.approx(100 * lower / (v + lower), rel=1e-12)
    assert out["tau_ci_lower"] == pytest.approx(np.sqrt(lower), rel=1e-12)
    # upper: d^2 / (2 * 0.00393) - 0.04 = 127 > 100 (the search limit): undefined
    assert np.isnan(out["tau2_ci_upper"])
    assert "above the search limit 100" in out["ci_note"]


def test_auto_test_rule():
    assert resolve_test("auto", "REML", 3, 10) == "knha"
    assert resolve_test("auto", "DL", 9, 10) == "knha"
    assert resolve_test("auto", "REML", 10, 10) == "z"
    assert resolve_test("auto", "FE", 3, 10) == "z"
    assert resolve_test("z", "REML", 3, 10) == "z"
    assert resolve_test("knha", "REML", 30, 10) == "knha"
    with pytest.raises(ValueError, match="test must be one of"):
        resolve_test("t", "REML", 3, 10)
