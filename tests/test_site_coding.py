"""A site's own coding (aliases, lab units) and date-shifted extracts (validate.convert_dates)."""

import numpy as np
import pandas as pd
import pytest

from rwe.exceptions import InputError
from rwe.io import read_site
from rwe.simulate import RESPONSE_WORDS, SHORT_REGIMEN_CODES, apply_codings, write_site
from rwe.validate import DAY_COLUMNS, date_column, validate_extract

SITE_B = {
    "sex_aliases": {1: "M", 2: "F"},
    "response_aliases": {word: code for code, word in RESPONSE_WORDS.items()},
    "dates": True,
}


def _validate(folder, site="s1", aliases=None, **options):
    tables, _ = read_site(folder, site)
    return validate_extract({site: tables}, aliases, site_options={site: options})


def _problems(folder, **options):
    with pytest.raises(InputError) as err:
        _validate(folder, **options)
    return err.value


@pytest.fixture
def dated(demo_tables):
    """The demo tables written with dates (start_date and date columns)."""
    return apply_codings(demo_tables, ["dates"], seed=1)


def test_each_coding_is_mapped_back_to_the_same_typed_tables(tmp_path, demo_tables):
    write_site(demo_tables, tmp_path / "plain")
    coded = apply_codings(
        demo_tables, ["regimen_codes", "sex_numeric", "response_words", "hgb_g_100ml", "dates"], 5
    )
    write_site(coded, tmp_path / "coded")
    expected = _validate(tmp_path / "plain")
    typed = _validate(
        tmp_path / "coded",
        aliases={code: regimen for regimen, code in SHORT_REGIMEN_CODES.items()},
        lab_units={"g/100mL": "g/dL"},
        **SITE_B,
    )
    for stem, table in expected.items():
        got = typed[stem]
        assert list(got.columns) == list(table.columns), stem
        for col in table.columns:
            assert got[col].astype(object).equals(table[col].astype(object)), (stem, col)


def test_the_dates_are_dropped_and_every_day_column_is_restored(tmp_path, demo_tables, dated):
    # The day columns the simulated extract has (entry_day is optional, and absent here).
    sent = {s: [d for d in days if d in demo_tables[s].columns] for s, days in DAY_COLUMNS.items()}
    for stem, days in sent.items():
        assert not set(days) & set(dated[stem].columns)
        assert {date_column(d) for d in days} <= set(dated[stem].columns)
    write_site(dated, tmp_path)
    typed = _validate(tmp_path, dates=True)
    assert "start_date" not in typed["patients"].columns
    for stem, days in sent.items():
        assert not any("date" in col for col in typed[stem].columns)
        for day in days:
            expected = pd.array(demo_tables[stem][day], dtype="Int64")
            assert typed[stem][day].reset_index(drop=True).equals(pd.Series(expected)), day


def test_dates_are_refused_unless_the_site_sends_dates(tmp_path, dated):
    write_site(dated, tmp_path)
    err = _problems(tmp_path)
    assert any(
        p.file == "s1/patients.csv" and p.column == "start_date" and "calendar date" in p.message
        for p in err.problems
    )


def test_a_bad_date_is_named_by_file_row_and_column_without_its_value(tmp_path, dated):
    patients, labs = dated["patients"], dated["labs"]
    patients.loc[2, "death_date"] = "03/04/2021"
    patients.loc[4, "start_date"] = "2021-02-30"  # not a calendar day
    shown = patients.loc[6, "last_followup_date"]
    patients.loc[6, "last_followup_date"] = "1990-01-01"  # before start_date
    early = labs.index[labs["patient_id"] == patients.loc[8, "patient_id"]][0]
    labs.loc[early, "date"] = "1990-01-01"
    write_site(dated, tmp_path)
    err = _problems(tmp_path, dates=True)
    found = {(p.file, p.row, p.column): p.message for p in err.problems}
    assert found[("s1/patients.csv", 3, "death_date")] == "expected a date YYYY-MM-DD"
    assert found[("s1/patients.csv", 5, "start_date")] == "expected a date YYYY-MM-DD"
    assert found[("s1/patients.csv", 7, "last_followup_date")] == "is before start_date"
    assert found[("s1/labs.csv", early + 1, "date")] == "is more than 365 days before start_date"
    # Reported once: the blank day left behind is not a second "value is required" problem.
    assert not [p for p in err.problems if p.row == 7 and "required" in p.message]
    message = str(err)
    for secret in ("03/04/2021", "2021-02-30", "1990-01-01", shown):
        assert secret not in message
    assert not any(pid in message for pid in patients["patient_id"])


def test_later_problems_name_the_date_column_of_the_file(tmp_path, dated):
    patients = dated["patients"]
    row = patients.index[patients["progression_date"].notna()][0]
    patients.loc[row, "last_followup_date"] = patients.loc[row, "start_date"]
    write_site(dated, tmp_path)
    err = _problems(tmp_path, dates=True)
    columns = {p.column for p in err.problems if p.row == row + 1}
    assert "progression_date" in columns
    assert not any(p.column.endswith("_day") for p in err.problems if p.column)


def test_dates_need_start_date_and_one_form_of_each_column(tmp_path, dated, demo_tables):
    dated["patients"] = dated["patients"].drop(columns="start_date")
    dated["labs"]["day"] = demo_tables["labs"]["day"]
    write_site(dated, tmp_path)
    found = {(p.file, p.column): p.message for p in _problems(tmp_path, dates=True).problems}
    assert "required column is missing" in found[("s1/patients.csv", "start_date")]
    assert found[("s1/labs.csv", "date")] == "give either day or date"


def test_a_site_may_mix_day_and_date_columns(tmp_path, demo_tables, dated):
    dated["responses"] = demo_tables["responses"]
    write_site(dated, tmp_path)
    typed = _validate(tmp_path, dates=True)
    assert typed["responses"]["day"].tolist() == demo_tables["responses"]["day"].tolist()


def test_sex_and_response_aliases_are_exact_then_case_insensitive(tmp_path, demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["sex"] = np.where(tables["patients"]["sex"] == "M", "male", "FEMALE")
    tables["responses"]["response"] = tables["responses"]["response"].replace({"SD": "Stable"})
    write_site(tables, tmp_path)
    err = _problems(tmp_path)
    assert {p.column for p in err.problems} == {"sex", "response"}
    typed = _validate(
        tmp_path, sex_aliases={"Male": "M", "female": "F"}, response_aliases={"stable": "SD"}
    )
    assert set(typed["patients"]["sex"].astype(object)) == {"M", "F"}
    assert "SD" in set(typed["responses"]["response"].astype(object))


def test_site_regimen_aliases_override_the_shared_ones(tmp_path, demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["regimen"] = tables["patients"]["regimen"].replace({"Ixa-Rd": "IR"})
    write_site(tables, tmp_path)
    typed = _validate(tmp_path, aliases={"IR": "Ixa-Pd"}, regimen_aliases={"IR": "Ixa-Rd"})
    assert "Ixa-Rd" in set(typed["patients"]["regimen"])


def test_lab_unit_spellings_are_mapped_before_harmonising(tmp_path, demo_tables):
    tables = apply_codings(demo_tables, ["hgb_g_100ml"], seed=1)
    write_site(tables, tmp_path)
    err = _problems(tmp_path)
    assert {(p.column, "unit not known" in p.message) for p in err.problems} == {("unit", True)}
    labs = _validate(tmp_path, lab_units={"g/100mL": "g/dL"})["labs"]
    assert set(labs.loc[labs["test"] == "HGB", "unit"].astype(object)) == {"g/dL"}
