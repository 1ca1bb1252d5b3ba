"""Issue 13, classes 1, 2, 4 and 6: bad inputs get an rwe error, never a traceback or a leak.

One named test per case of ``docs/reliability.md``. Every refusal must be an
:class:`~rwe.exceptions.InputError` (or a :class:`~rwe.exceptions.ConfigError` for the config)
naming file, row and column, without the offending value when it could identify someone.
"""

from __future__ import annotations

import codecs
import zipfile

import numpy as np
import pandas as pd
import pytest

from bad_extracts import add_column, csv_rows, rename_column, repeat_row, set_cell, write_rows
from rwe.cli import main as rwe_main
from rwe.config import check_config, read_config_file
from rwe.exceptions import ConfigError, InputError, Problem
from rwe.io import FAST_WRITE_ROWS, read_adam, read_extract_file, read_tables, write_table
from rwe.privacy import suppress_table
from rwe.validate import DEFAULT_MAX_DAY, check_site, identifier_kind


def _refused(folder, **options) -> InputError:
    """The InputError of checking ``folder`` as site s1 (it must be one)."""
    with pytest.raises(InputError) as err:
        check_site(folder, "s1", **options)
    return err.value


def _problems(err: InputError, file: str, column: str | None = None) -> list[Problem]:
    return [p for p in err.problems if p.file == f"s1/{file}" and p.column == column]


# ------------------------------------------------------------------------------ class 1: crashes


def test_empty_file_is_an_input_error(site_folder):
    (site_folder / "patients.csv").write_bytes(b"")
    err = _refused(site_folder)
    assert "the file is empty" in str(_problems(err, "patients.csv")[0])


def test_blank_lines_only_file_is_an_input_error(site_folder):
    (site_folder / "adverse_events.csv").write_bytes(b"\n \r\n\t\n")
    err = _refused(site_folder)
    assert "the file is empty" in _problems(err, "adverse_events.csv")[0].message


def test_header_only_patients_file_is_refused(site_folder):
    rows = csv_rows(site_folder / "patients.csv")
    write_rows(site_folder / "patients.csv", rows[:1])
    (site_folder / "responses.csv").unlink()
    (site_folder / "adverse_events.csv").unlink()
    (site_folder / "labs.csv").unlink()
    err = _refused(site_folder)
    assert "has no data rows" in _problems(err, "patients.csv")[0].message


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(site_folder, codec):
    """A spreadsheet's "Unicode text" export: UTF-16 with its BOM, tab-separated."""
    path = site_folder / "patients.csv"
    text = "\n".join("\t".join(r) for r in csv_rows(path)) + "\n"
    bom = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    path.write_bytes(bom[codec] + text.encode(codec))
    table, fmt = read_extract_file(path)
    assert fmt.describe() == "UTF-16, tab-separated, decimal point"
    typed, *_ = check_site(site_folder, "s1")
    assert len(typed["patients"]) == 60


def test_utf16_without_a_byte_order_mark_is_refused_clearly(site_folder):
    path = site_folder / "patients.csv"
    path.write_bytes(path.read_text().encode("utf-16-le"))
    err = _refused(site_folder)
    assert "is not a CSV text file" in _problems(err, "patients.csv")[0].message


def test_a_workbook_or_binary_file_is_refused(site_folder):
    path = site_folder / "labs.csv"
    with zipfile.ZipFile(path, "w") as book:  # an .xlsx saved under a .csv name
        book.writestr("xl/workbook.xml", "<workbook/>")
    err = _refused(site_folder)
    message = _problems(err, "labs.csv")[0].message
    assert "NUL bytes" in message
    assert "save it from the spreadsheet as CSV" in message


def test_bytes_neither_utf8_nor_cp1252_are_refused(site_folder):
    path = site_folder / "adverse_events.csv"
    path.write_bytes(path.read_bytes() + b"x,\x81\x8d,1,1\n")
    err = _refused(site_folder)
    assert "neither UTF-8 nor cp1252" in _problems(err, "adverse_events.csv")[0].message


