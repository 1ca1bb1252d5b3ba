"""Kaplan–Meier, log-rank and Cox estimators, computed as R's ``survival`` package does.

The numerics only (the tables built from them are in :mod:`rwe.survival_tables`). Every public
function names the R function it reproduces; ``tests/r/survival_reference.R`` recomputes each
table with R and ``tests/test_survival_parity.py`` compares them at 1e-4.

- :func:`km_curve` — ``survfit(Surv(time, status) ~ 1)`` with Greenwood variance and the
  ``conf.type`` CI of S(t) (``log``, ``log-log``, ``plain``); with case ``weights``, R's
  weighted curve (infinitesimal-jackknife variance for fractional weights).
- :func:`rmst` — the restricted mean of ``print(survfit, rmean = tau)`` and its SE.
- :func:`cumulative_incidence` — Aalen–Johansen ``pstate`` of
  ``survfit(Surv(time, factor(status)) ~ 1)`` with its infinitesimal-jackknife SE.
- :func:`km_quantile` — ``quantile.survfit`` (its internal ``findq``), so medians and their CIs,
  including the midpoint rule for a curve that is flat at exactly 0.5.
- :func:`km_at` — ``summary(fit, times = t, extend =)``.
- :func:`logrank` — ``survdiff`` (optionally ``+ strata(s)``).
- :func:`cox_fit` — ``coxph`` by Newton–Raphson (Efron or Breslow ties; counting-process
  rows, case weights, strata, robust and cluster sandwich variance); Wald, likelihood-ratio
  and score (log-rank) global tests; :func:`concordance` — ``concordance``; :func:`cox_zph` —
  ``cox.zph(transform = "km")``.

Delayed entry (left truncation): :func:`km_curve`, :func:`cumulative_incidence` and
:func:`logrank` take ``entry=`` and
:func:`cox_fit` ``start=``, so that a patient is at risk on (entry, exit] only, as R
``Surv(entry, time, status)``. R's ``survdiff`` refuses such data; :func:`logrank` with entry is
the score test of ``coxph(..., ties = "exact")``, the log-rank statistic on those risk sets
(``tests/test_delayed_entry_parity.py``).

Every estimator sorts its data by time once and works with cumulative sums over the sorted
data, so each is O(n log n) with no Python loop over event times. Every estimator's input goes
through one gate (:func:`rwe.survival_inputs.survival_inputs`: incomplete rows out, as R); the
Cox iteration is R's (:mod:`rwe.cox_newton`, :mod:`rwe.cholesky`), its sums in a fixed order.
R survival's own hand-computed tests are ported in ``tests/test_survival_book.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special  # the kernels of scipy.stats' norm and chi2, without its import cost

from rwe.cholesky import TOLER_CHOL, decompose
from rwe.cholesky import inverse as cholesky_inverse
from rwe.cholesky import solve as cholesky_solve
from rwe.cox_newton import covariate_scale, newton_raphson
from rwe.survival_inputs import survival_inputs

CONF_TYPES = ("log", "log-log", "plain")
FINDQ_TOL = np.sqrt(np.finfo(float).eps)  # R: sqrt(.Machine$double.eps)
KM_CURVE_COLUMNS = [
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "surv",
    "std_err",
    "ci_lower",
    "ci_upper",
]


# --------------------------------------------------------------------------- conventions


@dataclass(frozen=True)
class Conventions:
    """The software conventions of every KM CI and Cox fit: one switch (config ``conventions``).

    ``r`` (default): R ``survfit``'s log-scale CI of S(t) and ``coxph``'s Efron ties. ``sas``:
    PROC LIFETEST's log-log CI (``CONFTYPE=LOGLOG``) and PROC PHREG's Breslow ties
    (``TIES=BRESLOW``). ``conf_type`` may differ from the convention's when ``km.conf_type``
    overrides it.
    """

    name: str
    conf_type: str
    ties: str

    @property
    def overridden(self) -> bool:
        """True when ``conf_type`` is not the convention's own (``km.conf_type`` was given)."""
        return self.conf_type != CONVENTIONS[self.name]["conf_type"]

    @property
    def ties_label(self) -> str:
        """``Efron ties`` or ``Breslow ties``, for captions."""
        return f"{self.ties.capitalize()} ties"

    def methods_sentence(self) -> str:
        """The sentence of the methods that states the conventions used."""
        scale = {"log": "log", "log-log": "log-log", "plain": "linear (plain)"}[self.conf_type]
        who = {"r": "R's survival package", "sas": "SAS"}[self.name]
        if self.overridden:
            conventional = CONVENTIONS[self.name]["conf_type"]
            km_as = f"set by km.conf_type instead of the convention's {conventional} scale"
        else:
            km_as = {"r": f'R survfit conf.type = "{self.conf_type}"'}.get(
                self.name, "PROC LIFETEST CONFTYPE=LOGLOG"
            )
        cox_as = {"r": 'R coxph ties = "efron"', "sas": "PROC PHREG TIES=BRESLOW"}[self.name]
        ties = {"efron": "Efron's", "breslow": "Breslow's"}[self.ties]
        text = (
            f"Software conventions of {who} (conventions: {self.name}): pointwise Kaplan–Meier "
            f"confidence intervals, and so those of medians, on the {scale} scale ({km_as}), "
            f"and {ties} method for tied event times in Cox models ({cox_as})."
        )
        if self.name == "sas":
            text += (
                " Both were checked against R run with the same options (survfit conf.type = "
                f'"{self.conf_type}", coxph ties = "breslow").'
            )
        return text


#: What each ``conventions`` value sets (DESIGN §5).
CONVENTIONS = {
    "r": {"conf_type": "log", "ties": "efron"},
    "sas": {"conf_type": "log-log", "ties": "breslow"},
}


def resolve_conventions(name: str = "r", conf_type: str | None = None) -> Conventions:
    """The conventions of config ``conventions: name``, with ``km.conf_type`` as an override.

    Parameters
    ----------
    name : {"r", "sas"}
        The config's ``conventions``.
    conf_type : str, optional
        The config's ``km.conf_type``; None (the default) takes the convention's.
    """
    if name not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {tuple(CONVENTIONS)}, not {name!r}")
    if conf_type is not None and conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    chosen = CONVENTIONS[name]
    return Conventions(name, conf_type or chosen["conf_type"], chosen["ties"])


# --------------------------------------------------------------------------- sorted data


def _runs(sorted_values: np.ndarray, *more: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal values in a sorted array, and each element's run number.

    With ``more`` arrays (sorted together with the first, e.g. stratum then time), a run is a
    run of equal values in all of them.
    """
    change = np.empty(sorted_values.size, dtype=bool)
    change[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=change[1:])
    for values in more:
        change[1:] |= values[1:] != values[:-1]
    return np.flatnonzero(change), np.cumsum(change) - 1


def _reverse_cumsum(values: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Sum over this and every later row (the risk-set sums of time-sorted data).

    With ``bounds`` (the first row of each stratum, then the number of rows), the sums restart
    in each stratum: over this and every later row of the same stratum.
    """
    if bounds is None or bounds.size <= 2:
        return np.cumsum(values[::-1], axis=0)[::-1]
    out = np.empty_like(values, dtype=float)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):  # one pass per stratum
        out[lo:hi] = np.cumsum(values[lo:hi][::-1], axis=0)[::-1]
    return out


