"""Kaplan–Meier, log-rank and Cox analyses of PFS and OS, computed as R's ``survival`` does.

Every estimator here names the R function it reproduces; ``tests/r/survival_reference.R``
recomputes each table with R and ``tests/test_survival_parity.py`` compares them at 1e-4.

- :func:`km_curve` — ``survfit(Surv(time, status) ~ 1)`` with Greenwood variance and the
  ``conf.type`` CI of S(t) (``log``, ``log-log``, ``plain``).
- :func:`km_quantile` — ``quantile.survfit`` (its internal ``findq``), so medians and their CIs,
  including the midpoint rule for a curve that is flat at exactly 0.5.
- :func:`km_at` — ``summary(fit, times = t)``.
- :func:`logrank` — ``survdiff``.
- :func:`cox_fit` — ``coxph(ties = "efron")`` by Newton–Raphson; Wald, likelihood-ratio and
  score (log-rank) global tests; ``concordance``; :func:`cox_zph` — ``cox.zph(transform = "km")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from rwe.derive import KEYS, subgroup_levels

CONF_TYPES = ("log", "log-log", "plain")
FINDQ_TOL = np.sqrt(np.finfo(float).eps)  # R: sqrt(.Machine$double.eps)
ENDPOINTS = ("PFS", "OS")
KM_MEDIAN_COLUMNS = [
    "analysis_set",
    "endpoint",
    "variable",
    "level",
    "n",
    "events",
    "median",
    "ci_lower",
    "ci_upper",
]
KM_LANDMARK_COLUMNS = [
    "analysis_set",
    "endpoint",
    "variable",
    "level",
    "month",
    "n_risk",
    "surv",
    "ci_lower",
    "ci_upper",
]
LOGRANK_COLUMNS = ["analysis_set", "endpoint", "variable", "chisq", "df", "p"]
COX_COLUMNS = [
    "analysis_set",
    "endpoint",
    "model",
    "term",
    "hr",
    "ci_lower",
    "ci_upper",
    "p",
    "n",
    "events",
]
FOLLOWUP_COLUMNS = ["analysis_set", "endpoint", "median_followup", "ci_lower", "ci_upper"]
SMALL_SET_EVENTS = 10  # fewer events than this: estimates flagged as unstable


# --------------------------------------------------------------------------- Kaplan–Meier


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


def km_confint(
    surv: np.ndarray, std_err: np.ndarray, conf_type: str = "log", conf_level: float = 0.95
):
    """Pointwise CI of S(t) as R ``survival:::survfit_confint`` (``std_err`` on the log scale).

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


