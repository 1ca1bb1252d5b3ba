"""Cumulative hazards, G-rho tests and the concordance's variance, as R's survival package.

Nelson–Aalen and Fleming–Harrington cumulative hazards, the G-rho family of log-rank tests,
and the concordance of a Cox fit with its variance and pair counts:

- :func:`cumulative_hazard` — ``survfit(Surv(time, status) ~ 1, ctype = 1 or 2, stype = 2)``:
  Nelson–Aalen (``ctype = 1``) or Fleming–Harrington (``ctype = 2``, ties corrected)
  cumulative hazard with R's ``std.chaz``, and the survival exp(−Λ) with its CI.
- :func:`survdiff` — ``survdiff(..., rho = ρ)``: the Harrington–Fleming G-ρ test, each death
  time weighted by S(t−)^ρ (S the pooled Kaplan–Meier within the stratum; ρ = 0 is the
  log-rank test of :func:`rwe.survival.logrank`, ρ = 1 the Peto–Peto modification).
- :func:`concordance_coxph` — ``concordance(fit)``: Harrell's C with the pair counts
  (concordant, discordant, tied on the risk score, tied on time, tied on both) and R's
  infinitesimal-jackknife variance (``var``; summed within clusters when given).

``tests/r/cox_features.R`` and ``tests/test_cox_features_parity.py`` compare each with R at 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from rwe.survival import (
    CoxResult,
    _count_below,
    _CountingRiskSets,
    _pivots,
    _reverse_cumsum,
    _runs,
    _stratum_codes,
    km_confint,
)

CUMHAZ_COLUMNS = [
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "cumhaz",
    "std_chaz",
    "surv",
    "std_err",
    "ci_lower",
    "ci_upper",
]


def cumulative_hazard(
    time, event, ctype: int = 1, conf_type: str = "log", conf_level: float = 0.95
) -> pd.DataFrame:
    """Nelson–Aalen or Fleming–Harrington cumulative hazard, as R ``survfit(ctype =)``.

    At a time with d deaths out of n at risk, the hazard increment is d / n (``ctype = 1``,
    Nelson–Aalen) or Σ_{j<d} 1 / (n − j) (``ctype = 2``, Fleming–Harrington: the ties as if
    broken), and the variance increment d / n² or Σ_{j<d} 1 / (n − j)² (R ``survfitkm``'s
    ``std.chaz``). The survival is exp(−Λ) (R ``stype = 2``) and its CI is computed with
    ``std_err`` = ``std_chaz`` on the log scale, as R does.

    Parameters
    ----------
    time, event : array-like
        Follow-up times and 1 = event / 0 = censored.
    ctype : {1, 2}
        R ``ctype``.
    conf_type, conf_level
        As :func:`rwe.survival.km_confint`.

    Returns
    -------
    pandas.DataFrame
        :data:`CUMHAZ_COLUMNS`, one row per distinct time.
    """
    if ctype not in (1, 2):
        raise ValueError(f"ctype must be 1 or 2, not {ctype!r}")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    if time.size == 0:
        return pd.DataFrame(columns=CUMHAZ_COLUMNS)
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    starts, _ = _runs(time)
    n_event = np.add.reduceat(event, starts)
    n_censor = np.diff(np.append(starts, time.size)) - n_event
    n_risk = (time.size - starts).astype(float)
    if ctype == 1:
        hazard = n_event / n_risk
        var = n_event / n_risk**2
    else:
        # Σ_{j<d} 1/(n−j) per time: one term per death, cumulative over the time's deaths.
        d = n_event.astype(np.int64)
        at = np.repeat(np.arange(d.size), d)
        j = np.arange(at.size) - np.repeat(np.cumsum(d) - d, d)
        denominator = n_risk[at] - j
        hazard = np.bincount(at, weights=1 / denominator, minlength=d.size)
        var = np.bincount(at, weights=1 / denominator**2, minlength=d.size)
    cumhaz = np.cumsum(hazard)
    std_chaz = np.sqrt(np.cumsum(var))
    surv = np.exp(-cumhaz)
    lower, upper = km_confint(surv, std_chaz, conf_type, conf_level)
    return pd.DataFrame(
        {
            "time": time[starts],
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": n_censor,
            "cumhaz": cumhaz,
            "std_chaz": std_chaz,
            "surv": surv,
            "std_err": std_chaz,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )[CUMHAZ_COLUMNS]


def _survdiff_terms(time, event, g, k, rho):
    """Weighted observed, expected and variance of one stratum (R ``survdiff2``)."""
    order = np.argsort(time, kind="stable")
    time, event, g = time[order], event[order], g[order]
    starts, run = _runs(time)
    n_times = starts.size
    counts = np.bincount(run * k + g, minlength=n_times * k).reshape(n_times, k)
    n_g = _reverse_cumsum(counts).astype(float)
    d_g = np.bincount(run * k + g, weights=event, minlength=n_times * k).reshape(n_times, k)
    d = d_g.sum(axis=1)
    n = n_g.sum(axis=1)
    # The pooled Kaplan–Meier, left-continuous: S(t−).
    surv_before = np.concatenate([[1.0], np.cumprod((n - d) / n)[:-1]])
    wt = surv_before**rho if rho != 0 else np.ones(n_times)
    observed = wt @ d_g
    share = n_g / n[:, None]
    expected = (wt * d) @ share
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, wt**2 * d * (n - d) / (n * (n - 1)), 0.0)
    var = np.diag(v @ n_g) - (n_g * v[:, None]).T @ share
    return observed, expected, var


def survdiff(time, event, group, strata=None, rho: float = 0.0) -> dict:
    """The G-ρ family of tests of equal survival, as R ``survdiff(..., rho = rho)``.

    Each death time is weighted by S(t−)^ρ, S the Kaplan–Meier of all groups together within
    the stratum (left-continuous, as R ``survdiff2``): ρ = 0 is the log-rank test, ρ = 1 the
    Peto–Peto modification of the Gehan–Wilcoxon test. Observed and expected counts are the
    weighted ones R reports.

    Parameters
    ----------
    time, event : array-like
        Follow-up times and 1 = event / 0 = censored.
    group : array-like
        Group of each patient.
    strata : array-like, optional
        Stratum of each patient (R ``+ strata(s)``): sums over strata.
    rho : float
        R ``rho``.

    Returns
    -------
    dict
        ``chisq, df, p, observed, expected, var, note``; NaN with the reason in ``note`` when
        the test is undefined (one group, fewer than two with expected events, singular
        variance).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    groups, g = np.unique(np.asarray(group), return_inverse=True)
    g = g.reshape(-1)
    k = len(groups)
    layers = _stratum_codes(strata, time.size)
    observed, expected, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for layer in np.unique(layers):
        rows = layers == layer
        o, e, v = _survdiff_terms(time[rows], event[rows], g[rows], k, rho)
        observed, expected, var = observed + o, expected + e, var + v
    usable = expected > 0
    out = {"observed": observed, "expected": expected, "var": var, "rho": rho}
    note = ""
    vv = var[np.ix_(usable, usable)][1:, 1:]
    if k < 2:
        note = "not testable: only one group"
    elif usable.sum() < 2:
        note = "not testable: fewer than two groups with events"
    elif not _pivots(vv).all():
        note = "not testable: the variance of the test is singular"
    if note:
        return out | {"chisq": np.nan, "df": np.nan, "p": np.nan, "note": note}
    diff = (observed - expected)[usable][1:]
    chisq = float(diff @ np.linalg.solve(vv, diff))
    df = int(usable.sum()) - 1
    return out | {"chisq": chisq, "df": df, "p": float(special.chdtrc(df, chisq)), "note": ""}


