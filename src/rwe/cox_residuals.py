"""Residuals of a Cox fit, as R ``residuals.coxph``, and the influence table built on them.

- :func:`residuals_coxph` — ``residuals(fit, type = ...)`` for ``martingale``, ``deviance``,
  ``score``, ``schoenfeld``, ``scaledsch``, ``dfbeta`` and ``dfbetas``, with R's ``weighted``
  defaults and its ``collapse`` (sum within a patient or cluster); Efron or Breslow ties,
  strata, case weights and counting-process rows as the fit had them.
- :func:`influence` — per term, the largest |dfbetas| of a fit and the number of patients above
  a cutoff ``c / sqrt(n)`` (Belsley, Kuh and Welsch's size-adjusted cutoff, c = 2 by
  convention; config ``cox.dfbetas_cutoff``); :func:`cox_influence_table` for every model of the
  survival section.

Every residual is computed from the risk sets of :mod:`rwe.survival` (``_CountingRiskSets``, R
``agfit4``'s layout: each row at risk over a range of death times), so the same cumulative sums
give the fit and its residuals. ``tests/r/cox_features.R`` recomputes each with R and
``tests/test_cox_features_parity.py`` compares them at 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.survival import (
    CoxResult,
    _CountingRiskSets,
    _cumsum,
    _reverse_cumsum,
    _RiskSets,
    _sum_by,
)

RESIDUAL_TYPES = (
    "martingale",
    "deviance",
    "score",
    "schoenfeld",
    "scaledsch",
    "dfbeta",
    "dfbetas",
)
INFLUENCE_COLUMNS = [
    "analysis_set",
    "endpoint",
    "model",
    "term",
    "n",
    "max_abs_dfbetas",
    "rule",
    "cutoff",
    "n_above",
]


def _beta(fit: CoxResult) -> np.ndarray:
    """The coefficients with an aliased one as 0 (R: ``ifelse(is.na(coef), 0, coef)``)."""
    return np.where(fit.aliased, 0.0, fit.coef)


def _naive_var(fit: CoxResult) -> np.ndarray:
    """R's ``naive.var`` when the variance is robust, else ``var``; 0 in aliased rows (R chinv2)."""
    vv = fit.var_naive if fit.var_naive is not None else fit.var
    return np.nan_to_num(vv)


def _risk_sets(fit: CoxResult, time, event, X, strata, start, weights) -> _CountingRiskSets:
    """The fit's data, one row per observation in the caller's order (R agfit4's layout)."""
    return _CountingRiskSets(time, event, X, strata, fit.ties, start, weights)


def patient_risk_sets(
    fit: CoxResult, ties: str | None = None
) -> tuple[_CountingRiskSets, np.ndarray]:
    """The observations of ``fit`` one row each, and the row of the fit's risk sets of each.

    Identical patients that the fast path collapsed are expanded back. The rows are in the fit's (time-sorted) order, not the caller's: for statistics over the
    patients (maxima, counts) that do not need to know which patient is which. ``ties``
    (default the fit's) sets how tied deaths share the risk set.
    """
    rs = fit.risk_sets
    ties = fit.ties if ties is None else ties
    if isinstance(rs, _CountingRiskSets):
        start = np.where(np.isfinite(rs.start), rs.start, -np.inf)
        return _CountingRiskSets(
            rs.time, rs.dead.astype(int), rs.X_raw, rs.stratum, ties, start, rs.weight
        ), np.arange(rs.n)
    assert isinstance(rs, _RiskSets)
    source = np.repeat(np.arange(rs.weight.size), rs.weight.astype(np.int64))
    expanded = _CountingRiskSets(
        rs.time[source], rs.dead[source].astype(int), rs.X_raw[source], rs.stratum[source], ties
    )
    return expanded, source


def _cumulative_hazard(rs: _CountingRiskSets, beta: np.ndarray):
    """Risk score and Efron/Breslow cumulative hazard each row bore (R ``agmart3``)."""
    _, score, _, a0, _ = rs._terms(beta)
    t, f, m = rs.term_time, rs.fraction, rs.term_weight
    hazard = m / a0
    per_death = lambda v: _sum_by(t, v, rs.n_deaths)  # noqa: E731
    cum = rs._over_range(per_death(hazard))
    # A death bears only the (1 - j / d) share of its own time's j-th Efron term.
    cum[rs.dead] -= per_death(f * hazard)[rs.death_index]
    return score, cum


