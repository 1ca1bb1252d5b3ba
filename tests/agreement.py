"""R survival's hand-computed test cases, as rwe computes them: the rows of docs/agreement.md.

The cases are those of the ``tests/`` folder of R's survival package (therneau/survival:
Therneau and Grambsch's appendix in ``book1.R`` to ``book6.R``, and ``infcox.R``,
``singtest.R``, ``testnull.R``, ``doaml.R``, ``difftest.R``, ``quantile.R``, ``doweight.R``,
``concordance.R``, ``zph.R``, ``testci.R``) that rwe's estimators express. For each quantity: rwe's value,
the closed form or identity ("hand", ported from those files) where there is one, and R's
value, fitted live by ``tests/r/survival_book.R`` on the same data.
``tests/test_survival_book.py`` asserts each at 1e-6; ``python tests/agreement.py`` rewrites
docs/agreement.md from the same rows (a test checks it is up to date).
"""

from __future__ import annotations

import sys
import tempfile
from math import exp, log, sqrt
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from r_reference import run_r  # noqa: E402
from rwe.survival import (
    concordance,
    cox_fit,
    cumulative_incidence,
    km_at,
    km_curve,
    km_quantile,
    logrank,
)  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "agreement.md"
RTOL = 1e-6
NA = np.nan

# Therneau and Grambsch's data sets (book1.R to book6.R); test1 has one missing status.
TEST1 = pd.DataFrame(
    {"time": [9, 3, 1, 1, 6, 6, 8], "status": [1, NA, 1, 0, 1, 1, 0], "x": [0, 2, 1, 1, 1, 0, 0]}
)
TEST2 = pd.DataFrame(
    {
        "start": [1, 2, 5, 2, 1, 7, 3, 4, 8, 8],
        "stop": [2, 3, 6, 7, 8, 9, 9, 9, 14, 17],
        "event": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
        "x": [1, 0, 0, 1, 0, 1, 1, 1, 0, 0],
    }
)
TEST2B = pd.concat([TEST2.assign(group=g) for g in (1, 2, 3)], ignore_index=True)
TEST2B["start"] += TEST2B["group"]
TEST2B["stop"] += TEST2B["group"]
TESTW1 = pd.DataFrame(
    {
        "time": [1, 1, 2, 2, 2, 2, 3, 4, 5],
        "status": [1, 0, 1, 1, 1, 0, 0, 1, 0],
        "x": [2, 0, 1, 1, 0, 1, 0, 1, 0],
        "wt": [1, 2, 3, 4, 3, 2, 1, 2, 1],
    }
)


# --------------------------------------------------------------------------- closed forms
# Each: beta -> (loglik, score, information), the byhand() functions of book1.R to book6.R.


def book1(b):
    """Breslow ties, data set 1 (book1.R)."""
    r = exp(b)
    loglik = 2 * b - (log(3 * r + 3) + 2 * log(r + 3))
    u = (6 + 3 * r - r**2) / ((r + 1) * (r + 3))
    return loglik, u, r / (r + 1) ** 2 + 6 * r / (r + 3) ** 2


def book2(b):
    """Efron ties, data set 1 (book2.R)."""
    r = exp(b)
    loglik = 2 * b - (log(3 * r + 3) + log((r + 5) / 2) + log(r + 3))
    u = (30 + 23 * r - r**3) / ((r + 1) * (r + 3) * (r + 5))

    def t(x):
        return x - x**2

    return loglik, u, t(r / (r + 1)) + t(r / (r + 5)) + t(r / (r + 3))


def book3(b):
    """Breslow ties, counting-process data set 2 (book3.R)."""
    r = exp(b)
    loglik = 4 * b - log(r + 1) - log(r + 2) - 3 * log(3 * r + 2) - 2 * log(3 * r + 1)
    u = 1 / (r + 1) + 1 / (3 * r + 1) + 4 / (3 * r + 2)
    u -= r / (r + 2) + 3 * r / (3 * r + 2) + 3 * r / (3 * r + 1)
    imat = r / (r + 1) ** 2 + 2 * r / (r + 2) ** 2 + 6 * r / (3 * r + 2) ** 2
    imat += 3 * r / (3 * r + 1) ** 2 + 3 * r / (3 * r + 1) ** 2 + 12 * r / (3 * r + 2) ** 2
    return loglik, u, imat


