"""Target-trial framing, weight diagnostics and bootstrap intervals of the comparative analysis.

- :func:`target_trial_table` — the protocol of the emulated target trial, from the config.
- :func:`common_support` and :func:`weight_summary` — the propensity-score overlap (patients
  outside the common support) and the distribution of the weights per group, with Kish's ESS.
- :func:`rmst_horizon` — the RMST horizon τ, refused beyond the time where a group has fewer
  than a configured number of patients at risk.
- :func:`bootstrap_indices`, :func:`bootstrap_replicates` and :func:`boot_ci` — a
  nonparametric bootstrap of the whole weighted pipeline (propensity model, weights, estimate)
  with R ``boot::boot.ci``'s normal and percentile intervals; :func:`bootstrap_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from rwe.labels import LABELS, label
from rwe.tables import baseline_label

#: The bootstrap quantities of each endpoint, in table order.
BOOT_QUANTITIES = ("hr", "rmst_difference", "rmst_ratio", "surv_difference")
BOOTSTRAP_COLUMNS = [
    *["endpoint", "comparison", "quantity", "month", "estimate"],
    *["fixed_ci_lower", "fixed_ci_upper", "fixed_variance"],
    *["boot_se", "boot_bias", "normal_lower", "normal_upper"],
    *["percentile_lower", "percentile_upper", "replicates", "failed", "seed", "note"],
]
WEIGHT_COLUMNS = [
    *["comparison", "group", "n", "n_outside_support", "support_lower", "support_upper"],
    *["weight_min", "weight_p05", "weight_p25", "weight_median", "weight_p75", "weight_p95"],
    *["weight_max", "weight_sum", "ess"],
]
TARGET_TRIAL_COLUMNS = ["component", "target_trial", "emulation"]


# --------------------------------------------------------------------------- protocol
def covariate_label(variable: str, gfr_cutoff: float) -> str:
    """Reader's name of a propensity covariate: a flag's label, else its baseline label.

    ``emd`` is "Extramedullary disease", ``gfr`` "Creatinine clearance (GFR), mL/min/1.73 m²"
    (:func:`rwe.tables.baseline_label`), ``refractory_imid`` "IMiD refractory".
    """
    if variable in LABELS:
        return label(variable, gfr_cutoff)
    return baseline_label(variable, gfr_cutoff)


def target_trial_table(
    levels: list[str],
    treatment: str,
    covariates: list[str],
    estimand: str,
    weighting: str,
    tau_months: float | None,
    min_at_risk: int,
    pfs_death_events: str,
    bootstrap_replicates: int,
    conf_level: float,
    balance_threshold: float,
) -> pd.DataFrame:
    """The protocol of the target trial the comparison emulates (Hernán & Robins 2016).

    One row per protocol component: what the (hypothetical) randomised trial would specify and
    how the observational data emulate it, written from the configured options only (no
    patient data), so that it is fixed before the data are analysed.

    Returns
    -------
    pandas.DataFrame
        :data:`TARGET_TRIAL_COLUMNS`.
    """
    treated, control = levels
    deaths = {
        "all": "progression or death from any cause",
        "myeloma": "progression or death from myeloma or of unknown cause, deaths from other "
        "causes censored at death",
        "none": "progression, deaths censored at death",
    }[pfs_death_events]
    contrast = {
        "ATE": "Average treatment effect in the eligible population (ATE)",
        "ATT": f"Average treatment effect in patients who started {treated} (ATT)",
    }[estimand]
    tau = (
        f"at τ = {tau_months:g} months (prespecified)"
        if tau_months is not None
        else "at τ = the last time both groups still have no fewer than "
        f"{min_at_risk} patients at risk (chosen from the data, not prespecified)"
    )
    level = f"{100 * conf_level:g}%"
    rows = [
        (
            "Eligibility",
            f"Patients with relapsed/refractory myeloma starting {treated} or {control}, with "
            "the confounders known at the start.",
            f"Patients of the extract with {treatment} = {treated} or {control} and every "
            "propensity covariate known at day 0 (complete cases; the others are counted in "
            "the attrition table).",
        ),
        (
            "Treatment strategies",
            f"Start {treated} vs start {control} at day 0, then treatment as usual.",
            f"The regimen recorded as started at day 0 ({treatment}); later switches are "
            "ignored (observational analogue of intention to treat).",
        ),
        (
            "Assignment",
            "Random, not blinded.",
            "Not random: exchangeability assumed given the propensity covariates "
            f"({', '.join(covariates)}), all measured at or before day 0; inverse-probability-"
            f"of-treatment weights ({weighting}).",
        ),
        (
            "Time zero",
            "Randomisation, when eligibility is met and a strategy is assigned.",
            "Day 0: the start of the ixazomib-containing regimen, when eligibility is met and "
            "the regimen is chosen (no immortal time).",
        ),
        (
            "Outcomes",
            f"PFS: {deaths}. OS: death from any cause.",
            "As in the trial, from day 0, in months.",
        ),
        (
            "Follow-up",
            "From time zero to the outcome, loss to follow-up or the end of the study.",
            "From day 0 to the event or to the last assessment (PFS) or last contact (OS); "
            "censoring assumed independent of the outcome given the regimen.",
        ),
        ("Causal contrast", contrast, f"{contrast}, under the assumptions above."),
        (
            "Analysis",
            "Intention-to-treat comparison of the randomised groups.",
            "Weighted Cox hazard ratio (robust sandwich variance), weighted Kaplan–Meier "
            f"survival at the landmarks and restricted mean survival time {tau}, each with "
            f"{level} intervals from the sandwich (weights held fixed) and from "
            f"{bootstrap_replicates} bootstrap replicates of the whole pipeline (propensity "
            "model, weights, estimate). Estimates are interpretable only when every covariate "
            f"is balanced after weighting (|SMD| ≤ {balance_threshold:g}); trimming and "
            "truncation of the weights are prespecified sensitivity analyses. The unweighted "
            "comparisons and the competing-risks analyses (Gray's test, Fine–Gray) are "
            "descriptive and exploratory.",
        ),
    ]
    return pd.DataFrame(rows, columns=TARGET_TRIAL_COLUMNS)


# --------------------------------------------------------------------------- overlap, weights


def common_support(ps, treated) -> tuple[float, float]:
    """The common support of the propensity score.

    From the larger of the two groups' minimum to the smaller of their maximum (NaN, NaN when
    a group is empty).
    """
    ps = np.asarray(ps, dtype=float)
    t = np.asarray(treated) == 1
    if not t.any() or t.all():
        return np.nan, np.nan
    return float(max(ps[t].min(), ps[~t].min())), float(min(ps[t].max(), ps[~t].max()))


def outside_support(ps, treated) -> np.ndarray:
    """Patients whose propensity score lies outside :func:`common_support`."""
    ps = np.asarray(ps, dtype=float)
    lower, upper = common_support(ps, treated)
    if np.isnan(lower):
        return np.zeros(ps.size, dtype=bool)
    return (ps < lower) | (ps > upper)


def weight_summary(cohort: pd.DataFrame, levels: list[str], label: str) -> pd.DataFrame:
    """Distribution of the IPT weights per group and overall, and the PS overlap.

    Weights of the analysed patients (after trimming and truncation); percentiles as R
    ``quantile(type = 7)``; ESS is Kish's (Σw)²/Σw². ``n_outside_support`` counts the patients
    (of the whole cohort, before trimming) whose propensity score lies outside the common
    support ``[support_lower, support_upper]`` (:func:`common_support`).

    Parameters
    ----------
    cohort : pandas.DataFrame
        ``treated, ps, kept, weight`` (:func:`rwe.comparative.weight_cohort`).
    levels : list of str
    label : str

    Returns
    -------
    pandas.DataFrame
        :data:`WEIGHT_COLUMNS`, rows ``levels[0]``, ``levels[1]``, ``all``.
    """
    ps = cohort["ps"].to_numpy(float)
    treated = cohort["treated"].to_numpy() == 1
    outside = outside_support(ps, treated)
    lower, upper = common_support(ps, treated)
    kept = cohort["kept"].to_numpy(bool)
    w = cohort["weight"].to_numpy(float)
    rows = []
    for group, rows_of in ((levels[0], treated), (levels[1], ~treated), ("all", treated | True)):
        x = w[rows_of & kept]
        q = np.quantile(x, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]) if x.size else [np.nan] * 7
        rows.append(
            {
                "comparison": label,
                "group": group,
                "n": int((rows_of & kept).sum()),
                "n_outside_support": int((rows_of & outside).sum()),
                "support_lower": lower,
                "support_upper": upper,
                **dict(zip(WEIGHT_COLUMNS[6:13], q, strict=True)),
                "weight_sum": float(x.sum()),
                "ess": float(x.sum() ** 2 / (x**2).sum()) if x.size else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=WEIGHT_COLUMNS)


# --------------------------------------------------------------------------- RMST horizon


def at_risk_limit(time, k: int) -> float:
    """The last time at which at least ``k`` of these patients are at risk (time ≥ t).

    The k-th largest follow-up time (−inf with fewer than k patients): R ``survfit``'s
    ``n.risk`` is at least k up to it and below k after it.
    """
    time = np.sort(np.asarray(time, dtype=float))
    if k <= 0:
        return np.inf
    return float(time[-k]) if time.size >= k else -np.inf


def rmst_horizon(
    data: pd.DataFrame, endpoint: str, levels: list[str], tau_months, min_at_risk: int
) -> tuple[float, str, str]:
    """The RMST horizon of ``endpoint`` and whether it is supported.

    A configured τ is refused when it lies beyond the time where a group has fewer than
    ``min_at_risk`` patients at risk (:func:`at_risk_limit`); with ``tau_months`` None, τ is
    that time itself (the last time both groups have ``min_at_risk`` at risk), chosen from the
    data and said so.

    Returns
    -------
    tau : float
    note : str
        Why τ is what it is (empty for a supported, prespecified τ).
    refusal : str
        ``"not estimable: ..."`` when τ is refused, else empty.
    """
    time = data[f"{endpoint.lower()}_time"].to_numpy(float)
    treated = data["treated"].to_numpy() == 1
    limits = {
        levels[0]: at_risk_limit(time[treated], min_at_risk),
        levels[1]: at_risk_limit(time[~treated], min_at_risk),
    }
    arm = min(limits, key=limits.get)
    limit = limits[arm]
    if tau_months is None:
        if not np.isfinite(limit):
            return (
                np.nan,
                "",
                f"not estimable: {arm} has fewer than {min_at_risk} patients",
            )
        return (
            limit,
            "τ chosen from the data (not prespecified): the last time both groups still have "
            f"no fewer than {min_at_risk} patients at risk",
            "",
        )
    tau = float(tau_months)
    if tau > limit:
        where = f" ({limit:.1f} months)" if np.isfinite(limit) else ""
        return (
            tau,
            "",
            f"not estimable: τ = {tau:g} months is beyond the time where {arm} has fewer "
            f"than {min_at_risk} patients at risk{where}",
        )
    return tau, "", ""


# --------------------------------------------------------------------------- bootstrap


def bootstrap_indices(treated, replicates: int, seed: int) -> np.ndarray:
    """Row indices of stratified bootstrap resamples: each group resampled to its own size.

    Returns
    -------
    numpy.ndarray
        ``(replicates, n)``, 0-based; row b holds the treated rows of resample b, then the
        controls (numpy ``default_rng(seed)``).
    """
    t = np.asarray(treated) == 1
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(t), np.flatnonzero(~t)]
    out = np.empty((replicates, t.size), dtype=np.int64)
    for b in range(replicates):
        out[b] = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
    return out


def norm_inter(t, alpha) -> np.ndarray:
    """Percentile-interval limits, as R ``boot:::norm.inter``.

    Order statistics of the replicates, interpolated on the normal quantile scale.
    """
    t = np.sort(np.asarray(t, dtype=float)[np.isfinite(t)])
    r = t.size
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    rk = (r + 1) * alpha
    k = np.trunc(rk).astype(int)
    out = np.empty(alpha.size)
    for i, (a, kk, rr) in enumerate(zip(alpha, k, rk, strict=True)):
        if kk == rr and 0 < kk <= r:
            out[i] = t[kk - 1]
        elif kk <= 0:
            out[i] = t[0]
        elif kk >= r:
            out[i] = t[-1]
        else:
            q1, q2, q3 = special.ndtri([a, kk / (r + 1), (kk + 1) / (r + 1)])
            out[i] = t[kk - 1] + (q1 - q2) / (q3 - q2) * (t[kk] - t[kk - 1])
    return out


def boot_ci(t0: float, t, conf_level: float = 0.95) -> dict:
    """Normal and percentile bootstrap intervals, as R ``boot.ci(type = c("norm", "perc"))``.

    Normal: t0 − bias ∓ z·sd(t*), bias = mean(t*) − t0, sd with n − 1. Percentile:
    :func:`norm_inter` at (1 ∓ conf)/2. Non-finite replicates are left out (as ``boot.ci``).
    """
    t = np.asarray(t, dtype=float)
    t = t[np.isfinite(t)]
    if t.size < 2 or not np.isfinite(t0):
        return dict.fromkeys(("se", "bias", "normal", "percentile"), np.nan) | {
            "normal": (np.nan, np.nan),
            "percentile": (np.nan, np.nan),
        }
    se = float(t.std(ddof=1))
    bias = float(t.mean() - t0)
    z = float(special.ndtri((1 + conf_level) / 2))
    lower, upper = norm_inter(t, [(1 - conf_level) / 2, (1 + conf_level) / 2])
    return {
        "se": se,
        "bias": bias,
        "normal": (t0 - bias - z * se, t0 - bias + z * se),
        "percentile": (float(lower), float(upper)),
    }