# --------------------------------------------------------------------------- concordance


def _pair_influence(time, event, risk, weights, start=None):
    """Per row, its weighted concordant, discordant and risk-tied comparable pairs.

    Counted as the earlier event and as the later partner; also the pairs of events tied on
    time (not, and also, tied on the risk).

    Concordant: the earlier event has the higher risk (R ``concordance(coxph)``, i.e.
    ``reverse = TRUE``).
    """
    n = time.size
    order = np.lexsort((~event, time))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    t, e, w = time[order], event[order], weights[order]
    values, rank = np.unique(risk[order], return_inverse=True)
    rank = rank.reshape(-1)
    starts, run = _runs(t)
    event_rows = np.add.reduceat(e.astype(np.int64), starts)
    partners_from = (starts + event_rows)[run[e]]
    x = rank[e]
    m = x.size
    conc, disc, tied = np.zeros(n), np.zeros(n), np.zeros(n)
    if m == 0:
        return conc, disc, tied, 0.0, 0.0

    def suffix(first, below_of, rank_values, weights_values):
        """Weight of rows from ``first`` on: in all, below and below-or-equal ``below_of``."""
        after = np.append(_reverse_cumsum(weights_values), 0.0)[first]
        q = below_of.size
        below = _count_below(
            rank_values,
            weights_values,
            np.tile(first, 2),
            np.concatenate([below_of, below_of + 1]),
            values.size,
        )
        return after, below[:q], below[q:]

    # The events as the earlier member: partners after them (entered before their time).
    total, less, less_eq = suffix(partners_from, x, rank, w)
    if start is not None:
        s = start[order]
        by_entry = np.argsort(s, kind="stable")
        late = np.searchsorted(s[by_entry], t[e], side="left")
        lt, ll, lle = suffix(late, x, rank[by_entry], w[by_entry])
        total, less, less_eq = total - lt, less - ll, less_eq - lle
    ev = np.flatnonzero(e)
    conc[ev] += less  # partner has a lower risk: concordant
    tied[ev] += less_eq - less
    disc[ev] += total - less_eq
    # Every row as the later partner: the events before it whose partners it is
    # (partners_from ≤ its position) and at whose time it was at risk (start < event time).
    positions = np.arange(n)
    hi = np.searchsorted(partners_from, positions, side="right")  # events [lo, hi)
    lo = np.zeros(n, dtype=np.int64)
    if start is not None:
        lo = np.searchsorted(t[e], start[order], side="right")
        lo = np.minimum(lo, hi)
    we, re = w[e], rank[e]

    def events_from(first):
        return suffix(first, rank, re, we)

    a_lo, b_lo, c_lo = events_from(lo)
    a_hi, b_hi, c_hi = events_from(hi)
    all_, below, below_eq = a_lo - a_hi, b_lo - b_hi, c_lo - c_hi
    # an earlier event with a higher risk than this partner: concordant
    conc += all_ - below_eq
    tied += below_eq - below
    disc += below
    # Events tied on time: pairs among a time's events (weights w_i w_j), split by the risk.
    at_time = run[e]
    same_time = np.bincount(at_time, weights=we)
    same_time_sq = np.bincount(at_time, weights=we**2)
    pairs_time = float(((same_time**2 - same_time_sq) / 2).sum())
    key = at_time * (values.size + 1) + re
    _, cell = np.unique(key, return_inverse=True)
    cell_w = np.bincount(cell.reshape(-1), weights=we)
    cell_sq = np.bincount(cell.reshape(-1), weights=we**2)
    pairs_both = float(((cell_w**2 - cell_sq) / 2).sum())
    return conc[inv], disc[inv], tied[inv], pairs_time - pairs_both, pairs_both