def book4(b):
    """Efron ties, counting-process data set 2 (book4.R)."""
    r = exp(b)
    loglik = 4 * b - (
        log(r + 1) + log(r + 2) + 2 * log(3 * r + 2) + 2 * log(3 * r + 1) + log(2 * r + 2)
    )
    u = 1 / (r + 1) + 1 / (3 * r + 1) + 2 * (1 / (3 * r + 2) + 1 / (2 * r + 2))
    u -= r / (r + 2) + 3 * r / (3 * r + 2) + 3 * r / (3 * r + 1)
    imat = r * (
        1 / (r + 1) ** 2
        + 2 / (r + 2) ** 2
        + 6 / (3 * r + 2) ** 2
        + 6 / (3 * r + 1) ** 2
        + 6 / (3 * r + 2) ** 2
        + 4 / (2 * r + 2) ** 2
    )
    return loglik, u, imat


def tripled(closed_form):
    """Three strata, each a shifted copy of the data (book3.R, book4.R: ``test2b``)."""
    return lambda b: tuple(3 * v for v in closed_form(b))


def book5(b):
    """Breslow ties with case weights (book5.R)."""
    r = exp(b)
    loglik = 11 * b - (log(r**2 + 11 * r + 7) + 10 * log(11 * r + 5) + 2 * log(2 * r + 1))
    h = [1 / (r**2 + 11 * r + 7), 10 / (11 * r + 5), 2 / (2 * r + 1)]
    xbar = [(2 * r**2 + 11 * r) * h[0], 11 * r / (11 * r + 5), r * h[2]]
    u = 11 - (xbar[0] + 10 * xbar[1] + 2 * xbar[2])
    imat = (4 * r**2 + 11 * r) * h[0] - xbar[0] ** 2
    imat += 10 * (xbar[1] - xbar[1] ** 2) + 2 * (xbar[2] - xbar[2] ** 2)
    return loglik, u, imat


def book6(b):
    """Efron ties with case weights (book6.R); the score is the loglik's derivative, term by term."""
    r = exp(b)
    a, c = 7 * r + 3, 4 * r + 2
    loglik = 11 * b - (
        log(r**2 + 11 * r + 7)
        + 10 * log(11 * r + 5) / 3
        + 10 * log(a * 2 / 3 + c) / 3
        + 10 * log(a / 3 + c) / 3
        + 2 * log(2 * r + 1)
    )
    riskmat = np.array(
        [
            [1, 1, 1, 1, 1, 1, 1, 1, 1],
            [0, 0, 1, 1, 1, 1, 1, 1, 1],
            [0, 0, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1],
            [0, 0, 1 / 3, 1 / 3, 1 / 3, 1, 1, 1, 1],
            [0, 0, 0, 0, 0, 0, 0, 1, 1],
        ]
    ).T
    x = np.array([2, 0, 1, 1, 0, 1, 0, 1, 0])
    wtmat = np.diag([r**2, 2, 3 * r, 4 * r, 3, 2 * r, 1, 2 * r, 1]) @ riskmat
    xbar = (x[:, None] * wtmat).sum(axis=0) / wtmat.sum(axis=0)
    h0 = 1 / (r**2 + 11 * r + 7)
    u = 11 - (xbar[0] + 10 * xbar[1:4].mean() + 2 * xbar[4])
    imat = (4 * r**2 + 11 * r) * h0 - xbar[0] ** 2
    imat += 10 * np.mean(xbar[1:4] - xbar[1:4] ** 2) + 2 * (xbar[4] - xbar[4] ** 2)
    return loglik, float(u), float(imat)


def infcox_loglik(b1, b2):
    """infcox.R's log-likelihood of two covariates (both coefficients run to -infinity)."""
    r1, r2 = exp(b1), exp(b2)
    return (
        -log(3 * (1 + r1 + r2 + r1 * r2))
        - log(2 + 2 * r1 + 3 * r2 + 3 * r1 * r2)
        - log(1 + r1 + 3 * r2 + 3 * r1 * r2)
    )