def _cumsum(values: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Sum over this and every earlier row, restarting in each stratum (as :func:`_reverse_cumsum`)."""
    if bounds is None or bounds.size <= 2:
        return np.cumsum(values, axis=0)
    out = np.empty_like(values, dtype=float)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        out[lo:hi] = np.cumsum(values[lo:hi], axis=0)
    return out


def _stratum_codes(strata, n: int) -> np.ndarray:
    """Integer code of each row's stratum (all 0 without strata)."""
    if strata is None:
        return np.zeros(n, dtype=np.int64)
    return np.unique(np.asarray(strata), return_inverse=True)[1].astype(np.int64).reshape(-1)


# --------------------------------------------------------------------------- Kaplan–Meier


def _z(conf_level: float) -> float:
    return float(special.ndtri(1 - (1 - conf_level) / 2))


def km_confint(
    surv: np.ndarray, std_err: np.ndarray, conf_type: str = "log", conf_level: float = 0.95
):
    """Pointwise CI of S(t), as R ``survival:::survfit_confint``.

    Parameters
    ----------
    surv : numpy.ndarray
        Survival estimates.
    std_err : numpy.ndarray
        Standard errors on the log scale (R's ``std.err``).
    conf_type : {"log", "log-log", "plain"}
        Scale of the interval (R ``conf.type``).
    conf_level : float
        Confidence level.

    Returns
    -------
    lower, upper : numpy.ndarray
        NaN where R gives NA (S = 0 for ``log``; S = 0 or 1 for ``log-log``).
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    z = _z(conf_level)
    surv = np.asarray(surv, dtype=float)
    se = np.asarray(std_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = z * se * surv
            return np.maximum(surv - half, 0), np.minimum(surv + half, 1)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        half = z * se / np.log(xx)
        return np.exp(-np.exp(np.log(-np.log(xx)) - half)), np.exp(
            -np.exp(np.log(-np.log(xx)) + half)
        )


def km_curve(
    time,
    event,
    conf_type: str = "log",
    conf_level: float = 0.95,
    *,
    weights=None,
    robust: bool | None = None,
    entry=None,
) -> pd.DataFrame:
    """Kaplan–Meier estimate at every distinct time, as R ``survfit(Surv(time, event) ~ 1)``.

    With ``entry`` (delayed entry, left truncation), a patient is at risk at t when
    entry < t ≤ time: R ``survfit(Surv(entry, time, event) ~ 1)``, whose curve steps at the
    distinct exit times only (an entry alone is no row).

    With ``weights`` (case weights, R ``survfit(..., weights = w)``), the counts are weighted
    sums and the variance is R's default: Greenwood on the weighted counts when every weight is
    a whole number, else (``robust``) the infinitesimal-jackknife variance that R switches to
    for non-integer weights (``survfitKM``: ``robust`` when ``any(weights != floor(weights))``,
    each observation its own cluster). ``std_err`` stays on the log scale in both cases, so the
    CI is computed alike (R ``survfit_confint``: se(S) / S when the variance is robust).

    Parameters
    ----------
    time : array-like of float
        Follow-up times (months).
    event : array-like of {0, 1}
        1 = event, 0 = censored. A row with a missing time, status or weight is left out, as
        R's model frame does (:func:`rwe.survival_inputs.survival_inputs`).
    conf_type : {"log", "log-log", "plain"}
        Scale of the pointwise confidence interval (R ``conf.type``).
    conf_level : float
        Confidence level.
    weights : array-like, optional
        Case weights.
    robust : bool, optional
        Infinitesimal-jackknife variance (default: R's choice, see above).
    entry : array-like, optional
        Entry time of each patient (same unit as ``time``, each < its ``time``); None (the
        default) is entry at 0 for all.

    Returns
    -------
    pandas.DataFrame
        ``time, n_risk, n_event, n_censor, surv, std_err, ci_lower, ci_upper``; ``std_err`` is the
        Greenwood standard error of the cumulative hazard (R's ``std.err``).
    """
    # R: rows with a missing value (time, status, weight, entry) left out
    data = survival_inputs(time, event, weights=weights, start=entry)
    time, event = data.time, data.event
    if time.size == 0:
        return pd.DataFrame(columns=KM_CURVE_COLUMNS)
    if entry is not None:
        entry = _checked_entry(data.start, time)
    if weights is not None:
        return _weighted_km_curve(time, event, data.weights, conf_type, conf_level, robust, entry)
    if entry is not None:
        curve = _weighted_km_curve(
            time, event, np.ones(time.size), conf_type, conf_level, False, entry
        )
        counts = ["n_risk", "n_event", "n_censor"]
        return curve.astype(dict.fromkeys(counts, int))
    if np.any(time[1:] < time[:-1]):
        order = np.argsort(time, kind="stable")
        time, event = time[order], event[order]
    starts, _ = _runs(time)
    n_event = np.add.reduceat(event, starts)
    n_total = np.diff(np.append(starts, time.size))
    n_censor = n_total - n_event
    n_risk = time.size - starts
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1 - n_event / n_risk)
        greenwood = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        std_err = np.sqrt(np.cumsum(greenwood))
    lower, upper = km_confint(surv, std_err, conf_type, conf_level)
    columns = [time[starts], n_risk, n_event.astype(int), n_censor.astype(int), surv, std_err]
    columns += [lower, upper]
    return pd.DataFrame(dict(zip(KM_CURVE_COLUMNS, columns, strict=True)))


def _checked_entry(entry, time: np.ndarray) -> np.ndarray:
    """Entry times as floats, each before its exit time (R: start < stop)."""
    entry = np.asarray(entry, dtype=float)
    if entry.shape != time.shape:
        raise ValueError("entry must have one value per patient")
    if np.any(~np.isfinite(entry)) or np.any(entry >= time):
        raise ValueError("every entry time must be finite and before its exit time (start < stop)")
    return entry


def _entered_after(entry: np.ndarray, weights: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Total weight of the patients whose entry is at or after each of ``times`` (not yet at risk)."""
    order = np.argsort(entry, kind="stable")
    later = np.concatenate([_reverse_cumsum(weights[order]), [0.0]])
    return later[np.searchsorted(entry[order], times, side="left")]


def _weighted_km_curve(
    time, event, weights, conf_type, conf_level, robust, entry=None
) -> pd.DataFrame:
    """:func:`km_curve` with case weights (R ``survfitKM`` with ``weights``) or delayed entry."""
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("case weights must be finite and non-negative")
    if robust is None:
        robust = bool(np.any(weights != np.floor(weights)))
    order = np.argsort(time, kind="stable")
    time, event, weights = time[order], event[order], weights[order]
    starts, run = _runs(time)
    n_event = np.add.reduceat(event * weights, starts)
    n_total = np.add.reduceat(weights, starts)
    n_risk = _reverse_cumsum(n_total)
    if entry is not None:  # (entry, exit] risk sets: less those not yet entered
        n_risk = n_risk - _entered_after(entry[order], weights, time[starts])
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_event > 0, n_event / n_risk, 0.0)
        surv = np.cumprod(1 - hazard)
        if not robust:
            var_log = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0))
        else:
            # Infinitesimal jackknife: the derivative of log S(t) with respect to w_i is
            # -(dN_i(t_k) - Y_i(t_k) h_k) / (n_k - d_k) summed over t_k <= t; each row's
            # contribution is fixed after its own time, so the sums are cumulative.
            left = n_risk - n_event
            a = np.cumsum(np.where(n_event > 0, hazard / left, 0.0))
            if entry is not None:
                var_log = _ij_var_log_with_entry(
                    time, event, weights, entry[order], starts, run, left, a
                )
            else:
                own = np.where(event == 1, 1 / left[run], 0.0) - a[run]
                done = np.cumsum(np.add.reduceat(weights**2 * own**2, starts))
                later = _reverse_cumsum(np.add.reduceat(weights**2, starts)) - np.add.reduceat(
                    weights**2, starts
                )
                var_log = done + a**2 * later
        std_err = np.sqrt(var_log)
    lower, upper = km_confint(surv, std_err, conf_type, conf_level)
    columns = [time[starts], n_risk, n_event, n_total - n_event, surv, std_err, lower, upper]
    return pd.DataFrame(dict(zip(KM_CURVE_COLUMNS, columns, strict=True)))


