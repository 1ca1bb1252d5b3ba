"""Comparative effectiveness of two regimens: PS weighting, balance, RMST, competing risks.

Every statistic names the R function it reproduces; ``tests/r/comparative_reference.R``
recomputes them with R and ``tests/test_comparative_parity.py`` compares at 1e-4.

- :func:`propensity_score` — ``glm(treated ~ covariates, family = binomial)``.
- :func:`ipt_weights` — inverse-probability-of-treatment weights (ATE, ATT), stabilised or not;
  :func:`trim_keep` (PS trimming) and :func:`truncate_weights` (percentile truncation).
- :func:`balance_table` — standardised mean differences before and after weighting with R
  ``cobalt``'s conventions (``bal.tab(binary = "std")``: the standardisation factor is computed
  once from the unweighted groups; pooled for ATE, treated for ATT) and Kish's effective
  sample size.
- :func:`gray_test` — Gray's test of equal cumulative incidence, ``cmprsk::cuminc`` (a port of
  its Fortran ``crstm``).
- :func:`fine_gray` — the Fine–Gray subdistribution hazards model, ``cmprsk::crr`` (a port of
  its Fortran ``crrfsv``, ``crrf`` and ``crrvv``, by cumulative sums).
- :func:`evalue` — VanderWeele & Ding's E-value of a hazard ratio and its CI.

The tables built from them are in :func:`compare`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from scipy import special

from rwe.comparative_inference import (
    BOOTSTRAP_COLUMNS,
    boot_ci,
    bootstrap_indices,
    rmst_horizon,
    target_trial_table,
    weight_summary,
)
from rwe.exceptions import ConfigError
from rwe.survival import cox_fit, cumulative_incidence, km_at, km_curve, km_quantile, rmst
from rwe.survival_tables import ENTRY, has_delayed_entry

ESTIMANDS = ("ATE", "ATT")
#: Competing-risks status: censored, progression (event of interest), death without progression.
CENSORED, PROGRESSION, DEATH = 0, 1, 2
CAUSES = {PROGRESSION: "progression", DEATH: "death without progression"}
ATTRITION_COLUMNS = ["step", "n_in", "n_excluded", "reason", "n_out"]


# --------------------------------------------------------------------------- cohort


def check_comparison(adsl: pd.DataFrame, treatment: str, levels: list[str], covariates) -> None:
    """Raise :class:`~rwe.exceptions.ConfigError` when the configured comparison can't be made.

    The treatment column must exist; the two levels must differ; every covariate must be a
    numeric column of ADSL. A level no patient has is not an error of the config but a cohort
    that cannot support the comparison: :func:`compare` writes its tables with the reason.
    """
    problems = []
    if treatment not in adsl.columns:
        problems.append(f"compare.treatment: '{treatment}' is not a column of ADSL")
    if len(levels) != 2 or levels[0] == levels[1]:
        problems.append("compare.levels: give two different levels (treated first, then control)")
    missing = [c for c in covariates if c not in adsl.columns]
    if missing:
        problems.append(f"compare.covariates: not columns of ADSL: {', '.join(missing)}")
    text = [c for c in covariates if c in adsl.columns and not is_numeric_dtype(adsl[c])]
    if text:
        problems.append(
            f"compare.covariates: not numeric (use a 0/1 flag or a number): {', '.join(text)}"
        )
    if problems:
        raise ConfigError("; ".join(problems))


def competing_status(adsl: pd.DataFrame) -> np.ndarray:
    """Competing-risks status of each patient at the PFS time.

    Progression (1) is the event of interest and death without progression (2) the competing
    event, whatever ``pfs_death_events`` says: the PFS time of :func:`rwe.derive.derive_pfs` is
    the progression day, else the death day, else the last assessment, so it is the time of
    the first of the two events or of censoring (0).
    """
    progressed = adsl["progression_day"].notna().to_numpy()
    died = adsl["death_day"].notna().to_numpy()
    return np.where(progressed, PROGRESSION, np.where(died, DEATH, CENSORED))


def comparison_cohort(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    treatment: str,
    levels: list[str],
    covariates: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The patients of the comparison, one row each, and who was left out and why.

    Parameters
    ----------
    adsl, adtte : pandas.DataFrame
        The pooled analysis datasets.
    treatment : str
        Column of ADSL that defines the groups.
    levels : list of str
        The treated level first, then the control level.
    covariates : list of str
        Columns of ADSL in the propensity model: patients with one missing are left out
        (complete cases) and counted.

    Returns
    -------
    cohort : pandas.DataFrame
        ``site, patient_id, group, treated`` (1 = ``levels[0]``), the covariates as floats,
        ``pfs_time, pfs_event, os_time, os_event`` (months, 1 = event), with delayed entry
        ``pfs_entry, os_entry`` (months), and ``cr_status`` (:func:`competing_status`).
    attrition : pandas.DataFrame
        ``step, n_in, n_excluded, reason, n_out``.
    """
    check_comparison(adsl, treatment, levels, covariates)
    n = len(adsl)
    rows = [("patients in the extract", n, 0, "", n)]
    in_levels = adsl[treatment].astype(str).isin(levels).to_numpy()
    data = adsl[in_levels]
    rows.append(
        (
            f"{levels[0]} or {levels[1]}",
            n,
            n - len(data),
            f"{treatment} is another level",
            len(data),
        )
    )
    known = data[covariates].notna().all(axis=1).to_numpy()
    missing = {c: int(data[c].isna().sum()) for c in covariates if data[c].isna().any()}
    reason = ", ".join(f"{c} unknown ({k})" for c, k in missing.items())
    rows.append(("covariates known", len(data), int((~known).sum()), reason, int(known.sum())))
    data = data[known]
    cohort = data[["site", "patient_id"]].reset_index(drop=True)
    cohort["group"] = data[treatment].astype(str).to_numpy()
    cohort["treated"] = (cohort["group"] == levels[0]).astype(int)
    for c in covariates:
        cohort[c] = data[c].to_numpy(dtype=float, na_value=np.nan)
    keys = pd.MultiIndex.from_frame(cohort[["site", "patient_id"]])
    usable = np.ones(len(cohort), dtype=bool)
    for endpoint in ("PFS", "OS"):
        tte = adtte[adtte["paramcd"] == endpoint]
        at = pd.MultiIndex.from_frame(tte[["site", "patient_id"]]).get_indexer(keys)
        found = at >= 0
        time = np.where(found, tte["aval"].to_numpy(float)[at], np.nan)
        event = np.where(found, 1 - tte["cnsr"].to_numpy(float, na_value=np.nan)[at], np.nan)
        cohort[f"{endpoint.lower()}_time"] = time
        cohort[f"{endpoint.lower()}_event"] = event
        if ENTRY in tte.columns:  # delayed entry; blank (a site without entry_day) is 0
            entry = np.where(found, tte[ENTRY].to_numpy(float, na_value=np.nan)[at], np.nan)
            cohort[f"{endpoint.lower()}_entry"] = np.nan_to_num(entry, nan=0.0)
        usable &= ~np.isnan(time) & ~np.isnan(event)
    rows.append(
        (
            "PFS and OS times known",
            len(cohort),
            int((~usable).sum()),
            "no usable time" if (~usable).any() else "",
            int(usable.sum()),
        )
    )
    cohort["cr_status"] = competing_status(data)
    cohort = cohort[usable].reset_index(drop=True)
    cohort["pfs_event"] = cohort["pfs_event"].astype(int)
    cohort["os_event"] = cohort["os_event"].astype(int)
    return cohort, pd.DataFrame(rows, columns=ATTRITION_COLUMNS)


# --------------------------------------------------------------------------- propensity score


@dataclass
class PropensityModel:
    """A fitted propensity-score model: what ``summary(glm(..., family = binomial))`` reports."""

    terms: list[str]
    coef: np.ndarray
    se: np.ndarray
    ps: np.ndarray
    dropped: list[str]

    @property
    def separated(self) -> bool:
        """Propensity scores at 0 or 1 to machine precision (complete or quasi-complete separation)."""
        eps = np.finfo(float).eps
        return bool(np.any((self.ps <= 10 * eps) | (self.ps >= 1 - 10 * eps)))

    def table(self) -> pd.DataFrame:
        """Per term (intercept first): coef, se, Wald z and p (R ``summary.glm``)."""
        z = self.coef / self.se
        return pd.DataFrame(
            {
                "term": self.terms,
                "coef": self.coef,
                "se": self.se,
                "z": z,
                "p": 2 * special.ndtr(-np.abs(z)),
            }
        )


