"""Degenerate statistics (issue 13, class 3): each gives an explicit "not estimable" or "not
testable" with its reason, never an exception, a NaN or inf without a reason, or a
meaningless hazard ratio.

One named test per case of docs/reliability.md (class 3). The same cohorts are compared
with R (which returns a flat coefficient of 0, or stops) in test_survival_parity.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st_h

from rwe import survival
from rwe import survival_tables as st
from rwe.derive import analysis_sets

FLAGS = ["gfr_le70", "emd", "imid_containing"]


def cohort(n: int = 60, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and ADTTE of ``n`` patients: two regimens, three flags, PFS and OS."""
    rng = np.random.default_rng(seed)
    regimen = np.where(np.arange(n) < 2 * n // 3, "Ixa-Rd", "Ixa-Pd")
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"P{i:03d}" for i in range(n)],
            "regimen": regimen,
            "gfr_le70": rng.integers(0, 2, n),
            "emd": rng.integers(0, 2, n),
            "imid_containing": (regimen == "Ixa-Rd").astype(int),  # constant within a regimen
        }
    )
    rows = [
        (p, endpoint, float(t), int(c))
        for endpoint in ("PFS", "OS")
        for p, t, c in zip(
            adsl["patient_id"],
            np.ceil(rng.exponential(12, n)),
            rng.integers(0, 2, n),
            strict=True,
        )
    ]
    adtte = pd.DataFrame(rows, columns=["patient_id", "paramcd", "aval", "cnsr"]).assign(site="s")
    return adsl, adtte


def tables(adsl, adtte, min_regimen_n: int = 10) -> dict[str, pd.DataFrame]:
    sets = analysis_sets(adsl, min_regimen_n)
    fits = st.km_fits(adsl, adtte, sets, FLAGS)
    models = st.cox_models(adsl, adtte, sets, FLAGS[:2])
    return {
        "km_medians": st.km_median_table(fits),
        "km_landmarks": st.km_landmark_table(fits, [6, 12]),
        "followup": st.followup_table(adsl, adtte, sets),
        "logrank": st.logrank_table(adsl, adtte, sets, FLAGS),
        "cox": st.cox_table(models),
        "cox_diagnostics": st.cox_diagnostics_table(models),
    }


def assert_every_empty_value_has_a_reason(tables: dict[str, pd.DataFrame]):
    """No inf anywhere; a NaN estimate only in a row whose note says why."""
    estimates = {
        "km_medians": ["median", "ci_lower", "ci_upper"],
        "km_landmarks": ["surv", "ci_lower", "ci_upper"],
        "followup": ["median_followup", "ci_lower", "ci_upper"],
        "logrank": ["chisq", "df", "p"],
        "cox": ["hr", "ci_lower", "ci_upper", "p"],
    }
    for name, columns in estimates.items():
        values = tables[name][columns].to_numpy(float)
        assert not np.isinf(values).any(), name
        empty = np.isnan(values).any(axis=1)
        notes = tables[name]["note"].fillna("").to_numpy()
        assert (notes[empty] != "").all(), f"{name}: an empty estimate without a reason"
    diag = tables["cox_diagnostics"]
    tests = diag[~diag["statistic"].isin(["n", "events", "n_dropped"])]
    assert not np.isinf(tests["value"].to_numpy(float)).any()
    assert (tests.loc[tests["value"].isna(), "note"] != "").all()


def notes(table: pd.DataFrame, **where) -> set[str]:
    rows = np.ones(len(table), dtype=bool)
    for column, value in where.items():
        rows &= table[column] == value
    return set(table.loc[rows, "note"])


