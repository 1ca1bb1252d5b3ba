"""IMWG response derived from laboratory values, its confirmation, timing and agreement.

Every assessment is classified from serum and urine M-protein (``SPEP_M``, ``UPEP_M``), serum
free light chains (``FLC_involved``, ``FLC_ratio``), immunofixation (``IFE``) and clonal
bone-marrow plasma cells (``BMPC``) of ``labs.csv``, following the International Myeloma
Working Group consensus criteria (Kumar S et al., Lancet Oncol 2016;17:e328-46, Table 3 and its
footnotes; measurable disease as in Rajkumar SV et al., Blood 2011;117:4691-5): relative to
the baseline value for response and to the lowest confirmed value (nadir) for progression.
Confirmation on consecutive assessments and the best overall response follow the same paper
and pharmaverse admiralonco's "Creating ADRS with IMWG Criteria" (a patient stays in the last
confirmed category until a better one or progression is confirmed; an unconfirmed progression
is not counted).

The thresholds are one :class:`Criteria` per published version (:data:`CRITERIA`), chosen by
the config key ``imwg.criteria``; a later version is added as another entry once its text is
verified. Soft-tissue plasmacytomas (sum of products of diameters) and circulating plasma cells
are not in ``labs.csv``: their criteria are not applied.

Units (harmonised by :func:`response_labs`): ``SPEP_M`` g/dL, ``UPEP_M`` mg/24 h,
``FLC_involved`` mg/L, ``FLC_ratio`` κ/λ, ``IFE`` 1 = positive and 0 = negative (serum and
urine), ``BMPC`` % of clonal plasma cells in the marrow (0 = none detected).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from rwe.derive import DAYS_PER_MONTH, KEYS, RESPONDER
from rwe.derive import RESPONSE_RANK as RANK
from rwe.exceptions import InputError, Problem
from rwe.safety import key_codes

CATEGORIES = tuple(RANK)
RESPONSE_SOURCES = ("recorded", "derived")
#: Measurable disease at baseline that drives the response assessment.
DISEASE_TYPES = ("M-protein", "FLC", "marrow", "none")

#: Laboratory tests of the response criteria: harmonised unit and accepted spellings (lower
#: case, without spaces) with the factor to it.
RESPONSE_TESTS = {
    "SPEP_M": ("g/dL", {"g/dl": 1.0, "g/100ml": 1.0, "g/l": 0.1}),
    "UPEP_M": (
        "mg/24h",
        {"mg/24h": 1.0, "mg/d": 1.0, "mg/day": 1.0, "g/24h": 1000.0, "g/d": 1000.0},
    ),
    "FLC_involved": ("mg/L", {"mg/l": 1.0, "mg/dl": 10.0}),
    "FLC_ratio": ("ratio", {"ratio": 1.0, "kappa/lambda": 1.0, "1": 1.0}),
    "IFE": ("0/1", {"0/1": 1.0, "1=positive": 1.0, "positive=1": 1.0}),
    "BMPC": ("%", {"%": 1.0, "percent": 1.0}),
}


@dataclass(frozen=True)
class Criteria:
    """Thresholds of one version of the IMWG response criteria (units as in the module).

    Reductions are fractions of the baseline value; rises are fractions of the nadir. Each
    field cites the criterion it encodes.
    """

    version: str
    #: The publication, as the report cites it.
    reference: str
    #: Categories the version defines, best first.
    categories: tuple[str, ...]
    #: Measurable disease: serum M-protein ≥ 1 g/dL (Rajkumar 2011; Kumar 2016).
    serum_measurable: float
    #: Measurable disease: urine M-protein ≥ 200 mg/24 h.
    urine_measurable: float
    #: Measurable by FLC only: involved FLC ≥ 10 mg/dL (100 mg/L) with an abnormal ratio.
    flc_measurable: float
    #: Normal κ/λ FLC ratio, 0.26–1.65 (inclusive): sCR, and CR of FLC-only disease.
    flc_ratio_normal: tuple[float, float]
    #: PR by marrow only when nothing else is measurable, if baseline plasma cells ≥ 30 %.
    marrow_measurable: float
    #: CR: < 5 % plasma cells in the marrow aspirate.
    cr_marrow_below: float
    #: VGPR: serum M-protein reduced by ≥ 90 %, plus urine M-protein < 100 mg/24 h.
    vgpr_serum_reduction: float
    vgpr_urine_below: float
    #: VGPR of FLC-only disease: dFLC reduced by > 90 % (strictly).
    vgpr_flc_reduction: float
    #: PR: serum M-protein reduced by ≥ 50 %, plus urine reduced by ≥ 90 % or < 200 mg/24 h.
    pr_serum_reduction: float
    pr_urine_reduction: float
    pr_urine_below: float
    #: PR of FLC-only disease: dFLC reduced by ≥ 50 %; by marrow only: plasma cells ≥ 50 %.
    pr_flc_reduction: float
    pr_marrow_reduction: float
    #: MR: serum M-protein reduced by 25–49 % and urine by 50–89 % (no FLC or marrow MR).
    mr_serum_reduction: float
    mr_urine_reduction: float
    #: PD: an increase of ≥ 25 % from the lowest confirmed value, with absolute minimums.
    pd_rise: float
    #: Serum M-protein: absolute increase ≥ 0.5 g/dL; or ≥ 1 g/dL when the nadir is ≥ 5 g/dL.
    pd_serum_increase: float
    pd_serum_high_nadir: float
    pd_serum_high_increase: float
    #: Urine M-protein: absolute increase ≥ 200 mg/24 h.
    pd_urine_increase: float
    #: dFLC (only without measurable serum and urine M-protein): increase > 10 mg/dL (100 mg/L).
    pd_flc_increase: float
    #: Marrow plasma cells (only when nothing else is measurable): increase ≥ 10 points.
    pd_marrow_increase: float


#: Kumar et al., Lancet Oncol 2016;17:e328-46, Table 3 (standard IMWG response criteria) and
#: footnotes: MR from Rajkumar et al. 2011; FLC-only CR (normal ratio) and VGPR (dFLC > 90 %)
#: from the footnote "when the only method to measure disease is by serum FLC levels"; PD
#: "increase of 25 % from lowest confirmed response value" with the absolute minimums listed.
CRITERIA = {
    "2016": Criteria(
        version="2016",
        reference="Kumar et al., Lancet Oncol 2016",
        categories=CATEGORIES,
        serum_measurable=1.0,
        urine_measurable=200.0,
        flc_measurable=100.0,
        flc_ratio_normal=(0.26, 1.65),
        marrow_measurable=30.0,
        cr_marrow_below=5.0,
        vgpr_serum_reduction=0.90,
        vgpr_urine_below=100.0,
        vgpr_flc_reduction=0.90,
        pr_serum_reduction=0.50,
        pr_urine_reduction=0.90,
        pr_urine_below=200.0,
        pr_flc_reduction=0.50,
        pr_marrow_reduction=0.50,
        mr_serum_reduction=0.25,
        mr_urine_reduction=0.50,
        pd_rise=0.25,
        pd_serum_increase=0.5,
        pd_serum_high_nadir=5.0,
        pd_serum_high_increase=1.0,
        pd_urine_increase=200.0,
        pd_flc_increase=100.0,
        pd_marrow_increase=10.0,
    )
}


def criteria(version: str = "2016") -> Criteria:
    """The :class:`Criteria` of an IMWG version (config ``imwg.criteria``)."""
    if version not in CRITERIA:
        raise ValueError(f"imwg.criteria must be one of {sorted(CRITERIA)}, not {version!r}")
    return CRITERIA[version]


# ---------------------------------------------------------------------------------------------
# Laboratory values


def response_labs(labs: pd.DataFrame, file_label: str = "labs.csv") -> pd.DataFrame:
    """The response tests of a validated laboratory table, in harmonised units.

    Parameters
    ----------
    labs : pandas.DataFrame
        ``site, patient_id, day, test, value, unit`` (and ``_row``, the data row, for messages).
    file_label : str
        The file named in messages.

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, day, test, value`` of the tests in :data:`RESPONSE_TESTS`, values
        converted to the harmonised units; ``site`` and ``patient_id`` of the dtype of
        ``labs``, ``test`` categorical.

    Raises
    ------
    InputError
        Every row whose unit is not known for its test, and every ``IFE`` value other than 0
        or 1 (file, row, column; never a value).
    """
    # Tests and units are looked up once per distinct spelling; rows follow by their codes.
    test_codes, test_names = _codes(labs["test"])
    code_of = {str(t): i for i, t in enumerate(test_names)}
    wanted = [code_of[t] for t in RESPONSE_TESTS if t in code_of]
    rows = np.flatnonzero(np.isin(test_codes, wanted))
    test_codes = test_codes[rows]
    unit_codes, unit_names = _codes(labs["unit"].iloc[rows])
    unit_keys = pd.Series(unit_names.astype(str)).str.lower().str.replace(" ", "")
    out = pd.DataFrame(
        {
            # Keys as the labs hold them (categorical when validated): 40 million response
            # tests of a 10^6-patient site would take 8 bytes a cell as Python strings.
            "site": labs["site"].iloc[rows].array,
            "patient_id": labs["patient_id"].iloc[rows].array,
            "day": labs["day"].iloc[rows].to_numpy(dtype=float, na_value=np.nan),
            "test": pd.Categorical.from_codes(test_codes, test_names.astype(object)),
            "value": pd.to_numeric(labs["value"].iloc[rows]).to_numpy(dtype=float, na_value=np.nan),
        },
        copy=False,  # not consolidated: one block per column
    )
    rows = labs["_row"].to_numpy()[rows] if "_row" in labs.columns else [None] * len(out)
    factor = np.full(len(out), np.nan)
    problems = []
    for test, (unit, spellings) in RESPONSE_TESTS.items():
        if test not in code_of:
            continue
        is_test = test_codes == code_of[test]
        per_unit = np.append(unit_keys.map(spellings).to_numpy(dtype=float), np.nan)
        factor[is_test] = per_unit[unit_codes[is_test]]
        for i in np.flatnonzero(is_test & np.isnan(factor)):
            problems.append(
                Problem(
                    file_label,
                    _row(rows[i]),
                    "unit",
                    f"unknown unit for {test}; expected {unit} or one of "
                    f"{', '.join(sorted(spellings))}",
                )
            )
    bad_ife = (test_codes == code_of.get("IFE", -2)) & ~np.isin(out["value"], [0.0, 1.0])
    problems += [
        Problem(file_label, _row(rows[i]), "value", "IFE must be 1 (positive) or 0 (negative)")
        for i in np.flatnonzero(bad_ife)
    ]
    if problems:
        raise InputError(problems)
    out["value"] = out["value"] * factor
    return out


def _row(row) -> int | None:
    return None if row is None or pd.isna(row) else int(row)


def _codes(column: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (−1 missing, int64) and distinct values of a key column, sorted if asked."""
    codes, uniques = pd.factorize(column, sort=True) if sort else key_codes(column)
    return codes.astype(np.int64), np.asarray(uniques)