def propensity_score(treated, X: pd.DataFrame) -> PropensityModel:
    """Logistic propensity score of treatment, as R ``glm(treated ~ ., family = binomial)``.

    Fitted by iteratively reweighted least squares (statsmodels ``GLM``, R's algorithm and
    convergence test). A covariate that is constant in the cohort is dropped (R reports it as
    aliased, ``NA``) and named in ``dropped``. The fitted probabilities are R's
    ``binomial()$linkinv`` of the linear predictor, which bounds it at ±30 so that a separated
    model (R's "fitted probabilities numerically 0 or 1 occurred") still gives finite weights;
    ``separated`` says so.

    Parameters
    ----------
    treated : array-like of {0, 1}
    X : pandas.DataFrame
        Covariates, no missing values.

    Returns
    -------
    PropensityModel
        ``ps`` is the fitted probability of treatment of each row.
    """
    import warnings

    import statsmodels.api as sm

    treated = np.asarray(treated, dtype=float)
    varying = [c for c in X.columns if X[c].nunique() > 1]
    dropped = [c for c in X.columns if c not in varying]
    design = np.column_stack([np.ones(len(treated)), X[varying].to_numpy(float)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is reported by PropensityModel.separated
        fit = sm.GLM(treated, design, family=sm.families.Binomial()).fit(tol=1e-10, maxiter=100)
    coef = np.asarray(fit.params)
    # R's logit_linkinv: exp(eta) bounded to [DBL_EPSILON, 1/DBL_EPSILON], then x / (1 + x).
    eps = np.finfo(float).eps
    odds = np.clip(np.exp(np.clip(design @ coef, -30, 30)), eps, 1 / eps)
    return PropensityModel(
        terms=["(Intercept)", *varying],
        coef=coef,
        se=np.asarray(fit.bse),
        ps=odds / (1 + odds),
        dropped=dropped,
    )


#: Harrell's default knot percentiles of a restricted cubic spline, by number of knots
#: (Regression Modeling Strategies, 2nd ed., table 2.3; R ``rms::rcs``).
RCS_KNOT_PERCENTILES = {
    3: [0.10, 0.50, 0.90],
    4: [0.05, 0.35, 0.65, 0.95],
    5: [0.05, 0.275, 0.50, 0.725, 0.95],
}


def rcs_knots(x, n_knots: int) -> np.ndarray:
    """Knots of a restricted cubic spline: Harrell's percentiles of ``x``.

    R ``quantile(type = 7)`` at :data:`RCS_KNOT_PERCENTILES`, duplicates removed.
    """
    if n_knots not in RCS_KNOT_PERCENTILES:
        raise ValueError(f"n_knots must be one of {sorted(RCS_KNOT_PERCENTILES)}")
    return np.unique(np.quantile(np.asarray(x, dtype=float), RCS_KNOT_PERCENTILES[n_knots]))


def rcs_basis(x, knots) -> np.ndarray:
    """Nonlinear terms of a restricted cubic spline, as R ``Hmisc::rcspline.eval(norm = 2)``.

    For knots t₁ < … < t_k, term j (j = 1 … k − 2) is (x − t_j)₊³ − (x − t_{k−1})₊³ (t_k −
    t_j)/(t_k − t_{k−1}) + (x − t_k)₊³ (t_{k−1} − t_j)/(t_k − t_{k−1}), divided by (t_k − t₁)²;
    with x itself they span the cubic splines that are linear beyond the outer knots.

    Returns
    -------
    numpy.ndarray
        ``(n, k − 2)`` (no column with fewer than 3 distinct knots).
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = t.size
    if k < 3:
        return np.empty((x.size, 0))

    def cube(v):
        return np.maximum(v, 0.0) ** 3

    last, before = t[-1], t[-2]
    cols = [
        cube(x - t[j])
        - cube(x - before) * (last - t[j]) / (last - before)
        + cube(x - last) * (before - t[j]) / (last - before)
        for j in range(k - 2)
    ]
    return np.column_stack(cols) / (last - t[0]) ** 2


def ps_design(cohort: pd.DataFrame, covariates: list[str], splines=None) -> pd.DataFrame:
    """The propensity model's design: the covariates, plus restricted cubic spline terms.

    ``splines`` maps a continuous covariate to its number of knots (3–5): its nonlinear terms
    (:func:`rcs_basis`, knots :func:`rcs_knots` of this cohort) are added after it, named
    ``age'``, ``age''`` as R ``rms`` names them.
    """
    X = cohort[covariates].astype(float)
    for c, n_knots in (splines or {}).items():
        basis = rcs_basis(X[c], rcs_knots(X[c], n_knots))
        at = X.columns.get_loc(c) + 1
        for j in range(basis.shape[1]):
            X.insert(at + j, c + "'" * (j + 1), basis[:, j])
    return X


def trim_keep(ps, trim: float | None) -> np.ndarray:
    """Patients kept by PS trimming: ``trim <= ps <= 1 - trim`` (all when ``trim`` is None)."""
    ps = np.asarray(ps, dtype=float)
    if not trim:
        return np.ones(ps.size, dtype=bool)
    return (ps >= trim) & (ps <= 1 - trim)


def ipt_weights(treated, ps, estimand: str = "ATE", stabilize: bool = False) -> np.ndarray:
    """Inverse-probability-of-treatment weights.

    ATE: 1/ps for the treated, 1/(1 − ps) for the controls. ATT: 1 for the treated,
    ps/(1 − ps) for the controls. Stabilised (Xu et al. 2010): ATE weights multiplied by the
    share of the patient's own group (P(T = t)); ATT control weights by P(T = 0)/P(T = 1), so
    that each group's weights average about 1.

    Parameters
    ----------
    treated : array-like of {0, 1}
    ps : array-like of float
        Propensity scores.
    estimand : {"ATE", "ATT"}
    stabilize : bool

    Returns
    -------
    numpy.ndarray
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {ESTIMANDS}, not {estimand!r}")
    t = np.asarray(treated) == 1
    ps = np.asarray(ps, dtype=float)
    share = t.mean() if t.size else np.nan
    if estimand == "ATE":
        w = np.where(t, 1 / ps, 1 / (1 - ps))
        return w * np.where(t, share, 1 - share) if stabilize else w
    w = np.where(t, 1.0, ps / (1 - ps))
    return np.where(t, w, w * (1 - share) / share) if stabilize else w


def truncate_weights(weights, percentiles: list[float] | None) -> np.ndarray:
    """Weights capped at the ``[lower, upper]`` percentiles (0–1) of all weights.

    Percentiles as R ``quantile(type = 7)`` (numpy's default); None leaves the weights as they
    are (Cole & Hernán 2008).
    """
    w = np.asarray(weights, dtype=float)
    if not percentiles:
        return w
    lower, upper = np.quantile(w, percentiles)
    return np.clip(w, lower, upper)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size, (Σw)² / Σw² (cobalt's ``ESS``)."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0


# --------------------------------------------------------------------------- balance


def is_binary(values) -> bool:
    """A covariate with exactly two distinct values, as cobalt decides (``is_binary``)."""
    return np.unique(np.asarray(values, dtype=float)).size == 2


def _variance(x: np.ndarray, binary: bool) -> float:
    """The unweighted variance of cobalt: p(1 − p) for a binary covariate, else with n − 1."""
    if binary:
        p = (x == x.max()).mean()
        return float(p * (1 - p))
    return float(x.var(ddof=1)) if x.size > 1 else np.nan


BALANCE_COLUMNS = [
    *["covariate", "type", "sample", "mean_treated", "mean_control", "diff", "sd_denominator"],
    *["smd", "imbalanced", "threshold", "ess_treated", "ess_control"],
]


def balance_table(
    X: pd.DataFrame,
    treated,
    weights,
    estimand: str = "ATE",
    threshold: float = 0.1,
) -> pd.DataFrame:
    """Standardised mean differences before and after weighting, as R ``cobalt::bal.tab``.

    ``bal.tab(..., binary = "std", continuous = "std", s.d.denom = "pooled"`` for ATE,
    ``"treated"`` for ATT ``)``: the difference of (weighted) means treated − control divided
    by a standardisation factor computed once, from the unweighted groups, and used both
    before and after weighting: sqrt((s1² + s0²)/2) (pooled) or s1 (treated), with the variance
    p(1 − p) of a binary covariate (the share of its larger value) and the sample variance
    (n − 1) of a continuous one.

    Parameters
    ----------
    X : pandas.DataFrame
        Covariates.
    treated : array-like of {0, 1}
    weights : array-like of float
        The IPT weights.
    estimand : {"ATE", "ATT"}
    threshold : float
        |SMD| above this is flagged as imbalance.

    Returns
    -------
    pandas.DataFrame
        One row per covariate and sample (``unweighted``, ``weighted``): ``covariate, type,
        sample, mean_treated, mean_control, diff, sd_denominator, smd, imbalanced, threshold,
        ess_treated, ess_control``.
    """
    t = np.asarray(treated) == 1
    w = np.asarray(weights, dtype=float)
    ess = {
        "unweighted": (float(t.sum()), float((~t).sum())),
        "weighted": (effective_sample_size(w[t]), effective_sample_size(w[~t])),
    }
    rows = []
    for c in X.columns:
        x = X[c].to_numpy(float)
        binary = is_binary(x)
        if binary:
            x = (x == x.max()).astype(float)
        v1, v0 = _variance(x[t], binary), _variance(x[~t], binary)
        denom = np.sqrt((v1 + v0) / 2) if estimand == "ATE" else np.sqrt(v1)
        for sample, ww in (("unweighted", np.ones_like(w)), ("weighted", w)):
            m1 = np.average(x[t], weights=ww[t])
            m0 = np.average(x[~t], weights=ww[~t])
            diff = m1 - m0
            smd = diff / denom if denom > 0 else np.nan
            rows.append(
                {
                    "covariate": c,
                    "type": "binary" if binary else "continuous",
                    "sample": sample,
                    "mean_treated": m1,
                    "mean_control": m0,
                    "diff": diff,
                    "sd_denominator": denom,
                    "smd": smd,
                    "imbalanced": bool(abs(smd) > threshold),
                    "threshold": threshold,
                    "ess_treated": ess[sample][0],
                    "ess_control": ess[sample][1],
                }
            )
    return pd.DataFrame(rows, columns=BALANCE_COLUMNS)


# --------------------------------------------------------------------------- E-values


def _evalue_rr(rr: float) -> float:
    if not np.isfinite(rr) or rr <= 0:
        return np.nan
    rr = rr if rr >= 1 else 1 / rr
    return float(rr + np.sqrt(rr * (rr - 1)))


def hr_to_rr(hr, common: bool):
    """HR on the risk-ratio scale (VanderWeele 2017).

    The HR itself when the outcome is rare, else (1 − 0.5^√HR) / (1 − 0.5^√(1/HR)).
    """
    hr = np.asarray(hr, dtype=float)
    if not common:
        return hr
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))


def evalue(hr: float, lower: float, upper: float, common: bool) -> tuple[float, float]:
    """E-value of a hazard ratio and of its CI limit closer to 1 (VanderWeele & Ding 2017).

    E = RR + √(RR(RR − 1)) for RR ≥ 1 (RR replaced by 1/RR below 1), with RR the HR itself when
    the outcome is rare, else the common-outcome transformation :func:`hr_to_rr`. The CI's
    E-value is 1 when the interval includes 1.

    Returns
    -------
    estimate, ci : float
    """
    rr, lo, hi = (float(v) for v in hr_to_rr([hr, lower, upper], common))
    if not np.isfinite(rr):
        return np.nan, np.nan
    limit = lo if rr >= 1 else hi
    crosses = (lo <= 1 <= hi) if np.isfinite(lo) and np.isfinite(hi) else True
    return _evalue_rr(rr), 1.0 if crosses else _evalue_rr(limit)


# --------------------------------------------------------------------------- Gray's test


def gray_test(time, status, group, cause: int = PROGRESSION, rho: float = 0.0) -> dict:
    """Gray's test that the cumulative incidence of ``cause`` is equal across groups.

    A port of ``cmprsk::cuminc``'s Fortran ``crst`` (cmprsk 2.2-12, unstratified): at each
    distinct time, the score of each group's subdistribution hazard against the pooled one and
    the variance terms of the paper; statistic s' V⁻¹ s over the first ng − 1 groups,
    chi-square with ng − 1 df.

    Parameters
    ----------
    time : array-like of float
    status : array-like of int
        0 = censored, ``cause`` = the event of interest, any other value = a competing event.
    group : array-like
    cause : int
    rho : float
        Power of the weight (1 − F(t−))^rho (R ``rho``).

    Returns
    -------
    dict
        ``statistic, df, p`` (NaN when V is singular: R reports −1 and no p).
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status)
    labels, g = np.unique(np.asarray(group), return_inverse=True)
    ng = labels.size
    m = np.where(status == CENSORED, 0, np.where(status == cause, 1, 2))
    order = np.argsort(time, kind="stable")
    time, m, g = time[order], m[order], g[order]
    starts = np.flatnonzero(np.r_[True, time[1:] != time[:-1]])
    run = np.cumsum(np.r_[True, time[1:] != time[:-1]]) - 1
    nt = starts.size
    d = np.zeros((3, nt, ng))
    np.add.at(d, (m, run, g), 1)
    at_risk = np.cumsum(d.sum(axis=0)[::-1], axis=0)[::-1]  # rs(i) at each time
    ng1 = ng - 1
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m, f1, skmm, skm = np.zeros(ng), np.zeros(ng), np.ones(ng), np.ones(ng)
    v3, v2, c = np.zeros(ng), np.zeros((ng1, ng)), np.zeros((ng, ng))
    fm = f = 0.0
    for k in range(nt):
        d1, d2, rs = d[1, k], d[2, k], at_risk[k]
        nd1, nd2 = d1.sum(), d2.sum()
        if nd1 == 0 and nd2 == 0:
            continue
        live = rs > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            skm = np.where(live, skmm * (rs - d1 - d2) / rs, skm)
            f1 = np.where(live, f1m + skmm * d1 / rs, f1)
            ratio = np.where(live, rs / skmm, 0.0)
        tr = ratio.sum()
        tq = (ratio * (1 - f1m)).sum()
        f = fm + nd1 / tr
        fb = (1 - fm) ** rho
        a = -fb * np.outer(ratio, ratio) / tr
        np.fill_diagonal(a, fb * ratio * (1 - ratio / tr))
        a[~live, :] = 0
        a[:, ~live] = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            c += np.where(a != 0, a * nd1 / (tr * (1 - fm)), 0.0)
        s += np.where(live[:ng1], fb * (d1[:ng1] - nd1 * ratio[:ng1] * (1 - f1m[:ng1]) / tq), 0)
        if nd1 > 0:
            for kk in np.flatnonzero(live):
                t4 = 1 - (1 - f) / skm[kk] if skm[kk] > 0 else 1.0
                t5 = 1 - (nd1 - 1) / (tr * skmm[kk] - 1) if nd1 > 1 else 1.0
                t3 = t5 * skmm[kk] * nd1 / (tr * rs[kk])
                v3[kk] += t4 * t4 * t3
                t1 = a[:ng1, kk] - t4 * c[:ng1, kk]
                v2[:, kk] += t1 * t4 * t3
                v += np.tril(np.outer(t1, t1)) * t3
        if nd2 > 0:
            for kk in np.flatnonzero((skm > 0) & (d2 > 0)):
                t4 = (1 - f) / skm[kk]
                t5 = 1 - (d2[kk] - 1) / (rs[kk] - 1) if d2[kk] > 1 else 1.0
                t3 = t5 * skmm[kk] ** 2 * d2[kk] / rs[kk] ** 2
                v3[kk] += t4 * t4 * t3
                t1 = t4 * c[:ng1, kk]
                v2[:, kk] -= t1 * t4 * t3
                v += np.tril(np.outer(t1, t1)) * t3
        fm = f
        f1m, skmm = f1.copy(), skm.copy()
    cc = c[:ng1, :]
    v += np.tril(cc * v3 @ cc.T + cc @ v2.T + v2 @ cc.T)
    v = np.tril(v) + np.tril(v, -1).T
    df = ng1
    if ng1 == 0 or np.linalg.matrix_rank(v) < ng1:
        return {"statistic": np.nan, "df": df, "p": np.nan}
    stat = float(s @ np.linalg.solve(v, s))
    return {"statistic": stat, "df": df, "p": float(special.chdtrc(df, stat))}


# --------------------------------------------------------------------------- Fine–Gray


@dataclass
class FineGrayResult:
    """A fitted Fine–Gray model: what ``summary(cmprsk::crr(...))`` reports."""

    terms: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    loglik_null: float
    converged: bool
    n: int
    events: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors (the sandwich variance of ``crr``)."""
        return np.sqrt(np.diag(self.var))

    def table(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Per term: coef, se, subdistribution HR, its Wald CI and p (R ``summary.crr``)."""
        z = float(special.ndtri(1 - (1 - conf_level) / 2))
        se = self.se
        return pd.DataFrame(
            {
                "term": self.terms,
                "coef": self.coef,
                "se": se,
                "shr": np.exp(self.coef),
                "ci_lower": np.exp(self.coef - z * se),
                "ci_upper": np.exp(self.coef + z * se),
                "p": 2 * special.ndtr(-np.abs(self.coef / se)),
            }
        )


class _FineGrayData:
    """Data of a ``crr`` fit sorted by time, with the censoring distribution and risk-set sums.

    Subject j is in the risk set of a type-1 failure time T with weight exp(x'b) when
    t_j ≥ T, and with weight exp(x'b) G(T−)/G(t_j−) when it failed from the competing cause
    before T (G the Kaplan–Meier estimate of the censoring distribution, left-continuous as
    ``crr`` evaluates it); other subjects are not. Sums over such risk sets are a suffix sum
    plus G(T−) times a prefix sum over competing failures, one pass each.
    """

    def __init__(self, time, status, X, failcode: int = 1, cencode: int = 0):
        time = np.asarray(time, dtype=float)
        order = np.argsort(time, kind="stable")
        self.time = time[order]
        status = np.asarray(status)[order]
        self.X = np.asarray(X, dtype=float).reshape(time.size, -1)[order]
        censored = status == cencode
        self.fail = status == failcode
        self.other = ~censored & ~self.fail
        # Censoring KM (censorings are the events; failures of either kind are censored) at
        # each subject's time, just before it: G(t-).
        starts = np.flatnonzero(np.r_[True, self.time[1:] != self.time[:-1]])
        run = np.cumsum(np.r_[True, self.time[1:] != self.time[:-1]]) - 1
        n_risk = self.time.size - starts
        n_cens = np.add.reduceat(censored.astype(float), starts)
        km = np.cumprod(1 - n_cens / n_risk)
        # R: approx(..., xout = ftime * (1 - 100 eps), method = "constant"), so a time of 0
        # reads G(0) itself.
        before = np.r_[1.0, km[:-1]][run]
        self.g_minus = np.where(self.time == 0, km[run], before)
        self.n_risk_at = n_risk[run]
        self.censored = censored
        # Distinct type-1 failure times, their multiplicity and first row at or after them.
        t1 = self.time[self.fail]
        self.fail_times, self.d = np.unique(t1, return_counts=True)
        self.first = np.searchsorted(self.time, self.fail_times, side="left")
        self.g_fail = self.g_minus[self.first]

    def _risk_set_sums(self, at_or_after: np.ndarray, competing: np.ndarray) -> np.ndarray:
        """Per failure time T: Σ ``at_or_after`` over t ≥ T + G(T−) Σ ``competing`` over t < T."""
        suffix = np.cumsum(at_or_after[::-1], axis=0)[::-1][self.first]
        zeros = np.zeros((1, *competing.shape[1:]))
        before = np.concatenate([zeros, np.cumsum(competing, axis=0)])[self.first]
        return suffix + self.g_fail.reshape(-1, *[1] * (competing.ndim - 1)) * before

    def sums(self, beta: np.ndarray):
        """exp(x'b) of each row; S0, S1, S2 of each distinct failure time's weighted risk set."""
        e = np.exp(self.X @ beta)
        x = self.X
        comp = np.where(self.other, e / self.g_minus, 0.0)
        xx = x[:, :, None] * x[:, None, :]
        s0 = self._risk_set_sums(e, comp)
        s1 = self._risk_set_sums(e[:, None] * x, comp[:, None] * x)
        s2 = self._risk_set_sums(e[:, None, None] * xx, comp[:, None, None] * xx)
        return e, s0, s1, s2

    def objective(self, beta: np.ndarray, derivatives: bool = True):
        """Minus the log pseudo-likelihood, its gradient and Hessian (``crrfsv``/``crrf``)."""
        _, s0, s1, s2 = self.sums(beta)
        eta = self.X[self.fail] @ beta
        lik = float(-eta.sum() + self.d @ np.log(s0))
        if not derivatives:
            return lik
        xbar = s1 / s0[:, None]
        score = -self.X[self.fail].sum(axis=0) + self.d @ xbar
        info = np.einsum(
            "k,kij->ij", self.d, s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
        )
        return lik, score, info

    def sandwich(self, beta: np.ndarray) -> np.ndarray:
        """The middle of ``crr``'s sandwich: Σ_i (η_i + ψ_i)(η_i + ψ_i)' (``crrvv``)."""
        e, s0, s1, _ = self.sums(beta)
        x, t = self.X, self.time
        xbar = s1 / s0[:, None]
        k_at = np.searchsorted(self.fail_times, t, side="right")  # failure times <= t_i
        # eta: dN part, then the d Lambda part over failures at or before t_i (weight e_i) and,
        # for competing failures, after t_i (weight e_i G(T-)/G(t_i-)).
        per = self.d / s0
        c0 = np.r_[0.0, np.cumsum(per)]
        c1 = np.vstack([np.zeros(x.shape[1]), np.cumsum(per[:, None] * xbar, axis=0)])
        pg = per * self.g_fail
        d0 = np.r_[np.cumsum(pg[::-1])[::-1], 0.0]
        d1 = np.vstack([np.cumsum((pg[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(x.shape[1])])
        eta = np.where(self.fail[:, None], x - xbar[np.maximum(k_at - 1, 0)], 0.0)
        eta -= e[:, None] * (x * c0[k_at, None] - c1[k_at])
        comp = np.where(self.other, e / self.g_minus, 0.0)
        eta -= comp[:, None] * (x * d0[k_at, None] - d1[k_at])
        # psi: q(u) = A1(u) B0(u) - A0(u) B1(u) at each censoring time u, A over competing
        # failures before u, B over type-1 failures at or after u.
        first_at = np.searchsorted(t, t, side="left")
        a0 = np.r_[0.0, np.cumsum(comp)][first_at]
        a1 = np.vstack([np.zeros(x.shape[1]), np.cumsum(comp[:, None] * x, axis=0)])[first_at]
        k_from = np.searchsorted(self.fail_times, t, side="left")  # failure times >= t_i
        b0, b1 = d0[k_from], d1[k_from]
        q = a1 * b0[:, None] - a0[:, None] * b1
        y = self.n_risk_at.astype(float)
        # Cumulative -sum over censoring times u <= t_i of c(u) q(u) / Y(u)^2.
        step = np.where(self.censored[:, None], q / y[:, None] ** 2, 0.0)
        cum = np.cumsum(step, axis=0)
        last = np.searchsorted(t, t, side="right") - 1
        psi = -cum[last] + np.where(self.censored[:, None], q / y[:, None], 0.0)
        u = eta + psi
        return u.T @ u


def fine_gray(
    time,
    status,
    X,
    terms: list[str],
    failcode: int = PROGRESSION,
    cencode: int = CENSORED,
    maxiter: int = 10,
    gtol: float = 1e-6,
) -> FineGrayResult:
    """Fine–Gray proportional subdistribution hazards model, as R ``cmprsk::crr``.

    The same Newton–Raphson with backtracking line search and convergence test as ``crr``
    (``gtol``, ``maxiter``), one censoring group, fixed covariates; the variance is ``crr``'s
    sandwich H⁻¹ (Σ (η_i + ψ_i)(η_i + ψ_i)') H⁻¹, with ψ the part due to estimating the
    censoring distribution.

    Parameters
    ----------
    time : array-like of float
    status : array-like of int
        ``failcode`` = event of interest, ``cencode`` = censored, any other = competing event.
    X : array-like, shape (n, p)
    terms : list of str
    failcode, cencode, maxiter, gtol
        As R ``crr``.

    Returns
    -------
    FineGrayResult
    """
    data = _FineGrayData(time, status, X, failcode, cencode)
    p = data.X.shape[1]
    b = np.zeros(p)
    converged = False
    for iteration in range(maxiter + 1):
        lik, score, info = data.objective(b)
        if np.max(np.abs(score) * np.maximum(np.abs(b), 1)) < max(abs(lik), 1) * gtol:
            converged = True
            break
        if iteration == maxiter:
            break
        sc = -np.linalg.solve(info, score)
        bn = b + sc
        fbn = data.objective(bn, derivatives=False)
        halvings = 0
        while np.isnan(fbn) or fbn > lik + 1e-4 * (sc @ score):
            halvings += 1
            sc = sc * 0.5
            bn = b + sc
            fbn = data.objective(bn, derivatives=False)
            if halvings > 20:
                break
        if halvings > 20:
            break
        b = bn
    _, _, h0 = data.objective(b)
    h = np.linalg.inv(h0)
    var = h @ data.sandwich(b) @ h.T
    return FineGrayResult(
        terms=list(terms),
        coef=b,
        var=var,
        loglik=-data.objective(b, derivatives=False),
        loglik_null=-data.objective(np.zeros(p), derivatives=False),
        converged=converged,
        n=data.time.size,
        events=int(data.fail.sum()),
    )


# --------------------------------------------------------------------------- tables

ENDPOINTS = ("PFS", "OS")
METHODS = ("unweighted", "weighted")  # indexed by weighted: False, True
EFFECT_COLUMNS = [
    "endpoint",
    "comparison",
    "method",
    "hr",
    "ci_lower",
    "ci_upper",
    "p",
    "se",
    "variance",
    "n",
    "events",
    "ess_treated",
    "ess_control",
    "outcome_share",
    "common_outcome",
    "evalue",
    "evalue_ci",
    "note",
    "estimand",
    "weighting",
    "ties",
]


@dataclass
class Comparison:
    """Everything one comparison computes: the cohort, the PS model and the output tables.

    ``cohort`` is patient level (``ps``, ``weight`` and ``kept`` added to the columns of
    :func:`comparison_cohort`) and stays in memory: only the tables are written. ``curves``
    holds the step curves the figures draw (``cif``: :func:`cif_curves`).
    """

    levels: list[str]
    covariates: list[str]
    estimand: str
    cohort: pd.DataFrame
    model: PropensityModel | None
    tables: dict[str, pd.DataFrame]
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    reason: str = ""

    @property
    def analysed(self) -> pd.DataFrame:
        """The patients of the weighted analyses (after PS trimming)."""
        if "kept" not in self.cohort:
            return self.cohort.iloc[:0]
        return self.cohort[self.cohort["kept"]]

    @property
    def label(self) -> str:
        """``treated vs control``, as the tables write it."""
        return comparison_label(self.levels)


def comparison_label(levels: list[str]) -> str:
    """``treated vs control``: the ``comparison`` column of every table."""
    return f"{levels[0]} vs {levels[1]}"


def weighting_text(estimand: str, stabilize: bool, trim=None, truncate=None) -> str:
    """The weighting in words, for the tables and the report: ``ATE, stabilised, ...``."""
    parts = [estimand, "stabilised" if stabilize else "not stabilised"]
    if trim:
        parts.append(f"PS trimmed to [{trim:g}, {1 - trim:g}]")
    if truncate:
        parts.append(
            f"weights truncated at percentiles {100 * truncate[0]:g} and {100 * truncate[1]:g}"
        )
    return ", ".join(parts)


def weight_cohort(
    cohort: pd.DataFrame,
    covariates: list[str],
    estimand: str = "ATE",
    stabilize: bool = True,
    trim: float | None = None,
    truncate: list[float] | None = None,
    splines=None,
) -> tuple[pd.DataFrame, PropensityModel, pd.DataFrame]:
    """Propensity score, trimming and IPT weights of a :func:`comparison_cohort`.

    ``splines``: covariate -> number of knots of its restricted cubic spline (:func:`ps_design`).

    Returns
    -------
    cohort : pandas.DataFrame
        With ``ps``, ``kept`` (within the trimming bounds) and ``weight`` (NaN when not kept).
    model : PropensityModel
    attrition : pandas.DataFrame
        The trimming step (no row without trimming).
    """
    model = propensity_score(cohort["treated"], ps_design(cohort, covariates, splines))
    out = cohort.assign(ps=model.ps, kept=trim_keep(model.ps, trim))
    kept = out["kept"].to_numpy()
    w = ipt_weights(out["treated"].to_numpy()[kept], model.ps[kept], estimand, stabilize)
    out["weight"] = np.nan
    out.loc[kept, "weight"] = truncate_weights(w, truncate)
    rows = []
    if trim:
        n = len(out)
        rows.append(
            (
                f"propensity score within [{trim:g}, {1 - trim:g}]",
                n,
                int(n - kept.sum()),
                "propensity score outside the bounds (trimmed)" if (~kept).any() else "",
                int(kept.sum()),
            )
        )
    return out, model, pd.DataFrame(rows, columns=ATTRITION_COLUMNS)


def _hr_row(data, endpoint, weighted, evalue_common_outcome, conf_level, ties) -> dict:
    """One row of :func:`effects_table`: the Cox HR of treated vs control, weighted or not."""
    ep = endpoint.lower()
    event = data[f"{ep}_event"].to_numpy(int)
    treated = data["treated"].to_numpy() == 1
    w = data["weight"].to_numpy(float) if weighted else np.ones(len(data))
    share = float(event.mean())
    out = {
        "endpoint": endpoint,
        "method": METHODS[weighted],
        "n": len(data),
        "events": int(event.sum()),
        "outcome_share": share,
        "common_outcome": share > evalue_common_outcome,
        "ess_treated": effective_sample_size(w[treated]),
        "ess_control": effective_sample_size(w[~treated]),
        "variance": "robust" if weighted else "model",
        "note": "",
    }
    if event[treated].sum() == 0 or event[~treated].sum() == 0:
        return {**out, "note": "not estimable: no events in a group"}
    entry = data[f"{ep}_entry"].to_numpy(float) if f"{ep}_entry" in data else None
    fit = cox_fit(
        data[f"{ep}_time"].to_numpy(float),
        event,
        treated[:, None].astype(float),
        ["treated"],
        weights=w if weighted else None,
        robust=True if weighted else None,
        ties=ties,
        start=entry,
    )
    row = fit.table(conf_level).iloc[0]
    out |= {key: row[key] for key in ("hr", "ci_lower", "ci_upper", "p", "se")}
    if fit.infinite.any():
        out["note"] = "not estimable: monotone likelihood"
    elif weighted:
        out["evalue"], out["evalue_ci"] = evalue(
            row["hr"], row["ci_lower"], row["ci_upper"], out["common_outcome"]
        )
    return out


def effects_table(label: str, data, evalue_common_outcome=0.15, conf_level=0.95, ties="efron"):
    """Unweighted and IPT-weighted Cox hazard ratios, treated vs control, per endpoint.

    Unweighted: R ``coxph(Surv(time, event) ~ treated, ties = ties)`` (model variance); with
    delayed entry ``Surv(entry, time, event)`` in both.
    Weighted: ``coxph(Surv(time, event) ~ treated, weights = w, robust = TRUE)``: the robust
    (sandwich) variance, its Wald CI and p. E-values (:func:`evalue`) for the weighted, adjusted
    HR, with the common-outcome transformation when the share of patients with the event
    exceeds ``evalue_common_outcome``. A group without events gives no HR (a note says why).

    Returns
    -------
    pandas.DataFrame
        :data:`EFFECT_COLUMNS`; ``ess_*`` are Kish's effective sample sizes.
    """
    rows = [
        _hr_row(data, endpoint, weighted, evalue_common_outcome, conf_level, ties)
        for endpoint in ENDPOINTS
        for weighted in (False, True)
    ]
    return pd.DataFrame(rows).assign(comparison=label).reindex(columns=EFFECT_COLUMNS)


RMST_COLUMNS = ["endpoint", "comparison", "method", "group", "tau", "estimate", "se"]
RMST_COLUMNS += ["ci_lower", "ci_upper", "p", "note"]
RMST_CONTRASTS = ("difference", "ratio")
CR_COLUMNS = ["analysis", "group", "cause", "month", "estimate", "se", "ci_lower", "ci_upper"]
CR_COLUMNS += ["n_risk", "statistic", "df", "p", "note"]


def _groups(data: pd.DataFrame, levels: list[str]):
    """The treated then the control patients: ``(level, boolean mask)``."""
    treated = data["treated"].to_numpy() == 1
    return [(levels[0], treated), (levels[1], ~treated)]


def km_by_group(data, levels, endpoint, weighted: bool, conf_type="log", conf_level=0.95):
    """Kaplan–Meier curve of each group, IPT-weighted or not (R ``survfit(..., weights = w)``).

    With delayed entry, on (entry, exit] risk sets (R ``Surv(entry, time, event)``).
    """
    time = data[f"{endpoint.lower()}_time"].to_numpy(float)
    event = data[f"{endpoint.lower()}_event"].to_numpy(float)
    w = data["weight"].to_numpy(float)
    entry = data[f"{endpoint.lower()}_entry"].to_numpy(float) if _delayed(data) else None
    return {
        level: km_curve(
            time[rows],
            event[rows],
            conf_type,
            conf_level,
            weights=w[rows] if weighted else None,
            entry=None if entry is None else entry[rows],
        )
        for level, rows in _groups(data, levels)
    }


def _delayed(data: pd.DataFrame) -> bool:
    """True when the cohort carries entry times (:func:`comparison_cohort` with delayed entry)."""
    return "pfs_entry" in data.columns


KM_COLUMNS = ["endpoint", "comparison", "method", "group", "statistic", "month", "estimate"]
KM_COLUMNS += ["ci_lower", "ci_upper", "n_risk"]


def km_table(
    data: pd.DataFrame,
    levels: list[str],
    landmarks_months=(6, 12, 24),
    conf_type: str = "log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier median and landmark survival of each group, unweighted and IPT-weighted.

    As R ``quantile(survfit(Surv(time, event) ~ 1, weights = w), 0.5)`` and ``summary(fit,
    times = month)`` (``extend = FALSE``: NaN beyond the last time), per group; the weighted
    curve's variance is R's default for fractional weights (:func:`rwe.survival.km_curve`).
    ``n_risk`` is the number of patients at risk (unweighted) at the landmark.

    Returns
    -------
    pandas.DataFrame
        :data:`KM_COLUMNS`; ``statistic`` is ``median`` (months) or ``surv`` (at ``month``).
    """
    rows = []
    rows_of = dict(_groups(data, levels))
    for endpoint in ENDPOINTS:
        counts = km_by_group(data, levels, endpoint, False, conf_type, conf_level)
        weighted = km_by_group(data, levels, endpoint, True, conf_type, conf_level)
        for method, curves in (("unweighted", counts), ("weighted", weighted)):
            for level, curve in curves.items():
                base = {"endpoint": endpoint, "method": method, "group": level}
                n = int(rows_of[level].sum())  # patients (with delayed entry, not the first n_risk)
                median, lower, upper = km_quantile(curve, 0.5)
                rows.append(
                    {
                        **base,
                        "statistic": "median",
                        "month": np.nan,
                        "estimate": median,
                        "ci_lower": lower,
                        "ci_upper": upper,
                        "n_risk": n,
                    }
                )
                for month in landmarks_months:
                    at = km_at(curve, month, n)
                    rows.append(
                        {
                            **base,
                            "statistic": "surv",
                            "month": month,
                            "estimate": at["surv"],
                            "ci_lower": at["ci_lower"],
                            "ci_upper": at["ci_upper"],
                            "n_risk": km_at(counts[level], month, n)["n_risk"],
                        }
                    )
    return pd.DataFrame(rows).assign(comparison=comparison_label(levels))[KM_COLUMNS]


def _wald(estimate: float, se: float, z: float, log: bool = False) -> dict:
    """Estimate, SE, Wald CI and two-sided p (of estimate = 0); ``log``: back-transformed."""
    estimate, se = np.float64(estimate), np.float64(se)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * special.ndtr(-abs(estimate / se))
    lower, upper = estimate - z * se, estimate + z * se
    if log:
        estimate, lower, upper = np.exp([estimate, lower, upper])
    return {"estimate": estimate, "se": se, "ci_lower": lower, "ci_upper": upper, "p": p}


def rmst_table(
    data: pd.DataFrame,
    levels: list[str],
    tau_months: float | None = None,
    conf_level: float = 0.95,
    min_at_risk: int = 1,
) -> pd.DataFrame:
    """Restricted mean survival time at τ per group, their difference and ratio.

    Per group as R ``print(survfit(Surv(time, event) ~ group), rmean = tau)`` (with delayed
    entry ``Surv(entry, time, event)``; and with
    ``weights = w`` for the IPT-weighted rows); the difference treated − control with SE
    √(se₁² + se₀²) and the ratio on the log scale with SE √((se₁/μ₁)² + (se₀/μ₀)²), Wald CIs
    and p, as ``survRM2::rmst2`` combines them. τ is
    :func:`rwe.comparative_inference.rmst_horizon`: a τ beyond the time where a group has fewer
    than ``min_at_risk`` patients at risk gives rows without estimates and a note saying so.

    Returns
    -------
    pandas.DataFrame
        :data:`RMST_COLUMNS`; months.
    """
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    rows = []
    for endpoint in ENDPOINTS:
        tau, note, refusal = rmst_horizon(data, endpoint, levels, tau_months, min_at_risk)
        for method in METHODS:
            base = {"endpoint": endpoint, "method": method, "tau": tau}
            if refusal:
                rows += [{**base, "group": g, "note": refusal} for g in (*levels, *RMST_CONTRASTS)]
                continue
            base["note"] = note
            curves = km_by_group(data, levels, endpoint, method == "weighted")
            treated, control = (rmst(curves[level], tau) for level in levels)
            m1, s1, m0, s0 = treated["rmean"], treated["se"], control["rmean"], control["se"]
            rows += [
                {**base, "group": levels[0], **_wald(m1, s1, z), "p": np.nan},
                {**base, "group": levels[1], **_wald(m0, s0, z), "p": np.nan},
                {**base, "group": "difference", **_wald(m1 - m0, np.hypot(s1, s0), z)},
            ]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = _wald(np.log(m1 / m0), np.hypot(s1 / m1, s0 / m0), z, log=True)
            rows.append({**base, "group": "ratio", **ratio})
    return pd.DataFrame(rows, columns=RMST_COLUMNS).assign(comparison=comparison_label(levels))


def competing_tests(data: pd.DataFrame, conf_level: float = 0.95) -> list[dict]:
    """Gray's test and the Fine–Gray SHR of progression, treated vs control (table rows).

    Neither is estimable when a group has no progression: the rows then carry only a note.
    """
    time = data["pfs_time"].to_numpy(float)
    status = data["cr_status"].to_numpy(int)
    treated = data["treated"].to_numpy(int)
    base = {"group": "all", "cause": CAUSES[PROGRESSION], "month": np.nan, "note": ""}
    gray_row = {**base, "analysis": "gray_test"}
    fg_row = {**base, "analysis": "fine_gray"}
    progressed = status == PROGRESSION
    if not (progressed[treated == 1].any() and progressed[treated == 0].any()):
        note = "not estimable: no progression in a group"
        return [{**gray_row, "note": note}, {**fg_row, "note": note}]
    gray = gray_test(time, status, treated)
    gray_row |= {"statistic": gray["statistic"], "df": gray["df"], "p": gray["p"]}
    fg = fine_gray(time, status, treated[:, None], ["treated"])
    t = fg.table(conf_level).iloc[0]
    fg_row |= {
        "estimate": t["shr"],
        "se": t["se"],
        "ci_lower": t["ci_lower"],
        "ci_upper": t["ci_upper"],
        "statistic": t["coef"] / t["se"],
        "p": t["p"],
        "note": "" if fg.converged else "crr did not converge",
    }
    return [gray_row, fg_row]


def cif_curves(data: pd.DataFrame, levels: list[str], conf_level: float = 0.95) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of progression and of death without progression.

    Per group, as R ``survfit(Surv(pfs_time, factor(cr_status)) ~ 1)`` (its ``pstate``):
    :func:`rwe.survival.cumulative_incidence`; with delayed entry
    ``Surv(pfs_entry, pfs_time, factor(cr_status))``.

    Returns
    -------
    pandas.DataFrame
        ``group, cause`` (words) and the columns of ``cumulative_incidence``.
    """
    parts = []
    for level, rows in _groups(data, levels):
        time = data["pfs_time"].to_numpy(float)[rows]
        status = data["cr_status"].to_numpy(int)[rows]
        entry = data["pfs_entry"].to_numpy(float)[rows] if _delayed(data) else None
        curve = cumulative_incidence(time, status, conf_level=conf_level, entry=entry)
        curve["cause"] = curve["cause"].astype(int)
        # A cause without events in the group: an all-zero curve at its times, as R's pstate.
        steps = km_curve(time, np.zeros(time.size), entry=entry)[["time", "n_risk"]]
        for code in CAUSES:
            if not (curve["cause"] == code).any():
                zero = steps.assign(
                    cause=code, n_event=0, cif=0.0, std_err=0.0, ci_lower=np.nan, ci_upper=np.nan
                )
                curve = pd.DataFrame(
                    {
                        c: np.concatenate([curve[c].to_numpy(), zero[c].to_numpy()])
                        for c in curve.columns
                    }
                )
        parts.append(curve.assign(group=level))
    out = pd.concat(parts, ignore_index=True)
    out["cause"] = out["cause"].map(CAUSES)
    return out.sort_values(["group", "cause", "time"], kind="stable").reset_index(drop=True)


def cif_landmarks(curves: pd.DataFrame, landmarks_months) -> list[dict]:
    """CIF, its SE and CI and the number at risk at each landmark, as R ``summary(fit, times)``.

    The value at the last time ≤ the landmark (0 before the first); the number at risk at the
    first time ≥ it; no row beyond a group's last time (R ``extend = FALSE``).
    """
    rows = []
    for (group, cause), curve in curves.groupby(["group", "cause"], sort=False):
        times = curve["time"].to_numpy(float)
        for month in landmarks_months:
            if times.size == 0 or month > times[-1]:
                continue
            last = int(np.searchsorted(times, month, side="right")) - 1
            after = int(np.searchsorted(times, month, side="left"))
            at = curve.iloc[last] if last >= 0 else None
            rows.append(
                {
                    "analysis": "cif",
                    "group": group,
                    "cause": cause,
                    "month": month,
                    "estimate": at["cif"] if at is not None else 0.0,
                    "se": at["std_err"] if at is not None else 0.0,
                    "ci_lower": at["ci_lower"] if at is not None else np.nan,
                    "ci_upper": at["ci_upper"] if at is not None else np.nan,
                    "n_risk": curve["n_risk"].iloc[after],
                    "note": "",
                }
            )
    return rows


#: The default propensity covariates: what drives the choice between two IMiD regimens
#: (IMiD, PI and CD38 refractoriness, prior lines) and the prognostic factors that also weigh
#: on it (age, GFR), continuous where the data are.
REGIMEN_CONFOUNDERS = [
    "refractory_imid",
    "prior_lines",
    "refractory_pi",
    "refractory_cd38",
    "age",
    "gfr",
]


def comparison_covariates(adsl: pd.DataFrame, configured) -> list[str]:
    """The PS covariates: the configured list, else :data:`REGIMEN_CONFOUNDERS` in ADSL."""
    if configured is not None:
        return list(configured)
    return [c for c in REGIMEN_CONFOUNDERS if c in adsl.columns]


TABLE_NAMES = [
    "target_trial",
    "comparative_attrition",
    "ps_model",
    "ps_balance",
    "ps_weights",
    "comparative_effects",
    "comparative_km",
    "rmst",
    "comparative_bootstrap",
    "comparative_sensitivity",
    "competing_risks",
]
SENSITIVITY_COLUMNS = [
    *["analysis", "weighting", "endpoint", "comparison", "n", "ess_treated", "ess_control"],
    *["max_abs_smd", "balance_achieved", "hr", "ci_lower", "ci_upper", "p"],
    *["rmst_difference", "rmst_ci_lower", "rmst_ci_upper", "tau", "note"],
]


def balance_note(balance: pd.DataFrame, threshold: float) -> str:
    """The note of estimates from weights that did not balance the covariates.

    ``"not interpretable: balance not achieved (...)"`` naming each covariate whose weighted
    |SMD| exceeds ``threshold``; empty when there is none.
    """
    weighted = balance[balance["sample"] == "weighted"]
    failed = weighted[weighted["smd"].abs() > threshold]
    if failed.empty:
        return ""
    names = ", ".join(
        f"{c} {v:+.3f}" for c, v in zip(failed["covariate"], failed["smd"], strict=True)
    )
    return f"not interpretable: balance not achieved (|SMD| > {threshold:g}: {names})"


def _surv_at(curve: pd.DataFrame, month: float) -> tuple[float, float]:
    """S(month) and its SE on the survival scale, as R ``summary(fit, times)``.

    NaN beyond the last time (``extend = FALSE``).
    """
    times = curve["time"].to_numpy(float)
    if times.size == 0 or month > times[-1]:
        return np.nan, np.nan
    last = int(np.searchsorted(times, month, side="right")) - 1
    if last < 0:
        return 1.0, 0.0
    surv = float(curve["surv"].iloc[last])
    return surv, surv * float(curve["std_err"].iloc[last])


def weighted_estimates(
    cohort: pd.DataFrame,
    levels: list[str],
    covariates: list[str],
    *,
    estimand: str,
    stabilize: bool,
    trim,
    truncate,
    splines,
    taus: dict,
    landmarks_months,
    ties: str,
) -> dict:
    """The weighted pipeline from the cohort to every estimate the bootstrap intervals cover.

    Propensity model (:func:`ps_design`, :func:`propensity_score`), trimming, weights,
    truncation (:func:`weight_cohort`); then per endpoint the weighted Cox log hazard ratio
    (R ``coxph(weights = w)``), the RMST difference and log ratio at ``taus[endpoint]`` (NaN
    when τ is refused) and the weighted Kaplan–Meier survival difference at each landmark
    (treated − control; NaN beyond a group's last time). A quantity that a (resampled) cohort
    cannot support is NaN.

    Returns
    -------
    dict
        ``(endpoint, quantity, month) -> value``; quantities of
        :data:`rwe.comparative_inference.BOOT_QUANTITIES` (``hr`` on the log scale, ``rmst_ratio``
        too).
    """
    out = {}
    weighted, _, _ = weight_cohort(cohort, covariates, estimand, stabilize, trim, truncate, splines)
    data = weighted[weighted["kept"]]
    treated = data["treated"].to_numpy() == 1
    both = treated.any() and (~treated).any()
    w = data["weight"].to_numpy(float)
    for endpoint in ENDPOINTS:
        ep = endpoint.lower()
        time = data[f"{ep}_time"].to_numpy(float)
        event = data[f"{ep}_event"].to_numpy(int)
        log_hr = np.nan
        if both and event[treated].any() and event[~treated].any():
            fit = cox_fit(
                time, event, treated[:, None].astype(float), ["treated"], weights=w, ties=ties
            )
            if not fit.infinite.any():
                log_hr = float(fit.coef[0])
        out[(endpoint, "hr", np.nan)] = log_hr
        tau = taus.get(endpoint, np.nan)
        curves = km_by_group(data, levels, endpoint, True) if both else None
        diff = ratio = np.nan
        if curves is not None and np.isfinite(tau):
            m1, m0 = (rmst(curves[level], tau)["rmean"] for level in levels)
            diff = m1 - m0
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = float(np.log(m1 / m0))
        out[(endpoint, "rmst_difference", tau)] = diff
        out[(endpoint, "rmst_ratio", tau)] = ratio
        for month in landmarks_months:
            value = np.nan
            if curves is not None:
                value = (
                    _surv_at(curves[levels[0]], month)[0] - _surv_at(curves[levels[1]], month)[0]
                )
            out[(endpoint, "surv_difference", float(month))] = value
    return out


def bootstrap_comparison(
    cohort: pd.DataFrame,
    levels: list[str],
    covariates: list[str],
    point: dict,
    *,
    replicates: int,
    seed: int,
    indices: np.ndarray | None = None,
    conf_level: float = 0.95,
    **pipeline,
) -> tuple[dict, np.ndarray]:
    """Nonparametric bootstrap of the whole weighted pipeline, stratified by group.

    Each replicate resamples the patients of each group with replacement
    (:func:`rwe.comparative_inference.bootstrap_indices`, or the given ``indices``), refits the
    propensity model and recomputes the weights and every estimate (:func:`weighted_estimates`
    with ``pipeline``); the intervals are R ``boot.ci``'s normal and percentile ones
    (:func:`rwe.comparative_inference.boot_ci`) around ``point`` (the estimates of the cohort).

    Returns
    -------
    intervals : dict
        key of ``point`` -> ``boot_ci`` result plus ``replicates`` and ``failed`` (replicates
        where the quantity was not estimable; they are left out, as ``boot.ci`` does).
    replicates : numpy.ndarray
        ``(B, len(point))``, the replicate estimates in ``point``'s key order.
    """
    if indices is None:
        indices = bootstrap_indices(cohort["treated"].to_numpy(), replicates, seed)
    keys = list(point)
    t = np.full((len(indices), len(keys)), np.nan)
    for b, rows in enumerate(indices):
        sample = cohort.iloc[rows].reset_index(drop=True)
        est = weighted_estimates(sample, levels, covariates, **pipeline)
        t[b] = [est.get(k, np.nan) for k in keys]
    out = {}
    for j, key in enumerate(keys):
        finite = np.isfinite(t[:, j])
        out[key] = boot_ci(point[key], t[finite, j], conf_level) | {
            "replicates": int(finite.sum()),
            "failed": int((~finite).sum()),
        }
    return out, t


def sensitivity_table(
    cohort: pd.DataFrame,
    levels: list[str],
    covariates: list[str],
    primary: dict,
    analyses: dict,
    *,
    balance_threshold: float,
    taus: dict,
    conf_level: float,
    ties: str,
) -> pd.DataFrame:
    """The primary weighted analysis beside its prespecified trimming and truncation variants.

    Each analysis refits nothing but the weights (the same propensity model): ``analyses`` maps
    a name to the options that differ from ``primary`` (``trim``, ``truncate``). Per analysis
    and endpoint: the patients kept, Kish ESS per group, the largest weighted |SMD| and whether
    balance holds, the weighted Cox HR (robust variance) and the weighted RMST difference at
    the primary's τ, each as :func:`effects_table` and :func:`rmst_table` compute them. An
    analysis that leaves a group empty gets a ``not estimable`` row.

    Returns
    -------
    pandas.DataFrame
        :data:`SENSITIVITY_COLUMNS`.
    """
    label = comparison_label(levels)
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    rows = []
    for name, changes in {"primary": {}, **analyses}.items():
        o = {**primary, **changes}
        weighted, _, _ = weight_cohort(
            cohort,
            covariates,
            o["estimand"],
            o["stabilize"],
            o["trim"],
            o["truncate"],
            o["splines"],
        )
        data = weighted[weighted["kept"]]
        text = weighting_text(o["estimand"], o["stabilize"], o["trim"], o["truncate"])
        base = {"analysis": name, "weighting": text, "comparison": label, "n": len(data)}
        if data["treated"].nunique() < 2:
            for endpoint in ENDPOINTS:
                rows.append(
                    {**base, "endpoint": endpoint, "note": "not estimable: a group is empty"}
                )
            continue
        balance = balance_table(
            data[covariates], data["treated"], data["weight"], o["estimand"], balance_threshold
        )
        smd = balance.loc[balance["sample"] == "weighted", "smd"].abs()
        note = balance_note(balance, balance_threshold)
        curves_of = {e: km_by_group(data, levels, e, True) for e in ENDPOINTS}
        for endpoint in ENDPOINTS:
            hr = _hr_row(data, endpoint, True, 1.0, conf_level, ties)
            tau = taus.get(endpoint, np.nan)
            diff = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
            if np.isfinite(tau):
                (m1, s1), (m0, s0) = (
                    (r["rmean"], r["se"])
                    for r in (rmst(curves_of[endpoint][level], tau) for level in levels)
                )
                diff = _wald(m1 - m0, np.hypot(s1, s0), z)
            rows.append(
                {
                    **base,
                    "endpoint": endpoint,
                    "ess_treated": hr["ess_treated"],
                    "ess_control": hr["ess_control"],
                    "max_abs_smd": float(smd.max()),
                    "balance_achieved": not note,
                    "hr": hr.get("hr", np.nan),
                    "ci_lower": hr.get("ci_lower", np.nan),
                    "ci_upper": hr.get("ci_upper", np.nan),
                    "p": hr.get("p", np.nan),
                    "rmst_difference": diff["estimate"],
                    "rmst_ci_lower": diff["ci_lower"],
                    "rmst_ci_upper": diff["ci_upper"],
                    "tau": tau,
                    "note": "; ".join(x for x in (hr["note"], note) if x),
                }
            )
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


BOOTSTRAP_FIXED = {
    "hr": "robust sandwich (weights fixed)",
    "rmst_difference": "R survfit weighted-count variance (weights fixed)",
    "rmst_ratio": "R survfit weighted-count variance (weights fixed)",
    "surv_difference": "R survfit infinitesimal jackknife (weights fixed)",
}


def bootstrap_table(
    point: dict,
    intervals: dict,
    fixed: dict,
    label: str,
    seed: int,
    note: str = "",
) -> pd.DataFrame:
    """Rows of ``comparative_bootstrap``: fixed-weight and bootstrap intervals side by side.

    Each estimate with its fixed-weight interval and its bootstrap SE, bias, normal and
    percentile intervals (``hr`` and ``rmst_ratio`` back on the ratio scale).
    """
    rows = []
    for (endpoint, quantity, month), value in point.items():
        ci = intervals.get((endpoint, quantity, month))
        log = quantity in ("hr", "rmst_ratio")
        back = np.exp if log else (lambda v: v)
        lo, hi = fixed.get((endpoint, quantity, month), (np.nan, np.nan))
        row = {
            "endpoint": endpoint,
            "comparison": label,
            "quantity": quantity,
            "month": month,
            "estimate": back(value),
            "fixed_ci_lower": lo,
            "fixed_ci_upper": hi,
            "fixed_variance": BOOTSTRAP_FIXED[quantity],
            "seed": seed,
            "note": note,
        }
        if ci is not None:
            row |= {
                "boot_se": ci["se"],
                "boot_bias": ci["bias"],
                "normal_lower": back(ci["normal"][0]),
                "normal_upper": back(ci["normal"][1]),
                "percentile_lower": back(ci["percentile"][0]),
                "percentile_upper": back(ci["percentile"][1]),
                "replicates": ci["replicates"],
                "failed": ci["failed"],
            }
        if not np.isfinite(value) and not row["note"]:
            row["note"] = "not estimable in the cohort"
        rows.append(row)
    return pd.DataFrame(rows, columns=BOOTSTRAP_COLUMNS)


def _fixed_intervals(data, levels, effects, rmst_rows, landmarks_months, conf_level) -> dict:
    """The fixed-weight (sandwich / survfit) CIs of the bootstrap's quantities."""
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    out = {}
    for r in effects[effects["method"] == "weighted"].to_dict("records"):
        out[(r["endpoint"], "hr", np.nan)] = (r["ci_lower"], r["ci_upper"])
    for r in rmst_rows[rmst_rows["method"] == "weighted"].to_dict("records"):
        if r["group"] in RMST_CONTRASTS:
            key = (r["endpoint"], f"rmst_{r['group']}", r["tau"])
            out[key] = (r["ci_lower"], r["ci_upper"])
    for endpoint in ENDPOINTS:
        curves = km_by_group(data, levels, endpoint, True)
        for month in landmarks_months:
            (s1, e1), (s0, e0) = (_surv_at(curves[level], month) for level in levels)
            se = np.hypot(e1, e0)
            out[(endpoint, "surv_difference", float(month))] = (s1 - s0 - z * se, s1 - s0 + z * se)
    return out


def _empty_tables(label: str, reason: str, attrition: pd.DataFrame, protocol) -> dict:
    """Every table of a comparison the cohort cannot support: one row that says why."""
    from rwe.comparative_inference import WEIGHT_COLUMNS

    columns = {
        "ps_model": ["term", "coef", "se", "z", "p", "note", "comparison"],
        "ps_balance": [*BALANCE_COLUMNS, "comparison"],
        "ps_weights": WEIGHT_COLUMNS,
        "comparative_effects": [*EFFECT_COLUMNS, "balance_achieved"],
        "comparative_km": [*KM_COLUMNS, "balance_achieved"],
        "rmst": [*RMST_COLUMNS, "balance_achieved"],
        "comparative_bootstrap": BOOTSTRAP_COLUMNS,
        "comparative_sensitivity": SENSITIVITY_COLUMNS,
        "competing_risks": [*CR_COLUMNS, "comparison"],
    }
    # The reason goes in the table's note, else in its first text column.
    where = {"ps_balance": "covariate", "ps_weights": "group", "comparative_km": "statistic"}
    tables = {"target_trial": protocol, "comparative_attrition": attrition}
    for name, cols in columns.items():
        row = {"comparison": label, where.get(name, "note"): reason}
        tables[name] = pd.DataFrame([row], columns=cols)
    return tables


#: What Gray's test and the Fine–Gray rows say with delayed entry: they are right-censored
#: only here, as R cmprsk (cuminc, crr) is. Everything else of the comparison uses entry.
ENTRY_NOT_USED = (
    "delayed entry not used: computed from day 0 as if every patient were observed from it "
    "(R cmprsk has no left truncation); the hazard ratios, Kaplan–Meier, RMST and "
    "cumulative incidence use it"
)


def _with_note(notes: pd.Series, note: str) -> pd.Series:
    """``notes`` with ``note`` appended to each ('; ' between)."""
    return notes.fillna("").map(lambda n: f"{n}; {note}" if n else note)


def compare(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    *,
    treatment: str = "regimen",
    levels: tuple[str, str] = ("Ixa-Rd", "Ixa-Pd"),
    covariates: list[str],
    spline_knots: dict | None = None,
    estimand: str = "ATE",
    stabilize: bool = True,
    trim: float | None = None,
    truncate: list[float] | None = None,
    rmst_tau_months: float | None = None,
    rmst_min_at_risk: int = 1,
    balance_threshold: float = 0.1,
    evalue_common_outcome: float = 0.15,
    sensitivity: dict | None = None,
    bootstrap: dict | None = None,
    pfs_death_events: str = "all",
    landmarks_months=(6, 12, 24),
    conf_type: str = "log",
    ties: str = "efron",
    conf_level: float = 0.95,
) -> Comparison:
    """The whole comparison of two levels: target-trial protocol, cohort, PS weights, tables.

    ``conf_type`` (Kaplan–Meier CIs) and ``ties`` (Cox) are the run's software conventions.
    ``spline_knots`` maps a continuous covariate to the knots of its restricted cubic spline
    in the propensity model. ``sensitivity`` holds the prespecified ``trim`` and ``truncate``
    of the sensitivity analyses (None: none); ``bootstrap`` its ``replicates``, ``seed`` and
    ``max_patients`` (above which it is not run, and the table says so).

    When any covariate stays imbalanced after weighting (|SMD| > ``balance_threshold``), every
    weighted estimate carries ``balance_achieved = False`` and a "not interpretable" note, and
    no E-value is computed. A cohort without patients of both levels gives every table one
    row with the reason (it does not raise).

    Returns
    -------
    Comparison
        ``tables``: :data:`TABLE_NAMES`.
    """
    levels = list(levels)
    label = comparison_label(levels)
    splines = dict(spline_knots or {})
    not_covariates = [c for c in splines if c not in covariates]
    if not_covariates:
        raise ConfigError(
            f"compare.spline_knots: not propensity covariates: {', '.join(not_covariates)}"
        )
    bootstrap = {"replicates": 200, "seed": 2026, "max_patients": 20000, **(bootstrap or {})}
    weighting = weighting_text(estimand, stabilize, trim, truncate)
    protocol = target_trial_table(
        levels,
        treatment,
        covariates,
        estimand,
        weighting,
        rmst_tau_months,
        rmst_min_at_risk,
        pfs_death_events,
        bootstrap["replicates"],
        conf_level,
        balance_threshold,
    )
    cohort, attrition = comparison_cohort(adsl, adtte, treatment, levels, covariates)
    counts = cohort["group"].value_counts()
    empty = [level for level in levels if counts.get(level, 0) == 0]
    if empty:
        reason = (
            f"not estimable: no patient with {treatment} = {' or '.join(empty)} and the "
            "covariates known"
        )
        comparison = Comparison(levels, covariates, estimand, cohort, None, {}, reason=reason)
        comparison.tables = _empty_tables(label, reason, attrition, protocol)
        return comparison
    cohort, model, trimmed = weight_cohort(
        cohort, covariates, estimand, stabilize, trim, truncate, splines
    )
    comparison = Comparison(levels, covariates, estimand, cohort, model, {})
    attrition = pd.concat([attrition, trimmed], ignore_index=True)
    data = comparison.analysed
    if data["treated"].nunique() < 2:
        reason = f"not estimable: no patient of one level is left after trimming at {trim:g}"
        comparison.reason = reason
        comparison.tables = _empty_tables(label, reason, attrition, protocol)
        return comparison
    balance = balance_table(
        data[covariates], data["treated"], data["weight"], estimand, balance_threshold
    )
    not_interpretable = balance_note(balance, balance_threshold)
    balanced = not not_interpretable
    cif = cif_curves(data, levels, conf_level)
    risks = cif_landmarks(cif, landmarks_months) + competing_tests(data, conf_level)
    effects = effects_table(label, data, evalue_common_outcome, conf_level, ties).assign(
        estimand=estimand, weighting=weighting, ties=ties
    )
    ps_model = model.table().assign(note="")
    weighted = effects["method"] == "weighted"
    if model.separated:
        separated = (
            "propensity scores of 0 or 1 (separation): weights unstable, consider compare.trim"
        )
        ps_model.loc[0, "note"] = separated
        effects.loc[weighted, "note"] = effects.loc[weighted, "note"].where(
            effects.loc[weighted, "note"] != "", separated
        )
    if not balanced:
        effects.loc[weighted, ["evalue", "evalue_ci"]] = np.nan
        effects.loc[weighted, "note"] = [
            "; ".join(x for x in (n, not_interpretable) if x) for n in effects.loc[weighted, "note"]
        ]
    if model.dropped:
        note = pd.DataFrame({"term": model.dropped, "note": "constant in the cohort: left out"})
        ps_model = pd.concat([ps_model, note], ignore_index=True)
    rmst_rows = rmst_table(data, levels, rmst_tau_months, conf_level, rmst_min_at_risk)
    if not balanced:
        w_rows = (rmst_rows["method"] == "weighted") & ~rmst_rows["note"].str.startswith(
            "not estimable"
        )
        rmst_rows.loc[w_rows, "note"] = [
            "; ".join(x for x in (n, not_interpretable) if x) for n in rmst_rows.loc[w_rows, "note"]
        ]
    km = km_table(data, levels, landmarks_months, conf_type, conf_level)
    # Balance concerns the weighted rows; the unweighted ones are crude comparisons.
    flag = {"weighted": balanced, "unweighted": np.nan}
    taus = {}
    for endpoint in ENDPOINTS:
        tau, _, refusal = rmst_horizon(data, endpoint, levels, rmst_tau_months, rmst_min_at_risk)
        taus[endpoint] = np.nan if refusal else tau
    pipeline = {
        "estimand": estimand,
        "stabilize": stabilize,
        "trim": trim,
        "truncate": truncate,
        "splines": splines,
        "taus": taus,
        "landmarks_months": landmarks_months,
        "ties": ties,
    }
    base = comparison.cohort.drop(columns=["ps", "kept", "weight"])
    point = weighted_estimates(base, levels, covariates, **pipeline)
    fixed = _fixed_intervals(data, levels, effects, rmst_rows, landmarks_months, conf_level)
    n = len(base)
    if bootstrap["replicates"] > 0 and n <= bootstrap["max_patients"]:
        intervals, _ = bootstrap_comparison(
            base,
            levels,
            covariates,
            point,
            replicates=bootstrap["replicates"],
            seed=bootstrap["seed"],
            conf_level=conf_level,
            **pipeline,
        )
        boot_note = not_interpretable
    else:
        intervals = {}
        boot_note = (
            f"bootstrap not run: {n} patients exceed compare.bootstrap.max_patients "
            f"({bootstrap['max_patients']})"
            if bootstrap["replicates"] > 0
            else "bootstrap not run: compare.bootstrap.replicates is 0"
        )
    boot = bootstrap_table(point, intervals, fixed, label, bootstrap["seed"], boot_note)
    primary = {
        "estimand": estimand,
        "stabilize": stabilize,
        "trim": trim,
        "truncate": truncate,
        "splines": splines,
    }
    analyses = {
        name: {name: value} for name, value in (sensitivity or {}).items() if value is not None
    }
    renamed = {"trim": "trimmed", "truncate": "truncated"}
    analyses = {renamed.get(k, k): v for k, v in analyses.items()}
    sens = sensitivity_table(
        base,
        levels,
        covariates,
        primary,
        analyses,
        balance_threshold=balance_threshold,
        taus=taus,
        conf_level=conf_level,
        ties=ties,
    )
    if has_delayed_entry(adtte):
        risk_rows = pd.DataFrame(risks, columns=CR_COLUMNS)
        tests = risk_rows["analysis"].isin(["gray_test", "fine_gray"])
        risk_rows.loc[tests, "note"] = _with_note(
            risk_rows.loc[tests, "note"].fillna(""), ENTRY_NOT_USED
        )
        risks = risk_rows.to_dict("records")
    comparison.tables = {
        "target_trial": protocol,
        "comparative_attrition": attrition,
        "ps_model": ps_model.assign(comparison=label),
        "ps_balance": balance.assign(comparison=label),
        "ps_weights": weight_summary(comparison.cohort, levels, label),
        "comparative_effects": effects.assign(balance_achieved=effects["method"].map(flag)),
        "comparative_km": km.assign(balance_achieved=km["method"].map(flag)),
        "rmst": rmst_rows.assign(balance_achieved=rmst_rows["method"].map(flag)),
        "comparative_bootstrap": boot,
        "comparative_sensitivity": sens,
        "competing_risks": pd.DataFrame(risks, columns=CR_COLUMNS).assign(comparison=label),
    }
    comparison.curves = {"cif": cif}
    return comparison
