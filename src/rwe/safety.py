"""Safety: CTCAE v5 adverse-event tables, lab-based hematologic grades and nadir blood counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: CTCAE v5 terms counted as hematologic (Blood and lymphatic system disorders, and the
#: Investigations "count decreased" terms).
HEMATOLOGIC_TERMS = (
    "Anemia",
    "Neutrophil count decreased",
    "Platelet count decreased",
    "White blood cell decreased",
    "Lymphocyte count decreased",
    "Febrile neutropenia",
)

#: CTCAE v5 grading of blood counts: (term, test, [(upper bound exclusive, grade), ...]) with
#: the lower limits of normal ANC 1.8, PLT 150, WBC 4.0 (10^9/L) and HGB 12 g/dL.
LAB_GRADES = {
    "ANC": ("Neutrophil count decreased", [(0.5, 4), (1.0, 3), (1.5, 2), (1.8, 1)]),
    "PLT": ("Platelet count decreased", [(25, 4), (50, 3), (75, 2), (150, 1)]),
    "WBC": ("White blood cell decreased", [(1.0, 4), (2.0, 3), (3.0, 2), (4.0, 1)]),
    "HGB": ("Anemia", [(8.0, 3), (10.0, 2), (12.0, 1)]),
}
ADAE_COLUMNS = ["site", "patient_id", "term", "grade", "onset_day", "category", "source"]
GRADE_GROUPS = {"any": 1, "ge2": 2, "ge3": 3, "ge4": 4}
AE_COLUMNS = ["analysis_set", "category", "term", "grade_group", "n", "N", "percent"]
NADIR_COLUMNS = ["analysis_set", "test", "group", "n", "median", "min", "max"]
NADIR_TEST_COLUMNS = ["analysis_set", "test", "comparison", "p"]
NADIR_TESTS = ("WBC", "ANC", "HGB", "PLT")
PN_TERM = "Peripheral sensory neuropathy"
PN_WORSENED = f"{PN_TERM} (worse than baseline)"
PN_BASELINE = "Peripheral neuropathy before treatment"
HEMATOLOGIC_SOURCE_LABEL = {
    "reported": "reported",
    "labs": "labs (CTCAE v5 thresholds)",
    "both": "worst of reported and labs",
}


_HEMATOLOGIC_KEYS = frozenset(t.casefold() for t in HEMATOLOGIC_TERMS)


def ae_category(term: str) -> str:
    """Category of a CTCAE v5 term: ``hematologic`` or ``non-hematologic``.

    Hematologic are the blood-count terms of :data:`HEMATOLOGIC_TERMS` (Blood and lymphatic
    system disorders: Anemia, Febrile neutropenia; Investigations: Neutrophil, Platelet,
    White blood cell and Lymphocyte count decreased), compared without case or surrounding
    spaces. Every other term is non-hematologic.
    """
    return "hematologic" if str(term).strip().casefold() in _HEMATOLOGIC_KEYS else "non-hematologic"


#: Columns of the per-patient lab toxicity summary (``lab_grades.csv``, :func:`lab_toxicity`):
#: the ADAE columns of the worst grade, then the analyte and what was counted of its values.
LAB_TOXICITY_COLUMNS = [
    *ADAE_COLUMNS,
    "test",
    "n_values",
    "n_before_window",
    "n_after_window",
    "n_implausible",
    "n_graded",
]


def lab_toxicity(
    adlb: pd.DataFrame, windows: pd.DataFrame | None = None, exclude: np.ndarray | None = None
) -> pd.DataFrame:
    """Worst CTCAE v5 grade of each patient's blood counts in the treatment-emergent window.

    Thresholds (:data:`LAB_GRADES`, CTCAE v5.0 "Investigations" and "Anemia"), with one lower
    limit of normal for everyone: ANC 1.8, PLT 150, WBC 4.0 (10^9/L), HGB 12 g/dL (the female
    LLN for both sexes, so grade 1 anemia is conservative in men; grades 2–3 do not use LLN).

    ============================  ======  ===========  ======  ======  ======
    term                          test    grade 1      2       3       4
    ============================  ======  ===========  ======  ======  ======
    Neutrophil count decreased    ANC     < 1.8        < 1.5   < 1.0   < 0.5
    Platelet count decreased      PLT     < 150        < 75    < 50    < 25
    White blood cell decreased    WBC     < 4.0        < 3.0   < 2.0   < 1.0
    Anemia                        HGB     < 12         < 10    < 8     —
    ============================  ======  ===========  ======  ======  ======

    Anemia grade 4 (life-threatening) is a clinical, not a laboratory, grade. A value is graded
    when it lies in its patient's window (both ends included) and is not in ``exclude``; the
    values left out are counted, first those outside the window, then the implausible ones
    within it.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ``site, patient_id, day, test, value`` with harmonised units
        (:func:`rwe.units.harmonise_lab_units`).
    windows : pandas.DataFrame, optional
        Per patient ``site, patient_id, start_day, end_day`` (:func:`nadir_windows`, the
        treatment-emergent window); a patient not listed has no value in a window. Without
        it, every value from day 0 on.
    exclude : numpy.ndarray of bool, optional
        Rows of ``adlb`` left out (the implausible values,
        :func:`rwe.plausibility.implausible_lab_values`).

    Returns
    -------
    pandas.DataFrame
        :data:`LAB_TOXICITY_COLUMNS`, one row per patient and graded test with at least one
        value, in order of first appearance: ``grade`` the worst grade of the graded values
        (0 when none is below the LLN or none was graded), ``onset_day`` the first day that
        grade was reached (blank for grade 0), ``n_values`` every value of the test,
        ``n_before_window`` and ``n_after_window`` those outside the window, ``n_implausible``
        those in it left out, ``n_graded`` the rest.
    """
    graded_test = adlb["test"].isin(list(LAB_GRADES)).to_numpy(dtype=bool, na_value=False)
    (site, sites), (patient, patients), (test, tests) = (
        key_codes(adlb[k]) for k in ("site", "patient_id", "test")
    )
    rows = np.flatnonzero(graded_test)
    rows = rows[(site[rows] >= 0) & (patient[rows] >= 0)]  # a missing key is no patient
    shape = (len(sites), len(patients), len(tests))
    cell = np.ravel_multi_index((site[rows], patient[rows], test[rows]), shape)
    day = pd.to_numeric(adlb["day"].iloc[rows]).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        if windows is None:
            before, after = ~(day >= 0), np.zeros(len(rows), dtype=bool)
        else:
            at = (site[rows], patient[rows])
            first_day, last_day = (patient_grid(adlb, windows, c) for c in ("start_day", "end_day"))
            before = ~(day >= first_day[at]) & ~(day > last_day[at])  # no window: before it
            after = day > last_day[at]
    implausible = np.zeros(len(rows), dtype=bool)
    if exclude is not None:
        implausible = np.asarray(exclude, dtype=bool)[rows] & ~before & ~after
    graded = ~before & ~after & ~implausible
    values = adlb["value"].to_numpy(dtype=float, na_value=np.nan)[rows]
    grade = np.zeros(len(rows), dtype=np.int64)
    code = {str(name): i for i, name in enumerate(tests)}
    test_of_row = test[rows]
    for name, (_, cuts) in LAB_GRADES.items():
        of_test = test_of_row == code.get(name, -2)
        for bound, g in reversed(cuts):  # mildest first, so the worst bound wins
            grade[of_test & graded & (values < bound)] = g
    # Per cell (patient and test), on dense arrays: the worst grade, then its first day.
    size = int(np.prod(shape))
    worst = np.zeros(size, dtype=np.int64)
    np.maximum.at(worst, cell, grade)
    at_worst = graded & (grade > 0) & (grade == worst[cell])
    onset = np.full(size, np.nan)
    np.fmin.at(onset, cell[at_worst], day[at_worst])
    first_row = np.full(size, len(adlb), dtype=np.int64)
    np.minimum.at(first_row, cell, rows)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], minlength=size)

    n_values = count(np.ones(len(rows), dtype=bool))
    cells = np.flatnonzero(n_values)
    cells = cells[np.argsort(first_row[cells], kind="stable")]
    s, p, t = np.unravel_index(cells, shape)
    test_names = np.asarray(tests, dtype=object)[t]
    return pd.DataFrame(
        {
            "site": np.asarray(sites, dtype=object)[s],
            "patient_id": np.asarray(patients, dtype=object)[p],
            "term": [LAB_GRADES[x][0] for x in test_names],
            "grade": worst[cells],
            "onset_day": pd.array(onset[cells], dtype="Int64"),
            "category": "hematologic",
            "source": "labs",
            "test": test_names,
            "n_values": n_values[cells],
            "n_before_window": count(before)[cells],
            "n_after_window": count(after)[cells],
            "n_implausible": count(implausible)[cells],
            "n_graded": count(graded)[cells],
        },
        columns=LAB_TOXICITY_COLUMNS,
    )


def lab_events(lab_grades: pd.DataFrame) -> pd.DataFrame:
    """The lab-graded adverse events of a :func:`lab_toxicity` summary: grade ≥ 1, ADAE columns.

    A table already in ADAE form (no ``test`` column) is returned as it is.
    """
    if "test" not in lab_grades.columns:
        return lab_grades
    graded = lab_grades[pd.to_numeric(lab_grades["grade"]) > 0]
    return graded[ADAE_COLUMNS].reset_index(drop=True)


def grade_from_labs(
    adlb: pd.DataFrame, windows: pd.DataFrame | None = None, exclude: np.ndarray | None = None
) -> pd.DataFrame:
    """CTCAE v5 grades of hematologic toxicity from blood counts (:func:`lab_toxicity`).

    Returns
    -------
    pandas.DataFrame
        ADAE-shaped rows (``site, patient_id, term, grade, onset_day, category, source``): the
        worst grade per patient and term in the window (from day 0 on without one),
        ``onset_day`` the first day that grade was reached, ``category`` "hematologic",
        ``source`` "labs". Patients never below LLN have no row.
    """
    return lab_events(lab_toxicity(adlb, windows, exclude))


def nadir_windows(
    patients: pd.DataFrame,
    start_day: int = 1,
    days_after_end_of_treatment: int = 30,
    until_progression: bool = True,
) -> pd.DataFrame:
    """Each patient's nadir window: the days whose blood counts count as on treatment.

    From ``start_day`` (day 1 by default: day 0 is the pre-dose sample of the first cycle) to
    the earlier of ``progression_day`` (when ``until_progression``) and ``end_of_treatment_day``
    + ``days_after_end_of_treatment``, both ends included. A patient with neither (no
    progression, treatment not ended or ``end_of_treatment_day`` not sent) has no end: every
    value up to the last follow-up counts. :func:`nadir_window_methods` states the rule.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``site, patient_id, progression_day`` and optionally ``end_of_treatment_day``.
    start_day, days_after_end_of_treatment, until_progression
        ``nadir_window`` of the config.

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, start_day, end_day`` (``end_day`` infinite when there is no end).
    """
    end = np.full(len(patients), np.inf)
    if "end_of_treatment_day" in patients.columns:
        eot = patients["end_of_treatment_day"].to_numpy(dtype=float, na_value=np.nan)
        end = np.fmin(end, eot + days_after_end_of_treatment)
    if until_progression and "progression_day" in patients.columns:
        end = np.fmin(end, patients["progression_day"].to_numpy(dtype=float, na_value=np.nan))
    return pd.DataFrame(
        {
            "site": patients["site"].to_numpy(dtype=object),
            "patient_id": patients["patient_id"].to_numpy(dtype=object),
            "start_day": float(start_day),
            "end_day": end,
        }
    )


def window_text(
    start_day: int = 1, days_after_end_of_treatment: int = 30, until_progression: bool = True
) -> str:
    """The days of :func:`nadir_windows` in words ("from day 1 to the earlier of …").

    Parameters
    ----------
    start_day, days_after_end_of_treatment, until_progression
        ``nadir_window`` of the config (the values the run used).
    """
    after = (
        f"{days_after_end_of_treatment} day{'s' if days_after_end_of_treatment != 1 else ''} "
        "after the end of treatment"
    )
    if until_progression:
        end, otherwise = f"the earlier of progression and {after}", "neither occurred"
    else:
        end, otherwise = after, "treatment had not ended"
    return f"from day {start_day} to {end} (to the last follow-up when {otherwise})"


def nadir_window_methods(
    start_day: int = 1, days_after_end_of_treatment: int = 30, until_progression: bool = True
) -> str:
    """The methods sentence that defines the nadir window of :func:`nadir_windows`.

    Parameters
    ----------
    start_day, days_after_end_of_treatment, until_progression
        ``nadir_window`` of the config (the values the run used).
    """
    window = window_text(start_day, days_after_end_of_treatment, until_progression)
    return (
        f"Nadir blood counts are each patient's lowest WBC, ANC, haemoglobin and platelet count "
        f"{window}; values outside the physiological ranges of the plausibility checks are left "
        "out and counted."
    )


def treatment_emergent_methods(
    start_day: int = 1, days_after_end_of_treatment: int = 30, until_progression: bool = True
) -> str:
    """The methods sentence of the treatment-emergent window (the nadir window, one concept).

    Parameters
    ----------
    start_day, days_after_end_of_treatment, until_progression
        ``nadir_window`` of the config (the values the run used).
    """
    window = window_text(start_day, days_after_end_of_treatment, until_progression)
    return (
        f"Adverse events are treatment-emergent {window}, both ends included (config "
        "nadir_window, the same window as the nadirs): reported events with onset outside it "
        "and blood counts outside it are counted out, and their numbers stated."
    )


#: Rows of a laboratory table handled at once where per-row temporaries would otherwise span
#: the whole table (days, windows, masks).
BLOCK_ROWS = 1 << 23


def patient_nadirs(
    adlb: pd.DataFrame, windows: pd.DataFrame | None = None, exclude: np.ndarray | None = None
) -> pd.DataFrame:
    """Lowest WBC, ANC, HGB and PLT per patient within the nadir window.

    Day 0 is the pre-dose sample of the first cycle, so by default the nadir is taken strictly
    after it; earlier days are baseline. (Lab-based CTCAE grades, :func:`grade_from_labs`,
    include day 0, so a patient cytopenic at start is graded, as CTCAE counts any value on
    treatment.)

    Parameters
    ----------
    adlb : pandas.DataFrame
        ``site, patient_id, day, test, value`` in harmonised units.
    windows : pandas.DataFrame, optional
        Per patient ``site, patient_id, start_day, end_day`` (:func:`nadir_windows`); values
        outside their patient's window are not nadirs, and a patient not listed has none.
        Without it, every day after day 0.
    exclude : numpy.ndarray of bool, optional
        Rows of ``adlb`` left out (the implausible values,
        :func:`rwe.plausibility.implausible_lab_values`).

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, test, nadir``: one row per patient and test with a value in the
        window.
    """
    keys = ["site", "patient_id", "test"]
    on_treatment = adlb["test"].isin(NADIR_TESTS).to_numpy(dtype=bool, na_value=False)
    if exclude is not None:
        on_treatment &= ~np.asarray(exclude, dtype=bool)
    # The minimum per (site, patient, test) is taken over a dense array indexed by the three
    # codes, chunk by chunk: no copy or sort of a 90-million-row table, and the days and
    # windows of one chunk at a time. Groups are listed in order of first appearance, as
    # groupby(sort=False) lists them.
    (site, sites), (patient, patients), (test, tests) = (key_codes(adlb[k]) for k in keys)
    if windows is not None:
        first_day, last_day = (patient_grid(adlb, windows, c) for c in ("start_day", "end_day"))
    shape = (len(sites), len(patients), len(tests))
    nadir = np.full(int(np.prod(shape)), np.nan)  # fmin skips NaN values, as min() does
    first = np.full(len(nadir), len(adlb), dtype=np.int64)
    values = adlb["value"].to_numpy(dtype=float)
    for start in range(0, len(adlb), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        day = pd.to_numeric(adlb["day"].iloc[block]).to_numpy(dtype=float, na_value=np.nan)
        if windows is None:
            in_window = day > 0
        else:
            at = (site[block], patient[block])
            in_window = (day >= first_day[at]) & (day <= last_day[at])
        rows = start + np.flatnonzero(on_treatment[block] & in_window)
        rows = rows[(site[rows] >= 0) & (patient[rows] >= 0)]  # a missing key is no group
        cell = np.ravel_multi_index((site[rows], patient[rows], test[rows]), shape)
        np.fmin.at(nadir, cell, values[rows])
        np.minimum.at(first, cell, rows)
    cells = np.flatnonzero(first < len(adlb))
    cells = cells[np.argsort(first[cells], kind="stable")]
    s, p, t = np.unravel_index(cells, shape)
    return pd.DataFrame(
        {
            "site": np.asarray(sites, dtype=object)[s],
            "patient_id": np.asarray(patients, dtype=object)[p],
            "test": np.asarray(tests, dtype=object)[t],
            "nadir": nadir[cells],
        }
    )


def patient_grid(table: pd.DataFrame, patients: pd.DataFrame, column: str) -> np.ndarray:
    """``patients[column]`` by the codes of ``table``'s ``site`` and ``patient_id``, as floats.

    Indexed ``[site code, patient code]`` (:func:`key_codes` of ``table``'s columns), so that
    ``grid[site, patient]`` is each row's patient's value, for any block of rows. A code −1
    (a missing key) and a patient not in ``patients`` give NaN. Looked up on codes, never by
    merging: a laboratory table has ~130 rows per patient.
    """
    _, sites = key_codes(table["site"])
    _, ids = key_codes(table["patient_id"])
    grid = np.full((len(sites) + 1, len(ids) + 1), np.nan)  # the last row/column: missing key
    at_site = pd.Index(sites).get_indexer(patients["site"].to_numpy(dtype=object))
    at_id = pd.Index(ids).get_indexer(patients["patient_id"].to_numpy(dtype=object))
    known = (at_site >= 0) & (at_id >= 0)
    values = patients[column].to_numpy(dtype=float, na_value=np.nan)
    grid[at_site[known], at_id[known]] = values[known]
    return grid


def key_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (−1 missing) and distinct values of a key column (a categorical's own)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, uniques = pd.factorize(column)
    return codes, pd.Index(uniques)


def value_is(column: pd.Series) -> callable:
    """A function: value -> boolean mask of the rows holding it (compared on the codes)."""
    codes, values = key_codes(column)
    position = {str(v): i for i, v in enumerate(values)}
    return lambda value: codes == position.get(value, -2)


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
        :func:`lab_toxicity` (or :func:`grade_from_labs`) output.
    source : {"reported", "labs", "both"}
        ``safety.hematologic_source``.
    """
    if source not in ("reported", "labs", "both"):
        raise ValueError(
            f"safety.hematologic_source must be reported, labs or both, not {source!r}"
        )
    reported_heme = adae[adae["category"] == "hematologic"]
    non_heme = adae[adae["category"] != "hematologic"]
    lab_graded = lab_events(lab_grades)
    parts = {
        "reported": [reported_heme],
        "labs": [lab_graded],
        "both": [reported_heme, lab_graded],
    }[source]
    return pd.concat([non_heme, *parts], ignore_index=True)


def worst_grades(ae: pd.DataFrame) -> pd.DataFrame:
    """Worst grade per patient and term (patients, not events, are counted)."""
    keys = ["site", "patient_id", "term", "category"]
    if ae.empty:
        return pd.DataFrame(columns=[*keys, "grade"])
    return ae.groupby(keys, as_index=False)["grade"].max()


def adverse_event_table(
    sets: dict[str, pd.DataFrame],
    ae: pd.DataFrame,
    hematologic_source: str = "both",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Patients with each CTCAE term at any grade, grade ≥2, ≥3 and 4, per analysis set.

    One row per set, term and grade group (``any``, ``ge2``, ``ge3``, ``ge4``), counting each
    patient once at the worst grade of the term; then the totals ``any hematologic`` and
    ``any non-hematologic`` (worst grade over the category's terms); then peripheral
    neuropathy against the pre-existing grade: :data:`PN_WORSENED` counts patients whose
    on-treatment grade of :data:`PN_TERM` exceeds ``pn_baseline_grade`` (blank read as 0), and
    :data:`PN_BASELINE` the pre-existing grades themselves (not adverse events).

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL (``site, patient_id, pn_baseline_grade``).
    ae : pandas.DataFrame
        The AEs analysed (:func:`combine_hematologic`): ``site, patient_id, term, grade,
        category``.
    hematologic_source : {"reported", "labs", "both"}
        Where the hematologic grades came from; written in the ``source`` column.
    conf_level : float
        Of the exact CIs.

    Returns
    -------
    pandas.DataFrame
        ``analysis_set, category, term, grade_group, n, N, percent`` (``N`` every patient of
        the set, ``percent`` = 100 n / N), then ``ci_lower``, ``ci_upper`` (the exact
        Clopper–Pearson CI of the percentage, in percent: :func:`exact_percent`), ``source``
        and ``note``. No rows when there are
        no adverse-event records at all (no ``adverse_events.csv`` and no lab grades): zero
        counts would claim an absence of toxicity that was never recorded.
    """
    columns = [*AE_COLUMNS, "ci_lower", "ci_upper", "source", "note"]
    if ae.empty:
        return pd.DataFrame(columns=columns)
    source = {
        "hematologic": HEMATOLOGIC_SOURCE_LABEL[hematologic_source],
        "non-hematologic": "reported",
    }
    worst = worst_grades(ae)
    rows = []
    for name, adsl in sets.items():
        n_total = len(adsl)
        patients = adsl[["site", "patient_id", "pn_baseline_grade"]]
        in_set = worst.merge(patients, on=["site", "patient_id"])
        blocks = [
            (cat, term, g, source[cat], "")
            for (cat, term), g in in_set.groupby(["category", "term"])
        ]
        for cat in ("hematologic", "non-hematologic"):
            part = in_set[in_set["category"] == cat].groupby(["site", "patient_id"])["grade"].max()
            blocks.append((cat, f"any {cat}", part.to_frame(), source[cat], ""))
        pn = in_set[in_set["term"] == PN_TERM]
        worse = pn[pn["grade"] > pn["pn_baseline_grade"].fillna(0)]
        blocks.append(
            (
                "non-hematologic",
                PN_WORSENED,
                worse,
                "reported",
                "on-treatment grade above pn_baseline_grade (blank baseline read as 0)",
            )
        )
        baseline = patients.rename(columns={"pn_baseline_grade": "grade"}).fillna({"grade": 0})
        blocks.append(
            (
                "non-hematologic",
                PN_BASELINE,
                baseline,
                "pn_baseline_grade",
                "pre-existing before day 0, not an adverse event",
            )
        )
        for cat, term, g, src, note in blocks:
            for group, lowest in GRADE_GROUPS.items():
                n = int((g["grade"] >= lowest).sum())
                percent, lower, upper = exact_percent(n, n_total, conf_level)
                rows.append((name, cat, term, group, n, n_total, percent, lower, upper, src, note))
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- window, CIs


#: Columns of safety_window.csv (:func:`window_counts`).
WINDOW_COLUMNS = [
    "records",
    "n_records",
    "n_before_window",
    "n_after_window",
    "n_implausible",
    "n_analysed",
]
REPORTED_RECORDS = "reported adverse events"


def in_window(table: pd.DataFrame, windows: pd.DataFrame, day: str = "onset_day") -> np.ndarray:
    """Which rows of ``table`` have ``day`` in their patient's window (both ends included).

    Parameters
    ----------
    table : pandas.DataFrame
        ``site, patient_id`` and ``day`` (ADAE: ``onset_day``).
    windows : pandas.DataFrame
        ``site, patient_id, start_day, end_day`` (:func:`nadir_windows`); a patient not listed
        has no day in a window.

    Returns
    -------
    numpy.ndarray of bool
        One per row.
    """
    if not len(table):
        return np.zeros(0, dtype=bool)
    at = (key_codes(table["site"])[0], key_codes(table["patient_id"])[0])
    first, last = (patient_grid(table, windows, c)[at] for c in ("start_day", "end_day"))
    days = pd.to_numeric(table[day]).to_numpy(dtype=float, na_value=np.nan)
    return (days >= first) & (days <= last)


def window_counts(
    adae: pd.DataFrame, windows: pd.DataFrame, lab_grades: pd.DataFrame
) -> pd.DataFrame:
    """What the treatment-emergent window counted out: reported AEs and blood counts.

    Parameters
    ----------
    adae : pandas.DataFrame
        Every reported AE (ADAE, before the window): ``site, patient_id, onset_day``.
    windows : pandas.DataFrame
        :func:`nadir_windows` of the patients.
    lab_grades : pandas.DataFrame
        :func:`lab_toxicity` of the labs (its counts per patient and test).

    Returns
    -------
    pandas.DataFrame
        :data:`WINDOW_COLUMNS`: one row for the reported AEs (when there are any; onset days
        are validated, so none is implausible) and one per graded blood count sent (ANC, HGB,
        PLT, WBC). ``n_records`` = ``n_before_window`` + ``n_after_window`` +
        ``n_implausible`` + ``n_analysed``.
    """
    rows = []
    if len(adae):
        kept = in_window(adae, windows)
        days = pd.to_numeric(adae["onset_day"]).to_numpy(dtype=float, na_value=np.nan)
        ends = patient_grid(adae, windows, "end_day")[
            key_codes(adae["site"])[0], key_codes(adae["patient_id"])[0]
        ]
        after = ~kept & (days > ends)
        rows.append(
            (REPORTED_RECORDS, len(adae), int((~kept & ~after).sum()), int(after.sum()), 0)
            + (int(kept.sum()),)
        )
    if "test" in lab_grades.columns and len(lab_grades):
        counts = ["n_values", "n_before_window", "n_after_window", "n_implausible", "n_graded"]
        sums = lab_grades.groupby("test")[counts].sum()
        for test in TOXICITY_TESTS:
            if test in sums.index:
                rows.append((test, *(int(v) for v in sums.loc[test])))
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def exact_percent(n: int, size: int, conf_level: float = 0.95) -> tuple[float, float, float]:
    """``100 n / size`` and its exact (Clopper–Pearson) CI in percent.

    The CI is R ``100 * binom.test(n, size, conf.level = conf_level)$conf.int``
    (:func:`rwe.response.clopper_pearson`); NaN for an empty set.
    """
    from rwe.response import clopper_pearson  # imported here: validation imports this module

    if not size:
        return np.nan, np.nan, np.nan
    lower, upper = clopper_pearson(int(n), int(size), conf_level)
    return 100.0 * n / size, 100.0 * lower, 100.0 * upper


# --------------------------------------------------------------------------- lab vs reported

#: The blood counts graded, in the order of the table, and the toxicity each grades.
TOXICITY_TESTS = {
    "ANC": "Neutropenia",
    "HGB": "Anaemia",
    "PLT": "Thrombocytopenia",
    "WBC": "Leukopenia",
}
#: The row of patients with any of :data:`TOXICITY_TESTS`.
ANY_TEST = "any"
ANY_TEST_TERM = "any of the four blood-count terms"
#: Grade bands of the hematologic toxicity table (lowest grade of each).
TOXICITY_GRADE_GROUPS = {"any": 1, "ge3": 3, "ge4": 4}
#: Where a patient's grade comes from: a reported AE, the blood counts, or the worse of both.
TOXICITY_SOURCES = ("reported", "labs", "either")
HEMATOLOGIC_TOXICITY_COLUMNS = [
    *["analysis_set", "test", "term", "grade_group", "source", "n", "N", "percent"],
    *["ci_lower", "ci_upper", "n_with_labs", "note"],
]


def _grades_by_test(graded: pd.DataFrame, patients: pd.MultiIndex) -> pd.DataFrame:
    """Worst grade per patient (rows, ``patients``' order) and test (columns), 0 when none."""
    tests = list(TOXICITY_TESTS)
    if graded.empty:
        return pd.DataFrame(0, index=patients, columns=tests)
    worst = graded.groupby(["site", "patient_id", "test"], observed=True)["grade"].max()
    worst = worst.unstack("test")
    return worst.reindex(index=patients, columns=tests).fillna(0).astype(int)


def _worst_of(grades: pd.DataFrame, test: str) -> pd.Series:
    """A patient's grade of ``test`` (of any of them for :data:`ANY_TEST`)."""
    return grades.max(axis=1) if test == ANY_TEST else grades[test]


def hematologic_toxicity_table(
    sets: dict[str, pd.DataFrame],
    adae: pd.DataFrame,
    lab_grades: pd.DataFrame,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Patients with each hematologic toxicity: reported, graded from blood counts, or either.

    For each analysis set, analyte of :data:`TOXICITY_TESTS` (and ``any`` of them), grade band
    (any grade, grade ≥3, grade 4) and source: the patients whose worst grade is in the band,
    counted once. ``reported`` is the worst reported grade of the analyte's CTCAE v5 term
    (:data:`LAB_GRADES`: Neutrophil count decreased, Anemia, Platelet count decreased, White
    blood cell decreased); ``labs`` the worst grade of its graded blood counts
    (:func:`lab_toxicity`); ``either`` the worse of the two. Both are restricted to the
    treatment-emergent window beforehand (:func:`in_window`, :func:`lab_toxicity`).

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL (``site, patient_id``).
    adae : pandas.DataFrame
        The reported AEs in the window (``site, patient_id, term, grade``).
    lab_grades : pandas.DataFrame
        :func:`lab_toxicity` of the blood counts in the window.
    conf_level : float
        Of the exact CIs.

    Returns
    -------
    pandas.DataFrame
        :data:`HEMATOLOGIC_TOXICITY_COLUMNS`: ``n`` of ``N`` (every patient of the set),
        ``percent`` and its exact Clopper–Pearson CI in percent (R ``binom.test``),
        ``n_with_labs`` the patients of the set with at least one graded value of the analyte
        (of any of them for ``any``), ``note`` when a grade cannot come from a source (CTCAE
        anemia grade 4 is clinical). No rows when there is neither a reported AE nor a blood
        count.
    """
    has_labs = "test" in lab_grades.columns and len(lab_grades) > 0
    if adae.empty and not has_labs:
        return pd.DataFrame(columns=HEMATOLOGIC_TOXICITY_COLUMNS)
    term_test = {term.casefold(): test for test, (term, _) in LAB_GRADES.items()}
    reported = adae.assign(test=adae["term"].astype(str).str.strip().str.casefold().map(term_test))
    reported = reported[reported["test"].isin(list(TOXICITY_TESTS))]
    labs = lab_grades if has_labs else pd.DataFrame(columns=LAB_TOXICITY_COLUMNS)
    labs = labs[labs["test"].isin(list(TOXICITY_TESTS))]
    rows = []
    for name, adsl in sets.items():
        patients = pd.MultiIndex.from_frame(adsl[["site", "patient_id"]].astype(object))
        size = len(patients)
        grades = {
            "reported": _grades_by_test(reported, patients),
            "labs": _grades_by_test(labs[labs["n_graded"] > 0], patients),
        }
        grades["either"] = np.maximum(grades["reported"], grades["labs"])
        with_labs = _grades_by_test(labs[labs["n_graded"] > 0].assign(grade=1), patients)
        for test in [*TOXICITY_TESTS, ANY_TEST]:
            term = LAB_GRADES[test][0] if test in LAB_GRADES else ANY_TEST_TERM
            highest = max(g for _, g in LAB_GRADES[test][1]) if test in LAB_GRADES else 4
            n_with_labs = int(_worst_of(with_labs, test).sum())
            for group, lowest in TOXICITY_GRADE_GROUPS.items():
                for source in TOXICITY_SOURCES:
                    n = int((_worst_of(grades[source], test) >= lowest).sum())
                    percent, lower, upper = exact_percent(n, size, conf_level)
                    note = ""
                    if source == "labs" and lowest > highest:
                        note = (
                            f"CTCAE v5 grade {lowest} of {term} is clinical, not graded from {test}"
                        )
                    rows.append(
                        (name, test, term, group, source, n, size, percent, lower, upper)
                        + (n_with_labs, note)
                    )
    return pd.DataFrame(rows, columns=HEMATOLOGIC_TOXICITY_COLUMNS)


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
    from scipy import stats  # imported here: validation imports this module, not scipy

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


def nadirs_by_patient(adsl: pd.DataFrame, nadirs: pd.DataFrame) -> pd.DataFrame:
    """Each patient's nadirs (:func:`patient_nadirs`) with the regimen and IMiD use of ADSL.

    An inner join on site and patient, in ADSL's order: joined on one integer per patient (a
    join on two text columns of 10^6 and 4 x 10^6 rows takes seconds).
    """
    keys = ["site", "patient_id"]
    person = np.zeros(len(adsl) + len(nadirs), dtype=np.int64)
    for k in keys:
        codes, uniques = pd.factorize(pd.concat([adsl[k], nadirs[k]], ignore_index=True))
        person = person * (len(uniques) + 1) + codes
    left = adsl[[*keys, "regimen", "imid_containing"]].assign(_person=person[: len(adsl)])
    right = nadirs.drop(columns=keys).assign(_person=person[len(adsl) :])
    return left.merge(right, on="_person").drop(columns="_person")


def nadir_table(sets: dict[str, pd.DataFrame], nadirs: pd.DataFrame) -> pd.DataFrame:
    """Median and range of nadir WBC, ANC, HGB, PLT: overall, by IMiD use and by regimen.

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL.
    nadirs : pandas.DataFrame
        Each patient's nadir per test (:func:`patient_nadirs` of the laboratory values).

    Returns
    -------
    pandas.DataFrame
        ``analysis_set, test, group, n, median, min, max`` with ``group`` "all",
        "IMiD-containing", "IMiD-free" or a regimen; only groups with at least one patient
        (no rows at all without laboratory values).
    """
    rows = []
    for name, adsl in sets.items():
        data = nadirs_by_patient(adsl, nadirs)
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
                if len(v):
                    rows.append((name, test, group, len(v), v.median(), v.min(), v.max()))
    return pd.DataFrame(rows, columns=NADIR_COLUMNS)


def nadir_test_table(sets: dict[str, pd.DataFrame], nadirs: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon rank-sum tests of nadirs: IMiD-containing vs IMiD-free, and Pd vs Rd vs Td.

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL.
    nadirs : pandas.DataFrame
        Each patient's nadir per test (:func:`patient_nadirs` of the laboratory values).

    Returns
    -------
    pandas.DataFrame
        ``analysis_set, test, comparison, p``, then ``W`` (R's statistic), ``n_1``, ``n_2`` and
        ``method`` (exact or normal approximation, :func:`wilcoxon_rank_sum`). A comparison with
        an empty group (e.g. within a single-regimen set) has no row.
    """
    rows = []
    for name, adsl in sets.items():
        data = nadirs_by_patient(adsl, nadirs)
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