def _martingale(rs: _CountingRiskSets, beta: np.ndarray) -> np.ndarray:
    score, cum = _cumulative_hazard(rs, beta)
    return rs.dead.astype(float) - score * cum


def _schoenfeld(rs: _CountingRiskSets, beta: np.ndarray) -> np.ndarray:
    """Per death row: x minus the mean over its time's Efron terms of x̄ (R ``coxscho``)."""
    _, _, _, _, xbar = rs._terms(beta)
    t = rs.term_time
    n_terms = np.bincount(t, minlength=rs.n_deaths)[:, None]
    mean = _sum_by(t, xbar, rs.n_deaths) / n_terms
    return rs.X[rs.dead] - mean[rs.death_index]


def _r_order(time, status, stratum) -> np.ndarray:
    """R's sort of the data: stratum, time, deaths first; ties in the original order."""
    return np.lexsort((np.arange(time.size), -status, time, stratum))


def residuals_coxph(
    fit: CoxResult,
    type: str = "martingale",
    *,
    time,
    event,
    X,
    strata=None,
    start=None,
    weights=None,
    collapse=None,
    weighted: bool | None = None,
):
    """Residuals of a Cox fit, as R ``residuals(fit, type, collapse, weighted)``.

    The data are those ``fit`` was fitted on (:func:`rwe.survival.cox_fit`'s arguments, in the
    same order), so each residual belongs to its row.

    - ``martingale``: status minus the cumulative hazard the row bore (with Efron ties, a death
      bears the (1 − j/d) share of its own time's terms: R ``agmart3``).
    - ``deviance``: sign(r) √(−2 (r + δ log(δ − r))) of the martingale residual r, after
      ``collapse``.
    - ``score``: the integral of x − x̄(t) against the row's martingale (R ``agscore3``).
    - ``schoenfeld``: for each death, x minus the mean over its time's Efron terms of x̄ (R
      ``coxscho``), in R's order (stratum, time); ``scaledsch``: r V n_d + β, V the model
      (naive) variance and n_d the number of deaths (R's ``ndead``, rows).
    - ``dfbeta``: score residual times V (the naive variance even for a robust fit, as R);
      ``dfbetas``: dfbeta divided by the coefficient's naive SE.

    Parameters
    ----------
    fit : rwe.survival.CoxResult
        The fit.
    type : str
        One of :data:`RESIDUAL_TYPES`.
    time, event, X, strata, start, weights
        The fit's data (as :func:`rwe.survival.cox_fit`).
    collapse : array-like, optional
        Group of each row (patient or cluster): residuals summed within group, groups in sorted
        order (R ``collapse = id``, ``rowsum``). Not for Schoenfeld residuals.
    weighted : bool, optional
        Multiply by the case weight; R's default: True for ``dfbeta``/``dfbetas``, else False.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        ``martingale``/``deviance``: a Series per row (or group). ``score``/``dfbeta``/
        ``dfbetas``: a DataFrame with one column per term (NaN for an aliased term).
        ``schoenfeld``/``scaledsch``: a DataFrame ``stratum, time`` and one column per term,
        one row per death.
    """
    if type not in RESIDUAL_TYPES:
        raise ValueError(f"type must be one of {RESIDUAL_TYPES}, not {type!r}")
    time = np.asarray(time, dtype=float)
    X = np.asarray(X, dtype=float).reshape(time.size, -1)
    if X.shape[1] != len(fit.terms):
        raise ValueError(f"X has {X.shape[1]} columns, the fit {len(fit.terms)} terms")
    if weighted is None:
        weighted = type in ("dfbeta", "dfbetas")
    rs = _risk_sets(fit, time, event, X, strata, start, weights)
    if rs.n != fit.n:
        raise ValueError(f"the data have {rs.n} rows, the fit {fit.n}")
    beta = _beta(fit)
    w = rs.weight if weighted else np.ones(rs.n)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if type in ("schoenfeld", "scaledsch"):
            if collapse is not None:
                raise ValueError("Schoenfeld residuals cannot be collapsed")
            resid = np.full((rs.n, beta.size), np.nan)
            resid[rs.dead] = _schoenfeld(rs, beta) * w[rs.dead][:, None]
            status = rs.dead.astype(int)
            order = _r_order(time, status, rs.stratum)
            order = order[rs.dead[order]]
            resid = resid[order]
            if type == "scaledsch":
                resid = resid @ _naive_var(fit) * order.size + beta
            resid[:, fit.aliased] = np.nan
            out = pd.DataFrame(resid, columns=fit.terms)
            out.insert(0, "time", time[order])
            out.insert(0, "stratum", rs.stratum[order])
            return out
        if type in ("martingale", "deviance"):
            resid = _martingale(rs, beta) * w
            status = rs.dead.astype(float)
            if collapse is not None:
                groups, codes = np.unique(np.asarray(collapse), return_inverse=True)
                resid = np.bincount(codes, weights=resid, minlength=groups.size)
                status = np.bincount(codes, weights=status, minlength=groups.size)
            if type == "deviance":
                log_term = np.where(status == 0, 0.0, status * np.log(status - resid))
                resid = np.sign(resid) * np.sqrt(-2 * (resid + log_term))
            index = groups if collapse is not None else None
            return pd.Series(resid, index=index, name=type)
        resid = rs.score_residuals(beta)
        vv = _naive_var(fit)
        if type == "dfbeta":
            resid = resid @ vv
        elif type == "dfbetas":
            resid = resid @ vv / np.sqrt(np.diag(vv))
        resid = resid * w[:, None]
        resid[:, fit.aliased] = np.nan
        index = None
        if collapse is not None:
            groups, codes = np.unique(np.asarray(collapse), return_inverse=True)
            resid = np.column_stack(
                [np.bincount(codes, weights=v, minlength=groups.size) for v in resid.T]
            ).reshape(groups.size, -1)
            index = groups
        return pd.DataFrame(resid, columns=fit.terms, index=index)


