"""Cox residuals, predicted and adjusted curves, cumulative hazards, G-rho tests, concordance
variance and ``summary(survfit, extend)`` against R, live (``tests/r/cox_features.R``).

R fits its own data sets (``lung`` with Efron and Breslow ties and with strata, ``ovarian``
with fractional case weights, also with Breslow ties and strata, ``heart`` as counting-process
rows with ``cluster(id)`` and with Breslow ties) and the demo cohort (OS, with times rounded to whole months so that ties occur), writes the rows it
fitted, and every value rwe computes from those rows must equal R's at 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import RTOL, assert_tables_match, run_r
from rwe import cox_predict, cox_residuals, survfit_extras
from rwe.survival import cox_fit, km_at, km_curve
from test_survival_parity import COVARIATES, extract_to_adam

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]


def demo_cohort() -> pd.DataFrame:
    """The demo's OS with the Cox covariates (complete cases), months rounded (ties)."""
    adsl, adtte = extract_to_adam(ROOT / "data" / "demo", "demo")
    os_ = adtte[adtte["paramcd"] == "OS"][["site", "patient_id", "aval", "cnsr"]]
    d = adsl.merge(os_, on=["site", "patient_id"])
    top = d["regimen"].value_counts().index[0]
    out = pd.DataFrame(
        {
            "time": np.round(d["aval"].to_numpy(float)),
            "status": 1 - d["cnsr"].to_numpy(int),
            "group": (d["regimen"] == top).astype(int),
        }
    )
    out["time"] = np.maximum(out["time"], 0.5)  # R: a time of 0 is allowed, but keep it positive
    for c in COVARIATES:
        out[f"cov_{c}"] = d[c].to_numpy(float)
    return out.dropna().reset_index(drop=True)


@pytest.fixture(scope="module")
def r_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cox_features")
    demo_cohort().to_csv(out / "demo.csv", index=False)
    run_r("cox_features.R", out / "r", out / "demo.csv")
    return out / "r"


