"""Predicted and direct-adjusted survival from a Cox fit, as R ``survfit.coxph``.

- :func:`survfit_coxph` — ``survfit(fit, newdata = profiles)``: the curve of each covariate
  profile, S(t | x) = exp(−Λ₀(t) e^{(x − x̄)β}), with R's variance of the cumulative hazard
  (the baseline's own variance plus that from β̂: ``coxsurv.fit``'s ``varh``) and the CI on the
  ``conf.type`` scale; the baseline hazard is Breslow's (``ctype = 1``) or Efron's
  (``ctype = 2``), R's default being the fit's ties.
- :func:`adjusted_survival` — the direct-adjusted (marginal, "corrected group prognosis")
  curve of each level of a term: every patient of a cohort given that level, their predicted
  curves averaged, as ``rowMeans(survfit(fit, newdata = cohort)$surv)`` in R.

Both read the risk sets the fit kept (:mod:`rwe.survival`); ``tests/r/cox_features.R`` and
``tests/test_cox_features_parity.py`` check them against R at 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.cox_residuals import patient_risk_sets
from rwe.survival import CoxResult, _reverse_cumsum, _RiskSets, _sum_by, km_confint

SURVFIT_COXPH_COLUMNS = [
    "profile",
    "stratum",
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "cumhaz",
    "surv",
    "std_err",
    "ci_lower",
    "ci_upper",
]
ADJUSTED_COLUMNS = ["level", "time", "n_risk", "n_event", "surv"]


def _baseline(fit: CoxResult, ctype: int | None):
    """Per stratum: the time grid and the hazard terms of R ``agsurv`` at the fit's β.

    Returns the risk sets, the centre of the covariates, and a list per stratum code of
    ``(time, n_risk, n_event, n_censor, hazard, varhaz, xbar_hazard)``, every array on the
    stratum's distinct (stop) times, 0 at times without a death.
    """
    if ctype is None:
        ctype = 2 if fit.ties == "efron" else 1  # R survfit.coxph's default
    if ctype not in (1, 2):
        raise ValueError(f"ctype must be 1 or 2, not {ctype!r}")
    ties = "efron" if ctype == 2 else "breslow"
    beta = np.where(fit.aliased, 0.0, fit.coef)
    if isinstance(fit.risk_sets, _RiskSets):
        return _collapsed_baseline(fit.risk_sets, beta, ties)
    rs, _ = patient_risk_sets(fit, ties=ties)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _, _, _, a0, xbar = rs._terms(beta)
    t, m = rs.term_time, rs.term_weight
    per_death = lambda v: _sum_by(t, v, rs.n_deaths)  # noqa: E731
    hazard = per_death(m / a0)
    varhaz = per_death(m / a0**2)
    xbar_hazard = per_death(xbar * (m / a0)[:, None])
    # Each death time's (stratum, time): from its first death row.
    death_rows = np.flatnonzero(rs.dead)
    first = np.full(rs.n_deaths, -1)
    first[rs.death_index[::-1]] = death_rows[::-1]
    death_time, death_stratum = rs.time[first], rs.stratum[first]
    out = {}
    for s in np.unique(rs.stratum):
        mine = rs.stratum == s
        time = np.unique(rs.time[mine])
        w, stop, start = rs.weight[mine], rs.time[mine], rs.start[mine]
        at = np.searchsorted(time, stop)
        n_event = np.bincount(at, weights=w * rs.dead[mine], minlength=time.size)
        n_censor = np.bincount(at, weights=w * ~rs.dead[mine], minlength=time.size)
        # at risk at t: start < t <= stop
        order = np.argsort(stop)
        later = np.concatenate([np.cumsum(w[order][::-1])[::-1], [0.0]])
        n_risk = later[np.searchsorted(stop[order], time, side="left")]
        entered = np.argsort(start)
        not_yet = np.concatenate([np.cumsum(w[entered][::-1])[::-1], [0.0]])
        n_risk = n_risk - not_yet[np.searchsorted(start[entered], time, side="left")]
        k = np.flatnonzero(death_stratum == s)
        grid = np.searchsorted(time, death_time[k])
        haz = np.zeros(time.size)
        vh = np.zeros(time.size)
        xh = np.zeros((time.size, beta.size))
        haz[grid], vh[grid], xh[grid] = hazard[k], varhaz[k], xbar_hazard[k]
        out[int(s)] = (time, n_risk, n_event, n_censor, haz, vh, xh)
    center = rs.weight @ rs.X_raw / rs.weight.sum()
    return out, center, beta


def _collapsed_baseline(rs: _RiskSets, beta: np.ndarray, ties: str):
    """:func:`_baseline` on the fast path's collapsed rows (no patient expanded).

    Each death of a time is one term (patients are unweighted): with Efron ties the j-th of d
    sees S0 − (j/d) D0, with Breslow ties all see S0 (R ``agsurv``: haz = Σ 1/a0, varhaz =
    Σ 1/a0², xbar·haz = Σ x̄/a0 over the terms).
    """
    X, w, dead, k = rs.X, rs.weight, rs.dead, rs.death_index
    risk = w * np.exp(X @ beta)
    at_death, n_d = rs.death_times, rs.deaths.size
    s0 = _reverse_cumsum(np.add.reduceat(risk, rs.starts), rs.bounds)[at_death]
    s1 = _reverse_cumsum(np.add.reduceat(X * risk[:, None], rs.starts), rs.bounds)[at_death]
    d0 = _sum_by(k, risk[dead], n_d)
    d1 = _sum_by(k, X[dead] * risk[dead][:, None], n_d)
    t = rs.term_time
    first_term = np.cumsum(rs.deaths) - rs.deaths
    f = (np.arange(t.size) - first_term[t]) / rs.deaths[t] if ties == "efron" else 0.0 * t
    a0 = s0[t] - f * d0[t]
    xbar = (s1[t] - f[:, None] * d1[t]) / a0[:, None]
    per_death = lambda v: _sum_by(t, v, n_d)  # noqa: E731
    per_run = np.zeros((3 + beta.size, rs.n_times))
    per_run[0, at_death] = per_death(1 / a0)
    per_run[1, at_death] = per_death(1 / a0**2)
    per_run[3:, at_death] = per_death(xbar / a0[:, None]).T
    n_total = np.add.reduceat(w, rs.starts)
    n_event = np.add.reduceat(w * dead, rs.starts)
    n_risk = _reverse_cumsum(n_total, rs.bounds)
    time = rs.time[rs.starts]
    run_stratum = rs.stratum[rs.starts]
    out = {}
    for lo, hi in zip(rs.bounds[:-1], rs.bounds[1:], strict=True):
        sl = slice(lo, hi)
        out[int(run_stratum[lo])] = (
            time[sl],
            n_risk[sl],
            n_event[sl],
            n_total[sl] - n_event[sl],
            per_run[0, sl],
            per_run[1, sl],
            per_run[3:, sl].T,
        )
    center = w @ rs.X_raw / w.sum()
    return out, center, beta


def survfit_coxph(
    fit: CoxResult,
    profiles: pd.DataFrame,
    *,
    strata=None,
    stratum_labels=None,
    conf_type: str = "log",
    conf_level: float = 0.95,
    ctype: int | None = None,
) -> pd.DataFrame:
    """Predicted survival of covariate profiles, as R ``survfit(fit, newdata = profiles)``.

    Parameters
    ----------
    fit : rwe.survival.CoxResult
        The Cox fit.
    profiles : pandas.DataFrame
        One row per profile, a column per term of the fit.
    strata : array-like, optional
        For a stratified fit, the stratum of each profile (R: the strata variable in
        ``newdata``): each profile's curve is of its own stratum's baseline hazard.
    stratum_labels : array-like, optional
        The strata the fit was given (to number the labels as the fit did: sorted).
    conf_type, conf_level
        As :func:`rwe.survival.km_confint` (R ``conf.type``, ``conf.int``).
    ctype : {1, 2}, optional
        Breslow (1) or Efron (2) baseline hazard; default the fit's ties (R's default).

    Returns
    -------
    pandas.DataFrame
        :data:`SURVFIT_COXPH_COLUMNS`, one row per profile and distinct time of its stratum;
        ``profile`` is the row position in ``profiles``, ``std_err`` the SE of the cumulative
        hazard (R ``std.err``, the log-survival scale).
    """
    baseline, center, beta = _baseline(fit, ctype)
    x2 = profiles[fit.terms].to_numpy(float) - center
    if strata is None:
        if len(baseline) > 1:
            raise ValueError("a stratified fit needs the stratum of each profile")
        codes = np.zeros(len(x2), dtype=int)
    else:
        levels = np.unique(np.asarray(stratum_labels))
        codes = np.searchsorted(levels, np.asarray(strata))
    V = np.nan_to_num(fit.var)
    parts = []
    for p in range(len(x2)):
        time, n_risk, n_event, n_censor, haz, varhaz, xh = baseline[int(codes[p])]
        with np.errstate(over="ignore", invalid="ignore"):
            risk = float(np.exp(np.nan_to_num(x2[p]) @ beta))
            dt = np.cumsum(haz[:, None] * x2[p] - xh, axis=0)
            var = (np.cumsum(varhaz) + np.einsum("ij,jk,ik->i", dt, V, dt)) * risk**2
        cumhaz = np.cumsum(haz) * risk
        surv = np.exp(-cumhaz)
        std_err = np.sqrt(var)
        lower, upper = km_confint(surv, std_err, conf_type, conf_level)
        parts.append(
            pd.DataFrame(
                {
                    "profile": p,
                    "stratum": int(codes[p]),
                    "time": time,
                    "n_risk": n_risk,
                    "n_event": n_event,
                    "n_censor": n_censor,
                    "cumhaz": cumhaz,
                    "surv": surv,
                    "std_err": std_err,
                    "ci_lower": lower,
                    "ci_upper": upper,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=SURVFIT_COXPH_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SURVFIT_COXPH_COLUMNS]


def adjusted_survival(
    fit: CoxResult, cohort: pd.DataFrame, term: str, levels, ctype: int | None = None
) -> pd.DataFrame:
    """Direct-adjusted (marginal) survival of each level of ``term`` over a cohort.

    Every patient of ``cohort`` is given the level, keeping their other covariates; their
    predicted curves (:func:`survfit_coxph`) are averaged at each time: the cohort's survival
    had every patient had that level (R: ``rowMeans(survfit(fit, newdata = cohort')$surv)``,
    the "direct adjusted" curve of Makuch 1982; Zhang et al. 2007).

    Parameters
    ----------
    fit : rwe.survival.CoxResult
        An unstratified Cox fit.
    cohort : pandas.DataFrame
        The patients to average over, a column per term of the fit (usually the fit's own).
    term : str
        The term set to each level (e.g. a regimen indicator).
    levels : sequence of float
        The values it takes.
    ctype : {1, 2}, optional
        As :func:`survfit_coxph`.

    Returns
    -------
    pandas.DataFrame
        :data:`ADJUSTED_COLUMNS`: per level and distinct time of the fit, the averaged
        survival (``n_risk``, ``n_event`` are the fit's, over all patients).
    """
    baseline, center, beta = _baseline(fit, ctype)
    if len(baseline) > 1:
        raise ValueError("direct-adjusted curves need an unstratified fit")
    time, n_risk, n_event, _, haz, _, _ = baseline[0]
    cumhaz0 = np.cumsum(haz)
    j = fit.terms.index(term)
    parts = []
    for level in levels:
        x = cohort[fit.terms].to_numpy(float).copy()
        x[:, j] = level
        risk = np.exp((x - center) @ beta)
        values, counts = np.unique(risk, return_counts=True)  # few distinct risks: cheap
        surv = np.exp(-np.outer(cumhaz0, values)) @ counts / counts.sum()
        parts.append(
            pd.DataFrame(
                {"level": level, "time": time, "n_risk": n_risk, "n_event": n_event, "surv": surv}
            )
        )
    return pd.concat(parts, ignore_index=True)[ADJUSTED_COLUMNS]


# --------------------------------------------------------------------------- comparative section

ADJUSTED_TABLE_COLUMNS = [
    "endpoint",
    "comparison",
    "method",
    "group",
    "month",
    "estimate",
    "n",
    "events",
    "note",
]
ADJUSTED_METHOD = "direct-adjusted Cox"


def comparative_adjusted(
    data: pd.DataFrame,
    levels: list[str],
    covariates: list[str],
    landmarks_months,
    label: str,
    ties: str = "efron",
    endpoints=("PFS", "OS"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Direct-adjusted survival of the two compared groups, per endpoint (exploratory).

    An unweighted Cox model of ``treated`` and ``covariates`` (the propensity model's, complete
    cases) is fitted to the analysed cohort; each group's curve is every analysed patient given
    that group, averaged (:func:`adjusted_survival`; R
    ``rowMeans(survfit(fit, newdata)$surv)``). A complement to the IPT-weighted curves: the
    same adjustment set by outcome regression instead of weighting.

    Parameters
    ----------
    data : pandas.DataFrame
        :attr:`rwe.comparative.Comparison.analysed` (``treated``, the covariates,
        ``<endpoint>_time``, ``<endpoint>_event``).
    levels : list of str
        The treated and control level names.
    covariates : list of str
        The adjustment covariates.
    landmarks_months : sequence of float
        Months at which the table gives the curves.
    label : str
        The comparison's label.
    ties : {"efron", "breslow"}
        The Cox ties (conventions).

    Returns
    -------
    table : pandas.DataFrame
        :data:`ADJUSTED_TABLE_COLUMNS`: each group's adjusted survival at each landmark (NaN
        beyond the last follow-up), or one "not estimable: <reason>" row per endpoint.
    curves : pandas.DataFrame
        ``endpoint, group, time, surv``: the whole curves, for the figure (step functions of
        aggregates; never leave the machine as a table).
    """
    from rwe.survival import cox_fit

    rows, curves = [], []
    terms = ["treated", *covariates]
    for endpoint in endpoints:
        ep = endpoint.lower()
        time = data[f"{ep}_time"].to_numpy(float)
        event = data[f"{ep}_event"].to_numpy(int)
        treated = data["treated"].to_numpy(int)
        base = {"endpoint": endpoint, "comparison": label, "method": ADJUSTED_METHOD}
        base |= {"n": len(data), "events": int(event.sum())}
        note = ""
        if event[treated == 1].sum() == 0 or event[treated == 0].sum() == 0:
            note = "not estimable: no events in a group"
        else:
            X = np.column_stack([treated, *(data[c].to_numpy(float) for c in covariates)])
            fit = cox_fit(time, event, X, terms, ties=ties)
            if not fit.converged:
                note = "not estimable: the Cox model did not converge"
            elif fit.infinite.any() or fit.aliased[0]:
                note = "not estimable: a coefficient may be infinite or is aliased"
        if note:
            rows.append(base | {"group": "", "month": np.nan, "estimate": np.nan, "note": note})
            continue
        cohort = pd.DataFrame(X, columns=terms)
        adjusted = adjusted_survival(fit, cohort, "treated", [1.0, 0.0])
        for value, group in ((1.0, levels[0]), (0.0, levels[1])):
            curve = adjusted[adjusted["level"] == value]
            times, surv = curve["time"].to_numpy(float), curve["surv"].to_numpy(float)
            curves.append(pd.DataFrame({"endpoint": endpoint, "group": group, "time": times,
                                        "surv": surv}))  # fmt: skip
            for month in landmarks_months:
                at = np.searchsorted(times, month, side="right") - 1
                estimate = np.nan if month > times[-1] else (1.0 if at < 0 else surv[at])
                rows.append(base | {"group": group, "month": month, "estimate": estimate})
    table = pd.DataFrame(rows).reindex(columns=ADJUSTED_TABLE_COLUMNS)
    table["note"] = table["note"].fillna("")
    curves = (
        pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(columns=["endpoint", "group", "time", "surv"])
    )
    return table, curves
