"""Firth-penalised Cox regression (Heinze & Schemper 2001), with profile-likelihood intervals.

With few events per covariate, or a level of a covariate without events (monotone likelihood),
the maximum partial-likelihood estimate of a Cox model is biased away from 0 or infinite.
Firth's penalty, ``l*(β) = l(β) + ½ log det I(β)`` (``l`` the partial log-likelihood, ``I``
its information matrix), removes the first-order bias and keeps every estimate finite
(Heinze G, Schemper M. A solution to the problem of monotone likelihood in Cox regression.
Biometrics 2001;57:114-9). R's ``coxphf`` (not in Debian, so not run here) treats tied times
as Breslow does, as far as its documentation goes; here ties follow the ordinary fit beside
it (Efron, R's default, or Breslow under the ``sas`` conventions), so that the two columns
differ only by the penalty, and the parity test covers both.

The partial likelihood and its derivatives come from :class:`rwe.survival._RiskSets` (the
sorted, collapsed risk sets of the ordinary fit). Each (Efron or Breslow) term of the partial
likelihood is ``−log Σ cᵢ exp(xᵢ'β)`` over the risk set, with fixed weights ``cᵢ`` (1, or
1 − j/d for the deaths of the time): its first three derivatives are minus the mean, the
covariance and the third central moment of x under the weights ``cᵢ exp(xᵢ'β)``. So
``∂I/∂β_c = Σ_terms E[(x − m)(x − m)'(x_c − m_c)]`` and the penalised score is
``U*_c = U_c + ½ tr(I⁻¹ ∂I/∂β_c)`` (Heinze & Schemper, eq. 2).

Confidence intervals are profile penalised likelihood intervals: the values b of β_r with
``2 [l*(β̂) − max_{β: β_r = b} l*(β)] ≤ χ²₁(conf_level)``, found by root finding; the p value
is the penalised likelihood-ratio test of β_r = 0 (what ``coxphf(pl = TRUE)`` reports).
``tests/r/firth_reference.R`` proves both with R's ``coxph`` (the log-likelihood and
information at a given β) and ``optim``/``uniroot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from rwe.survival import _reverse_cumsum, _RiskSets

#: Newton iterations of one penalised fit, and the step-halvings of one iteration.
MAX_ITER = 200
MAX_HALVINGS = 20
#: Largest change of a coefficient in one Newton step (R ``coxphf(maxstep = 0.5)``).
MAX_STEP = 0.5
#: Convergence: largest penalised score.
TOLERANCE = 1e-9
#: Steps of a profile maximisation taken with the Hessian at the unrestricted maximum.
CHORD_ITER = 25
#: How far from the estimate (on the log-hazard scale) a profile limit is searched for.
PROFILE_REACH = 50.0
FIRTH_COLUMNS = ["term", "coef", "se", "hr", "ci_lower", "ci_upper", "p", "note"]


def _moments(rs: _RiskSets, beta: np.ndarray):
    """Penalised log-likelihood, penalised score and information at ``beta``.

    Returns
    -------
    loglik_penalised, score_penalised, info, loglik
        ``info`` is the (unpenalised) information I(β); ``loglik`` the partial log-likelihood.
        ``loglik_penalised`` is −inf where I(β) is singular.
    """
    X, w, dead = rs.X, rs.weight, rs.dead
    n, p = X.shape
    eta = X @ beta
    with np.errstate(over="ignore"):
        risk = w * np.exp(eta - eta.max(initial=0))  # scaled: the means do not change
    xx = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
    xxx = (X[:, :, None, None] * X[:, None, :, None] * X[:, None, None, :]).reshape(n, p**3)
    cols = np.column_stack([np.ones(n), X, xx, xxx]) * risk[:, None]
    at_risk = _reverse_cumsum(np.add.reduceat(cols, rs.starts), rs.bounds)[rs.death_times]
    n_d = rs.death_times.size
    deaths = np.zeros((n_d, cols.shape[1]))
    np.add.at(deaths, rs.death_index, cols[dead])
    t, f = rs.term_time, rs.fraction
    a = at_risk[t] - f[:, None] * deaths[t]
    a0 = a[:, 0]
    m = a[:, 1 : 1 + p] / a0[:, None]
    e2 = (a[:, 1 + p : 1 + p + p * p] / a0[:, None]).reshape(-1, p, p)
    e3 = (a[:, 1 + p + p * p :] / a0[:, None]).reshape(-1, p, p, p)
    mm = m[:, :, None] * m[:, None, :]
    cov = e2 - mm
    third = (
        e3
        - m[:, :, None, None] * e2[:, None, :, :]
        - m[:, None, :, None] * e2[:, :, None, :]
        - m[:, None, None, :] * e2[:, :, :, None]
        + 2 * mm[:, :, :, None] * m[:, None, None, :]
    )
    shift = eta.max(initial=0)
    loglik = float(w[dead] @ eta[dead] - (np.log(a0) + shift).sum())
    score = w[dead] @ X[dead] - m.sum(axis=0)
    info = cov.sum(axis=0)
    d_info = third.sum(axis=0)  # [a, b, c] = ∂I_ab / ∂β_c
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        return -np.inf, score, info, loglik
    inverse = np.linalg.inv(info)
    correction = 0.5 * np.einsum("ab,bac->c", inverse, d_info)
    return loglik + 0.5 * logdet, score + correction, info, loglik


def _curvature(rs: _RiskSets, beta: np.ndarray, free: np.ndarray, info: np.ndarray):
    """Minus the Hessian of the penalised log-likelihood over the ``free`` coefficients.

    Central differences of the analytic penalised score (step 1e-5: error about 1e-10). Where
    it is not positive definite (far from the maximum), I(β) instead, as Heinze & Schemper.
    """
    index = np.flatnonzero(free)
    h = 1e-5
    columns = []
    for j in index:
        step = np.zeros_like(beta)
        step[j] = h
        up, down = _moments(rs, beta + step)[1], _moments(rs, beta - step)[1]
        columns.append((down - up)[free] / (2 * h))
    hessian = np.column_stack(columns)
    hessian = (hessian + hessian.T) / 2
    if np.all(np.isfinite(hessian)) and np.all(np.linalg.eigvalsh(hessian) > 0):
        return hessian
    return info[np.ix_(free, free)]


def _maximise(
    rs: _RiskSets, beta: np.ndarray, free: np.ndarray, curvature: np.ndarray | None = None
) -> tuple[np.ndarray, float, bool]:
    """Maximise the penalised log-likelihood over the ``free`` coefficients (others fixed).

    Newton–Raphson on the penalised score with steps capped at :data:`MAX_STEP` per
    coefficient and halved while the penalised likelihood falls; converged when the penalised
    score is below :data:`TOLERANCE`. With ``curvature`` (minus the full Hessian at a nearby
    point, e.g. the unrestricted maximum), the first :data:`CHORD_ITER` steps use it as it is
    (the chord method: one evaluation per step), then the Hessian is recomputed at each step.
    """
    beta = beta.copy()
    value, score, info, _ = _moments(rs, beta)
    if not free.any():
        return beta, value, True
    if not np.isfinite(value):  # I(β) singular: the penalty does not exist
        return beta, value, False
    chord = None if curvature is None else curvature[np.ix_(free, free)]
    for iteration in range(MAX_ITER):
        if np.abs(score[free]).max() < TOLERANCE:
            return beta, value, True
        use_chord = chord is not None and iteration < CHORD_ITER
        try:
            matrix = chord if use_chord else _curvature(rs, beta, free, info)
            step = np.linalg.solve(matrix, score[free])
        except np.linalg.LinAlgError:
            return beta, value, False
        largest = np.abs(step).max()
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(MAX_HALVINGS):
            trial = beta.copy()
            trial[free] += step
            new_value, new_score, new_info, _ = _moments(rs, trial)
            if np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value):
                break
            step /= 2
        else:  # no step raises the penalised likelihood: stop where it is
            return beta, value, bool(np.abs(score[free]).max() < 1e-6)
        beta, value, score, info = trial, new_value, new_score, new_info
    return beta, value, bool(np.abs(score[free]).max() < 1e-6)


@dataclass(eq=False)
class FirthCoxResult:
    """A Firth-penalised Cox fit (R ``coxphf``): estimates, profile intervals, tests."""

    terms: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik_penalised: float
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    p: np.ndarray
    conf_level: float
    converged: bool
    n: int
    events: int
    ties: str
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Per term: coef, SE (from I(β̂)⁻¹), HR, profile-likelihood CI and penalised LR p.

        ``note`` says where a profile limit was not found within :data:`PROFILE_REACH` of the
        estimate (the limit is NaN: unbounded).
        """
        if not self.converged:
            nan = np.full(len(self.terms), np.nan)
            note = "Firth estimate not found: the penalised likelihood has no maximum"
            values = dict.fromkeys(FIRTH_COLUMNS[1:-1], nan)
            return pd.DataFrame({"term": self.terms, **values, "note": note}, columns=FIRTH_COLUMNS)
        with np.errstate(over="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "term": self.terms,
                    "coef": self.coef,
                    "se": np.sqrt(np.clip(np.diag(self.var), 0, None)),
                    "hr": np.exp(self.coef),
                    "ci_lower": np.exp(self.ci_lower),
                    "ci_upper": np.exp(self.ci_upper),
                    "p": self.p,
                    "note": self.notes,
                },
                columns=FIRTH_COLUMNS,
            )


