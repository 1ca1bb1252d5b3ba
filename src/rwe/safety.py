"""Safety: CTCAE v5 adverse-event tables, lab-based hematologic grades and nadir blood counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from rwe.exceptions import InputError, Problem

#: CTCAE v5 terms counted as hematologic (Blood and lymphatic system disorders, and the
#: Investigations "count decreased" terms).
HEMATOLOGIC_TERMS = (
    "Anemia", "Neutrophil count decreased", "Platelet count decreased",
    "White blood cell decreased", "Lymphocyte count decreased", "Febrile neutropenia",
)  # fmt: skip

#: Accepted units per test and the factor to the harmonised unit (counts 10^9/L, HGB g/dL).
LAB_UNITS = {
    "count": {"10^9/l": 1.0, "10^3/ul": 1.0, "g/l": 1.0, "/nl": 1.0, "gpt/l": 1.0},
    "HGB": {"g/dl": 1.0, "g/l": 0.1},
}
COUNT_TESTS = ("WBC", "ANC", "PLT")
HARMONISED_UNIT = {"WBC": "10^9/L", "ANC": "10^9/L", "PLT": "10^9/L", "HGB": "g/dL"}

#: CTCAE v5 grading of blood counts: (term, test, [(upper bound exclusive, grade), ...]) with
#: the lower limits of normal ANC 1.8, PLT 150, WBC 4.0 (10^9/L) and HGB 12 g/dL.
LAB_GRADES = {
    "ANC": ("Neutrophil count decreased", [(0.5, 4), (1.0, 3), (1.5, 2), (1.8, 1)]),
    "PLT": ("Platelet count decreased", [(25, 4), (50, 3), (75, 2), (150, 1)]),
    "WBC": ("White blood cell decreased", [(1.0, 4), (2.0, 3), (3.0, 2), (4.0, 1)]),
    "HGB": ("Anemia", [(8.0, 3), (10.0, 2), (12.0, 1)]),
}
GRADE_GROUPS = {"any": 1, "ge2": 2, "ge3": 3, "ge4": 4}
AE_COLUMNS = ["analysis_set", "category", "term", "grade_group", "n", "N", "percent"]
NADIR_COLUMNS = ["analysis_set", "test", "group", "n", "median", "min", "max"]
NADIR_TEST_COLUMNS = ["analysis_set", "test", "comparison", "p"]
NADIR_TESTS = ("WBC", "ANC", "HGB", "PLT")
PN_TERM = "Peripheral sensory neuropathy"


def ae_category(term: str) -> str:
    """``hematologic`` for the CTCAE v5 blood-count terms, else ``non-hematologic``."""
    return (
        "hematologic"
        if str(term).strip().casefold() in {t.casefold() for t in HEMATOLOGIC_TERMS}
        else "non-hematologic"
    )


def _unit_key(unit) -> str:
    """Spelling-insensitive unit: no spaces or ×, micro sign and Greek mu both as u."""
    key = str(unit).strip().replace(" ", "").replace("×", "").replace("x10", "10").casefold()
    return key.replace("\u00b5", "u").replace("\u03bc", "u")


def harmonise_lab_units(labs: pd.DataFrame, file_label: str = "labs.csv") -> pd.DataFrame:
    """Convert blood counts to 10^9/L and haemoglobin to g/dL.

    Counts in 10^9/L, 10^3/µL, G/L, Gpt/L or /nL are the same number; haemoglobin in g/L is
    divided by 10. Other tests (SPEP_M, FLC, …) pass through unchanged.

    Parameters
    ----------
    labs : pandas.DataFrame
        ``site, patient_id, day, test, value, unit`` and optionally ``_row`` (data row).
    file_label : str
        Used in messages when ``site`` is absent.

    Raises
    ------
    InputError
        Listing every row whose unit is not known for its test (file, row, column ``unit``).
    """
    out = labs.copy()
    problems = []
    for test in (*COUNT_TESTS, "HGB"):
        mask = out["test"] == test
        if not mask.any():
            continue
        units = LAB_UNITS["count" if test in COUNT_TESTS else "HGB"]
        keys = out.loc[mask, "unit"].map(_unit_key)
        factor = keys.map(units)
        bad = factor.isna()
        for idx in bad[bad].index:
            label = f"{out.at[idx, 'site']}/labs.csv" if "site" in out.columns else file_label
            row = int(out.at[idx, "_row"]) if "_row" in out.columns else None
            problems.append(Problem(label, row, "unit", f"unit not known for {test}; expected one of "
                                    f"{', '.join(sorted({'10^9/L', '10^3/µL', 'G/L', '/nL'} if test in COUNT_TESTS else {'g/dL', 'g/L'}))}"))  # fmt: skip
        out.loc[mask, "value"] = out.loc[mask, "value"] * factor.fillna(1.0)
        out.loc[mask, "unit"] = HARMONISED_UNIT[test]
    if problems:
        raise InputError(problems)
    return out


def grade_from_labs(adlb: pd.DataFrame) -> pd.DataFrame:
    """CTCAE v5 grades of hematologic toxicity from blood counts on treatment (day ≥ 0).

    Returns
    -------
    pandas.DataFrame
        ADAE-shaped rows (``site, patient_id, term, grade, onset_day, category, source``): the
        worst grade per patient and term, with the first day it was reached.
    """
    rows = []
    on_treatment = adlb[(adlb["day"] >= 0) & adlb["test"].isin(list(LAB_GRADES))]
    for test, (term, cuts) in LAB_GRADES.items():
        part = on_treatment[on_treatment["test"] == test]
        if part.empty:
            continue
        values = part["value"].to_numpy(dtype=float)
        grade = np.zeros(len(part), dtype=int)
        for bound, g in reversed(cuts):  # mildest first, so the worst bound wins
            grade[values < bound] = g
        graded = part.assign(grade=grade)
        graded = graded[graded["grade"] > 0]
        for (site, pid), g in graded.groupby(["site", "patient_id"], sort=False):
            worst = int(g["grade"].max())
            first = int(g.loc[g["grade"] == worst, "day"].min())
            rows.append((site, pid, term, worst, first, "hematologic", "labs"))
    return pd.DataFrame(
        rows, columns=["site", "patient_id", "term", "grade", "onset_day", "category", "source"]
    )


def patient_nadirs(adlb: pd.DataFrame) -> pd.DataFrame:
    """Lowest WBC, ANC, HGB and PLT per patient on treatment (day > 0).

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, test, nadir``.
    """
    on_treatment = adlb[(adlb["day"] > 0) & adlb["test"].isin(NADIR_TESTS)]
    nadir = on_treatment.groupby(["site", "patient_id", "test"], sort=False)["value"].min()
    return nadir.rename("nadir").reset_index()


# --------------------------------------------------------------------------- AE tables


def combine_hematologic(
    adae: pd.DataFrame, lab_grades: pd.DataFrame, source: str = "both"
) -> pd.DataFrame:
    """The AEs analysed, with hematologic grades from reports, labs or the worst of both.

    Parameters
    ----------
    adae : pandas.DataFrame
        Reported AEs (ADAE).
    lab_grades : pandas.DataFrame
        :func:`grade_from_labs` output.
    source : {"reported", "labs", "both"}
        ``safety.hematologic_source``.
    """
    if source not in ("reported", "labs", "both"):
        raise ValueError(
            f"safety.hematologic_source must be reported, labs or both, not {source!r}"
        )
    reported_heme = adae[adae["category"] == "hematologic"]
    non_heme = adae[adae["category"] != "hematologic"]
    parts = {
        "reported": [reported_heme],
        "labs": [lab_grades],
        "both": [reported_heme, lab_grades],
    }[source]
    return pd.concat([non_heme, *parts], ignore_index=True)


def worst_grades(ae: pd.DataFrame) -> pd.DataFrame:
    """Worst grade per patient and term (patients, not events, are counted)."""
    if ae.empty:
        return pd.DataFrame(columns=["site", "patient_id", "term", "category", "grade"])
    return ae.groupby(["site", "patient_id", "term", "category"], as_index=False)["grade"].max()


def adverse_event_table(sets: dict[str, pd.DataFrame], ae: pd.DataFrame) -> pd.DataFrame:
    """Patients with each CTCAE term at any grade, grade ≥2, ≥3 and 4, per analysis set.

    Rows per term and category, plus ``any hematologic`` and ``any non-hematologic`` totals
    (worst grade over the category's terms), and peripheral neuropathy against the
    pre-existing grade: ``Peripheral sensory neuropathy (worse than baseline)`` counts
    patients whose on-treatment grade exceeds ``pn_baseline_grade``, and
    ``Peripheral neuropathy before treatment`` counts the baseline grades.
    ``N`` is every patient of the set; ``percent`` = 100 n / N.
    """
    worst = worst_grades(ae)
    rows = []
    for name, adsl in sets.items():
        n_total = len(adsl)
        keys = pd.MultiIndex.from_frame(adsl[["site", "patient_id"]])
        in_set = (
            worst[pd.MultiIndex.from_frame(worst[["site", "patient_id"]]).isin(keys)]
            if len(worst)
            else worst
        )
        blocks = [(cat, term, g) for (cat, term), g in in_set.groupby(["category", "term"])]
        for cat in ("hematologic", "non-hematologic"):
            part = in_set[in_set["category"] == cat]
            blocks.append(
                (
                    cat,
                    f"any {cat}",
                    part.groupby(["site", "patient_id"], as_index=False)["grade"].max(),
                )
            )
        pn = in_set[in_set["term"] == PN_TERM].merge(adsl[["site", "patient_id", "pn_baseline_grade"]],
                                                      on=["site", "patient_id"])  # fmt: skip
        worse = pn[pn["grade"] > pn["pn_baseline_grade"].fillna(0)]
        blocks.append(("non-hematologic", f"{PN_TERM} (worse than baseline)", worse))
        baseline = adsl[adsl["pn_baseline_grade"].fillna(0) > 0].rename(
            columns={"pn_baseline_grade": "grade"}
        )
        blocks.append(("non-hematologic", "Peripheral neuropathy before treatment", baseline))
        for cat, term, g in blocks:
            for group, lowest in GRADE_GROUPS.items():
                n = int((g["grade"] >= lowest).sum())
                rows.append(
                    (name, cat, term, group, n, n_total, 100.0 * n / n_total if n_total else np.nan)
                )
    return pd.DataFrame(rows, columns=AE_COLUMNS)


# --------------------------------------------------------------------------- nadirs


def _wilcox_exact_cdf(w: float, m: int, n: int) -> float:
    """P(W ≤ w) of the Wilcoxon rank-sum statistic without ties (R ``pwilcox``)."""
    if w < 0:
        return 0.0
    total = m + n
    # Number of size-m subsets of ranks 1..m+n with each sum (dynamic programming).
    max_sum = sum(range(n + 1, total + 1))
    counts = np.zeros((m + 1, max_sum + 1))
    counts[0, 0] = 1.0
    for rank in range(1, total + 1):
        counts[1:, rank:] += counts[:-1, :-rank].copy()
    dist = counts[m, m * (m + 1) // 2 :]
    dist = dist / dist.sum()
    return float(dist[: int(np.floor(w)) + 1].sum())


def wilcoxon_rank_sum(x, y) -> dict:
    """Two-sided Wilcoxon rank-sum (Mann–Whitney U) test exactly as R ``wilcox.test(x, y)``.

    Exact p when both samples have fewer than 50 values and there are no ties; otherwise the
    normal approximation with continuity and tie corrections.

    Returns
    -------
    dict
        ``W`` (R's statistic: rank sum of x minus nx(nx+1)/2), ``p``, ``method``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    nx, ny = len(x), len(y)
    if nx == 0 or ny == 0:
        return {"W": np.nan, "p": np.nan, "method": "not testable: an empty group"}
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = ranks[:nx].sum() - nx * (nx + 1) / 2
    ties = len(np.unique(ranks)) != len(ranks)
    if nx < 50 and ny < 50 and not ties:
        if w > nx * ny / 2:
            p = 1 - _wilcox_exact_cdf(w - 1, nx, ny)
        else:
            p = _wilcox_exact_cdf(w, nx, ny)
        return {"W": w, "p": min(2 * p, 1.0), "method": "Wilcoxon rank sum exact test"}
    _, tie_counts = np.unique(ranks, return_counts=True)
    z = w - nx * ny / 2
    sigma = np.sqrt(
        (nx * ny / 12)
        * ((nx + ny + 1) - np.sum(tie_counts**3 - tie_counts) / ((nx + ny) * (nx + ny - 1)))
    )
    z = (z - np.sign(z) * 0.5) / sigma
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return {"W": w, "p": float(p), "method": "Wilcoxon rank sum test with continuity correction"}


IMID_GROUPS = {1: "IMiD-containing", 0: "IMiD-free"}
PAIRWISE_REGIMENS = [("Ixa-Pd", "Ixa-Rd"), ("Ixa-Pd", "Ixa-Td"), ("Ixa-Rd", "Ixa-Td")]


def _nadirs_by_patient(adsl: pd.DataFrame, nadirs: pd.DataFrame) -> pd.DataFrame:
    return adsl[["site", "patient_id", "regimen", "imid_containing"]].merge(
        nadirs, on=["site", "patient_id"]
    )


def nadir_table(sets: dict[str, pd.DataFrame], adlb: pd.DataFrame) -> pd.DataFrame:
    """Median and range of nadir WBC, ANC, HGB, PLT: overall, by IMiD use and by regimen."""
    nadirs = patient_nadirs(adlb)
    rows = []
    for name, adsl in sets.items():
        data = _nadirs_by_patient(adsl, nadirs)
        for test in NADIR_TESTS:
            part = data[data["test"] == test]
            groups = [("all", part)]
            groups += [
                (label, part[part["imid_containing"] == flag])
                for flag, label in IMID_GROUPS.items()
            ]
            groups += [(regimen, g) for regimen, g in part.groupby("regimen")]
            for group, g in groups:
                v = g["nadir"]
                rows.append((name, test, group, len(v), v.median() if len(v) else np.nan,
                             v.min() if len(v) else np.nan, v.max() if len(v) else np.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=NADIR_COLUMNS)


def nadir_test_table(sets: dict[str, pd.DataFrame], adlb: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon rank-sum tests of nadirs: IMiD-containing vs IMiD-free, and Pd vs Rd vs Td."""
    nadirs = patient_nadirs(adlb)
    rows = []
    for name, adsl in sets.items():
        data = _nadirs_by_patient(adsl, nadirs)
        for test in NADIR_TESTS:
            part = data[data["test"] == test]
            pairs = [
                (
                    "IMiD-containing vs IMiD-free",
                    part[part["imid_containing"] == 1],
                    part[part["imid_containing"] == 0],
                )
            ]
            pairs += [
                (f"{a} vs {b}", part[part["regimen"] == a], part[part["regimen"] == b])
                for a, b in PAIRWISE_REGIMENS
            ]
            for comparison, x, y in pairs:
                if x.empty or y.empty:
                    continue  # e.g. a single-regimen analysis set
                t = wilcoxon_rank_sum(x["nadir"], y["nadir"])
                rows.append((name, test, comparison, t["p"], t["W"], len(x), len(y), t["method"]))
    return pd.DataFrame(rows, columns=[*NADIR_TEST_COLUMNS, "W", "n_1", "n_2", "method"])
