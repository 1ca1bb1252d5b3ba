"""The Newton–Raphson iteration of R's ``coxph``, step for step.

R fits a Cox model by one of two C routines with slightly different iterations:
``coxph.fit`` (``coxfit6``) for right-censored data and ``agreg.fit`` (``agfit4``) for
counting-process data ``Surv(start, stop, event)``. Both start at β = 0, take Newton steps
solved by the pivot-dropping Cholesky of :mod:`rwe.cholesky` on covariates rescaled by R's
rule, halve a step that lowers the log-likelihood (or overflows), and stop when the relative
change of the log-likelihood is at most ``eps``. They differ in how a halved step counts, in
what they return when the iterations run out, and in their test for a coefficient that "may
be infinite" (monotone likelihood). :func:`newton_raphson` follows either, so that rwe's
coefficients, iteration counts and flags are R's, including for a coefficient that runs to
infinity (where the answer *is* the iteration path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rwe.cholesky import TOLER_CHOL, decompose, inverse, solve

#: R ``coxph.control(eps = 1e-9)``.
EPS = 1e-9
#: The two iterations: R ``coxph.fit`` (right-censored) and ``agreg.fit`` (counting process).
RULES = ("coxph.fit", "agreg.fit")

Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NewtonPath:
    """Where the iteration stopped: R's ``coef``, ``loglik``, ``var``, ``iter`` and flags.

    ``beta``, ``score`` (R ``u``, the score at ``beta``) and ``var`` are on the covariates'
    own scale. ``singular`` marks the coefficients R reports as ``NA`` (its ``which.sing``);
    ``infinite`` those of R's warning "Loglik converged before variable ...; coefficient may be
    infinite" (all False when the fit did not converge, where R warns that instead).
    """

    beta: np.ndarray
    loglik0: float
    loglik: float
    score_test: float
    score: np.ndarray
    var: np.ndarray
    iterations: int
    converged: bool
    singular: np.ndarray
    infinite: np.ndarray


def covariate_scale(X: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """R's rescaling of each covariate before the iteration (``coxfit6``, ``agfit4``).

    A covariate whose values are all -1, 0 or 1 is left alone (R ``coxph(nocenter =
    c(-1, 0, 1))``); any other is multiplied by sum(w) / sum(w |x - x̄|), x̄ its weighted mean
    (1 for a constant). The Newton path is the same on either scale in exact arithmetic; the
    scale sets what the Cholesky's relative tolerance deems singular, as in R.
    """
    X = np.asarray(X, dtype=float)
    scale = np.ones(X.shape[1])
    total = np.cumsum(weight)[-1] if weight.size else 0.0
    for j in range(X.shape[1]):
        x = X[:, j]
        if np.all(np.isin(x, (-1.0, 0.0, 1.0))) or total <= 0:
            continue
        mean = np.cumsum(weight * x)[-1] / total
        spread = np.cumsum(weight * np.abs(x - mean))[-1]
        scale[j] = total / spread if spread > 0 else 1.0
    return scale


def newton_raphson(
    evaluate: Evaluate,
    scale: np.ndarray,
    max_iter: int = 20,
    eps: float = EPS,
    rule: str = "coxph.fit",
    toler_chol: float = TOLER_CHOL,
    toler_inf: float | None = None,
) -> NewtonPath:
    """Maximise a Cox partial likelihood as R ``coxph`` does (``coxfit6`` or ``agfit4``).

    Parameters
    ----------
    evaluate : callable
        β ↦ (log-likelihood, score, information), β on the covariates' own scale.
    scale : numpy.ndarray
        :func:`covariate_scale`: R iterates on β / scale.
    max_iter : int
        R ``coxph.control(iter.max)``: the Newton steps allowed after the evaluation at 0.
        ``iter.max = 1`` returns the first Newton step (U(0) / I(0) for one covariate);
        ``0`` returns β = 0 with the variance there.
    eps : float
        R ``eps``: convergence when ``|1 - loglik_best / loglik_new| <= eps``.
    rule : {"coxph.fit", "agreg.fit"}
        Which of R's iterations: ``coxph.fit`` for right-censored data, ``agreg.fit`` for
        ``Surv(start, stop, event)`` (R chooses by the type of the ``Surv`` object).
    toler_chol, toler_inf : float
        R ``toler.chol`` and ``toler.inf`` (default sqrt(eps)).

    Returns
    -------
    NewtonPath
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    toler_inf = np.sqrt(eps) if toler_inf is None else toler_inf
    scale = np.asarray(scale, dtype=float)
    outer = np.outer(scale, scale)

    def at(gamma):  # log-likelihood, score and information on R's scaled covariates
        ll, u, imat = evaluate(gamma * scale)
        u, imat = np.asarray(u, dtype=float) * scale, np.asarray(imat, dtype=float) * outer
        return np.float64(ll), u, imat  # numpy floats: 0 / 0 is NaN, as in R's C

    iterate = _coxfit6 if rule == "coxph.fit" else _agfit4
    gamma, ll0, ll, u, dec, sctest, iterations, converged, rank = iterate(
        at, scale.size, max_iter, eps, toler_chol
    )
    var = inverse(dec) * outer
    beta = gamma * scale
    score = u / scale
    singular = (rank < scale.size) & (np.diag(var) == 0)
    infinite = np.zeros(scale.size, dtype=bool)
    if converged and max_iter > 1:
        with np.errstate(invalid="ignore", over="ignore"):
            step = np.abs(_row_times(score, var))
        if rule == "coxph.fit":
            infinite = ~np.isfinite(score) | ((step > eps) & (step > toler_inf * np.abs(beta)))
        else:
            infinite = ~np.isfinite(score) | (step > toler_inf * (1 + np.abs(beta)))
    return NewtonPath(
        beta=beta,
        loglik0=ll0,
        loglik=ll,
        score_test=sctest,
        score=score,
        var=var,
        iterations=iterations,
        converged=converged,
        singular=singular,
        infinite=infinite & ~singular,
    )