# --------------------------------------------------------------------------- the cases


def _cox_rows(case, closed_form, fit, source):
    """loglik, variance and score test at 0, one and two Newton steps, and the MLE."""
    ll0, u0, i0 = closed_form(0.0)
    b1 = u0 / i0
    _, u1, i1 = closed_form(b1)
    b2 = b1 + u1 / i1
    mle = brentq(lambda b: closed_form(b)[1], -5, 5, xtol=1e-15)
    ll, _, imat = closed_form(mle)
    at0, one, two, full = fit(0), fit(1), fit(2), fit(20)
    return [
        (case, source, "loglik(0)", at0.loglik_null, ll0),
        (case, source, "var(0)", at0.var[0, 0], 1 / i0),
        (case, source, "score test", at0.score_test, u0**2 / i0),
        (case, source, "coef, iter.max = 1", one.coef[0], b1),
        (case, source, "coef, iter.max = 2", two.coef[0], b2),
        (case, source, "coef", full.coef[0], mle),
        (case, source, "loglik", full.loglik, ll),
        (case, source, "var", full.var[0, 0], 1 / imat),
    ]


def _fitter(data, ties, time="time", event="status", **columns):
    def fit(max_iter):
        extra = {k: data[v].to_numpy() for k, v in columns.items()}
        X = data[["x"]].to_numpy(float)
        return cox_fit(data[time], data[event], X, ["x"], max_iter, 1e-8, ties=ties, **extra)

    return fit


def book_rows() -> list[tuple]:
    """``(case, source, quantity, rwe, hand)`` for the cases of book1.R to book6.R."""
    rows = []
    rows += _cox_rows("book1", book1, _fitter(TEST1, "breslow"), "book1.R")
    rows += _cox_rows("book2", book2, _fitter(TEST1, "efron"), "book2.R")
    counting = {"time": "stop", "event": "event", "start": "start"}
    rows += _cox_rows("book3", book3, _fitter(TEST2, "breslow", **counting), "book3.R")
    rows += _cox_rows("book4", book4, _fitter(TEST2, "efron", **counting), "book4.R")
    strata = {**counting, "strata": "group"}
    rows += _cox_rows(
        "book3 strata", tripled(book3), _fitter(TEST2B, "breslow", **strata), "book3.R"
    )
    rows += _cox_rows("book4 strata", tripled(book4), _fitter(TEST2B, "efron", **strata), "book4.R")
    rows += _cox_rows("book5", book5, _fitter(TESTW1, "breslow", weights="wt"), "book5.R")
    rows += _cox_rows("book6", book6, _fitter(TESTW1, "efron", weights="wt"), "book6.R")
    # Kaplan–Meier and log-rank of data set 1 (the missing status left out, as R does)
    curve = km_curve(TEST1["time"], TEST1["status"])
    hand_km = {1: (5 / 6, 6), 6: (5 / 12, 4), 9: (0.0, 1)}
    for t, (surv, n_risk) in hand_km.items():
        at = km_at(curve, t, 6)
        rows.append(("book1 KM", "book1.R data", f"surv({t})", at["surv"], surv))
        rows.append(("book1 KM", "book1.R data", f"n.risk({t})", at["n_risk"], n_risk))
    se6 = curve.loc[curve["time"] == 6, "std_err"].iloc[0]
    rows.append(("book1 KM", "book1.R data", "std.err(6), log scale", se6, sqrt(1 / 30 + 1 / 4)))
    known = TEST1["x"] < 2  # x = 2 is the row whose status is missing
    test = logrank(TEST1["time"], TEST1["status"], TEST1["x"].where(known))
    rows.append(("book1 log-rank", "book1.R data", "chisq, x = 0 vs 1", test["chisq"], 2.0))
    return rows