def concordance_coxph(fit: CoxResult, cluster=None) -> dict:
    """Concordance of a Cox fit with its variance and pair counts, as R ``concordance(fit)``.

    The pair counts are those of :func:`rwe.survival.concordance` (``timewt = "n"``, within
    strata). The variance is R's infinitesimal jackknife: with C, D and T a row's weighted
    concordant, discordant and risk-tied pairs, N the comparable pairs and
    s = (ΣC − ΣD) / N (Somers' d), the row's dfbeta is w ((C − D) − (C + D + T) s) / (2N),
    summed within ``cluster`` if given, and ``var`` = Σ dfbeta² (R ``concordancefit``).

    Parameters
    ----------
    fit : rwe.survival.CoxResult
        The Cox fit.
    cluster : array-like, optional
        The cluster of each row of the fit's data (R ``cluster(id)`` in the model), in the
        order given to :func:`rwe.survival.cox_fit` (a fit with a cluster keeps that order).

    Returns
    -------
    dict
        ``concordance, var, std_err, concordant, discordant, tied_x, tied_y, tied_xy, n``.
    """
    from rwe.cox_residuals import patient_risk_sets

    rs, _ = patient_risk_sets(fit)
    coef = np.nan_to_num(fit.coef)
    score = sum(rs.X_raw[:, j] * c for j, c in enumerate(coef))
    start = rs.start if isinstance(fit.risk_sets, _CountingRiskSets) else None
    if start is not None and not np.any(np.isfinite(start)):
        start = None
    n = rs.time.size
    conc, disc, tied = np.zeros(n), np.zeros(n), np.zeros(n)
    tied_y = tied_xy = 0.0
    for s in np.unique(rs.stratum):
        rows = np.flatnonzero(rs.stratum == s)
        c, d, t, ty, txy = _pair_influence(
            rs.time[rows],
            rs.dead[rows],
            score[rows],
            rs.weight[rows],
            None if start is None else start[rows],
        )
        conc[rows], disc[rows], tied[rows] = c, d, t
        tied_y, tied_xy = tied_y + ty, tied_xy + txy
    w = rs.weight
    # Each pair is counted twice in the per-row sums (once by each member).
    concordant, discordant, tied_x = (float(w @ v) / 2 for v in (conc, disc, tied))
    npair = concordant + discordant + tied_x
    if npair == 0:
        nan = np.nan
        return dict(concordance=nan, var=nan, std_err=nan, concordant=0.0, discordant=0.0,
                    tied_x=0.0, tied_y=tied_y, tied_xy=tied_xy, n=n)  # fmt: skip
    somers = (concordant - discordant) / npair
    dfbeta = ((conc - disc) - (conc + disc + tied) * somers) * w / (2 * npair)
    if cluster is not None:
        _, codes = np.unique(np.asarray(cluster), return_inverse=True)
        dfbeta = np.bincount(codes.reshape(-1), weights=dfbeta)
    var = float(dfbeta @ dfbeta)
    return {
        "concordance": (somers + 1) / 2,
        "var": var,
        "std_err": float(np.sqrt(var)),
        "concordant": concordant,
        "discordant": discordant,
        "tied_x": tied_x,
        "tied_y": tied_y,
        "tied_xy": tied_xy,
        "n": n,
    }
