"""Inverse-variance meta-analysis against R ``metafor::rma``, live, and by hand."""

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.meta import inverse_variance


def cases() -> pd.DataFrame:
    """Per-site log hazard ratios and variances: heterogeneous, homogeneous, 1, 2 and 12 sites."""
    rng = np.random.default_rng(11)
    rows = []

    def add(name, yi, vi):
        rows.extend((name, y, v) for y, v in zip(yi, vi, strict=True))

    add("heterogeneous", [0.9, 0.1, 0.55, -0.2, 1.3], [0.04, 0.09, 0.05, 0.12, 0.2])
    add("homogeneous", [0.50, 0.52, 0.49, 0.51], [0.1, 0.2, 0.15, 0.3])  # DL/REML tau2 = 0
    add("one_site", [0.7], [0.05])
    add("two_sites", [0.2, 1.1], [0.03, 0.06])
    add("many_sites", rng.normal(0.4, 0.35, 12), rng.uniform(0.01, 0.3, 12))
    add("tiny_variances", [0.31, 0.29, 0.35], [1e-4, 2e-4, 1.5e-4])
    return pd.DataFrame(rows, columns=["case", "yi", "vi"])


def rwe_table(data: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    rows = []
    for case, d in data.groupby("case", sort=False):
        for method in ("FE", "DL", "REML"):
            rows.append(
                {
                    "case": case,
                    "method": method,
                    **inverse_variance(d["yi"], d["vi"], method, conf_level),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.r
@pytest.mark.parametrize("conf_level", [0.95, 0.9])
def test_inverse_variance_equals_metafor_rma(tmp_path, conf_level):
    """R: ``rma(yi, vi, method = m, level = 100 * conf_level)`` for m in FE, DL, REML."""
    data = cases()
    data.to_csv(tmp_path / "cases.csv", index=False)
    run_r("meta_reference.R", tmp_path / "cases.csv", tmp_path / "r.csv", conf_level)
    r = pd.read_csv(tmp_path / "r.csv")
    values = [
        "k",
        "estimate",
        "se",
        "ci_lower",
        "ci_upper",
        "z",
        "p",
        "tau2",
        "q",
        "q_p",
        "i2",
        "h2",
    ]
    compared = assert_tables_match(
        rwe_table(data, conf_level), r, ["case", "method"], values, "meta"
    )
    assert compared == len(r) * len(values)
    # The cases exercise what they claim: heterogeneity found, and tau2 truncated at 0.
    het = r[(r["case"] == "heterogeneous") & (r["method"] != "FE")]
    assert (het["tau2"] > 0).all()
    assert (r.loc[r["case"] == "homogeneous", "tau2"] == 0).all()


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