def test_everyone_dead_on_day_0():
    adsl, adtte = cohort()
    t = tables(adsl, adtte.assign(aval=0.0, cnsr=0))
    assert_every_empty_value_has_a_reason(t)
    medians = t["km_medians"][t["km_medians"]["variable"] == "all"]
    assert (medians["median"] == 0).all()
    assert all("CI not estimable: survival falls to 0" in n for n in medians["note"])
    assert all("every patient at risk had the event" in n for n in t["cox"]["note"])
    assert t["cox"]["hr"].isna().all()  # not R's flat-likelihood HR of 1
    testable = t["logrank"][~t["logrank"]["note"].str.contains("one level has no patients")]
    assert testable["note"].str.contains("variance of the test is singular").all()


def test_a_single_event():
    adsl, adtte = cohort()
    adtte = adtte.assign(cnsr=1)
    adtte.loc[adtte.groupby("paramcd").head(1).index, "cnsr"] = 0
    t = tables(adsl, adtte)
    assert_every_empty_value_has_a_reason(t)
    all_set = t["cox"][t["cox"]["analysis_set"] == "all"]
    assert all_set["hr"].isna().all()
    assert all("only one event" in n for n in all_set["note"])
    assert "median not reached; fewer than 10 events: imprecise" in notes(
        t["km_medians"], analysis_set="all", variable="all"
    )


def test_all_censored():
    adsl, adtte = cohort()
    t = tables(adsl, adtte.assign(cnsr=1))
    assert_every_empty_value_has_a_reason(t)
    assert t["km_medians"]["median"].isna().all()
    assert t["cox"]["hr"].isna().all()
    assert all(n.startswith("not estimable: no events") for n in t["cox"]["note"])
    assert t["cox_diagnostics"]["statistic"].isin(["n", "events", "n_dropped"]).all()
    assert t["logrank"]["chisq"].isna().all()
    assert t["followup"]["median_followup"].notna().all()  # reverse KM: everyone is an event