def read(r_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(r_dir / f"{name}.csv")


def floats(table: pd.DataFrame, *keys: str) -> pd.DataFrame:
    """Key columns as floats on both sides (R writes 5 where pandas has 5.0)."""
    return table.astype({k: float for k in keys})


def cases(r_dir: Path) -> list[dict]:
    spec = read(r_dir, "cases").fillna("")
    return spec.to_dict("records")


def fit_case(r_dir: Path, case: dict):
    """rwe's fit of one of R's cases, and the data arguments it was given."""
    d = read(r_dir, f"{case['case']}_data")
    terms = case["covariates"].split(",")
    data = {
        "time": d["time"].to_numpy(float),
        "event": d["status"].to_numpy(int),
        "X": d[terms].to_numpy(float),
        "strata": d[case["strata"]].to_numpy() if case["strata"] else None,
        "start": d[case["start"]].to_numpy(float) if case["start"] else None,
        "weights": d[case["weights"]].to_numpy(float) if case["weights"] else None,
    }
    cluster = d[case["cluster"]].to_numpy() if case["cluster"] else None
    fit = cox_fit(
        data["time"],
        data["event"],
        data["X"],
        terms,
        strata=data["strata"],
        start=data["start"],
        weights=data["weights"],
        ties=case["ties"],
        cluster=cluster,
    )
    r_coef = read(r_dir, f"{case['case']}_coef")["coef"].to_numpy(float)
    np.testing.assert_allclose(fit.coef, r_coef, rtol=RTOL)  # the same model as R's
    return fit, data, d, cluster


def close(ours, theirs, what: str) -> int:
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs R {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-10, err_msg=what)
    return ours.size


# --------------------------------------------------------------------------- residuals


def test_residuals_match_r(r_dir):
    compared, seen = 0, set()
    for case in cases(r_dir):
        fit, data, _, _ = fit_case(r_dir, case)
        name = case["case"]
        seen.add(name)
        for type in ("martingale", "deviance"):
            ours = cox_residuals.residuals_coxph(fit, type, **data)
            compared += close(ours, read(r_dir, f"{name}_{type}")["value"], f"{name} {type}")
        for type in ("score", "dfbeta", "dfbetas"):
            ours = cox_residuals.residuals_coxph(fit, type, **data)
            compared += close(
                ours[fit.terms], read(r_dir, f"{name}_{type}")[fit.terms], name + type
            )
        for type in ("schoenfeld", "scaledsch"):
            ours = cox_residuals.residuals_coxph(fit, type, **data)
            theirs = read(r_dir, f"{name}_{type}")
            compared += close(ours["time"], theirs["time"], f"{name} {type} time")
            compared += close(ours[fit.terms], theirs[fit.terms], f"{name} {type}")
    assert {"lung_strata", "ovarian_weighted", "ovarian_breslow_strata", "heart_counting"} <= seen
    assert {"heart_breslow", "demo_efron", "demo_breslow"} <= seen
    assert compared > 10_000


def test_collapsed_residuals_match_r(r_dir):
    case = next(c for c in cases(r_dir) if c["case"] == "heart_counting")
    fit, data, d, cluster = fit_case(r_dir, case)
    assert fit.robust  # cluster(id): the sandwich variance, yet dfbeta uses the naive one (R)
    ours = cox_residuals.residuals_coxph(fit, "dfbeta", **data, collapse=cluster)
    theirs = read(r_dir, "heart_counting_dfbeta_collapsed")
    close(ours.index, theirs["group"], "groups")
    close(ours[fit.terms], theirs[fit.terms], "collapsed dfbeta")
    ours = cox_residuals.residuals_coxph(fit, "deviance", **data, collapse=cluster)
    close(ours, read(r_dir, "heart_counting_deviance_collapsed")["value"], "collapsed deviance")


def test_influence_summarises_rs_dfbetas(r_dir):
    """The influence table's maximum and count are those of R's dfbetas, for a fit on the fast
    path (collapsed identical patients, expanded back) and on the general path."""
    for name in ("demo_efron", "lung_breslow", "heart_counting"):
        case = next(c for c in cases(r_dir) if c["case"] == name)
        fit, _, d, _ = fit_case(r_dir, case)
        theirs = read(r_dir, f"{name}_dfbetas")[fit.terms].abs()
        table = cox_residuals.influence(fit, c=2.0).set_index("term")
        cutoff = 2 / np.sqrt(len(d))
        close(table["max_abs_dfbetas"], theirs.max().to_numpy(), f"{name} max |dfbetas|")
        assert table["n_above"].tolist() == (theirs > cutoff).sum().tolist()
        assert table["cutoff"].iloc[0] == pytest.approx(cutoff)


# --------------------------------------------------------------------------- predicted curves


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_survfit_coxph_profiles_match_r(r_dir, conf_type):
    compared = 0
    for case in cases(r_dir):
        fit, data, d, _ = fit_case(r_dir, case)
        profiles = d.loc[:1, fit.terms]
        strata = None if not case["strata"] else d.loc[:1, case["strata"]].to_numpy()
        ours = cox_predict.survfit_coxph(
            fit, profiles, strata=strata, conf_type=conf_type, stratum_labels=data["strata"]
        )
        theirs = read(r_dir, f"{case['case']}_survfit_{conf_type}")
        ours = ours.assign(profile=ours["profile"] + 1)
        values = ["n_risk", "n_event", "n_censor", "cumhaz", "surv", "std_err"]
        values += ["ci_lower", "ci_upper"]
        compared += assert_tables_match(
            floats(ours, "time"), floats(theirs, "time"), ["profile", "time"], values, case["case"]
        )
    assert compared > 5_000


def test_survfit_coxph_other_ctype_matches_r(r_dir):
    """``ctype`` other than the fit's ties: Breslow's baseline for an Efron fit and back."""
    compared = 0
    for case in cases(r_dir):
        if case["strata"]:
            continue
        fit, _, d, _ = fit_case(r_dir, case)
        ctype = 1 if case["ties"] == "efron" else 2
        ours = cox_predict.survfit_coxph(fit, d.loc[:1, fit.terms], ctype=ctype)
        theirs = read(r_dir, f"{case['case']}_survfit_ctype{ctype}")
        ours = ours.assign(profile=ours["profile"] + 1)
        compared += assert_tables_match(
            floats(ours, "time"),
            floats(theirs, "time"),
            ["profile", "time"],
            ["cumhaz", "std_err", "ci_lower", "ci_upper"],
            f"{case['case']} ctype {ctype}",
        )
    assert compared > 2_000


def test_direct_adjusted_curves_match_r(r_dir):
    compared = 0
    for case in cases(r_dir):
        if case["strata"]:
            continue
        fit, data, d, _ = fit_case(r_dir, case)
        term = fit.terms[0]
        levels = sorted(d[term].unique())[:2]
        ours = cox_predict.adjusted_survival(fit, d[fit.terms], term, levels)
        theirs = read(r_dir, f"{case['case']}_adjusted")
        compared += assert_tables_match(
            floats(ours, "level", "time"),
            floats(theirs, "level", "time"),
            ["level", "time"],
            ["surv"],
            f"{case['case']} adjusted",
        )
    assert compared > 1_000


# --------------------------------------------------------------------------- concordance


def test_concordance_variance_and_counts_match_r(r_dir):
    for case in cases(r_dir):
        fit, data, _, cluster = fit_case(r_dir, case)
        ours = survfit_extras.concordance_coxph(fit, cluster=cluster)  # R: the model's cluster
        theirs = read(r_dir, f"{case['case']}_concordance").iloc[0]
        for key in (
            "concordance",
            "var",
            "concordant",
            "discordant",
            "tied_x",
            "tied_y",
            "tied_xy",
        ):
            assert ours[key] == pytest.approx(theirs[key], rel=RTOL), (case["case"], key)
        assert ours["concordance"] == pytest.approx(fit.concordance, rel=1e-12)
        if case["cluster"]:  # the clustered variance differs from the row-wise one
            assert survfit_extras.concordance_coxph(fit)["var"] != pytest.approx(ours["var"])


# --------------------------------------------------------------------------- one-sample


@pytest.mark.parametrize("name", ["lung", "aml", "demo"])
def test_cumulative_hazard_matches_r(r_dir, name):
    d = read(r_dir, f"np_{name}_data")
    compared = 0
    for ctype in (1, 2):
        for conf_type in ("log", "log-log"):
            ours = survfit_extras.cumulative_hazard(d["time"], d["status"], ctype, conf_type)
            theirs = read(r_dir, f"np_{name}_cumhaz_{ctype}_{conf_type}")
            values = ["n_risk", "n_event", "cumhaz", "std_chaz", "surv", "std_err"]
            compared += assert_tables_match(
                floats(ours, "time"),
                floats(theirs, "time"),
                ["time"],
                [*values, "ci_lower", "ci_upper"],
                f"{name} {ctype}",
            )
    assert compared > 100


@pytest.mark.parametrize("name", ["lung", "aml", "demo"])
def test_survdiff_rho_matches_r(r_dir, name):
    d = read(r_dir, f"np_{name}_data")
    half = np.arange(1, len(d) + 1) % 2
    theirs = read(r_dir, f"np_{name}_survdiff")
    for row in theirs.itertuples(index=False):
        strata = half if row.stratified else None
        ours = survfit_extras.survdiff(d["time"], d["status"], d["group"], strata, rho=row.rho)
        for key in ("chisq", "df", "p"):
            assert ours[key] == pytest.approx(getattr(row, key), rel=RTOL), (row, key)
        assert ours["observed"][0] == pytest.approx(row.observed_1, rel=RTOL)
        assert ours["expected"][0] == pytest.approx(row.expected_1, rel=RTOL)
        assert ours["var"][0, 0] == pytest.approx(row.var_11, rel=RTOL)


@pytest.mark.parametrize("name", ["lung", "aml", "demo"])
@pytest.mark.parametrize("extend", [True, False])
def test_km_at_extend_matches_summary_survfit(r_dir, name, extend):
    d = read(r_dir, f"np_{name}_data")
    curve = km_curve(d["time"], d["status"])
    times = read(r_dir, f"np_{name}_summary_times")["time"]
    theirs = read(r_dir, f"np_{name}_summary_{'extend' if extend else 'noextend'}")
    rows = [{"time": t, **km_at(curve, t, len(d), extend=extend)} for t in times]
    ours = pd.DataFrame(rows).dropna(subset=["surv"])  # R drops times it cannot report
    assert len(ours) == len(theirs)
    for col in ("time", "n_risk", "surv", "ci_lower", "ci_upper"):
        close(ours[col], theirs[col], f"{name} {col}")
    if extend:
        assert ours["time"].max() > d["time"].max()  # the extension was exercised
