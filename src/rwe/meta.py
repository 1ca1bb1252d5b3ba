"""Inverse-variance meta-analysis of per-site estimates, as R ``metafor`` computes and reports it.

- :func:`inverse_variance` — ``rma(yi, vi, method = "FE" | "DL" | "REML", test = "z" | "knha")``:
  the pooled estimate with its CI and p (Wald, or Hartung–Knapp–Sidik–Jonkman with a t
  distribution on k − 1 df), the prediction interval of ``predict(rma)``, Cochran's Q, I², H²
  and τ² (the between-site variance; 0 for the fixed-effect model).
- :func:`heterogeneity_ci` — ``confint(rma)``: Q-profile CIs of τ², τ, I² and H², with
  metafor's rules for a bound that does not exist (an empty CI, a bound beyond the search limit).
- :func:`resolve_test` — the test of a prespecified analysis: ``auto`` is Hartung–Knapp for a
  random-effects model of fewer than ``auto_knha_below`` sites, the Wald z test otherwise.

The REML estimate is found by metafor's own Fisher-scoring iteration (start at the Hedges
estimate, ``threshold = 1e-5``, ``maxiter = 100``, step halving at the τ² = 0 bound and its
check that τ² = 0 is not a higher likelihood), so the estimate agrees with R's to the digits R
reports, not merely to the optimum. ``tests/r/meta_reference.R`` recomputes each case with
metafor and ``tests/test_meta.py`` compares them at 1e-4.
"""

from __future__ import annotations

import numpy as np
from scipy import special  # the kernels of scipy.stats' norm, t and chi2, without its import cost

METHODS = ("FE", "DL", "REML")
#: metafor ``test`` values rwe computes: Wald z, Hartung–Knapp(–Sidik–Jonkman).
TESTS = ("z", "knha")
#: Config ``meta.test`` values: a test, or ``auto`` (:func:`resolve_test`).
TEST_CHOICES = ("auto", *TESTS)
# metafor rma.uni control defaults
REML_THRESHOLD = 1e-5
REML_MAXITER = 100
LL0_TOL = np.finfo(float).eps ** 0.25
#: metafor confint.rma.uni: the Q-profile search runs over [0, max(100, 10 tau2)].
TAU2_MAX = 100.0
HETEROGENEITY_CI_KEYS = [
    f"{q}_ci_{side}" for q in ("tau2", "tau", "i2", "h2") for side in ("lower", "upper")
]


def _reml_loglik(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """Restricted log-likelihood of the intercept-only model (metafor's ``ll.REML``)."""
    w = 1 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    rss = np.sum(w * (yi - mu) ** 2)
    k = len(yi)
    return (
        -0.5 * (k - 1) * np.log(2 * np.pi)
        - 0.5 * np.sum(np.log(vi + tau2))
        - 0.5 * np.log(np.sum(w))
        - 0.5 * rss
    )


def _tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    w = 1 / vi
    mu = np.sum(w * yi) / np.sum(w)
    q = np.sum(w * (yi - mu) ** 2)
    trace_p = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (q - (len(yi) - 1)) / trace_p)