def test_columns_that_differ_only_by_case_are_refused(site_folder):
    add_column(site_folder, "patients", "AGE", "70")
    err = _refused(site_folder)
    (problem,) = _problems(err, "patients.csv", "age")
    assert "in the header 2 times" in problem.message
    assert "differ only by case" in problem.message


def test_a_day_too_large_for_a_whole_number_is_refused(site_folder):
    set_cell(site_folder, "patients", 3, "last_followup_day", "9" * 30)
    err = _refused(site_folder)
    (problem,) = _problems(err, "patients.csv", "last_followup_day")
    assert problem.row == 3
    assert "9" * 10 not in str(err)  # a long field is never echoed


def test_rows_of_nothing_but_separators_are_refused(site_folder):
    path = site_folder / "responses.csv"
    rows = csv_rows(path)
    write_rows(path, [*rows, [""] * len(rows[0]), [""] * len(rows[0])])
    err = _refused(site_folder)
    problems = _problems(err, "responses.csv")
    assert [p.row for p in problems] == [len(rows), len(rows) + 1]
    assert "nothing but separators" in problems[0].message


def test_a_row_with_more_fields_than_the_header_is_refused(site_folder):
    path = site_folder / "patients.csv"
    rows = csv_rows(path)
    rows[4] = [*rows[4], "extra", "fields"]
    rows[9] = [*rows[9], "x"]
    write_rows(path, rows)
    err = _refused(site_folder)
    (problem,) = _problems(err, "patients.csv")  # one fault, one problem
    assert "rows 4, 9 have more fields than the" in problem.message
    assert "quote values that contain the separator" in problem.message


def test_a_separator_at_the_end_of_every_line_is_one_problem(site_folder):
    """Issue 24: pandas would take the first column as the index and shift every column."""
    path = site_folder / "labs.csv"
    rows = csv_rows(path)
    write_rows(path, [rows[0]] + [[*r, ""] for r in rows[1:]])
    err = _refused(site_folder)
    (problem,) = err.problems
    assert problem.file.endswith("labs.csv")
    assert f"rows 1, 2, 3, 4, 5 and {len(rows) - 6:,} more ({len(rows) - 1:,} lines)" in str(
        problem
    )
    assert "end in a comma after the 5 fields of the header" in problem.message


def test_a_separator_at_the_end_of_the_header_names_the_unnamed_column(site_folder):
    path = site_folder / "adverse_events.csv"
    rows = csv_rows(path)
    write_rows(path, [[*rows[0], ""], *rows[1:]])
    err = _refused(site_folder)
    (problem,) = err.problems
    assert "the header's column 5 has no name (a comma at the end of the header line?)" in str(
        problem
    )
    assert "identifier" not in str(err)


def test_an_unclosed_quote_is_an_input_error(site_folder):
    path = site_folder / "adverse_events.csv"
    path.write_text(path.read_text() + 'P1,"Nausea,2,3\n')
    err = _refused(site_folder)
    assert _problems(err, "adverse_events.csv")


@pytest.mark.parametrize("word", ["NA", "NULL", "None", "nan", "#N/A", "n/a"])
def test_an_identifier_written_as_a_missing_word_is_reported_missing(site_folder, word):
    set_cell(site_folder, "patients", 2, "patient_id", word)
    set_cell(site_folder, "responses", 1, "patient_id", word)
    err = _refused(site_folder)
    for file in ("patients.csv", "responses.csv"):
        hits = [p for p in _problems(err, file, "patient_id") if p.row in (1, 2)]
        assert any("a value is required" in p.message for p in hits), str(err)


def test_every_problem_is_listed_bounded_and_summarised(site_folder):
    """Sixty kinds of problem: the message lists 40 lines and counts the rest."""
    for i in range(1, 61):
        add_column(site_folder, "patients", f"extra_{i}", "1")
    set_cell(site_folder, "patients", 1, "age", "abc")
    err = _refused(site_folder)
    assert len(err.problems) == 61  # all kept on the error
    text = str(err)
    assert len(text.splitlines()) <= 43
    assert "and 21 more problems of 21 other kinds" in text


