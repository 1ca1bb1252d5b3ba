"""Laboratory units: blood counts harmonised to 10^9/L and haemoglobin to g/dL at ingest.

Used by validation (each site's labs.csv is harmonised once, when it is read); the safety stage
reads the harmonised values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.exceptions import InputError, Problem

#: Accepted units per test and the factor to the harmonised unit (counts 10^9/L, HGB g/dL).
LAB_UNITS = {
    "count": {"10^9/l": 1.0, "10^3/ul": 1.0, "g/l": 1.0, "/nl": 1.0, "gpt/l": 1.0},
    "HGB": {"g/dl": 1.0, "g/l": 0.1},
}
COUNT_TESTS = ("WBC", "ANC", "PLT")
HARMONISED_UNIT = {"WBC": "10^9/L", "ANC": "10^9/L", "PLT": "10^9/L", "HGB": "g/dL"}
#: The spellings named in error messages.
ACCEPTED_UNITS = {"count": ("10^9/L", "10^3/µL", "G/L", "Gpt/L", "/nL"), "HGB": ("g/dL", "g/L")}


def _unit_key(unit) -> str:
    """Spelling-insensitive unit: no spaces or ×, micro sign and Greek mu as u, 10E9 = 10**9 = 10^9."""
    key = str(unit).strip().replace(" ", "").replace("×", "").casefold().replace("x10", "10")
    key = key.replace("10**", "10^").replace("10e", "10^").replace("10*", "10^")
    return key.replace("\u00b5", "u").replace("\u03bc", "u")


def harmonise_lab_units(labs: pd.DataFrame, file_label: str = "labs.csv") -> pd.DataFrame:
    """Convert blood counts to 10^9/L and haemoglobin to g/dL.

    Counts (WBC, ANC, PLT) in 10^9/L, 10^3/µL, G/L, Gpt/L or /nL are the same number;
    haemoglobin in g/dL is kept and in g/L divided by 10. Other tests (SPEP_M, UPEP_M, FLC,
    IFE, BMPC, …) pass through unchanged. Unit spellings are compared without spaces, case,
    ``×``/``x`` and with µ (micro sign or Greek mu) read as ``u``.

    Parameters
    ----------
    labs : pandas.DataFrame
        ``site, patient_id, day, test, value, unit`` and optionally ``_row`` (the 1-based data
        row of the source file, used in messages).
    file_label : str
        The file named in messages (e.g. ``demo/labs.csv``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``labs`` with ``value`` converted and ``unit`` set to the harmonised unit.

    Raises
    ------
    InputError
        Listing every row whose unit is not known for its test (file, row, column ``unit`` and
        the accepted units); never a patient identifier or a value.
    """
    out = labs.copy(deep=False)  # value and unit are replaced, never modified in place
    tests = pd.Categorical(out["test"])
    units = pd.Categorical(out["unit"])
    # Units are looked up once per distinct spelling; rows follow by their category code.
    unit_keys = pd.Series(units.categories, dtype=object).map(_unit_key)
    unit_codes = np.asarray(units.codes)
    values = out["value"]
    if values.dtype != float:
        values = pd.to_numeric(values, errors="coerce").where(values.notna(), values)
    values = values.to_numpy()
    copied = False  # the input's values are copied only if a unit needs converting
    new_units = pd.Series(units.categories, dtype=object).tolist()
    new_codes = unit_codes.copy()
    problems = []
    for test in (*COUNT_TESTS, "HGB"):
        if test not in tests.categories:
            continue
        mask = np.asarray(tests.codes) == tests.categories.get_loc(test)
        if not mask.any():
            continue
        family = "count" if test in COUNT_TESTS else "HGB"
        per_unit = np.append(unit_keys.map(LAB_UNITS[family]).to_numpy(dtype=float), np.nan)
        expected = ", ".join(ACCEPTED_UNITS[family])
        # Per-row work only on the rows that need it: unknown units (reported) and units
        # whose factor is not 1 (converted); every other value stays as it is.
        unknown = np.isnan(per_unit)
        if unknown.any():
            bad = np.flatnonzero(mask & unknown[unit_codes])
            rows = out["_row"].to_numpy()[bad] if "_row" in out.columns else [None] * len(bad)
            for row in rows:
                problems.append(
                    Problem(
                        file_label,
                        None if row is None else int(row),
                        "unit",
                        f"unit not known for {test}; expected one of {expected}",
                    )
                )
        scaled = ~unknown & (per_unit != 1.0)
        if scaled.any():
            idx = np.flatnonzero(mask & scaled[unit_codes])
            if len(idx) and not copied:
                values, copied = values.copy(), True
            values[idx] = values[idx] * per_unit[unit_codes[idx]]
        if HARMONISED_UNIT[test] not in new_units:
            new_units.append(HARMONISED_UNIT[test])
        new_codes[mask] = new_units.index(HARMONISED_UNIT[test])
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.row or 0))
    out["value"] = pd.Series(values, index=out.index)
    unit = pd.Categorical.from_codes(new_codes, new_units)
    out["unit"] = pd.Series(
        unit if isinstance(out["unit"].dtype, pd.CategoricalDtype) else unit.astype(object),
        index=out.index,
    )
    return out