def _profile(rs, r, b, start, curvature) -> tuple[float, np.ndarray]:
    """Max of the penalised log-likelihood with coefficient ``r`` fixed at ``b``.

    From ``start`` (the nearest profile point found so far), with ``curvature`` as the chord.
    """
    beta = start.copy()
    beta[r] = b
    free = np.ones(beta.size, dtype=bool)
    free[r] = False
    beta, value, _ = _maximise(rs, beta, free, curvature)
    return value, beta


def firth_cox(
    time,
    event,
    X,
    terms: list[str],
    strata=None,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> FirthCoxResult:
    """Cox model with Firth's penalised partial likelihood, as R ``coxphf(pl = TRUE)``.

    Parameters
    ----------
    time, event : array-like
        Follow-up times and 1 = event / 0 = censored.
    X : array-like, shape (n, p)
        Covariates.
    terms : list of str
        Names of the columns of ``X``.
    strata : array-like, optional
        Stratum of each row (risk sets within strata, R ``+ strata(s)``).
    ties : {"efron", "breslow"}
        Handling of tied event times (as the ordinary fit; see the module docstring).
    conf_level : float
        Level of the profile penalised likelihood intervals.

    Returns
    -------
    FirthCoxResult
        Coefficients maximising ``l(β) + ½ log det I(β)``; SE from ``I(β̂)⁻¹``; per term the
        profile penalised likelihood CI and the penalised likelihood-ratio p of β_r = 0
        (χ², 1 df), as Heinze & Schemper (2001) and ``coxphf``.
    """
    X = np.asarray(X, dtype=float).reshape(len(np.asarray(time)), -1)
    rs = _RiskSets(time, event, X, strata, ties)
    p = X.shape[1]
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        beta, value, converged = _maximise(rs, np.zeros(p), np.ones(p, dtype=bool))
        _, _, info, _ = _moments(rs, beta)
        var = np.linalg.pinv(info) if np.all(np.isfinite(info)) else np.full((p, p), np.nan)
        cut = stats.chi2.ppf(conf_level, 1) / 2
        lower, upper, pvalues, notes = np.full(p, np.nan), np.full(p, np.nan), np.ones(p), []
        hessian = _curvature(rs, beta, np.ones(p, dtype=bool), info) if converged else None
        for r in range(p if converged else 0):
            last = {"start": beta}  # warm start: the last profile point of this coefficient

            def drop(b, r=r, last=last):
                """Signed root of the profile deviance minus its cut: nearly linear in b."""
                profiled, at = _profile(rs, r, b, last["start"], hessian)
                if not np.isfinite(profiled):
                    return 1e10
                last["start"] = at
                return np.sqrt(2 * max(value - profiled, 0.0)) - np.sqrt(2 * cut)

            limits = []
            for side in (-1, 1):
                last["start"] = beta
                reach, found = max(np.sqrt(2 * cut * var[r, r]), 0.1), np.nan  # Wald
                while reach <= PROFILE_REACH:
                    b = beta[r] + side * reach
                    if drop(b) > 0:
                        lo, hi = sorted((beta[r], b))
                        found = optimize.brentq(drop, lo, hi, xtol=1e-9, rtol=1e-11)
                        break
                    reach *= 2
                limits.append(found)
            lower[r], upper[r] = limits
            stat = 2 * (value - _profile(rs, r, 0.0, beta, hessian)[0])
            pvalues[r] = special.chdtrc(1, max(stat, 0.0)) if np.isfinite(stat) else np.nan
            missing = [s for s, v in zip(("lower", "upper"), limits, strict=True) if np.isnan(v)]
            notes.append(
                f"profile {' and '.join(missing)} limit not found within a hazard ratio of "
                f"exp(±{PROFILE_REACH:g}): unbounded"
                if missing
                else ""
            )
    return FirthCoxResult(
        terms=list(terms),
        coef=beta,
        var=var,
        loglik_penalised=value,
        ci_lower=lower,
        ci_upper=upper,
        p=pvalues,
        conf_level=conf_level,
        converged=converged,
        n=rs.n,
        events=rs.events,
        ties=ties,
        notes=notes,
    )