def _collapsed_score_residuals(rs: _RiskSets, beta: np.ndarray) -> np.ndarray:
    """Score residual of one patient of each collapsed row of the fast path (R ``coxscore2``).

    The patients a row stands for share stratum, time, status and covariates, so they share
    their residual: computed once per row, from the same risk-set sums as the fit (a row is at
    risk at every death time of its stratum up to its own time: cumulative sums over the
    distinct times). With Efron ties a death bears the (1 − j/d) share of its time's j-th term.
    """
    X, w, dead, k = rs.X, rs.weight, rs.dead, rs.death_index
    score = np.exp(X @ beta)
    risk = w * score
    at_death, n_d = rs.death_times, rs.deaths.size
    s0 = _reverse_cumsum(np.add.reduceat(risk, rs.starts), rs.bounds)[at_death]
    s1 = _reverse_cumsum(np.add.reduceat(X * risk[:, None], rs.starts), rs.bounds)[at_death]
    d0 = _sum_by(k, risk[dead], n_d)
    d1 = _sum_by(k, X[dead] * risk[dead][:, None], n_d)
    t, f = rs.term_time, rs.fraction
    a0 = s0[t] - f * d0[t]
    xbar = (s1[t] - f[:, None] * d1[t]) / a0[:, None]
    hazard = 1 / a0  # each term is one patient's death
    per_death = lambda v: _sum_by(t, v, n_d)  # noqa: E731

    def up_to_own_time(per_time: np.ndarray) -> np.ndarray:
        runs = np.zeros((rs.n_times, *per_time.shape[1:]))
        runs[at_death] = per_time
        return _cumsum(runs, rs.bounds)[rs.run]

    cum = up_to_own_time(per_death(hazard))
    cum_x = up_to_own_time(per_death(xbar * hazard[:, None]))
    resid = -score[:, None] * (X * cum[:, None] - cum_x)
    mh1 = per_death(f * hazard)[k]
    mh2 = per_death(xbar * (f * hazard)[:, None])[k]
    mh3 = (per_death(xbar) / rs.deaths[:, None])[k]
    Xd = X[dead]
    resid[dead] += Xd - mh3 + score[dead][:, None] * (Xd * mh1[:, None] - mh2)
    return resid


def dfbetas_of_fit(fit: CoxResult) -> tuple[np.ndarray, np.ndarray]:
    """The dfbetas of the patients of ``fit`` (R ``residuals(fit, type = "dfbetas")``).

    Returns
    -------
    dfbetas : numpy.ndarray
        One row per row of the fit's risk sets: on the fast path, a row stands for identical
        patients, who share their dfbetas (rows in the fit's time-sorted order: the caller's
        row identities are not needed for maxima and counts); an aliased term's column is NaN.
    patients : numpy.ndarray
        The number of patients each row stands for (1 on the general path).
    """
    rs = fit.risk_sets
    vv = _naive_var(fit)
    beta = _beta(fit)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(rs, _RiskSets):
            resid, patients = _collapsed_score_residuals(rs, beta), rs.weight
            case_weight = np.ones(rs.weight.size)
        else:
            expanded, _ = patient_risk_sets(fit)
            resid, patients = expanded.score_residuals(beta), np.ones(expanded.n)
            case_weight = expanded.weight
        resid = resid @ vv / np.sqrt(np.diag(vv)) * case_weight[:, None]
    resid[:, fit.aliased] = np.nan
    return resid, patients