def _ij_var_log_with_entry(time, event, weights, entry, starts, run, left, a) -> np.ndarray:
    """The infinitesimal-jackknife variance of log S(t) of a weighted curve with delayed entry.

    As :func:`_weighted_km_curve`'s, with Y_i(t_k) = 1 only for entry_i < t_k <= time_i: the
    derivative of log S(t) with respect to w_i is -(dN_i(t_k) - Y_i(t_k) h_k) / (n_k - d_k)
    summed over t_k <= t. With a(t) the cumulative sum of h_k / (n_k - d_k) and A_i = a at
    the row's entry, a row that has left by t contributes its own fixed term and a row still
    at risk -(a(t) - A_i), so the variance is sums over entered and exited rows (cumulative).
    Rows sorted by ``time``; ``left`` (n_k - d_k) and ``a`` per distinct time (``starts``).
    """
    times = time[starts]
    at_entry = np.searchsorted(times, entry, side="right") - 1  # last distinct time <= entry
    big_a = np.where(at_entry >= 0, a[np.maximum(at_entry, 0)], 0.0)
    own = np.where(event == 1, 1 / left[run], 0.0) - (a[run] - big_a)
    w2 = weights**2
    done = np.cumsum(np.add.reduceat(w2 * own**2, starts))
    by_entry = np.argsort(entry, kind="stable")
    entered_at = np.searchsorted(entry[by_entry], times, side="left")  # entry < t
    still = []  # sums over the rows at risk at t of w^2 A^m, m = 0, 1, 2
    for power in range(3):
        values = w2 * big_a**power
        entered = np.concatenate([[0.0], np.cumsum(values[by_entry])])[entered_at]
        exited = np.cumsum(np.add.reduceat(values, starts))
        still.append(entered - exited)
    return np.maximum(done + a**2 * still[0] - 2 * a * still[1] + still[2], 0.0)


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = FINDQ_TOL) -> float:
    """Port of R ``survival:::findq``: the p-quantile of a CDF ``y`` on times ``x``."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = len(y)
    index = np.arange(1, n + 1, dtype=float)

    def approx_constant_right(knots: np.ndarray) -> float:
        # R approx(knots, 1:n, p, method = "constant", f = 1): NA pairs dropped, knots sorted
        # (a CI limit need not be monotone), NA outside the knots.
        ok = ~np.isnan(knots)
        order = np.argsort(knots[ok], kind="stable")
        k, v = knots[ok][order], index[ok][order]
        if len(k) == 0 or p < k[0] or p > k[-1]:
            return np.nan
        hit = np.flatnonzero(k == p)
        if len(hit):
            return v[hit[0]]
        j = np.searchsorted(k, p, side="right")
        return v[j]

    i1 = approx_constant_right(y + tol)
    i2 = approx_constant_right(y - tol)
    at = lambda i: np.nan if np.isnan(i) else x[int(i) - 1]  # noqa: E731
    quant = (at(i1) + at(i2)) / 2
    if p == 0:
        quant = x[0]
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = (at(i1) + xmax) / 2
    return float(quant)


def km_quantile(curve: pd.DataFrame, prob: float = 0.5) -> tuple[float, float, float]:
    """Quantile of survival time and its CI, as R ``quantile.survfit`` (median for 0.5).

    Returns
    -------
    estimate, lower, upper : float
        NaN when not reached (the curve, or its CI limit, never falls to 1 − prob).
    """
    if curve.empty:
        return np.nan, np.nan, np.nan
    x = np.concatenate([[0.0], curve["time"].to_numpy(float)])

    def q(column: str) -> float:
        return _findq(x, np.concatenate([[0.0], 1 - curve[column].to_numpy(float)]), prob)

    return q("surv"), q("ci_lower"), q("ci_upper")


def km_at(curve: pd.DataFrame, t: float, n_subjects: int, extend: bool = False) -> dict:
    """Survival at time ``t``, as R ``summary(fit, times = t, extend = extend)``.

    Parameters
    ----------
    curve : pandas.DataFrame
        A :func:`km_curve`.
    t : float
        The time.
    n_subjects : int
        Patients in the curve (kept for callers; before the first time R, and so this, reports
        the number at risk at the first time, which is every patient of an unweighted curve
        without delayed entry).
    extend : bool
        R ``extend``: beyond the last follow-up time, False (the default) gives NaN (R leaves
        the time out); True carries the last value forward with nobody at risk (n_risk 0).

    Returns
    -------
    dict
        ``n_risk, surv, ci_lower, ci_upper``: the curve's value at the last time ≤ t and the
        number still at risk at ``t``; NaN beyond the last follow-up time unless ``extend``.
    """
    times = curve["time"].to_numpy(float)
    if times.size and t > times[-1] and extend:
        last = curve.iloc[-1]
        return {"n_risk": 0, "surv": last["surv"], "ci_lower": last["ci_lower"],
                "ci_upper": last["ci_upper"]}  # fmt: skip
    if times.size == 0 or t > times[-1]:
        return {"n_risk": np.nan, "surv": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
    after = int(np.searchsorted(times, t, side="left"))  # first time >= t
    n_risk = curve["n_risk"].iloc[after]
    n_risk = int(n_risk) if float(n_risk).is_integer() else float(n_risk)
    last = int(np.searchsorted(times, t, side="right")) - 1  # last time <= t
    if last < 0:  # before the first time: R reports the n.risk of that first time
        return {"n_risk": n_risk, "surv": 1.0, "ci_lower": 1.0, "ci_upper": 1.0}
    return {
        "n_risk": n_risk,
        "surv": curve["surv"].iloc[last],
        "ci_lower": curve["ci_lower"].iloc[last],
        "ci_upper": curve["ci_upper"].iloc[last],
    }


def rmst(curve: pd.DataFrame, tau: float) -> dict:
    """Restricted mean survival time up to ``tau`` and its SE, as R ``print(fit, rmean = tau)``.

    R ``survival:::survmean``: the area under the Kaplan–Meier curve from min(0, first time)
    to ``tau``; the variance is sum over times t_j <= tau of d_j / (n_j (n_j - d_j)) times the
    squared area after t_j, with the curve's (weighted) ``n_risk`` and ``n_event``, so a
    weighted curve gets R's weighted-count formula too.

    Parameters
    ----------
    curve : pandas.DataFrame
        A :func:`km_curve` (weighted or not).
    tau : float
        The horizon (R ``rmean``), in the curve's time unit.

    Returns
    -------
    dict
        ``rmean``, ``se``, ``tau``.
    """
    time = curve["time"].to_numpy(float)
    start = min(0.0, time[0]) if time.size else 0.0
    keep = time <= tau
    n_risk = curve["n_risk"].to_numpy(float)[keep]
    n_event = curve["n_event"].to_numpy(float)[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n_risk - n_event == 0, 0.0, n_event / (n_risk * (n_risk - n_event)))
    knots = np.append(time[keep], tau)
    surv = np.concatenate([[1.0], curve["surv"].to_numpy(float)[keep]])
    rectangles = np.diff(np.concatenate([[start], knots])) * surv
    area_after = _reverse_cumsum(rectangles[1:])  # area after each time t_j up to tau
    return {
        "rmean": float(rectangles.sum() + start),
        "se": float(np.sqrt(np.sum(hh * area_after**2))),
        "tau": float(tau),
    }


CIF_COLUMNS = ["time", "cause", "n_risk", "n_event", "cif", "std_err", "ci_lower", "ci_upper"]


def _cif_rows(time, cause, n_risk, n_event, cif, std_err, conf_type, conf_level) -> pd.DataFrame:
    """One cause's curve with its pointwise CI (``plain``: on the probability itself)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = km_confint(cif, std_err / cif, conf_type, conf_level)
    if conf_type == "plain":  # the SE is of the probability itself
        z = _z(conf_level)
        lower, upper = np.maximum(cif - z * std_err, 0), np.minimum(cif + z * std_err, 1)
    columns = [time, cause, n_risk, n_event, cif, std_err, lower, upper]
    return pd.DataFrame(dict(zip(CIF_COLUMNS, columns, strict=True)))


def _no_cif() -> pd.DataFrame:
    """The curves of no patient, or of no event: no rows, every column numeric."""
    return pd.DataFrame({c: pd.Series(dtype=int if c == "cause" else float) for c in CIF_COLUMNS})