def _row_times(u: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``u %*% var`` summed in a fixed order."""
    out = np.zeros(var.shape[1])
    for i in range(u.size):
        out = out + u[i] * var[i]
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` in index order (R's loop; no BLAS)."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        total += x * y
    return float(total)


def _finite(ll, u, imat) -> bool:
    return bool(np.isfinite(ll) and np.all(np.isfinite(u)) and np.all(np.isfinite(imat)))


def _coxfit6(at, p, max_iter, eps, toler):
    """R ``coxfit6``.

    Returns β (scaled), loglik[0], loglik[1], u, the decomposition, the score test, the
    iterations, converged and the rank R's ``flag`` reports.
    """
    beta = np.zeros(p)
    ll0, u, imat = at(beta)
    dec = decompose(imat, toler)
    a = solve(dec, u)
    sctest = _dot(u, a)
    if max_iter == 0 or not np.isfinite(ll0):
        return beta, ll0, ll0, u, dec, sctest, 0, max_iter == 0, dec.rank
    best, new_beta, halving = ll0, beta + a, 0
    for iteration in range(1, max_iter + 1):
        new_ll, u, imat = at(new_beta)
        dec = decompose(imat, toler)
        finite = _finite(new_ll, u, imat)
        if finite and abs(1 - best / new_ll) <= eps:
            rank = -2 if halving else dec.rank
            return new_beta, ll0, new_ll, u, dec, sctest, iteration, True, rank
        if not finite or new_ll < best:  # not converging: halve, more each time
            halving += 1
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
        else:
            halving, best = 0, new_ll
            step = solve(dec, u)
            beta, new_beta = new_beta, new_beta + step
    # Out of iterations: the last accepted β, its log-likelihood and information recomputed
    # (R leaves those of the last attempt when iter.max is 1).
    ll = best
    if max_iter > 1:
        ll, u, imat = at(beta)
        dec = decompose(imat, toler)
    return beta, ll0, ll, u, dec, sctest, max_iter + 1, False, p + 1000


def _agfit4(at, p, max_iter, eps, toler):
    """R ``agfit4``, returning what :func:`_coxfit6` does."""
    beta, old_beta = np.zeros(p), np.zeros(p)
    halving, converged, rank = 0, False, p
    ll0 = best = new_ll = np.nan
    iteration = 0
    for iteration in range(max_iter + 1):
        new_ll, u, imat = at(beta)
        if iteration == 0:
            ll0 = best = new_ll
            dec = decompose(imat, toler)
            rank = dec.rank
            a = solve(dec, u)
            sctest = _dot(u, a)
            if max_iter == 0:
                converged = True
                break
            if not np.isfinite(new_ll):
                break
            old_beta, beta = beta, beta + a
            continue
        fail = int(np.sum(~np.isfinite(np.diag(imat))))
        dec = decompose(imat, toler)
        fail += int(not np.isfinite(new_ll)) + abs(rank - dec.rank)
        if fail == 0 and halving == 0 and abs(1 - best / new_ll) <= eps:
            converged = True
            break
        if iteration == max_iter:  # out of iterations
            if max_iter > 1 and (new_ll - best) / abs(best) < -eps:
                beta = old_beta  # worse than the best: back to it
                new_ll, u, imat = at(beta)
                dec = decompose(imat, toler)
            break
        if fail > 0 or new_ll < best:
            halving += 1
            beta = (old_beta * halving + beta) / (halving + 1.0)
        else:
            halving, best = 0, new_ll
            step = solve(dec, u)
            old_beta, beta = beta, beta + step
    return beta, ll0, new_ll, u, dec, sctest, iteration, converged, rank