def _tau2_reml(yi: np.ndarray, vi: np.ndarray) -> tuple[float, bool]:
    """REML τ² by metafor's Fisher scoring; returns ``(tau2, converged)``."""
    k = len(yi)
    # Start: the Hedges (HE) estimate, truncated at 0.
    rss = np.sum((yi - yi.mean()) ** 2)
    tau2 = max(0.0, (rss - np.sum(vi) * (k - 1) / k) / (k - 1))
    change, iterations = REML_THRESHOLD + 1, 0
    while change > REML_THRESHOLD:
        iterations += 1
        old = tau2
        w = 1 / (vi + tau2)
        # P = W - w w' / sum(w); adj = (y'PPy - tr P) / tr(PP)
        py = w * yi - w * np.sum(w * yi) / np.sum(w)
        trace_p = np.sum(w) - np.sum(w**2) / np.sum(w)
        trace_pp = np.sum(w**2) - 2 * np.sum(w**3) / np.sum(w) + (np.sum(w**2) / np.sum(w)) ** 2
        adj = (py @ py - trace_p) / trace_pp
        if np.isnan(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > REML_MAXITER:
            return np.nan, False
    # metafor's ll0check: Fisher scoring may stop at a local maximum above tau2 = 0.
    if _reml_loglik(yi, vi, 0.0) - _reml_loglik(yi, vi, tau2) > LL0_TOL and tau2 > REML_THRESHOLD:
        tau2 = 0.0
    return max(0.0, tau2), True


def _typical_variance(vi: np.ndarray) -> float:
    """The 'typical' within-site variance ``vt`` of metafor: variance of the I² and H² of τ²."""
    w = 1 / vi
    return (len(vi) - 1) / (np.sum(w) - np.sum(w**2) / np.sum(w))


def resolve_test(test: str, method: str, k: int, auto_knha_below: int) -> str:
    """The metafor ``test`` of an analysis: ``test`` itself, or what ``auto`` stands for.

    ``auto`` is ``knha`` (Hartung–Knapp–Sidik–Jonkman) for a random-effects model (``DL``,
    ``REML``) of fewer than ``auto_knha_below`` sites and ``z`` otherwise; a fixed-effect model
    is always ``z`` under ``auto`` (metafor warns that Knapp–Hartung is not meant for it).

    Parameters
    ----------
    test : {"auto", "z", "knha"}
        Config ``meta.test``.
    method : {"FE", "DL", "REML"}
        The model.
    k : int
        Sites pooled.
    auto_knha_below : int
        Config ``meta.auto_knha_below``.
    """
    if test not in TEST_CHOICES:
        raise ValueError(f"test must be one of {TEST_CHOICES}, not {test!r}")
    if test != "auto":
        return test
    return "knha" if method != "FE" and k < auto_knha_below else "z"


def _not_estimable(k: int, test: str, note: str) -> dict:
    out = {"k": k, "test": test, "df": np.nan, "note": note}
    for key in ("estimate", "se", "ci_lower", "ci_upper", "z", "p", "pi_lower", "pi_upper"):
        out[key] = np.nan
    for key in ("tau2", "tau", "q", "q_df", "q_p", "i2", "h2"):
        out[key] = np.nan
    return out


def inverse_variance(
    yi, vi, method: str = "REML", conf_level: float = 0.95, test: str = "z"
) -> dict:
    """Pooled estimate of per-site estimates ``yi`` with sampling variances ``vi``.

    Matches R ``metafor::rma(yi, vi, method = method, test = test)`` (metafor's default I²
    definition) and its ``predict()``.

    Parameters
    ----------
    yi : array-like of float
        Per-site estimates on an additive scale (e.g. log hazard ratios).
    vi : array-like of float
        Their sampling variances (squared standard errors); all must be positive.
    method : {"FE", "DL", "REML"}
        Fixed effect (inverse variance), or random effects with τ² by DerSimonian–Laird or by
        restricted maximum likelihood.
    conf_level : float
        Level of the confidence and prediction intervals.
    test : {"z", "knha"}
        ``z``: Wald CI and p from the normal distribution. ``knha``: Hartung–Knapp–Sidik–Jonkman,
        the variance of the estimate multiplied by ``sum(w (y - mu)^2) / (k - 1)`` (not truncated
        at 1: metafor's ``knha``, not ``adhoc``), CI and p from a t distribution on k − 1 df.

    Returns
    -------
    dict
        ``k, test, df, estimate, se, ci_lower, ci_upper, z, p, pi_lower, pi_upper, tau2, tau, q,
        q_df, q_p, i2, h2, note``; ``i2`` in percent; ``z`` is the t statistic under ``knha``
        and ``df`` its degrees of freedom (NaN under ``z``). The prediction interval is
        ``predict(rma)``'s ``pi.lb``, ``pi.ub``: estimate ± crit · sqrt(se² + τ²) with the
        quantile of the CI (t on k − 1 df under ``knha``); NaN for the fixed-effect model,
        which has none in metafor. With one site, Q = 0, I² = 0,
        H² = 1 and τ² = 0, as metafor gives, and ``test`` is ``z`` (metafor sets it since k = 1).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    if k == 0 or not np.all(np.isfinite(yi)) or not np.all(np.isfinite(vi)) or np.any(vi <= 0):
        return _not_estimable(
            k, test, "not estimable: no site with a finite estimate and positive variance"
        )
    note = ""
    if k == 1:
        test = "z"  # metafor: 'Setting argument test="z" since k=1.'
    tau2 = 0.0
    if k > 1 and method == "DL":
        tau2 = _tau2_dl(yi, vi)
    elif k > 1 and method == "REML":
        tau2, converged = _tau2_reml(yi, vi)
        if not converged:
            return _not_estimable(
                k, test, "not estimable: REML Fisher scoring did not converge (as R metafor stops)"
            )
    w = 1 / (vi + tau2)
    estimate = np.sum(w * yi) / np.sum(w)
    variance = 1 / np.sum(w)
    alpha = 1 - conf_level
    df = np.nan
    if test == "knha":
        df = k - 1
        rss = np.sum(w * (yi - estimate) ** 2)
        s2w = 0.0 if rss <= np.finfo(float).eps else (rss / df if df > 0 else np.nan)
        variance *= s2w
        crit = special.stdtrit(df, 1 - alpha / 2) if df > 0 else np.nan
    else:
        crit = special.ndtri(1 - alpha / 2)
    se = np.sqrt(variance)
    if se > 0 or np.isnan(se):
        z = estimate / se
    else:  # every site equal under knha: s2w = 0, as metafor
        z = np.sign(estimate) * np.inf
    if test == "knha":
        p = 2 * special.stdtr(df, -abs(z)) if df > 0 else np.nan
    else:
        p = 2 * special.ndtr(-abs(z))
    w_fe = 1 / vi
    if k > 1:
        q = max(0.0, float(np.sum(w_fe * (yi - np.sum(w_fe * yi) / np.sum(w_fe)) ** 2)))
        q_p = float(special.chdtrc(k - 1, q))
        vt = _typical_variance(vi)
        if method == "FE":
            i2, h2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0, q / (k - 1)
        else:
            i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
        note = "one site: nothing to pool"
    # predict(rma) of a fixed-effect model has no prediction interval.
    half_pi = crit * np.sqrt(variance + tau2) if method != "FE" else np.nan
    return {
        "k": k,
        "test": test,
        "df": float(df),
        "estimate": float(estimate),
        "se": float(se),
        "ci_lower": float(estimate - crit * se),
        "ci_upper": float(estimate + crit * se),
        "z": float(z),
        "p": float(p),
        "pi_lower": float(estimate - half_pi),
        "pi_upper": float(estimate + half_pi),
        "tau2": float(tau2),
        "tau": float(np.sqrt(tau2)),
        "q": q,
        "q_df": k - 1,
        "q_p": q_p,
        "i2": float(i2),
        "h2": float(h2),
        "note": note,
    }


def _generalised_q(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """Metafor's ``.QE.func``, ``sum((y - mu(tau2))^2 / (v + tau2))``: decreasing in τ²."""
    w = 1 / (vi + tau2)
    return float(np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2))