def test_a_long_value_is_never_echoed(site_folder):
    long = "x" * 500
    set_cell(site_folder, "patients", 5, "sex", long)
    set_cell(site_folder, "patients", 6, "gfr", long)
    err = _refused(site_folder)
    assert "xxxxxxxxxx" not in str(err)
    assert "got a value of 500 characters" in str(err)


def test_a_long_column_name_is_shortened(site_folder):
    add_column(site_folder, "patients", "c" * 300, "1")
    text = str(_refused(site_folder))
    assert "c" * 41 not in text
    assert "c" * 39 + "…" in text


def test_file_problems_of_every_file_are_listed_together(site_folder):
    (site_folder / "patients.csv").write_bytes(b"")
    (site_folder / "labs.csv").write_bytes(b"\x00\x01")
    err = _refused(site_folder)
    assert {p.file for p in err.problems} == {"s1/patients.csv", "s1/labs.csv"}


# ---------------------------------------------------------------------------- class 1: the config


def test_a_config_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("sites:\n  demo: data/demo\nkm: {conf_type: log\nsubgroups: [a]\n")
    with pytest.raises(ConfigError, match=r"config.yaml, line 4, column 10: .*YAML"):
        read_config_file(path)


def test_no_config_at_all_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no config file there"):
        read_config_file(tmp_path / "missing.yaml")


def test_a_config_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- sites\n- demo\n")
    with pytest.raises(ConfigError, match="expected a mapping of keys"):
        read_config_file(path)


def test_every_schema_problem_of_the_config_is_listed(site_folder):
    config = {"sites": {"s1": str(site_folder)}, "km": {"conf_type": "logit"}, "min_cell_count": -1}
    with pytest.raises(ConfigError) as err:
        check_config(config)
    text = str(err.value)
    assert "has 2 problems" in text
    assert "km.conf_type: 'logit' is not one of" in text
    assert "min_cell_count: -1 is less than the minimum of 0" in text