def _test_codes(labs: pd.DataFrame) -> np.ndarray:
    """Position of each row's test in :data:`RESPONSE_TESTS` (−1 for another test)."""
    return pd.Categorical(labs["test"], categories=list(RESPONSE_TESTS)).codes.astype(np.int64)


def _last_values(cell: np.ndarray, value: np.ndarray, n_cells: int, *order: np.ndarray):
    """The last non-missing value of each cell (pandas' ``groupby(...).last()``), NaN if none.

    Rows count in the order of ``order`` (numpy.lexsort keys, most significant last), then in
    their own order; ``cell`` −1 is left out.
    """
    out = np.full(n_cells, np.nan)
    keep = (cell >= 0) & ~np.isnan(value)
    cell, value = cell[keep], value[keep]
    sort = np.lexsort((*(k[keep] for k in order), cell))  # stable: ties keep the row order
    cell, value = cell[sort], value[sort]
    last = np.append(cell[1:] != cell[:-1], True)
    out[cell[last]] = value[last]
    return out


def _wide(labs: pd.DataFrame) -> dict[str, np.ndarray]:
    """One row per patient and day, one column per test (the last value of a day).

    Columns as arrays (``site, patient_id, day``, then each test), rows sorted by site, patient
    and day, as ``groupby(sort=True)`` sorts them; found by integer codes, not tuples.
    """
    n_tests = len(RESPONSE_TESTS)
    (site, sites), (patient, patients), (day, days) = (
        _codes(labs[c], sort=True) for c in (*KEYS, "day")
    )
    known = (site >= 0) & (patient >= 0) & (day >= 0) & labs["test"].notna().to_numpy()
    draw = (site * len(patients) + patient) * len(days) + day
    group, keys = pd.factorize(draw[known])  # by hashing, then the distinct draws sorted
    rank = np.argsort(keys)
    keys, group = keys[rank], np.argsort(rank)[group]
    group_of_row = np.full(len(labs), -1, dtype=np.int64)
    group_of_row[known] = group
    test = _test_codes(labs)
    cell = np.where((group_of_row >= 0) & (test >= 0), group_of_row * n_tests + test, -1)
    value = labs["value"].to_numpy(float, na_value=np.nan)
    values = _last_values(cell, value, len(keys) * n_tests).reshape(len(keys), n_tests)
    person, day_code = np.divmod(keys, len(days))
    out = {
        "site": sites[person // len(patients)],
        "patient_id": patients[person % len(patients)],
        "day": days[day_code],
    }
    out.update(zip(RESPONSE_TESTS, values.T, strict=True))
    return out


def _dflc(involved, ratio, kappa) -> np.ndarray:
    """Involved minus uninvolved FLC (mg/L): uninvolved is involved / ratio for a κ clone."""
    uninvolved = np.where(kappa, involved / ratio, involved * ratio)
    return involved - uninvolved


def baseline_disease(labs: pd.DataFrame, crit: Criteria) -> pd.DataFrame:
    """Baseline values (the last on or before day 0) and the measurable disease of each patient.

    Measurable disease (Kumar 2016, after Rajkumar 2011): serum M-protein ≥ 1 g/dL or urine
    M-protein ≥ 200 mg/24 h (``M-protein``); else involved FLC ≥ 100 mg/L with an abnormal
    κ/λ ratio (``FLC``); else marrow plasma cells ≥ 30 % (``marrow``, PR by marrow only);
    else ``none`` (not evaluable by laboratory values).

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id``, the baseline of each test (``<test>_0``), ``dflc_0``, ``kappa``
        (κ clone: baseline ratio > 1), ``serum_measurable``, ``urine_measurable`` and
        ``disease`` (one of :data:`DISEASE_TYPES`).
    """
    # Patients in the order they first appear; the last value on or before day 0 of each test.
    (site, _), (patient, patients) = (_codes(labs[c]) for c in KEYS)
    person = pd.factorize(site * len(patients) + patient)[0]
    first = np.unique(person, return_index=True)[1]
    n_tests = len(RESPONSE_TESTS)
    day = labs["day"].to_numpy(float, na_value=np.nan)
    test = _test_codes(labs)
    cell = np.where((day <= 0) & (test >= 0), person * n_tests + test, -1)
    value = labs["value"].to_numpy(float, na_value=np.nan)
    values = _last_values(cell, value, len(first) * n_tests, day).reshape(len(first), n_tests)
    out = labs[KEYS].iloc[first].reset_index(drop=True)
    for i, test_name in enumerate(RESPONSE_TESTS):
        out[f"{test_name}_0"] = values[:, i]
    low, high = crit.flc_ratio_normal
    ratio = out["FLC_ratio_0"].to_numpy(float)
    out["kappa"] = ~(ratio < 1)
    out["dflc_0"] = _dflc(out["FLC_involved_0"].to_numpy(float), ratio, out["kappa"].to_numpy())
    serum = (out["SPEP_M_0"] >= crit.serum_measurable).to_numpy()
    urine = (out["UPEP_M_0"] >= crit.urine_measurable).to_numpy()
    abnormal = (ratio < low) | (ratio > high)
    flc = (out["FLC_involved_0"] >= crit.flc_measurable).to_numpy() & abnormal
    marrow = (out["BMPC_0"] >= crit.marrow_measurable).to_numpy()
    out["serum_measurable"], out["urine_measurable"] = serum, urine
    out["disease"] = np.select(
        [serum | urine, flc, marrow], list(DISEASE_TYPES[:3]), default=DISEASE_TYPES[3]
    )
    return out


# ---------------------------------------------------------------------------------------------
# Per-assessment category


def _group_shift(values: np.ndarray, group: np.ndarray, by: int) -> np.ndarray:
    """``values`` shifted by ``by`` rows within consecutive runs of ``group`` (NaN outside)."""
    out = np.full(len(values), np.nan)
    if by > 0 and len(values) > by:
        same = group[by:] == group[:-by]
        out[by:] = np.where(same, values[:-by], np.nan)
    elif by < 0 and len(values) > -by:
        same = group[:by] == group[-by:]
        out[:by] = np.where(same, values[-by:], np.nan)
    return out


def confirmed_nadir(values: np.ndarray, group: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Lowest confirmed value before each assessment, the reference of progression.

    Kumar 2016 measures progression from the "lowest confirmed response value": a value counts
    as the nadir once the next assessment confirms it, so the nadir before assessment j is the
    smallest of the baseline and ``max(v[k], v[k+1])`` over consecutive pairs with k + 1 < j.

    Parameters
    ----------
    values : numpy.ndarray
        One parameter's values on the assessments where it was measured, sorted by patient
        (``group``) and day.
    group : numpy.ndarray
        Patient code of each value.
    baseline : numpy.ndarray
        The patient's baseline value on each row (NaN when none).
    """
    pair = np.fmax(values, _group_shift(values, group, 1))
    pair = np.where(np.isnan(_group_shift(values, group, 1)), np.nan, pair)
    running = pd.Series(pair).groupby(group).cummin().to_numpy()
    before = _group_shift(running, group, 1)  # pairs that end before this assessment
    return np.fmin(baseline, before)


def _progression(value, nadir, rise, increase, strict=False) -> np.ndarray:
    """Rise of ≥ ``rise`` × nadir and of ≥ (or >) ``increase`` from the nadir."""
    delta = value - nadir
    big_enough = delta > increase if strict else delta >= increase
    with np.errstate(invalid="ignore"):
        return (delta >= rise * nadir) & big_enough & ~np.isnan(value) & ~np.isnan(nadir)


def _reduction(value, base) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - value / base


def _nadir_where_measured(values: pd.Series, group: np.ndarray, baseline: pd.Series) -> np.ndarray:
    """:func:`confirmed_nadir` over the assessments where the parameter was measured."""
    measured = values.notna().to_numpy()
    out = np.full(len(values), np.nan)
    out[measured] = confirmed_nadir(
        values.to_numpy(float)[measured], group[measured], baseline.to_numpy(float)[measured]
    )
    return out


def classify_assessments(
    labs: pd.DataFrame, crit: Criteria, base: pd.DataFrame | None = None
) -> pd.DataFrame:
    """IMWG category of every on-treatment assessment, before confirmation.

    An assessment is a day after day 0 on which the parameter of the patient's measurable
    disease (:func:`baseline_disease`) was measured: serum or urine M-protein, FLC, or marrow.
    Serum, urine, FLC and immunofixation are read on that day; the marrow of the CR criteria is
    the last one on treatment (marrow needs no confirmation, Kumar 2016). A criterion whose
    value is missing is not met: the category is downgraded, as IMWG prescribes.

    Parameters
    ----------
    labs : pandas.DataFrame
        :func:`response_labs`.
    crit : Criteria
    base : pandas.DataFrame, optional
        :func:`baseline_disease` of ``labs``, if already computed.

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, day, category, disease``, then the values used (``SPEP_M, UPEP_M,
        dflc, FLC_ratio, IFE, BMPC, BMPC_last``), their baselines and nadirs; sorted by patient
        and day. Patients without measurable disease have no rows.
    """
    base = baseline_disease(labs, crit) if base is None else base
    # Columns as arrays and one frame at the end: merging, adding to and filtering a wide frame
    # column by column would copy its blocks each time.
    wide = _wide(labs)
    measurable = base[base["disease"] != "none"]
    # The patient of each row: one integer from the codes of both keys, over both tables.
    person = np.zeros(len(wide["day"]) + len(measurable), dtype=np.int64)
    for k in KEYS:
        codes, uniques = pd.factorize(np.concatenate([wide[k], measurable[k].to_numpy()]))
        person = person * (len(uniques) + 1) + codes
    person, measurable_person = person[: len(wide["day"])], person[len(wide["day"]) :]
    at = pd.Index(measurable_person).get_indexer(person)
    # Days on treatment of patients with measurable disease (an inner merge: rows stay sorted
    # by patient and day).
    rows = np.flatnonzero((wide["day"] > 0) & (at >= 0))
    cols = {c: v[rows] for c, v in wide.items()}
    cols.update(
        (c, measurable[c].to_numpy()[at[rows]]) for c in measurable.columns if c not in KEYS
    )
    group = pd.factorize(person[rows])[0]
    cols["dflc"] = _dflc(cols["FLC_involved"], cols["FLC_ratio"], cols["kappa"].astype(bool))
    cols["BMPC_last"] = pd.Series(cols["BMPC"]).groupby(group, sort=False).ffill().to_numpy()
    for col in ("SPEP_M", "UPEP_M", "dflc", "BMPC"):
        cols[f"{col}_nadir"] = _nadir_where_measured(
            pd.Series(cols[col]), group, pd.Series(cols[f"{col}_0"])
        )
    disease = cols["disease"]
    m_protein = (cols["serum_measurable"] & ~np.isnan(cols["SPEP_M"])) | (
        cols["urine_measurable"] & ~np.isnan(cols["UPEP_M"])
    )
    assessed = (
        ((disease == "M-protein") & m_protein)
        | ((disease == "FLC") & ~np.isnan(cols["dflc"]))
        | ((disease == "marrow") & ~np.isnan(cols["BMPC"]))
    )
    a = pd.DataFrame({c: v[assessed] for c, v in cols.items()}, copy=False)  # not consolidated
    a.insert(3, "category", categorise(a, crit))
    return a


def categorise(a: pd.DataFrame, crit: Criteria) -> np.ndarray:
    """IMWG category of assessments whose values, baselines and nadirs are known.

    Categories (Kumar 2016, Table 3 and footnotes; the overall category is the lowest that every
    measurable parameter reaches):

    - **PD**: an increase of ≥ 25 % from the lowest confirmed value (:func:`confirmed_nadir`)
      of serum M-protein with an absolute increase ≥ 0.5 g/dL (or an increase ≥ 1 g/dL alone
      when the nadir is ≥ 5 g/dL); urine M-protein, absolute ≥ 200 mg/24 h; dFLC, absolute
      > 100 mg/L, only without measurable serum and urine M-protein; marrow plasma cells,
      absolute ≥ 10 points, only when nothing else is measurable. Serum and urine progression
      apply to every patient (a new M-protein is progression). A positive immunofixation alone
      is not progression.
    - **sCR**: CR plus a normal FLC ratio (0.26–1.65) and no clonal plasma cells in the marrow.
    - **CR**: negative immunofixation (no M-protein on electrophoresis either), marrow plasma
      cells < 5 %; for FLC-only disease also a normal FLC ratio.
    - **VGPR**: serum M-protein ↓ ≥ 90 % plus urine < 100 mg/24 h ("detectable by
      immunofixation but not on electrophoresis" is the limit case ↓ 100 %); FLC-only:
      dFLC ↓ > 90 %.
    - **PR**: serum ↓ ≥ 50 % plus urine ↓ ≥ 90 % or < 200 mg/24 h; FLC-only: dFLC ↓ ≥ 50 %;
      marrow only (baseline ≥ 30 %): plasma cells ↓ ≥ 50 %.
    - **MR**: serum ↓ ≥ 25 % and urine ↓ ≥ 50 % (the upper limits, 49 % and 89 %, are those
      of PR); not defined for FLC-only or marrow-only disease.
    - **SD**: none of the above.

    A measurable parameter must meet its criterion; a urine M-protein that was not measurable
    at baseline but was measured must still be below the absolute limits of VGPR and PR.

    Parameters
    ----------
    a : pandas.DataFrame
        Rows of :func:`classify_assessments` (values, ``<test>_0`` baselines, ``<test>_nadir``).
    crit : Criteria

    Returns
    -------
    numpy.ndarray
        The category of each row.
    """

    def col(name: str) -> np.ndarray:
        return a[name].to_numpy(float)

    disease = a["disease"].to_numpy()
    m_protein, flc_only, marrow_only = (disease == t for t in DISEASE_TYPES[:3])
    serum_m, urine_m = a["serum_measurable"].to_numpy(bool), a["urine_measurable"].to_numpy(bool)
    spep, upep, dflc, ratio = col("SPEP_M"), col("UPEP_M"), col("dflc"), col("FLC_ratio")
    serum_red, urine_red = _reduction(spep, col("SPEP_M_0")), _reduction(upep, col("UPEP_M_0"))
    flc_red, marrow_red = _reduction(dflc, col("dflc_0")), _reduction(col("BMPC"), col("BMPC_0"))
    urine_seen = ~np.isnan(upep)
    low, high = crit.flc_ratio_normal
    normal_ratio = (ratio >= low) & (ratio <= high)

    def serum(reduction: float) -> np.ndarray:
        return ~serum_m | (serum_red >= reduction)

    def urine_below(limit: float) -> np.ndarray:
        return np.where(urine_m | urine_seen, upep < limit, True)

    with np.errstate(invalid="ignore"):
        vgpr = np.select(
            [m_protein, flc_only],
            [
                serum(crit.vgpr_serum_reduction) & urine_below(crit.vgpr_urine_below),
                flc_red > crit.vgpr_flc_reduction,
            ],
            default=False,
        )
        urine_pr = np.where(
            urine_m,
            (urine_red >= crit.pr_urine_reduction) | (upep < crit.pr_urine_below),
            urine_below(crit.pr_urine_below),
        )
        pr = np.select(
            [m_protein, flc_only, marrow_only],
            [
                serum(crit.pr_serum_reduction) & urine_pr,
                flc_red >= crit.pr_flc_reduction,
                marrow_red >= crit.pr_marrow_reduction,
            ],
            default=False,
        )
        mr = m_protein & serum(crit.mr_serum_reduction)
        mr &= np.where(urine_m, urine_red >= crit.mr_urine_reduction, True)
        cr = (col("IFE") == 0) & (col("BMPC_last") < crit.cr_marrow_below)
        cr &= np.isnan(spep) | (spep == 0)
        cr &= ~urine_seen | (upep == 0)
        cr &= ~flc_only | normal_ratio
        scr = cr & normal_ratio & (col("BMPC_last") == 0)
        serum_pd = _progression(spep, col("SPEP_M_nadir"), crit.pd_rise, crit.pd_serum_increase)
        serum_pd |= (col("SPEP_M_nadir") >= crit.pd_serum_high_nadir) & (
            spep - col("SPEP_M_nadir") >= crit.pd_serum_high_increase
        )
        urine_pd = _progression(upep, col("UPEP_M_nadir"), crit.pd_rise, crit.pd_urine_increase)
        flc_pd = ~serum_m & ~urine_m
        flc_pd &= _progression(
            dflc, col("dflc_nadir"), crit.pd_rise, crit.pd_flc_increase, strict=True
        )
        marrow_pd = marrow_only & _progression(
            col("BMPC"), col("BMPC_nadir"), crit.pd_rise, crit.pd_marrow_increase
        )
    levels = {
        "PD": serum_pd | urine_pd | flc_pd | marrow_pd,
        "sCR": scr,
        "CR": cr,
        "VGPR": vgpr,
        "PR": pr,
        "MR": mr,
    }
    used = [c for c in levels if c in crit.categories]
    return np.select([levels[c] for c in used], used, default="SD").astype(object)


# ---------------------------------------------------------------------------------------------
# Confirmation and best overall response


def confirm_assessments(assessments: pd.DataFrame, confirmations: int = 2) -> pd.DataFrame:
    """Confirmation of each assessment on the next ones (Kumar 2016, footnotes of Table 3).

    "All response categories require two consecutive assessments made at any time before the
    institution of any new therapy": a response level counts from assessment j when j and the
    ``confirmations − 1`` assessments after it are all at least that good (the level confirmed
    is the worst of them); progression when they are all PD. Stable disease needs no
    confirmation.

    Parameters
    ----------
    assessments : pandas.DataFrame
        :func:`classify_assessments` (sorted by patient and day).
    confirmations : int
        Consecutive assessments that confirm a category (1 = no confirmation).

    Returns
    -------
    pandas.DataFrame
        ``assessments`` with ``confirmed`` (1/0 for MR or better and PD: the assessment's own
        category is confirmed; missing for SD), ``confirmed_level`` (rank of the response level
        confirmed from this assessment, NaN if none), ``confirmed_day`` (the day of the last of
        the confirming assessments: when the level became known; NaN if none) and
        ``pd_confirmed`` (bool).
    """
    if confirmations < 1:
        raise ValueError("imwg.confirmations must be at least 1")
    out = assessments.sort_values([*KEYS, "day"], kind="stable", ignore_index=True)
    rank = out["category"].map(RANK).to_numpy(float)
    group = out.groupby(KEYS, sort=False).ngroup().to_numpy()
    worst, best = rank.copy(), rank.copy()
    complete = np.ones(len(rank), dtype=bool)
    for m in range(1, confirmations):
        nxt = _group_shift(rank, group, -m)
        complete &= ~np.isnan(nxt)
        worst, best = np.fmax(worst, nxt), np.fmin(best, nxt)
    responding = complete & (worst <= RANK["MR"])
    out["confirmed_level"] = np.where(responding, worst, np.nan)
    day = out["day"].to_numpy(float, na_value=np.nan)
    known_on = _group_shift(day, group, 1 - confirmations) if confirmations > 1 else day
    out["confirmed_day"] = np.where(responding, known_on, np.nan)
    out["pd_confirmed"] = complete & (best == RANK["PD"])
    own = np.where(rank == RANK["PD"], out["pd_confirmed"], responding & (worst == rank))
    out["confirmed"] = pd.array(own.astype(int), dtype="Int64")
    out.loc[rank == RANK["SD"], "confirmed"] = pd.NA
    return out


def best_overall_response(confirmed: pd.DataFrame) -> pd.DataFrame:
    """Best overall response, first response and progression of each patient.

    Best overall response is the best level confirmed from an assessment before the first
    confirmed progression (Kumar 2016: the patient stays in the last confirmed category until a
    better one or progression is confirmed). Without a confirmed response it is SD when some
    assessment before the first confirmed progression was not PD, PD when the first assessments
    confirm progression, else NE (an unconfirmed progression alone is not counted, as in
    admiralonco). The first response is the first assessment from which PR or better is
    confirmed: "the date of the initial test is considered as the date of response for
    evaluation of time dependent outcomes such as duration of response" (Kumar 2016). The
    response became known on the last of its confirming assessments
    (``response_confirmed_day``): what an analysis that must not look ahead uses.

    Parameters
    ----------
    confirmed : pandas.DataFrame
        :func:`confirm_assessments`.

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, best_response, first_response_day, response_confirmed_day,
        progression_day, last_assessment_day, n_assessments`` (days as floats, NaN when none).
    """
    c = confirmed.reset_index(drop=True)
    grouped = c.groupby(KEYS, sort=False)
    progression = c["day"].where(c["pd_confirmed"]).groupby([c[k] for k in KEYS], sort=False)
    first_pd = progression.transform("min").to_numpy(float)
    before = ~(c["day"].to_numpy(float) >= first_pd)  # NaN (no progression) counts as before
    level = np.where(before, c["confirmed_level"].to_numpy(float), np.nan)
    keys = [c[k] for k in KEYS]
    best = pd.Series(level).groupby(keys, sort=False).min()
    responded = before & (c["confirmed_level"].to_numpy(float) <= RANK["PR"])
    first = c["day"].where(responded).groupby(keys, sort=False).min()
    known_on = c["confirmed_day"].where(responded).groupby(keys, sort=False).min()
    not_pd = pd.Series(before & (c["category"] != "PD").to_numpy()).groupby(keys, sort=False).any()
    out = grouped["day"].agg(last_assessment_day="max", n_assessments="size")
    out["progression_day"] = progression.min()
    labels = np.array(CATEGORIES, dtype=object)
    best = best.to_numpy(float)
    out["best_response"] = np.where(
        ~np.isnan(best),
        labels[np.nan_to_num(best, nan=0).astype(int)],
        np.where(not_pd.to_numpy(), "SD", np.where(out["progression_day"].notna(), "PD", "NE")),
    )
    out["first_response_day"] = first.to_numpy(float)
    out["response_confirmed_day"] = known_on.to_numpy(float)
    out = out.reset_index()
    columns = ["best_response", "first_response_day", "response_confirmed_day"]
    columns += ["progression_day", "last_assessment_day"]
    return out[[*KEYS, *columns, "n_assessments"]]


ADRS_DERIVED_COLUMNS = [*KEYS, "paramcd", "day", "avalc", "confirmed", "disease"]


def derive_adrs_imwg(
    labs: pd.DataFrame, version: str = "2016", confirmations: int = 2
) -> pd.DataFrame:
    """Response dataset derived from the laboratory values (``adrs_derived.csv``).

    Parameters
    ----------
    labs : pandas.DataFrame
        :func:`response_labs` of a site.
    version : str
        IMWG criteria (:data:`CRITERIA`).
    confirmations : int
        As :func:`confirm_assessments`.

    Returns
    -------
    pandas.DataFrame
        :data:`ADRS_DERIVED_COLUMNS`. One row per patient with any response test, per
        parameter: ``OVR`` each assessment (its category, ``confirmed``), ``BOR`` best overall
        response (NE without measurable disease or assessments), ``RSP`` first response PR or
        better (``day``; ``avalc`` the level confirmed from it), ``RSPCONF`` the day that
        response was confirmed (the last of its confirming assessments: when it became known)
        and ``PD`` first confirmed progression (``day``). ``disease`` is the measurable disease
        at baseline.
    """
    crit = criteria(version)
    if labs.empty:
        return pd.DataFrame({c: _column(labs, c) for c in ADRS_DERIVED_COLUMNS}).astype(
            {"day": "Int64", "confirmed": "Int64"}
        )
    # Patients as integer codes while deriving (grouping on text keys is slow on large sites).
    site_codes, sites = pd.factorize(labs["site"])
    patient_codes, patients = pd.factorize(labs["patient_id"])
    labs = pd.DataFrame(  # not labs.assign, which would copy every column
        {**dict(labs.items()), "site": site_codes, "patient_id": patient_codes}, copy=False
    )
    base = baseline_disease(labs, crit)
    disease = base[[*KEYS, "disease"]]
    assessments = classify_assessments(labs, crit, base)[[*KEYS, "day", "category", "disease"]]
    confirmed = confirm_assessments(assessments, confirmations)
    bor = disease.merge(best_overall_response(confirmed), on=KEYS, how="left")
    bor["best_response"] = bor["best_response"].fillna("NE")
    labels = np.array(CATEGORIES, dtype=object)
    start = confirmed[confirmed["confirmed_level"] <= RANK["PR"]]
    start = start.merge(bor[[*KEYS, "first_response_day"]], on=KEYS)
    start = start[start["day"] == start["first_response_day"]]
    known_on = start[start["confirmed_day"].notna()]
    progressed = bor[bor["progression_day"].notna()]
    # Each parameter's rows: a table and the columns that differ from it (no copies of them).
    parts = [
        (confirmed, {"avalc": confirmed["category"]}),
        (bor, {"day": np.full(len(bor), np.nan), "avalc": bor["best_response"]}),
        (start, {"avalc": labels[start["confirmed_level"].to_numpy(int)]}),
        (
            known_on,
            {
                "day": known_on["confirmed_day"],
                "avalc": labels[known_on["confirmed_level"].to_numpy(int)],
            },
        ),
        (
            progressed,
            {"day": progressed["progression_day"], "avalc": np.full(len(progressed), "PD")},
        ),
    ]
    # Sorted by patient (in order of appearance), parameter (BOR, RSP, RSPCONF, PD, OVR) and day (missing
    # last), on the arrays: numpy.lexsort is stable, as the sort it stands for.
    out = {
        col: np.concatenate([_column(frame, col, added) for frame, added in parts])
        for col in ADRS_DERIVED_COLUMNS
        if col != "paramcd"
    }
    param = np.concatenate([np.full(len(frame), i) for i, (frame, _) in enumerate(parts)])
    out["paramcd"] = np.array(["OVR", "BOR", "RSP", "RSPCONF", "PD"], dtype=object)[param]
    param = np.array([4, 0, 1, 2, 3])[param]  # in the order BOR, RSP, RSPCONF, PD, OVR
    order = np.lexsort((out["day"], param, out["patient_id"], out["site"]))
    out = {col: values[order] for col, values in out.items()}
    for col in ("day", "confirmed"):
        missing = np.isnan(out[col])
        out[col] = pd.arrays.IntegerArray(np.where(missing, 0, out[col]).astype(np.int64), missing)
    out["site"] = np.asarray(sites, dtype=object)[out["site"].astype(int)]
    out["patient_id"] = np.asarray(patients, dtype=object)[out["patient_id"].astype(int)]
    return pd.DataFrame({col: out[col] for col in ADRS_DERIVED_COLUMNS}, copy=False)


def _column(frame: pd.DataFrame, col: str, added: dict | None = None) -> np.ndarray:
    """A column of ``added``, else of ``frame``, as numbers (days, flags) or text.

    NaN when neither has it.
    """
    numeric = col in ("day", "confirmed")
    if col not in (added or {}) and col not in frame.columns:
        return np.full(len(frame), np.nan, dtype=float if numeric else object)
    values = pd.Series((added or {}).get(col, frame.get(col)))
    return values.to_numpy(float, na_value=np.nan) if numeric else values.to_numpy(object)


def patient_response(adrs_derived: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of ``adrs_derived``: best response and its days.

    Returns
    -------
    pandas.DataFrame
        ``site, patient_id, best_response, first_response_day, response_confirmed_day,
        progression_day, last_assessment_day, disease`` (days as floats).
    """
    a = adrs_derived
    # Patients as one integer each (grouping and merging on text keys is slow on large sites).
    person = np.zeros(len(a), dtype=np.int64)
    for k in KEYS:
        codes, uniques = pd.factorize(a[k])
        person = person * (len(uniques) + 1) + codes
    paramcd = a["paramcd"].to_numpy(object)
    day = a["day"].to_numpy(float, na_value=np.nan)
    is_bor = paramcd == "BOR"
    bor = a.loc[is_bor, [*KEYS, "avalc", "disease"]].rename(columns={"avalc": "best_response"})
    bor = bor.reset_index(drop=True)
    for code, name, how in (
        ("RSP", "first_response_day", "min"),
        ("RSPCONF", "response_confirmed_day", "min"),
        ("PD", "progression_day", "min"),
        ("OVR", "last_assessment_day", "max"),
    ):
        rows = paramcd == code
        per = pd.Series(day[rows]).groupby(person[rows]).agg(how)
        bor[name] = per.reindex(person[is_bor]).to_numpy(float)
    cols = [
        "best_response",
        "first_response_day",
        "response_confirmed_day",
        "progression_day",
        "last_assessment_day",
        "disease",
    ]
    return bor[[*KEYS, *cols]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Duration of and time to response


def response_durations(adsl: pd.DataFrame, derived: pd.DataFrame, source: str) -> pd.DataFrame:
    """Responders' first response and duration of response, from one source.

    Duration of response runs from the first response (PR or better) to progression or death
    from any cause; without either it is censored at the last disease assessment
    (``last_assessment_day``, else ``last_followup_day``, or the last derived assessment if
    later).

    Parameters
    ----------
    adsl : pandas.DataFrame
        ``best_response_recorded``, ``first_response_day_recorded``, ``progression_day``,
        ``death_day``, ``last_assessment_day``, ``last_followup_day``.
    derived : pandas.DataFrame
        :func:`patient_response` (may be empty).
    source : {"recorded", "derived"}
        ``recorded``: best response and first response day of ``responses.csv`` (or
        ``patients.csv``, which has no first response day: such responders are undated);
        progression is ``progression_day``. ``derived``: from the laboratory values;
        progression is the first confirmed laboratory PD or ``progression_day``, whichever
        comes first (IMWG progression also includes new lesions, which labs do not show).

    Returns
    -------
    pandas.DataFrame
        One row per responder: ``site, patient_id, first_response_day`` (NaN if undated),
        ``dor_days``, ``event`` (1 = progression or death).
    """
    if source not in RESPONSE_SOURCES:
        raise ValueError(f"response_source must be one of {RESPONSE_SOURCES}, not {source!r}")
    a = adsl[[*KEYS]].copy()
    days = {
        c: adsl[c].to_numpy(float, na_value=np.nan) if c in adsl else np.full(len(adsl), np.nan)
        for c in (
            "progression_day",
            "death_day",
            "last_assessment_day",
            "last_followup_day",
            "first_response_day_recorded",
        )
    }
    censor = np.where(
        np.isnan(days["last_assessment_day"]),
        days["last_followup_day"],
        days["last_assessment_day"],
    )
    progression = days["progression_day"]
    if source == "recorded":
        best = adsl.get("best_response_recorded", pd.Series(pd.NA, index=adsl.index))
        first = days["first_response_day_recorded"]
    else:
        d = adsl[KEYS].merge(derived, on=KEYS, how="left")
        best = d["best_response"]
        first = d["first_response_day"].to_numpy(float)
        progression = np.fmin(progression, d["progression_day"].to_numpy(float))
        censor = np.fmax(censor, d["last_assessment_day"].to_numpy(float))
    responder = best.isin(RESPONDER).to_numpy()
    with np.errstate(invalid="ignore"):
        progression = np.where(progression >= first, progression, np.nan)
    end = np.fmin(progression, days["death_day"])
    event = ~np.isnan(end)
    stop = np.where(event, end, np.fmax(censor, first))
    a["first_response_day"] = first
    a["dor_days"] = stop - first
    a["event"] = event.astype(int)
    return a[responder].reset_index(drop=True)


DOR_COLUMNS = [
    "analysis_set",
    "source",
    "n",
    "events",
    "median",
    "ci_lower",
    "ci_upper",
    "ttr_median",
    "ttr_min",
    "ttr_max",
    "n_undated",
    "note",
]


def duration_of_response_table(
    sets: dict[str, pd.DataFrame],
    derived: pd.DataFrame,
    sources: list[str],
    conf_type: str = "log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Duration of response (Kaplan–Meier among responders) and time to response.

    The median duration of response and its CI are R's ``quantile(survfit(Surv(dor, event) ~
    1), 0.5)`` (:func:`rwe.survival.km_curve`, :func:`rwe.survival.km_quantile`); time to
    response is the median and range of the first response day among dated responders. Both
    in months (days / 30.4375).

    Parameters
    ----------
    sets : dict of str to pandas.DataFrame
        Analysis sets of ADSL.
    derived : pandas.DataFrame
        :func:`patient_response` of the pooled ``adrs_derived``.
    sources : list of str
        Sources with a row each (``recorded``, ``derived``).
    conf_type, conf_level
        As :func:`rwe.survival.km_curve`.

    Returns
    -------
    pandas.DataFrame
        :data:`DOR_COLUMNS`: ``n`` dated responders, ``events``, ``median``/``ci_lower``/
        ``ci_upper`` of the duration (empty when not reached), ``ttr_*`` time to response,
        ``n_undated`` responders without a first response day (left out), ``note``.
    """
    from rwe.survival import km_curve, km_quantile

    rows = []
    for name, adsl in sets.items():
        for source in sources:
            dor = response_durations(adsl, derived, source)
            dated = dor[dor["first_response_day"].notna()]
            months = dated["dor_days"].to_numpy(float) / DAYS_PER_MONTH
            curve = km_curve(months, dated["event"].to_numpy(), conf_type, conf_level)
            median, lower, upper = km_quantile(curve)
            ttr = dated["first_response_day"].to_numpy(float) / DAYS_PER_MONTH
            has = len(ttr) > 0
            note = (
                "no dated responders"
                if not has
                else ("median not reached" if np.isnan(median) else "")
            )
            rows.append(
                (
                    name,
                    source,
                    len(dated),
                    int(dated["event"].sum()),
                    median,
                    lower,
                    upper,
                    np.median(ttr) if has else np.nan,
                    ttr.min() if has else np.nan,
                    ttr.max() if has else np.nan,
                    len(dor) - len(dated),
                    note,
                )
            )
    return pd.DataFrame(rows, columns=DOR_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Agreement of derived and recorded best response


def cohen_kappa(table, conf_level: float = 0.95) -> tuple[float, float, float, float]:
    """Cohen's unweighted kappa of a square agreement table with its Wald CI.

    The standard error is the large-sample one of Fleiss, Cohen & Everitt (Psychol Bull 1969),
    as R ``vcd::Kappa`` and ``DescTools::CohenKappa`` compute it: with p the cell proportions,
    p_o the diagonal sum, p_e = Σ p_i. p_.i and κ = (p_o − p_e) / (1 − p_e),
    var(κ) = [Σ_ij p_ij (δ_ij − (1 − κ)(p_.i + p_j.))² − (κ − p_e (1 − κ))²] / ((1 − p_e)² n).

    Returns
    -------
    kappa, se, ci_lower, ci_upper : float
        NaN when the table is empty or p_e = 1 (a single category).
    """
    x = np.asarray(table, dtype=float)
    n = x.sum()
    if n == 0:
        return (np.nan,) * 4
    p = x / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po, pe = np.trace(p), float(rows @ cols)
    if pe >= 1:
        return (np.nan,) * 4
    kappa = (po - pe) / (1 - pe)
    weights = np.eye(len(p)) - (1 - kappa) * (cols[:, None] + rows[None, :])
    variance = ((p * weights**2).sum() - (kappa - pe * (1 - kappa)) ** 2) / ((1 - pe) ** 2 * n)
    se = float(np.sqrt(max(variance, 0.0)))
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    return float(kappa), se, float(kappa - z * se), float(kappa + z * se)


AGREEMENT_COLUMNS = ["statistic", "derived", "recorded", "value", "ci_lower", "ci_upper"]


def response_agreement_table(adsl: pd.DataFrame, conf_level: float = 0.95) -> pd.DataFrame:
    """Cross-table of derived and recorded best response, agreement and Cohen's kappa.

    Among patients with both a derived (``best_response_derived``) and a recorded
    (``best_response_recorded``) best response; NE is a category of its own.

    Returns
    -------
    pandas.DataFrame
        :data:`AGREEMENT_COLUMNS`, one row per estimate: ``n`` (patients compared), ``count``
        per cell of the square table over the categories either source uses (``derived`` and
        ``recorded`` name the cell; off-diagonal cells are the disagreements), ``agreement``
        (observed proportion) and ``kappa`` with its CI (:func:`cohen_kappa`). Empty when no
        patient has both.
    """
    if not {"best_response_derived", "best_response_recorded"} <= set(adsl.columns):
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    both = adsl[adsl["best_response_derived"].notna() & adsl["best_response_recorded"].notna()]
    order = [*CATEGORIES, "NE"]
    seen = set(both["best_response_derived"]) | set(both["best_response_recorded"])
    levels = [c for c in order if c in seen] + sorted(seen - set(order))
    table = pd.crosstab(
        pd.Categorical(both["best_response_derived"], categories=levels),
        pd.Categorical(both["best_response_recorded"], categories=levels),
        dropna=False,
    ).to_numpy()
    if not len(both):
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    rows = [("n", "all", "all", float(len(both)), np.nan, np.nan)]
    rows += [
        ("count", d, r, float(table[i, j]), np.nan, np.nan)
        for i, d in enumerate(levels)
        for j, r in enumerate(levels)
    ]
    rows.append(("agreement", "all", "all", np.trace(table) / len(both), np.nan, np.nan))
    kappa, _, lower, upper = cohen_kappa(table, conf_level)
    rows.append(("kappa", "all", "all", kappa, lower, upper))
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def select_best_response(
    adsl: pd.DataFrame, derived: pd.DataFrame, response_source: str = "recorded"
) -> pd.DataFrame:
    """Best response from the configured source, keeping both (config ``response_source``).

    Adds ``best_response_recorded``, ``first_response_day_recorded`` and
    ``response_confirmed_day_recorded`` (the recorded values), ``best_response_derived`` (from
    the laboratory values; missing for a patient without any response test) and, with
    ``response_source: derived``, replaces ``best_response``, ``first_response_day``,
    ``response_confirmed_day`` and ``best_response_source`` by the derived ones for every
    patient who has them (the others keep the recorded response).

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL before its flags (``best_response``, ``best_response_source``, and
        ``first_response_day`` when ``responses.csv`` was sent).
    derived : pandas.DataFrame
        :func:`patient_response` of the site (may be empty).
    response_source : {"recorded", "derived"}

    Returns
    -------
    pandas.DataFrame
        A copy of ``adsl`` with the columns above.
    """
    if response_source not in RESPONSE_SOURCES:
        raise ValueError(
            f"response_source must be one of {RESPONSE_SOURCES}, not {response_source!r}"
        )
    out = adsl.copy()
    for day in ("first_response_day", "response_confirmed_day"):
        if day not in out.columns:
            out[day] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["best_response_recorded"] = out["best_response"]
    out["first_response_day_recorded"] = out["first_response_day"]
    out["response_confirmed_day_recorded"] = out["response_confirmed_day"]
    d = out[KEYS].merge(derived, on=KEYS, how="left") if len(derived) else None
    out["best_response_derived"] = (
        d["best_response"].to_numpy(object) if d is not None else pd.Series(pd.NA, index=out.index)
    )
    if response_source == "derived" and d is not None:
        has = d["best_response"].notna().to_numpy()
        out.loc[has, "best_response"] = d["best_response"].to_numpy(object)[has]
        for day in ("first_response_day", "response_confirmed_day"):
            values = d[day].to_numpy(float) if day in d else np.full(len(d), np.nan)
            derived_day = pd.array(values, dtype="Int64")
            out[day] = out[day].where(~has, derived_day)
        out.loc[has, "best_response_source"] = "labs.csv"
    return out