def _q_root(yi: np.ndarray, vi: np.ndarray, target: float, upper: float) -> float:
    """The τ² in [0, ``upper``] where the generalised Q equals ``target``.

    Bisection to the last bit (metafor's ``uniroot`` stops at ``tol = .Machine$double.eps^0.25``).
    """
    lo, hi = 0.0, upper
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _generalised_q(yi, vi, mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def heterogeneity_ci(yi, vi, tau2: float, conf_level: float = 0.95) -> dict:
    """Q-profile CIs of τ², τ, I² and H², as R ``confint(rma(yi, vi, method = ...))``.

    The bounds are where the generalised Q statistic ``sum((y - mu(tau2))^2 / (v + tau2))``
    crosses the ``1 - alpha/2`` and ``alpha/2`` quantiles of chi-square on k − 1 df (Viechtbauer
    2007), searched over ``[0, max(100, 10 tau2)]`` as metafor does; I² and H² bounds follow
    from τ²'s with metafor's typical variance. A bound metafor cannot give is NaN with the
    reason in ``ci_note``, in metafor's words: both bounds below 0 (Q at τ² = 0 is below the
    lower quantile: the CI is the empty set), or a bound above the search limit (with two or
    three sites, Q may stay above a quantile up to τ² = 100). A lower bound truncated at 0 is
    0, as metafor reports it.

    Parameters
    ----------
    yi, vi : array-like of float
        Per-site estimates and sampling variances (at least two sites, all ``vi`` > 0).
    tau2 : float
        The model's τ² estimate (sets the search limit, ``max(100, 10 tau2)``).
    conf_level : float
        Level of the intervals.

    Returns
    -------
    dict
        ``tau2_ci_lower, tau2_ci_upper, tau_ci_lower, tau_ci_upper, i2_ci_lower, i2_ci_upper``
        (%), ``h2_ci_lower, h2_ci_upper`` and ``ci_note`` ('' when both bounds exist).
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    out = dict.fromkeys(HETEROGENEITY_CI_KEYS, np.nan)
    if k < 2 or not np.isfinite(tau2):
        return {**out, "ci_note": "no heterogeneity CI: fewer than two sites pooled"}
    alpha = 1 - conf_level
    crit_u = special.chdtri(k - 1, alpha / 2)  # upper alpha/2 quantile
    crit_l = special.chdtri(k - 1, 1 - alpha / 2)  # lower alpha/2 quantile
    tau2_max = max(TAU2_MAX, 10 * tau2)
    q_min, q_max = _generalised_q(yi, vi, 0.0), _generalised_q(yi, vi, tau2_max)
    limit = f"{tau2_max:g}"
    lower = upper = np.nan
    notes = []
    if q_min < crit_l:
        notes.append(
            "the Q-profile CI of tau² is the empty set: both bounds fall below 0 (as metafor)"
        )
    elif q_max > crit_u:
        notes.append(f"both Q-profile bounds of tau² are above the search limit {limit}")
    else:
        if q_max > crit_l:
            notes.append(
                f"upper Q-profile bound of tau² undefined: above the search limit {limit} "
                "(metafor prints >" + limit + ")"
            )
        else:
            upper = _q_root(yi, vi, crit_l, tau2_max)
        lower = 0.0 if q_min < crit_u else _q_root(yi, vi, crit_u, tau2_max)
    vt = _typical_variance(vi)
    for side, value in (("lower", lower), ("upper", upper)):
        out[f"tau2_ci_{side}"] = float(value)
        out[f"tau_ci_{side}"] = float(np.sqrt(value))
        out[f"i2_ci_{side}"] = float(100 * value / (vt + value))
        out[f"h2_ci_{side}"] = float(value / vt + 1)
    return {**out, "ci_note": "; ".join(notes)}
