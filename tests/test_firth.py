"""Firth-penalised Cox regression (rwe.firth): a case solved by hand, and live R parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from r_reference import assert_tables_match, run_r
from rwe.firth import firth_cox
from rwe.survival import cox_fit
from rwe.survival_tables import cox_models, cox_table


def test_two_patients_by_hand():
    """Two deaths (x = 1 at day 1, x = 0 at day 2): monotone likelihood, Firth HR exactly 3.

    l(β) = β − log(1 + e^β) (the second risk set holds only x = 0), I(β) = π(1 − π) with
    π = e^β / (1 + e^β), so l*(β) = 1.5 β − 2 log(1 + e^β); U* = 1.5 − 2π = 0 gives π = 3/4,
    β = log 3. The penalised LR statistic of β = 0 is 2 (l*(log 3) − l*(0)) = 3 log 3 − 4 log 2.
    The profile CI (one coefficient: the penalised likelihood itself) solves
    2 (l*(log 3) − l*(b)) = χ²₁(0.95).
    """
    fit = firth_cox([1, 2], [1, 1], [[1], [0]], ["x"])
    ordinary = cox_fit(np.array([1.0, 2.0]), np.array([1, 1]), np.array([[1.0], [0.0]]), ["x"])
    # the ordinary estimate runs off to infinity: R coxph runs out of iterations (coef 21.2)
    assert not ordinary.converged
    assert ordinary.coef[0] > 20
    row = fit.table().iloc[0]
    assert row["hr"] == pytest.approx(3.0, rel=1e-8)
    assert row["p"] == pytest.approx(stats.chi2.sf(3 * np.log(3) - 4 * np.log(2), 1), rel=1e-8)

    def lstar(b):
        return 1.5 * b - 2 * np.log1p(np.exp(b))

    cut = stats.chi2.ppf(0.95, 1)
    drop = lambda b: 2 * (lstar(np.log(3)) - lstar(b)) - cut  # noqa: E731
    lower = optimize.brentq(drop, -20, np.log(3), xtol=1e-12)
    upper = optimize.brentq(drop, np.log(3), 20, xtol=1e-12)
    assert row["ci_lower"] == pytest.approx(np.exp(lower), rel=1e-7)
    assert row["ci_upper"] == pytest.approx(np.exp(upper), rel=1e-7)
    assert row["se"] == pytest.approx(1 / np.sqrt(0.75 * 0.25), rel=1e-8)


def test_penalty_shrinks_towards_zero():
    """With many events the Firth estimate is close to, and smaller in size than, the MLE."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.integers(0, 2, n).astype(float)
    time = rng.exponential(1 / np.exp(0.7 * x))
    event = (rng.random(n) < 0.8).astype(int)
    order = np.argsort(time)
    time, event, x = time[order], event[order], x[order]
    mle = cox_fit(time, event, x[:, None], ["x"]).coef[0]
    firth = firth_cox(time, event, x[:, None], ["x"]).coef[0]
    assert abs(firth) < abs(mle)
    assert firth == pytest.approx(mle, abs=0.02)


def _datasets(rng) -> dict[str, pd.DataFrame]:
    """Small cohorts: sparse binary covariates, a monotone one, ties, strata, a continuous one."""
    out = {}
    n = 40
    x1 = rng.integers(0, 2, n)
    x2 = (rng.random(n) < 0.25).astype(int)
    time = np.round(rng.exponential(10 / np.exp(0.8 * x1 + 0.5 * x2)), 0) + 1  # ties
    event = (rng.random(n) < 0.35).astype(int)
    strat = rng.integers(0, 2, n)
    x3 = np.round(rng.normal(0, 1, n), 2)
    out["sparse"] = pd.DataFrame(
        {"time": time, "event": event, "x1": x1, "x2": x2, "x3": x3, "strat": strat}
    )
    mono = out["sparse"].copy()
    mono.loc[mono["x2"] == 1, "event"] = 0  # no events with x2 = 1: monotone likelihood
    out["monotone"] = mono
    return out


SPECS = [
    ("uni_efron", "sparse", "x1", "efron", 0, 0.95),
    ("multi_efron", "sparse", "x1+x3", "efron", 0, 0.95),  # binary and continuous
    ("multi_breslow", "sparse", "x1+x2", "breslow", 0, 0.9),
    ("strata", "sparse", "x1+x2", "efron", 1, 0.95),
    ("monotone", "monotone", "x1+x2", "efron", 0, 0.95),
]


