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


def grade_from_labs(adlb: pd.DataFrame) -> pd.DataFrame:
    """CTCAE v5 grades of hematologic toxicity from blood counts on treatment (day ≥ 0).

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

    Anemia grade 4 (life-threatening) is a clinical, not a laboratory, grade.

    Parameters
    ----------
    adlb : pandas.DataFrame
        ``site, patient_id, day, test, value`` with harmonised units
        (:func:`rwe.units.harmonise_lab_units`).

    Returns
    -------
    pandas.DataFrame
        ADAE-shaped rows (``site, patient_id, term, grade, onset_day, category, source``): the
        worst grade per patient and term, ``onset_day`` the first day that grade was reached,
        ``category`` "hematologic", ``source`` "labs". Patients never below LLN have no row.
    """
    parts = []
    with np.errstate(invalid="ignore"):
        on_treatment = pd.to_numeric(adlb["day"]).to_numpy(dtype=float, na_value=np.nan) >= 0
    test_is = value_is(adlb["test"])
    for test, (term, cuts) in LAB_GRADES.items():
        # Row positions, not copies of the table (a laboratory table has ~90 rows per patient).
        rows = np.flatnonzero(on_treatment & test_is(test))
        if not len(rows):
            continue
        values = adlb["value"].to_numpy(dtype=float)[rows]
        grade = np.zeros(len(rows), dtype=int)
        for bound, g in reversed(cuts):  # mildest first, so the worst bound wins
            grade[values < bound] = g
        graded = grade > 0
        if not graded.any():
            continue
        # Per patient (in order of appearance): the worst grade and the first day it was reached.
        part = adlb[["site", "patient_id", "day"]].iloc[rows[graded]]
        patient = _patient_codes(part)
        grade, day = grade[graded], part["day"].to_numpy(dtype=float, na_value=np.nan)
        worst = pd.Series(grade).groupby(patient, sort=False).max()
        at_worst = grade == worst.reindex(patient).to_numpy()
        first = pd.Series(day[at_worst]).groupby(patient[at_worst], sort=False).min()
        keys = part[["site", "patient_id"]].astype(object).drop_duplicates()
        parts.append(
            pd.DataFrame(
                {
                    "site": keys["site"].to_numpy(),
                    "patient_id": keys["patient_id"].to_numpy(),
                    "term": term,
                    "grade": worst.to_numpy(),
                    "onset_day": first.reindex(worst.index).to_numpy().astype(np.int64),
                    "category": "hematologic",
                    "source": "labs",
                }
            )
        )
    if not parts:
        return pd.DataFrame([], columns=ADAE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _patient_codes(table: pd.DataFrame) -> np.ndarray:
    """One integer per (site, patient_id), numbered in order of first appearance."""
    site = pd.factorize(table["site"])[0].astype(np.int64)
    patient = pd.factorize(table["patient_id"])[0].astype(np.int64)
    return pd.factorize(site * (int(patient.max(initial=0)) + 1) + patient)[0]


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


def nadir_window_methods(
    start_day: int = 1, days_after_end_of_treatment: int = 30, until_progression: bool = True
) -> str:
    """The methods sentence that defines the nadir window of :func:`nadir_windows`.

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
    return (
        f"Nadir blood counts are each patient's lowest WBC, ANC, haemoglobin and platelet count "
        f"from day {start_day} to {end} (to the last follow-up when {otherwise}); values "
        "outside the physiological ranges of the plausibility checks are left out and counted."
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
    keys = ["site", "patient_id", "term", "category"]
    if ae.empty:
        return pd.DataFrame(columns=[*keys, "grade"])
    return ae.groupby(keys, as_index=False)["grade"].max()


def adverse_event_table(
    sets: dict[str, pd.DataFrame], ae: pd.DataFrame, hematologic_source: str = "both"
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

    Returns
    -------
    pandas.DataFrame
        ``analysis_set, category, term, grade_group, n, N, percent`` (``N`` every patient of
        the set, ``percent`` = 100 n / N), then ``source`` and ``note``. No rows when there are
        no adverse-event records at all (no ``adverse_events.csv`` and no lab grades): zero
        counts would claim an absence of toxicity that was never recorded.
    """
    columns = [*AE_COLUMNS, "source", "note"]
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
                percent = 100.0 * n / n_total if n_total else np.nan
                rows.append((name, cat, term, group, n, n_total, percent, src, note))
    return pd.DataFrame(rows, columns=columns)


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
