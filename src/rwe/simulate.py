"""Synthetic site extracts calibrated to the published marginals (Zhou et al.; Gupta et al.).

The generator writes every file of the input contract (DESIGN.md §3): ``patients.csv``,
``responses.csv``, ``adverse_events.csv`` and ``labs.csv``. Marginal distributions follow
``rwe/data/published.yaml`` (a copy of the seed papers' figures); survival times come from a
proportional-hazards model whose log hazard ratios are the published multivariable Cox
estimates, with baseline hazards solved so that the cohort medians match the published ones.

Nothing here is real patient data: identifiers are ``SIM-<site>-<n>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rwe.derive import DAYS_PER_MONTH, compute_best_response
from rwe.published import published_reference
from rwe.safety import nadir_windows

RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]

# Regimen mix of Zhou et al.: the nine patients outside the five named regimens were on
# Ixa-Cd, Ixa-Dd or Ixa-Ed.
REGIMEN_SHARES = {
    "Ixa-Rd": 59,
    "Ixa-Pd": 24,
    "Ixa-Td": 12,
    "Ixa-d": 15,
    "Ixa": 7,
    "Ixa-Cd": 4,
    "Ixa-Dd": 3,
    "Ixa-Ed": 2,
}

# Log hazard ratios of the data-generating model. PFS/OS effects of GFR <= 70 and triple-class
# refractory disease are the published multivariable estimates; the others are modest effects
# consistent with the univariable results in the paper.
PFS_LOG_HR = {
    "gfr_le70": np.log(2.11),
    "triple_class_refractory": np.log(1.6),
    "emd": np.log(1.4),
    "high_risk_cyto": np.log(1.5),
    "age_ge80": 0.0,
    "responder": np.log(0.35),
}
OS_LOG_HR = {
    "gfr_le70": np.log(5.0),
    "triple_class_refractory": np.log(9.0),
    "emd": np.log(1.6),
    "high_risk_cyto": np.log(1.5),
    "age_ge80": np.log(3.0),
    "responder": np.log(0.5),
}

# Nadir medians (10^9/L) by regimen (Zhou et al. Figures 6-7); IMiD-free regimens share one.
# Nominal medians of the generating model relative to the published ones: the adjustments below
# (responders progress after confirmation, deaths after progression) move the observed medians.
PFS_MEDIAN_FACTOR = 1.1
OS_MEDIAN_FACTOR = 1.05
ANC_NADIR_MEDIAN = {"Ixa-Pd": 0.9, "Ixa-Rd": 2.2, "Ixa-Td": 1.9}
ANC_NADIR_IMID_FREE = 2.8
WBC_NADIR = {"imid": 3.6, "imid_free": 4.4}


def _binary(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Return exactly round(share * n) ones in random order (fixes the marginal, not the noise)."""
    k = int(round(share * n))
    out = np.zeros(n, dtype=int)
    out[rng.choice(n, size=k, replace=False)] = 1
    return out


