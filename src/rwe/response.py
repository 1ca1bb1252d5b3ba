"""Best response by IMWG category: ORR (≥PR) and CBR (≥MR) with exact CIs, and Fisher tests.

- :func:`clopper_pearson` — R ``binom.test(x, n)$conf.int``.
- :func:`fisher_exact` — R ``fisher.test`` on a 2×2 table: two-sided p and the conditional
  maximum-likelihood odds ratio (not the sample odds ratio scipy reports).
- :func:`fisher_conf_int` — R ``fisher.test(...)$conf.int``: the conditional (exact) CI of that
  odds ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from rwe.derive import subgroup_levels

CATEGORIES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
RESPONSE_COLUMNS = [
    "analysis_set",
    "variable",
    "level",
    "n_evaluable",
    *CATEGORIES,
    "NE",
    "orr",
    "orr_ci_lower",
    "orr_ci_upper",
    "cbr",
    "cbr_ci_lower",
    "cbr_ci_upper",
]
RESPONSE_TEST_COLUMNS = [
    "analysis_set",
    "variable",
    "measure",
    "rate_1",
    "rate_0",
    "odds_ratio",
    "p",
]
#: Columns after the contract ones: the conditional CI of the odds ratio (R ``fisher.test``).
RESPONSE_TEST_EXTRA_COLUMNS = ["or_ci_lower", "or_ci_upper", "n_1", "n_0", "note"]
MEASURES = {"orr": CATEGORIES[:4], "cbr": CATEGORIES[:5], "disease_control": CATEGORIES[:6]}
#: Subgroups defined by the response itself cannot be compared on response.
CIRCULAR = ("responder",)
UNIROOT_TOL = np.finfo(float).eps ** 0.25  # R uniroot's default tol


def clopper_pearson(x: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI of x/n, as R ``binom.test(x, n, conf.level)$conf.int``."""
    if n == 0:
        return np.nan, np.nan
    # R: qbeta(alpha / 2, x, n - x + 1) and qbeta(1 - alpha / 2, x + 1, n - x)
    alpha = 1 - conf_level
    lower = 0.0 if x == 0 else special.betaincinv(x, n - x + 1, alpha / 2)
    upper = 1.0 if x == n else special.betaincinv(x + 1, n - x, 1 - alpha / 2)
    return float(lower), float(upper)


def uniroot(f, lower: float, upper: float, tol: float = UNIROOT_TOL, maxiter: int = 1000) -> float:
    """Root of ``f`` in [lower, upper] exactly as R ``uniroot`` finds it (R_zeroin2, Brent 1973).

    R's default tolerance (eps^0.25) is coarse, so matching R's odds ratio to 1e-4 needs R's
    own iteration, not merely another root finder.
    """
    eps = np.finfo(float).eps
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0:
        return a
    if fb == 0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p, q = cb * t1, 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _hypergeometric(table) -> tuple[int, np.ndarray, np.ndarray]:
    """Observed a, its support and log densities given the margins (R fisher.test's logdc)."""
    a, b, c, d = np.asarray(table, dtype=int).ravel()
    m, n, k = a + c, b + d, a + b  # first column total, second column total, first row total
    support = np.arange(max(0, k - n), min(k, m) + 1)
    return (
        int(a),
        support,
        _log_choose(m, support) + _log_choose(n, k - support) - _log_choose(m + n, k),
    )


def _log_choose(a, b):
    """Logarithm of the binomial coefficient C(a, b), by log-gamma."""
    return special.gammaln(a + 1) - special.gammaln(b + 1) - special.gammaln(a - b + 1)


def _dnhyper(support, logdc, ncp: float) -> np.ndarray:
    """Noncentral hypergeometric density over the support (R fisher.test's dnhyper)."""
    d = logdc + np.log(ncp) * support
    d = np.exp(d - d.max())
    return d / d.sum()