def test_rwe_check_reports_a_config_error_without_traceback(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("sites: {demo: [\n")
    assert rwe_main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rwe check: ")
    assert "Traceback" not in err


# --------------------------------------------------------------- class 2: refused or questioned


def test_a_calendar_date_in_a_day_column_is_named_without_echoing_it(site_folder):
    set_cell(site_folder, "patients", 4, "last_followup_day", "20230401")
    err = _refused(site_folder)
    (problem,) = _problems(err, "patients.csv", "last_followup_day")
    assert problem.row == 4
    assert "looks like a calendar date (YYYYMMDD)" in problem.message
    assert "20230401" not in str(err)


def test_a_day_beyond_max_day_is_refused_and_max_day_is_configurable(site_folder):
    set_cell(site_folder, "responses", 2, "day", str(DEFAULT_MAX_DAY + 1))
    err = _refused(site_folder)
    problems = _problems(err, "responses.csv", "day")
    assert any(f"from 0 to {DEFAULT_MAX_DAY}" in p.message and p.row == 2 for p in problems)
    # A lower max_day refuses days a longer one accepts.
    days = pd.read_csv(site_folder / "patients.csv")["last_followup_day"]
    set_cell(site_folder, "responses", 2, "day", "0")
    check_site(site_folder, "s1", max_day=int(days.max()))
    err = _refused(site_folder, max_day=int(days.max()) - 1)
    assert _problems(err, "patients.csv", "last_followup_day")


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e400", "NaN(1)"])
def test_infinite_numbers_are_refused(site_folder, value):
    set_cell(site_folder, "patients", 2, "years_since_diagnosis", value)
    err = _refused(site_folder)
    (problem,) = _problems(err, "patients.csv", "years_since_diagnosis")
    assert problem.row == 2


def test_nan_in_a_numeric_column_is_missing_not_a_number(site_folder):
    set_cell(site_folder, "patients", 2, "gfr", "nan")
    set_cell(site_folder, "patients", 3, "gfr", "NULL")
    typed, *_ = check_site(site_folder, "s1")
    assert typed["patients"]["gfr"].iloc[1:3].isna().all()


@pytest.mark.parametrize("stem", ["responses", "adverse_events", "labs"])
def test_exact_duplicate_rows_of_a_long_table_are_refused(site_folder, stem):
    """A repeated response row would count one assessment twice (a false confirmation)."""
    copy = repeat_row(site_folder, stem, 3)
    err = _refused(site_folder)
    (problem,) = _problems(err, f"{stem}.csv")
    assert problem.row == copy
    assert "repeats an earlier row exactly" in problem.message


def test_same_day_rows_that_differ_are_not_duplicates(site_folder):
    rows = csv_rows(site_folder / "adverse_events.csv")
    row = list(rows[1])
    row[rows[0].index("term")] = "Fatigue" if row[rows[0].index("term")] != "Fatigue" else "Rash"
    write_rows(site_folder / "adverse_events.csv", [*rows, row])
    check_site(site_folder, "s1")


def test_a_duplicated_column_is_refused_not_dropped(site_folder):
    add_column(site_folder, "patients", "gfr", "50")
    err = _refused(site_folder, allow_extra_columns=True)
    assert "in the header 2 times" in _problems(err, "patients.csv", "gfr")[0].message


def test_a_subgroup_that_is_not_a_column_stops_the_run(site_folder):
    config = {"sites": {"s1": str(site_folder)}, "subgroups": ["second_line", "seccond_line"]}
    with pytest.raises(ConfigError, match="'seccond_line' is not a column of ADSL .*second_line"):
        check_config(config)


def test_a_covariate_that_is_not_a_column_stops_the_run(site_folder):
    config = {"sites": {"s1": str(site_folder)}, "cox": {"covariates": ["gfr_le_70"]}}
    with pytest.raises(ConfigError, match="cox.covariates: 'gfr_le_70' is not a column of ADSL"):
        check_config(config)


def test_a_primary_comparison_that_is_not_a_column_stops_the_run(site_folder):
    """A typo would otherwise leave every test exploratory without a word."""
    config = {
        "sites": {"s1": str(site_folder)},
        "primary_comparisons": [{"endpoint": "OS", "variable": "triple_class_refactory"}],
    }
    with pytest.raises(
        ConfigError, match="primary_comparisons: 'triple_class_refactory' is not a column of ADSL"
    ):
        check_config(config)


def test_the_same_site_folder_listed_twice_is_refused(site_folder):
    config = {"sites": {"a": str(site_folder), "b": {"path": f"{site_folder}/."}}}
    with pytest.raises(
        ConfigError, match="sites.b: the folder .* is already the folder of site 'a'"
    ):
        check_config(config)


def test_a_site_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="sites.x: the folder .* does not exist"):
        check_config({"sites": {"x": str(tmp_path / "nowhere")}})


def test_a_site_named_na_stays_na_in_every_dataset(site_folder, tmp_path):
    typed, *_ = check_site(site_folder, "NA")
    assert set(typed["patients"]["site"].astype(str)) == {"NA"}
    path = tmp_path / "adsl.csv"
    write_table(typed["patients"], path)
    assert set(read_adam(path)["site"]) == {"NA"}
    assert set(read_adam(path, text_as_category=True)["site"].astype(str)) == {"NA"}
    table = pd.DataFrame({"site": ["NA", "b"], "n": [3, np.nan]})
    write_table(table, tmp_path / "site_summary.csv")
    read = read_tables({"site_summary": tmp_path / "site_summary.csv"})["site_summary"]
    assert read["site"].tolist() == ["NA", "b"]
    assert read["n"].isna().tolist() == [False, True]


def test_a_regimen_code_named_like_a_missing_word_is_a_code(site_folder):
    set_cell(site_folder, "patients", 1, "regimen", "NA")
    err = _refused(site_folder)  # not blanked: an unknown code, named as such
    (problem,) = _problems(err, "patients.csv", "regimen")
    assert "one of Ixa-Rd" in problem.message
    typed, *_ = check_site(site_folder, "s1", coding={"regimen_aliases": {"NA": "NA"}})
    assert typed["patients"]["regimen"].astype(str).iloc[0] == "NA"