def _counts_from_shares(shares: dict[str, float], n: int) -> dict[str, int]:
    """Largest-remainder rounding of shares to counts that add up to n."""
    total = sum(shares.values())
    raw = {k: v / total * n for k, v in shares.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[
        : n - sum(counts.values())
    ]:
        counts[k] += 1
    return counts


def simulate_patients(n: int, rng: np.random.Generator, site: str = "demo") -> pd.DataFrame:
    """Simulate baseline characteristics for ``n`` patients.

    Parameters
    ----------
    n : int
        Number of patients.
    rng : numpy.random.Generator
        Source of randomness.
    site : str
        Site name, used in the pseudonymous identifiers.

    Returns
    -------
    pandas.DataFrame
        One row per patient with the baseline columns of ``patients.csv`` (outcomes are added by
        :func:`simulate_outcomes`).
    """
    ref = published_reference()["zhou_2026"]["baseline"]
    N = published_reference()["zhou_2026"]["n"]
    df = pd.DataFrame({"patient_id": [f"SIM-{site}-{i + 1:04d}" for i in range(n)]})
    df["sex"] = np.where(_binary(rng, n, ref["male"]["n"] / N) == 1, "M", "F")
    age = rng.normal(ref["age"]["median"], 9.5, n)
    df["age"] = np.clip(np.round(age), ref["age"]["min"], 90).astype(int)
    # A handful of very old patients (the paper's age >= 80 subgroup).
    old = rng.choice(n, size=max(1, int(round(0.06 * n))), replace=False)
    df.loc[old, "age"] = rng.integers(80, ref["age"]["max"] + 1, size=len(old))
    diag = np.array(["MM"] * n, dtype=object)
    special = rng.choice(n, size=int(round(4 / N * n)), replace=False)
    diag[special[: len(special) // 2]] = "POEMS"
    diag[special[len(special) // 2 :]] = "MGCS"
    df["diagnosis"] = diag
    df["al_amyloidosis"] = _binary(rng, n, ref["al_amyloidosis"]["n"] / N)
    df["years_since_diagnosis"] = np.round(
        rng.lognormal(np.log(ref["years_since_diagnosis"]["median"]), 0.45, n), 1
    )
    counts = _counts_from_shares(REGIMEN_SHARES, n)
    df["regimen"] = rng.permutation(np.repeat(list(counts), list(counts.values())))
    # Maintenance: 14/126, drawn from Ixa monotherapy, Ixa-d and Ixa-Rd (4 of 59).
    setting = np.array(["relapse"] * n, dtype=object)
    n_maint = int(round(ref["setting_maintenance"]["n"] / N * n))
    pool = np.flatnonzero(df["regimen"].isin(["Ixa", "Ixa-d", "Ixa-Rd"]).to_numpy())
    weights = np.where(df["regimen"].iloc[pool] == "Ixa-Rd", 0.25, 1.0)
    maint = rng.choice(pool, size=min(n_maint, len(pool)), replace=False, p=weights / weights.sum())
    setting[maint] = "maintenance"
    df["setting"] = setting
    df["start_dose_mg"] = np.where(
        _binary(rng, n, ref["start_dose_4mg"]["n"] / N) == 1,
        4.0,
        rng.choice([3.0, 2.3], n, p=[0.8, 0.2]),
    )
    # Prior lines: 27.8% second line (one prior line); the rest 2-13, median 2.
    second = _binary(rng, n, ref["second_line"]["n"] / N)
    later = 2 + np.minimum(rng.geometric(0.45, n) - 1, 11)
    df["prior_lines"] = np.where(second == 1, 1, later)
    # Refractoriness: triple-class first, then single classes among the rest so marginals hold.
    tcr = _binary(rng, n, ref["triple_class_refractory"]["n"] / N)
    rest = N - ref["triple_class_refractory"]["n"]
    extra = {
        c: (ref[f"refractory_{c}"]["n"] - ref["triple_class_refractory"]["n"]) / rest
        for c in ("imid", "pi", "cd38")
    }
    for c, p in extra.items():
        df[f"refractory_{c}"] = np.where(tcr == 1, 1, rng.binomial(1, p, n))
    partial_all = (tcr == 0) & df[["refractory_imid", "refractory_pi", "refractory_cd38"]].all(
        axis=1
    )
    df.loc[partial_all, "refractory_cd38"] = 0
    # Heavily pretreated patients are the refractory ones.
    df.loc[tcr == 1, "prior_lines"] = np.maximum(df.loc[tcr == 1, "prior_lines"], 3)
    df["prior_asct"] = _binary(rng, n, ref["prior_asct"]["n"] / N)
    df["prior_allo"] = _binary(rng, n, ref["prior_allo"]["n"] / N) * df["prior_asct"]
    # Cytogenetics: about 8% not tested; high risk in 48.4% overall.
    tested = rng.random(n) > 0.08
    high = rng.random(n) < ref["high_risk_cyto"]["percent"] / 100 / tested.mean()
    del17p = np.where(high, rng.binomial(1, 0.35, n), 0)
    t4_14 = np.where(high, rng.binomial(1, 0.3, n), 0)
    gain1q = np.where(high & (del17p + t4_14 == 0), 1, np.where(high, rng.binomial(1, 0.5, n), 0))
    for col, vals in (("del17p", del17p), ("t4_14", t4_14), ("gain1q21", gain1q)):
        df[col] = pd.array(np.where(tested, vals, -1), dtype="Int64")
        df.loc[~tested, col] = pd.NA
    df["emd"] = pd.array(_binary(rng, n, ref["emd"]["n"] / N), dtype="Int64")
    df.loc[rng.random(n) < 0.03, "emd"] = pd.NA
    gfr = rng.normal(ref["gfr"]["median"], 27, n)
    df["gfr"] = np.round(np.clip(gfr, ref["gfr"]["min"], ref["gfr"]["max"]), 0)
    df.loc[rng.random(n) < 0.02, "gfr"] = np.nan
    pn = np.zeros(n)
    n_pn = published_reference()["zhou_2026"]["safety"]["pn_baseline"]["n"]
    pn_idx = rng.choice(n, size=int(round(n_pn / N * n)), replace=False)
    pn[pn_idx] = rng.choice([1, 2], size=len(pn_idx), p=[0.8, 0.2])
    df["pn_baseline_grade"] = pn.astype(int)
    return df


def _flags(df: pd.DataFrame) -> pd.DataFrame:
    """Covariates of the data-generating model (missing treated as 0)."""
    high = df[["del17p", "t4_14", "gain1q21"]].fillna(0).max(axis=1)
    return pd.DataFrame(
        {
            "gfr_le70": (df["gfr"].fillna(90) <= 70).astype(int),
            "triple_class_refractory": (
                df[["refractory_imid", "refractory_pi", "refractory_cd38"]].all(axis=1)
            ).astype(int),
            "emd": df["emd"].fillna(0).astype(int),
            "high_risk_cyto": high.astype(int),
            "age_ge80": (df["age"] >= 80).astype(int),
        },
        index=df.index,
    )


def simulate_best_response(df: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Best overall response with the published category counts and subgroup ORR contrasts.

    A latent score (worse when triple-class or PI refractory, better in second line) is ranked
    and cut at the published cumulative shares, so the marginal distribution is exact up to
    rounding while the subgroup differences come from the score.
    """
    resp = published_reference()["zhou_2026"]["response"]
    n = len(df)
    n_ne = int(round((published_reference()["zhou_2026"]["n"] - resp["evaluable"]) / 126 * n))
    f = _flags(df)
    score = (
        -0.6 * f["triple_class_refractory"]
        - 0.9 * df["refractory_pi"]
        + 0.9 * (df["prior_lines"] == 1)
        + rng.normal(0, 1, n)
    )
    ne = rng.choice(n, size=n_ne, replace=False)
    evaluable = np.setdiff1d(np.arange(n), ne)
    cr_total = resp["all"]["CR"]
    shares = {
        "sCR": 2,
        "CR": cr_total - 2,
        "VGPR": resp["all"]["VGPR"],
        "PR": resp["all"]["PR"],
        "MR": resp["all"]["MR"],
    }
    rest = resp["evaluable"] - sum(shares.values())
    shares["SD"] = round(rest * 0.55)
    shares["PD"] = rest - shares["SD"]
    counts = _counts_from_shares(shares, len(evaluable))
    order = evaluable[np.argsort(-score.to_numpy()[evaluable])]
    labels = np.repeat(RESPONSE_ORDER, [counts[c] for c in RESPONSE_ORDER])
    best = pd.Series(pd.NA, index=df.index, dtype="object")
    best.iloc[order] = labels
    best.iloc[ne] = "NE"
    return best


def _solve_baseline_rate(lp: np.ndarray, target_median: float) -> float:
    """Baseline exponential rate so that the median event time in the cohort is the target.

    Uses the uncensored population median of the mixture (bisection on the rate): the censoring
    pattern is then added separately, as in the real cohort.
    """
    lo, hi = 1e-5, 10.0
    for _ in range(80):
        mid = np.sqrt(lo * hi)
        surv_at_target = np.mean(np.exp(-mid * np.exp(lp) * target_median))
        if surv_at_target > 0.5:
            lo = mid
        else:
            hi = mid
    return float(np.sqrt(lo * hi))


def simulate_outcomes(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add best response, progression, death and follow-up days to simulated patients.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`simulate_patients`.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        ``df`` with ``best_response``, ``progression_day``, ``last_assessment_day``,
        ``death_day``, ``death_cause`` and ``last_followup_day``.
    """
    surv = published_reference()["zhou_2026"]["survival"]
    out = df.copy()
    n = len(out)
    out["best_response"] = simulate_best_response(out, rng)
    f = _flags(out)
    f["responder"] = out["best_response"].isin(["sCR", "CR", "VGPR", "PR"]).astype(int)
    lp_pfs = sum(f[k] * v for k, v in PFS_LOG_HR.items()).to_numpy()
    lp_os = sum(f[k] * v for k, v in OS_LOG_HR.items()).to_numpy()
    # Administrative censoring: accrual over ~8 years, analysis at a common data cut, plus
    # loss to follow-up; calibrated so the reverse-KM median follow-up is near 27 months.
    followup = np.where(rng.random(n) < 0.5, rng.uniform(2, 100, n), rng.uniform(2, 36, n))
    rate_pfs = _solve_baseline_rate(lp_pfs, PFS_MEDIAN_FACTOR * surv["pfs"]["median"])
    # Deaths are pushed after progression below, which the rate solver does not see; a
    # longer nominal OS median compensates (checked by the published comparison of the demo).
    rate_os = _solve_baseline_rate(lp_os, OS_MEDIAN_FACTOR * surv["os"]["median"])
    t_prog = rng.exponential(1 / (rate_pfs * np.exp(lp_pfs)))
    # Best response PD means progression at the first assessments; any other best response
    # needs two confirming assessments (4-weekly) before progression.
    is_pd = (out["best_response"] == "PD").to_numpy()
    t_prog = np.where(is_pd, np.minimum(t_prog, rng.uniform(0.9, 2.5, n)), np.maximum(t_prog, 2.2))
    t_death = rng.exponential(1 / (rate_os * np.exp(lp_os)))
    # Death cannot precede progression unless it is not from myeloma: most deaths follow a
    # progression; a few (about 2%) are early deaths from other causes.
    other_cause = rng.random(n) < 0.03
    t_death = np.where(other_cause, np.minimum(t_death, rng.uniform(1, 40, n)), t_death)
    t_death = np.where(~other_cause & (t_death < t_prog), t_prog + rng.exponential(6, n), t_death)
    died = t_death <= followup
    progressed = (t_prog <= np.minimum(followup, t_death)) & ~(other_cause & (t_death < t_prog))
    last_fu = np.where(died, t_death, followup)
    to_day = lambda m: np.maximum(np.round(m * DAYS_PER_MONTH), 1).astype(int)  # noqa: E731
    out["last_followup_day"] = to_day(last_fu)
    prog_day = np.where(progressed, to_day(t_prog), -1)
    out["progression_day"] = pd.array(np.minimum(prog_day, out["last_followup_day"]), dtype="Int64")
    out.loc[~progressed, "progression_day"] = pd.NA
    # Disease assessments stop at progression; otherwise the last one is up to 2 months before
    # last contact.
    last_assess = np.where(
        progressed, prog_day, np.maximum(out["last_followup_day"] - rng.integers(0, 60, n), 0)
    )
    out["last_assessment_day"] = pd.array(last_assess, dtype="Int64")
    out["death_day"] = pd.array(np.where(died, out["last_followup_day"], -1), dtype="Int64")
    out.loc[~died, "death_day"] = pd.NA
    cause = np.where(other_cause, "other", np.where(rng.random(n) < 0.05, "unknown", "myeloma"))
    out["death_cause"] = pd.Series(np.where(died, cause, None), index=out.index, dtype="object")
    # Gupta et al.: time-averaged AUC/day roughly proportional to dose with ~40% CV.
    out["exposure_auc"] = np.round(out["start_dose_mg"] * 0.24 * rng.lognormal(0, 0.4, n), 4)
    return out


def simulate_responses(patients: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Serial IMWG assessments (every ~4 weeks) whose best confirmed response is the target.

    Each patient climbs through the categories to the best response, holds it for at least two
    consecutive assessments (IMWG confirmation), and ends with PD at the progression day.
    """
    rows = []
    for p in patients.itertuples(index=False):
        best = p.best_response
        if pd.isna(best) or best == "NE":
            continue
        stop = p.last_assessment_day if pd.notna(p.last_assessment_day) else p.last_followup_day
        days = list(range(28, int(stop) + 1, 28))
        if pd.notna(p.progression_day):
            days = [d for d in days if d < p.progression_day]
        target = RESPONSE_ORDER.index(best)
        ladder = [
            c for c in ["SD", "MR", "PR", "VGPR", "CR", "sCR"] if RESPONSE_ORDER.index(c) >= target
        ]
        if best == "PD":
            seq = []
        else:
            # Climb towards the best response, then hold it for the remaining assessments so it
            # is confirmed (two consecutive) whenever there are at least two.
            climb = ladder[: rng.integers(1, len(ladder) + 1)][: max(len(days) - 2, 0)]
            climb = [c for c in climb if c != best]
            seq = climb + [best] * max(2, len(days) - len(climb))
        for day, resp in zip(days, seq, strict=False):
            rows.append((p.patient_id, day, resp))
        if pd.notna(p.progression_day):
            rows.append((p.patient_id, int(p.progression_day), "PD"))
            rows.append((p.patient_id, int(min(p.progression_day + 28, p.last_followup_day)), "PD"))
    out = pd.DataFrame(rows, columns=["patient_id", "day", "response"])
    return out.drop_duplicates(["patient_id", "day"], keep="first")


def _nadir_medians(patients: pd.DataFrame) -> pd.DataFrame:
    imid = patients["regimen"].isin(["Ixa-Rd", "Ixa-Pd", "Ixa-Td"])
    anc = patients["regimen"].map(ANC_NADIR_MEDIAN).fillna(ANC_NADIR_IMID_FREE)
    wbc = np.where(imid, WBC_NADIR["imid"], WBC_NADIR["imid_free"]) * np.where(
        patients["regimen"] == "Ixa-Pd", 0.75, 1
    )
    # The white cells other than neutrophils (lymphocytes, monocytes …): WBC = ANC + these.
    # A tenth of the ANC is added back because the nadir of the sum of two skewed draws sits
    # below the sum of their medians (checked on 1,000 patients: WBC 3.6 vs 4.5 as published).
    other = wbc - 0.9 * anc
    return pd.DataFrame(
        {"ANC": anc, "OTHER_WBC": other, "PLT": 150.0, "HGB": 11.5}, index=patients.index
    )


#: Bounds of each simulated patient's nadir and baseline (the units of labs.csv): tails of the
#: log-normal draws are cut where a myeloma patient's blood count on treatment stops being
#: believable, inside the ranges of :data:`rwe.plausibility.PHYSIOLOGICAL_RANGES`.
NADIR_BOUNDS = {
    "ANC": (0.05, 6.0),
    "OTHER_WBC": (0.3, 3.0),
    "PLT": (8.0, 450.0),
    "HGB": (6.0, 14.0),
}
#: The parts of the white count, which rise and fall together in a draw.
WHITE_CELLS = {"ANC": "white", "OTHER_WBC": "white"}
BASELINE_CAP = {"ANC": 9.0, "OTHER_WBC": 4.0, "PLT": 600.0, "HGB": 16.0}
#: Rise from nadir to baseline: a factor for counts, g/dL added for haemoglobin.
BASELINE_RISE = {"ANC": (1.2, 1.8), "OTHER_WBC": (1.1, 1.5), "PLT": (1.2, 1.8), "HGB": (0.5, 2.5)}
LAB_SD = {"ANC": 0.5, "OTHER_WBC": 0.25, "PLT": 0.5, "HGB": 0.15}
LAB_UNITS = {"WBC": "10^9/L", "ANC": "10^9/L", "PLT": "10^9/L", "HGB": "g/dL"}
LAB_DIGITS = {"WBC": 2, "ANC": 2, "PLT": 0, "HGB": 1}


def simulate_end_of_treatment(patients: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Day treatment ended: at progression, death or an earlier stop; blank while ongoing.

    Treatment is given until progression (stopped on the day of progression or within two
    weeks) unless it is stopped earlier for toxicity or the patient's choice (a monthly rate of
    about 2.3 %: an exponential time with a 30-month mean) or the patient dies on treatment.
    Patients on treatment at their last follow-up have a blank day.
    """
    n = len(patients)
    last = patients["last_followup_day"].to_numpy(dtype=float)
    progression = patients["progression_day"].to_numpy(dtype=float, na_value=np.nan)
    death = patients["death_day"].to_numpy(dtype=float, na_value=np.nan)
    stop = np.round(rng.exponential(30 * DAYS_PER_MONTH, n))
    stop = np.fmin(stop, progression + rng.integers(0, 15, n))
    stop = np.fmin(stop, death)
    ended = stop <= last
    eot = np.where(ended, np.minimum(np.maximum(stop, 1), last), -1).astype(int)
    out = pd.Series(pd.array(eot, dtype="Int64"), index=patients.index)
    out[~ended] = pd.NA
    return out


def simulate_labs(patients: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Blood counts at baseline and every two weeks on treatment, with regimen-specific nadirs.

    Nadir medians follow Zhou et al. (ANC 0.9 / 2.2 / 1.9 x10^9/L on Ixa-Pd / Rd / Td, WBC 3.6
    vs 4.4 on IMiD vs IMiD-free); higher exposure lowers the nadir (Gupta et al.). Each patient's
    nadir falls in the default nadir window (:func:`rwe.safety.nadir_windows`: day 1 to the
    earlier of progression and end of treatment + 30 days). The draws are plausible by
    construction (:mod:`rwe.plausibility`): WBC is ANC plus the other white cells of the same
    draw, so ANC ≤ WBC, and nadirs and baselines are bounded (:data:`NADIR_BOUNDS`,
    :data:`BASELINE_CAP`).
    """
    med = _nadir_medians(patients)
    exposure = patients["exposure_auc"] / patients["exposure_auc"].median()
    window_end = nadir_windows(patients.assign(site=""))["end_day"].to_numpy()
    rows = []
    for i, p in enumerate(patients.itertuples(index=False)):
        end = int(min(p.last_followup_day, 360))
        days = [-3, *range(14, end + 1, 14)]
        in_window = [j for j, day in enumerate(days) if 1 <= day <= window_end[i]]
        on_treatment = in_window or list(range(1, len(days)))
        k = on_treatment[rng.integers(len(on_treatment))] if len(days) > 1 else 0
        nadir, baseline = {}, {}
        for part, (low, high) in NADIR_BOUNDS.items():
            shift = rng.normal(0, LAB_SD[part]) - 0.25 * (exposure.iloc[i] - 1)
            nadir[part] = float(np.clip(med[part].iloc[i] * np.exp(shift), low, high))
            rise = rng.uniform(*BASELINE_RISE[part])
            raised = nadir[part] + rise if part == "HGB" else nadir[part] * rise
            baseline[part] = min(raised, max(BASELINE_CAP[part], nadir[part]))
        for j, day in enumerate(days):
            # One recovery fraction per draw for the white cells, so ANC and WBC move together.
            recovery = {
                kind: 1.0 if j == 0 else 0.0 if j == k else rng.uniform(0.2, 1)
                for kind in ("white", "PLT", "HGB")
            }
            value = {
                part: nadir[part]
                + (baseline[part] - nadir[part]) * recovery[WHITE_CELLS.get(part, part)]
                for part in NADIR_BOUNDS
            }
            value["WBC"] = value["ANC"] + value.pop("OTHER_WBC")
            for test, unit in LAB_UNITS.items():
                rows.append((p.patient_id, day, test, round(value[test], LAB_DIGITS[test]), unit))
    return pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit"])


def simulate_adverse_events(
    patients: pd.DataFrame, labs: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Reported CTCAE v5 adverse events at the published rates (Zhou et al. Table 3).

    Hematologic events are reported for patients whose lab nadir reaches grade 3 or more, so the
    reported and lab-derived gradings agree; non-hematologic events are drawn with the published
    frequencies and, for fatigue, rash and diarrhea, a rising probability with exposure (Gupta).
    """
    n = len(patients)
    rows = []
    nadir = labs[labs["day"] >= 0].groupby(["patient_id", "test"])["value"].min().unstack()
    thresholds = {
        "Neutrophil count decreased": ("ANC", [(0.5, 4), (1.0, 3), (1.5, 2)]),
        "Platelet count decreased": ("PLT", [(25, 4), (50, 3), (75, 2)]),
        "White blood cell decreased": ("WBC", [(1.0, 4), (2.0, 3), (3.0, 2)]),
        "Anemia": ("HGB", [(8.0, 3), (10.0, 2)]),
    }
    for p in patients.itertuples(index=False):
        for term, (test, cuts) in thresholds.items():
            if p.patient_id not in nadir.index:  # no labs on treatment
                continue
            value = nadir.loc[p.patient_id, test]
            grade = next((g for cut, g in cuts if value < cut), 0)
            # Reported hematologic AEs: most grade >= 3 lab toxicities, fewer grade 2 ones.
            if (grade >= 3 and rng.random() < 0.5) or (grade == 2 and rng.random() < 0.3):
                rows.append((p.patient_id, term, grade, int(rng.integers(14, 120))))
    exposure = (patients["exposure_auc"] / patients["exposure_auc"].median()).to_numpy()
    logit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    nonheme = {
        # term: (base log-odds, slope per relative exposure, grades and their probabilities)
        # Same rates at the median exposure as before, with Gupta et al.'s rise with exposure.
        "Fatigue": (-4.4, 2.0, [1, 2, 3], [0.5, 0.4, 0.1]),
        "Diarrhea": (-4.6, 2.0, [1, 2, 3], [0.6, 0.3, 0.1]),
        "Rash maculo-papular": (-5.1, 2.0, [1, 2, 3], [0.6, 0.3, 0.1]),
        "Nausea": (-3.2, 0.2, [1, 2], [0.7, 0.3]),
        "Peripheral edema": (-3.6, 0.0, [1, 2], [0.8, 0.2]),
    }
    for term, (a, b, grades, probs) in nonheme.items():
        hit = rng.random(n) < logit(a + b * exposure)
        for i in np.flatnonzero(hit):
            rows.append(
                (
                    patients["patient_id"].iloc[i],
                    term,
                    int(rng.choice(grades, p=probs)),
                    int(rng.integers(7, 200)),
                )
            )
    # Peripheral neuropathy: 27 grade 1 and 6 grade 2 among 126, more often in those with PN.
    pn = rng.random(n) < np.where(patients["pn_baseline_grade"] > 0, 0.45, 0.2)
    for i in np.flatnonzero(pn):
        grade = int(rng.choice([1, 2, 3], p=[0.8, 0.17, 0.03]))
        rows.append(
            (
                patients["patient_id"].iloc[i],
                "Peripheral sensory neuropathy",
                grade,
                int(rng.integers(30, 300)),
            )
        )
    ae = pd.DataFrame(rows, columns=["patient_id", "term", "grade", "onset_day"])
    last = patients.set_index("patient_id")["last_followup_day"]
    ae["onset_day"] = np.minimum(ae["onset_day"], ae["patient_id"].map(last)).astype(int)
    return ae


def simulate_site(n: int, seed: int, site: str = "demo") -> dict[str, pd.DataFrame]:
    """Simulate one site extract: every table of the input contract.

    Parameters
    ----------
    n : int
        Number of patients.
    seed : int
        Seed of the random generator; the same (n, seed, site) gives the same extract.
    site : str
        Site name (used in pseudonymous ids).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``patients``, ``responses``, ``adverse_events`` and ``labs``.
    """
    rng = np.random.default_rng(seed)
    patients = simulate_outcomes(simulate_patients(n, rng, site), rng)
    responses = simulate_responses(patients, rng)
    # The reported best response agrees with the serial assessments, as in a clean extract.
    derived = compute_best_response(responses.assign(site=site)).set_index("patient_id")
    patients["best_response"] = (
        patients["patient_id"].map(derived["best_response"]).fillna("NE").to_numpy()
    )
    # Its own stream: the draws of every other column stay as they were before it existed.
    patients["end_of_treatment_day"] = simulate_end_of_treatment(
        patients, np.random.default_rng([seed, 2])
    )
    labs = with_response_labs(simulate_labs(patients, rng), patients, responses, seed)
    return {
        "patients": patients,
        "responses": responses,
        "adverse_events": simulate_adverse_events(patients, labs, rng),
        "labs": labs,
    }


#: Measurable disease of simulated patients (IMWG): serum M-protein (a fifth of them with
#: measurable urine too), urine only (light-chain myeloma), FLC only, nothing measurable.
DISEASE_SHARES = {"serum": 0.72, "urine": 0.10, "flc": 0.15, "none": 0.03}
#: Reduction from baseline (fraction) that a recorded category implies, for the M-protein or
#: dFLC; CR and sCR have no M-protein on electrophoresis.
REDUCTION = {"SD": (-0.10, 0.20), "MR": (0.28, 0.47), "PR": (0.52, 0.87), "VGPR": (0.91, 0.985)}
#: Urine M-protein (mg/24 h) of a response category when the urine is measurable.
URINE_VALUE = {"PR": (110.0, 190.0), "VGPR": (5.0, 90.0)}
#: Share of responding patients whose laboratory values imply the next category up or down
#: throughout (a clinician's label that the criteria do not support), and of CRs without marrow.
SHIFTED_SHARE = 0.06
NO_MARROW_SHARE = 0.08
RESPONSE_LAB_UNITS = {
    "SPEP_M": "g/dL",
    "UPEP_M": "mg/24h",
    "FLC_involved": "mg/L",
    "FLC_ratio": "ratio",
    "IFE": "0/1",
    "BMPC": "%",
}
_CLIMB = ["SD", "MR", "PR", "VGPR", "CR", "sCR"]


def _confirmed_nadir(values: list[float]) -> float:
    """Lowest confirmed value of a sequence whose first value is the baseline (IMWG)."""
    pairs = [max(a, b) for a, b in zip(values[1:-1], values[2:], strict=False)]
    return min([values[0], *pairs])


def _risen(values: list[float], rng: np.random.Generator, increase: tuple[float, float]) -> float:
    """A value ≥ 40 % and an absolute ``increase`` above the confirmed nadir (progression)."""
    nadir = _confirmed_nadir(values)
    return max(nadir * rng.uniform(1.4, 2.0), nadir + rng.uniform(*increase))


def _patient_response_labs(visits: list[tuple[int, str]], rng: np.random.Generator) -> list:
    """One patient's response tests: ``(day, test, value)`` at baseline and each visit."""
    disease = rng.choice(list(DISEASE_SHARES), p=list(DISEASE_SHARES.values()))
    kappa = rng.random() < 0.65
    uninvolved = rng.uniform(5, 15)
    both = disease == "serum" and rng.random() < 0.2
    spep0 = {"serum": rng.uniform(1.2, 5.5), "none": rng.uniform(0.2, 0.8)}.get(
        disease, rng.uniform(0.0, 0.5)
    )
    upep0 = {"urine": rng.uniform(1400, 3000)}.get(
        disease, rng.uniform(300, 1500) if both else rng.uniform(0, 150)
    )
    involved0 = {"flc": rng.uniform(200, 1500), "none": rng.uniform(10, 18)}.get(
        disease, rng.uniform(20, 300)
    )
    shift = int(rng.choice([-1, 1])) if rng.random() < SHIFTED_SHARE else 0
    marrow = rng.random() >= NO_MARROW_SHARE
    rows = []

    def emit_flc(day: int, involved: float) -> None:
        ratio = involved / uninvolved if kappa else uninvolved / involved
        rows.extend(
            [(day, "FLC_involved", round(involved, 1)), (day, "FLC_ratio", round(ratio, 3))]
        )

    rows += [
        (-5, "SPEP_M", round(spep0, 2)),
        (-5, "UPEP_M", round(upep0)),
        (-5, "IFE", 1),
        (-5, "BMPC", int(rng.integers(15, 70))),
    ]
    emit_flc(-5, involved0)
    serum, urine, dflc = [spep0], [upep0], [involved0 - uninvolved]
    previous, reduction, urine_reduction = None, -np.inf, -np.inf
    for day, recorded in visits:
        category = recorded
        if shift and recorded in _CLIMB[:4]:
            category = _CLIMB[min(max(_CLIMB.index(recorded) + shift, 0), 3)]
        complete = category in ("CR", "sCR")
        if category == "PD":
            serum.append(_risen(serum, rng, (0.6, 1.2)))
            urine.append(_risen(urine, rng, (250, 600)))
            dflc.append(_risen(dflc, rng, (120, 400)))
        elif complete:
            serum.append(0.0)
            urine.append(0.0)
            dflc.append(0.0)
        else:
            # The M-protein does not rise again while the response holds (no false progression).
            r = reduction = max(reduction, rng.uniform(*REDUCTION[category]))
            serum.append(spep0 * (1 - r))
            dflc.append((involved0 - uninvolved) * (1 - r))
            if category in URINE_VALUE:
                urine.append(rng.uniform(*URINE_VALUE[category]))
            else:
                if category == "MR":
                    urine_reduction = max(urine_reduction, rng.uniform(0.55, 0.85))
                urine.append(upep0 * (1 - (urine_reduction if category == "MR" else r)))
        if disease != "flc":
            rows.append((day, "SPEP_M", round(serum[-1], 2)))
        if disease == "urine" or both:
            rows.append((day, "UPEP_M", round(urine[-1])))
        if complete:
            emit_flc(day, uninvolved * rng.uniform(0.9, 1.3))  # a normal ratio
        elif disease == "flc":
            emit_flc(day, uninvolved + dflc[-1])
        elif disease == "none":
            emit_flc(day, involved0 * rng.uniform(0.8, 1.2))
        rows.append((day, "IFE", 0 if complete else 1))
        if complete and category != previous and marrow:
            rows.append((day, "BMPC", 0 if category == "sCR" else int(rng.integers(1, 5))))
        previous = category
    return rows


def simulate_response_labs(
    patients: pd.DataFrame, responses: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Serial SPEP, UPEP, FLC, immunofixation and marrow values that imply the recorded responses.

    Each patient gets a measurable disease (:data:`DISEASE_SHARES`) with baseline values five
    days before day 0, and at every assessment of ``responses.csv`` the values the IMWG 2016
    criteria (:mod:`rwe.imwg`) classify as the recorded category: reductions from baseline
    (:data:`REDUCTION`), negative immunofixation and marrow < 5 % in CR (none in sCR, with a
    normal FLC ratio), and at progression a rise from the confirmed nadir above the absolute
    minimums. The derived best response then agrees with the recorded one except where real
    extracts also disagree: MR of FLC-only disease (not an IMWG category there), no marrow at
    CR (:data:`NO_MARROW_SHARE`), nothing measurable at baseline, and labels one category off
    (:data:`SHIFTED_SHARE`).

    Returns
    -------
    pandas.DataFrame
        ``patient_id, day, test, value, unit`` rows of ``labs.csv``.
    """
    visits = {
        pid: list(zip(group["day"].astype(int), group["response"], strict=True))
        for pid, group in responses.groupby("patient_id", sort=False)
    }
    rows = [
        (pid, day, test, value, RESPONSE_LAB_UNITS[test])
        for pid in patients["patient_id"]
        for day, test, value in _patient_response_labs(visits.get(pid, []), rng)
    ]
    return pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit"])


def with_response_labs(
    labs: pd.DataFrame, patients: pd.DataFrame, responses: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """Blood counts and the response tests (:func:`simulate_response_labs`), by patient.

    The response tests draw from their own generator (``[seed, 14]``), so adding them leaves
    every other simulated value as it was.
    """
    response_labs = simulate_response_labs(patients, responses, np.random.default_rng([seed, 14]))
    both = pd.concat([labs, response_labs], ignore_index=True)
    order = pd.Index(patients["patient_id"]).get_indexer(both["patient_id"])
    return both.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def write_site(tables: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Write a simulated extract as the CSV files a site would send.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        written.append(path)
    return written


#: Regimen codes of a site that writes them as in clinical notes (``regimen_codes``).
SHORT_REGIMEN_CODES = {
    "Ixa-Rd": "IRd",
    "Ixa-Pd": "IPd",
    "Ixa-Td": "ITd",
    "Ixa-Dd": "IDd",
    "Ixa-Ed": "IEd",
    "Ixa-Cd": "ICd",
    "Ixa-d": "Id",
    "Ixa": "I",
}
#: Sex as numbers (``sex_numeric``).
NUMERIC_SEX = {"M": "1", "F": "2"}
#: Responses in words (``response_words``) for the categories below partial response.
RESPONSE_WORDS = {"MR": "minimal response", "SD": "stable disease", "PD": "progressive disease"}
#: Haemoglobin unit spelling of a site whose lab system writes it per 100 mL (``hgb_g_100ml``).
HGB_PER_100ML = "g/100mL"
#: Earliest day 0 of a site that sends dates: starts are spread over the six years after it.
FIRST_START_DATE = pd.Timestamp("2017-01-02")


def code_regimens(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Write regimens as short codes (``IRd``, ``IPd`` …, :data:`SHORT_REGIMEN_CODES`)."""
    tables["patients"]["regimen"] = tables["patients"]["regimen"].map(SHORT_REGIMEN_CODES)


def code_sex_as_numbers(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Write sex as ``1`` (male) and ``2`` (female)."""
    tables["patients"]["sex"] = tables["patients"]["sex"].map(NUMERIC_SEX)


def code_responses_in_words(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Write MR, SD and PD in words (:data:`RESPONSE_WORDS`), in both files that hold responses."""
    tables["patients"]["best_response"] = tables["patients"]["best_response"].replace(
        RESPONSE_WORDS
    )
    if "responses" in tables:
        tables["responses"]["response"] = tables["responses"]["response"].replace(RESPONSE_WORDS)


def code_hgb_per_100ml(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Write the haemoglobin unit g/dL as ``g/100mL`` (the same number, another spelling)."""
    if "labs" in tables:
        labs = tables["labs"]
        labs.loc[labs["unit"] == "g/dL", "unit"] = HGB_PER_100ML


def code_dates(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Send calendar dates: each patient's ``start_date`` and every day column as a date column.

    Day 0 of each patient is drawn uniformly over six years from :data:`FIRST_START_DATE`;
    ``x_day`` becomes ``x_date`` and ``day`` becomes ``date`` (``YYYY-MM-DD``, blank stays
    blank), as :func:`rwe.validate.convert_dates` reads them back.
    """
    from rwe.validate import DAY_COLUMNS, START_DATE, date_column

    patients = tables["patients"]
    start = FIRST_START_DATE + pd.to_timedelta(rng.integers(0, 6 * 365, len(patients)), unit="D")
    start_of = pd.Series(start, index=patients["patient_id"].to_numpy())
    for stem, table in tables.items():
        origin = start_of.reindex(table["patient_id"].to_numpy()).to_numpy()
        for day in DAY_COLUMNS[stem]:
            if day not in table.columns:
                continue
            days = pd.to_numeric(table[day]).to_numpy(dtype=float, na_value=np.nan)
            when = pd.Series(origin + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
            table[day] = when.to_numpy(dtype=object)
            tables[stem] = table = table.rename(columns={day: date_column(day)})
    tables["patients"].insert(1, START_DATE, pd.Series(start).dt.strftime("%Y-%m-%d").to_numpy())


#: Share of the patients of :func:`add_delayed_entry` who enter observation after day 0.
DELAYED_ENTRY_SHARE = 0.4


def add_delayed_entry(
    tables: dict[str, pd.DataFrame], rng: np.random.Generator, share: float = DELAYED_ENTRY_SHARE
) -> None:
    """Give a ``share`` of the patients a delayed entry (``entry_day`` > 0; left truncation).

    Each such patient's ``entry_day`` is drawn uniformly from 1 to half of the first day that
    must follow it (progression, death, last disease assessment, last follow-up), so entry is
    before every event; the others enter at day 0. Serial responses before entry are removed
    (the site knows the patient from entry only), so the extract passes validation.
    """
    patients = tables["patients"]
    limit = patients[
        ["progression_day", "death_day", "last_assessment_day", "last_followup_day"]
    ].apply(pd.to_numeric)
    first = limit.min(axis=1, skipna=True).to_numpy(dtype=float)
    delayed = (rng.random(len(patients)) < share) & (first >= 4)
    entry = np.where(delayed, 1 + np.floor(rng.random(len(patients)) * (first / 2 - 1)), 0)
    patients["entry_day"] = entry.astype(int)
    if "responses" in tables:
        responses = tables["responses"]
        entry_of = pd.Series(patients["entry_day"].to_numpy(), index=patients["patient_id"])
        keep = pd.to_numeric(responses["day"]).to_numpy() >= entry_of.reindex(
            responses["patient_id"]
        ).to_numpy(dtype=float)
        tables["responses"] = responses[keep].reset_index(drop=True)


#: A site's coding conventions, by the name ``rwe simulate --codings`` takes. Each changes how
#: a simulated extract is written, not what it holds: the site's ``sites`` entry in the config
#: maps it back (docs/input_contract.md, config/README.md). The exception is
#: ``delayed_entry`` (:func:`add_delayed_entry`), which adds the optional ``entry_day``.
SITE_CODINGS = {
    "regimen_codes": code_regimens,
    "sex_numeric": code_sex_as_numbers,
    "response_words": code_responses_in_words,
    "hgb_g_100ml": code_hgb_per_100ml,
    "dates": code_dates,
    "delayed_entry": add_delayed_entry,
}


def apply_codings(
    tables: dict[str, pd.DataFrame], codings: list[str], seed: int
) -> dict[str, pd.DataFrame]:
    """Write a simulated extract with a site's coding conventions (:data:`SITE_CODINGS`).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        A simulated extract (:func:`simulate_site`); not modified.
    codings : list of str
        Names of :data:`SITE_CODINGS`, applied in order.
    seed : int
        Seed of the draws some codings need (the day-0 dates); separate from the extract's.

    Returns
    -------
    dict of str to pandas.DataFrame
        A copy of ``tables`` written the site's way.
    """
    unknown = [c for c in codings if c not in SITE_CODINGS]
    if unknown:
        raise ValueError(f"unknown coding(s) {unknown}; known: {', '.join(SITE_CODINGS)}")
    out = {name: table.copy() for name, table in tables.items()}
    rng = np.random.default_rng([seed, 1])
    for coding in codings:
        SITE_CODINGS[coding](out, rng)
    return out


def simulate_study(
    n: int,
    seed: int,
    sites: int,
    out: str | Path,
    names: list[str] | None = None,
    codings: list[list[str]] | None = None,
) -> dict[str, list[Path]]:
    """Simulate ``sites`` site extracts of about ``n / sites`` patients each under ``out``.

    Parameters
    ----------
    n, seed, sites : int
        Patients in all, seed (site i uses ``seed + i``) and number of sites.
    out : str or pathlib.Path
        The output folder (one subfolder per site when there are several).
    names : list of str, optional
        Site names (in the patient ids); ``name:folder`` writes the site to another subfolder.
        Default ``demo`` for one site, else ``site1``, ``site2`` …
    codings : list of list of str, optional
        Per site, its coding conventions (:func:`apply_codings`); default none.

    Returns
    -------
    dict of str to list of pathlib.Path
        Site name to the files written for it.
    """
    out = Path(out)
    sizes = [n // sites + (1 if i < n % sites else 0) for i in range(sites)]
    if names is None:
        names = ["demo"] if sites == 1 else [f"site{i + 1}" for i in range(sites)]
    if len(names) != sites or len(codings or [[]] * sites) != sites:
        raise ValueError(f"give one name and one list of codings per site ({sites})")
    written = {}
    for i, size in enumerate(sizes):
        name, _, subfolder = names[i].partition(":")
        folder = out if sites == 1 and not subfolder else out / (subfolder or name)
        tables = simulate_site(size, seed + i, name)
        if codings and codings[i]:
            tables = apply_codings(tables, codings[i], seed + i)
        written[name] = write_site(tables, folder)
    return written


def _rows_by_patient(
    table: pd.DataFrame, ids: pd.Index
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order grouping ``table`` by patient, and each patient's first row and row count.

    ``ids`` are the source patients in order; rows whose patient is not in ``ids`` are dropped.
    """
    owner = ids.get_indexer(table["patient_id"])
    order = np.argsort(owner, kind="stable")
    order = order[owner[order] >= 0]
    counts = np.bincount(owner[order], minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def _resampled_rows(
    order: np.ndarray, starts: np.ndarray, counts: np.ndarray, draw: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Source row positions for drawn patients, and the new patient (index into draw) of each."""
    n_rows = counts[draw]
    new_patient = np.repeat(np.arange(len(draw)), n_rows)
    first_out = np.cumsum(n_rows) - n_rows
    within = np.arange(n_rows.sum()) - np.repeat(first_out, n_rows)
    return order[np.repeat(starts[draw], n_rows) + within], new_patient


def _resampled_ids(n: int, site: str) -> np.ndarray:
    width = max(4, len(str(n)))
    return np.array([f"SIM-{site}-{i + 1:0{width}d}" for i in range(n)], dtype=object)


def resample_draw(n_source: int, n: int, seed: int) -> np.ndarray:
    """Source patient (row of ``patients``) of each resampled patient: uniform, with replacement."""
    return np.random.default_rng(seed).integers(0, n_source, size=n)


def resample_site(
    tables: dict[str, pd.DataFrame], n: int, seed: int, site: str = "boot"
) -> dict[str, pd.DataFrame]:
    """Bootstrap a larger (or smaller) extract from a simulated one, patient by patient.

    Patients are drawn uniformly with replacement; each drawn patient gets a new unique id
    (``SIM-<site>-<k>``) and brings all of its source rows of the long tables (responses,
    adverse events, labs), in their source order. Every other value is copied unchanged, so the
    result has the source's distributions and satisfies the same input contract. Vectorised:
    used to build the 10^5 and 10^6 patient cohorts of ``make bench``, which the per-patient
    simulator would take hours to write.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        A site extract (as from :func:`simulate_site` or read from CSV): ``patients`` and any
        long tables keyed by ``patient_id``.
    n : int
        Number of patients to draw.
    seed : int
        Seed of the draw; the same (tables, n, seed) gives the same extract.
    site : str
        Site name used in the new identifiers.

    Returns
    -------
    dict of str to pandas.DataFrame
        The same tables, with ``n`` patients; long tables sorted by new patient.
    """
    patients = tables["patients"]
    ids = pd.Index(patients["patient_id"])
    draw = resample_draw(len(patients), n, seed)
    new_ids = _resampled_ids(n, site)
    out = {"patients": patients.iloc[draw].assign(patient_id=new_ids).reset_index(drop=True)}
    for name, table in tables.items():
        if name == "patients":
            continue
        rows, new_patient = _resampled_rows(*_rows_by_patient(table, ids), draw)
        out[name] = table.iloc[rows].assign(patient_id=new_ids[new_patient]).reset_index(drop=True)
    return out


def write_resampled_site(
    tables: dict[str, pd.DataFrame],
    n: int,
    seed: int,
    folder: str | Path,
    site: str = "boot",
    chunk_patients: int = 50_000,
) -> list[Path]:
    """Write ``write_site(resample_site(tables, n, seed, site), folder)`` in bounded memory.

    Each source row is rendered to CSV once; the output is then assembled ``chunk_patients``
    patients at a time, so a million-patient extract (about 90 lab rows a patient) is written
    without holding it in memory. The files are byte-identical to the unchunked path when
    ``patient_id`` is the first column of every table (as in simulated extracts).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids = pd.Index(tables["patients"]["patient_id"])
    draw = resample_draw(len(ids), n, seed)
    new_ids = _resampled_ids(n, site)
    written = []
    for name, table in tables.items():
        table = table[["patient_id", *table.columns.drop("patient_id")]]
        if name == "patients":
            order, starts, counts = np.arange(len(ids)), np.arange(len(ids)), np.ones(len(ids), int)
        else:
            order, starts, counts = _rows_by_patient(table, ids)
        rest = table.drop(columns="patient_id").to_csv(
            header=False, index=False, lineterminator="\n"
        )
        rest = np.array(rest.splitlines(), dtype=object) if len(table) else np.array([], object)
        path = folder / f"{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(",".join(table.columns) + "\n")
            for lo in range(0, n, chunk_patients):
                rows, new_patient = _resampled_rows(
                    order, starts, counts, draw[lo : lo + chunk_patients]
                )
                lines = new_ids[lo + new_patient] + "," + rest[rows]
                if len(lines):
                    handle.write("\n".join(lines) + "\n")
        written.append(path)
    return written
