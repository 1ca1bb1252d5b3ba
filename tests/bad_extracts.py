"""Broken site extracts: each case breaks one rule of the input contract.

Each case is ``(name, break_it, file, column, words)``: ``break_it`` mutates a copy of a good
extract (dict of DataFrames) and returns the 1-based data row it broke (or None for a
column-level problem); the error must name ``file``, that row and ``column`` and contain
``words``.
"""

from __future__ import annotations

import pandas as pd

SECRET_NAME = "Zelda Quixotica-Brandybuck"


def _set(tables, stem, row, col, value):
    table = tables[stem]
    if table[col].dtype != object:
        table[col] = table[col].astype(object)
    table.loc[row, col] = value
    return row + 1


def duplicate_id(t):
    t["patients"].loc[5, "patient_id"] = t["patients"].loc[4, "patient_id"]
    return 6


def identifier_column(t):
    t["patients"]["patient_name"] = SECRET_NAME
    return None


def calendar_dates(t):
    t["patients"]["start_date"] = "2021-03-04"
    return None


def date_values(t):
    return _set(t, "patients", 3, "years_since_diagnosis", "12.03.2019")


def age_not_a_number(t):
    return _set(t, "patients", 7, "age", "abc")


def age_out_of_range(t):
    return _set(t, "patients", 2, "age", 104)


def gfr_out_of_range(t):
    return _set(t, "patients", 2, "gfr", -5)


def grade_out_of_range(t):
    return _set(t, "adverse_events", 1, "grade", 7)


def negative_day(t):
    return _set(t, "patients", 4, "last_followup_day", -12)


def progression_after_followup(t):
    p = t["patients"]
    p.loc[8, "progression_day"] = p.loc[8, "last_followup_day"] + 30
    p.loc[8, "last_assessment_day"] = p.loc[8, "last_followup_day"]
    return 9


def death_before_progression(t):
    p = t["patients"]
    i = int(p.index[p["progression_day"].notna() & (p["progression_day"] > 20)][0])
    p.loc[i, "death_day"] = 10
    p.loc[i, "death_cause"] = "myeloma"
    return i + 1


def unknown_response(t):
    return _set(t, "responses", 0, "response", "nCR")


def unknown_regimen(t):
    return _set(t, "patients", 0, "regimen", "Ixa-XYZ")


def unknown_sex(t):
    return _set(t, "patients", 1, "sex", "unknown")


def orphan_long_table_row(t):
    return _set(t, "labs", 0, "patient_id", "NOT-IN-PATIENTS")


def unknown_lab_unit(t):
    return _set(t, "labs", 2, "unit", "mmol/L")


CASES = [
    ("duplicate_id", duplicate_id, "patients.csv", "patient_id", "duplicate"),
    ("identifier_column", identifier_column, "patients.csv", "patient_name", "identifier"),
    ("calendar_dates", calendar_dates, "patients.csv", "start_date", "calendar date"),
    ("date_values", date_values, "patients.csv", "years_since_diagnosis", "calendar dates"),
    ("age_not_a_number", age_not_a_number, "patients.csv", "age", "whole number"),
    ("age_out_of_range", age_out_of_range, "patients.csv", "age", "18 to 90"),
    ("gfr_out_of_range", gfr_out_of_range, "patients.csv", "gfr", "0 to 200"),
    ("grade_out_of_range", grade_out_of_range, "adverse_events.csv", "grade", "1 to 5"),
    ("negative_day", negative_day, "patients.csv", "last_followup_day", "from 0 to"),
    (
        "progression_after_followup",
        progression_after_followup,
        "patients.csv",
        "progression_day",
        "after last_followup_day",
    ),
    (
        "death_before_progression",
        death_before_progression,
        "patients.csv",
        "death_day",
        "before progression",
    ),
    ("unknown_response", unknown_response, "responses.csv", "response", "one of sCR"),
    ("unknown_regimen", unknown_regimen, "patients.csv", "regimen", "one of Ixa-Rd"),
    ("unknown_sex", unknown_sex, "patients.csv", "sex", "one of M, F"),
    ("unknown_lab_unit", unknown_lab_unit, "labs.csv", "unit", "unit not known"),
    (
        "orphan_long_table_row",
        orphan_long_table_row,
        "labs.csv",
        "patient_id",
        "not in patients.csv",
    ),
]


def broken(tables: dict[str, pd.DataFrame], break_it) -> tuple[dict[str, pd.DataFrame], int | None]:
    """A deep copy of ``tables`` broken by ``break_it``, and the data row it broke."""
    copy = {k: v.copy() for k, v in tables.items()}
    return copy, break_it(copy)


# ------------------------------------------------------------------ raw files, as a site sends
# The cases above break a value; the helpers below break the file itself (bytes, header, lines),
# for tests/test_reliability_inputs.py.


def csv_rows(path) -> list[list[str]]:
    """The rows (header first) of a comma-separated file written by ``write_site``."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path, rows: list[list[str]]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(folder, stem: str, row: int, column: str, value: str) -> None:
    """Write ``value`` as text into data row ``row`` (1-based) of ``column`` of ``stem``.csv."""
    path = folder / f"{stem}.csv"
    rows = csv_rows(path)
    rows[row][rows[0].index(column)] = value
    write_rows(path, rows)


def rename_column(folder, stem: str, column: str, new: str) -> None:
    path = folder / f"{stem}.csv"
    rows = csv_rows(path)
    rows[0][rows[0].index(column)] = new
    write_rows(path, rows)


def add_column(folder, stem: str, name: str, value: str) -> None:
    """Append a column holding ``value`` on every row."""
    path = folder / f"{stem}.csv"
    rows = csv_rows(path)
    write_rows(path, [rows[0] + [name]] + [r + [value] for r in rows[1:]])


def repeat_row(folder, stem: str, row: int) -> int:
    """Append a copy of data row ``row``; return the copy's data row."""
    path = folder / f"{stem}.csv"
    rows = csv_rows(path)
    write_rows(path, rows + [list(rows[row])])
    return len(rows)
