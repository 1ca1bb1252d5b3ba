"""Response tables: hand-checkable cases for Clopper–Pearson, Fisher's conditional MLE and counts.

R parity on the demo and edge tables is in test_response_parity.py.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rwe import response


def test_uniroot_finds_a_root_within_r_tolerance():
    root = response.uniroot(lambda x: x**2 - 2, 0.0, 2.0)
    assert abs(root - np.sqrt(2)) < response.UNIROOT_TOL


@pytest.mark.parametrize(("x", "n"), [(0, 10), (10, 10), (3, 17), (1, 1)])
def test_clopper_pearson_is_the_beta_quantile_interval(x, n):
    """binom.test's interval: qbeta(a/2, x, n-x+1), qbeta(1-a/2, x+1, n-x); 0 and 1 at the edges."""
    lower, upper = response.clopper_pearson(x, n)
    expected_lower = stats.beta.ppf(0.025, x, n - x + 1) if x > 0 else 0.0
    expected_upper = stats.beta.ppf(0.975, x + 1, n - x) if x < n else 1.0
    assert (lower, upper) == pytest.approx((expected_lower, expected_upper), rel=1e-10)
    if x == 0:  # closed form: the "rule of three" interval
        assert upper == pytest.approx(1 - 0.025 ** (1 / n))
    assert np.isnan(response.clopper_pearson(0, 0)).all()


def test_conditional_mle_solves_its_score_equation_and_is_not_the_sample_or():
    """[[2, 1], [1, 2]]: margins 3/3/3, P(a) ∝ C(3,a) C(3,3-a) ψ^a ∝ 1, 9ψ, 9ψ², ψ³.

    E[a] = 2 gives (9ψ + 18ψ² + 3ψ³) = 2 (1 + 9ψ + 9ψ² + ψ³), i.e. ψ³ - 9ψ - 2 = 0.
    """
    roots = np.roots([1, 0, -9, -2])
    expected = max(r.real for r in roots if abs(r.imag) < 1e-12)
    estimate = response.conditional_mle_odds_ratio([[2, 1], [1, 2]])
    assert estimate == pytest.approx(expected, rel=1e-4)
    assert estimate != pytest.approx(4.0, rel=0.05)  # the sample odds ratio ad/bc


def test_conditional_mle_is_symmetric_and_zero_or_infinite_at_the_edges():
    assert response.conditional_mle_odds_ratio([[3, 3], [3, 3]]) == 1.0
    a = response.conditional_mle_odds_ratio([[5, 2], [3, 6]])
    b = response.conditional_mle_odds_ratio([[3, 6], [5, 2]])  # groups swapped: 1 / OR
    assert a * b == pytest.approx(1, rel=1e-4)
    assert response.conditional_mle_odds_ratio([[0, 4], [3, 3]]) == 0.0  # zero cell
    assert response.conditional_mle_odds_ratio([[4, 0], [3, 3]]) == np.inf


def test_fisher_p_sums_the_tables_no_more_likely_than_observed():
    table = [[7, 2], [3, 8]]
    _, p = response.fisher_exact(table)
    # Margins: 10 responders among 20, 9 in group 1. Hypergeometric over a = 0..9.
    pmf = stats.hypergeom.pmf(np.arange(0, 10), 20, 10, 9)
    assert p == pytest.approx(pmf[pmf <= pmf[7] * (1 + 1e-7)].sum(), rel=1e-12)
    assert response.fisher_exact([[2, 2], [2, 2]])[1] == pytest.approx(1.0)


def _adsl():
    best = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", None, "PR"]
    return pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(10)],
            "best_response": best,
            "emd": pd.array([1, 1, 0, 0, 0, 0, 1, 0, 1, None], dtype="Int64"),
            "responder": pd.array([1, 1, 1, 1, 0, 0, 0, None, None, 1], dtype="Int64"),
        }
    )


def test_response_table_counts_and_denominators():
    table = response.response_table({"all": _adsl()}, ["emd", "responder"])
    whole = table.iloc[0]
    assert list(table.columns[: len(response.RESPONSE_COLUMNS)]) == response.RESPONSE_COLUMNS
    assert (whole["variable"], whole["level"]) == ("all", "all")
    assert whole["n_evaluable"] == 8  # NE and blank are left out of the denominator ...
    assert whole["NE"] == 1  # ... the explicit NE ...
    assert whole["n_not_evaluable"] == 2  # ... and both are counted
    assert whole["PR"] == 2
    assert whole["orr"] == pytest.approx(5 / 8)  # sCR, CR, VGPR, PR, PR
    assert whole["cbr"] == pytest.approx(6 / 8)  # + MR; SD is disease control, not CBR
    assert (whole["orr_ci_lower"], whole["orr_ci_upper"]) == response.clopper_pearson(5, 8)
    assert set(table["variable"]) == {"all", "emd"}  # responder is the outcome: no rows
    emd1 = table[(table["variable"] == "emd") & (table["level"] == "1")].iloc[0]
    assert (emd1["n_evaluable"], emd1["n_not_evaluable"], emd1["n_missing"]) == (3, 1, 1)


def test_response_tests_compare_levels_and_note_the_circular_subgroup():
    tests = response.response_test_table({"all": _adsl()}, ["emd", "responder"])
    orr = tests[(tests["variable"] == "emd") & (tests["measure"] == "orr")].iloc[0]
    # Evaluable with known emd: level 1 = sCR, CR, PD (2/3 respond); level 0 = VGPR, PR, MR, SD (2/4).
    assert (orr["rate_1"], orr["rate_0"]) == pytest.approx((2 / 3, 2 / 4))
    assert (orr["odds_ratio"], orr["p"]) == response.fisher_exact([[2, 1], [2, 2]])
    circular = tests[tests["variable"] == "responder"]
    assert len(circular) == 2
    assert circular["p"].isna().all()
    assert circular["note"].str.contains("circular").all()


def test_a_level_without_patients_is_noted_not_tested():
    adsl = _adsl().assign(emd=pd.array([0] * 10, dtype="Int64"))
    tests = response.response_test_table({"all": adsl}, ["emd"])
    assert tests["p"].isna().all()
    assert (tests["n_1"] == 0).all()
    assert tests["note"].str.startswith("not tested").all()