def test_a_missing_word_in_a_code_column_is_refused_not_blanked(site_folder):
    rows = csv_rows(site_folder / "patients.csv")
    alive = next(i for i, r in enumerate(rows[1:], 1) if r[rows[0].index("death_day")] == "")
    set_cell(site_folder, "patients", alive, "death_cause", "NA")
    err = _refused(site_folder)
    assert _problems(err, "patients.csv", "death_cause")


# --------------------------------------------------------------------- class 4: identifying data

IDENTIFIER_COLUMNS = [
    "PatientName",
    "patient_name",
    "Name",
    "Vorname",
    "Nachname",
    "nom",
    "Prénom",
    "nombre",
    "apellidos",
    "cognome",
    "Initials",
    "MRN",
    "mrn_no",
    "Hospital No",
    "hospital_number",
    "Fall-Nr",
    "Patientennummer",
    "case_id",
    "record_number",
    "NHS Number",
    "SSN",
    "Versichertennummer",
    "E-Mail",
    "email_address",
    "Courriel",
    "correo_electronico",
    "Phone",
    "Telefon",
    "Teléfono",
    "tel",
    "Handy",
    "mobile_no",
    "Fax",
    "Address",
    "Adresse",
    "Straße",
    "direccion",
    "Wohnort",
    "city",
    "PLZ",
    "zip_code",
    "Postleitzahl",
    "DOB",
    "date_of_birth",
    "Geburtsdatum",
    "fecha_nacimiento",
    "date_de_naissance",
    "data_di_nascita",
    "BirthDate",
    "geboortedatum",
    "Födelsedatum",
]


@pytest.mark.parametrize("name", IDENTIFIER_COLUMNS)
def test_identifier_columns_are_refused_in_any_language_even_with_extra_columns(site_folder, name):
    secret = "Zelda-7731"
    add_column(site_folder, "patients", name, secret)
    err = _refused(site_folder, allow_extra_columns=True)
    hits = [p for p in err.problems if p.file == "s1/patients.csv" and p.row is None]
    assert any("direct identifier" in p.message or "calendar date" in p.message for p in hits)
    assert secret not in str(err)


@pytest.mark.parametrize(
    "name",
    [
        "ecog",
        "iss_stage",
        "ldh",
        "creatinine",
        "ethnicity",
        "plasma_cell_pct",
        "hotel_stays",
        "nominal_dose",
        "line_of_therapy",
        "toxicity_grade",
        "albumin",
    ],
)
def test_harmless_extra_columns_are_accepted_when_allowed(site_folder, name):
    add_column(site_folder, "patients", name, "1")
    typed, *_ = check_site(site_folder, "s1", allow_extra_columns=True)
    assert identifier_kind(name) is None
    assert name not in typed["patients"].columns


PLANTED_TEXT = {
    "an e-mail address": "nausea, call jane.doe@example.org",
    "a phone number": "rash (ring +49 30 1234 5678)",
    "a record number": "Doe J 4471203",
    "a date": "fatigue since 12.03.2021",
    "a name with a title": "seen by Dr Quixotica",
}


@pytest.mark.parametrize("kind", list(PLANTED_TEXT))
def test_identifying_free_text_is_refused_without_echo(site_folder, kind):
    set_cell(site_folder, "adverse_events", 2, "term", PLANTED_TEXT[kind])
    err = _refused(site_folder)
    (problem,) = _problems(err, "adverse_events.csv", "term")
    assert problem.row == 2
    assert f"looks like {kind}" in problem.message or "record or phone" in problem.message
    assert PLANTED_TEXT[kind] not in str(err)
    for word in PLANTED_TEXT[kind].split():
        if len(word) > 4 and word not in ("nausea,", "fatigue", "since"):
            assert word not in str(err)


def test_identifying_values_in_an_allowed_extra_column_are_refused(site_folder):
    add_column(site_folder, "patients", "comment", "")
    set_cell(site_folder, "patients", 7, "comment", "ask Mrs Brandybuck, 0171 2345678")
    err = _refused(site_folder, allow_extra_columns=True)
    (problem,) = _problems(err, "patients.csv", "comment")
    assert problem.row == 7
    assert "Brandybuck" not in str(err)