def test_regimen_threshold_leaves_one_group():
    adsl, adtte = cohort()
    # min_regimen_n = 30 keeps Ixa-Rd (40 patients), whose imid_containing is all 1.
    t = tables(adsl, adtte, min_regimen_n=30)
    assert_every_empty_value_has_a_reason(t)
    assert set(t["km_medians"]["analysis_set"]) == {"all", "Ixa-Rd"}
    imid = dict(analysis_set="Ixa-Rd", variable="imid_containing")
    assert notes(t["logrank"], **imid) == {"not testable: one level has no patients"}
    assert "no patients" in notes(t["km_medians"], **imid, level="0")
    # A threshold above every regimen leaves the whole set only, and a test of one group.
    assert set(tables(adsl, adtte, min_regimen_n=1000)["logrank"]["analysis_set"]) == {"all"}
    one = survival.logrank([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
    assert np.isnan(one["chisq"])
    assert one["note"] == "not testable: only one group"


def test_singular_information_in_cox_fit():
    adsl, adtte = cohort()
    adsl = adsl.assign(emd=1 - adsl["gfr_le70"])  # collinear with gfr_le70
    t = tables(adsl, adtte)
    assert_every_empty_value_has_a_reason(t)
    multi = t["cox"][(t["cox"]["model"] == "multivariable")]
    assert multi.loc[multi["term"] == "gfr_le70", "hr"].notna().all()
    assert multi.loc[multi["term"] == "emd", "hr"].isna().all()
    assert all("collinear with gfr_le70" in n for n in multi.loc[multi["term"] == "emd", "note"])
    # The fit itself: the aliased coefficient is NaN, as R's NA, and the rest is estimated.
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, 50).astype(float)
    fit = survival.cox_fit(
        rng.exponential(5, 50), rng.integers(0, 2, 50), np.c_[x, 2 * x], ["a", "b"]
    )
    assert fit.aliased.tolist() == [False, True]
    assert np.isfinite(fit.coef[0])
    assert np.isnan(fit.coef[1])
    assert fit.global_tests["wald_df"] == 1


def test_singular_information_in_cox_zph():
    # Two events, both at month 3, with patients still at risk: the Cox model is estimable but
    # the time transform of cox.zph is the same at every event time (R: singular, it stops).
    time = np.array([3.0, 3, 4, 5, 6, 7, 8, 9])
    event = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    x = np.array([[1.0], [0], [1], [0], [1], [0], [0], [1]])
    zph = survival.cox_fit(time, event, x, ["x"]).zph
    assert zph["chisq"].isna().all()
    assert zph["note"].str.startswith("not testable: singular information matrix").all()


def test_singular_variance_in_logrank():
    # Everyone at risk has the event at the one event time: variance 0 (R survdiff stops).
    test = survival.logrank([2.0] * 6, [1] * 6, [0, 0, 0, 1, 1, 1])
    assert np.isnan(test["chisq"])
    assert test["note"].startswith("not testable: the variance of the test is singular")


def test_monotone_likelihood_gives_no_huge_hazard_ratio():
    adsl, adtte = cohort()
    # Every PFS event is in gfr_le70 = 1: the HR tends to infinity (no events in level 0); and
    # a continuous covariate that orders the events perfectly (R: "may be infinite").
    pfs = adtte["paramcd"] == "PFS"
    low = adtte["patient_id"].isin(adsl.loc[adsl["gfr_le70"] == 0, "patient_id"])
    adtte.loc[pfs & low, "cnsr"] = 1
    t = tables(adsl, adtte)
    assert_every_empty_value_has_a_reason(t)
    gfr = t["cox"][(t["cox"]["endpoint"] == "PFS") & (t["cox"]["term"] == "gfr_le70")]
    assert gfr["hr"].isna().all()
    assert all("monotone likelihood" in n for n in gfr["note"])
    time = np.arange(1.0, 21)
    event = np.tile([1, 0], 10)
    x = event * (30 - time) / 10  # each death has the highest x of its risk set
    fit = survival.cox_fit(time, event, x[:, None], ["x"])
    # R: "Ran out of iterations and did not converge", iter 21, coef 88.9 (tests/r/
    # survival_book.R checks the value live: test_survival_book.py)
    assert not fit.converged
    assert fit.iterations == 21
    assert fit.coef[0] > 50
    model = st.cox_model(
        "all", "PFS", "univariable", ["x"], pd.DataFrame({"time": time, "event": event, "x": x})
    )
    assert model.term_notes["x"] == "not estimable: the model did not converge (as R coxph warns)"
    assert st.cox_table([model])["hr"].isna().all()


@settings(max_examples=300, deadline=None)
@given(
    st_h.lists(
        st_h.tuples(
            st_h.integers(0, 3), st_h.integers(0, 1), st_h.integers(0, 1), st_h.integers(0, 1)
        ),
        min_size=1,
        max_size=8,
    ),
    st_h.sampled_from(["efron", "breslow"]),
    st_h.booleans(),
)
def test_any_tiny_cohort_gives_estimates_or_reasons(rows, ties, collinear):
    """Property: whatever the data, a Cox table and its diagnostics hold no inf and no empty
    value without a reason, and nothing raises (warnings are errors in the test suite)."""
    d = pd.DataFrame(rows, columns=["time", "event", "a", "b"]).astype(float)
    d = d.sort_values("time", kind="stable")
    if collinear:
        d["b"] = 1 - d["a"]
    model = st.cox_model("all", "PFS", "multivariable", ["a", "b"], d, ties=ties)
    table = st.cox_table([model])
    diagnostics = st.cox_diagnostics_table([model])
    values = table[["hr", "ci_lower", "ci_upper", "p"]].to_numpy(float)
    assert not np.isinf(values).any()
    assert (table.loc[np.isnan(values).any(axis=1), "note"] != "").all()
    tests = diagnostics[~diagnostics["statistic"].isin(["n", "events", "n_dropped"])]
    assert not np.isinf(tests["value"].to_numpy(float)).any()
    assert (tests.loc[tests["value"].isna(), "note"] != "").all()
    test = survival.logrank(d["time"], d["event"], d["a"])
    assert np.isfinite(test["chisq"]) or test["note"]
