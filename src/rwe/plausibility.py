"""Plausibility checks of a validated site extract: values that pass the contract but cannot be.

Validation (:mod:`rwe.validate`) refuses what breaks the input contract (codes, types, days
after last follow-up, death before progression …). The checks here find values that are
well-formed yet implausible, and count them; they never drop or change a row:

- **lab consistency**: an ANC above the WBC of the same patient and day (neutrophils are a
  part of the white cells);
- **physiological ranges**: a laboratory value outside :data:`PHYSIOLOGICAL_RANGES`, in the
  harmonised units (counts in 10^9/L, haemoglobin in g/dL);
- **day ordering**: what validation does not already refuse, i.e. days after the patient's
  death (disease assessment, end of treatment, last follow-up, and rows of the long tables).

:func:`check_extract` is the one hook the site job calls after validation. It returns a tidy
table (:data:`FINDING_COLUMNS`): file, column, check, the number of rows found and checked,
and what the pipeline does with them. No value and no identifier is ever part of it. With
``plausibility.on_implausible: stop`` every finding is raised as one
:class:`~rwe.exceptions.InputError`.

What the nadirs do with implausible values (:func:`implausible_lab_values`): a value outside
its physiological range is left out of the nadirs (a count that cannot exist must not become a
patient's lowest count), and the number left out is in the ``note`` of its finding. An ANC
above the WBC of the same day is kept: either count may be the wrong one, and both are within
their ranges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.catalog import LONG_TABLE_DAYS
from rwe.exceptions import InputError, Problem
from rwe.safety import BLOCK_ROWS, NADIR_TESTS, key_codes, patient_grid, value_is

#: Columns of ``plausibility.csv``: contract-style ``file, column, check, n_rows``, then how
#: many rows the check could apply to and what the pipeline does with the rows found.
FINDING_COLUMNS = ["file", "column", "check", "n_rows", "n_checked", "note"]
#: Values of ``plausibility.on_implausible``.
ON_IMPLAUSIBLE = ("warn", "stop")

#: Physiological range per analyte, in the harmonised unit (test -> (unit, low, high)).
#: Deliberately wide: a value outside cannot be a human blood value (or is outside what a
#: haematology analyser can report), so only impossible values are flagged, never a merely
#: abnormal one. Counts: the display ranges of the Sysmex XN-L analyser (WBC and its
#: differential 0–999.99 x10^3/µL, PLT 0–9999 x10^3/µL; Sysmex XN-L instrument specification,
#: "Reportable range" table). Haemoglobin: 1–25 g/dL, below the lowest and above the highest
#: values compatible with life (survival at 1.4 g/dL and polycythaemia up to about 24 g/dL are
#: case reports; a haemoglobin in g/L written as g/dL is the typical error this catches).
#: Myeloma markers (IMWG response criteria, Kumar et al., Lancet Oncol 2016): serum M-protein
#: 0–20 g/dL (total serum protein rarely exceeds 15 g/dL), urine M-protein 0–100,000 mg/24 h
#: (Bence Jones proteinuria of tens of grams a day is extreme), involved free light chain
#: 0–500,000 mg/L and FLC ratio 0–100,000 (both span five orders of magnitude in myeloma;
#: above is a unit or typing error), immunofixation 0/1, bone-marrow plasma cells 0–100 %.
#: A test sent in another unit is not range-checked.
PHYSIOLOGICAL_RANGES = {
    "WBC": ("10^9/L", 0.0, 1000.0),
    "ANC": ("10^9/L", 0.0, 1000.0),
    "PLT": ("10^9/L", 0.0, 10000.0),
    "HGB": ("g/dL", 1.0, 25.0),
    "SPEP_M": ("g/dL", 0.0, 20.0),
    "UPEP_M": ("mg/24h", 0.0, 100000.0),
    "FLC_involved": ("mg/L", 0.0, 500000.0),
    "FLC_ratio": ("ratio", 0.0, 100000.0),
    "IFE": ("0/1", 0.0, 1.0),
    "BMPC": ("%", 0.0, 100.0),
}

KEPT = "kept: flagged only"
OUT_OF_RANGE_NOTE = "left out of the nadirs"
ANC_ABOVE_WBC_NOTE = "kept in the nadirs: either count may be the wrong one"
#: patients.csv: each column that must not be after ``death_day``, and its check.
AFTER_DEATH = {
    "last_assessment_day": "disease assessment after death_day",
    "end_of_treatment_day": "end of treatment after death_day",
    "last_followup_day": "last follow-up after death_day",
}
#: Long tables: their day column, each checked against the patient's death_day.


def _finding(file, column, check, n_rows, n_checked, note=KEPT) -> dict:
    return dict(
        zip(FINDING_COLUMNS, (file, column, check, int(n_rows), int(n_checked), note), strict=True)
    )


def _test_is(labs: pd.DataFrame) -> callable:
    """A function: test name -> boolean mask of the rows of that test (compared on codes)."""
    return value_is(labs["test"])


def _unit_is(labs: pd.DataFrame) -> callable:
    """A function: unit -> boolean mask of the rows in that unit (spaces and case ignored).

    Compared once per distinct spelling, then on codes.
    """
    codes, units = key_codes(labs["unit"])
    spellings = [str(u).replace(" ", "").casefold() for u in units]

    def unit_is(expected: str) -> np.ndarray:
        key = expected.replace(" ", "").casefold()
        return np.append(np.array([s == key for s in spellings], dtype=bool), False)[codes]

    return unit_is


def implausible_lab_values(labs: pd.DataFrame) -> np.ndarray:
    """Which laboratory rows hold a value outside its :data:`PHYSIOLOGICAL_RANGES`.

    Parameters
    ----------
    labs : pandas.DataFrame
        ``test, value, unit`` with harmonised units (validated ``labs.csv`` or ADLB).

    Returns
    -------
    numpy.ndarray of bool
        One per row; a test without a range, or in another unit, is never flagged.
    """
    out = np.zeros(len(labs), dtype=bool)
    if not len(labs):
        return out
    value = labs["value"].array  # the rows of each analyte only, as floats: no whole copy
    test_is, unit_is = _test_is(labs), _unit_is(labs)
    for name, (unit, low, high) in PHYSIOLOGICAL_RANGES.items():
        rows = np.flatnonzero(test_is(name) & unit_is(unit))
        v = value[rows].to_numpy(dtype=float, na_value=np.nan)
        out[rows[(v < low) | (v > high)]] = True
    return out


def _range_check(name: str, unit: str, low: float, high: float) -> str:
    return f"{name} outside its physiological range {low:g}–{high:g} {unit}"


#: The ANC-against-WBC check of :func:`lab_findings`.
ANC_CHECK = "ANC above WBC of the same day"


def lab_range_findings(labs: pd.DataFrame, file: str) -> list[dict]:
    """One finding per analyte of :data:`PHYSIOLOGICAL_RANGES` present in ``labs``."""
    if not len(labs):
        return []
    bad = implausible_lab_values(labs)
    test_is = _test_is(labs)
    rows = []
    for name, (unit, low, high) in PHYSIOLOGICAL_RANGES.items():
        mine = test_is(name)
        if mine.any():
            check = _range_check(name, unit, low, high)
            note = OUT_OF_RANGE_NOTE if name in NADIR_TESTS else KEPT
            rows.append(_finding(file, "value", check, (bad & mine).sum(), mine.sum(), note))
    return rows


def anc_above_wbc(labs: pd.DataFrame) -> tuple[int, int]:
    """ANC rows above every WBC of the same site, patient and day, and ANC rows with a WBC.

    Parameters
    ----------
    labs : pandas.DataFrame
        ``site, patient_id, day, test, value`` (harmonised units: both in 10^9/L).

    Returns
    -------
    tuple of int
        (ANC rows above the day's highest WBC, ANC rows that have a WBC on their day).
    """
    test_is = _test_is(labs)
    is_anc, is_wbc = test_is("ANC"), test_is("WBC")
    rows = np.flatnonzero(is_anc | is_wbc)
    if not len(rows):
        return 0, 0
    # One integer per draw (site, patient, day), from the key columns' codes: no tuple keys
    # over tens of millions of rows.
    site, _ = key_codes(labs["site"])
    patient, ids = key_codes(labs["patient_id"])
    day = labs["day"].array[rows].to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(day)
    rows, day = rows[known], day[known].astype(np.int64)
    person = site[rows].astype(np.int64) * (len(ids) + 1) + patient[rows]
    first = day.min(initial=0)
    draw = pd.factorize(person * (day.max(initial=0) - first + 1) + (day - first))[0]
    value = labs["value"].array[rows].to_numpy(dtype=float, na_value=np.nan)
    wbc = is_wbc[rows]
    highest_wbc = np.full(draw.max(initial=-1) + 1, np.nan)
    np.fmax.at(highest_wbc, draw[wbc], value[wbc])  # missing values left out, as max() does
    wbc_of_day = highest_wbc[draw[~wbc]]
    has_wbc = ~np.isnan(wbc_of_day)
    above = has_wbc & (value[~wbc] > wbc_of_day)
    return int(above.sum()), int(has_wbc.sum())


def lab_findings(labs: pd.DataFrame, file: str) -> list[dict]:
    """Range and ANC-versus-WBC findings of a validated, harmonised laboratory table."""
    rows = lab_range_findings(labs, file)
    above, checked = anc_above_wbc(labs)
    if checked:
        check = ANC_CHECK
        rows.append(_finding(file, "value", check, above, checked, ANC_ABOVE_WBC_NOTE))
    return rows


def day_order_findings(tables: dict[str, pd.DataFrame], site: str) -> list[dict]:
    """Days after the patient's death: in patients.csv, and rows of the long tables.

    Validation already refuses a day after ``last_followup_day`` and a death before
    ``progression_day`` (:func:`rwe.validate.check_patient_logic`); these are the orderings it
    accepts that cannot happen (:data:`AFTER_DEATH`, :data:`LONG_TABLE_DAYS`).
    """
    patients = tables.get("patients")
    if patients is None or "death_day" not in patients.columns:
        return []
    rows = []
    file = f"{site}/patients.csv"
    death = patients["death_day"].to_numpy(dtype=float, na_value=np.nan)
    for column, check in AFTER_DEATH.items():
        if column in patients.columns:
            day = patients[column].to_numpy(dtype=float, na_value=np.nan)
            both = ~np.isnan(day) & ~np.isnan(death)
            rows.append(_finding(file, column, check, (day[both] > death[both]).sum(), both.sum()))
    for stem in LONG_TABLE_DAYS:
        if stem in tables:
            rows += long_table_after_death(tables[stem], stem, patients, site)
    return rows


def long_table_after_death(
    table: pd.DataFrame, stem: str, patients: pd.DataFrame, site: str
) -> list[dict]:
    """The rows of a long table dated after their patient's death (one finding, or none)."""
    column = LONG_TABLE_DAYS[stem]
    if column not in table.columns or "death_day" not in patients.columns:
        return []
    # Counted block by block: the days and limits of a laboratory table are not held whole.
    site_code, _ = key_codes(table["site"])
    patient_code, _ = key_codes(table["patient_id"])
    death_of = patient_grid(table, patients, "death_day")
    after = checked = 0
    for start in range(0, len(table), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        day = table[column].array[block].to_numpy(dtype=float, na_value=np.nan)
        limit = death_of[site_code[block], patient_code[block]]
        both = ~np.isnan(day) & ~np.isnan(limit)
        after += (day[both] > limit[both]).sum()
        checked += both.sum()
    check = "row dated after the patient's death_day"
    return [_finding(f"{site}/{stem}.csv", column, check, after, checked)]


def plausibility_findings(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every plausibility check of a validated extract, per site and file.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The typed tables :func:`rwe.validate.validate_extract` returns (each with ``site``;
        labs with harmonised units).

    Returns
    -------
    pandas.DataFrame
        :data:`FINDING_COLUMNS`, one row per check that could run (``n_rows`` 0 when nothing
        was found): ``file`` as ``<site>/<name>.csv``, ``column``, ``check``, ``n_rows`` found,
        ``n_checked`` rows the check applied to, ``note`` what the pipeline does with them.
        Counts only: never a value or an identifier.
    """
    patients = tables.get("patients")
    sites = [] if patients is None else list(dict.fromkeys(patients["site"].astype(str)))
    rows = []
    for site in sites:
        mine = {
            stem: table[(table["site"].astype(str) == site).to_numpy()] if len(sites) > 1 else table
            for stem, table in tables.items()
        }
        rows += day_order_findings(mine, site)
        if "labs" in mine:
            rows += lab_findings(mine["labs"], f"{site}/labs.csv")
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def lab_block_findings(labs: pd.DataFrame, patients: pd.DataFrame, site: str) -> pd.DataFrame:
    """The laboratory rows of :func:`plausibility_findings` for a block of whole patients.

    Summed over the blocks by :func:`combine_findings`, they are those of the whole file: each
    check counts rows, and ANC is compared with WBC within a patient.
    """
    rows = long_table_after_death(labs, "labs", patients, site)
    rows += lab_findings(labs, f"{site}/labs.csv")
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def combine_findings(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Findings of the same file, column and check added up over parts (blocks of a file).

    A check's row keeps the place it has in :func:`plausibility_findings`: the day checks, then
    the analytes in the order of :data:`PHYSIOLOGICAL_RANGES`, then ANC against WBC.
    """
    table = pd.concat(parts, ignore_index=True)
    if len(parts) == 1:
        return table
    keys = ["file", "column", "check", "note"]
    summed = table.groupby(keys, sort=False)[["n_rows", "n_checked"]].sum().reset_index()
    ranges = PHYSIOLOGICAL_RANGES.items()
    place = {_range_check(name, *limits): i for i, (name, limits) in enumerate(ranges)}
    order = summed["check"].map(place).fillna(-1).where(summed["check"] != ANC_CHECK, len(place))
    summed = summed.iloc[np.argsort(order.to_numpy(), kind="stable")]
    return summed[FINDING_COLUMNS].reset_index(drop=True)


def implausible(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings with at least one row."""
    return findings[findings["n_rows"] > 0]


def raise_if_stop(findings: pd.DataFrame, on_implausible: str = "warn") -> None:
    """Raise every finding as one :class:`InputError` when ``on_implausible`` is ``stop``.

    Raises
    ------
    InputError
        With one problem per finding: file, column, the check and how many rows (no row
        numbers, values or identifiers).
    ValueError
        When ``on_implausible`` is not one of :data:`ON_IMPLAUSIBLE`.
    """
    if on_implausible not in ON_IMPLAUSIBLE:
        raise ValueError(
            f"plausibility.on_implausible must be one of {', '.join(ON_IMPLAUSIBLE)}, "
            f"not {on_implausible!r}"
        )
    found = implausible(findings)
    if on_implausible == "stop" and len(found):
        raise InputError(
            [
                Problem(
                    f.file,
                    None,
                    f.column,
                    f"implausible: {f.check} on {f.n_rows} of {f.n_checked} rows "
                    "(plausibility.on_implausible is stop; with warn they are counted in "
                    "tables/plausibility.csv and the run goes on)",
                )
                for f in found.itertuples()
            ]
        )


def check_extract(tables: dict[str, pd.DataFrame], on_implausible: str = "warn") -> pd.DataFrame:
    """The plausibility hook of a validated extract: its findings, or an error when told to stop.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        :func:`rwe.validate.validate_extract`'s typed tables.
    on_implausible : {"warn", "stop"}
        ``plausibility.on_implausible``: ``warn`` returns the findings (written to
        ``plausibility.csv``), ``stop`` raises them (:func:`raise_if_stop`).

    Returns
    -------
    pandas.DataFrame
        :func:`plausibility_findings`.
    """
    findings = plausibility_findings(tables)
    raise_if_stop(findings, on_implausible)
    return findings