def conditional_mle_odds_ratio(table) -> float:
    """Conditional maximum-likelihood odds ratio of a 2×2 table, as R ``fisher.test()$estimate``.

    Given the margins, the top-left count follows Fisher's noncentral hypergeometric
    distribution with odds ratio ψ. The conditional MLE is the ψ at which its mean equals the
    observed count (the score equation), 0 when the count is the smallest possible and ``inf``
    when it is the largest. It is not the sample odds ratio ad/bc that
    ``scipy.stats.fisher_exact`` reports (for [[2, 1], [1, 2]]: 3.13 vs 4). Solved as R does,
    on (0, 1] for ψ or 1/ψ with :func:`uniroot` at R's default tolerance.

    Parameters
    ----------
    table : array-like, shape (2, 2)
        Rows: group 1, group 0; columns: outcome yes, outcome no.
    """
    x, support, logdc = _hypergeometric(table)
    lo, hi = support[0], support[-1]
    if x == lo:
        return 0.0
    if x == hi:
        return np.inf

    def mean(ncp):  # R's mnhyper
        if ncp == 0:
            return float(lo)
        return float((support * _dnhyper(support, logdc, ncp)).sum())

    mu = mean(1.0)
    if mu > x:
        return float(uniroot(lambda t: mean(t) - x, 0.0, 1.0))
    if mu < x:
        return float(1 / uniroot(lambda t: mean(1 / t) - x, np.finfo(float).eps, 1.0))
    return 1.0


def _pnhyper(x: int, support, logdc, ncp: float, upper_tail: bool) -> float:
    """P(X ≤ x) (or P(X ≥ x)) under odds ratio ``ncp`` (R fisher.test's pnhyper)."""
    if ncp == 0:
        return float(x <= support[0] if upper_tail else x >= support[0])
    if np.isinf(ncp):
        return float(x <= support[-1] if upper_tail else x >= support[-1])
    d = _dnhyper(support, logdc, ncp)
    return float(d[support >= x].sum() if upper_tail else d[support <= x].sum())


def fisher_conf_int(table, conf_level: float = 0.95) -> tuple[float, float]:
    """Conditional (exact) CI of the odds ratio of a 2×2 table, as R ``fisher.test()$conf.int``.

    Two-sided: the lower limit is the ψ at which P(X ≥ x; ψ) = α/2, the upper the ψ at which
    P(X ≤ x; ψ) = α/2, X being Fisher's noncentral hypergeometric count given the margins (R's
    ``ncp.L`` and ``ncp.U``). Solved as R does, on (0, 1] for ψ or 1/ψ with :func:`uniroot` at
    R's default tolerance; 0 (lower) when x is the smallest possible count and ``inf`` (upper)
    when it is the largest.

    Parameters
    ----------
    table : array-like, shape (2, 2)
        Rows: group 1, group 0; columns: outcome yes, outcome no.
    conf_level : float
        Confidence level (R ``conf.level``).

    Returns
    -------
    lower, upper : float
    """
    x, support, logdc = _hypergeometric(table)
    alpha = (1 - conf_level) / 2
    eps = np.finfo(float).eps

    def limit(upper_tail: bool) -> float:
        def tail(ncp):
            return _pnhyper(x, support, logdc, ncp, upper_tail)

        p = tail(1.0)
        # The lower limit solves the upper tail, which grows with ψ; the upper limit the lower
        # tail, which falls with ψ. R searches ψ in (0, 1) or 1/ψ in (eps, 1).
        below_one = p > alpha if upper_tail else p < alpha
        if p == alpha:
            return 1.0
        if below_one:
            return float(uniroot(lambda t: tail(t) - alpha, 0.0, 1.0))
        return float(1 / uniroot(lambda t: tail(1 / t) - alpha, eps, 1.0))

    lower = 0.0 if x == support[0] else limit(upper_tail=True)
    upper = np.inf if x == support[-1] else limit(upper_tail=False)
    return lower, upper


def fisher_exact(table) -> tuple[float, float]:
    """Fisher's exact test of a 2×2 table, as R ``fisher.test`` (two-sided).

    Parameters
    ----------
    table : array-like, shape (2, 2)
        Rows: group 1, group 0; columns: outcome yes, outcome no.

    Returns
    -------
    odds_ratio : float
        :func:`conditional_mle_odds_ratio` (R's ``estimate``).
    p : float
        Two-sided p: the total probability of the tables, given the margins, that are no more
        likely than the observed one (relative tolerance 1e-7, as R).
    """
    x, support, logdc = _hypergeometric(table)
    d = _dnhyper(support, logdc, 1.0)
    p = float(min(1.0, d[d <= d[x - support[0]] * (1 + 1e-7)].sum()))
    return conditional_mle_odds_ratio(table), p