def cumulative_incidence(
    time,
    status,
    weights=None,
    conf_type: str = "log",
    conf_level: float = 0.95,
    *,
    entry=None,
) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of competing causes, as R ``survfit``'s ``pstate``.

    R ``survfit(Surv(time, factor(status)) ~ 1, weights = w)`` with status 0 = censored: for
    each cause c, CIF_c(t) = sum over t_k <= t of S(t_k-) d_ck / n_k, S the Kaplan–Meier of any
    event. The standard error is R's for multi-state curves, the infinitesimal jackknife: the
    derivative of CIF_c(t) with respect to each observation's weight, squared, times the
    squared weight, summed. Each derivative is c_i before the row's own time and linear in
    CIF_c(t) after it, so the sums over observations are cumulative sums: O(n log n) per cause.
    The CI is R's on the ``conf_type`` scale of the probability (default ``log``).

    Parameters
    ----------
    time : array-like of float
        Follow-up times.
    status : array-like
        0 = censored, any other value = the cause of the event (e.g. 1 progression, 2 death
        without progression).
    weights : array-like, optional
        Case weights.
    conf_type, conf_level
        As :func:`km_confint`.
    entry : array-like, optional
        Delayed entry: each row at risk on (entry, time] only, as R
        ``survfit(Surv(entry, time, factor(status)) ~ 1, id = id)``.

    Returns
    -------
    pandas.DataFrame
        One row per cause and distinct time: ``time, cause, n_risk, n_event`` (of that cause),
        ``cif`` (R ``pstate``), ``std_err`` (R ``std.err``: of the probability itself),
        ``ci_lower, ci_upper``.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status)
    w = np.ones(time.size) if weights is None else np.asarray(weights, dtype=float)
    if time.size == 0:
        return _no_cif()
    if entry is not None:
        return _delayed_entry_cif(
            time, status, w, _checked_entry(entry, time), conf_type, conf_level
        )
    order = np.argsort(time, kind="stable")
    time, status, w = time[order], status[order], w[order]
    starts, run = _runs(time)
    event = status != 0
    n_risk = _reverse_cumsum(np.add.reduceat(w, starts))
    d_all = np.add.reduceat(w * event, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_all = d_all / n_risk
        left = n_risk - d_all
        surv = np.cumprod(1 - h_all)
        surv_before = np.concatenate([[1.0], surv[:-1]])
        # A: the cumulative sum of h / (n - d) (the KM's derivative, as in km_curve)
        a = np.cumsum(np.where(d_all > 0, h_all / left, 0.0))
        a_before = np.concatenate([[0.0], a[:-1]])
        b = np.where(event, 1 / left[run], 0.0) - a[run]  # derivative of log S after t_i
    b = np.nan_to_num(b, posinf=0.0, neginf=0.0)
    w2 = w**2
    later = _reverse_cumsum(np.add.reduceat(w2, starts)) - np.add.reduceat(w2, starts)
    parts = []
    for cause in np.unique(status[event]):
        mine = status == cause
        d_c = np.add.reduceat(w * mine, starts)
        h_c = d_c / n_risk
        cif = np.cumsum(surv_before * h_c)
        g = np.cumsum(surv_before * h_c * (1 / n_risk - a_before))
        own = -g[run] + np.where(mine, surv_before[run] / n_risk[run], 0.0)
        e = own + b * cif[run]
        per_time = lambda v: np.cumsum(np.add.reduceat(w2 * v, starts))  # noqa: E731
        var = per_time(e * e) - 2 * cif * per_time(e * b) + cif**2 * per_time(b * b)
        var += g**2 * later
        std_err = np.sqrt(np.maximum(var, 0.0))
        parts.append(
            _cif_rows(time[starts], cause, n_risk, d_c, cif, std_err, conf_type, conf_level)
        )
    return pd.concat(parts, ignore_index=True)[CIF_COLUMNS] if parts else _no_cif()


def _delayed_entry_cif(time, status, w, entry, conf_type, conf_level) -> pd.DataFrame:
    """:func:`cumulative_incidence` on (entry, exit] risk sets (R ``Surv(entry, time, factor(status))``).

    The same infinitesimal jackknife with Y_i(t_k) = 1 only for entry_i < t_k <= time_i. With
    A_i, G_i, C_i the values of a, g and the CIF at the row's entry (last time <= entry): a row
    that has left by t has derivative e_i - b_i CIF(t), with b_i = (its own b) + A_i and
    e_i = (its own e) + G_i + A_i C_i; a row still at risk -(g(t) + A_i CIF(t) - K_i), with
    K_i = G_i + A_i C_i; a row not yet entered 0. The squares are cumulative sums over exited
    rows and over entered rows less exited ones.
    """
    order = np.argsort(time, kind="stable")
    time, status, w, entry = time[order], status[order], w[order], entry[order]
    starts, run = _runs(time)
    times = time[starts]
    event = status != 0
    n_risk = _reverse_cumsum(np.add.reduceat(w, starts)) - _entered_after(entry, w, times)
    d_all = np.add.reduceat(w * event, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_all = d_all / n_risk
        left = n_risk - d_all
        surv = np.cumprod(1 - h_all)
        surv_before = np.concatenate([[1.0], surv[:-1]])
        a = np.cumsum(np.where(d_all > 0, h_all / left, 0.0))
        a_before = np.concatenate([[0.0], a[:-1]])
        b = np.where(event, 1 / left[run], 0.0) - a[run]
    b = np.nan_to_num(b, posinf=0.0, neginf=0.0)
    at_entry = np.searchsorted(times, entry, side="right") - 1  # last distinct time <= entry

    def at_entry_of(values: np.ndarray) -> np.ndarray:
        return np.where(at_entry >= 0, values[np.maximum(at_entry, 0)], 0.0)

    big_a = at_entry_of(a)
    b = b + big_a
    w2 = w**2
    by_entry = np.argsort(entry, kind="stable")
    entered_at = np.searchsorted(entry[by_entry], times, side="left")  # entry < t

    def at_risk(values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over the rows at risk just after each time (entered, not left)."""
        entered = np.concatenate([[0.0], np.cumsum(values[by_entry])])[entered_at]
        return entered - np.cumsum(np.add.reduceat(values, starts))

    def per_time(values: np.ndarray) -> np.ndarray:
        return np.cumsum(np.add.reduceat(w2 * values, starts))

    parts = []
    for cause in np.unique(status[event]):
        mine = status == cause
        d_c = np.add.reduceat(w * mine, starts)
        h_c = d_c / n_risk
        cif = np.cumsum(surv_before * h_c)
        g = np.cumsum(surv_before * h_c * (1 / n_risk - a_before))
        k = at_entry_of(g) + big_a * at_entry_of(cif)
        own = -g[run] + np.where(mine, surv_before[run] / n_risk[run], 0.0)
        e = own + b * cif[run] - big_a * cif[run] + k
        var = per_time(e * e) - 2 * cif * per_time(e * b) + cif**2 * per_time(b * b)
        var += (
            g**2 * at_risk(w2)
            + cif**2 * at_risk(w2 * big_a**2)
            + at_risk(w2 * k**2)
            + 2 * g * cif * at_risk(w2 * big_a)
            - 2 * g * at_risk(w2 * k)
            - 2 * cif * at_risk(w2 * big_a * k)
        )
        std_err = np.sqrt(np.maximum(var, 0.0))
        parts.append(_cif_rows(times, cause, n_risk, d_c, cif, std_err, conf_type, conf_level))
    return pd.concat(parts, ignore_index=True)[CIF_COLUMNS] if parts else _no_cif()


# --------------------------------------------------------------------------- log-rank


def _survdiff_terms(time, event, g, k, entry=None):
    """Observed, expected and variance matrix of one stratum, from one sort by time.

    With ``entry``, a patient is at risk at t when entry < t ≤ time (delayed entry).
    """
    order = np.argsort(time, kind="stable")
    time, event, g = time[order], event[order], g[order]
    starts, run = _runs(time)
    n_times = starts.size
    # Patients by (time, group), then at risk by group: everyone with a time >= t.
    counts = np.bincount(run * k + g, minlength=n_times * k).reshape(n_times, k)
    n_g = _reverse_cumsum(counts).astype(float)
    if entry is not None:  # less those of each group not yet entered at t
        entry = entry[order]
        for j in range(k):
            mine = g == j
            n_g[:, j] -= _entered_after(entry[mine], np.ones(mine.sum()), time[starts])
    d = np.add.reduceat(event, starts)
    keep = d > 0
    n_g, d = n_g[keep], d[keep]
    n = n_g.sum(axis=1)
    share = n_g / n[:, None]
    expected = d @ share
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.diag(weight @ share) - (share * weight[:, None]).T @ share
    observed = np.bincount(g, weights=event, minlength=k)
    return observed, expected, var


def logrank(time, event, group, strata=None, *, entry=None) -> dict:
    """Log-rank test of equal survival across groups, as R ``survdiff(rho = 0)``.

    With ``entry`` (delayed entry), the same statistic on (entry, exit] risk sets: R's
    ``survdiff`` refuses such data ("Right censored data only"); the test is then the score
    test of ``coxph(Surv(entry, time, event) ~ factor(group) [+ strata(s)], ties = "exact")``,
    which is the log-rank test (its observed − expected and hypergeometric variance) for any
    risk sets, and equals ``survdiff`` when every entry is 0.

    Parameters
    ----------
    time, event : array-like
        Follow-up times and 1 = event / 0 = censored (a row with a missing time, status, group
        or stratum is left out, as R does).
    group : array-like
        Group of each patient.
    strata : array-like, optional
        Stratum of each patient: the stratified test, as R ``survdiff(... + strata(s))``
        (observed, expected and variance summed over strata).
    entry : array-like, optional
        Entry time of each patient (each before its ``time``); None is entry at 0 for all.

    Returns
    -------
    dict
        ``chisq``, ``df``, ``p``, ``observed``, ``expected`` (by group, sorted), ``note``. With
        one group, fewer than two groups having expected events, or a singular variance (every
        patient at risk having the event at one time: R returns chisq 0), the test is
        undefined: NaN with the reason in ``note``.
    """
    # R: incomplete rows out
    data = survival_inputs(time, event, group=group, strata=strata, start=entry)
    time, event, group, strata = data.time, data.event, data.group, data.strata
    if entry is not None:
        entry = _checked_entry(data.start, time)
    groups, g = np.unique(np.asarray(group), return_inverse=True)
    g = g.reshape(-1)
    k = len(groups)
    observed, expected, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    layers = (
        np.zeros(time.size, dtype=int)
        if strata is None
        else np.unique(strata, return_inverse=True)[1]
    )
    for layer in np.unique(layers):
        rows = layers == layer
        o, e, v = _survdiff_terms(
            time[rows], event[rows], g[rows], k, None if entry is None else entry[rows]
        )
        observed, expected, var = observed + o, expected + e, var + v
    usable = expected > 0
    df = int(usable.sum()) - 1
    diff = (observed - expected)[usable][1:]
    vv = var[np.ix_(usable, usable)][1:, 1:]
    note = ""
    if k < 2:
        note = "not testable: only one group"
    elif usable.sum() < 2:
        note = "not testable: fewer than two groups with events"
    elif not _pivots(vv).all():
        note = (
            "not testable: the variance of the test is singular (every patient at risk had "
            "the event at the same time)"
        )
    if note:
        return {
            "chisq": np.nan,
            "df": np.nan,
            "p": np.nan,
            "observed": observed,
            "expected": expected,
            "note": note,
        }
    chisq = float(diff @ np.linalg.solve(vv, diff))
    return {
        "chisq": chisq,
        "df": df,
        "p": float(special.chdtrc(df, chisq)),
        "observed": observed,
        "expected": expected,
        "note": "",
    }


# --------------------------------------------------------------------------- Cox


class _RiskSets:
    """The data of one Cox model sorted by time once, with identical rows collapsed.

    Rows with the same stratum, time, status and covariates are one row with a count
    (``weight``), so a cohort of a million patients with a few binary covariates is a few
    thousand rows; every sum below is the sum over the patients. Rows are sorted by stratum,
    then time; within a time, events come before censorings. ``run`` numbers the distinct
    (stratum, time) pairs: the risk set of a time is every row of its stratum whose run is at
    least its own, so the cumulative sums restart in each stratum (``bounds``: the first
    distinct time of each stratum). The Efron terms of a time with d deaths have fractions
    j / d, j < d (all 0 with Breslow ties: every death sees the whole risk set).
    """

    def __init__(self, time, event, X, strata=None, ties: str = "efron"):
        time, X = np.asarray(time, dtype=float), np.asarray(X, dtype=float)
        censored = (np.asarray(event) != 1).astype(np.int64)
        stratum = _stratum_codes(strata, time.size)
        if strata is None:
            order = np.argsort(time, kind="stable")  # cheap when the caller sorted already
        else:
            order = np.lexsort((time, stratum))
        time, censored, X, stratum = time[order], censored[order], X[order], stratum[order]
        _, run = _runs(time, stratum)
        key = run * 2 + censored
        lowest = X.min(axis=0, initial=0)
        span = X.max(axis=0, initial=0) - lowest + 1
        integer = X.size == 0 or bool(np.all(X == np.round(X)))
        if integer and np.prod(span, dtype=float) * (key[-1] + 1 if key.size else 1) < 2**62:
            for j in range(X.shape[1]):  # covariate pattern in mixed radix, after time and status
                key = key * int(span[j]) + (X[:, j] - lowest[j]).astype(np.int64)
        else:  # continuous covariates: no two rows are collapsed
            key = key * time.size + np.arange(time.size)
        reorder = np.argsort(key, kind="stable")
        key = key[reorder]
        first, _ = _runs(key)
        self.weight = np.diff(np.append(first, key.size)).astype(float)
        rows = reorder[first]
        self.time, self.dead, X = time[rows], censored[rows] == 0, X[rows]
        self.stratum = stratum[rows]
        self.X_raw = X
        self.X = np.asfortranarray(X - self.weight @ X / self.weight.sum())  # centred as R
        self.starts, self.run = _runs(self.time, self.stratum)
        self.n_times = self.starts.size
        self.bounds = np.append(_runs(self.stratum[self.starts])[0], self.n_times)
        # Per distinct death time (k): deaths d, and one term per death with fraction j / d.
        self.death_run = self.run[self.dead]
        self.death_times, at = np.unique(self.death_run, return_inverse=True)
        self.death_index = at  # for each death row, its death time
        self.deaths = np.bincount(at, weights=self.weight[self.dead]).astype(np.int64)
        self.term_time = np.repeat(np.arange(self.deaths.size), self.deaths)
        first_term = np.cumsum(self.deaths) - self.deaths
        self.fraction = (np.arange(self.term_time.size) - first_term[self.term_time]) / np.repeat(
            self.deaths, self.deaths
        ).astype(float)
        if ties == "breslow":  # every death of a time sees the whole risk set
            self.fraction[:] = 0.0

    @property
    def n(self) -> int:
        return int(self.weight.sum())

    @property
    def events(self) -> int:
        return int(self.deaths.sum())

    def efron(self, beta: np.ndarray, weights: tuple[np.ndarray, ...] = ()):
        """Efron log-likelihood, score and information at ``beta`` (R ``coxfit6``).

        ``weights`` are weights g per distinct death time; for each, also the g-weighted sums
        over death times of the score and information contributions (what ``cox.zph`` needs).

        Returns
        -------
        loglik, score, info, weighted
            ``weighted`` is a list of ``(sum g U_t, sum g I_t)`` per weight.
        """
        X, w, dead, k = self.X, self.weight, self.dead, self.death_index
        eta = _linear(X, beta)
        with np.errstate(over="ignore"):
            risk = w * np.exp(eta)
        # Risk-set sums at each death time: S0, S1 over rows at risk; D0, D1 over its deaths.
        at_death = self.death_times
        s0 = _reverse_cumsum(np.add.reduceat(risk, self.starts), self.bounds)[at_death]
        s1 = _reverse_cumsum(np.add.reduceat(X * risk[:, None], self.starts), self.bounds)
        s1 = s1[at_death]
        risk_d, Xd = risk[dead], X[dead]
        n_d = self.deaths.size
        d0 = np.bincount(k, weights=risk_d, minlength=n_d)
        d1 = np.column_stack([np.bincount(k, weights=risk_d * x, minlength=n_d) for x in Xd.T])
        d1 = d1.reshape(n_d, X.shape[1])
        # The Efron terms (one per death): a0 = S0 - f D0; their sums per death time.
        f, t = self.fraction, self.term_time
        a0 = s0[t] - f * d0[t]
        per_time = lambda v: np.bincount(t, weights=v, minlength=n_d)  # noqa: E731
        with np.errstate(divide="ignore"):
            loglik = _fdot(w[dead], eta[dead]) - _total(np.log(a0))
        q = [per_time(v) for v in (1 / a0, f / a0, 1 / a0**2, f / a0**2, f * f / a0**2)]
        inv, f_inv, inv2, f_inv2, ff_inv2 = q
        x_dead = np.column_stack([np.bincount(k, weights=w[dead] * x, minlength=n_d) for x in Xd.T])
        x_dead = x_dead.reshape(n_d, X.shape[1])
        # Score per death time: deaths' covariates minus the sum of the Efron means.
        u_t = x_dead - s1 * inv[:, None] + d1 * f_inv[:, None]
        # Sum of the Efron means' outer products at each time, weighted by g.
        run_of = np.zeros(self.n_times)

        def information(g):
            mean_sq = _gram(s1 * (g * inv2)[:, None], s1, True)
            mean_sq += _gram(d1 * (g * ff_inv2)[:, None], d1, True)
            cross = _gram(s1 * (g * f_inv2)[:, None], d1)
            mean_sq -= cross + cross.T
            # sum g (S2 - f D2) / a0: S2 of a time is over rows at risk, so each row carries
            # the cumulative weight of the death times of its stratum up to its own.
            run_of[:] = 0
            run_of[at_death] = g * inv
            at_risk = _cumsum(run_of, self.bounds)[self.run]
            total = _gram(X, X * (risk * at_risk)[:, None], True)
            total -= _gram(Xd, Xd * (risk_d * (g * f_inv)[k])[:, None], True)
            return total - mean_sq

        info = information(np.ones(n_d))
        weighted = [(_gram(g[:, None], u_t)[0], information(g)) for g in weights]
        return loglik, _total(u_t), info, weighted


def _total(values: np.ndarray) -> np.ndarray | float:
    """Sum over the rows in row order (a cumulative sum: the same rounding on every machine)."""
    values = np.asarray(values, dtype=float)
    if values.shape[0] == 0:
        return 0.0 if values.ndim == 1 else np.zeros(values.shape[1:])
    out = np.cumsum(values, axis=0)[-1]
    return float(out) if values.ndim == 1 else out


def _fdot(a: np.ndarray, b: np.ndarray) -> float:
    """``a @ b`` in row order, without BLAS (whose summation order depends on the CPU)."""
    return _total(np.asarray(a, dtype=float) * np.asarray(b, dtype=float))


def _gram(a: np.ndarray, b: np.ndarray, symmetric: bool = False) -> np.ndarray:
    """``a.T @ b`` in row order, column pair by column pair, without BLAS.

    ``symmetric``: the result is known to be symmetric (``b`` is ``a`` times a weight per
    row), so only the lower triangle is summed.
    """
    out = np.empty((a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        for j in range(i + 1 if symmetric else b.shape[1]):
            out[i, j] = _total(a[:, i] * b[:, j])
            if symmetric:
                out[j, i] = out[i, j]
    return out


def _linear(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``X @ beta`` summed over the columns in order (R's ``zbeta`` loop), without BLAS."""
    eta = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        eta = eta + X[:, j] * beta[j]
    return eta


def _sum_by(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sums of ``values`` (a vector, or the rows of a matrix) by ``index`` in [0, size)."""
    if values.ndim == 1:
        return np.bincount(index, weights=values, minlength=size)
    columns = [np.bincount(index, weights=v, minlength=size) for v in values.T]
    return np.column_stack(columns).reshape(size, values.shape[1])


class _CountingRiskSets:
    """The data of a general Cox model: counting-process rows, case weights, either ties method.

    R ``coxph(Surv(start, stop, event) ~ x, weights = w, ties = ...)`` (``agfit4``; with
    ``start`` absent, ``coxfit6``). A row is at risk at a death time t of its stratum when
    start < t ≤ stop. The distinct death times are numbered stratum by stratum (k); the death
    times at which a row is at risk are then one range ``[lo, hi)`` of k, so every risk-set sum
    is a difference of cumulative sums over k (no loop over death times, no row collapsed).

    A death time with d deaths of total case weight W has, with Efron ties, d terms with
    fractions j / d and weight W / d each; with Breslow ties one term with fraction 0 and
    weight W (R ``agfit4``: ``meanwt``).
    """

    def __init__(self, time, event, X, strata=None, ties="efron", start=None, weights=None):
        time = np.asarray(time, dtype=float)
        n = time.size
        X = np.asarray(X, dtype=float).reshape(n, -1)
        start = np.full(n, -np.inf) if start is None else np.asarray(start, dtype=float)
        if np.any(start >= time):
            raise ValueError("every row needs start < stop (R: stop time must be > start time)")
        weight = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        if np.any(~np.isfinite(weight)) or np.any(weight < 0):
            raise ValueError("case weights must be finite and non-negative")
        self.time, self.start, self.weight = time, start, weight
        self.dead = np.asarray(event) == 1
        self.stratum = _stratum_codes(strata, n)
        self.X_raw = X
        self.X = np.asfortranarray(X - weight @ X / max(weight.sum(), 1e-300))
        # Death times as integer keys (stratum, rank of the time), sorted stratum by stratum.
        values = np.unique(np.concatenate([time, start[np.isfinite(start)]]))
        width = values.size + 2
        stop_key = self.stratum * width + 1 + np.searchsorted(values, time)
        start_key = self.stratum * width + np.where(
            np.isfinite(start), 1 + np.searchsorted(values, start), 0
        )
        death_keys, self.death_index = np.unique(stop_key[self.dead], return_inverse=True)
        self.death_index = self.death_index.reshape(-1)
        self.n_deaths = death_keys.size
        self.lo = np.searchsorted(death_keys, start_key, side="right")
        self.hi = np.searchsorted(death_keys, stop_key, side="right")
        k = self.death_index
        self.deaths = np.bincount(k, minlength=self.n_deaths)  # rows, not weights
        self.death_weight = np.bincount(k, weights=weight[self.dead], minlength=self.n_deaths)
        if ties == "efron":
            d = self.deaths
            self.term_time = np.repeat(np.arange(self.n_deaths), d)
            first_term = np.cumsum(d) - d
            self.fraction = (np.arange(self.term_time.size) - first_term[self.term_time]) / d[
                self.term_time
            ]
            self.term_weight = (self.death_weight / np.maximum(d, 1))[self.term_time]
        else:
            self.term_time = np.arange(self.n_deaths)
            self.fraction = np.zeros(self.n_deaths)
            self.term_weight = self.death_weight

    @property
    def n(self) -> int:
        return int(self.time.size)

    @property
    def events(self) -> int:
        return int(self.dead.sum())

    def _range_sum(self, values: np.ndarray) -> np.ndarray:
        """Per death time k, the sum of ``values`` over the rows at risk then (lo ≤ k < hi).

        Each row is added at its first death time and taken out after its last, in one running
        sum over death times. A row of large risk score (a coefficient running to infinity)
        that leaves the risk set would take the digits of the small rows that stay with it, so
        the running sum carries its rounding error exactly (TwoSum) and adds it back: every
        risk-set sum is accurate to the last digits of its own size, in a fixed order.
        """
        if not hasattr(self, "_entries"):
            keys = np.concatenate([self.lo, self.hi])
            order = np.argsort(keys, kind="stable")
            through = np.searchsorted(keys[order], np.arange(self.n_deaths), side="right")
            self._entries = (order, through)
        order, through = self._entries
        # Rows of the transpose: each column's running sum is over a contiguous row.
        columns = np.ascontiguousarray(values.T)
        entries = np.concatenate([columns, -columns], axis=-1)[..., order]
        running = np.cumsum(entries, axis=-1)
        before = np.zeros_like(running)
        before[..., 1:] = running[..., :-1]
        added = running - before
        error = (before - (running - added)) + (entries - added)
        exact = running + np.cumsum(error, axis=-1)
        out = np.zeros((*values.shape[1:], self.n_deaths))
        has = through > 0
        out[..., has] = exact[..., through[has] - 1]
        return out.T

    def _over_range(self, per_death: np.ndarray) -> np.ndarray:
        """Per row, the sum of ``per_death`` over the death times at which the row is at risk."""
        total = np.concatenate([np.zeros((1, *per_death.shape[1:])), np.cumsum(per_death, axis=0)])
        return total[self.hi] - total[self.lo]

    def _terms(self, beta):
        """Risk scores and the Efron or Breslow terms at ``beta``."""
        X, w, dead, k = self.X, self.weight, self.dead, self.death_index
        eta = _linear(X, beta)
        with np.errstate(over="ignore"):
            score = np.exp(eta)
        wr = w * score
        s0, s1 = self._range_sum(wr), self._range_sum(X * wr[:, None])
        d0 = _sum_by(k, wr[dead], self.n_deaths)
        d1 = _sum_by(k, X[dead] * wr[dead][:, None], self.n_deaths)
        t, f = self.term_time, self.fraction
        a0 = s0[t] - f * d0[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            xbar = (s1[t] - f[:, None] * d1[t]) / a0[:, None]
        return eta, score, wr, a0, xbar

    def evaluate(self, beta: np.ndarray, weights: tuple[np.ndarray, ...] = ()):
        """Log-likelihood, score and information at ``beta`` (R ``agfit4``), as ``_RiskSets.efron``.

        ``weights``: weights g per death time; for each, the g-weighted sums over death times of
        the score and information contributions (what ``cox.zph`` needs).
        """
        X, w, dead, k = self.X, self.weight, self.dead, self.death_index
        eta, _, wr, a0, xbar = self._terms(beta)
        t, f, m = self.term_time, self.fraction, self.term_weight
        size = self.n_deaths
        with np.errstate(divide="ignore"):
            loglik = _fdot(w[dead], eta[dead]) - _fdot(m, np.log(a0))
        per_death = lambda v: _sum_by(t, v, size)  # noqa: E731
        Xd, wr_d = X[dead], wr[dead]
        u_t = _sum_by(k, Xd * w[dead][:, None], size) - per_death(xbar * m[:, None])

        def information(g):
            gm = g[t] * m
            on_risk = self._over_range(per_death(gm / a0))
            total = _gram(X, X * (wr * on_risk)[:, None], True)
            total -= _gram(Xd, Xd * (wr_d * per_death(gm * f / a0)[k])[:, None], True)
            return total - _gram(xbar * gm[:, None], xbar, True)

        info = information(np.ones(size))
        weighted = [(_gram(g[:, None], u_t)[0], information(g)) for g in weights]
        return loglik, _total(u_t), info, weighted

    def score_residuals(self, beta: np.ndarray) -> np.ndarray:
        """Score residual of each row, unweighted, as R ``residuals(fit, type = "score")``.

        R ``agscore3``: the integral of x − x̄(t) against the row's martingale; with Efron
        ties, a death's share of each of its time's d terms is (1 − j / d).
        """
        X, dead, k = self.X, self.dead, self.death_index
        _, score, _, a0, xbar = self._terms(beta)
        t, f, m = self.term_time, self.fraction, self.term_weight
        hazard = m / a0
        per_death = lambda v: _sum_by(t, v, self.n_deaths)  # noqa: E731
        cum = self._over_range(per_death(hazard))
        cum_x = self._over_range(per_death(xbar * hazard[:, None]))
        resid = -score[:, None] * (X * cum[:, None] - cum_x)
        # The deaths: x minus the mean of their time's terms' x̄, and back the (j / d) share of
        # each term's hazard that a death of the time did not bear.
        n_terms = np.bincount(t, minlength=self.n_deaths)[:, None]
        mh1 = per_death(f * hazard)[k]
        mh2 = per_death(xbar * (f * hazard)[:, None])[k]
        mh3 = (per_death(xbar) / n_terms)[k]
        Xd = X[dead]
        resid[dead] += Xd - mh3 + score[dead][:, None] * (Xd * mh1[:, None] - mh2)
        return resid

    def zph_transform(self) -> np.ndarray:
        """g(t) of R ``cox.zph(transform = "km")`` per death time.

        1 − S(t−), S the Kaplan–Meier of all rows together (unweighted, ignoring strata; a row
        at risk in (start, stop]), centred at its mean over the death rows.
        """
        times, deaths = np.unique(self.time[self.dead], return_counts=True)
        stops, starts = np.sort(self.time), np.sort(self.start)
        n_risk = (stops.size - np.searchsorted(stops, times, side="left")) - (
            starts.size - np.searchsorted(starts, times, side="left")
        )
        surv_before = np.concatenate([[1.0], np.cumprod(1 - deaths / n_risk)[:-1]])
        g = 1 - surv_before[np.searchsorted(times, self.time[self.dead])]
        g = g - g.mean()
        return np.bincount(self.death_index, g, self.n_deaths) / self.deaths


def _pivots(imat: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns that R's ``cholesky2`` keeps (the others are deemed singular: aliased).

    R ``coxph.control(toler.chol = .Machine$double.eps^0.75)``: a pivot of the symmetric
    decomposition below ``toler`` times the largest diagonal element marks its column singular
    (:func:`rwe.cholesky.decompose`).
    """
    return decompose(imat, toler).kept


def _solve(imat: np.ndarray, u: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """``imat⁻¹ u`` with 0 for the singular columns (R ``cholesky2`` then ``chsolve2``).

    With ``keep``, over those columns only (the others 0).
    """
    u = np.asarray(u, dtype=float)
    if keep is None:
        return cholesky_solve(decompose(imat), u)
    out = np.zeros_like(u)
    if keep.any():
        out[keep] = cholesky_solve(decompose(imat[np.ix_(keep, keep)]), u[keep])
    return out


def _inverse(imat: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Inverse with 0 in the singular rows and columns (R ``cholesky2`` then ``chinv2``)."""
    if keep is None:
        return cholesky_inverse(decompose(imat))
    out = np.zeros_like(imat, dtype=float)
    if keep.any():
        out[np.ix_(keep, keep)] = cholesky_inverse(decompose(imat[np.ix_(keep, keep)]))
    return out


def _quadratic(imat: np.ndarray, u: np.ndarray) -> float:
    """``u' imat⁻¹ u`` with R's generalised inverse (R ``coxph.wtest``); NaN if u is not finite."""
    if not np.all(np.isfinite(u)) or not np.all(np.isfinite(imat)):
        return np.nan
    return float(u @ _solve(imat, u))


def efron_loglik(time, event, X, beta, strata=None):
    """Efron partial log-likelihood, score vector and information matrix at ``beta``.

    As R ``coxph(ties = "efron")`` computes them (``survival:::coxfit6``), by cumulative sums
    over the time-sorted data; with ``strata``, risk sets within each stratum (R
    ``+ strata(s)``).

    Returns
    -------
    loglik : float
    score : numpy.ndarray
    info : numpy.ndarray
    """
    risk_sets = _RiskSets(time, event, X, strata)
    loglik, score, info, _ = risk_sets.efron(np.asarray(beta, float))
    return loglik, score, info


def concordance(time, event, risk, weights=None, strata=None, start=None) -> float:
    """Harrell's C of a risk score, as R ``concordance(coxph)`` (``timewt = "n"``).

    A pair is comparable when the one with the shorter time had an event; a subject censored at
    an event time is still at risk then, and pairs tied on an event time are not comparable. A
    higher risk with the shorter time is concordant; ties in the risk count 1/2. With
    ``strata``, only pairs within a stratum are compared and the counts are summed over strata
    (R ``concordance`` of a model with ``strata()``). With ``start`` (counting-process rows,
    R ``Surv(start, stop, event)``), an event's partners are the rows at risk at its time
    (start < t ≤ stop) that do not have an event then.

    Counted in O(n log K) for K distinct risk values by a wavelet matrix over the time-sorted
    ranks of the risk: for each event, how many later subjects have a lower, equal or higher
    risk.

    Parameters
    ----------
    time, event, risk : array-like
        Follow-up times, 1 = event / 0 = censored, and the risk score (higher = worse).
    weights : array-like, optional
        Number of patients each row stands for (default 1).
    strata : array-like, optional
        Stratum of each row.
    start : array-like, optional
        Entry time of each row.

    Returns
    -------
    float
        NaN when no pair is comparable.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event) == 1
    weights = np.ones(time.size) if weights is None else np.asarray(weights, dtype=float)
    risk = np.asarray(risk, dtype=float)
    codes = _stratum_codes(strata, time.size)
    start = None if start is None else np.asarray(start, dtype=float)
    counts = [
        _concordance_counts(
            time[rows],
            event[rows],
            risk[rows],
            weights[rows],
            None if start is None else start[rows],
        )
        for rows in (codes == c for c in np.unique(codes))
    ]
    agree, total = np.sum(counts, axis=0) if counts else (0.0, 0.0)
    return np.nan if total == 0 else float(agree / total)


def _concordance_counts(time, event, risk, weights, start=None) -> tuple[float, float]:
    """Concordant pairs (ties in the risk counted 1/2) and comparable pairs, weighted.

    With ``start``, the rows that entered at or after an event's time are taken back out of
    its partners: the same counts over the rows sorted by entry time.
    """
    # Sorted by time, events before censorings at the same time: the comparable partners of
    # an event are every row after the events at its time.
    order = np.lexsort((~event, time))
    time, event, weights = time[order], event[order], weights[order]
    values, rank = np.unique(risk[order], return_inverse=True)
    starts, run = _runs(time)
    event_rows = np.add.reduceat(event.astype(np.int64), starts)
    partners_from = (starts + event_rows)[run[event]]
    if partners_from.size == 0:
        return 0.0, 0.0
    w_event, x = weights[event], rank[event]

    def partners(rank, weights, first):
        """Weight of the rows from ``first`` on: in all, with a lower and a lower-or-equal risk."""
        after = np.append(_reverse_cumsum(weights), 0.0)[first]
        below = _count_below(
            rank, weights, np.tile(first, 2), np.concatenate([x, x + 1]), values.size
        )
        return after, below[: x.size], below[x.size :]

    total, less, less_equal = partners(rank, weights, partners_from)
    if start is not None:
        by_entry = np.argsort(start[order], kind="stable")
        entered_after = np.searchsorted(start[order][by_entry], time[event], side="left")
        late = partners(rank[by_entry], weights[by_entry], entered_after)
        total, less, less_equal = (
            a - b for a, b in zip((total, less, less_equal), late, strict=True)
        )
    total = float(w_event @ total)
    if total == 0:
        return 0.0, 0.0
    concordant = float(w_event @ less)
    tied = float(w_event @ (less_equal - less))
    return concordant + tied / 2, total


def _count_below(values, weights, start, x, n_values: int) -> np.ndarray:
    """For each query q, the weight of ``values[start[q]:]`` below ``x[q]`` (wavelet matrix).

    ``values`` are integers in [0, n_values) and ``x`` in [0, n_values]; one pass per bit, most
    significant first: at each level the values (and weights) are stably partitioned by the
    bit and each query's range follows its own bit, adding the weight of the range's zeros
    when its bit is 1.
    """
    lo = start
    hi = np.full(x.size, values.size)
    count = np.zeros(x.size)
    for level in reversed(range(max(int(n_values).bit_length(), 1))):
        bit = (values >> level) & 1
        zero = bit == 0
        zeros_before = np.concatenate([[0], np.cumsum(zero)])
        weight_before = np.concatenate([[0.0], np.cumsum(np.where(zero, weights, 0.0))])
        n_zeros = zeros_before[-1]
        one = ((x >> level) & 1) == 1
        count += np.where(one, weight_before[hi] - weight_before[lo], 0.0)
        lo0, hi0 = zeros_before[lo], zeros_before[hi]
        lo = np.where(one, n_zeros + lo - lo0, lo0)
        hi = np.where(one, n_zeros + hi - hi0, hi0)
        values = np.concatenate([values[zero], values[~zero]])
        weights = np.concatenate([weights[zero], weights[~zero]])
    return count


@dataclass(eq=False)
class CoxResult:
    """A fitted Cox model: what ``summary(coxph(...))``, ``concordance`` and ``cox.zph`` report.

    The global tests, the concordance and the ``cox.zph`` test are computed once, when first
    read, from the time-sorted data the fit kept. With a robust variance (``var_naive`` set),
    ``var`` is the sandwich: the table's CI and p, and the Wald test, use it, as
    ``summary.coxph`` does; the likelihood-ratio and score tests do not (R prints them with the
    note that they assume independent observations) and ``robust_score`` is R's robust score
    test.
    """

    terms: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik_null: float
    loglik: float
    score_test: float
    n: int
    events: int
    iterations: int
    converged: bool
    infinite: np.ndarray
    risk_sets: _RiskSets | _CountingRiskSets = field(repr=False)
    ties: str = "efron"
    aliased: np.ndarray | None = None
    var_naive: np.ndarray | None = None
    robust_score: float | None = None
    note: str = ""

    def __post_init__(self):
        if self.aliased is None:
            self.aliased = np.zeros(len(self.terms), dtype=bool)

    @property
    def robust(self) -> bool:
        """True when ``var`` is the sandwich (R ``robust = TRUE`` or ``cluster``)."""
        return self.var_naive is not None

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients (robust ones when the variance is robust)."""
        return np.sqrt(np.diag(self.var))

    def table(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Per term: coef, HR, Wald CI and p (R ``summary.coxph``).

        With a robust variance ``se`` is the robust SE (R ``robust se``), which the CI and p
        use, and ``se_naive`` the model-based one (R ``se(coef)``). An aliased term is NaN.
        """
        z = _z(conf_level)
        se = self.se
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = pd.DataFrame(
                {
                    "term": self.terms,
                    "coef": self.coef,
                    "se": se,
                    "hr": np.exp(self.coef),
                    "ci_lower": np.exp(self.coef - z * se),
                    "ci_upper": np.exp(self.coef + z * se),
                    "z": self.coef / se,
                    "p": 2 * special.ndtr(-(np.abs(self.coef / se))),
                }
            )
        if self.robust:
            out.insert(3, "se_naive", np.sqrt(np.diag(self.var_naive)))
        return out

    @cached_property
    def global_tests(self) -> dict:
        """Likelihood-ratio, Wald and score (log-rank) tests of all coefficients = 0.

        The degrees of freedom are the non-aliased coefficients (R ``summary.coxph``); with a
        robust variance the Wald test uses it, and ``robust_score`` is added (R ``robscore``).
        """
        keep = ~self.aliased
        p = int(keep.sum())
        lr = 2 * (self.loglik - self.loglik_null)
        coef = self.coef[keep]
        wald = _quadratic(self.var[np.ix_(keep, keep)], coef) if p else np.nan
        tests = {
            "lr_chisq": lr,
            "lr_df": p,
            "lr_p": special.chdtrc(p, lr),
            "wald_chisq": wald,
            "wald_df": p,
            "wald_p": special.chdtrc(p, wald),
            "score_chisq": self.score_test,
            "score_df": p,
            "score_p": special.chdtrc(p, self.score_test),
        }
        if self.robust:
            tests |= {
                "robust_score_chisq": self.robust_score,
                "robust_score_df": p,
                "robust_score_p": special.chdtrc(p, self.robust_score),
            }
        return tests

    @cached_property
    def concordance(self) -> float:
        """Harrell's C of the linear predictor, as R ``concordance(fit)`` (:func:`concordance`)."""
        rs = self.risk_sets
        start = rs.start if isinstance(rs, _CountingRiskSets) else None
        # Column by column, so that patients with equal covariates get exactly equal scores.
        coef = np.nan_to_num(self.coef)
        score = sum(rs.X_raw[:, j] * c for j, c in enumerate(coef))
        return concordance(rs.time, rs.dead.astype(int), score, rs.weight, rs.stratum, start)

    @cached_property
    def zph(self) -> pd.DataFrame:
        """The proportional-hazards test, as R ``cox.zph(fit)`` (:func:`cox_zph`)."""
        return cox_zph(self)


TIES = ("efron", "breslow")


def cox_fit(
    time,
    event,
    X,
    terms: list[str],
    max_iter: int = 20,
    eps: float = 1e-9,
    strata=None,
    *,
    start=None,
    weights=None,
    ties: str = "efron",
    robust: bool | None = None,
    cluster=None,
) -> CoxResult:
    """Cox proportional-hazards model, as R ``coxph`` (Newton–Raphson).

    Starts at 0 and iterates with step halving until the relative change of the partial
    log-likelihood is below ``eps`` (R ``coxph.control(eps = 1e-9)``), step for step as R's
    ``coxph.fit`` (right-censored data) or, with ``start``, ``agreg.fit``
    (:func:`rwe.cox_newton.newton_raphson`); the variance is the inverse information at the
    estimate. A coefficient running to infinity (monotone likelihood) is estimated as R does,
    the others with it, and flagged in ``infinite`` by R's rule ("Loglik converged before
    variable k; coefficient may be infinite"). Every sum is taken in a fixed order (no BLAS),
    so a fit is the same on every machine. A covariate whose column of the information matrix is
    singular (aliased with the others, R ``cholesky2`` with ``toler.chol``) gets no estimate:
    NaN, flagged in ``aliased`` (R: coefficient NA, "X matrix deemed to be singular").

    Plain right-censored, unweighted data use a fast path that collapses identical patients;
    ``start``, ``weights``, ``robust`` or ``cluster`` use the general counting-process path
    (R ``agfit4``), O(n log n) per iteration.

    Parameters
    ----------
    time, event : array-like
        Follow-up (stop) times and 1 = event / 0 = censored. A row with a missing time,
        status, covariate, stratum, entry time, weight or cluster is left out (R ``na.omit``;
        :func:`rwe.survival_inputs.survival_inputs`); a weight ≤ 0 is refused, as R does.
    X : array-like, shape (n, p)
        Covariates; with no columns, the null model (its log-likelihood only).
    terms : list of str
        Names of the columns of ``X``.
    max_iter, eps : int, float
        R ``coxph.control(iter.max, eps)``: ``max_iter`` Newton steps after the evaluation at
        0, as R counts them (``iter.max = 1`` gives the first Newton step).
    strata : array-like, optional
        Stratum of each row: risk sets are formed within strata and each stratum has its
        own baseline hazard, as R ``coxph(Surv(time, status) ~ x + strata(s))``.
    start : array-like, optional
        Entry times of counting-process rows: a row is at risk at t when start < t ≤ time, as
        R ``coxph(Surv(tstart, tstop, event) ~ x)``.
    weights : array-like, optional
        Case weights (R ``weights =``).
    ties : {"efron", "breslow"}
        Handling of tied death times (R ``ties =``).
    robust : bool, optional
        Sandwich variance from the dfbeta residuals (R ``robust = TRUE``). The default is R's:
        robust when ``cluster`` is given or a weight is not a whole number.
    cluster : array-like, optional
        Cluster of each row: dfbeta residuals are summed within cluster before the sandwich
        (R ``+ cluster(id)``); implies ``robust``.

    Returns
    -------
    CoxResult
        With a robust variance, ``var`` is the sandwich, ``var_naive`` the inverse information
        and ``robust_score`` R's robust score test (``summary(fit)$robscore``).
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    data = survival_inputs(
        time, event, X=X, strata=strata, start=start, weights=weights, cluster=cluster, cox=True
    )
    time, event, X, strata = data.time, data.event, data.X, data.strata
    start, weights, cluster = data.start, data.weights, data.cluster
    if robust is None:
        fractional = weights is not None and np.any(np.asarray(weights) % 1 != 0)
        robust = cluster is not None or bool(fractional)
    terms = list(terms)
    null_model = X.shape[1] == 0
    if null_model:  # R: a null model is a dummy covariate with no iteration
        X = np.zeros((time.size, 1))
    general = start is not None or weights is not None or robust
    if general:
        risk_sets = _CountingRiskSets(time, event, X, strata, ties, start, weights)
        evaluate = risk_sets.evaluate
    else:
        risk_sets = _RiskSets(time, event, X, strata, ties)
        evaluate = risk_sets.efron
    rule = "agreg.fit" if start is not None else "coxph.fit"
    if not null_model and not np.any(event == 1):
        return _no_event_result(risk_sets, terms, ties)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        # Monotone likelihood drives a coefficient to infinity: overflow there is expected,
        # and the fit reports the coefficient as "may be infinite", as R does.
        path = newton_raphson(
            lambda beta: evaluate(beta)[:3],
            covariate_scale(risk_sets.X_raw, risk_sets.weight),
            0 if null_model else max_iter,
            eps,
            rule,
        )
        if null_model:
            return _null_result(path, risk_sets, ties)
        return _cox_result(path, risk_sets, terms, ties, robust, cluster)


def _no_event_result(risk_sets, terms, ties) -> CoxResult:
    """No events: R ``coxph`` returns coefficients NA, variance 0 and log-likelihood 0."""
    p = len(terms)
    return CoxResult(
        terms=terms,
        coef=np.full(p, np.nan),
        var=np.zeros((p, p)),
        loglik_null=0.0,
        loglik=0.0,
        score_test=0.0,
        n=risk_sets.n,
        events=0,
        iterations=0,
        converged=True,
        infinite=np.zeros(p, dtype=bool),
        risk_sets=risk_sets,
        ties=ties,
        note="not estimable: no events (R: coefficients NA)",
    )


def _null_result(path, risk_sets, ties) -> CoxResult:
    """A model without covariates: its log-likelihood only (R ``coxph.null``)."""
    empty = np.zeros(0)
    return CoxResult(
        terms=[],
        coef=empty,
        var=np.zeros((0, 0)),
        loglik_null=path.loglik0,
        loglik=path.loglik0,
        score_test=0.0,
        n=risk_sets.n,
        events=risk_sets.events,
        iterations=0,
        converged=True,
        infinite=np.zeros(0, dtype=bool),
        risk_sets=risk_sets,
        ties=ties,
        aliased=np.zeros(0, dtype=bool),
    )


def _cox_result(path, risk_sets, terms, ties, robust, cluster) -> CoxResult:
    """The :class:`CoxResult` of a Newton path, with the robust variance when asked."""
    beta, aliased = path.beta, path.singular
    var = path.var.copy()
    coef = np.where(aliased, np.nan, beta)
    var[aliased, :] = np.nan
    var[:, aliased] = np.nan
    if not np.all(np.isfinite(beta)):  # overflow at a diverging estimate: no variance
        var[:] = np.nan
    var_naive, robust_score = None, None
    if robust:
        var_naive = var
        groups = None if cluster is None else _stratum_codes(cluster, risk_sets.n)
        w = risk_sets.weight[:, None]
        dfbeta = _rowsum(risk_sets.score_residuals(beta) * w, groups) @ np.nan_to_num(var)
        var = dfbeta.T @ dfbeta
        var[aliased, :] = np.nan
        var[:, aliased] = np.nan
        at_zero = _rowsum(risk_sets.score_residuals(np.zeros(len(beta))) * w, groups)
        robust_score = _quadratic(at_zero.T @ at_zero, at_zero.sum(axis=0))
    return CoxResult(
        terms=list(terms),
        coef=coef,
        var=var,
        loglik_null=path.loglik0,
        loglik=path.loglik,
        score_test=path.score_test,
        n=risk_sets.n,
        events=risk_sets.events,
        iterations=path.iterations,
        converged=path.converged,
        infinite=path.infinite,
        risk_sets=risk_sets,
        ties=ties,
        aliased=aliased,
        var_naive=var_naive,
        robust_score=robust_score,
    )


def _rowsum(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Sum of the rows of ``values`` within each group (R ``rowsum``); unchanged without groups."""
    if groups is None:
        return values
    return np.column_stack(
        [np.bincount(groups, weights=v, minlength=groups.max() + 1) for v in values.T]
    ).reshape(-1, values.shape[1])


def cox_zph(fit: CoxResult) -> pd.DataFrame:
    """Test of proportional hazards, as R ``cox.zph(fit, transform = "km")`` (survival ≥ 3).

    The score test, at the fitted coefficients, for adding ``x * g(t)`` with g the
    left-continuous Kaplan–Meier transform of time centred at its mean over events; one
    1-df test per term and a global test. The score and information contributions of every
    event time come from the same cumulative sums as the fit, weighted by g(t). For a
    stratified fit, as R: the Kaplan–Meier transform is of all patients together (one curve,
    ignoring strata) and the score and information are summed over the within-stratum risk
    sets.

    Returns
    -------
    pandas.DataFrame
        ``term`` (terms then ``GLOBAL``), ``chisq``, ``df``, ``p``, ``note``: a test whose
        information matrix is singular is NaN with the reason (R stops with an error).
    """
    rs = fit.risk_sets
    kept = np.flatnonzero(~fit.aliased)  # R drops the NA coefficients
    terms, p = [fit.terms[j] for j in kept], kept.size
    beta = np.where(fit.aliased, 0.0, fit.coef)
    if isinstance(rs, _CountingRiskSets):
        g = rs.zph_transform()
        evaluate = rs.evaluate
    else:
        # Kaplan–Meier over the distinct times of all strata together; g(t) = 1 - S(t-), the
        # estimate just before each death time (R: findInterval with left.open = TRUE),
        # centred at its mean over the deaths.
        _, at = np.unique(rs.time, return_inverse=True)
        at = at.reshape(-1)
        n_event = np.bincount(at, weights=rs.weight * rs.dead)
        n_risk = _reverse_cumsum(np.bincount(at, weights=rs.weight))
        s_before = np.concatenate([[1.0], np.cumprod(1 - n_event / n_risk)[:-1]])
        g = (1 - s_before)[at[rs.starts[rs.death_times]]]
        g = g - rs.deaths @ g / rs.deaths.sum()
        evaluate = rs.efron
    with np.errstate(all="ignore"):  # overflow at a coefficient that may be infinite
        _, _, info, [(u2, imat_g), (_, imat_gg)] = evaluate(beta, weights=(g, g * g))
    sub = np.ix_(kept, kept)
    imat = np.block([[info[sub], imat_g[sub]], [imat_g[sub], imat_gg[sub]]])
    u2 = u2[kept]
    singular = (
        "not testable: singular information matrix (the time transform does not vary over "
        "the event times, e.g. all events at one time)"
    )

    def test(keep, u, df):
        sub = imat[np.ix_(keep, keep)]
        if not (np.all(np.isfinite(sub)) and np.all(np.isfinite(u))):
            return (np.nan, np.nan, np.nan, "not testable: information not finite")
        if not _pivots(sub).all():
            return (np.nan, np.nan, np.nan, singular)
        chisq = _quadratic(sub, u)
        return (chisq, df, special.chdtrc(df, chisq), "")

    rows = [
        (term, *test([*range(p), p + j], np.concatenate([np.zeros(p), [u2[j]]]), 1))
        for j, term in enumerate(terms)
    ]
    rows.append(("GLOBAL", *test(list(range(2 * p)), np.concatenate([np.zeros(p), u2]), p)))
    return pd.DataFrame(rows, columns=["term", "chisq", "df", "p", "note"])