def km_curve(time, event, conf_type: str = "log", conf_level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate at every distinct time, as R ``survfit(Surv(time, event) ~ 1)``.

    Parameters
    ----------
    time : array-like of float
        Follow-up times (months).
    event : array-like of {0, 1}
        1 = event, 0 = censored.
    conf_type : {"log", "log-log", "plain"}
        Scale of the pointwise confidence interval (R ``conf.type``).
    conf_level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``time, n_risk, n_event, n_censor, surv, std_err, ci_lower, ci_upper``; ``std_err`` is the
        Greenwood standard error of the cumulative hazard (R's ``std.err``).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    if time.size == 0:
        return pd.DataFrame(
            columns=[
                "time",
                "n_risk",
                "n_event",
                "n_censor",
                "surv",
                "std_err",
                "ci_lower",
                "ci_upper",
            ]
        )
    times, inverse = np.unique(time, return_inverse=True)
    n_event = np.bincount(inverse, weights=event, minlength=len(times))
    n_total = np.bincount(inverse, minlength=len(times))
    n_censor = n_total - n_event
    n_risk = n_total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1 - n_event / n_risk)
        greenwood = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        std_err = np.sqrt(np.cumsum(greenwood))
    lower, upper = km_confint(surv, std_err, conf_type, conf_level)
    return pd.DataFrame({
        "time": times, "n_risk": n_risk.astype(int), "n_event": n_event.astype(int),
        "n_censor": n_censor.astype(int), "surv": surv, "std_err": std_err,
        "ci_lower": lower, "ci_upper": upper,
    })  # fmt: skip


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


def km_at(curve: pd.DataFrame, t: float, n_subjects: int) -> dict:
    """Survival at time ``t`` as R ``summary(fit, times = t)`` (``extend = FALSE``).

    The estimate is the curve's value at the last time ≤ t; ``n_risk`` is the number still at
    risk at ``t``. Beyond the last follow-up time the estimate is undefined (NaN).
    """
    if curve.empty or t > curve["time"].max():
        return {"n_risk": np.nan, "surv": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
    before = curve[curve["time"] <= t]
    after = curve[curve["time"] >= t]
    n_risk = int(after["n_risk"].iloc[0]) if len(after) else 0
    if before.empty:
        return {"n_risk": n_subjects, "surv": 1.0, "ci_lower": 1.0, "ci_upper": 1.0}
    last = before.iloc[-1]
    return {
        "n_risk": n_risk,
        "surv": last["surv"],
        "ci_lower": last["ci_lower"],
        "ci_upper": last["ci_upper"],
    }


# --------------------------------------------------------------------------- log-rank


def logrank(time, event, group) -> dict:
    """Log-rank test of equal survival across groups, as R ``survdiff(rho = 0)``.

    Returns
    -------
    dict
        ``chisq``, ``df``, ``p``, ``observed``, ``expected`` (by group, sorted), ``note``. With
        fewer than two groups having expected events the test is undefined: NaN with a note
        (R returns chisq 0 and p NA).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    groups, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(groups)
    observed = np.bincount(g, weights=event, minlength=k)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        n = at_risk.sum()
        n_g = np.bincount(g[at_risk], minlength=k).astype(float)
        d = event[(time == t)].sum()
        expected += d * n_g / n
        if n > 1:
            share = n_g / n
            var += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    usable = expected > 0
    df = int(usable.sum()) - 1
    if usable.sum() < 2:
        return {"chisq": np.nan, "df": np.nan, "p": np.nan, "observed": observed, "expected": expected,
                "note": "not testable: fewer than two groups with events"}  # fmt: skip
    diff = (observed - expected)[usable][1:]
    vv = var[np.ix_(usable, usable)][1:, 1:]
    chisq = float(diff @ np.linalg.solve(vv, diff))
    return {"chisq": chisq, "df": df, "p": float(stats.chi2.sf(chisq, df)), "observed": observed,
            "expected": expected, "note": ""}  # fmt: skip


# --------------------------------------------------------------------------- Cox


def _efron_by_time(time, event, X, beta):
    """Per event time: Efron log-likelihood, score and information contributions at ``beta``.

    Yields ``(t, loglik, score, info)`` for each distinct event time.
    """
    eta = X @ beta
    risk = np.exp(eta)
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        dead = (time == t) & (event == 1)
        d = int(dead.sum())
        r, x = risk[at_risk], X[at_risk]
        s0, s1, s2 = r.sum(), r @ x, (x * r[:, None]).T @ x
        rd, xd = risk[dead], X[dead]
        d0, d1, d2 = rd.sum(), rd @ xd, (xd * rd[:, None]).T @ xd
        loglik = eta[dead].sum()
        score = xd.sum(axis=0)
        info = np.zeros((X.shape[1], X.shape[1]))
        for j in range(d):
            f = j / d
            a0, a1, a2 = s0 - f * d0, s1 - f * d1, s2 - f * d2
            mean = a1 / a0
            loglik -= np.log(a0)
            score = score - mean
            info += a2 / a0 - np.outer(mean, mean)
        yield t, loglik, score, info


def efron_loglik(time, event, X, beta):
    """Efron partial log-likelihood, score vector and information matrix at ``beta``."""
    p = X.shape[1]
    ll, u, imat = 0.0, np.zeros(p), np.zeros((p, p))
    for _, l_t, u_t, i_t in _efron_by_time(time, event, X, beta):
        ll += l_t
        u += u_t
        imat += i_t
    return ll, u, imat


@dataclass
class CoxResult:
    """A fitted Cox model (what ``summary(coxph(...))`` prints)."""

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
    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.var))

    def table(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Per term: coef, HR, Wald CI and p (R ``summary.coxph``)."""
        z = _z(conf_level)
        se = self.se
        with np.errstate(over="ignore"):
            return pd.DataFrame({
                "term": self.terms, "coef": self.coef, "se": se, "hr": np.exp(self.coef),
                "ci_lower": np.exp(self.coef - z * se), "ci_upper": np.exp(self.coef + z * se),
                "z": self.coef / se, "p": 2 * stats.norm.sf(np.abs(self.coef / se)),
            })  # fmt: skip

    def global_tests(self) -> dict:
        """Likelihood-ratio, Wald and score (log-rank) tests of all coefficients = 0."""
        p = len(self.terms)
        lr = 2 * (self.loglik - self.loglik_null)
        wald = float(self.coef @ np.linalg.solve(self.var, self.coef))
        return {
            "lr_chisq": lr, "lr_df": p, "lr_p": stats.chi2.sf(lr, p),
            "wald_chisq": wald, "wald_df": p, "wald_p": stats.chi2.sf(wald, p),
            "score_chisq": self.score_test, "score_df": p, "score_p": stats.chi2.sf(self.score_test, p),
        }  # fmt: skip

    def concordance(self) -> float:
        """Harrell's C as R ``concordance(coxph)``: ties in the predictor count 1/2.

        A pair is comparable when the one with the shorter time had an event; a subject
        censored at an event time is still at risk then. Pairs tied on an event time are
        not comparable.
        """
        eta = self.X @ self.coef
        concordant = discordant = tied = 0.0
        for i in np.flatnonzero(self.event == 1):
            later = (self.time > self.time[i]) | ((self.time == self.time[i]) & (self.event == 0))
            diff = eta[i] - eta[later]
            concordant += np.sum(diff > 0)
            discordant += np.sum(diff < 0)
            tied += np.sum(diff == 0)
        total = concordant + discordant + tied
        return (concordant + tied / 2) / total if total else np.nan


def cox_fit(time, event, X, terms: list[str], max_iter: int = 20, eps: float = 1e-9) -> CoxResult:
    """Cox proportional-hazards model with Efron ties, as R ``coxph`` (Newton–Raphson).

    Starts at 0 and iterates with step halving until the relative change of the partial
    log-likelihood is below ``eps`` (R ``coxph.control(eps = 1e-9)``); the variance is the
    inverse information at the estimate.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    X = np.asarray(X, dtype=float)
    beta = np.zeros(X.shape[1])
    ll0, u0, i0 = efron_loglik(time, event, X, beta)
    score_test = (
        float(u0 @ np.linalg.solve(i0, u0)) if np.linalg.matrix_rank(i0) == len(beta) else np.nan
    )
    # The iteration of R's coxfit6.c: a step that lowers the log-likelihood is halved (and
    # counts as an iteration); convergence is tested only after a full step.
    ll, u, imat = ll0, u0, i0
    new_beta = beta + np.linalg.solve(imat, u)
    converged, halving, iterations = False, False, 0
    for iterations in range(1, max_iter + 1):
        new_ll, new_u, new_imat = efron_loglik(time, event, X, new_beta)
        if not halving and abs(1 - ll / new_ll) <= eps:
            beta, ll, u, imat, converged = new_beta, new_ll, new_u, new_imat, True
            break
        if iterations == max_iter:
            break
        if not np.isfinite(new_ll) or new_ll < ll:
            halving = True
            new_beta = (new_beta + beta) / 2
        else:
            halving = False
            beta, ll, u, imat = new_beta, new_ll, new_u, new_imat
            new_beta = beta + np.linalg.solve(imat, u)
    var = np.linalg.inv(imat)
    # R coxph.fit: a coefficient whose next Newton step is still large relative to itself
    # "may be infinite" (monotone likelihood); toler.inf = sqrt(eps).
    step = np.abs(u @ var)
    infinite = (step > eps) & (step > np.sqrt(eps) * np.abs(beta))
    return CoxResult(terms=list(terms), coef=beta, var=var, loglik_null=ll0, loglik=ll,
                     score_test=score_test, n=len(time), events=int(event.sum()), iterations=iterations,
                     converged=converged, infinite=infinite, time=time, event=event, X=X)  # fmt: skip


def cox_zph(fit: CoxResult) -> pd.DataFrame:
    """Test of proportional hazards, as R ``cox.zph(fit, transform = "km")`` (survival ≥ 3).

    The score test, at the fitted coefficients, for adding ``x * g(t)`` with g the
    left-continuous Kaplan–Meier transform of time centred at its mean over events; one
    1-df test per term and a global test.

    Returns
    -------
    pandas.DataFrame
        ``term`` (terms then ``GLOBAL``), ``chisq``, ``df``, ``p``.
    """
    time, event, X, p = fit.time, fit.event, fit.X, len(fit.terms)
    curve = km_curve(time, event)
    # g(t) = 1 - S(t-): the KM estimate just before t (R: findInterval(left.open = TRUE)).
    idx = np.searchsorted(curve["time"].to_numpy(), time, side="left")
    s_before = np.concatenate([[1.0], curve["surv"].to_numpy()])[idx]
    ttimes = 1 - s_before
    gtime = ttimes - ttimes[event == 1].mean()
    g_at = dict(zip(time[event == 1], gtime[event == 1], strict=False))
    u2 = np.zeros(p)
    imat = np.zeros((2 * p, 2 * p))
    for t, _, u_t, i_t in _efron_by_time(time, event, X, fit.coef):
        g = g_at[t]
        u2 += g * u_t
        imat[:p, :p] += i_t
        imat[:p, p:] += g * i_t
        imat[p:, :p] += g * i_t
        imat[p:, p:] += g * g * i_t
    rows = []
    for j, term in enumerate(fit.terms):
        keep = [*range(p), p + j]
        u = np.concatenate([np.zeros(p), [u2[j]]])
        chisq = float(u @ np.linalg.solve(imat[np.ix_(keep, keep)], u))
        rows.append((term, chisq, 1, stats.chi2.sf(chisq, 1)))
    u = np.concatenate([np.zeros(p), u2])
    chisq = float(u @ np.linalg.solve(imat, u))
    rows.append(("GLOBAL", chisq, p, stats.chi2.sf(chisq, p)))
    return pd.DataFrame(rows, columns=["term", "chisq", "df", "p"])


# --------------------------------------------------------------------------- tables


def _with_tte(adsl: pd.DataFrame, adtte: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    tte = adtte[adtte["paramcd"] == endpoint][[*KEYS, "aval", "cnsr"]]
    data = adsl.merge(tte, on=KEYS, how="inner", validate="one_to_one")
    data["event"] = 1 - data["cnsr"].astype(int)
    return data


def km_median_table(adsl, adtte, sets, subgroups, conf_type="log", conf_level=0.95) -> pd.DataFrame:
    """Kaplan–Meier median PFS and OS with CI per analysis set and subgroup level.

    An empty median (or CI limit) means not reached; ``note`` says so.
    """
    rows = []
    for name, subset in sets.items():
        for endpoint in ENDPOINTS:
            data = _with_tte(subset, adtte, endpoint)
            for var, level, group, n_missing in subgroup_levels(data, subgroups):
                curve = km_curve(group["aval"], group["event"], conf_type, conf_level)
                median, lower, upper = km_quantile(curve)
                notes = []
                if len(group) == 0:
                    notes.append("no patients")
                elif np.isnan(median):
                    notes.append("median not reached")
                elif np.isnan(upper):
                    notes.append("upper limit not reached")
                if 0 < group["event"].sum() < SMALL_SET_EVENTS:
                    notes.append(f"fewer than {SMALL_SET_EVENTS} events: imprecise")
                rows.append((name, endpoint, var, level, len(group), int(group["event"].sum()), median, lower,
                             upper, n_missing, "; ".join(notes)))  # fmt: skip
    return pd.DataFrame(rows, columns=[*KM_MEDIAN_COLUMNS, "n_missing", "note"])


def km_landmark_table(
    adsl, adtte, sets, subgroups, landmarks_months, conf_type="log", conf_level=0.95
):
    """Survival at landmark months with CI and number at risk (R ``summary(fit, times=)``)."""
    rows = []
    for name, subset in sets.items():
        for endpoint in ENDPOINTS:
            data = _with_tte(subset, adtte, endpoint)
            for var, level, group, _ in subgroup_levels(data, subgroups):
                curve = km_curve(group["aval"], group["event"], conf_type, conf_level)
                for month in landmarks_months:
                    at = km_at(curve, month, len(group))
                    note = "beyond the last follow-up time" if np.isnan(at["surv"]) else ""
                    rows.append((name, endpoint, var, level, month, at["n_risk"], at["surv"], at["ci_lower"],
                                 at["ci_upper"], note))  # fmt: skip
    return pd.DataFrame(rows, columns=[*KM_LANDMARK_COLUMNS, "note"])


def followup_table(adsl, adtte, sets, conf_type="log", conf_level=0.95) -> pd.DataFrame:
    """Median follow-up by reverse Kaplan–Meier (censoring as the event), with its CI."""
    rows = []
    for name, subset in sets.items():
        for endpoint in ENDPOINTS:
            data = _with_tte(subset, adtte, endpoint)
            curve = km_curve(data["aval"], 1 - data["event"], conf_type, conf_level)
            median, lower, upper = km_quantile(curve)
            rows.append(
                (
                    name,
                    endpoint,
                    median,
                    lower,
                    upper,
                    "" if not np.isnan(median) else "not reached",
                )
            )
    return pd.DataFrame(rows, columns=[*FOLLOWUP_COLUMNS, "note"])


def logrank_table(adsl, adtte, sets, subgroups) -> pd.DataFrame:
    """Log-rank test (R ``survdiff``) per analysis set, endpoint and subgroup flag."""
    rows = []
    for name, subset in sets.items():
        for endpoint in ENDPOINTS:
            data = _with_tte(subset, adtte, endpoint)
            for var in subgroups:
                if var not in data.columns:
                    continue
                known = data[data[var].notna()]
                if known[var].nunique() < 2:
                    rows.append((name, endpoint, var, np.nan, np.nan, np.nan, len(data) - len(known),
                                 "not testable: one level has no patients"))  # fmt: skip
                    continue
                test = logrank(known["aval"], known["event"], known[var].astype(int))
                rows.append((name, endpoint, var, test["chisq"], test["df"], test["p"], len(data) - len(known),
                             test["note"]))  # fmt: skip
    return pd.DataFrame(rows, columns=[*LOGRANK_COLUMNS, "n_missing", "note"])


@dataclass
class CoxModel:
    """One Cox model of one analysis set and endpoint, with what was dropped and why."""

    analysis_set: str
    endpoint: str
    model: str
    covariates: list[str]
    data: pd.DataFrame
    fit: CoxResult | None
    term_notes: dict[str, str]
    notes: list[str]
    n_dropped: int


def _term_note(data: pd.DataFrame, cov: str) -> str:
    """Why ``cov`` cannot be estimated in ``data`` ('' when it can)."""
    if cov not in data.columns:
        return "not a column of ADSL: dropped"
    values = data[cov].dropna()
    if values.empty:
        return "all missing: dropped"
    if values.nunique() < 2:
        return "constant: dropped"
    if set(values.unique()) <= {0, 1}:
        for level in (0, 1):
            if data.loc[data[cov] == level, "event"].sum() == 0:
                return f"not estimable: no events with {cov} = {level} (monotone likelihood)"
    return ""


def cox_models(adsl, adtte, sets, covariates) -> list[CoxModel]:
    """Univariable (one per covariate) and multivariable Cox models per set and endpoint.

    Complete-case analysis: patients with a missing covariate are left out and counted. A
    covariate that is constant or all missing is dropped with a note; one with no events in a
    level (monotone likelihood, an infinite estimate) is reported as not estimable.
    """
    out = []
    for name, subset in sets.items():
        for endpoint in ENDPOINTS:
            data = _with_tte(subset, adtte, endpoint)
            for model, wanted in [("univariable", [c]) for c in covariates] + [
                ("multivariable", list(covariates))
            ]:
                present = [c for c in wanted if c in data.columns and data[c].notna().any()]
                complete = data.dropna(subset=present)
                term_notes = {c: _term_note(complete, c) for c in wanted}
                terms = [c for c in wanted if not term_notes[c]]
                notes = []
                dropped = len(data) - len(complete)
                if dropped:
                    notes.append(f"{dropped} patients with a missing covariate left out")
                fit = None
                if terms:
                    fit = cox_fit(
                        complete["aval"],
                        complete["event"],
                        complete[terms].astype(float).to_numpy(),
                        terms,
                    )
                    if not fit.converged:
                        for term in terms:
                            term_notes[term] = (
                                "not estimable: the model did not converge (as R coxph warns)"
                            )
                        fit = None
                    for term, infinite in zip(
                        terms, fit.infinite if fit is not None else [], strict=False
                    ):
                        if infinite:
                            term_notes[term] = (
                                "not estimable: coefficient may be infinite (monotone likelihood)"
                            )
                    if fit is not None and fit.infinite.any() and len(terms) > 1:
                        notes.append(
                            "a coefficient of this model may be infinite: the others are unreliable"
                        )
                    if complete["event"].sum() < SMALL_SET_EVENTS * len(terms):
                        notes.append(
                            f"fewer than {SMALL_SET_EVENTS} events per covariate: estimates unstable"
                        )
                out.append(
                    CoxModel(
                        name, endpoint, model, wanted, complete, fit, term_notes, notes, dropped
                    )
                )
    return out


def cox_table(adsl, adtte, sets, covariates, conf_level=0.95) -> pd.DataFrame:
    """HR, Wald CI and p per term of the univariable and multivariable Cox models (R ``coxph``)."""
    rows = []
    for m in cox_models(adsl, adtte, sets, covariates):
        estimates = m.fit.table(conf_level).set_index("term") if m.fit is not None else None
        for term in m.covariates:
            if estimates is not None and term in estimates.index and not m.term_notes[term]:
                e = estimates.loc[term]
                values = (e["hr"], e["ci_lower"], e["ci_upper"], e["p"])
            else:
                values = (np.nan,) * 4
            note = "; ".join(n for n in [m.term_notes[term], *m.notes] if n)
            rows.append((m.analysis_set, m.endpoint, m.model, term, *values, len(m.data),
                         int(m.data["event"].sum()), m.n_dropped, note))  # fmt: skip
    return pd.DataFrame(rows, columns=[*COX_COLUMNS, "n_dropped", "note"])


COX_DIAGNOSTICS_COLUMNS = [
    "analysis_set",
    "endpoint",
    "model",
    "covariates",
    "statistic",
    "term",
    "value",
    "df",
    "p",
]


def cox_diagnostics_table(adsl, adtte, sets, covariates) -> pd.DataFrame:
    """Global tests, concordance and ``cox.zph`` of every Cox model, one row per statistic.

    ``statistic`` is ``n``, ``events``, ``n_dropped``, ``lr``, ``wald``, ``score`` (global
    tests: value = chi-square), ``concordance`` or ``zph`` (per term and ``GLOBAL``).
    """
    rows = []
    for m in cox_models(adsl, adtte, sets, covariates):
        base = (m.analysis_set, m.endpoint, m.model, "+".join(m.covariates))
        rows += [(*base, "n", "", len(m.data), np.nan, np.nan),
                 (*base, "events", "", int(m.data["event"].sum()), np.nan, np.nan),
                 (*base, "n_dropped", "", m.n_dropped, np.nan, np.nan)]  # fmt: skip
        if m.fit is None:
            continue
        tests = m.fit.global_tests()
        for stat in ("lr", "wald", "score"):
            rows.append(
                (*base, stat, "", tests[f"{stat}_chisq"], tests[f"{stat}_df"], tests[f"{stat}_p"])
            )
        rows.append((*base, "concordance", "", m.fit.concordance(), np.nan, np.nan))
        for z in cox_zph(m.fit).itertuples(index=False):
            rows.append((*base, "zph", z.term, z.chisq, z.df, z.p))
    return pd.DataFrame(rows, columns=COX_DIAGNOSTICS_COLUMNS)
