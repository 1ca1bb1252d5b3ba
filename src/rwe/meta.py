"""Inverse-variance meta-analysis of per-site estimates, as R ``metafor::rma`` computes it.

- :func:`inverse_variance` — ``rma(yi, vi, method = "FE" | "DL" | "REML", test = "z")``: the
  pooled estimate with its Wald CI and p, Cochran's Q, I², H² and τ² (the between-site
  variance; 0 for the fixed-effect model).

The REML estimate is found by metafor's own Fisher-scoring iteration (start at the Hedges
estimate, ``threshold = 1e-5``, ``maxiter = 100``, step halving at the τ² = 0 bound and its
check that τ² = 0 is not a higher likelihood), so the estimate agrees with R's to the digits R
reports, not merely to the optimum. ``tests/r/meta_reference.R`` recomputes each case with
metafor and ``tests/test_meta.py`` compares them at 1e-4.
"""

from __future__ import annotations

import numpy as np
from scipy import special  # the kernels of scipy.stats' norm and chi2, without its import cost

METHODS = ("FE", "DL", "REML")
# metafor rma.uni control defaults
REML_THRESHOLD = 1e-5
REML_MAXITER = 100
LL0_TOL = np.finfo(float).eps ** 0.25


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


def inverse_variance(yi, vi, method: str = "REML", conf_level: float = 0.95) -> dict:
    """Pooled estimate of per-site estimates ``yi`` with sampling variances ``vi``.

    Matches R ``metafor::rma(yi, vi, method = method)`` (``test = "z"``, metafor's default
    I² definition).

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
        Level of the Wald confidence interval of the pooled estimate.

    Returns
    -------
    dict
        ``k, estimate, se, ci_lower, ci_upper, z, p, tau2, q, q_df, q_p, i2, h2, note``;
        ``i2`` in percent. With one site, Q = 0, I² = 0, H² = 1 and τ² = 0, as metafor gives.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    if k == 0 or not np.all(np.isfinite(yi)) or not np.all(np.isfinite(vi)) or np.any(vi <= 0):
        return {
            "k": k,
            "estimate": np.nan,
            "se": np.nan,
            "ci_lower": np.nan,
            "ci_upper": np.nan,
            "z": np.nan,
            "p": np.nan,
            "tau2": np.nan,
            "q": np.nan,
            "q_df": np.nan,
            "q_p": np.nan,
            "i2": np.nan,
            "h2": np.nan,
            "note": "not estimable: no site with a finite estimate and positive variance",
        }
    note = ""
    tau2 = 0.0
    if k > 1 and method == "DL":
        tau2 = _tau2_dl(yi, vi)
    elif k > 1 and method == "REML":
        tau2, converged = _tau2_reml(yi, vi)
        if not converged:
            note = "not estimable: REML Fisher scoring did not converge (as R metafor stops)"
    w = 1 / (vi + tau2)
    estimate = np.sum(w * yi) / np.sum(w)
    se = np.sqrt(1 / np.sum(w))
    z = estimate / se
    crit = special.ndtri(1 - (1 - conf_level) / 2)
    w_fe = 1 / vi
    if k > 1:
        q = max(0.0, float(np.sum(w_fe * (yi - np.sum(w_fe * yi) / np.sum(w_fe)) ** 2)))
        q_p = float(special.chdtrc(k - 1, q))
        vt = (k - 1) / (np.sum(w_fe) - np.sum(w_fe**2) / np.sum(w_fe))
        if method == "FE":
            i2, h2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0, q / (k - 1)
        else:
            i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
        note = "one site: nothing to pool"
    if np.isnan(tau2):
        estimate = se = z = np.nan
    return {
        "k": k,
        "estimate": float(estimate),
        "se": float(se),
        "ci_lower": float(estimate - crit * se),
        "ci_upper": float(estimate + crit * se),
        "z": float(z),
        "p": float(2 * special.ndtr(-(abs(z)))),
        "tau2": float(tau2),
        "q": q,
        "q_df": k - 1,
        "q_p": q_p,
        "i2": float(i2),
        "h2": float(h2),
        "note": note,
    }
