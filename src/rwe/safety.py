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
    "count": {"10^9/l": 1.0, "10^3/µl": 1.0, "10^3/ul": 1.0, "g/l": 1.0, "/nl": 1.0, "gpt/l": 1.0},
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
    return "hematologic" if str(term).strip().casefold() in {t.casefold() for t in HEMATOLOGIC_TERMS} else "non-hematologic"


def _unit_key(unit) -> str:
    return str(unit).strip().replace(" ", "").replace("×", "").replace("x10", "10").replace("μ", "µ").casefold()


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
    return pd.DataFrame(rows, columns=["site", "patient_id", "term", "grade", "onset_day", "category", "source"])


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
