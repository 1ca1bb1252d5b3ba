"""Parity of ``cox_fit``'s keyword arguments with R ``coxph``, computed live by tests/r/engine_cox.R.

Each spec below is one model: counting-process rows (``start``), case weights, Breslow ties,
robust variance, clusters and strata, alone and combined. Data: simulated cohorts with heavy
ties (integer times), non-integer weights, and counting-process rows as R ``tmerge`` builds them
(follow-up split at a time where a covariate changes, some late entries). Compared at 1e-4:
coef, se (robust when R reports one), naive se, HR, CI and p; the global likelihood-ratio,
Wald, score and robust score tests; the concordance; ``cox.zph``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.survival import cox_fit

pytestmark = pytest.mark.r

SPEC_COLUMNS = ["name", "data", "start", "weights", "ties", "robust", "cluster", "strata"]
SPECS = pd.DataFrame(
    [
        ("start_stop_efron", "counting", 1, 0, "efron", None, 0, 0),
        ("start_stop_breslow", "counting", 1, 0, "breslow", None, 0, 0),
        ("weights_naive", "surv", 0, 1, "efron", False, 0, 0),
        ("weights_naive_breslow", "surv", 0, 1, "breslow", False, 0, 0),
        ("weights_default_robust", "surv", 0, 1, "efron", None, 0, 0),
        ("breslow", "surv", 0, 0, "breslow", None, 0, 0),
        ("robust", "surv", 0, 0, "efron", True, 0, 0),
        ("robust_breslow", "surv", 0, 0, "breslow", True, 0, 0),
        ("cluster", "counting", 1, 0, "efron", None, 1, 0),
        ("cluster_weights_breslow", "counting", 1, 1, "breslow", None, 1, 0),
        ("strata", "surv", 0, 0, "efron", None, 0, 1),
        ("strata_breslow", "surv", 0, 0, "breslow", None, 0, 1),
        ("strata_start_stop_weights", "counting", 1, 1, "efron", False, 0, 1),
        ("strata_cluster_weights", "counting", 1, 1, "efron", None, 1, 1),
    ],
    columns=SPEC_COLUMNS,
)


def cohorts(seed: int = 7, n: int = 160) -> dict[str, pd.DataFrame]:
    """One row per subject ("surv") and counting-process rows of the same subjects ("counting")."""
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 2, n)
    x2 = rng.normal(size=n)
    time = np.ceil(rng.exponential(12 * np.exp(-0.5 * x1 - 0.3 * x2))).clip(1, 30)
    event = (rng.uniform(size=n) < 0.7).astype(int)
    common = {
        "w": rng.uniform(0.3, 3.0, n).round(3),
        "id": np.arange(n),
        "strat": rng.integers(0, 3, n),
    }
    surv = pd.DataFrame(
        {"tstart": 0.0, "tstop": time, "event": event, "x1": x1, "x2": x2, **common}
    )
    rows = []
    for r in surv.itertuples(index=False):
        entry = float(rng.integers(0, 3)) if r.tstop > 3 else 0.0
        if r.tstop - entry > 2 and rng.uniform() < 0.6:  # the covariate changes at `split`
            split = float(rng.integers(entry + 1, r.tstop))
            rows.append(r._replace(tstart=entry, tstop=split, event=0))
            rows.append(r._replace(tstart=split, x2=r.x2 + rng.normal()))
        else:
            rows.append(r._replace(tstart=entry))
    return {"surv": surv, "counting": pd.DataFrame(rows)}


def fit_spec(spec, data: pd.DataFrame):
    X = data[["x1", "x2"]].to_numpy(float)
    kwargs = {"ties": spec.ties}
    if spec.start:
        kwargs["start"] = data["tstart"].to_numpy()
    if spec.weights:
        kwargs["weights"] = data["w"].to_numpy()
    if spec.robust is not None and not pd.isna(spec.robust):
        kwargs["robust"] = bool(spec.robust)
    if spec.cluster:
        kwargs["cluster"] = data["id"].to_numpy()
    strata = data["strat"].to_numpy() if spec.strata else None
    return cox_fit(data["tstop"], data["event"], X, ["x1", "x2"], strata=strata, **kwargs)


def python_tables(data: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    coefs, tests = [], []
    for spec in SPECS.itertuples(index=False):
        fit = fit_spec(spec, data[spec.data])
        table = fit.table().assign(name=spec.name)
        if "se_naive" not in table:
            table["se_naive"] = np.nan
        coefs.append(table)
        g = fit.global_tests
        stats = ["lr", "wald", "score"] + (["robust_score"] if fit.robust else [])
        tests += [(spec.name, s, "", g[f"{s}_chisq"], g[f"{s}_df"], g[f"{s}_p"]) for s in stats]
        tests.append((spec.name, "concordance", "", fit.concordance, np.nan, np.nan))
        tests += [
            (spec.name, "zph", z.term, z.chisq, z.df, z.p) for z in fit.zph.itertuples(index=False)
        ]
    columns = ["name", "statistic", "term", "value", "df", "p"]
    return pd.concat(coefs, ignore_index=True), pd.DataFrame(tests, columns=columns)


@pytest.fixture(scope="module")
def r_and_python(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine_cox")
    data = cohorts()
    for name, frame in data.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    SPECS.to_csv(folder / "specs.csv", index=False)
    run_r("engine_cox.R", folder, folder / "r")
    r_coef = pd.read_csv(folder / "r" / "coef.csv")
    r_tests = pd.read_csv(folder / "r" / "tests.csv")
    r_tests["term"] = r_tests["term"].fillna("")
    return (r_coef, r_tests), python_tables(data)


def test_counting_rows_are_split_follow_up():
    data = cohorts()
    assert len(data["counting"]) > len(data["surv"]) + 40
    assert (data["counting"]["tstart"] > 0).any()


def test_coefficients_se_ci_and_p_match_r(r_and_python):
    (r_coef, _), (py_coef, _) = r_and_python
    values = ["coef", "se", "se_naive", "hr", "ci_lower", "ci_upper", "p"]
    assert assert_tables_match(py_coef, r_coef, ["name", "term"], values, "coef") >= 150


def test_robust_se_differs_from_naive_and_is_the_one_used():
    data = cohorts()
    spec = SPECS.set_index("name").loc["cluster"]
    table = fit_spec(spec, data["counting"]).table()
    assert not np.allclose(table["se"], table["se_naive"])
    z = table["coef"] / table["se"]
    assert np.allclose(table["z"], z)


def test_global_tests_and_zph_match_r(r_and_python):
    (_, r_tests), (_, py_tests) = r_and_python
    keys = ["name", "statistic", "term"]
    assert assert_tables_match(py_tests, r_tests, keys, ["value", "df", "p"], "tests") >= 150