def dfbetas_cutoff(n: int, c: float = 2.0) -> float:
    """The size-adjusted cutoff c / √n for |dfbetas| (Belsley, Kuh & Welsch 1980; c = 2)."""
    return c / np.sqrt(n) if n > 0 else np.nan


def cutoff_label(c: float) -> str:
    """``c/√n`` as the label of the cutoff rule (c from config ``cox.dfbetas_cutoff``)."""
    return f"{c:g}/√n"


def influence(fit: CoxResult, c: float = 2.0) -> pd.DataFrame:
    """Per term: the largest |dfbetas| over the patients and how many exceed ``c / √n``.

    A dfbetas is the change in a coefficient, in units of its SE, when one patient is left
    out (the one-step approximation of R ``residuals(fit, type = "dfbetas")``).

    Returns
    -------
    pandas.DataFrame
        ``term, n, max_abs_dfbetas, cutoff, n_above``; NaN for an aliased term.
    """
    dfbetas, patients = dfbetas_of_fit(fit)
    dfbetas = np.abs(dfbetas)
    cutoff = dfbetas_cutoff(fit.n, c)
    rows = []
    for j, term in enumerate(fit.terms):
        column = dfbetas[:, j]
        if fit.aliased[j] or not np.all(np.isfinite(column)):
            rows.append((term, fit.n, np.nan, cutoff, np.nan))
            continue
        above = int(patients[column > cutoff].sum())
        rows.append((term, fit.n, float(column.max()), cutoff, above))
    return pd.DataFrame(rows, columns=["term", "n", "max_abs_dfbetas", "cutoff", "n_above"])


def cox_influence_table(models, c: float = 2.0) -> pd.DataFrame:
    """:func:`influence` of every Cox model of the survival section, with a note column.

    Parameters
    ----------
    models : list of rwe.survival_tables.CoxModel
        The fitted models (:func:`rwe.survival_tables.cox_models`).
    c : float
        Multiplier of the cutoff c / √n (config ``cox.dfbetas_cutoff``).

    Returns
    -------
    pandas.DataFrame
        :data:`INFLUENCE_COLUMNS` then ``note`` (``rule`` is the cutoff's rule, ``c/√n``, and
        ``cutoff`` its value for the model's n; the note carries the model's notes, as
        ``cox.csv``'s): a term without an estimate in ``cox.csv`` or a model that was not fitted, or a term without
        an estimate, has a "not estimable: <reason>" row. Aggregates only (no patient ids).
    """
    rows, rule = [], cutoff_label(c)
    for m in models:
        base = (m.analysis_set, m.endpoint, m.model)
        if m.fit is None:
            reason = next((n for n in m.term_notes.values() if n), "") or "model not fitted"
            if not reason.startswith("not estimable"):
                reason = f"not estimable: {reason}"
            for term in m.covariates:
                rows.append(
                    (*base, term, m.n, np.nan, rule, dfbetas_cutoff(m.n, c), np.nan, reason)
                )
            continue
        table = influence(m.fit, c).set_index("term")
        for term in m.covariates:
            term_note = m.term_notes.get(term, "")
            if term_note or term not in table.index:  # no estimate in cox.csv: no influence
                note = "; ".join(n for n in [term_note or "not estimable", *m.notes] if n)
                rows.append((*base, term, m.n, np.nan, rule, dfbetas_cutoff(m.n, c), np.nan, note))
                continue
            r = table.loc[term]
            note = "; ".join(m.notes)
            if not np.isfinite(r["max_abs_dfbetas"]):
                note = "; ".join(n for n in ["not estimable: no finite dfbetas", *m.notes] if n)
            rows.append(
                (
                    *base,
                    term,
                    int(r["n"]),
                    r["max_abs_dfbetas"],
                    rule,
                    r["cutoff"],
                    r["n_above"],
                    note,
                )
            )
    out = pd.DataFrame(rows, columns=[*INFLUENCE_COLUMNS, "note"])
    # Whole numbers where counted (written 5, not 5.0), NaN where not estimable.
    out["n_above"] = pd.Series(
        [int(v) if np.isfinite(v) else np.nan for v in out["n_above"].astype(float)],
        index=out.index,
        dtype=object,
    )
    return out
