"""Delayed entry (left truncation) against R, live (tests/r/delayed_entry.R).

A simulated cohort in which 40% of the patients enter observation after day 0
(:func:`rwe.simulate.add_delayed_entry`), through validation and derivation, then every survival
table on (entry, exit] risk sets: Kaplan–Meier curves, medians, landmarks and follow-up as R
``survfit(Surv(entry, aval, event) ~ 1)``; the log-rank test as the score test of
``coxph(Surv(entry, aval, event) ~ factor(x), ties = "exact")`` (``survdiff`` refuses
counting-process data); Cox HR, CI, p, global tests, concordance and ``cox.zph`` as ``coxph``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import comparative, landmark, sites
from rwe import survival_tables as st
from rwe.derive import analysis_sets
from rwe.simulate import add_delayed_entry, simulate_site, write_site
from rwe.survival import cumulative_incidence, km_curve, km_quantile, logrank, rmst
from test_survival_parity import COVARIATES, KEYS, LANDMARKS, SUBGROUPS, extract_to_adam

pytestmark = pytest.mark.r
MIN_REGIMEN_N = 40


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    tables = simulate_site(300, 23, "late")
    add_delayed_entry(tables, np.random.default_rng(23))
    folder = tmp_path_factory.mktemp("late")
    write_site(tables, folder)
    adsl, adtte = extract_to_adam(folder, "late")
    return adsl, adtte


def run_reference(tmp_path: Path, adsl, adtte, conf_type="log", ties="efron") -> Path:
    adam = tmp_path / "adam"
    adam.mkdir(exist_ok=True)
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    run_r(
        "delayed_entry.R",
        adam,
        tmp_path / "r",
        conf_type,
        0.95,
        MIN_REGIMEN_N,
        ",".join(SUBGROUPS),
        ",".join(COVARIATES),
        ",".join(map(str, LANDMARKS)),
        ties,
    )
    return tmp_path / "r"


def test_the_cohort_has_delayed_entry(cohort):
    adsl, adtte = cohort
    assert {"entry", "entry_days"} <= set(adtte.columns)
    late = adtte["entry_days"] > 0
    assert 0.25 < late.mean() < 0.55
    assert (adtte["entry_days"] < adtte["aval_days"]).all()
    assert np.allclose(adtte["entry"], adtte["entry_days"] / 30.4375)


@pytest.mark.parametrize(("conf_type", "ties"), [("log", "efron"), ("log-log", "breslow")])
def test_survival_tables_match_r(tmp_path, cohort, conf_type, ties):
    adsl, adtte = cohort
    r_dir = run_reference(tmp_path, adsl, adtte, conf_type, ties)
    sets = analysis_sets(adsl, MIN_REGIMEN_N)
    assert len(sets) > 1
    ci = {"conf_type": conf_type, "conf_level": 0.95}
    km = st.km_fits(adsl, adtte, sets, SUBGROUPS, **ci)
    models = st.cox_models(adsl, adtte, sets, COVARIATES, ties=ties)
    ours = {
        "km_medians": st.km_median_table(km),
        "km_landmarks": st.km_landmark_table(km, LANDMARKS),
        "followup": st.followup_table(adsl, adtte, sets, **ci),
        "logrank": st.logrank_table(adsl, adtte, sets, SUBGROUPS),
        "cox": st.cox_table(models),
        "cox_diagnostics": st.cox_diagnostics_table(models),
    }
    compared = 0
    for name, (keys, values) in KEYS.items():
        r = pd.read_csv(r_dir / f"{name}.csv")
        if "term" in r.columns:
            r["term"] = r["term"].fillna("")
        py = ours[name]
        if name == "cox_diagnostics":
            py = py[~py["statistic"].isin(["n", "events", "n_dropped"])]
        compared += assert_tables_match(py, r, keys, values, name)
    assert compared > 1500
    # Every step of each whole-set curve (the (entry, exit] counts at risk included).
    curves = st.km_curves([f for f in km if f.variable == "all"])
    r = pd.read_csv(r_dir / "km_curves.csv")
    r["time_key"] = r["time"].round(9)
    curves["time_key"] = curves["time"].round(9)
    values = ["n_risk", "n_event", "n_censor", "surv", "std_err", "ci_lower", "ci_upper"]
    keys = ["analysis_set", "endpoint", "time_key"]
    assert assert_tables_match(curves.drop(columns=["time"]), r, keys, values, "km_curves") > 1000


def test_the_exact_score_test_is_survdiff_without_delayed_entry(tmp_path, cohort):
    """The log-rank of delayed entry (coxph ties = "exact" score) is survdiff when entry is 0."""
    adsl, adtte = cohort
    r = pd.read_csv(run_reference(tmp_path, adsl, adtte) / "logrank_check.csv")
    assert len(r) > 20
    assert np.allclose(r["survdiff"], r["exact_score"], rtol=1e-6)
    # R's conditional-logistic form of the exact score test is coxph's own (agexact) with entry.
    both = r.dropna(subset=["agexact_60"])
    assert len(both) > 10
    assert np.allclose(both["agexact_60"], both["exact_logrank_60"], rtol=1e-6)
    # rwe without entry times gives survdiff's statistic too.
    ours = st.logrank_table(
        adsl,
        adtte.drop(columns=["entry", "entry_days"]),
        analysis_sets(adsl, MIN_REGIMEN_N),
        SUBGROUPS,
    )
    keys = ["analysis_set", "endpoint", "variable"]
    ours = ours.merge(r[keys], on=keys)
    n = assert_tables_match(
        ours.rename(columns={"chisq": "survdiff"}),
        r,
        keys,
        ["survdiff"],
        "logrank without entry",
    )
    assert n > 20


def test_delayed_entry_changes_the_risk_sets(cohort):
    """Entry matters: the (entry, exit] curve differs from the one that ignores it."""
    _, adtte = cohort
    os_ = adtte[adtte["paramcd"] == "OS"]
    late = km_curve(os_["aval"], 1 - os_["cnsr"], entry=os_["entry"])
    plain = km_curve(os_["aval"], 1 - os_["cnsr"])
    assert (late["n_risk"] <= plain["n_risk"]).all()
    assert (late["n_risk"] < plain["n_risk"]).any()
    # Zero entry times give the right-censored curve and survdiff exactly.
    zero = km_curve(os_["aval"], 1 - os_["cnsr"], entry=np.zeros(len(os_)))
    pd.testing.assert_frame_equal(zero, plain)
    group = (os_["patient_id"].str[-1] < "5").to_numpy()
    a = logrank(os_["aval"], 1 - os_["cnsr"], group, entry=np.zeros(len(os_)))
    b = logrank(os_["aval"], 1 - os_["cnsr"], group)
    assert a["chisq"] == pytest.approx(b["chisq"], rel=1e-12)


def test_an_entry_on_or_after_exit_is_refused():
    with pytest.raises(ValueError, match="start < stop"):
        km_curve([1.0, 2.0], [1, 0], entry=[0.0, 2.0])
    with pytest.raises(ValueError, match="start < stop"):
        logrank([1.0, 2.0], [1, 1], [0, 1], entry=[1.0, 0.0])


def test_landmark_and_time_dependent_cox_match_r(tmp_path, cohort):
    """Landmark: at risk at L only if entered before L; tmerge(..., tstart = entry) rows."""
    adsl, adtte = cohort
    adam = tmp_path / "adam"
    adam.mkdir()
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    landmarks = [1, 3, 6]
    run_r(
        "delayed_entry_landmark.R",
        adam,
        tmp_path / "r",
        "log",
        0.95,
        MIN_REGIMEN_N,
        ",".join(map(str, landmarks)),
        ",".join(COVARIATES),
    )
    sets = analysis_sets(adsl, MIN_REGIMEN_N)
    ours = landmark.landmark_table(adsl, adtte, sets, landmarks, "log", 0.95)
    r = pd.read_csv(tmp_path / "r" / "landmark.csv")
    values = [*landmark.LANDMARK_COLUMNS[4:-2], "n_not_at_risk"]
    n = assert_tables_match(ours, r, landmark.LANDMARK_COLUMNS[:4], values, "landmark")
    # Entry matters here: some patients entered after a landmark.
    assert ours["note"].str.contains("entered observation after month").any()
    ours = landmark.time_dependent_cox_table(adsl, adtte, sets, COVARIATES, 0.95)
    r = pd.read_csv(tmp_path / "r" / "cox_time_dependent.csv")
    n += assert_tables_match(
        ours,
        r,
        landmark.COX_TD_COLUMNS[:4],
        ["hr", "ci_lower", "ci_upper", "p", "n", "events", "n_rows"],
        "cox_time_dependent",
    )
    assert n > 300


def test_site_stratified_logrank_and_cox_match_r(tmp_path, cohort):
    """Two sites (the cohort split in halves): strata(site) on (entry, exit] risk sets."""
    adsl, adtte = cohort
    half = {pid: "A" if i % 2 else "B" for i, pid in enumerate(adsl["patient_id"])}
    adsl = adsl.assign(site=adsl["patient_id"].map(half))
    adtte = adtte.assign(site=adtte["patient_id"].map(half))
    adam = tmp_path / "adam"
    adam.mkdir()
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    subgroups = [s for s in SUBGROUPS if s != "responder"]
    run_r("delayed_entry_sites.R", adam, tmp_path / "r", ",".join(subgroups), ",".join(COVARIATES))
    everyone = {"all": adsl}
    ours = sites.logrank_stratified_table(adsl, adtte, everyone, subgroups)
    r = pd.read_csv(tmp_path / "r" / "logrank_stratified.csv")
    n = assert_tables_match(
        ours, r, ["analysis_set", "endpoint", "variable"], ["chisq", "df", "p"], "logrank"
    )
    # Not the test that ignores entry.
    plain = sites.logrank_stratified_table(
        adsl, adtte.drop(columns=["entry", "entry_days"]), everyone, subgroups
    )
    assert not np.allclose(plain["chisq"], ours["chisq"], rtol=1e-3)
    models = sites.stratified_cox_models(adsl, adtte, everyone, COVARIATES)
    ours = sites.cox_stratified_table(models)
    r = pd.read_csv(tmp_path / "r" / "cox_stratified.csv")
    keys = ["analysis_set", "endpoint", "model", "term"]
    values = ["hr", "ci_lower", "ci_upper", "p", "n", "events"]
    n += assert_tables_match(ours, r, keys, values, "cox_stratified")
    assert n > 100


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_weighted_curves_with_delayed_entry_match_r(tmp_path, cohort, conf_type):
    """survfit(Surv(entry, time, event) ~ 1, weights = w): whole and fractional weights."""
    _, adtte = cohort
    os_ = adtte[adtte["paramcd"] == "OS"].reset_index(drop=True)
    rng = np.random.default_rng(11)
    data = pd.DataFrame(
        {
            "entry": os_["entry"],
            "time": os_["aval"],
            "event": 1 - os_["cnsr"],
            # group 0: fractional weights (IPT-like, R's robust variance); 1: whole numbers
            "group": np.arange(len(os_)) % 2,
        }
    )
    data["w"] = np.where(
        data["group"] == 0, rng.uniform(0.3, 3, len(data)), rng.integers(1, 4, len(data))
    )
    data.to_csv(tmp_path / "data.csv", index=False)
    tau = 24.0
    run_r("delayed_entry_weighted.R", tmp_path / "data.csv", tmp_path / "r", tau, conf_type)
    curves, summaries = [], []
    for group, rows in data.groupby("group"):
        curve = km_curve(
            rows["time"], rows["event"], conf_type, weights=rows["w"], entry=rows["entry"]
        )
        curves.append(curve.assign(group=group))
        median, lower, upper = km_quantile(curve)
        area = rmst(curve, tau)
        summaries.append(
            {
                "group": group,
                "median": median,
                "median_lower": lower,
                "median_upper": upper,
                "rmean": area["rmean"],
                "rmean_se": area["se"],
            }
        )
    ours = pd.concat(curves, ignore_index=True)
    r = pd.read_csv(tmp_path / "r" / "curves.csv")
    ours["time_key"] = ours["time"].round(9)
    r["time_key"] = r["time"].round(9)
    values = ["n_risk", "n_event", "surv", "ci_lower", "ci_upper"]
    n = assert_tables_match(ours.drop(columns="time"), r, ["group", "time_key"], values, "curves")
    r = pd.read_csv(tmp_path / "r" / "summaries.csv")
    values = ["median", "median_lower", "median_upper", "rmean", "rmean_se"]
    n += assert_tables_match(pd.DataFrame(summaries), r, ["group"], values, "summaries")
    assert n > 1000


def test_comparative_effects_km_and_rmst_use_entry_as_r_does(tmp_path, cohort):
    """IPT-weighted comparison of two regimens: HR (robust), KM medians and RMST with entry."""
    adsl, adtte = cohort
    levels = list(adsl["regimen"].value_counts().index[:2])
    result = comparative.compare(
        adsl, adtte, levels=tuple(levels), covariates=["age_ge80", "gfr_le70", "second_line"]
    )
    data = result.analysed
    assert {"pfs_entry", "os_entry"} <= set(data.columns)
    data.to_csv(tmp_path / "cohort.csv", index=False)
    run_r("delayed_entry_comparative.R", tmp_path / "cohort.csv", tmp_path / "r", "efron")
    effects = result.tables["comparative_effects"]
    r = pd.read_csv(tmp_path / "r" / "effects.csv")
    values = ["hr", "ci_lower", "ci_upper", "p"]
    n = assert_tables_match(effects, r, ["endpoint", "method"], values, "effects")
    km = result.tables["comparative_km"]
    km = km[km["statistic"] == "median"].assign(treated=lambda k: (k["group"] == levels[0]) * 1)
    r = pd.read_csv(tmp_path / "r" / "km.csv")
    keys = ["endpoint", "method", "treated"]
    n += assert_tables_match(km, r, keys, ["estimate", "ci_lower", "ci_upper"], "km")
    rmst_rows = result.tables["rmst"]
    rmst_rows = rmst_rows[rmst_rows["group"].isin(levels)].assign(
        treated=lambda k: (k["group"] == levels[0]) * 1
    )
    r = pd.read_csv(tmp_path / "r" / "rmst.csv")
    n += assert_tables_match(rmst_rows, r, keys, ["tau", "estimate", "se"], "rmst")
    assert n > 30
    risks = result.tables["competing_risks"]
    tests = risks["analysis"].isin(["gray_test", "fine_gray"])
    assert risks.loc[tests, "note"].str.contains(comparative.ENTRY_NOT_USED, regex=False).all()


def test_cumulative_incidence_with_delayed_entry_matches_r(tmp_path, cohort):
    """survfit(Surv(entry, time, factor(status)) ~ 1): progression vs death without it."""
    adsl, adtte = cohort
    pfs = adtte[adtte["paramcd"] == "PFS"].reset_index(drop=True)
    progressed = adsl["progression_day"].notna().to_numpy()
    event = 1 - pfs["cnsr"].to_numpy()
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        {
            "entry": pfs["entry"],
            "time": pfs["aval"],
            "status": np.where(event == 0, 0, np.where(progressed, 1, 2)),
            "w": rng.uniform(0.3, 3, len(pfs)),
        }
    )
    data.to_csv(tmp_path / "data.csv", index=False)
    run_r("delayed_entry_cif.R", tmp_path / "data.csv", tmp_path / "cif.csv")
    parts = []
    for weighted in (0, 1):
        curve = cumulative_incidence(
            data["time"], data["status"], data["w"] if weighted else None, entry=data["entry"]
        )
        parts.append(curve.assign(weighted=weighted))
    ours = pd.concat(parts, ignore_index=True)
    r = pd.read_csv(tmp_path / "cif.csv")
    for frame in (ours, r):
        frame["time_key"] = frame["time"].round(9)
    keys = ["weighted", "cause", "time_key"]
    n = assert_tables_match(ours.drop(columns="time"), r, keys, ["cif", "std_err"], "cif")
    assert n > 500
    # Entry matters: ignoring it gives another curve.
    plain = cumulative_incidence(data["time"], data["status"])
    assert not np.allclose(plain["cif"], parts[0]["cif"])