def response_table(
    sets: dict[str, pd.DataFrame], subgroups: list[str], conf_level: float = 0.95
) -> pd.DataFrame:
    """Best overall response counts, ORR and CBR with Clopper–Pearson CIs.

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL (``best_response`` and the subgroup flags).
    subgroups : list of str
        Flags whose levels 0 and 1 get a row each, after the ``all``/``all`` row. ``responder``
        is left out: it is defined by the response (the rates would be 0 % and 100 %).
    conf_level : float
        Of the Clopper–Pearson intervals (R ``binom.test``).

    Returns
    -------
    pandas.DataFrame
        DESIGN.md §6 columns, then ``n_not_evaluable`` (NE or blank: left out of the
        denominators) and ``n_missing`` (patients whose flag is missing, left out of the
        subgroup's levels). ``NE`` counts the explicit NE; ``n_evaluable`` the rest of the
        denominator; ORR = sCR–PR, CBR = sCR–MR.
    """
    rows = []
    for name, adsl in sets.items():
        variables = [v for v in subgroups if v not in CIRCULAR]
        # Only the columns used, best response as a categorical (one count per category).
        data = adsl[
            ["best_response", *dict.fromkeys(v for v in variables if v in adsl.columns)]
        ].copy()
        data["best_response"] = pd.Categorical(
            data["best_response"], categories=[*CATEGORIES, "NE"]
        )
        for var, level, group, n_missing in subgroup_levels(data, variables):
            counted = group["best_response"].value_counts()
            n = int(counted[CATEGORIES].sum())
            counts = [int(counted[c]) for c in CATEGORIES]
            row = [name, var, level, n, *counts, int(counted["NE"])]
            for measure in ("orr", "cbr"):
                x = int(counted[MEASURES[measure]].sum())
                row += [x / n if n else np.nan, *clopper_pearson(x, n, conf_level)]
            rows.append([*row, len(group) - n, n_missing])
    return pd.DataFrame(rows, columns=[*RESPONSE_COLUMNS, "n_not_evaluable", "n_missing"])


def response_test_table(
    sets: dict[str, pd.DataFrame], subgroups: list[str], conf_level: float = 0.95
) -> pd.DataFrame:
    """Fisher's exact test of ORR and CBR between the levels of each subgroup flag.

    Among evaluable patients whose flag is known. ``rate_1`` and ``rate_0`` are the rates in
    level 1 and level 0; ``odds_ratio`` is the conditional MLE of the odds of response in level
    1 relative to level 0 and ``p`` the two-sided p, both as R ``fisher.test``
    (:func:`fisher_exact`). Then ``or_ci_lower``, ``or_ci_upper`` (the conditional CI at
    ``conf_level``, R ``fisher.test()$conf.int``: :func:`fisher_conf_int`), ``n_1``, ``n_0``
    (evaluable patients per level) and ``note``. ``responder`` gets rows without estimates and a
    note: it is the outcome itself.
    """
    rows = []
    for name, adsl in sets.items():
        used = ["best_response", *dict.fromkeys(v for v in subgroups if v in adsl.columns)]
        evaluable = adsl.loc[adsl["best_response"].isin(CATEGORIES), used]  # only what is used
        for var in subgroups:
            if var not in adsl.columns:
                continue
            known = evaluable[evaluable[var].notna()]
            flag = known[var].astype(int)
            n1, n0 = int((flag == 1).sum()), int((flag == 0).sum())
            for measure in ("orr", "cbr"):
                outcome = known["best_response"].isin(MEASURES[measure])
                y1, y0 = int(outcome[flag == 1].sum()), int(outcome[flag == 0].sum())
                if var in CIRCULAR:
                    note = "not tested: responder is defined by the best response (circular)"
                elif n1 == 0 or n0 == 0:
                    note = "not tested: a level has no evaluable patients"
                else:
                    table = [[y1, n1 - y1], [y0, n0 - y0]]
                    odds_ratio, p = fisher_exact(table)
                    ci = fisher_conf_int(table, conf_level)
                    rows.append(
                        (name, var, measure, y1 / n1, y0 / n0, odds_ratio, p, *ci, n1, n0, "")
                    )
                    continue
                rows.append((name, var, measure, *(np.nan,) * 6, n1, n0, note))
    return pd.DataFrame(rows, columns=[*RESPONSE_TEST_COLUMNS, *RESPONSE_TEST_EXTRA_COLUMNS])