def other_rows(r_dir: Path) -> list[tuple]:
    """infcox.R, a monotone likelihood out of iterations, singtest.R and testnull.R."""
    rows = []
    test3 = pd.DataFrame(
        {
            "futime": np.arange(1.0, 13),
            "fustat": [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            "x1": np.tile([0, 1], 6),
            "x2": np.repeat([0, 1], 6),
        }
    )
    fit = cox_fit(test3["futime"], test3["fustat"], test3[["x1", "x2"]], ["x1", "x2"], 25)
    hand = infcox_loglik(*fit.coef)
    rows += [
        ("infcox", "infcox.R", "coef x1", fit.coef[0], None),
        ("infcox", "infcox.R", "coef x2", fit.coef[1], None),
        ("infcox", "infcox.R", "loglik(0)", fit.loglik_null, infcox_loglik(0, 0)),
        ("infcox", "infcox.R", "loglik", fit.loglik, hand),
        ("infcox", "infcox.R", "iter", fit.iterations, None),
    ]
    time = np.arange(1.0, 21)
    event = np.tile([1, 0], 10)
    x = event * (30 - time) / 10
    mono = cox_fit(time, event, x[:, None], ["x"])
    rows += [
        ("monotone", "ordered deaths", "coef, out of iterations", mono.coef[0], None),
        ("monotone", "ordered deaths", "iter", mono.iterations, None),
    ]
    rows += _singtest_rows()
    bladder = pd.read_csv(r_dir / "bladder.csv")
    null = cox_fit(bladder["stop"], bladder["event"], np.zeros((len(bladder), 0)), [])
    null = cox_fit(
        bladder["stop"], bladder["event"], np.zeros((len(bladder), 0)), [], strata=bladder["number"]
    )
    at0 = cox_fit(
        bladder["stop"], bladder["event"], bladder[["rx"]], ["rx"], 0, strata=bladder["number"]
    )
    rows.append(("testnull", "testnull.R", "loglik, right-censored", null.loglik, at0.loglik))
    b2 = pd.read_csv(r_dir / "bladder2.csv")
    args = (b2["stop"], b2["event"])
    kw = {"strata": b2["number"], "start": b2["start"]}
    null = cox_fit(*args, np.zeros((len(b2), 0)), [], **kw)
    at0 = cox_fit(*args, b2[["rx"]], ["rx"], 0, **kw)
    rows.append(("testnull", "testnull.R", "loglik, counting process", null.loglik, at0.loglik))
    rows += _doaml_rows(r_dir) + _difftest_rows(r_dir) + _quantile_rows() + _doweight_rows()
    return rows + _concordance_rows(r_dir) + _zph_rows() + _testci_rows()


def _testci_rows() -> list[tuple]:
    """testci.R: two competing events; its byhand() probabilities and influence matrices.

    The standard error of each probability is the root of the column sums of the squared
    influence (infinitesimal jackknife) of the eight subjects, at times 2, 3 and 6.
    """
    time = np.array([1, 2, 2, 3, 3, 3, 5, 6.0])
    status = np.array([0, 1, 0, 1, 0, 1, 0, 1]) * np.array([1, 1, 2, 2, 1, 2, 3, 2])
    p2 = np.array([6 / 7, 1 / 7, 0])
    u2 = np.tile([1 / 49, -1 / 49, 0], (8, 1))
    u2[0] = 0  # subject 1 is not present
    u2[1, :2] += [-1 / 7, 1 / 7]
    u3 = u2 @ np.array([[3 / 5, 0, 2 / 5], [0, 1, 0], [0, 1, 0]])
    u3[3:8, 0] += p2[0] * 2 / 25
    u3[3:8, 2] -= p2[0] * 2 / 25
    u3[3] += [-p2[0] / 5, 0, p2[0] / 5]
    u3[5] = u3[3]
    u6 = np.column_stack([np.zeros(8), u3[:, 1], -u3[:, 1]])
    hand = {
        2: (p2, np.sqrt((u2**2).sum(axis=0))),
        3: (np.array([18 / 35, 1 / 7, 12 / 35]), np.sqrt((u3**2).sum(axis=0))),
        6: (np.array([0, 1 / 7, 6 / 7]), np.sqrt((u6**2).sum(axis=0))),
    }
    cif = cumulative_incidence(time, status).set_index(["cause", "time"])
    rows = []
    for cause in (1, 2):
        for t, (prob, se) in hand.items():
            ours = cif.loc[(cause, float(t))]
            name = f"event {cause} at {t}"
            rows.append(("testci", "testci.R", f"probability of {name}", ours["cif"], prob[cause]))
            rows.append(("testci", "testci.R", f"std.err of {name}", ours["std_err"], se[cause]))
    return rows


def _zph_rows() -> list[tuple]:
    """zph.R's closed form of the ``cox.zph`` score test, with the "km" transform of time.

    At the MLE (Breslow: r = (3 + sqrt 33) / 2; Efron: the root of zph.R's cubic) the score and
    information contributions of data set 1's four deaths (times 1, 6, 6, 9) are zph.R's; g(t)
    is 1 - S(t-) of the Kaplan–Meier: 0, 1/6, 1/6, 7/12 (its centring does not change the test).
    """
    g = np.array([0, 1 / 6, 1 / 6, 7 / 12])

    def score_test(u, imat):
        u2 = np.array([u.sum(), g @ u])
        i2 = np.array([[imat.sum(), g @ imat], [g @ imat, (g * g) @ imat]])
        return float(np.linalg.solve(i2, u2) @ u2)

    r = (3 + sqrt(33)) / 2
    breslow = score_test(
        np.array([1 / (r + 1), 3 / (r + 3), -r / (r + 3), 0]),
        np.array([r / (r + 1) ** 2, 3 * r / (r + 3) ** 2, 3 * r / (r + 3) ** 2, 0]),
    )
    r = 2 * sqrt(23 / 3) * np.cos(np.arccos((45 / 23) * sqrt(3 / 23)) / 3)
    efron = score_test(
        np.array([1 / (r + 1), 3 / (r + 3), -r / (r + 5), 0]),
        np.array([r / (r + 1) ** 2, 3 * r / (r + 3) ** 2, 5 * r / (r + 5) ** 2, 0]),
    )
    rows = []
    for ties, hand in (("breslow", breslow), ("efron", efron)):
        fit = cox_fit(TEST1["time"], TEST1["status"], TEST1[["x"]], ["x"], ties=ties)
        chisq = fit.zph.set_index("term").loc["x", "chisq"]
        rows.append(("zph", "zph.R", f"chisq, {ties}, km transform", chisq, hand))
    return rows


def _allpair(x, time, status, wt) -> float:
    """concordance.R's ``allpair``: every comparable pair counted one by one (the hand value).

    For each death i, the partners at risk after it (a later time, or the same time censored):
    concordant when x_i is larger, discordant when smaller, tied in x half; weights multiply.
    """
    concordant = discordant = tied = 0.0
    for i in np.flatnonzero(status == 1):
        at_risk = (time > time[i]) | ((time == time[i]) & (status == 0))
        sign = np.sign(x[i] - x[at_risk])
        concordant += wt[i] * wt[at_risk][sign > 0].sum()
        discordant += wt[i] * wt[at_risk][sign < 0].sum()
        tied += wt[i] * wt[at_risk][sign == 0].sum()
    return (concordant + tied / 2) / (concordant + discordant + tied)


def _concordance_rows(r_dir: Path) -> list[tuple]:
    """concordance.R: Harrell's C of x in the Maintained arm of aml, unweighted and weighted."""
    aml = pd.read_csv(r_dir / "aml.csv")
    data = aml[aml["x"] == "Maintained"]
    time, status = data["time"].to_numpy(float), data["status"].to_numpy()
    x = np.array([1, 6, 2, 7, 3, 7, 3, 8, 4, 4, 5.0])
    wt = np.array([1, 2, 3, 2, 1, 2, 3, 4, 3, 2, 1.0])
    ones = np.ones(x.size)
    return [
        (
            "concordance",
            "concordance.R",
            "C",
            concordance(time, status, x),
            _allpair(x, time, status, ones),
        ),
        (
            "concordance",
            "concordance.R",
            "C, weighted",
            concordance(time, status, x, wt),
            _allpair(x, time, status, wt),
        ),
    ]


def _doweight_rows() -> list[tuple]:
    """doweight.R: with Breslow ties a case weight w is w replicated rows (the "hand" column)."""
    w = TESTW1["wt"].to_numpy()
    replicated = TESTW1.loc[TESTW1.index.repeat(w)]
    weighted = cox_fit(
        TESTW1["time"], TESTW1["status"], TESTW1[["x"]], ["x"], weights=w, ties="breslow"
    )
    copies = cox_fit(
        replicated["time"], replicated["status"], replicated[["x"]], ["x"], ties="breslow"
    )
    return [
        ("doweight", "doweight.R", "coef, weights", weighted.coef[0], copies.coef[0]),
        ("doweight", "doweight.R", "loglik, weights", weighted.loglik, copies.loglik),
        ("doweight", "doweight.R", "var, weights", weighted.var[0, 0], copies.var[0, 0]),
        ("doweight", "doweight.R", "coef, replicated rows", copies.coef[0], book5_mle()),
    ]


def book5_mle() -> float:
    """The root of book5.R's closed-form score."""
    return brentq(lambda b: book5(b)[1], -5, 5, xtol=1e-15)


QQ = {"13/14": 13 / 14, "6/7": 6 / 7, "2/3": 2 / 3, "1/2": 0.5, "9/35": 9 / 35, "1/10": 0.1}
# quantile.R's values: the quantile, its lower and upper CI limit at p = 1 - qq (NA: none)
QUANTILE_HAND = {
    "quantile": ([1, 3.5, 6, 9, 9.5, NA], [1, 1, 1, 6, 6, 9]),
    "quantile x = 0": ([6, 6, 9, 9, NA, NA], [6, 6, 6, 6, 9, 9]),
    "quantile x = 1": ([1, 1, 3.5, 6, 6, 6], [1, 1, 1, 1, NA, NA]),
}


def _quantile_rows() -> list[tuple]:
    """quantile.R: quantiles of the Kaplan–Meier curve of data set 1 (plus a censoring at 10).

    A curve flat at exactly 1 - p gives the midpoint of the flat stretch (3.5, 9.5); no upper
    limit is reached.
    """
    data = pd.concat([TEST1, pd.DataFrame({"time": [10], "status": [0], "x": [0]})])
    rows = []
    for case, (estimates, lowers) in QUANTILE_HAND.items():
        part = data if case == "quantile" else data[data["x"] == int(case[-1])]
        curve = km_curve(part["time"], part["status"])
        for (label, q), estimate, lower in zip(QQ.items(), estimates, lowers, strict=True):
            ours = dict(zip(("quantile", "lower", "upper"), km_quantile(curve, 1 - q), strict=True))
            hand = {"quantile": estimate, "lower": lower, "upper": NA}
            for kind in ("quantile", "lower", "upper"):
                name = f"{kind}, p = 1 - {label}"
                rows.append((case, "quantile.R", name, ours[kind], hand[kind]))
    return rows


def _doaml_rows(r_dir: Path) -> list[tuple]:
    """doaml.R: the aml data (Breslow ties, log-rank) and a case weight of 2 for everyone.

    With every weight 2 the curve is the unweighted one and its Greenwood variance half of it
    (the identities doaml.R asserts: the "hand" column).
    """
    aml = pd.read_csv(r_dir / "aml.csv")
    x = (aml["x"] == "Nonmaintained").to_frame().astype(float)
    fit = cox_fit(aml["time"], aml["status"], x, ["x"], ties="breslow")
    test = logrank(aml["time"], aml["status"], aml["x"])
    plain = km_curve(aml["time"], aml["status"])
    doubled = km_curve(aml["time"], aml["status"], weights=np.full(len(aml), 2.0))

    def last_event(curve, column):
        return curve.loc[curve["n_event"] > 0, column].iloc[-1]

    ratio = last_event(plain, "std_err") ** 2 / last_event(doubled, "std_err") ** 2
    surv = last_event(doubled, "surv")
    return [
        ("doaml", "doaml.R", "coef", fit.coef[0], None),
        ("doaml", "doaml.R", "loglik", fit.loglik, None),
        ("doaml", "doaml.R", "var", fit.var[0, 0], None),
        ("doaml", "doaml.R", "log-rank chisq", test["chisq"], None),
        ("doaml", "doaml.R", "surv at the last event, weights 2", surv, last_event(plain, "surv")),
        ("doaml", "doaml.R", "std.err^2 ratio, weights 1 to 2", ratio, 2.0),
    ]


def _difftest_rows(r_dir: Path) -> list[tuple]:
    """difftest.R: a group with no events; the stratified log-rank is the Cox score test at 0.

    lung has missing ``pat.karno`` and ``inst``: those rows are left out of both, as in R.
    The "hand" column of the log-rank is the score test (difftest.R's identity).
    """
    aml = pd.read_csv(r_dir / "aml.csv")
    dummy = pd.DataFrame({"time": [1, 2, 2, 3, 3, 3, 4], "status": 0, "x": "Dummy"})
    aml3 = pd.concat([aml, dummy], ignore_index=True)
    aml3_test = logrank(aml3["time"], aml3["status"], aml3["x"])
    lung = pd.read_csv(r_dir / "lung.csv")
    event = lung["status"] - 1
    karno = lung["pat.karno"]
    levels = sorted(karno.dropna().unique())[1:]  # R's treatment contrasts: first level out
    X = np.column_stack([(karno == v).astype(float) for v in levels])
    X[karno.isna().to_numpy()] = np.nan
    terms = [f"karno{v:g}" for v in levels]
    score = cox_fit(lung["time"], event, X, terms, 0, strata=lung["inst"]).score_test
    test = logrank(lung["time"], event, karno, strata=lung["inst"])
    return [
        ("difftest", "difftest.R", "aml3 log-rank chisq", aml3_test["chisq"], None),
        ("difftest", "difftest.R", "lung stratified log-rank chisq", test["chisq"], score),
        ("difftest", "difftest.R", "lung Cox score test at 0", score, None),
    ]


def _singtest_rows() -> list[tuple]:
    """singtest.R: ``x * factor(epoch)``, whose coefficients 2 to 4 are aliased (NA)."""
    time = np.array([4, 3, 1, 1, 2, 2, 3.0])
    status = np.array([1, NA, 1, 0, 1, 1, 0])
    x = np.array([0, 2, 1, 1, 1, 0, 0.0])
    temp = np.repeat(np.arange(4), 7)
    epoch = temp + 1
    xs = np.concatenate([x + np.arange(1, 8), np.tile(x, 3)])
    dummies = np.column_stack([(epoch == e).astype(float) for e in (2, 3, 4)])
    X = np.column_stack([xs, dummies, xs[:, None] * dummies])
    terms = ["x", "epoch2", "epoch3", "epoch4", "x:epoch2", "x:epoch3", "x:epoch4"]
    fit = cox_fit(10 * temp + np.tile(time, 4), np.tile(status, 4), X, terms, start=10.0 * temp)
    rows = [("singtest", "singtest.R", f"coef {j + 1}", c, None) for j, c in enumerate(fit.coef)]
    rows.append(("singtest", "singtest.R", "loglik", fit.loglik, None))
    return rows


def r_values(r_dir: Path) -> dict[tuple[str, str], float]:
    """R's values, fitted live (tests/r/survival_book.R), by (case, quantity)."""
    run_r("survival_book.R", r_dir)
    table = pd.read_csv(r_dir / "book.csv")
    return {(c, q): float(v) for c, q, v in table.itertuples(index=False)}


def agreement(r_dir: Path) -> pd.DataFrame:
    """Every case and quantity: rwe, the closed form, R, and rwe's relative error to each."""
    r = r_values(r_dir)
    rows = []
    for case, source, quantity, ours, hand in book_rows() + other_rows(r_dir):
        theirs = r[(case, quantity)]
        rows.append(
            {
                "case": case,
                "source": source,
                "quantity": quantity,
                "rwe": float(ours),
                "hand": np.nan if hand is None else float(hand),
                "R": theirs,
                "rel_err_hand": _rel(ours, hand),
                "rel_err_R": _rel(ours, theirs),
            }
        )
    return pd.DataFrame(rows)


def _rel(a, b) -> float:
    if b is None:
        return np.nan
    a, b = float(a), float(b)
    if np.isnan(a) and np.isnan(b):
        return 0.0
    return abs(a - b) / max(abs(b), 1e-300) if b != 0 else abs(a)


def _number(v: float) -> str:
    """Six significant digits: the page must not change with a machine's last digits."""
    return "NA" if np.isnan(v) else f"{v:.6g}"


def _error(v: float) -> str:
    """A relative error as the bound above it: 1e-12, 1e-9 or 1e-6 (else the value).

    The last digits of an error differ between machines (a coefficient running to infinity
    is where the iteration stops, sensitive to rounding at 1e-8); these bounds do not.
    """
    if np.isnan(v):
        return "—"
    for bound in (1e-12, 1e-9, 1e-6):
        if v < bound:
            return f"< {bound:g}"
    return f"{v:.1e}"


def render(table: pd.DataFrame) -> str:
    """docs/agreement.md from :func:`agreement`."""
    lines = [
        "# Agreement with R survival's hand-computed tests",
        "",
        "Generated by `make agreement` (`python tests/agreement.py`) from the cases that "
        "`tests/test_survival_book.py` asserts (do not edit by hand). The cases are those of "
        "the `tests/` folder of R's survival package (Therneau and Grambsch's appendix in "
        "`book1.R` to `book6.R`; `infcox.R`, `singtest.R`, `testnull.R`, `doaml.R`, `difftest.R`, `quantile.R`, `doweight.R`, `concordance.R`, `zph.R`, `testci.R`) "
        "that rwe's estimators "
        "express. **hand** is the closed form of those files (the MLE a root of the "
        "closed-form score, one and two Newton steps from 0 computed from it), or the identity "
        "a file asserts (a weight of w as w rows, the stratified log-rank as the Cox score test "
        "at 0, a null model as a model at 0); **R** is R's "
        "`coxph`, `survfit` or `survdiff` run live on the same data by "
        "`tests/r/survival_book.R`. The test asserts each rwe value at a relative error of "
        f"{RTOL:g} to both; R's own test files assert the hand values with `all.equal` "
        "(1.5e-8). Where no closed form exists (a coefficient that runs to infinity, whose "
        "value is where the iteration stops; an aliased coefficient, NA) rwe is compared "
        "with R only.",
        "",
        "| case | source | quantity | rwe | hand | R | rel. error to hand | rel. error to R |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        cells = [
            row.case,
            row.source,
            row.quantity,
            _number(row.rwe),
            _number(row.hand),
            _number(row.R),
            _error(row.rel_err_hand),
            _error(row.rel_err_R),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    worst = np.nanmax(table[["rel_err_hand", "rel_err_R"]].to_numpy())
    lines += [
        "",
        f"{len(table)} quantities; the largest relative error is {_error(worst)}.",
        "",
        "## Edge cases (tests/test_survival_book.py)",
        "",
        "- A missing time, status, covariate, stratum, entry time, weight or cluster leaves the "
        "row out, as R's model frame (`na.omit`) does; a status other than 0/1 is an error.",
        '- `coxph` refuses case weights ≤ 0 ("Invalid weights, must be >0"); so does rwe, '
        "naming `weights`. `survfit` allows 0; so does `km_curve`.",
        "- No events: as R, coefficients NA (NaN), variance 0, log-likelihood 0, with the note "
        '"not estimable: no events".',
        "- One subject: as R, the log-likelihood is 0 and the fit does not converge (0 / 0).",
        "- Log-rank with no events: R's `survdiff` gives chisq 0 with a warning; rwe gives NaN "
        'with the note "not testable: fewer than two groups with events" (by choice: the test '
        "is undefined).",
        "- Out of iterations with `iter.max` > 1, R's `coxph.fit` returns the last accepted "
        "coefficient (as rwe) but inverts an information matrix it has not decomposed again; "
        "rwe gives the inverse at that coefficient. Neither reports a converged fit.",
        "- R's `agreg.fit` recentres the linear predictor when its running mean passes 200; "
        "rwe instead carries the rounding error of its running risk-set sums exactly "
        "(compensated sums), which also keeps a coefficient that runs to infinity on R's path.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        DOC.write_text(render(agreement(Path(tmp))))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