def test_an_identifying_value_in_a_code_column_is_not_echoed(site_folder):
    set_cell(site_folder, "patients", 3, "sex", "zelda@example.org")
    set_cell(site_folder, "patients", 4, "diagnosis", "MRN 0042137")
    err = _refused(site_folder)
    assert "zelda@example.org" not in str(err)
    assert "0042137" not in str(err)
    assert _problems(err, "patients.csv", "sex")[0].row == 3


def test_dates_in_an_allowed_extra_column_are_refused(site_folder):
    add_column(site_folder, "patients", "visit", "2021-04-03")
    err = _refused(site_folder, allow_extra_columns=True)
    assert "calendar dates" in _problems(err, "patients.csv", "visit")[0].message
    assert "2021-04-03" not in str(err)


# ---------------------------------------------------------------- class 6: spreadsheet injection

FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "=1",
    "-",
    "+",
]


@pytest.mark.parametrize("cell", FORMULAS)
def test_formula_cells_are_neutralised_in_written_tables(tmp_path, cell):
    write_table(pd.DataFrame({"term": [cell, "plain"], "n": [1, 2]}), tmp_path / "t.csv")
    read = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert read["term"].tolist() == ["'" + cell, "plain"]


def test_numbers_stay_numbers_including_negative_ones(tmp_path):
    table = pd.DataFrame(
        {
            "text_numbers": ["-0.5", "+3", "-1e-05", "-inf", "12"],
            "floats": [-0.5, 3.0, -1e-05, -np.inf, 12.0],
            "ints": pd.array([-1, 0, 2, None, -7], dtype="Int64"),
        }
    )
    write_table(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[1:3] == ["-0.5,-0.5,-1", "+3,3.0,0"]
    read = pd.read_csv(tmp_path / "t.csv")
    assert read["floats"].tolist() == table["floats"].tolist()
    assert read["text_numbers"].tolist() == [-0.5, 3.0, -1e-05, -np.inf, 12.0]


def test_large_tables_are_neutralised_as_small_ones(tmp_path):
    n = FAST_WRITE_ROWS + 3
    table = pd.DataFrame(
        {
            "term": pd.Categorical(np.resize(["=1+1", "@x", "-3", "ok"], n)),
            "label": np.resize(["+a", "b"], n).astype(object),
            "value": np.resize([-1.5, 2.0], n),
        }
    )
    write_table(table, tmp_path / "fast.csv")
    write_table(table.head(4), tmp_path / "small.csv")
    fast = (tmp_path / "fast.csv").read_text().splitlines()
    assert fast[:5] == (tmp_path / "small.csv").read_text().splitlines()
    assert fast[1:3] == ["'=1+1,'+a,-1.5", "'@x,b,2.0"]


def test_a_header_that_is_a_formula_is_neutralised(tmp_path):
    write_table(pd.DataFrame({"=cmd": [1]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "'=cmd"


def test_shareable_tables_are_neutralised_after_suppression(tmp_path):
    """A regimen alias that is a formula reaches analysis_set; suppression keeps '<k' text."""
    table = pd.DataFrame(
        {
            "analysis_set": ["=evil()", "all"],
            "variable": ["all", "all"],
            "level": ["all", "all"],
            "n": [3, 40],
            "N": [40, 40],
            "percent": [7.5, 100.0],
        }
    )
    write_table(suppress_table("baseline", table, 11), tmp_path / "baseline.csv")
    lines = (tmp_path / "baseline.csv").read_text().splitlines()
    assert lines[1].startswith("'=evil(),all,all,<11,")  # neutralised, and the count still hidden
    assert lines[2] == "all,all,all,40,40,100.0"


def test_header_names_in_another_case_or_with_spaces_are_the_contract_columns(site_folder):
    rename_column(site_folder, "patients", "age", " Age ")
    rename_column(site_folder, "patients", "patient_id", "PATIENT_ID")
    typed, *_ = check_site(site_folder, "s1")
    assert typed["patients"]["age"].notna().all()


@pytest.mark.parametrize("planted", ["jane.doe@example.org", "Mr Quixotica"])
def test_an_identifier_that_is_an_email_or_a_name_is_refused(site_folder, planted):
    set_cell(site_folder, "patients", 8, "patient_id", planted)
    err = _refused(site_folder)
    assert any(p.row == 8 for p in _problems(err, "patients.csv", "patient_id"))
    assert planted not in str(err)


# ------------------------------------------------------- cases that already passed, kept passing


def test_crlf_line_endings_are_read(site_folder):
    for stem in ("patients", "responses"):
        path = site_folder / f"{stem}.csv"
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    typed, *_ = check_site(site_folder, "s1")
    assert len(typed["patients"]) == 60


def test_a_tab_separated_export_is_read(site_folder):
    path = site_folder / "labs.csv"
    path.write_text("\n".join("\t".join(r) for r in csv_rows(path)) + "\n")
    _, fmt = read_extract_file(path)
    assert fmt.describe() == "UTF-8, tab-separated, decimal point"
    check_site(site_folder, "s1")


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "x y"])
def test_a_site_name_that_could_escape_the_results_folder_is_refused(site_folder, name):
    with pytest.raises(ConfigError, match=r"sites: .* does not match"):
        check_config({"sites": {name: str(site_folder)}})


def test_a_data_cut_label_that_could_escape_the_results_folder_is_refused(site_folder):
    with pytest.raises(ConfigError, match=r"data_cut: '\.\./old' does not match"):
        check_config({"sites": {"s1": str(site_folder)}, "data_cut": "../old"})


def test_a_duplicated_response_row_would_confirm_a_single_assessment():
    """Why duplicates are refused: IMWG confirmation counts two consecutive assessments."""
    from rwe.derive import compute_best_response

    once = pd.DataFrame(
        {"site": ["s"] * 2, "patient_id": ["p"] * 2, "day": [30, 60], "response": ["SD", "PR"]}
    )
    twice = pd.concat([once, once.tail(1)], ignore_index=True)
    assert compute_best_response(once)["best_response"].tolist() == ["SD"]
    assert compute_best_response(twice)["best_response"].tolist() == ["PR"]


@pytest.mark.parametrize(
    "term",
    [
        "Peripheral sensory neuropathy",
        "Neutrophil count decreased (ANC 0.5-1.0)",
        "QTc 500 ms prolonged",
        "Herpes zoster, grade 3",
        "Diarrhoea > 7 stools/day",
        "Rash maculo-papular",
        "Übelkeit",
    ],
)
def test_harmless_free_text_is_accepted(site_folder, term):
    set_cell(site_folder, "adverse_events", 2, "term", term)
    typed, *_ = check_site(site_folder, "s1")
    assert term in set(typed["adverse_events"]["term"].astype(str))


def test_a_long_table_without_patient_id_is_an_input_error(site_folder):
    """Found by hypothesis: the day check of a long table needs its patient_id column."""
    rename_column(site_folder, "responses", "patient_id", "pid")
    err = _refused(site_folder)
    assert "required column is missing" in _problems(err, "responses.csv", "patient_id")[0].message


def test_a_key_given_twice_in_the_config_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("sites: {a: x}\nmin_cell_count: 11\ngfr_cutoff: 60\nmin_cell_count: 0\n")
    with pytest.raises(
        ConfigError, match="line 4, column 1: the key 'min_cell_count' is given twice"
    ):
        read_config_file(path)


def test_a_huge_cell_is_refused_at_once_by_row_and_column(site_folder):
    """Issue 24: a 5 MB value got no answer in 7 minutes; now it is refused when read."""
    import time

    from rwe.io import MOST_CELL_CHARS

    set_cell(site_folder, "adverse_events", 3, "term", "x" * 5_000_000)
    started = time.process_time()
    err = _refused(site_folder)
    assert time.process_time() - started < 30  # bounded: no check reads the value
    (problem,) = _problems(err, "adverse_events.csv", "term")
    assert problem.row == 3
    assert f"holds a value of 5,000,000 characters; a cell holds at most {MOST_CELL_CHARS:,}" in (
        problem.message
    )
    assert "xxxx" not in str(err)