@pytest.mark.r
def test_firth_matches_r_penalised_likelihood(tmp_path):
    """Estimates, profile CIs and penalised LR p as R (coxph's l and I, optim, uniroot)."""
    rng = np.random.default_rng(20)
    data = _datasets(rng)
    for name, frame in data.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    specs = pd.DataFrame(
        SPECS, columns=["name", "data", "covariates", "ties", "strata", "conf_level"]
    )
    specs.to_csv(tmp_path / "specs.csv", index=False)
    out = tmp_path / "firth_r.csv"
    run_r("firth_reference.R", tmp_path, out)
    r = pd.read_csv(out)
    rows = []
    for name, source, covariates, ties, strata, conf in SPECS:
        d = data[source].sort_values("time", kind="stable")
        terms = covariates.split("+")
        fit = firth_cox(
            d["time"].to_numpy(float),
            d["event"].to_numpy(),
            d[terms].to_numpy(float),
            terms,
            strata=d["strat"].to_numpy() if strata else None,
            ties=ties,
            conf_level=conf,
        )
        assert fit.converged, name
        rows.append(fit.table().assign(name=name))
    python = pd.concat(rows, ignore_index=True)
    compared = assert_tables_match(
        python, r, ["name", "term"], ["coef", "hr", "ci_lower", "ci_upper", "p"], "firth"
    )
    assert compared == 5 * len(r)
    monotone = python[(python["name"] == "monotone") & (python["term"] == "x2")].iloc[0]
    assert np.isfinite(monotone["hr"])  # finite where the MLE is not
    assert monotone["hr"] < 1


def _cohort(n: int = 60, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and ADTTE of ``n`` patients with two flags; nobody with ``emd`` = 1 has an event."""
    rng = np.random.default_rng(seed)
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"p{i}" for i in range(n)],
            "gfr_le70": rng.integers(0, 2, n).astype(float),
            "emd": (rng.random(n) < 0.2).astype(float),
        }
    )
    rows = []
    for endpoint in ("PFS", "OS"):
        event = (rng.random(n) < 0.5).astype(int)
        event[adsl["emd"].to_numpy() == 1] = 0
        rows.append(
            pd.DataFrame(
                {
                    "site": "s",
                    "patient_id": adsl["patient_id"],
                    "paramcd": endpoint,
                    "aval": np.round(rng.exponential(12, n), 2) + 0.1,
                    "cnsr": 1 - event,
                }
            )
        )
    return adsl, pd.concat(rows, ignore_index=True)


def test_cox_table_shows_firth_beside_a_monotone_term():
    adsl, adtte = _cohort()
    models = cox_models(adsl, adtte, {"all": adsl}, ["gfr_le70", "emd"])
    table = cox_table(models)
    emd = table[(table["model"] == "multivariable") & (table["term"] == "emd")]
    assert emd["hr"].isna().all()  # the ordinary estimate does not exist
    assert emd["note"].str.contains("monotone likelihood").all()
    assert emd["note"].str.contains("Firth-penalised estimate beside").all()
    assert (emd["firth_hr"] > 0).all()
    assert (emd["firth_hr"] < 1).all()
    # The columns are rwe.firth.firth_cox's on the complete cases, same ties.
    model = next(m for m in models if m.model == "multivariable" and m.endpoint == "OS")
    time, event, X, terms, _, ties = model.firth_inputs
    direct = firth_cox(time, event, X, terms, ties=ties).table().set_index("term")
    row = emd[emd["endpoint"] == "OS"].iloc[0]
    assert row["firth_hr"] == pytest.approx(direct.loc["emd", "hr"], rel=1e-12)
    assert row["firth_ci_upper"] == pytest.approx(direct.loc["emd", "ci_upper"], rel=1e-12)
    assert row["firth_p"] == pytest.approx(direct.loc["emd", "p"], rel=1e-12)


def test_firth_only_where_sparse():
    """gfr_le70 alone with ~30 events: no Firth columns at a threshold of 10 events per
    covariate; with a threshold of 100, Firth beside it."""
    adsl, adtte = _cohort()
    plain = cox_table(cox_models(adsl, adtte, {"all": adsl}, ["gfr_le70"]))
    assert plain["events"].min() >= 10
    assert plain["firth_hr"].isna().all()
    assert plain["hr"].notna().all()
    strict = cox_models(adsl, adtte, {"all": adsl}, ["gfr_le70"], min_events_per_covariate=100)
    sparse = cox_table(strict)
    assert sparse["firth_hr"].notna().all()
    assert sparse["hr"].tolist() == plain["hr"].tolist()  # the ordinary fit is unchanged


def test_no_hazard_ratio_from_fewer_than_min_events():
    adsl, adtte = _cohort()
    models = cox_models(adsl, adtte, {"all": adsl}, ["gfr_le70", "emd"])
    table = cox_table(models, min_events=1000)
    assert table[["hr", "ci_lower", "ci_upper", "p", "firth_hr", "firth_p"]].isna().all().all()
    expected = table["events"].map(lambda e: f"not estimable: {e} events (fewer than 1000)")
    assert [n.startswith(e) for n, e in zip(table["note"], expected, strict=True)] == [True] * len(
        table
    )
